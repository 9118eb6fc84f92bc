/**
 * The Redis StateStore and the outbox on a real redis-server (docs/design.md §4 "exactly-once
 * intent across failover", §6): the StateStore contract, a deposed leader fenced, and
 * Redis stopped during an incident with pages still delivered and nothing paged twice
 * after it returns (issue 4).
 */
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { after, before, describe, it } from 'node:test';
import type { DeliveryOutcomeKind as DeliveryOutcome } from '../../src/alerting/notifier';
import { Outbox } from '../../src/alerting/outbox';
import type { Notification } from '../../src/alerting/types';
import { createMetrics } from '../../src/metrics';
import { RedisStateStore } from '../../src/state/redis-store';
import type { StateStore } from '../../src/state/types';
import { systemClock } from '../../src/util/clock';
import { sampleNotification, stateStoreContract } from '../contract/state-store.contract';
import { withLogsOnFailure } from '../harness/failure';
import { startRedis, type RedisServer } from '../harness/redis';
import { waitFor } from '../harness/wait';

/** Generous: a loaded 2-core machine runs Kafka clusters beside this test. */
const COMMAND_TIMEOUT_MS = 3000;

function openStore(redis: RedisServer, cluster: string, extra: { eventsMaxLen?: number; failoversMaxLen?: number; metrics?: ReturnType<typeof createMetrics> } = {}): RedisStateStore {
  return new RedisStateStore({
    cluster,
    redis: { url: redis.url },
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    reconnectMaxDelayMs: 200,
    probeIntervalMs: 200,
    ...extra,
  });
}

async function up(store: StateStore): Promise<void> {
  await waitFor(() => store.isUp(), { timeoutMs: 20_000, what: `store ${store.cluster} to connect to Redis` });
}

stateStoreContract('Redis (real redis-server)', async () => {
  const redis = await startRedis();
  const stores: RedisStateStore[] = [];
  return {
    async open(cluster, opts) {
      const store = openStore(redis, cluster, opts);
      stores.push(store);
      await up(store);
      return store;
    },
    stop: () => redis.stop(),
    start: () => redis.start(),
    async wipe() {
      const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await admin.connect();
        await admin.flushall();
      } finally {
        admin.disconnect();
      }
    },
    async teardown() {
      await Promise.all(stores.map((s) => s.close()));
      await redis.shutdown();
    },
  };
});

interface Send {
  readonly id: string;
  readonly channel: string;
  readonly by: string;
}

interface Node {
  readonly nodeId: string;
  readonly store: RedisStateStore;
  readonly outbox: Outbox;
  readonly metrics: ReturnType<typeof createMetrics>;
  leaseValid: boolean;
  /** answers of mayAct() consumed first, then `leaseValid` */
  readonly mayActAnswers: boolean[];
  readonly outcomes: Array<() => Promise<DeliveryOutcome>>;
}

const CHANNELS = ['webhook-0', 'pagerduty-1'];

async function node(redis: RedisServer, cluster: string, nodeId: string, sends: Send[]): Promise<Node> {
  const metrics = createMetrics({ nodeId, cluster });
  const store = openStore(redis, cluster, { metrics });
  await up(store);
  const n: Node = { nodeId, store, metrics, leaseValid: true, mayActAnswers: [], outcomes: [], outbox: undefined as unknown as Outbox };
  (n as { outbox: Outbox }).outbox = new Outbox({
    store,
    nodeId,
    channels: CHANNELS,
    clock: systemClock,
    metrics,
    mayAct: () => (n.mayActAnswers.length > 0 ? (n.mayActAnswers.shift() as boolean) : n.leaseValid),
    deliver: async (notification, channel) => {
      sends.push({ id: notification.id, channel, by: nodeId });
      const next = n.outcomes.shift();
      return next ? next() : 'delivered';
    },
  });
  return n;
}

async function gauge(m: ReturnType<typeof createMetrics>['redisUp'] | ReturnType<typeof createMetrics>['fencedWritesRejected']): Promise<number> {
  return (await m.get()).values[0]?.value ?? 0;
}

function outcomes(items: ReadonlyArray<{ channel: string; outcome: string; local: boolean }>): string[] {
  return items.map((i) => `${i.channel} ${i.outcome}${i.local ? ' (local)' : ''}`).sort();
}

function countBy(sends: Send[], id: string): number {
  return sends.filter((s) => s.id === id).length;
}

describe('Outbox on real Redis: exactly-once intent across failover, Redis down (docs/design.md §4, §6; issue 4)', () => {
  let redis: RedisServer;
  const nodes: Node[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  let seq = 0;
  const cluster = (label: string): string => `outbox-${label}-${++seq}`;

  before(async () => {
    // Persistence as deployed: a Redis that is stopped and started keeps its data.
    redis = await startRedis({ persistence: 'aof' });
    process.on('unhandledRejection', onUnhandled);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const n of nodes) n.outbox.close();
    await Promise.all(nodes.map((n) => n.store.close()));
    await redis?.shutdown();
  });

  const start = async (c: string, nodeId: string, sends: Send[]): Promise<Node> => {
    const n = await node(redis, c, nodeId, sends);
    nodes.push(n);
    return n;
  };

  it('leader A claims and loses its lease before sending; leader B (higher term) delivers it exactly once; A is fenced afterwards', () =>
    withLogsOnFailure(redis, async () => {
      const c = cluster('failover');
      const sends: Send[] = [];
      const a = await start(c, 'vigil-1', sends);
      const b = await start(c, 'vigil-2', sends);
      const firing = sampleNotification('local/ConsumerDeliveryLag/orders-svc/orders');
      assert.equal((await a.store.raiseFence(1)).status, 'ok');
      // Both channels pass the check before their claim; by the check before sending, the
      // lease is gone.
      a.mayActAnswers.push(true, true);
      a.leaseValid = false;
      await a.outbox.submit(1, [firing]);
      assert.equal(sends.length, 0);

      assert.equal((await b.store.raiseFence(2)).status, 'ok');
      const pending = await b.outbox.pending();
      assert.deepEqual(pending.map((p) => `${p.channel} ${p.holder?.owner}@${p.holder?.term}`).sort(), ['pagerduty-1 vigil-1@1', 'webhook-0 vigil-1@1']);
      assert.deepEqual(outcomes((await b.outbox.drain(2)).items), ['pagerduty-1 delivered', 'webhook-0 delivered']);
      assert.deepEqual(outcomes((await b.outbox.submit(2, [firing])).items), []);

      // the deposed leader comes back still believing in term 1: every write is fenced
      a.leaseValid = true;
      const late = await a.outbox.drain(1);
      assert.equal(late.stopped, 'fenced');
      assert.ok((await gauge(a.metrics.fencedWritesRejected)) >= 1);
      assert.deepEqual((await a.store.writeAlertState({ term: 1, key: 'core', data: { stale: true }, nowMs: Date.now() })).status, 'fenced');
      assert.equal(countBy(sends, firing.id), 2, 'one send per channel, all by B');
      assert.ok(sends.every((s) => s.by === 'vigil-2'));
      assert.deepEqual(unhandled, []);
    }));

  it('Redis stopped during an incident: pages still delivered with local dedup, no crash, state consistent after it returns, no duplicate after a failover', () =>
    withLogsOnFailure(redis, async () => {
      const c = cluster('redis-down');
      const sends: Send[] = [];
      const a = await start(c, 'vigil-1', sends);
      const firing = sampleNotification('local/ConsumerDeliveryLag/orders-svc/orders');
      const resolved = sampleNotification('local/ConsumerDeliveryLag/orders-svc/orders', 'resolved');
      const broker = sampleNotification('local/BrokerUnreachable/2');
      assert.equal((await a.store.raiseFence(3)).status, 'ok');
      assert.deepEqual(outcomes((await a.outbox.submit(3, [firing])).items), ['pagerduty-1 delivered', 'webhook-0 delivered']);
      assert.equal(await gauge(a.metrics.redisUp), 1);

      await redis.stop();
      await waitFor(() => !a.store.isUp(), { timeoutMs: 20_000, what: 'the store to notice Redis is gone' });
      assert.equal(await gauge(a.metrics.redisUp), 0);
      assert.equal(a.outbox.isDegraded(), true);

      // the incident goes on: a broker page and the lag resolving are still delivered
      const during = await a.outbox.submit(3, [broker]);
      assert.deepEqual(outcomes(during.items), ['pagerduty-1 delivered (local)', 'webhook-0 delivered (local)']);
      assert.equal(during.degraded, true);
      assert.deepEqual(outcomes((await a.outbox.submit(3, [resolved])).items), ['pagerduty-1 delivered (local)', 'webhook-0 delivered (local)']);
      // local dedup: the same transitions again, and a drain, send nothing
      assert.deepEqual((await a.outbox.submit(3, [firing, broker, resolved])).items, []);
      assert.deepEqual((await a.outbox.drain(3)).items, []);
      assert.equal(sends.length, 6);
      assert.deepEqual(a.outbox.status(), { degraded: true, redisUp: false, unsynced: 4, queued: 0, failed: 0, oldestQueuedSeconds: 0, failingChannels: [] });

      await redis.start();
      await waitFor(() => a.store.isUp() && !a.outbox.isDegraded(), { timeoutMs: 30_000, what: 'the store back up and the local ledger written to Redis' });
      assert.equal(await gauge(a.metrics.redisUp), 1);
      for (const n of [firing, broker, resolved]) {
        const entry = await a.store.readOutboxEntry(n.id);
        for (const ch of CHANNELS) assert.equal(entry?.channels[ch]?.state, 'delivered', `${n.id} on ${ch}`);
      }
      assert.deepEqual(await a.store.pendingNotifications(), []);

      // a failover after Redis returned: the new leader pages nothing again
      const b = await start(c, 'vigil-2', sends);
      assert.equal((await b.store.raiseFence(4)).status, 'ok');
      assert.deepEqual(await b.outbox.pending(), []);
      const after = await b.outbox.submit(4, [firing, broker, resolved]);
      assert.ok(after.items.every((i) => i.outcome === 'already-done'), JSON.stringify(after.items));
      assert.equal(sends.length, 6);
      assert.deepEqual(unhandled, []);
    }));

  it('a hung Redis (SIGSTOP) does not stop paging: the send goes out locally and is written once Redis answers again', () =>
    withLogsOnFailure(redis, async () => {
      const c = cluster('hung');
      const sends: Send[] = [];
      const a = await start(c, 'vigil-1', sends);
      const n = sampleNotification('local/PartitionOffline/orders');
      assert.equal((await a.store.raiseFence(1)).status, 'ok');
      redis.pause();
      try {
        const report = await a.outbox.submit(1, [n]);
        assert.deepEqual(outcomes(report.items), ['pagerduty-1 delivered (local)', 'webhook-0 delivered (local)']);
        assert.equal(a.store.isUp(), false);
      } finally {
        redis.resume();
      }
      await waitFor(() => a.store.isUp() && !a.outbox.isDegraded(), { timeoutMs: 30_000, what: 'Redis answering again and the deliveries written' });
      const entry = await a.store.readOutboxEntry(n.id);
      for (const ch of CHANNELS) assert.equal(entry?.channels[ch]?.state, 'delivered');
      assert.equal(sends.length, 2);
      assert.deepEqual(unhandled, []);
    }));
});

describe('Outbox on a Redis restarted without persistence (docs/design.md §6)', () => {
  it('the deliveries are written again and the fence restored, so a later leader neither pages twice nor lets the old term in', async () => {
    const redis = await startRedis();
    const sends: Send[] = [];
    const nodes: Node[] = [];
    try {
      await withLogsOnFailure(redis, async () => {
        const a = await node(redis, 'wiped', 'vigil-1', sends);
        nodes.push(a);
        const n: Notification = sampleNotification('local/ConsumerStalled/orders-svc/orders');
        assert.equal((await a.store.raiseFence(5)).status, 'ok');
        await a.outbox.submit(5, [n]);
        assert.equal(sends.length, 2);
        await redis.restart();
        await waitFor(
          async () => {
            if (!a.store.isUp()) return false;
            const entry = await a.store.readOutboxEntry(n.id);
            return CHANNELS.every((ch) => entry?.channels[ch]?.state === 'delivered');
          },
          { timeoutMs: 30_000, what: 'the restarted Redis to hold the deliveries again' },
        );
        const b = await node(redis, 'wiped', 'vigil-2', sends);
        nodes.push(b);
        assert.deepEqual(await b.store.raiseFence(4), { status: 'fenced', fenceTerm: 5 });
        assert.equal((await b.store.raiseFence(6)).status, 'ok');
        const report = await b.outbox.submit(6, [n]);
        assert.ok(report.items.every((i) => i.outcome === 'already-done'), JSON.stringify(report.items));
        assert.equal(sends.length, 2);
      });
    } finally {
      for (const x of nodes) x.outbox.close();
      await Promise.all(nodes.map((x) => x.store.close()));
      await redis.shutdown();
    }
  });
});

describe('Redis StateStore start-up', () => {
  it('a replica started while Redis is down does not wait for it, and reports up once Redis starts (docs/design.md §4: keep paging)', async () => {
    const redis = await startRedis();
    const metrics = createMetrics({ nodeId: 'vigil-1', cluster: 'late' });
    let store: RedisStateStore | undefined;
    try {
      await withLogsOnFailure(redis, async () => {
        await redis.stop();
        store = openStore(redis, 'late', { metrics });
        const s = store;
        const changes: boolean[] = [];
        s.onStatus((st) => changes.push(st.up));
        assert.equal(s.isUp(), false);
        assert.equal(await gauge(metrics.redisUp), 0);
        await assert.rejects(() => s.raiseFence(1), (err: unknown) => (err as { code?: string }).code === 'REDIS_UNAVAILABLE');
        await redis.start();
        await up(s);
        assert.deepEqual(changes, [true]);
        assert.equal(await gauge(metrics.redisUp), 1);
        // the term presented while Redis was down is the fence it finds
        assert.equal(await s.fenceTerm(), 1);
      });
    } finally {
      await store?.close();
      await redis.shutdown();
    }
  });
});
