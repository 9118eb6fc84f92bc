/**
 * `vigil doctor`'s Redis probe (an adapter): connects exactly as the replica's store does
 * (src/state/redis-connect.ts: URL or Sentinel, ACL user, TLS), but tries once instead of
 * reconnecting forever. Then: a script on vigil's own keys that writes one short-lived key
 * (`vigil:{<cluster>}:doctor:<node id>`, gone after 10 s) — the commands, key patterns
 * and master role the fenced scripts need; AOF and eviction settings; TIME for the clock;
 * and each sentinel's answer for the master name.
 */
import Redis, { type RedisOptions } from 'ioredis';
import type { VigilConfig } from '../config/types';
import { describeError } from '../errors';
import { redisClientOptions, tlsOptions } from '../state/redis-connect';
import { stateKeys } from '../state/keys';
import { check, type Check, listNames } from './check';
import { clockCheck } from './clock';
import { evictionCheck, infoField, persistenceCheck, redisFailedCheck } from './redis-checks';

const COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 3000;

/** Tries once, never queues: a doctor reports a Redis that is not there, it does not wait for it. */
const ONE_TRY: RedisOptions = {
  retryStrategy: () => null,
  sentinelRetryStrategy: () => null,
  reconnectOnError: () => false,
  failoverDetector: false,
};

/**
 * Writes one key that expires and reads the fence: fails with NOPERM when the ACL user
 * lacks scripting, the commands or vigil's key pattern, READONLY on a replica.
 */
const PROBE_SCRIPT = "redis.call('SET', KEYS[1], ARGV[1], 'PX', 10000); return redis.call('EXISTS', KEYS[2])";

export async function probeRedis(config: VigilConfig, wallMs: () => number = Date.now): Promise<Check[]> {
  const out: Check[] = [];
  if (config.redis.sentinel) out.push(await probeSentinels(config));
  const { url, options } = redisClientOptions(config.redis, { commandTimeoutMs: COMMAND_TIMEOUT_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const client = url !== undefined ? new Redis(url, { ...options, ...ONE_TRY }) : new Redis({ ...options, ...ONE_TRY });
  let lastError: Error | undefined;
  client.on('error', (err: Error) => {
    lastError = err;
  });
  const where = describeRedis(config);
  try {
    try {
      await client.connect();
      await client.ping();
    } catch (err) {
      out.push(redisFailedCheck('redis.connect', `${where} did not accept the connection`, describeError(lastError ?? err)));
      return out;
    }
    const server = `${client.stream?.remoteAddress ?? '?'}:${client.stream?.remotePort ?? '?'}`;
    out.push(check('redis.connect', 'ok', `${where} answered PING${config.redis.sentinel ? `; the sentinels' master is ${server}` : ''}`));

    const keys = stateKeys(config.cluster);
    try {
      await client.eval(PROBE_SCRIPT, 2, `${keys.prefix}doctor:${config.node.id}`, keys.fence, String(wallMs()));
      out.push(check('redis.access', 'ok', `a script wrote and read vigil's keys (${keys.prefix}*) on the master`));
    } catch (err) {
      out.push(redisFailedCheck('redis.access', `a script on vigil's keys (${keys.prefix}*) was refused`, describeError(err)));
    }

    out.push(...(await settingsChecks(client)));

    try {
      const sentMs = wallMs();
      const [seconds, micros] = await client.time();
      const receivedMs = wallMs();
      const remoteMs = Number(seconds) * 1000 + Number(micros) / 1000;
      out.push(clockCheck('clock.redis', "Redis's", { sentMs, receivedMs, remoteMs, resolutionMs: 0 }, config.election.maxClockSkewMs, false));
    } catch (err) {
      out.push(check('clock.redis', 'warn', `TIME was refused: ${describeError(err)}`, 'nothing vigil needs: only this check uses TIME'));
    }
  } finally {
    client.disconnect();
  }
  return out;
}

/** appendonly and the eviction settings: CONFIG GET, or INFO when CONFIG is denied or renamed. */
async function settingsChecks(client: Redis): Promise<Check[]> {
  let source: string;
  try {
    const aof = (await client.call('CONFIG', 'GET', 'appendonly')) as string[];
    const mem = (await client.call('CONFIG', 'GET', 'maxmemory')) as string[];
    const policy = (await client.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    source = 'CONFIG GET';
    return [persistenceCheck(aof[1] === undefined ? undefined : aof[1] === 'yes', source), evictionCheck(numberOrUndefined(mem[1]), policy[1], source)];
  } catch (err) {
    const why = describeError(err);
    source = /NOPERM/.test(why) ? 'INFO; CONFIG GET is denied by the ACL' : `INFO; CONFIG GET failed: ${why}`;
  }
  const info = await client.info().catch(() => '');
  const aof = infoField(info, 'aof_enabled');
  return [
    persistenceCheck(aof === undefined ? undefined : aof === '1', source),
    evictionCheck(numberOrUndefined(infoField(info, 'maxmemory')), infoField(info, 'maxmemory_policy'), source),
  ];
}

function numberOrUndefined(text: string | undefined): number | undefined {
  const n = Number(text);
  return text === undefined || text === '' || !Number.isFinite(n) ? undefined : n;
}

function describeRedis(config: VigilConfig): string {
  const r = config.redis;
  const security = [r.tls ? 'TLS' : 'plaintext', ...(r.username !== undefined ? [`user ${r.username}`] : [])].join(', ');
  if (r.sentinel) return `Redis master "${r.sentinel.name}" through Sentinel (${security})`;
  try {
    const u = new URL(r.url ?? '');
    return `Redis at ${u.host} (${security}${u.username !== '' ? `, user ${decodeURIComponent(u.username)}` : ''})`;
  } catch {
    return `Redis (${security})`;
  }
}

/** Every sentinel asked for the master's address: ok when all name the same one. */
async function probeSentinels(config: VigilConfig): Promise<Check> {
  const s = config.redis.sentinel;
  if (!s) throw new Error('probeSentinels without redis.sentinel');
  const answers = await Promise.all(
    s.sentinels.map(async ({ host, port }) => {
      const at = `${host}:${port}`;
      const client = new Redis({
        host,
        port,
        lazyConnect: true,
        enableReadyCheck: false,
        enableOfflineQueue: false,
        commandTimeout: COMMAND_TIMEOUT_MS,
        connectTimeout: CONNECT_TIMEOUT_MS,
        maxRetriesPerRequest: 0,
        ...ONE_TRY,
        ...(s.sentinelUsername !== undefined ? { username: s.sentinelUsername } : {}),
        ...(s.sentinelPassword !== undefined ? { password: s.sentinelPassword } : {}),
        ...(s.sentinelTls !== undefined ? { tls: tlsOptions(s.sentinelTls) } : {}),
      });
      let lastError: Error | undefined;
      client.on('error', (err: Error) => {
        lastError = err;
      });
      try {
        await client.connect();
        const addr = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', s.name)) as [string, string] | null;
        return addr === null ? { at, error: `does not know master "${s.name}"` } : { at, master: `${addr[0]}:${addr[1]}` };
      } catch (err) {
        return { at, error: describeError(lastError ?? err) };
      } finally {
        client.disconnect();
      }
    }),
  );
  const good = answers.filter((a) => a.master !== undefined);
  const bad = answers.filter((a) => a.error !== undefined).map((a) => `${a.at}: ${a.error}`);
  const masters = [...new Set(good.map((a) => a.master))];
  if (good.length === 0) return redisFailedCheck('redis.sentinel', `no sentinel named master "${s.name}"`, bad.join('; '));
  if (masters.length > 1) {
    return check('redis.sentinel', 'warn', `the sentinels disagree on master "${s.name}": ${good.map((a) => `${a.at} says ${a.master}`).join(', ')}`, 'a failover may be under way; run vigil doctor again, and check the sentinels\' quorum');
  }
  if (bad.length > 0) {
    return check('redis.sentinel', 'warn', `${good.length} of ${answers.length} sentinels name master "${s.name}" at ${masters[0]}; ${bad.join('; ')}`, 'vigil needs only one sentinel to answer, but check the others (redis.sentinel.sentinels)');
  }
  return check('redis.sentinel', 'ok', `all ${answers.length} sentinels (${listNames(answers.map((a) => a.at))}) name master "${s.name}" at ${masters[0]}`);
}
