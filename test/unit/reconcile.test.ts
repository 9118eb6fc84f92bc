/**
 * The reconcile loop on fakes (MemoryKafka, the in-memory state store, a recording
 * deliver): one page per incident, also across a leader change (DESIGN §4 "exactly-once
 * intent across failover"), and a follower never pages.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Outbox } from '../../src/alerting/outbox';
import type { Notification } from '../../src/alerting/types';
import type { VigilConfig } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { KafkaObserver } from '../../src/monitor/observe';
import { type Leadership, Reconciler } from '../../src/monitor/reconcile';
import { systemClock } from '../../src/util/clock';
import { MemoryKafka } from '../fakes/memory-kafka';
import { MemoryStateBackend } from '../fakes/memory-state';
import { waitFor } from '../harness/wait';

const lag: VigilConfig['lag'] = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 0, severity: 'warning', overrides: [] };

class FakeLeadership implements Leadership {
  constructor(public leader = false, public currentTerm = 0) {}
  isLeader(): boolean {
    return this.leader;
  }
  term(): number {
    return this.currentTerm;
  }
}

const running: Reconciler[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

function replica(id: string, kafka: MemoryKafka, backend: MemoryStateBackend, leadership: FakeLeadership, pages: { node: string; n: Notification; channel: string }[]) {
  const store = backend.connect('test');
  const metrics = createMetrics({ nodeId: id, cluster: 'test' });
  const mayAct = () => leadership.isLeader();
  const outbox = new Outbox({
    store,
    nodeId: id,
    channels: ['hook'],
    mayAct,
    clock: systemClock,
    deliver: async (n, channel) => {
      pages.push({ node: id, n, channel });
      return 'delivered';
    },
  });
  const observer = new KafkaObserver(kafka, { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 200 }, systemClock);
  const r = new Reconciler({
    config: { cluster: 'test', node: { id }, lag, alerting: { channels: [], runbookUrl: '' }, monitor: { pollIntervalMs: 20, incidentPollIntervalMs: 20, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] } } },
    observer,
    store,
    outbox,
    leadership,
    metrics,
    logger: silentLogger,
    clock: systemClock,
  });
  running.push(r);
  return { r, metrics, store };
}

function laggingCluster(): MemoryKafka {
  const k = new MemoryKafka();
  k.createTopic('orders', 1);
  const now = Date.now();
  k.produce('orders', 0, Array.from({ length: 30 }, (_, i) => now - 30_000 + i * 1000));
  return k;
}

describe('reconcile loop', () => {
  it('pages once when a group falls behind, and once when it catches up', async () => {
    const kafka = laggingCluster();
    kafka.commit('svc', 'orders', 0, 30);
    const backend = new MemoryStateBackend();
    const pages: { node: string; n: Notification; channel: string }[] = [];
    const { r } = replica('a', kafka, backend, new FakeLeadership(true, 1), pages);
    r.start();
    await waitFor(() => r.status().cycles >= 3, { timeoutMs: 5000, what: 'three cycles' });
    assert.equal(pages.length, 0, 'caught up: no page');

    kafka.commit('svc', 'orders', 0, 5); // the record at 5 is 25 s old
    await waitFor(() => pages.length >= 1, { timeoutMs: 5000, what: 'a firing page' });
    const cycles = r.status().cycles;
    await waitFor(() => r.status().cycles >= cycles + 5, { timeoutMs: 5000, what: 'five more cycles' });
    assert.deepEqual(pages.map((p) => [p.n.alert.alert, p.n.alert.status, p.n.alert.cause]), [['ConsumerDeliveryLag', 'firing', 'consumer']]);

    kafka.commit('svc', 'orders', 0, 30);
    await waitFor(() => pages.length >= 2, { timeoutMs: 5000, what: 'a resolved page' });
    assert.equal(pages[1]!.n.alert.status, 'resolved');
    assert.equal(pages[1]!.n.alert.key, pages[0]!.n.alert.key);
    assert.equal(r.lagReport()?.groups[0]?.group, 'svc');
  });

  it('a follower observes but never pages', async () => {
    const kafka = laggingCluster();
    kafka.commit('svc', 'orders', 0, 5);
    const pages: { node: string; n: Notification; channel: string }[] = [];
    const { r } = replica('f', kafka, new MemoryStateBackend(), new FakeLeadership(false, 3), pages);
    r.start();
    await waitFor(async () => {
      await kafka.metadata();
      return (r as unknown as { opts: { observer: KafkaObserver } }).opts.observer.history.size > 0;
    }, { timeoutMs: 5000, what: 'the warm history' });
    assert.equal(pages.length, 0);
    assert.equal(r.status().leading, false);
  });

  it('a new leader continues the incident: no second firing page, and it sends the resolve', async () => {
    const kafka = laggingCluster();
    kafka.commit('svc', 'orders', 0, 5);
    const backend = new MemoryStateBackend();
    const pages: { node: string; n: Notification; channel: string }[] = [];
    const la = new FakeLeadership(true, 1);
    const lb = new FakeLeadership(false, 1);
    const a = replica('a', kafka, backend, la, pages);
    const b = replica('b', kafka, backend, lb, pages);
    a.r.start();
    b.r.start();
    await waitFor(() => pages.length >= 1, { timeoutMs: 5000, what: 'the firing page from a' });

    // a loses its lease; b wins term 2
    la.leader = false;
    lb.leader = true;
    lb.currentTerm = 2;
    b.r.leadershipChanged();
    await waitFor(() => b.r.status().leading && b.r.status().cycles >= 5, { timeoutMs: 5000, what: 'b leading for five cycles' });
    assert.equal(pages.length, 1, `no second page: ${JSON.stringify(pages.map((p) => [p.node, p.n.id]))}`);

    kafka.commit('svc', 'orders', 0, 30);
    await waitFor(() => pages.length >= 2, { timeoutMs: 5000, what: 'the resolve from b' });
    assert.deepEqual(pages.map((p) => [p.node, p.n.alert.status]), [['a', 'firing'], ['b', 'resolved']]);
  });
});
