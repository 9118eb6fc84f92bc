/**
 * A group of real vigil replicas on this machine: each one a separate
 * `node dist/src/cli/main.js run --config <dir>/<id>/vigil.yaml` process (tracked: it dies
 * with this process), on a free loopback port, with its own data dir. `vigil demo` runs
 * one; tests and benchmarks run them through test/harness/replicas.ts.
 *
 *   const group = await startLocalReplicas({ count: 3, cluster: 'demo', secret, adminToken });
 *   const leader = await group.waitForLeader();
 *   await group.kill(leader.nodeId);                       // SIGKILL
 *   await group.waitForLeader({ excluding: [leader.nodeId] });
 *   await group.restart(leader.nodeId);                    // same data dir
 *   await group.shutdown();
 *
 * Callers add config sections (kafka, redis, alerting, ...) to every replica's YAML
 * through `config`. Each replica's log is a file; `logReport()` prints their tails.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePorts } from './ports';
import { onExitCleanup, spawnTracked, tailFile, type ExitStatus, type TrackedProcess } from './procs';
import { waitFor } from './wait';

/** Path of the compiled CLI (this file runs from dist/src/local). */
export const CLI_PATH = path.resolve(__dirname, '..', 'cli', 'main.js');

/**
 * Extra top-level YAML sections for every replica, or a function of the replica id (and of
 * its layout and the group's, for sections that name ports, e.g. node and peers).
 */
export type ReplicaConfigExtra = Record<string, unknown> | ((id: string, self: ReplicaLayout, all: readonly ReplicaLayout[]) => Record<string, unknown>);

export interface LocalReplicasOptions {
  /** 3 (default) or 5; any count >= 1 works. */
  count?: number;
  /** Ids are `${idPrefix}${i}`, i from 1 (default "vigil-"). */
  idPrefix?: string;
  /** The `cluster` key of every replica: names Redis keys, metric labels and alert keys. */
  cluster: string;
  /** election.secret of every replica. */
  secret: string;
  /** http.adminToken of every replica. */
  adminToken: string;
  /** Extra top-level YAML sections for every replica (kafka, redis, alerting, ...). */
  config?: ReplicaConfigExtra;
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
  /**
   * Start each replica under `prlimit --nofile=<n>:<n>`: a small open-files limit, as a
   * container may have, to prove a connection flood cannot exhaust the descriptors.
   */
  openFilesLimit?: number;
  /** Upper bound for each replica to answer /healthz after a start (default 20 s). */
  startTimeoutMs?: number;
  /** For the temp dir name. */
  name?: string;
  /** The group's directory (created). Default: a new temp directory `vigil-<name>-XXXXXX`. */
  dir?: string;
  /** Never remove the directory, not even at exit (default false). */
  keepAll?: boolean;
  /** Start the replicas in process groups of their own (see SpawnOptions.ownProcessGroup). */
  ownProcessGroup?: boolean;
  /**
   * Runs replica `index` (0-based) through another command, e.g. `ip netns exec <ns>` to
   * put it in a network namespace of its own (the fault soak). Default: run it directly.
   */
  wrap?: (index: number, command: string, args: readonly string[]) => { command: string; args: string[] };
  /** The address this process reaches replica `index`'s API at (default 127.0.0.1). */
  hostOf?: (index: number) => string;
}

/** GET /api/v1/status of one replica (docs/design.md §7). */
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

/** Where one replica lives: its ports and files. */
export interface ReplicaLayout {
  readonly id: string;
  /** where this process reaches the replica (127.0.0.1 unless the group says otherwise) */
  readonly host: string;
  /** node.listen: API, metrics, health. */
  readonly port: number;
  readonly url: string;
  /** node.peerListen: the peer protocol. */
  readonly peerPort: number;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly logFile: string;
}

export interface ReplicaHandle extends ReplicaLayout {
  process(): TrackedProcess | undefined;
  pid(): number | undefined;
  isRunning(): boolean;
}

export interface LocalReplicas {
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
  /** Kills every replica and removes the directory (unless `keep` or keepAll). Idempotent. */
  shutdown(opts?: { keep?: boolean }): Promise<void>;
}

/**
 * The ids, ports, URLs and files of `ports.length` replicas under `dir` (pure): replica i
 * listens on ports[i] and talks to its peers on peerPorts[i], at the address hostOf(i).
 */
export function replicaLayouts(dir: string, ports: readonly number[], peerPorts: readonly number[], idPrefix = 'vigil-', hostOf: (index: number) => string = () => '127.0.0.1'): ReplicaLayout[] {
  if (peerPorts.length !== ports.length) throw new Error(`replicaLayouts: ${ports.length} ports but ${peerPorts.length} peer ports`);
  return ports.map((port, i) => {
    const id = `${idPrefix}${i + 1}`;
    const host = hostOf(i);
    const peerPort = peerPorts[i] as number;
    return {
      id,
      host,
      port,
      url: `http://${host}:${port}`,
      peerPort,
      peerUrl: `http://${host}:${peerPort}`,
      dataDir: path.join(dir, id, 'data'),
      configFile: path.join(dir, id, 'vigil.yaml'),
      logFile: path.join(dir, id, 'replica.log'),
    };
  });
}

export interface ReplicaConfigInput {
  readonly cluster: string;
  readonly secret: string;
  readonly adminToken: string;
  readonly election?: Record<string, unknown>;
  readonly logLevel?: string;
  readonly config?: ReplicaConfigExtra;
}

/**
 * The YAML document (as data) of replica `self` in a group laid out as `all` (pure): every
 * replica listens on loopback, lists every replica under `peers`, and shares the secret and
 * admin token. Kafka and Redis point at a closed port until `config` supplies them, so a
 * group runs its election without either.
 */
export function replicaConfigDoc(self: ReplicaLayout, all: readonly ReplicaLayout[], input: ReplicaConfigInput): Record<string, unknown> {
  const extra = typeof input.config === 'function' ? input.config(self.id, self, all) : (input.config ?? {});
  return {
    cluster: input.cluster,
    node: { id: self.id, listen: `127.0.0.1:${self.port}`, peerListen: `127.0.0.1:${self.peerPort}`, dataDir: self.dataDir },
    peers: all.map((r) => ({ id: r.id, url: r.url, peerUrl: r.peerUrl })),
    election: { heartbeatInterval: '100ms', electionTimeout: '400ms', secret: input.secret, ...(input.election ?? {}) },
    kafka: { brokers: ['127.0.0.1:9'] },
    redis: { url: 'redis://127.0.0.1:9' },
    http: { adminToken: input.adminToken },
    log: { level: input.logLevel ?? 'info' },
    ...extra,
  };
}

/** The command that starts `node <args>` for replica `index` with the requested scheduling. */
function launcher(opts: LocalReplicasOptions, index: number, args: string[]): { command: string; args: string[] } {
  let cmd: { command: string; args: string[] } =
    opts.rtPriority !== undefined
      ? { command: 'chrt', args: ['-r', String(opts.rtPriority), process.execPath, ...args] }
      : opts.nice !== undefined
        ? { command: 'nice', args: ['-n', String(opts.nice), process.execPath, ...args] }
        : { command: process.execPath, args };
  if (opts.openFilesLimit !== undefined) cmd = { command: 'prlimit', args: [`--nofile=${opts.openFilesLimit}:${opts.openFilesLimit}`, cmd.command, ...cmd.args] };
  return opts.wrap === undefined ? cmd : opts.wrap(index, cmd.command, cmd.args);
}

export async function startLocalReplicas(opts: LocalReplicasOptions): Promise<LocalReplicas> {
  const count = opts.count ?? 3;
  let dir: string;
  if (opts.dir === undefined) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-${opts.name ?? 'replicas'}-`));
  } else {
    dir = path.resolve(opts.dir);
    fs.mkdirSync(dir, { recursive: true });
  }
  const keepAll = opts.keepAll ?? false;
  const unregisterCleanup = onExitCleanup(() => {
    if (!keepAll) fs.rmSync(dir, { recursive: true, force: true });
  });
  const ports = await freePorts(2 * count);
  const layouts = replicaLayouts(dir, ports.slice(0, count), ports.slice(count), opts.idPrefix ?? 'vigil-', opts.hostOf);
  const ids = layouts.map((l) => l.id);
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;
  const procs = new Map<string, TrackedProcess>();
  let shutDown = false;

  const handles: ReplicaHandle[] = layouts.map((layout) => {
    const { id } = layout;
    fs.mkdirSync(path.dirname(layout.configFile), { recursive: true });
    // The file holds the peer secret and the admin token: readable by its owner only.
    fs.writeFileSync(layout.configFile, stringify(replicaConfigDoc(layout, layouts, opts)), { mode: 0o600 });
    return {
      ...layout,
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
        { host: h.host, port: h.port, method, path: pathname, agent: false, headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...(o.headers ?? {}) } },
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
    fs.appendFileSync(h.logFile, `==== start at ${new Date().toISOString()} ====\n`);
    const proc = spawnTracked({
      name: `replica ${id}`,
      ...launcher(opts, handles.indexOf(h), [CLI_PATH, 'run', '--config', h.configFile, ...(opts.runArgs ?? [])]),
      logFile: h.logFile,
      cwd: dir,
      ...(opts.ownProcessGroup ? { ownProcessGroup: true } : {}),
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

  const group: LocalReplicas = {
    dir,
    replicas: handles,
    secret: opts.secret,
    adminToken: opts.adminToken,
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
    async shutdown({ keep = false } = {}) {
      if (shutDown) return;
      shutDown = true;
      await Promise.all([...procs.values()].map((p) => p.kill()));
      unregisterCleanup();
      if (!keep && !keepAll) fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(ids.map((id) => start(id)));
  } catch (err) {
    await group.shutdown({ keep: true });
    if (err instanceof Error) err.message += `\n(replica logs kept in ${dir})`;
    throw err;
  }
  return group;
}
