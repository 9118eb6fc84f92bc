/**
 * A group of real vigil replicas for end-to-end tests and benchmarks: each one a separate
 * `node dist/src/cli/main.js run --config <tmp>` process (tracked, VIGIL_TEST_RUN
 * inherited), on a free loopback port, with its own data dir and a test peer secret.
 *
 *   const group = await startReplicas({ count: 3 });
 *   const leader = await group.waitForLeader();
 *   await group.kill(leader.nodeId);                       // SIGKILL
 *   await group.waitForLeader({ excluding: [leader.nodeId] });
 *   await group.restart(leader.nodeId);                    // same data dir
 *   await group.shutdown();
 *
 * Other tests add config sections (kafka, redis, alerting, ...) to every replica's YAML
 * through `config`. Each replica's log is a file; `logReport()` prints their tails when a
 * test fails (use with withLogsOnFailure). The group is the local stack's
 * (src/local/replicas.ts, shared with `vigil demo`); this module adds the test cluster
 * name and secrets, markFailed(), KEEP_REPLICA_LOGS, and measurement helpers.
 */
import { startLocalReplicas, type LocalReplicas, type LocalReplicasOptions } from '../../src/local/replicas';

export { CLI_PATH, type ReplicaHandle, type ReplicaStatusDoc } from '../../src/local/replicas';

export const TEST_PEER_SECRET = 'test-peer-secret-0123456789abcdef';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** The local group's options minus what the harness fixes (cluster "test", the test secrets). */
export type StartReplicasOptions = Omit<LocalReplicasOptions, 'cluster' | 'secret' | 'adminToken' | 'dir' | 'keepAll' | 'ownProcessGroup'>;

export interface ReplicaGroup extends Omit<LocalReplicas, 'shutdown'> {
  markFailed(): void;
  /** Kills every replica and removes the temp dir (kept when a test failed). */
  shutdown(): Promise<void>;
}

/** `--rt <priority>` / `--nice <n>` of a benchmark's command line, as startReplicas options. */
export function schedulingFromArgv(argv: readonly string[] = process.argv): Pick<StartReplicasOptions, 'nice' | 'rtPriority'> {
  const num = (flag: string): number | undefined => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? Number(argv[i + 1]) : NaN;
    return Number.isFinite(v) ? v : undefined;
  };
  const rt = num('--rt');
  const nice = num('--nice');
  return { ...(rt !== undefined ? { rtPriority: rt } : {}), ...(nice !== undefined ? { nice } : {}) };
}

export async function startReplicas(opts: StartReplicasOptions = {}): Promise<ReplicaGroup> {
  const local = await startLocalReplicas({ ...opts, cluster: 'test', secret: TEST_PEER_SECRET, adminToken: TEST_ADMIN_TOKEN });
  let failed = false;
  let shutDown = false;
  return {
    dir: local.dir,
    replicas: local.replicas,
    secret: local.secret,
    adminToken: local.adminToken,
    get: (id) => local.get(id),
    start: (id) => local.start(id),
    kill: (id) => local.kill(id),
    pause: (id) => local.pause(id),
    resume: (id) => local.resume(id),
    stop: (id, timeoutMs) => local.stop(id, timeoutMs),
    restart: (id) => local.restart(id),
    status: (id, timeoutMs) => local.status(id, timeoutMs),
    statuses: () => local.statuses(),
    waitForLeader: (o) => local.waitForLeader(o),
    waitForConnected: (timeoutMs, intervalMs) => local.waitForConnected(timeoutMs, intervalMs),
    request: (id, method, pathname, o) => local.request(id, method, pathname, o),
    logTail: (id, lines) => local.logTail(id, lines),
    logLines: (id) => local.logLines(id),
    logReport: (lines) => local.logReport(lines),
    markFailed() {
      failed = true;
    },
    async shutdown() {
      if (shutDown) return;
      shutDown = true;
      const keep = failed || (process.env.KEEP_REPLICA_LOGS ?? '') !== '';
      await local.shutdown({ keep });
      if (keep) console.error(`replica harness: kept ${local.dir}`);
    },
  };
}

/** CLOCK_MONOTONIC in ms, the clock of the replicas' `monoMs` log fields. */
export function hostMonotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The nearest-rank percentile of ascending `sorted` (q in (0, 1]). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** p50 / p99 / max / min of a list of milliseconds, rounded to 0.1 ms. */
export function summarizeMs(values: readonly number[]): { n: number; p50: number; p99: number; max: number; min: number } {
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { n: s.length, p50: r(percentile(s, 0.5)), p99: r(percentile(s, 0.99)), max: r(s[s.length - 1] ?? NaN), min: r(s[0] ?? NaN) };
}

/** Log lines whose msg starts with `msgPrefix` and whose monoMs is after `afterMonoMs`. */
export function linesAfter(lines: ReadonlyArray<Record<string, unknown>>, msgPrefix: string, afterMonoMs: number, pick: (l: Record<string, unknown>) => boolean = () => true): Array<Record<string, unknown>> {
  return lines.filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith(msgPrefix) && typeof l['monoMs'] === 'number' && (l['monoMs'] as number) > afterMonoMs && pick(l));
}
