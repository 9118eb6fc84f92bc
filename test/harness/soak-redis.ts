/**
 * The soak's Redis (test/bench/soak.bench.ts): one redis-server with AOF, or — with
 * `--redis sentinel` — a master and a replica, both with AOF, watched by a pair of
 * redis-sentinel processes, which vigil finds the master through (`redis.sentinel`).
 *
 * The Redis faults act on whichever server is the master at the time: a restart with its
 * AOF, a restart with its files removed, and, with Sentinel only, a planned
 * `SENTINEL FAILOVER` of a live master. In the Sentinel lab a restarted master stays down
 * until the sentinels have promoted the replica (an unplanned failover), and comes back
 * as the new master's replica.
 */
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { type LocalRedis, startLocalRedis, startLocalSentinel } from '../../src/local/redis';
import { waitFor } from './wait';

export type SoakRedisMode = 'standalone' | 'sentinel';

const MASTER_NAME = 'soak';

export interface SoakRedis {
  readonly mode: SoakRedisMode;
  /** vigil's `redis` config section */
  readonly config: Record<string, unknown>;
  /** Where each server's files are, for the report. */
  readonly dirs: readonly string[];
  /** The current master (in the Sentinel lab: as the first sentinel names it). */
  master(): Promise<LocalRedis>;
  /** Restart the master, with its AOF or with every file removed. */
  restartMaster(opts: { wipe: boolean; downMs: number }): Promise<string>;
  /** Sentinel only: `SENTINEL FAILOVER`; resolves once the sentinels name the new master. */
  failover(): Promise<string>;
  /** Sentinel only: wait until both sentinels agree on a master that has its replica again. */
  settle(timeoutMs: number): Promise<void>;
  shutdown(opts: { keep: boolean }): Promise<void>;
}

export async function startSoakRedis(mode: SoakRedisMode, host: string): Promise<SoakRedis> {
  if (mode === 'standalone') return standalone(await startLocalRedis({ host, persistence: 'aof' }));
  const first = await startLocalRedis({ host, persistence: 'aof' });
  const second = await startLocalRedis({ host, persistence: 'aof', replicaOf: { host: first.host, port: first.port } });
  const servers = [first, second];
  // A pair: either one may see the master down (quorum 1), and a failover still needs both
  // (a majority of the sentinels authorises it).
  const sentinels = await Promise.all(
    [0, 1].map(() => startLocalSentinel({ host, masterName: MASTER_NAME, master: { host: first.host, port: first.port }, quorum: 1, downAfterMs: 1000 })),
  );
  const views = sentinels.map((s) => new Redis({ host: s.host, port: s.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 }));
  const field = (info: string[], k: string): string | undefined => info[info.indexOf(k) + 1];
  const masterPort = async (): Promise<number> => Number(((await (views[0] as Redis).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[])[1]);
  const master = async (): Promise<LocalRedis> => {
    const port = await masterPort();
    const m = servers.find((s) => s.port === port);
    if (m === undefined) throw new Error(`the sentinels name port ${port}, which is none of the lab's servers`);
    return m;
  };
  /** Both sentinels name the same master, it is a master and its replica is linked. */
  const settled = async (): Promise<boolean> => {
    const ports = new Set<string | undefined>();
    for (const v of views) {
      const info = (await v.call('SENTINEL', 'MASTER', MASTER_NAME)) as string[];
      if (field(info, 'flags') !== 'master' || field(info, 'num-slaves') !== '1' || field(info, 'num-other-sentinels') !== '1') return false;
      ports.add(field(info, 'port'));
    }
    if (ports.size !== 1) return false;
    const m = servers.find((s) => String(s.port) === [...ports][0]);
    const replica = servers.find((s) => s !== m);
    if (m === undefined || replica === undefined || !replica.isRunning()) return false;
    const c = new Redis({ host: replica.host, port: replica.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      const repl = String(await c.info('replication'));
      return repl.includes('role:slave') && repl.includes(`master_port:${m.port}`) && repl.includes('master_link_status:up');
    } finally {
      c.disconnect();
    }
  };
  const settle = async (timeoutMs: number): Promise<void> => {
    await waitFor(() => settled().catch(() => false), { timeoutMs, intervalMs: 250, what: 'the sentinels to agree on a master with its replica linked' });
  };
  await settle(30_000);
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  return {
    mode,
    config: { sentinel: { name: MASTER_NAME, sentinels: sentinels.map((s) => `${s.host}:${s.port}`) } },
    dirs: [...servers, ...sentinels].map((s) => s.dir),
    master,
    async restartMaster({ wipe, downMs }) {
      // The server comes back with the role its command line gives it, so it stays down
      // until the sentinels have promoted the other one; they then make it the replica.
      const m = await master();
      await (wipe ? m.kill() : m.stop());
      if (wipe) removeData(m);
      await waitFor(async () => (await masterPort().catch(() => m.port)) !== m.port, { timeoutMs: 30_000, intervalMs: 250, what: 'the sentinels to promote the replica' });
      await sleep(downMs);
      await m.start();
      return `redis:${m.port}`;
    },
    async failover() {
      const before = await masterPort();
      // refused (INPROG, NOGOODSLAVE) while a previous failover or resync is finishing
      await waitFor(
        async () => {
          try {
            await (views[0] as Redis).call('SENTINEL', 'FAILOVER', MASTER_NAME);
            return true;
          } catch {
            return false;
          }
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'a sentinel to accept SENTINEL FAILOVER' },
      );
      await waitFor(async () => (await masterPort().catch(() => before)) !== before, { timeoutMs: 30_000, intervalMs: 250, what: 'the sentinels to promote the replica' });
      return `redis:${before}→${await masterPort()}`;
    },
    settle,
    async shutdown({ keep }) {
      for (const v of views) v.disconnect();
      await Promise.allSettled([...sentinels, ...servers].map((s) => s.shutdown({ keep })));
    },
  };
}

function standalone(redis: LocalRedis): SoakRedis {
  return {
    mode: 'standalone',
    config: { url: redis.url },
    dirs: [redis.dir],
    master: async () => redis,
    async restartMaster({ wipe, downMs }) {
      await (wipe ? redis.kill() : redis.stop());
      if (wipe) removeData(redis);
      await new Promise<void>((r) => setTimeout(r, downMs));
      await redis.start();
      return 'redis';
    },
    failover: async () => {
      throw new Error('SENTINEL FAILOVER needs the Sentinel lab (--redis sentinel)');
    },
    settle: async () => {},
    shutdown: ({ keep }) => redis.shutdown({ keep }),
  };
}

/** Every file of the server but its log: its AOF (and any RDB) gone, as on a lost disk. */
function removeData(r: LocalRedis): void {
  for (const f of fs.readdirSync(r.dir)) if (f !== path.basename(r.logFile)) fs.rmSync(path.join(r.dir, f), { recursive: true, force: true });
}
