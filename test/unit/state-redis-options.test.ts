/**
 * The Redis adapter's connection settings, without a server (docs/design.md §6: a plain URL or
 * Sentinel; the reconcile loop must never block on Redis, so the client fails fast).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reconnectDelayMs, redisClientOptions } from '../../src/state/redis-connect';
import { stateKeys, parsePendingMember, pendingMember } from '../../src/state/keys';

describe('Redis client options', () => {
  it('fail fast: no offline queue, one retry across a reconnect, bounded commands, endless reconnects', () => {
    const { url, options } = redisClientOptions({ url: 'redis://10.0.0.5:6380/2' }, { commandTimeoutMs: 750 });
    assert.equal(url, 'redis://10.0.0.5:6380/2');
    assert.equal(options.enableOfflineQueue, false);
    assert.equal(options.maxRetriesPerRequest, 1);
    assert.equal(options.commandTimeout, 750);
    assert.equal(options.lazyConnect, true);
    assert.equal(typeof options.retryStrategy, 'function');
    // never null: giving up would need an operator to bring vigil back to Redis
    for (const attempt of [1, 5, 50, 5000]) assert.equal(typeof options.retryStrategy?.(attempt), 'number');
    assert.equal(options.sentinels, undefined);
  });

  it('reconnect delays double from the initial delay up to the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 100].map((a) => reconnectDelayMs(a, 50, 2000)), [50, 100, 200, 400, 800, 1600, 2000, 2000]);
  });

  it('Sentinel: the master group, the sentinels and both passwords are passed through', () => {
    const { url, options } = redisClientOptions({
      password: 'master-secret',
      sentinel: {
        name: 'vigil-master',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        sentinelPassword: 'sentinel-secret',
      },
    });
    assert.equal(url, undefined);
    assert.equal(options.name, 'vigil-master');
    assert.deepEqual(options.sentinels, [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
    ]);
    assert.equal(options.password, 'master-secret');
    assert.equal(options.sentinelPassword, 'sentinel-secret');
    assert.equal(typeof options.sentinelRetryStrategy, 'function');
    assert.equal(options.enableOfflineQueue, false);
  });

  // issue 8, defect 10: TLS beyond the system CAs, and ACL users, in both modes
  const tls = { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', rejectUnauthorized: true, servername: 'redis.internal' };

  it('URL: the CA, client certificate and key, and the ACL user reach the connection', () => {
    const { url, options } = redisClientOptions({ url: 'rediss://10.0.0.5:6380', username: 'vigil', password: 'acl-secret', tls });
    assert.equal(url, 'rediss://10.0.0.5:6380');
    assert.deepEqual(options.tls, { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', rejectUnauthorized: true, servername: 'redis.internal' });
    assert.equal(options.username, 'vigil');
    assert.equal(options.password, 'acl-secret');
  });

  it('URL: an upper-case REDISS:// scheme still gets TLS (ioredis alone would connect in plaintext)', () => {
    const { options } = redisClientOptions({ url: 'REDISS://10.0.0.5:6380', tls: { rejectUnauthorized: true } });
    assert.deepEqual(options.tls, { rejectUnauthorized: true });
  });

  it('URL: no TLS options without redis.tls', () => {
    assert.equal(redisClientOptions({ url: 'redis://10.0.0.5:6379' }).options.tls, undefined);
  });

  it('Sentinel: TLS and ACL users for the sentinels and, separately, for the master they name', () => {
    const { options } = redisClientOptions({
      username: 'vigil',
      password: 'master-secret',
      tls,
      sentinel: {
        name: 'vigil-master',
        sentinels: [{ host: 's1', port: 26379 }],
        sentinelUsername: 'watcher',
        sentinelPassword: 'sentinel-secret',
        sentinelTls: { ca: 'SENTINEL CA', rejectUnauthorized: false },
      },
    });
    assert.equal(options.username, 'vigil');
    assert.equal(options.password, 'master-secret');
    assert.equal(options.enableTLSForSentinelMode, true, 'ioredis ignores tls for the master without it');
    assert.equal((options.tls as { cert?: string }).cert, 'CERT PEM');
    assert.equal(options.sentinelUsername, 'watcher');
    assert.equal(options.sentinelPassword, 'sentinel-secret');
    assert.deepEqual(options.sentinelTLS, { ca: 'SENTINEL CA', rejectUnauthorized: false });
    assert.equal(options.failoverDetector, true, 'leave a demoted master at +switch-master, before writes there are lost');
    assert.equal(options.sentinelCommandTimeout, options.commandTimeout);
  });

  it('Sentinel without TLS: plaintext to sentinels and master', () => {
    const { options } = redisClientOptions({ sentinel: { name: 'm', sentinels: [{ host: 's1', port: 26379 }] } });
    assert.equal(options.enableTLSForSentinelMode, false);
    assert.equal(options.tls, undefined);
    assert.equal(options.sentinelTLS, undefined);
  });

  it('a config with neither url nor sentinel is refused with the key to fix', () => {
    assert.throws(() => redisClientOptions({}), (err: unknown) => (err as { code?: string }).code === 'CONFIG_INVALID');
  });
});

describe('Redis key layout', () => {
  it('puts every key of a cluster in one Redis Cluster slot via the {cluster} hash tag', () => {
    const k = stateKeys('prod-eu');
    const all = [k.fence, k.epoch, k.alerts, k.alertVersions, k.outboxIndex, k.outboxPending, k.outboxEntry('a/b@c#firing'), k.journalIndex, k.journal('plan-1'), k.events, k.warm];
    for (const key of all) assert.ok(key.startsWith('vigil:{prod-eu}:'), key);
    assert.equal(new Set(all).size, all.length, 'no two uses share a key');
  });

  it('pending members split at the first space: notification ids may contain spaces, channel names may not', () => {
    const id = 'local/ConsumerDeliveryLag/my group/orders@2026-11-26T10:00:00.000Z#firing';
    assert.deepEqual(parsePendingMember(pendingMember('webhook-0', id)), { channel: 'webhook-0', notificationId: id });
  });
});
