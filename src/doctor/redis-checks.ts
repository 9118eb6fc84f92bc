/**
 * The Redis checks of `vigil doctor` from what the probe found (pure). vigil keeps its
 * fence and outbox in Redis (docs/design.md §6): it must reach it with its own credentials,
 * run its scripts on its own keys, write to the master, and Redis should keep the data
 * across a restart (AOF) and never evict it.
 */
import { check, type Check } from './check';

export type RedisFailure = 'auth' | 'noperm' | 'tls' | 'readonly' | 'sentinel' | 'unreachable';

/** What kind of failure a Redis error message is: it decides the fix. */
export function redisFailure(message: string): RedisFailure {
  if (/WRONGPASS|NOAUTH|invalid username-password|invalid password|AUTH failed|without any password configured/i.test(message)) return 'auth';
  if (/NOPERM/.test(message)) return 'noperm';
  if (/READONLY/.test(message)) return 'readonly';
  if (/certificate|SSL|TLS|wrong version number/i.test(message)) return 'tls';
  if (/sentinel|master/i.test(message)) return 'sentinel';
  return 'unreachable';
}

const ACL_RULES = '~vigil:* &* +@all -@dangerous +info';

export function redisFix(kind: RedisFailure): string {
  switch (kind) {
    case 'auth':
      return 'check redis.username and redis.password (or the credentials in redis.url): they must name an ACL user that is on, with that password';
    case 'noperm':
      return `the ACL user needs its keys and its scripts' commands, e.g. ACL SETUSER vigil on >… ${ACL_RULES} (docs/configuration.md)`;
    case 'readonly':
      return 'redis.url names a replica: point it at the master, or use redis.sentinel so vigil follows failovers';
    case 'tls':
      return 'check redis.tls: ca must hold the CA that signed the server certificate (and cert/key when the server asks for a client certificate); a redis:// URL to a TLS port needs rediss:// or redis.tls';
    case 'sentinel':
      return 'check redis.sentinel: name must be the master name the sentinels monitor, and sentinelUsername / sentinelPassword / sentinelTls their own settings';
    case 'unreachable':
      return 'check that Redis runs and that redis.url (or redis.sentinel.sentinels) is right and reachable from this host';
    default: {
      const never: never = kind;
      return never;
    }
  }
}

export function redisFailedCheck(id: string, what: string, message: string): Check {
  return check(id, 'fail', `${what}: ${message}`, redisFix(redisFailure(message)));
}

/** One field of an INFO answer ("aof_enabled:1" lines); undefined when absent. */
export function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim();
}

/** `source` says how the setting was read: "CONFIG GET", or "INFO; CONFIG GET is denied by the ACL". */
export function persistenceCheck(appendonly: boolean | undefined, source: string): Check {
  if (appendonly === undefined) {
    return check('redis.persistence', 'warn', `could not tell whether AOF is on (${source}; INFO did not say either)`, 'check appendonly yourself (redis-cli CONFIG GET appendonly)');
  }
  if (appendonly) return check('redis.persistence', 'ok', `AOF is on (appendonly yes, from ${source})`);
  return check(
    'redis.persistence',
    'warn',
    `AOF is off (appendonly no, from ${source}): a Redis restart loses the fence and the outbox; vigil re-writes its state when it notices (docs/design.md §6.2), but a failover in between may repeat pages`,
    'set appendonly yes (CONFIG SET appendonly yes, and in redis.conf)',
  );
}

/** Eviction can drop the fence only when a memory limit is set with an evicting policy. */
export function evictionCheck(maxmemoryBytes: number | undefined, policy: string | undefined, source: string): Check {
  if (maxmemoryBytes === undefined || policy === undefined) {
    return check('redis.eviction', 'warn', `could not read maxmemory and maxmemory-policy (${source}; INFO did not say either)`, 'check them yourself: vigil needs maxmemory-policy noeviction (or no maxmemory)');
  }
  if (policy === 'noeviction' || maxmemoryBytes === 0) {
    return check('redis.eviction', 'ok', `Redis never evicts vigil's keys (maxmemory ${maxmemoryBytes === 0 ? 'unlimited' : `${maxmemoryBytes} bytes`}, policy ${policy}, from ${source})`);
  }
  return check(
    'redis.eviction',
    'warn',
    `maxmemory ${maxmemoryBytes} bytes with maxmemory-policy ${policy} (from ${source}): under memory pressure Redis may evict the fence or the outbox`,
    'set maxmemory-policy noeviction (docs/design.md §6.2)',
  );
}
