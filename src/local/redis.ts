import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { freePort } from './ports';
import { onExitCleanup, spawnTracked, tailFile, type TrackedProcess } from './procs';
import { waitFor } from './wait';

/**
 * A private redis-server on this machine (docs/design.md §9): a free loopback port, its data in
 * one directory, output in a log file there. No persistence by default, so a restart loses
 * everything, as a crashed cache would; `persistence: 'aof'` keeps data across restarts.
 * `vigil demo` runs one; tests run them through test/harness/redis.ts.
 *
 * For the connection-security tests it also runs TLS-only servers (client certificates
 * required), ACL users, replicas, and redis-sentinel processes watching them.
 */

/** PEM files for a TLS-only server (`--port 0`): its certificate and key, and the CA. */
export interface LocalRedisTls {
  /** The server's certificate; also its client certificate towards a master or a sentinel's instances. */
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA that signed the server's and the clients' certificates. */
  readonly caFile: string;
  /** Require clients to present a certificate signed by the CA (default true). */
  readonly authClients?: boolean;
}

/** An ACL user; the `default` user is switched off once any are given. */
export interface LocalRedisUser {
  readonly name: string;
  readonly password: string;
  /** ACL rules after the password (default "~* &* +@all"). */
  readonly rules?: string;
}

export interface LocalRedisOptions {
  /** 'none' (default) or 'aof' (appendonly, fsync on every write: nothing lost on SIGKILL). */
  persistence?: 'none' | 'aof';
  /** Upper bound for a start (default 30 s). */
  startTimeoutMs?: number;
  /** The server's directory (created). Default: a new temp directory `vigil-redis-XXXXXX`. */
  dir?: string;
  /** Never remove the directory, not even at exit (default false). */
  keepAll?: boolean;
  /** Start redis-server in a process group of its own (see SpawnOptions.ownProcessGroup). */
  ownProcessGroup?: boolean;
  /** Serve TLS only, on the free port (`url` becomes rediss://). */
  tls?: LocalRedisTls;
  /** ACL users; the `default` user is switched off. */
  users?: readonly LocalRedisUser[];
  /** Start as a replica of this master (over TLS when `tls` is set). */
  replicaOf?: { readonly host: string; readonly port: number };
  /** The ACL user this server logs in to its master as: now, or once Sentinel makes it a replica. */
  masterUser?: LocalRedisUser;
  /** The address it binds (default 127.0.0.1), e.g. a network lab's service-net address. */
  host?: string;
}

export interface LocalRedis {
  /** redis://127.0.0.1:<port>, rediss:// with TLS */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  pid(): number | undefined;
  isRunning(): boolean;
  /** Start again after stop()/kill(), on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** stop() if running, then start(). */
  restart(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a hung server with its connections open. */
  pause(): void;
  resume(): void;
  logTail(lines?: number): string;
  logReport(lines?: number): string;
  /** Kill, and remove the directory (unless `keep` or keepAll). Idempotent. */
  shutdown(opts?: { keep?: boolean }): Promise<void>;
}

export async function startLocalRedis(opts: LocalRedisOptions = {}): Promise<LocalRedis> {
  const host = opts.host ?? '127.0.0.1';
  const port = await freePort(host);
  const dir = makeDir(opts.dir, 'vigil-redis-');
  const replica = opts.replicaOf;
  const args = [
    '--bind', host,
    ...listenArgs(port, opts.tls),
    '--dir', dir,
    '--daemonize', 'no',
    '--logfile', '', // stdout, which goes to logFile
    '--save', '',
    // a replica's first full sync at once (the default waits 5 s for more replicas)
    '--repl-diskless-sync-delay', '0',
    // protected mode refuses clients other than 127.0.0.1 and ::1 when there is no password
    ...(host === '127.0.0.1' ? [] : ['--protected-mode', 'no']),
    ...(opts.persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...userArgs(opts.users),
    ...(replica ? ['--replicaof', replica.host, String(replica.port)] : []),
    ...(opts.masterUser ? ['--masteruser', opts.masterUser.name, '--masterauth', opts.masterUser.password] : []),
  ];
  return runServer({ what: 'redis', command: 'redis-server', args, host, port, dir, opts });
}

export interface LocalSentinelOptions extends Pick<LocalRedisOptions, 'startTimeoutMs' | 'dir' | 'keepAll' | 'ownProcessGroup' | 'tls' | 'host'> {
  /** The master group name. */
  readonly masterName: string;
  readonly master: { readonly host: string; readonly port: number };
  /** Sentinels that must agree the master is down (default 1). */
  readonly quorum?: number;
  /** Unanswered for this long = subjectively down (default 1000 ms; Redis' own is 30 s). */
  readonly downAfterMs?: number;
  /** Default 10,000 ms (Redis' own: 3 min). */
  readonly failoverTimeoutMs?: number;
  /** The ACL user this sentinel logs in to the master and replicas as. */
  readonly instanceUser?: LocalRedisUser;
  /**
   * ACL users of the sentinel itself (the `default` user is switched off); the first is
   * also what sentinels use with each other, so give every sentinel of a group the same.
   */
  readonly users?: readonly LocalRedisUser[];
}

/**
 * A redis-sentinel on a free loopback port watching one master group. Its config file is
 * its own (Sentinel rewrites it with what it learns: replicas, other sentinels, epochs).
 */
export async function startLocalSentinel(opts: LocalSentinelOptions): Promise<LocalRedis> {
  const host = opts.host ?? '127.0.0.1';
  const port = await freePort(host);
  const dir = makeDir(opts.dir, 'vigil-sentinel-');
  const name = opts.masterName;
  const tlsLines: string[] = [];
  const listen = listenArgs(port, opts.tls);
  for (let i = 0; i < listen.length; i += 2) tlsLines.push(`${(listen[i] as string).slice(2)} ${listen[i + 1] as string}`);
  const users = opts.users ?? [];
  const lines = [
    `bind ${host}`,
    // as for the server: protected mode refuses clients other than 127.0.0.1 and ::1
    ...(host === '127.0.0.1' ? [] : ['protected-mode no']),
    ...tlsLines,
    `dir ${dir}`,
    'daemonize no',
    'logfile ""',
    `sentinel monitor ${name} ${opts.master.host} ${opts.master.port} ${opts.quorum ?? 1}`,
    `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
    `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 10_000}`,
    ...(opts.instanceUser ? [`sentinel auth-user ${name} ${opts.instanceUser.name}`, `sentinel auth-pass ${name} ${opts.instanceUser.password}`] : []),
    ...(users.length > 0 ? ['user default off', ...users.map((u) => `user ${aclWords(u).join(' ')}`)] : []),
    ...(users[0] ? [`sentinel sentinel-user ${users[0].name}`, `sentinel sentinel-pass ${users[0].password}`] : []),
  ];
  const conf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(conf, `${lines.join('\n')}\n`);
  return runServer({ what: 'sentinel', command: 'redis-sentinel', args: [conf], host, port, dir, opts });
}

function makeDir(dir: string | undefined, prefix: string): string {
  if (dir === undefined) return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const resolved = path.resolve(dir);
  fs.mkdirSync(resolved, { recursive: true });
  return resolved;
}

/** Starts, watches and stops one redis-server or redis-sentinel process. */
async function runServer(spec: {
  what: 'redis' | 'sentinel';
  command: string;
  args: string[];
  host: string;
  port: number;
  dir: string;
  opts: Pick<LocalRedisOptions, 'startTimeoutMs' | 'keepAll' | 'ownProcessGroup' | 'tls'>;
}): Promise<LocalRedis> {
  const { what, command, args, host, port, dir, opts } = spec;
  const keepAll = opts.keepAll ?? false;
  const logFile = path.join(dir, `${what}.log`);
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const unregisterCleanup = onExitCleanup(() => {
    if (!keepAll) fs.rmSync(dir, { recursive: true, force: true });
  });
  let proc: TrackedProcess | undefined;
  let shutDown = false;

  const start = async (): Promise<void> => {
    if (shutDown) throw new Error(`this ${what} has been shut down`);
    if (proc?.isRunning()) throw new Error(`${what} on port ${port} is already running (pid ${proc.pid})`);
    fs.appendFileSync(logFile, `==== start at ${new Date().toISOString()} ====\n`);
    const started = spawnTracked({
      name: `${what} :${port}`,
      command,
      args,
      logFile,
      cwd: dir,
      ...(opts.ownProcessGroup ? { ownProcessGroup: true } : {}),
    });
    proc = started;
    const exited = started.exited.then((status) => {
      throw new Error(
        `${command} on port ${port} exited (${status.signal ?? `code ${status.code}`}) during start\n` +
          `--- ${logFile} ---\n${tailFile(logFile, 30)}`,
      );
    });
    exited.catch(() => undefined);
    await Promise.race([
      waitFor(() => ping(host, port, opts.tls), { timeoutMs: startTimeoutMs, intervalMs: 50, what: `${what} on port ${port} to answer PING` }),
      exited,
    ]);
  };

  const server: LocalRedis = {
    url: `${opts.tls ? 'rediss' : 'redis'}://${host}:${port}`,
    host,
    port,
    dir,
    logFile,
    pid: () => (proc?.isRunning() ? proc.pid : undefined),
    isRunning: () => proc?.isRunning() ?? false,
    start,
    async stop() {
      await proc?.terminate({ sig: 'SIGTERM', timeoutMs: 30_000 });
    },
    async restart() {
      await server.stop();
      await start();
    },
    async kill() {
      await proc?.kill();
    },
    pause() {
      proc?.signal('SIGSTOP');
    },
    resume() {
      proc?.signal('SIGCONT');
    },
    logTail: (lines = 40) => tailFile(logFile, lines),
    logReport: (lines = 40) => `--- ${what} :${port}: last ${lines} lines of ${logFile} ---\n${tailFile(logFile, lines)}`,
    async shutdown({ keep = false } = {}) {
      if (shutDown) return;
      shutDown = true;
      await proc?.kill();
      unregisterCleanup();
      if (!keep && !keepAll) fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await start();
  } catch (err) {
    await server.shutdown({ keep: true });
    if (err instanceof Error) err.message += `\n(${what} directory kept: ${dir})`;
    throw err;
  }
  return server;
}

/** Listening arguments: the port in plaintext, or TLS only (`--port 0`) on it. */
function listenArgs(port: number, t: LocalRedisTls | undefined): string[] {
  if (!t) return ['--port', String(port)];
  return ['--port', '0', '--tls-port', String(port), ...tlsArgs(t)];
}

/** The TLS settings, also what a server or sentinel presents when it is the client. */
function tlsArgs(t: LocalRedisTls): string[] {
  return [
    '--tls-cert-file', t.certFile,
    '--tls-key-file', t.keyFile,
    '--tls-ca-cert-file', t.caFile,
    '--tls-auth-clients', t.authClients === false ? 'no' : 'yes',
    // replication (and a sentinel's links to its instances and peers) over TLS as well
    '--tls-replication', 'yes',
  ];
}

function userArgs(users: readonly LocalRedisUser[] | undefined): string[] {
  if (!users || users.length === 0) return [];
  // One argument per word: redis-server joins the words after `--user` into the directive.
  return [['default', 'off'], ...users.map(aclWords)].flatMap((words) => ['--user', ...words]);
}

function aclWords(u: LocalRedisUser): string[] {
  return [u.name, 'on', `>${u.password}`, ...(u.rules ?? '~* &* +@all').split(/\s+/)];
}

/**
 * true when a PING on a fresh connection is answered: +PONG, or -NOAUTH from a server whose
 * default user is off (it is serving; logging in is the client's business).
 */
function ping(host: string, port: number, t?: LocalRedisTls): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = t
      ? tls.connect({
          host,
          port,
          ca: fs.readFileSync(t.caFile),
          cert: fs.readFileSync(t.certFile),
          key: fs.readFileSync(t.keyFile),
        })
      : net.connect({ host, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on(t ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}
