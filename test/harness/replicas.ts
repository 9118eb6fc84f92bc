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
 * test fails (use with withLogsOnFailure).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePorts } from './ports';
import { onExitCleanup, spawnTracked, tailFile, type ExitStatus, type TrackedProcess } from './procs';
import { waitFor } from './wait';

export const TEST_PEER_SECRET = 'test-peer-secret-0123456789abcdef';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** Path of the compiled CLI (this file runs from dist/test/harness). */
export const CLI_PATH = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

export interface StartReplicasOptions {
  /** 3 (default) or 5; any count >= 1 works. */
  count?: number;
  /** Ids are `${idPrefix}${i}`, i from 1 (default "vigil-"). */
  idPrefix?: string;
  /** Extra top-level YAML sections for every replica (kafka, redis, alerting, ...), or a function of the replica id. */
  config?: Record<string, unknown> | ((id: string) => Record<string, unknown>);
  /** Overrides of the election section (heartbeatInterval, electionTimeout, ...). */
  election?: Record<string, unknown>;
  /** log.level (default "info": role changes are info lines). */
  logLevel?: string;
  /** Extra CLI arguments after `run --config F`. */
  runArgs?: string[];
  /**
   * Start each replica under `nice -n <nice>` (negative needs root or CAP_SYS_NICE): how an
   * operator gives vigil priority over batch work on a shared host (docs/election.md).
   */
  nice?: number;
  /**
   * Start each replica under `chrt -r <rtPriority>` (SCHED_RR; needs root or
   * CAP_SYS_NICE): the deployment docs/election.md recommends where other work may
   * saturate the CPUs (as corosync does by default). Takes precedence over `nice`.
   */
  rtPriority?: number;
  /** Upper bound for each replica to answer /healthz after a start (default 20 s). */
  startTimeoutMs?: number;
  /** For messages and the temp dir name. */
  name?: string;
}

/** GET /api/v1/status of one replica (DESIGN §7). */
export interface ReplicaStatusDoc {
  nodeId: string;
  role: 'leader' | 'follower' | 'candidate' | 'pre-candidate';
  term: number;
  leaderId: string | null;
  leaseValid: boolean;
  leaseRemainingMs: number;
  votedFor: string | null;
  transferringTo: string | null;
  peers: Array<{ id: string; url: string; connected: boolean; lastContactSeconds: number | null }>;
  kafka: unknown;
  redis: unknown;
}

export interface ReplicaHandle {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly logFile: string;
  process(): TrackedProcess | undefined;
  pid(): number | undefined;
  isRunning(): boolean;
}

export interface ReplicaGroup {
  readonly dir: string;
  readonly replicas: readonly ReplicaHandle[];
  readonly secret: string;
  readonly adminToken: string;
  get(id: string): ReplicaHandle;
  /** Starts a stopped replica (same config and data dir) and waits for /healthz. */
  start(id: string): Promise<void>;
  /** SIGKILL; resolves once reaped. */
  kill(id: string): Promise<ExitStatus>;
  /** SIGSTOP / SIGCONT. */
  pause(id: string): void;
  resume(id: string): void;
  /** SIGTERM (graceful: a leader transfers first); resolves with the exit status. */
  stop(id: string, timeoutMs?: number): Promise<ExitStatus>;
  /** stop (if running) then start, same data dir. */
  restart(id: string): Promise<void>;
  /** One status request (throws if unreachable). */
  status(id: string, timeoutMs?: number): Promise<ReplicaStatusDoc>;
  /** Status of every running replica that answers. */
  statuses(): Promise<ReplicaStatusDoc[]>;
  /**
   * Waits until one replica (not in `excluding`) leads with a valid lease, in a term of at
   * least `minTerm`, and every other running replica outside `excluding` follows it in that
   * term. Returns the leader's status.
   */
  waitForLeader(opts?: { excluding?: readonly string[]; minTerm?: number; timeoutMs?: number; intervalMs?: number }): Promise<ReplicaStatusDoc>;
  /**
   * Waits until every running replica reports every other running replica's stream
   * connected (after a restart: so the next crash is detected through the stream).
   */
  waitForConnected(timeoutMs?: number, intervalMs?: number): Promise<void>;
  /** One HTTP request to a replica; resolves status and text. */
  request(id: string, method: string, pathname: string, opts?: { body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number }): Promise<{ status: number; text: string }>;
  logTail(id: string, lines?: number): string;
  /** Every JSON log line of a replica, parsed (non-JSON lines skipped). */
  logLines(id: string): Array<Record<string, unknown>>;
  logReport(lines?: number): string;
  markFailed(): void;
  /** Kills every replica and removes the temp dir (kept when a test failed). */
  shutdown(): Promise<void>;
}

/** The command that starts `node <args>` with the requested scheduling. */
function launcher(opts: StartReplicasOptions, args: string[]): { command: string; args: string[] } {
  if (opts.rtPriority !== undefined) return { command: 'chrt', args: ['-r', String(opts.rtPriority), process.execPath, ...args] };
  if (opts.nice !== undefined) return { command: 'nice', args: ['-n', String(opts.nice), process.execPath, ...args] };
  return { command: process.execPath, args };
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
  const count = opts.count ?? 3;
  const prefix = opts.idPrefix ?? 'vigil-';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-${opts.name ?? 'replicas'}-`));
  const unregisterCleanup = onExitCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ports = await freePorts(count);
  const ids = ports.map((_, i) => `${prefix}${i + 1}`);
  const peers = ids.map((id, i) => ({ id, url: `http://127.0.0.1:${ports[i]}` }));
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;
  const procs = new Map<string, TrackedProcess>();
  let failed = false;
  let shutDown = false;

  const handles: ReplicaHandle[] = ids.map((id, i) => {
    const port = ports[i] as number;
    const dataDir = path.join(dir, id, 'data');
    const configFile = path.join(dir, id, 'vigil.yaml');
    const logFile = path.join(dir, id, 'replica.log');
    fs.mkdirSync(path.dirname(configFile), { recursive: true });
    const extra = typeof opts.config === 'function' ? opts.config(id) : (opts.config ?? {});
    const doc: Record<string, unknown> = {
      cluster: 'test',
      node: { id, listen: `127.0.0.1:${port}`, dataDir },
      peers,
      election: { heartbeatInterval: '100ms', electionTimeout: '400ms', secret: TEST_PEER_SECRET, ...(opts.election ?? {}) },
      kafka: { brokers: ['127.0.0.1:9'] },
      redis: { url: 'redis://127.0.0.1:9' },
      http: { adminToken: TEST_ADMIN_TOKEN },
      log: { level: opts.logLevel ?? 'info' },
      ...extra,
    };
    fs.writeFileSync(configFile, stringify(doc));
    return {
      id,
      port,
      url: `http://127.0.0.1:${port}`,
      dataDir,
      configFile,
      logFile,
      process: () => procs.get(id),
      pid: () => (procs.get(id)?.isRunning() ? procs.get(id)?.pid : undefined),
      isRunning: () => procs.get(id)?.isRunning() ?? false,
    };
  });
  const byId = new Map(handles.map((h) => [h.id, h]));
  const get = (id: string): ReplicaHandle => {
    const h = byId.get(id);
    if (!h) throw new Error(`no replica "${id}" (have ${ids.join(', ')})`);
    return h;
  };

  const request = (id: string, method: string, pathname: string, o: { body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number } = {}) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const h = get(id);
      const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
      const req = http.request(
        { host: '127.0.0.1', port: h.port, method, path: pathname, agent: false, headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...(o.headers ?? {}) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      const timeoutMs = o.timeoutMs ?? 2000;
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${pathname} on ${id}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });

  const status = async (id: string, timeoutMs = 2000): Promise<ReplicaStatusDoc> => {
    const r = await request(id, 'GET', '/api/v1/status', { timeoutMs });
    if (r.status !== 200) throw new Error(`status of ${id}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    return JSON.parse(r.text) as ReplicaStatusDoc;
  };

  const start = async (id: string): Promise<void> => {
    if (shutDown) throw new Error('this replica group has been shut down');
    const h = get(id);
    if (procs.get(id)?.isRunning()) throw new Error(`${id} is already running (pid ${procs.get(id)?.pid})`);
    fs.appendFileSync(h.logFile, `==== harness: start at ${new Date().toISOString()} ====\n`);
    const proc = spawnTracked({
      name: `replica ${id}`,
      ...launcher(opts, [CLI_PATH, 'run', '--config', h.configFile, ...(opts.runArgs ?? [])]),
      logFile: h.logFile,
      cwd: dir,
    });
    procs.set(id, proc);
    const exited = proc.exited.then((s) => {
      throw new Error(`replica ${id} exited (${s.signal ?? `code ${s.code}`}) during start\n--- ${h.logFile} ---\n${tailFile(h.logFile, 30)}`);
    });
    exited.catch(() => undefined);
    await Promise.race([
      waitFor(async () => (await request(id, 'GET', '/healthz', { timeoutMs: 1000 })).status === 200, { timeoutMs: startTimeoutMs, intervalMs: 20, what: `replica ${id} to answer /healthz` }),
      exited,
    ]);
  };

  const group: ReplicaGroup = {
    dir,
    replicas: handles,
    secret: TEST_PEER_SECRET,
    adminToken: TEST_ADMIN_TOKEN,
    get,
    start,
    async kill(id) {
      const p = procs.get(id);
      if (!p) throw new Error(`${id} was never started`);
      return p.kill();
    },
    pause(id) {
      procs.get(id)?.signal('SIGSTOP');
    },
    resume(id) {
      procs.get(id)?.signal('SIGCONT');
    },
    async stop(id, timeoutMs = 30_000) {
      const p = procs.get(id);
      if (!p) throw new Error(`${id} was never started`);
      return p.terminate({ sig: 'SIGTERM', timeoutMs });
    },
    async restart(id) {
      if (procs.get(id)?.isRunning()) await group.stop(id);
      await start(id);
    },
    status,
    async statuses() {
      const all = await Promise.all(handles.filter((h) => h.isRunning()).map((h) => status(h.id, 1000).catch(() => null)));
      return all.filter((s): s is ReplicaStatusDoc => s !== null);
    },
    async waitForLeader(o = {}) {
      const excluding = new Set(o.excluding ?? []);
      return waitFor(
        async () => {
          const running = handles.filter((h) => h.isRunning() && !excluding.has(h.id) && h.process() !== undefined);
          const all = await Promise.all(running.map((h) => status(h.id, 1000).catch(() => null)));
          if (all.some((s) => s === null)) return null;
          const docs = all as ReplicaStatusDoc[];
          const leaders = docs.filter((s) => s.role === 'leader' && s.leaseValid && s.term >= (o.minTerm ?? 0));
          if (leaders.length !== 1) return null;
          const leader = leaders[0] as ReplicaStatusDoc;
          const settled = docs.every((s) => s.nodeId === leader.nodeId || (s.role === 'follower' && s.term === leader.term && s.leaderId === leader.nodeId));
          return settled ? leader : null;
        },
        { timeoutMs: o.timeoutMs ?? 20_000, intervalMs: o.intervalMs ?? 20, what: `one leader with a valid lease followed by every running replica${excluding.size ? ` (excluding ${[...excluding].join(', ')})` : ''}` },
      );
    },
    async waitForConnected(timeoutMs = 20_000, intervalMs = 20) {
      await waitFor(
        async () => {
          const running = handles.filter((h) => h.isRunning());
          const runningIds = new Set(running.map((h) => h.id));
          const docs = await Promise.all(running.map((h) => status(h.id, 1000)));
          return docs.every((d) => d.peers.every((p) => !runningIds.has(p.id) || p.connected));
        },
        { timeoutMs, intervalMs, what: 'every running replica to have its peer streams connected' },
      );
    },
    request,
    logTail: (id, lines = 40) => tailFile(get(id).logFile, lines),
    logLines(id) {
      let text = '';
      try {
        text = fs.readFileSync(get(id).logFile, 'utf8');
      } catch {
        return [];
      }
      const out: Array<Record<string, unknown>> = [];
      for (const line of text.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          out.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // a line cut short by SIGKILL
        }
      }
      return out;
    },
    logReport: (lines = 40) => handles.map((h) => `--- replica ${h.id}: last ${lines} lines of ${h.logFile} ---\n${tailFile(h.logFile, lines)}`).join('\n'),
    markFailed() {
      failed = true;
    },
    async shutdown() {
      if (shutDown) return;
      shutDown = true;
      await Promise.all([...procs.values()].map((p) => p.kill()));
      unregisterCleanup();
      if (failed || process.env.KEEP_REPLICA_LOGS) console.error(`replica harness: kept ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(ids.map((id) => start(id)));
  } catch (err) {
    failed = true;
    await group.shutdown();
    throw err;
  }
  return group;
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
