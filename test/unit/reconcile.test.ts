/**
 * The reconcile loop on fakes (MemoryKafka, the in-memory state store, a recording
 * deliver): one page per incident, also across a leader change (docs/design.md §4 "exactly-once
 * intent across failover"), a follower never pages, the state survives Redis losing its
 * data (issue 8, defect 3), and a write refused by the fence ends the leader's acting
 * (issue 8, defect 7).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Outbox } from '../../src/alerting/outbox';
import type { AlertmanagerRefresher } from '../../src/alerting/channels/alertmanager-refresh';
import type { Notification } from '../../src/alerting/types';
import type { VigilConfig } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import type { BreachConfirmer } from '../../src/monitor/breach-schedule';
import type { FailoverEntry } from '../../src/monitor/failovers';
import { KafkaObserver } from '../../src/monitor/observe';
import { type Leadership, Reconciler } from '../../src/reconcile/loop';
import type { Actor } from '../../src/reconcile/actor';
import { PagingActor } from '../../src/reconcile/paging';
import { systemClock } from '../../src/util/clock';
import { ManualTime, settle } from '../fakes/manual-time';
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

function replica(
  id: string,
  kafka: MemoryKafka,
  backend: MemoryStateBackend,
  leadership: FakeLeadership,
  pages: { node: string; n: Notification; channel: string }[],
  extra: { refresher?: AlertmanagerRefresher; time?: ManualTime; breaches?: BreachConfirmer; pollIntervalMs?: number; failovers?: () => readonly FailoverEntry[]; actors?: Actor[] } = {},
) {
  const pollIntervalMs = extra.pollIntervalMs ?? 20;
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
  const aheadMs = 3 * pollIntervalMs;
  const observer = new KafkaObserver(
    kafka,
    { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 200, ...(extra.breaches ? { scheduleAheadMs: aheadMs } : {}) },
    systemClock,
  );
  const r = new Reconciler({
    config: { cluster: 'test', node: { id }, lag, alerting: { channels: [], runbookUrl: '' }, monitor: { pollIntervalMs, incidentPollIntervalMs: pollIntervalMs, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, offsetsSource: extra.breaches ? 'stream' : 'poll' } },
    observer,
    store,
    actors: [new PagingActor({ outbox, nodeId: id, logger: silentLogger, ...(extra.refresher ? { refresher: extra.refresher } : {}) }), ...(extra.actors ?? [])],
    leadership,
    metrics,
    logger: silentLogger,
    clock: extra.time ?? systemClock,
    ...(extra.time ? { timers: extra.time } : {}),
    ...(extra.breaches ? { breaches: { confirmer: extra.breaches, aheadMs } } : {}),
    ...(extra.failovers ? { failovers: extra.failovers } : {}),
  });
  running.push(r);
  return { r, metrics, store, outbox, observer };
}

async function counter(c: ReturnType<typeof createMetrics>['fencedWritesRejected']): Promise<number> {
  return (await c.get()).values[0]?.value ?? 0;
}

type Pages = { node: string; n: Notification; channel: string }[];

/** What a webhook receiver would see of one alert key: status and incident identity. */
function incidentPages(pages: Pages): Array<[string, string, string, string]> {
  return pages.map((p) => [p.node, p.n.alert.status, p.n.alert.startsAt, p.n.id]);
}

function laggingCluster(): MemoryKafka {
  const k = new MemoryKafka();
  k.createTopic('orders', 1);
  const now = Date.now();
  k.produce('orders', 0, Array.from({ length: 30 }, (_, i) => now - 30_000 + i * 1000));
  return k;
}

/** Leader a (term 1) and follower b; a group falls behind and a has sent the firing page. */
async function twoReplicasOneIncident() {
  const kafka = laggingCluster();
  kafka.commit('svc', 'orders', 0, 5);
  const backend = new MemoryStateBackend();
  const pages: Pages = [];
  const la = new FakeLeadership(true, 1);
  const lb = new FakeLeadership(false, 1);
  const a = replica('a', kafka, backend, la, pages);
  const b = replica('b', kafka, backend, lb, pages);
  a.r.start();
  b.r.start();
  await waitFor(() => pages.length >= 1, { timeoutMs: 5000, what: 'the firing page from a' });
  return { kafka, backend, pages, la, lb, a, b };
}

/**
 * A group at c = 3 on a one-partition topic whose record at c was written 9.7 s before `t0`:
 * it breaches 10 s 300 ms after t0. The replica polls once a minute, so a page before its
 * second cycle can only come from the breach schedule, confirmed by `confirmer`.
 */
function aboutToBreach(confirmer: BreachConfirmer) {
  const k = new MemoryKafka();
  k.createTopic('orders', 1);
  const t0 = Date.now();
  k.produce('orders', 0, [t0 - 20_000, t0 - 15_000, t0 - 12_000, t0 - 9_700, t0 - 5_000]);
  k.commit('svc', 'orders', 0, 3);
  const pages: Pages = [];
  const { r, metrics } = replica('a', k, new MemoryStateBackend(), new FakeLeadership(true, 1), pages, { breaches: confirmer, pollIntervalMs: 60_000 });
  r.start();
  return { r, metrics, pages, breachAtMs: t0 + 300 };
}

describe('reconcile loop', () => {
  it('pages a scheduled breach at its instant, between cycles, when the commit stream confirms it (docs/design.md §3.7)', async () => {
    let freshens = 0;
    const { r, metrics, pages, breachAtMs } = aboutToBreach({ committed: () => new Map([['orders', new Map([[0, 3]])]]), freshen: async () => (freshens++, true) });
    await waitFor(() => r.status().cycles === 1, { timeoutMs: 5000, what: 'the first cycle' });
    assert.equal(pages.length, 0, 'not in breach at the first cycle');
    assert.equal((await metrics.breachScheduleArmed.get()).values[0]?.value, 1, 'the row is armed');
    await waitFor(() => pages.length === 1, { timeoutMs: 5000, what: 'the page at the breach instant' });
    const sent = Date.now();
    assert.ok(sent > breachAtMs, 'not before the instant');
    assert.equal(r.status().cycles, 1, 'no second cycle ran: the schedule paged');
    assert.equal(pages[0]!.n.alert.status, 'firing');
    assert.equal(freshens, 1);
    assert.deepEqual((await metrics.breachSchedule.get()).values.map((v) => [v.labels['outcome'], v.value]), [['confirmed', 1]]);
  });

  it('a group that commits before its scheduled instant is not paged', async () => {
    let position = 3;
    const { r, metrics, pages } = aboutToBreach({ committed: () => new Map([['orders', new Map([[0, position]])]]), freshen: async () => true });
    await waitFor(() => r.status().cycles === 1, { timeoutMs: 5000, what: 'the first cycle' });
    position = 4; // the commit arrives (the stream sees it) before the instant
    await waitFor(async () => (await metrics.breachSchedule.get()).values.some((v) => v.labels['outcome'] === 'committed'), { timeoutMs: 5000, what: 'the armed breach to be cancelled by the commit' });
    assert.equal(pages.length, 0);
  });

  it('runs its cycles on the injected timers: the first when they fire, then one per poll interval', async () => {
    const kafka = laggingCluster();
    kafka.commit('svc', 'orders', 0, 30);
    const time = new ManualTime();
    const { r } = replica('a', kafka, new MemoryStateBackend(), new FakeLeadership(true, 1), [], { time });
    r.start();
    await settle();
    assert.equal(r.status().cycles, 0, 'nothing runs before the timer fires');
    await time.advanceSettling(0);
    assert.equal(r.status().cycles, 1);
    await time.advanceSettling(19); // monitor.pollInterval is 20 ms here
    assert.equal(r.status().cycles, 1);
    await time.advanceSettling(1);
    assert.equal(r.status().cycles, 2);
    await time.advanceSettling(100);
    assert.equal(r.status().cycles, 7);
  });

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

  it("hands decide the failover timeline: the broker's entry recorded while its alert fires is stored on the alert without a page (issue 10 item 4)", async () => {
    const kafka = new MemoryKafka();
    kafka.createTopic('orders', 1);
    const backend = new MemoryStateBackend();
    const pages: Pages = [];
    const timeline: FailoverEntry[] = [];
    const { r, store } = replica('a', kafka, backend, new FakeLeadership(true, 1), pages, { failovers: () => timeline });
    r.start();
    await waitFor(() => r.status().cycles >= 1, { timeoutMs: 5000, what: 'a cycle that sees broker 3' });
    kafka.down.add(3);
    await waitFor(() => pages.length >= 1, { timeoutMs: 5000, what: 'the BrokerUnreachable page' });
    assert.deepEqual(pages.map((p) => [p.n.alert.key, p.n.alert.status, p.n.alert.failover]), [['test/BrokerUnreachable/3', 'firing', undefined]]);
    const now = Date.now();
    const summary = 'broker 3 unreachable, then fenced: 1 partition moved, 1 led again within 9.1 s';
    timeline.push({ kind: 'partitions', timeMs: now - 1000, endMs: now, from: 3, to: [1], reason: 'broker 3 unreachable, then fenced', leaderlessMs: 1000, precisionMs: 20, summary, detail: { cause: 'broker:3', partitions: 1, moved: 1, offline: 0, stillLeaderless: 0, windows: [] } });
    await waitFor(() => r.alerts()[0]?.failover === `failover: ${summary}`, { timeoutMs: 5000, what: 'the open alert carrying the entry' });
    const stored = await waitFor(async () => {
      const doc = await store.readAlertState('core');
      return JSON.stringify(doc?.data ?? '').includes(summary) ? doc : null;
    }, { timeoutMs: 5000, what: 'the entry in the stored alert state' });
    assert.ok(stored);
    assert.equal(pages.length, 1, 'no page for the entry');
    // (the resolved page carrying it: test/unit/failover-page.test.ts; here it would cost the 3 s hold)
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
    const { kafka, pages, la, lb, b } = await twoReplicasOneIncident();

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

  // Issue 8, defect 3: Redis restarted empty (no persistence) or its keys vanished while
  // the leader kept leading. The leader must write its state again; a successor then
  // continues the same incident (same startsAt and notification ids), pages no second
  // "firing" and resolves it once. An under-replicated partition is a steady incident: its
  // alert state does not change from cycle to cycle, so nothing but the loss makes the
  // leader write it (a lag alert's reported seconds change every cycle).
  for (const loss of ['restart', 'wipe'] as const) {
    it(`Redis lost its data (${loss}) mid-incident: the leader writes the state again; after a failover the incident keeps its identity and resolves once`, async () => {
      const kafka = laggingCluster();
      kafka.commit('svc', 'orders', 0, 30);
      const partition = kafka.part('orders', 0);
      partition.isr = partition.replicas.filter((r) => r !== partition.replicas[partition.replicas.length - 1]);
      const backend = new MemoryStateBackend();
      const pages: Pages = [];
      const la = new FakeLeadership(true, 1);
      const lb = new FakeLeadership(false, 1);
      const a = replica('a', kafka, backend, la, pages);
      a.r.start();
      await waitFor(() => pages.length >= 1, { timeoutMs: 5000, what: 'the firing page from a' });
      const probe = backend.connect('test');
      await waitFor(async () => (await probe.readAlertState('core')) !== undefined, { timeoutMs: 5000, what: 'the state in Redis' });

      if (loss === 'restart') {
        backend.stop();
        backend.start();
      } else {
        backend.wipe();
      }
      await waitFor(async () => (await probe.readAlertState('core')) !== undefined, { timeoutMs: 5000, what: 'a to write its state again after the loss' });

      // a loses its lease; b, which never saw the incident, wins term 2
      const b = replica('b', kafka, backend, lb, pages);
      la.leader = false;
      lb.leader = true;
      lb.currentTerm = 2;
      b.r.start();
      await waitFor(() => b.r.status().leading && b.r.status().cycles >= 5, { timeoutMs: 5000, what: 'b leading for five cycles' });
      assert.deepEqual(incidentPages(pages).map(([node, status]) => [node, status]), [['a', 'firing']], `no second firing page: ${JSON.stringify(incidentPages(pages))}`);
      partition.isr = [...partition.replicas];
      await waitFor(() => pages.length >= 2, { timeoutMs: 10_000, what: 'the resolve from b' });
      const [firing, resolved] = pages;
      assert.deepEqual(
        incidentPages(pages).map(([node, status, startsAt]) => [node, status, startsAt]),
        [
          ['a', 'firing', firing!.n.alert.startsAt],
          ['b', 'resolved', firing!.n.alert.startsAt],
        ],
      );
      assert.equal(firing!.n.alert.alert, 'PartitionUnderReplicated');
      assert.equal(resolved!.n.alert.key, firing!.n.alert.key);
      await probe.close();
    });
  }

  it("a follower's poll lets every actor keep its copy of what it stores (follow); a leader's does not", async () => {
    const kafka = new MemoryKafka(3);
    const backend = new MemoryStateBackend();
    const leadership = new FakeLeadership(false, 0);
    let follows = 0;
    const actor: Actor = { takeOver: () => undefined, act: () => undefined, reset: () => undefined, stop: async () => undefined, follow: async () => void follows++ };
    const { r } = replica('a', kafka, backend, leadership, [], { actors: [actor] });
    r.start();
    await waitFor(() => follows >= 3, { timeoutMs: 5000, what: 'three follower polls' });
    leadership.leader = true;
    leadership.currentTerm = 1;
    r.leadershipChanged();
    await waitFor(() => r.status().leading && r.status().cycles >= 1, { timeoutMs: 5000, what: 'a leading' });
    const atLead = follows;
    const c = r.status().cycles;
    await waitFor(() => r.status().cycles >= c + 3, { timeoutMs: 5000, what: 'three cycles as leader' });
    assert.ok(follows <= atLead + 1, `no follower polls while leading (${follows - atLead})`);
  });

  it('Redis lost its data and the leader died before writing it again: the successor continues from the state it last read (same incident, one resolve)', async () => {
    const { kafka, backend, pages, la, lb, a, b } = await twoReplicasOneIncident();
    // the follower keeps a copy of the state the leader writes
    await waitFor(() => b.r.alerts().length === 1, { timeoutMs: 5000, what: 'b to hold the open incident' });

    // a dies, then Redis loses everything before anyone writes it again
    la.leader = false;
    await a.r.stop();
    a.outbox.close();
    await a.store.close();
    backend.wipe();

    lb.leader = true;
    lb.currentTerm = 2;
    b.r.leadershipChanged();
    await waitFor(() => b.r.status().leading && b.r.status().cycles >= 5, { timeoutMs: 5000, what: 'b leading for five cycles' });
    // b cannot know that a's page was delivered (that record was lost with Redis), so it may
    // deliver the same notification again (the documented at-least-once edge), but it opens
    // no new incident: every firing page is the same notification.
    const firingIds = new Set(pages.filter((p) => p.n.alert.status === 'firing').map((p) => p.n.id));
    assert.deepEqual([...firingIds], [pages[0]!.n.id], `one incident: ${JSON.stringify(incidentPages(pages))}`);
    kafka.commit('svc', 'orders', 0, 30);
    await waitFor(() => pages.some((p) => p.n.alert.status === 'resolved'), { timeoutMs: 5000, what: 'the resolve from b' });
    const c = b.r.status().cycles;
    await waitFor(() => b.r.status().cycles >= c + 5, { timeoutMs: 5000, what: 'five more cycles of b' });
    const resolved = pages.filter((p) => p.n.alert.status === 'resolved');
    assert.deepEqual(resolved.map((p) => [p.node, p.n.alert.startsAt]), [['b', pages[0]!.n.alert.startsAt]], 'resolved once, the same incident');
  });

  // Issue 8, defect 7: a write refused by the fence means a newer leader exists. Nothing
  // more may happen in that cycle (no page handed to the outbox, no event, no Alertmanager
  // refresh), nor in any later cycle of that term.
  for (const where of ['the state write', 'the event'] as const) {
    it(`the fence rises before ${where}: the refused write ends the cycle and the term's acting, counted`, async () => {
      const kafka = laggingCluster();
      kafka.commit('svc', 'orders', 0, 30);
      const backend = new MemoryStateBackend();
      const pages: Pages = [];
      const trace: string[] = [];
      const refresher = {
        reset: () => undefined,
        notePosted: () => undefined,
        tick: async () => {
          trace.push('refresh');
          return [];
        },
      } as unknown as AlertmanagerRefresher;
      const la = new FakeLeadership(true, 1);
      const a = replica('a', kafka, backend, la, pages, { refresher });
      const newLeader = backend.connect('test');
      // a is a deposed leader whose lease has not run out yet: the fence is all that stops it
      const store = a.store;
      const write = store.writeAlertState.bind(store);
      store.writeAlertState = async (w) => {
        if (where === 'the state write' && w.term === 1) await newLeader.raiseFence(2);
        const r = await write(w);
        trace.push(r.status === 'fenced' ? 'fenced' : 'persist');
        return r;
      };
      const append = store.appendEvent.bind(store);
      store.appendEvent = async (e) => {
        if (where === 'the event' && e.type === 'alert-firing') await newLeader.raiseFence(2);
        const r = await append(e);
        trace.push(r.status === 'fenced' ? 'fenced' : `event ${e.type}`);
        return r;
      };
      const submit = a.outbox.submit.bind(a.outbox);
      a.outbox.submit = (term, ns) => {
        if (ns.length > 0) trace.push('submit');
        return submit(term, ns);
      };
      let ticks = 0;
      const observe = a.observer.observe.bind(a.observer);
      const warm = a.observer.warm.bind(a.observer);
      a.observer.observe = () => {
        ticks++;
        return observe();
      };
      a.observer.warm = () => {
        ticks++;
        return warm();
      };

      a.r.start();
      await waitFor(() => a.r.status().cycles >= 3, { timeoutMs: 5000, what: 'three cycles' });
      kafka.commit('svc', 'orders', 0, 5);
      await waitFor(() => trace.includes('fenced'), { timeoutMs: 5000, what: 'a write refused by the fence' });
      const t = ticks;
      await waitFor(() => ticks >= t + 5, { timeoutMs: 5000, what: 'five more ticks' });

      const after = trace.slice(trace.indexOf('fenced') + 1).filter((x) => x !== 'fenced');
      assert.deepEqual(after, [], `nothing acts after the refused write: ${JSON.stringify(trace)}`);
      assert.deepEqual(pages, []);
      assert.ok((await counter(a.metrics.fencedWritesRejected)) >= 1);
      const events = await newLeader.readEvents();
      assert.deepEqual(events.filter((e) => e.type === 'alert-firing'), [], 'no event of the deposed term in the timeline');
      await newLeader.close();
    });
  }
});

/** The value of one sample in the registry's exposition text, or undefined when absent. */
async function sample(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('metrics: what the leader measured, and nothing else (issue 8 defect 12)', () => {
  it('a group/topic whose delivery latency could not be measured exports no lag series, not 0', async () => {
    const kafka = new MemoryKafka();
    kafka.createTopic('orders', 2);
    kafka.createTopic('refunds', 1);
    const now = Date.now();
    for (const p of [0, 1]) kafka.produce('orders', p, [now - 2000, now - 1000]);
    kafka.produce('refunds', 0, [now - 2000, now - 1000]);
    kafka.commit('svc', 'orders', 0, 2);
    kafka.commit('svc', 'orders', 1, 2);
    kafka.commit('svc', 'refunds', 0, 2);
    // partition 1 of orders has no leader from the start: its end offset, hence its lag,
    // cannot be read (partition 0 is caught up, so a 0 would look like health)
    kafka.part('orders', 1).leader = -1;
    const { r, metrics } = replica('a', kafka, new MemoryStateBackend(), new FakeLeadership(true, 1), []);
    r.start();
    await waitFor(() => r.status().cycles >= 3, { timeoutMs: 5000, what: 'three cycles' });

    const refunds = { group: 'svc', topic: 'refunds' };
    assert.equal(await sample(metrics, 'vigil_consumer_group_lag_seconds', refunds), 0, 'a measured topic is exported');
    assert.equal(await sample(metrics, 'vigil_consumer_group_lag_messages', refunds), 0);
    const measuredAt = await sample(metrics, 'vigil_consumer_group_lag_last_measured_timestamp_seconds', refunds);
    assert.ok(measuredAt !== undefined && Math.abs(measuredAt - Date.now() / 1000) < 60, `a wall-clock timestamp in seconds: ${measuredAt}`);

    const orders = { group: 'svc', topic: 'orders' };
    assert.equal(await sample(metrics, 'vigil_consumer_group_lag_seconds', orders), undefined, 'unknown lag must not be exported as a number');
    assert.equal(await sample(metrics, 'vigil_consumer_group_lag_messages', orders), undefined, 'unknown messages behind must not be exported');
    assert.equal(await sample(metrics, 'vigil_consumer_group_lag_last_measured_timestamp_seconds', orders), undefined, 'never measured');
    assert.equal(await sample(metrics, 'vigil_kafka_up'), 1);
  });

  it('a follower exports no vigil_kafka_up (nor any other Kafka gauge), before and after leading', async () => {
    const kafka = laggingCluster();
    kafka.commit('svc', 'orders', 0, 5);
    const leadership = new FakeLeadership(false, 3);
    const { r, metrics } = replica('f', kafka, new MemoryStateBackend(), leadership, []);
    r.start();
    await waitFor(() => (r as unknown as { opts: { observer: KafkaObserver } }).opts.observer.history.size > 0, { timeoutMs: 5000, what: 'the warm history' });
    const kafkaGauges = ['vigil_kafka_up', 'vigil_kafka_brokers', 'vigil_kafka_partitions', 'vigil_consumer_group_lag_seconds', 'vigil_consumer_group_lag_messages', 'vigil_consumer_group_lag_last_measured_timestamp_seconds', 'vigil_alerts_firing'];
    for (const name of kafkaGauges) assert.equal(await sample(metrics, name), undefined, `a follower exports no ${name}`);

    leadership.leader = true;
    leadership.currentTerm = 4;
    r.leadershipChanged();
    await waitFor(async () => (await sample(metrics, 'vigil_alerts_firing')) === 1, { timeoutMs: 5000, what: 'the leader reporting its alert' });
    assert.equal(await sample(metrics, 'vigil_kafka_up'), 1);
    assert.ok((await sample(metrics, 'vigil_consumer_group_lag_seconds', { group: 'svc', topic: 'orders' }))! > 20);

    leadership.leader = false;
    r.leadershipChanged();
    await waitFor(() => !r.status().leading, { timeoutMs: 5000, what: 'the step-down' });
    for (const name of kafkaGauges) assert.equal(await sample(metrics, name), undefined, `a stepped-down leader exports no ${name}`);
  });
});
