/**
 * vigil's Redis config → ioredis options (docs/design.md §6): a plain URL or a Sentinel-managed
 * master, each with ACL credentials and TLS (CA, client certificate and key). Pure, so
 * the fail-fast settings and every mapping are testable without a server; the store
 * (redis-store.ts) only hands the result to `new Redis`.
 *
 * Sentinel mode has two kinds of connection, configured apart because they often differ:
 * to the sentinels (sentinelUsername / sentinelPassword / sentinelTls) and to the master
 * the sentinels name (redis.username / redis.password / redis.tls).
 */
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';
import type { TlsConfig, VigilConfig } from '../config/types';
import { VigilError } from '../errors';

export interface RedisConnectTimings {
  /** Upper bound of one command, to Redis or to a sentinel (default 1000 ms). */
  readonly commandTimeoutMs?: number;
  /** Upper bound of one connection attempt (default 2000 ms). */
  readonly connectTimeoutMs?: number;
  /** Reconnect backoff: initial delay doubling up to the maximum (defaults 50 ms, 2000 ms). */
  readonly reconnectInitialDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
}

/** Delay before reconnect attempt `attempt` (1-based): doubling from initial, capped. */
export function reconnectDelayMs(attempt: number, initialMs: number, maxMs: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(initialMs * 2 ** exponent, maxMs);
}

/** Node's TLS options for a compiled TLS config (PEM text, already read at start-up). */
export function tlsOptions(tls: TlsConfig): ConnectionOptions {
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
  };
}

/**
 * ioredis options for vigil's Redis config. `url` is set in URL mode; the options never
 * leave TLS to ioredis' own reading of the scheme (it matches "rediss://" case-sensitively).
 */
export function redisClientOptions(redis: VigilConfig['redis'], opts: RedisConnectTimings = {}): { url?: string; options: RedisOptions } {
  const initialMs = opts.reconnectInitialDelayMs ?? 50;
  const maxMs = opts.reconnectMaxDelayMs ?? 2000;
  const commandTimeoutMs = opts.commandTimeoutMs ?? 1000;
  const retry = (attempt: number): number => reconnectDelayMs(attempt, initialMs, maxMs);
  const common: RedisOptions = {
    // Fail fast: no queue while disconnected, at most one resend across a reconnect, and
    // every command bounded, so no caller ever waits on a Redis that is not there.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: opts.connectTimeoutMs ?? 2000,
    // Never give up reconnecting: Redis coming back must need nothing from an operator.
    retryStrategy: retry,
    // After a Sentinel failover the old master answers READONLY: reconnect to the new one.
    reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    enableReadyCheck: true,
    lazyConnect: true,
    connectionName: 'vigil',
    ...(redis.username !== undefined ? { username: redis.username } : {}),
    ...(redis.password !== undefined ? { password: redis.password } : {}),
    ...(redis.tls !== undefined ? { tls: tlsOptions(redis.tls) } : {}),
  };
  if (redis.sentinel) {
    const s = redis.sentinel;
    return {
      options: {
        ...common,
        sentinels: s.sentinels.map((h) => ({ host: h.host, port: h.port })),
        name: s.name,
        // ioredis applies `tls` to the master connection only with this flag.
        enableTLSForSentinelMode: redis.tls !== undefined,
        ...(s.sentinelUsername !== undefined ? { sentinelUsername: s.sentinelUsername } : {}),
        ...(s.sentinelPassword !== undefined ? { sentinelPassword: s.sentinelPassword } : {}),
        ...(s.sentinelTls !== undefined ? { sentinelTLS: tlsOptions(s.sentinelTls) } : {}),
        // A hung sentinel must not hold up finding the master (ioredis' default: no bound).
        sentinelCommandTimeout: commandTimeoutMs,
        sentinelRetryStrategy: retry,
        // Listen for +switch-master: after a SENTINEL FAILOVER the demoted master keeps
        // taking writes until Sentinel converts it (about 10 s), and writes there are lost.
        // (The detector can end a client that is reconnecting; the store starts it again.)
        failoverDetector: true,
      },
    };
  }
  if (!redis.url) {
    throw new VigilError('CONFIG_INVALID', 'redis: expected url (e.g. "redis://127.0.0.1:6379") or sentinel', {
      context: { key: 'redis' },
    });
  }
  return { url: redis.url, options: common };
}
