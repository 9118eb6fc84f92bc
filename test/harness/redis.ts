/**
 * A private redis-server for tests (docs/design.md §9): a free loopback port, its data in a temp
 * directory, output in a log file there. No persistence by default, so a restart loses
 * everything, as a crashed cache would; `persistence: 'aof'` keeps data across restarts.
 * The server is the local stack's (src/local/redis.ts, shared with `vigil demo`); this
 * module adds what tests need: markFailed() keeps the directory for a failed test.
 *
 * For connection security: `tls` (TLS only, client certificates required), `users` (ACL),
 * `replicaOf` and `masterUser`, and `startSentinel` for redis-sentinel processes watching a master.
 */
import {
  startLocalRedis,
  startLocalSentinel,
  type LocalRedis,
  type LocalRedisOptions,
  type LocalSentinelOptions,
} from '../../src/local/redis';

export type { LocalRedisTls, LocalRedisUser } from '../../src/local/redis';

export interface StartRedisOptions extends Pick<LocalRedisOptions, 'persistence' | 'startTimeoutMs' | 'tls' | 'users' | 'replicaOf' | 'masterUser'> {}

export interface RedisServer extends Omit<LocalRedis, 'shutdown'> {
  markFailed(): void;
  /** Kill, and remove the temp directory (kept when a test failed). */
  shutdown(): Promise<void>;
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  return forTests(await startLocalRedis(opts), 'redis');
}

export type StartSentinelOptions = Omit<LocalSentinelOptions, 'dir' | 'keepAll' | 'ownProcessGroup'>;

/** A redis-sentinel watching `masterName` at `master`; same handle as a Redis server. */
export async function startSentinel(opts: StartSentinelOptions): Promise<RedisServer> {
  return forTests(await startLocalSentinel(opts), 'sentinel');
}

function forTests(local: LocalRedis, what: string): RedisServer {
  let failed = false;
  let shutDown = false;
  return {
    url: local.url,
    host: local.host,
    port: local.port,
    dir: local.dir,
    logFile: local.logFile,
    pid: () => local.pid(),
    isRunning: () => local.isRunning(),
    start: () => local.start(),
    stop: () => local.stop(),
    restart: () => local.restart(),
    kill: () => local.kill(),
    pause: () => local.pause(),
    resume: () => local.resume(),
    logTail: (lines) => local.logTail(lines),
    logReport: (lines) => local.logReport(lines),
    markFailed() {
      failed = true;
    },
    async shutdown() {
      if (shutDown) return;
      shutDown = true;
      await local.shutdown({ keep: failed });
      if (failed) console.error(`${what} harness: kept ${local.dir}`);
    },
  };
}
