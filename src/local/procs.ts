import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Child processes of a local stack (brokers, Redis, replicas), tracked so that none
 * outlives the process that started them: all are killed synchronously when it exits, is
 * interrupted or crashes (SIGKILL of this process is the one case nothing here can cover).
 * Each child's stdout and stderr go straight to a log file (no pipe through this process,
 * so a busy child never blocks on us and the log survives us).
 *
 * Used by `vigil demo` and, through test/harness/procs.ts, by every test that starts a
 * server.
 */

export interface SpawnOptions {
  /** For messages: "kafka broker 2", "redis". */
  name: string;
  command: string;
  args: string[];
  /** Appended to, so a restarted process continues the same log. */
  logFile: string;
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /**
   * Start the child in a process group of its own, so a Ctrl-C at the terminal reaches
   * only this process, which then stops its children in its own order (`vigil demo`).
   * Default false: the child shares the terminal's signals, as tests expect.
   */
  ownProcessGroup?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TrackedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited (and been reaped). */
  readonly exited: Promise<ExitStatus>;
  /** Set once the process has exited. */
  exitStatus(): ExitStatus | undefined;
  isRunning(): boolean;
  /** Sends a signal; a no-op once the process has exited. */
  signal(sig: NodeJS.Signals): void;
  /** SIGCONT (a stopped process must not stay stopped) then SIGKILL; resolves on exit. */
  kill(): Promise<ExitStatus>;
  /**
   * Sends `sig` (SIGTERM by default) and waits up to `timeoutMs` for the exit; past that,
   * kills and throws, so a hung shutdown is reported rather than waited out.
   */
  terminate(opts?: { sig?: NodeJS.Signals; timeoutMs?: number }): Promise<ExitStatus>;
}

const live = new Set<ChildProcess>();

/** Kills every tracked child now, synchronously (usable from an 'exit' handler). */
function killAllTracked(): number {
  let n = 0;
  for (const child of live) {
    try {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      n += 1;
    } catch {
      // already gone
    }
  }
  live.clear();
  return n;
}

const exitCleanups = new Set<() => void>();

/**
 * Runs `cleanup` synchronously when this process ends in any way but SIGKILL (normal
 * exit, process.exit, a crash, SIGINT/SIGTERM/SIGHUP), after every tracked
 * child has been killed. Returns a function that unregisters it (call it after a normal
 * shutdown).
 */
export function onExitCleanup(cleanup: () => void): () => void {
  installExitHooks();
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

function runExitCleanups(): void {
  killAllTracked();
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // best effort: the process is going away
    }
  }
  exitCleanups.clear();
}

let stopHandler: ((sig: NodeJS.Signals) => void) | undefined;
let stopRequested = false;

/**
 * Takes over SIGINT/SIGTERM/SIGHUP for an orderly stop: the first such signal calls
 * `handler` (which stops the children in its own order and then exits) instead of killing
 * every child at once; a second signal kills everything and exits at once (128 + signal
 * number), so a stop that hangs can always be cut short. The 'exit' hook still kills
 * whatever is left. Returns a function that gives the signals back to the default
 * (kill every child, then let the signal act).
 */
export function handleStopSignals(handler: (sig: NodeJS.Signals) => void): () => void {
  installExitHooks();
  stopHandler = handler;
  stopRequested = false;
  return () => {
    if (stopHandler === handler) stopHandler = undefined;
  };
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' also runs after process.exit() and after an uncaught exception that ends the
  // process. No 'uncaughtException' hook: node:test absorbs those (the test fails, the
  // file goes on), and the servers of the tests that follow must survive it.
  process.on('exit', runExitCleanups);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      if (stopHandler !== undefined) {
        if (!stopRequested) {
          stopRequested = true;
          stopHandler(sig);
          return;
        }
        runExitCleanups();
        process.exit(128 + (os.constants.signals[sig] ?? 0));
      }
      runExitCleanups();
      // Listening replaced the default action (exit); restore it and let the signal act,
      // unless someone else also listens and decides.
      process.removeListener(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

export function spawnTracked(opts: SpawnOptions): TrackedProcess {
  installExitHooks();
  const fd = fs.openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', fd, fd],
      detached: opts.ownProcessGroup ?? false,
    });
  } finally {
    fs.closeSync(fd);
  }

  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      live.delete(child);
      resolve(status);
    });
  });
  // A failed spawn (ENOENT, EACCES) emits 'error' and possibly no 'exit'.
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err) => {
      live.delete(child);
      if (status === undefined) status = { code: null, signal: null };
      reject(err);
    });
  });
  spawnError.catch(() => undefined);
  if (child.pid === undefined) {
    throw new Error(`could not start ${opts.name} (${opts.command}): is it installed? Run \`bash scripts/setup.sh\``);
  }
  live.add(child);
  const pid = child.pid;

  const proc: TrackedProcess = {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exited,
    exitStatus: () => status,
    isRunning: () => status === undefined,
    signal(sig) {
      if (status === undefined) child.kill(sig);
    },
    async kill() {
      proc.signal('SIGCONT');
      proc.signal('SIGKILL');
      return exited;
    },
    async terminate({ sig = 'SIGTERM', timeoutMs = 60_000 } = {}) {
      if (status !== undefined) return status;
      proc.signal('SIGCONT');
      proc.signal(sig);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      });
      const result = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (result !== undefined) return result;
      await proc.kill();
      throw new Error(`${opts.name} (pid ${pid}) did not exit within ${timeoutMs} ms of ${sig}; killed it`);
    },
  };
  return proc;
}

/**
 * The last `lines` lines of a log file ('' when it does not exist yet), optionally only
 * those that `keep` accepts.
 */
export function tailFile(file: string, lines: number, keep?: (line: string) => boolean): string {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    // Read only the end: broker logs grow to megabytes.
    const bytes = Math.min(size, Math.max(256 * 1024, lines * 400));
    const buf = Buffer.alloc(bytes);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, buf, 0, bytes, size - bytes);
    } finally {
      fs.closeSync(fd);
    }
    text = buf.toString('utf8');
  } catch {
    return '';
  }
  let all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  if (keep) all = all.filter(keep);
  return all.slice(-lines).join('\n');
}

/**
 * Live processes whose command line contains `text` (e.g. a cluster's directory): how a
 * test or the demo proves that nothing it started is still running.
 */
export function processesMentioning(text: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(text)) found.push({ pid: Number(name), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return found.filter((p) => p.pid !== process.pid);
}

/** The scheduler state letter of a process ('R', 'S', 'T' = stopped, ...), or undefined if gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may contain spaces; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True when an executable named `command` is in one of the directories of `envPath` (a PATH value). */
export function commandOnPath(command: string, envPath: string | undefined): boolean {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}
