/**
 * A private redis-server for tests (DESIGN §9): a free loopback port, its data in a temp
 * directory, output in a log file there. No persistence by default, so a restart loses
 * everything, as a crashed cache would; `persistence: 'aof'` keeps data across restarts.
 * The server is the local stack's (src/local/redis.ts, shared with `vigil demo`); this
 * module adds what tests need: markFailed() keeps the directory for a failed test.
 */
import { startLocalRedis, type LocalRedis } from '../../src/local/redis';

export interface StartRedisOptions {
  /** 'none' (default) or 'aof' (appendonly, fsync on every write: nothing lost on SIGKILL). */
  persistence?: 'none' | 'aof';
  /** Upper bound for a start (default 30 s). */
  startTimeoutMs?: number;
}

export interface RedisServer extends Omit<LocalRedis, 'shutdown'> {
  markFailed(): void;
  /** Kill, and remove the temp directory (kept when a test failed). */
  shutdown(): Promise<void>;
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const local = await startLocalRedis({
    ...(opts.persistence !== undefined ? { persistence: opts.persistence } : {}),
    ...(opts.startTimeoutMs !== undefined ? { startTimeoutMs: opts.startTimeoutMs } : {}),
  });
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
      if (failed) console.error(`redis harness: kept ${local.dir}`);
    },
  };
}
