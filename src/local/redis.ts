import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { onExitCleanup, spawnTracked, tailFile, type TrackedProcess } from './procs';
import { waitFor } from './wait';

/**
 * A private redis-server on this machine (DESIGN §9): a free loopback port, its data in
 * one directory, output in a log file there. No persistence by default, so a restart loses
 * everything, as a crashed cache would; `persistence: 'aof'` keeps data across restarts.
 * `vigil demo` runs one; tests run them through test/harness/redis.ts.
 */

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
  /** The address it binds (default 127.0.0.1), e.g. a network lab's service-net address. */
  host?: string;
}

export interface LocalRedis {
  /** redis://127.0.0.1:<port> */
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
  let dir: string;
  if (opts.dir === undefined) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-redis-'));
  } else {
    dir = path.resolve(opts.dir);
    fs.mkdirSync(dir, { recursive: true });
  }
  const keepAll = opts.keepAll ?? false;
  const logFile = path.join(dir, 'redis.log');
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const args = [
    '--bind', host,
    '--port', String(port),
    '--dir', dir,
    '--daemonize', 'no',
    '--logfile', '', // stdout, which goes to logFile
    '--save', '',
    // protected mode refuses clients other than 127.0.0.1 and ::1 when there is no password
    ...(host === '127.0.0.1' ? [] : ['--protected-mode', 'no']),
    ...(opts.persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  const unregisterCleanup = onExitCleanup(() => {
    if (!keepAll) fs.rmSync(dir, { recursive: true, force: true });
  });
  let proc: TrackedProcess | undefined;
  let shutDown = false;

  const start = async (): Promise<void> => {
    if (shutDown) throw new Error('this redis has been shut down');
    if (proc?.isRunning()) throw new Error(`redis on port ${port} is already running (pid ${proc.pid})`);
    fs.appendFileSync(logFile, `==== start at ${new Date().toISOString()} ====\n`);
    const started = spawnTracked({
      name: `redis :${port}`,
      command: 'redis-server',
      args,
      logFile,
      cwd: dir,
      ...(opts.ownProcessGroup ? { ownProcessGroup: true } : {}),
    });
    proc = started;
    const exited = started.exited.then((status) => {
      throw new Error(
        `redis-server on port ${port} exited (${status.signal ?? `code ${status.code}`}) during start\n` +
          `--- ${logFile} ---\n${tailFile(logFile, 30)}`,
      );
    });
    exited.catch(() => undefined);
    await Promise.race([
      waitFor(() => ping(host, port), { timeoutMs: startTimeoutMs, intervalMs: 50, what: `redis on port ${port} to answer PING` }),
      exited,
    ]);
  };

  const server: LocalRedis = {
    url: `redis://${host}:${port}`,
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
    logReport: (lines = 40) => `--- redis :${port}: last ${lines} lines of ${logFile} ---\n${tailFile(logFile, lines)}`,
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
    if (err instanceof Error) err.message += `\n(redis directory kept: ${dir})`;
    throw err;
  }
  return server;
}

/** true when a RESP PING on a fresh connection gets +PONG. */
function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
