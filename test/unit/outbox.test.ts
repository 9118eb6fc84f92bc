/**
 * The outbox on the in-memory StateStore: claim → send → settle, fenced by term, and
 * exactly-once intent across failover (docs/design.md §4), also while Redis is down (§6); owed
 * pages retried on the outbox's own timer, and every send carrying its claim's term
 * (issue 8).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Outbox, type DrainReport, type SendContext } from '../../src/alerting/outbox';
import type { DeliveryOutcomeKind } from '../../src/alerting/notifier';
import type { Notification } from '../../src/alerting/types';
import { createMetrics } from '../../src/metrics';
import type { Clock } from '../../src/util/clock';
import { sampleNotification } from '../contract/state-store.contract';
import { ManualTime } from '../fakes/manual-time';
import { MemoryStateBackend, type MemoryStateStore } from '../fakes/memory-state';
import { waitFor } from '../harness/wait';

class ManualClock implements Clock {
  private mono = 0;
  constructor(private wall = Date.parse('2026-11-26T10:00:00.000Z')) {}
  monotonicMs(): number {
    return this.mono;
  }
  wallMs(): number {
    return this.wall;
  }
  advance(ms: number): void {
    this.mono += ms;
    this.wall += ms;
  }
}

interface Send {
  readonly id: string;
  readonly channel: string;
  readonly by: string;
}

/** Everything sent by any leader of one test, in order. */
type Sends = Send[];

interface Leader {
  readonly nodeId: string;
  readonly store: MemoryStateStore;
  readonly outbox: Outbox;
  readonly metrics: ReturnType<typeof createMetrics>;
  /** answers of mayAct(), consumed in order; when empty, `leaseValid` */
  readonly mayActAnswers: boolean[];
  leaseValid: boolean;
  /** outcome of the next sends, consumed in order; when empty, 'delivered' */
  readonly outcomes: Array<DeliveryOutcomeKind | Promise<DeliveryOutcomeKind> | ((n: Notification, channel: string) => Promise<DeliveryOutcomeKind>)>;
}

async function leader(backend: MemoryStateBackend, nodeId: string, sends: Sends, opts: { clock?: ManualClock; channels?: string[]; cluster?: string } = {}): Promise<Leader> {
  const store = backend.connect(opts.cluster ?? 'local');
  await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'the fake store to connect' });
  const metrics = createMetrics({ nodeId, cluster: 'local' });
  const l: Leader = {
    nodeId,
    store,
    metrics,
    mayActAnswers: [],
    leaseValid: true,
    outcomes: [],
    outbox: undefined as unknown as Outbox,
  };
  (l as { outbox: Outbox }).outbox = new Outbox({
    store,
    nodeId,
    channels: opts.channels ?? ['webhook-0', 'pagerduty-1'],
    clock: opts.clock ?? new ManualClock(),
    // Retry timers that never fire unless a test moves them: these tests drive drains.
    timers: new ManualTime(),
    metrics,
    mayAct: () => (l.mayActAnswers.length > 0 ? (l.mayActAnswers.shift() as boolean) : l.leaseValid),
    deliver: async (n, channel) => {
      sends.push({ id: n.id, channel, by: nodeId });
      const next = l.outcomes.shift();
      if (next === undefined) return 'delivered';
      return typeof next === 'function' ? next(n, channel) : next;
    },
  });
  return l;
}

function outcomes(report: DrainReport): string[] {
  return report.items.map((i) => `${i.channel} ${i.outcome}${i.local ? ' (local)' : ''}`).sort();
}

async function fencedCount(l: Leader): Promise<number> {
  return (await l.metrics.fencedWritesRejected.get()).values[0]?.value ?? 0;
}

const FIRING = sampleNotification('local/ConsumerDeliveryLag/orders-svc/orders');
const RESOLVED = sampleNotification('local/ConsumerDeliveryLag/orders-svc/orders', 'resolved');

describe('Outbox: claim, send, settle (docs/design.md §4)', () => {
  it('claims in the store before it sends, then settles: delivered once per channel and nothing pending', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends);
    const seenAtSend: string[] = [];
    const check = async (n: Notification, channel: string): Promise<DeliveryOutcomeKind> => {
      const rec = (await a.store.readOutboxEntry(n.id))?.channels[channel];
      seenAtSend.push(`${channel} ${rec?.state} by ${rec?.holder.owner}@${rec?.holder.term}`);
      return 'delivered';
    };
    a.outcomes.push(check, check);
    const report = await a.outbox.submit(1, [FIRING]);
    assert.deepEqual(outcomes(report), ['pagerduty-1 delivered', 'webhook-0 delivered']);
    assert.deepEqual(seenAtSend.sort(), ['pagerduty-1 claimed by vigil-1@1', 'webhook-0 claimed by vigil-1@1']);
    const entry = await a.store.readOutboxEntry(FIRING.id);
    assert.equal(entry?.channels['webhook-0']?.state, 'delivered');
    assert.equal(entry?.channels['pagerduty-1']?.state, 'delivered');
    assert.deepEqual(await a.outbox.pending(), []);
    assert.equal(report.degraded, false);
    // submitting the same transition again (decide re-emits it) sends nothing
    const again = await a.outbox.submit(1, [FIRING]);
    assert.deepEqual(again.items, []);
    assert.equal(sends.length, 2);
  });

  it('mayAct() false before claiming: nothing is claimed or sent, and the drain stops', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends);
    a.leaseValid = false;
    const report = await a.outbox.submit(1, [FIRING]);
    assert.equal(report.stopped, 'not-leader');
    assert.deepEqual(sends, []);
    assert.equal(await a.store.readOutboxEntry(FIRING.id), undefined);
    // the lease comes back: the queued work goes out on the next drain
    a.leaseValid = true;
    assert.deepEqual(outcomes(await a.outbox.drain(1)), ['pagerduty-1 delivered', 'webhook-0 delivered']);
    assert.equal(sends.length, 2);
  });

  it('mayAct() false after the claim (lease lost while Redis answered): not sent, the claim stays pending for the next leader', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends, { channels: ['webhook-0'] });
    a.mayActAnswers.push(true, false);
    a.leaseValid = false;
    const report = await a.outbox.submit(1, [FIRING]);
    assert.deepEqual(outcomes(report), ['webhook-0 not-leader']);
    assert.deepEqual(sends, []);
    const pending = await a.outbox.pending();
    assert.deepEqual(pending.map((p) => [p.source, p.channel, p.holder]), [['redis', 'webhook-0', { term: 1, owner: 'vigil-1' }]]);
  });

  it('failover: leader A claims and loses its lease before sending; leader B (higher term) finishes it exactly once; A is fenced afterwards', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends, { channels: ['webhook-0'] });
    const b = await leader(backend, 'vigil-2', sends, { channels: ['webhook-0'] });
    a.mayActAnswers.push(true, false); // claimed, then the lease ran out: A "dies" here
    a.leaseValid = false;
    await a.outbox.submit(1, [FIRING]);
    assert.deepEqual(sends, []);

    // B wins term 2, raises the fence, and finishes what A claimed
    assert.equal((await b.store.raiseFence(2)).status, 'ok');
    const pending = await b.outbox.pending();
    assert.deepEqual(pending.map((p) => [p.notification.id, p.holder]), [[FIRING.id, { term: 1, owner: 'vigil-1' }]]);
    assert.deepEqual(outcomes(await b.outbox.drain(2)), ['webhook-0 delivered']);
    // B's own decide emits the same transition (its alert state had not caught up): no resend
    assert.deepEqual(outcomes(await b.outbox.submit(2, [FIRING])), []);
    assert.deepEqual(await b.outbox.drain(2), { items: [], degraded: false });

    // A comes back believing it leads term 1: fenced, nothing sent, counted
    a.leaseValid = true;
    const late = await a.outbox.drain(1);
    assert.equal(late.stopped, 'fenced');
    assert.deepEqual(sends, [{ id: FIRING.id, channel: 'webhook-0', by: 'vigil-2' }]);
    assert.equal(await fencedCount(a), 1);
  });

  it("failover while A's send is in flight: B sends once, A's late settle is fenced and counted, B's record stands", async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends, { channels: ['webhook-0'] });
    const b = await leader(backend, 'vigil-2', sends, { channels: ['webhook-0'] });
    const c = await leader(backend, 'vigil-3', sends, { channels: ['webhook-0'] });
    let finishA!: (o: DeliveryOutcomeKind) => void;
    a.outcomes.push(new Promise<DeliveryOutcomeKind>((resolve) => (finishA = resolve)));
    const aDrain = a.outbox.submit(1, [FIRING]);
    await waitFor(() => sends.length === 1, { timeoutMs: 1000, what: "A's send to start" });

    assert.equal((await b.store.raiseFence(2)).status, 'ok');
    assert.deepEqual(outcomes(await b.outbox.drain(2)), ['webhook-0 delivered']);
    finishA('delivered');
    const aReport = await aDrain;
    assert.equal(aReport.stopped, 'fenced');
    assert.equal(await fencedCount(a), 1);
    assert.deepEqual((await b.store.readOutboxEntry(FIRING.id))?.channels['webhook-0'], {
      state: 'delivered',
      holder: { term: 2, owner: 'vigil-2' },
      settledAtMs: Date.parse('2026-11-26T10:00:00.000Z'),
      attempts: 2,
    });
    // a third leader does not page again
    assert.equal((await c.store.raiseFence(3)).status, 'ok');
    assert.deepEqual(outcomes(await c.outbox.submit(3, [FIRING])), ['webhook-0 already-done']);
    assert.equal(sends.filter((s) => s.by === 'vigil-2').length, 1);
    assert.equal(sends.filter((s) => s.by === 'vigil-3').length, 0);
  });

  it('a failed delivery stays pending and is retried on the next drain; a rejected one is final', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends, { channels: ['webhook-0'] });
    const other = sampleNotification('local/BrokerUnreachable/2');
    a.outcomes.push('failed', 'rejected');
    assert.deepEqual(outcomes(await a.outbox.submit(1, [FIRING, other])), ['webhook-0 failed', 'webhook-0 rejected']);
    const failedId = sends[0]?.id;
    assert.deepEqual((await a.outbox.pending()).map((p) => p.notification.id), [failedId]);
    assert.equal(a.outbox.status().queued, 1);
    assert.deepEqual(outcomes(await a.outbox.drain(1)), ['webhook-0 delivered']);
    assert.deepEqual(await a.outbox.pending(), []);
    assert.deepEqual(sends.map((s) => s.id), [failedId, sends[1]?.id, failedId]);
    assert.equal((await a.store.readOutboxEntry(failedId as string))?.channels['webhook-0']?.attempts, 2);
  });

  it('a deliver() that throws counts as failed, not as a crash', async () => {
    const backend = new MemoryStateBackend();
    const a = await leader(backend, 'vigil-1', [], { channels: ['webhook-0'] });
    a.outcomes.push(async () => {
      throw new Error('socket hang up');
    });
    assert.deepEqual(outcomes(await a.outbox.submit(1, [FIRING])), ['webhook-0 failed']);
    assert.deepEqual(outcomes(await a.outbox.drain(1)), ['webhook-0 delivered']);
  });

  it('resolved never overtakes firing of the same incident on a channel; other channels are not held up', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends);
    a.outcomes.push(async (_n, channel) => (channel === 'webhook-0' ? 'failed' : 'delivered'), async () => 'delivered');
    const first = await a.outbox.submit(1, [FIRING]);
    assert.deepEqual(outcomes(first), ['pagerduty-1 delivered', 'webhook-0 failed']);
    const second = await a.outbox.submit(1, [RESOLVED]);
    // webhook: firing (retried) then resolved, in order; pagerduty: resolved
    assert.deepEqual(outcomes(second), ['pagerduty-1 delivered', 'webhook-0 delivered', 'webhook-0 delivered']);
    assert.deepEqual(
      sends.filter((s) => s.channel === 'webhook-0').map((s) => s.id),
      [FIRING.id, FIRING.id, RESOLVED.id],
    );
    // and while firing keeps failing, resolved waits
    const b = await leader(new MemoryStateBackend(), 'vigil-1', [], { channels: ['webhook-0'] });
    b.outcomes.push('failed', 'failed');
    await b.outbox.submit(1, [FIRING]);
    assert.deepEqual(outcomes(await b.outbox.submit(1, [RESOLVED])), ['webhook-0 blocked', 'webhook-0 failed']);
  });

  it('the same notification claimed by another node in the same term is left alone', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends, { channels: ['webhook-0'] });
    const other = backend.connect('local');
    await waitFor(() => other.isUp(), { timeoutMs: 1000, what: 'connect' });
    await other.claimNotification({ term: 1, owner: 'vigil-9', notification: FIRING, channel: 'webhook-0', nowMs: Date.parse(FIRING.alert.startsAt) });
    assert.deepEqual(outcomes(await a.outbox.submit(1, [FIRING])), ['webhook-0 held']);
    assert.deepEqual(sends, []);
  });
});

describe('Outbox with Redis down (docs/design.md §4, §6)', () => {
  it('keeps paging with local dedup, reports degraded, and writes its deliveries when Redis returns so a later leader does not page again', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends);
    assert.equal((await a.store.raiseFence(4)).status, 'ok');
    backend.stop();
    assert.equal(a.outbox.isDegraded(), true);

    const report = await a.outbox.submit(4, [FIRING]);
    assert.deepEqual(outcomes(report), ['pagerduty-1 delivered (local)', 'webhook-0 delivered (local)']);
    assert.equal(report.degraded, true);
    // local dedup: the same transition again, and a drain, send nothing
    assert.deepEqual((await a.outbox.submit(4, [FIRING])).items, []);
    assert.deepEqual((await a.outbox.drain(4)).items, []);
    assert.equal(sends.length, 2);
    assert.deepEqual(a.outbox.status(), { degraded: true, redisUp: false, unsynced: 2, queued: 0, failed: 0, oldestQueuedSeconds: 0, failingChannels: [] });

    backend.start({ keepData: true });
    await waitFor(() => !a.outbox.isDegraded(), { timeoutMs: 5000, what: 'the ledger to be written to the store' });
    const entry = await a.store.readOutboxEntry(FIRING.id);
    assert.equal(entry?.channels['webhook-0']?.state, 'delivered');
    assert.deepEqual(entry?.channels['pagerduty-1']?.holder, { term: 4, owner: 'vigil-1' });

    // failover after Redis returned: B does not page again
    const b = await leader(backend, 'vigil-2', sends);
    assert.equal((await b.store.raiseFence(5)).status, 'ok');
    assert.deepEqual(await b.outbox.pending(), []);
    assert.deepEqual(outcomes(await b.outbox.submit(5, [FIRING])), ['pagerduty-1 already-done', 'webhook-0 already-done']);
    assert.equal(sends.length, 2);
  });

  it('Redis lost while a send is in flight: the delivery is written when it returns', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends, { channels: ['webhook-0'] });
    a.outcomes.push(async () => {
      backend.stop();
      return 'delivered';
    });
    const report = await a.outbox.submit(1, [FIRING]);
    assert.deepEqual(outcomes(report), ['webhook-0 delivered']);
    assert.equal(report.degraded, true);
    backend.start({ keepData: true });
    await waitFor(() => !a.outbox.isDegraded(), { timeoutMs: 5000, what: 'the delivery to be written' });
    assert.equal((await a.store.readOutboxEntry(FIRING.id))?.channels['webhook-0']?.state, 'delivered');
    assert.deepEqual(await a.outbox.pending(), []);
  });

  it('Redis back without its data: deliveries this node remembers are written again', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends, { channels: ['webhook-0'] });
    await a.outbox.submit(3, [FIRING]);
    backend.stop();
    backend.start(); // empty
    await waitFor(async () => (await a.store.readOutboxEntry(FIRING.id).catch(() => undefined))?.channels['webhook-0']?.state === 'delivered', {
      timeoutMs: 5000,
      what: 'the delivery to be written again',
    });
    const b = await leader(backend, 'vigil-2', sends, { channels: ['webhook-0'] });
    assert.deepEqual(outcomes(await b.outbox.submit(4, [FIRING])), ['webhook-0 already-done']);
    assert.equal(sends.length, 1);
  });

  it('work that failed while Redis was down is claimed and sent once Redis is back', async () => {
    const backend = new MemoryStateBackend();
    const sends: Sends = [];
    const a = await leader(backend, 'vigil-1', sends, { channels: ['webhook-0'] });
    backend.stop();
    a.outcomes.push('failed');
    assert.deepEqual(outcomes(await a.outbox.submit(1, [FIRING])), ['webhook-0 failed (local)']);
    assert.deepEqual((await a.outbox.pending()).map((p) => p.source), ['local']);
    backend.start({ keepData: true });
    await waitFor(() => a.store.isUp(), { timeoutMs: 1000, what: 'up' });
    assert.deepEqual(outcomes(await a.outbox.drain(1)), ['webhook-0 delivered']);
    assert.equal((await a.store.readOutboxEntry(FIRING.id))?.channels['webhook-0']?.attempts, 1);
    assert.equal(a.outbox.isDegraded(), false);
  });
});

describe('Outbox retention', () => {
  it('forgets delivered notifications after the retention period, here and in the store', async () => {
    const backend = new MemoryStateBackend();
    const clock = new ManualClock();
    const sends: Sends = [];
    const store = backend.connect('local');
    await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'connect' });
    const outbox = new Outbox({
      store,
      nodeId: 'vigil-1',
      channels: ['webhook-0'],
      clock,
      timers: new ManualTime(),
      retentionMs: 60_000,
      pruneIntervalMs: 10_000,
      mayAct: () => true,
      deliver: async (n, channel) => {
        sends.push({ id: n.id, channel, by: 'vigil-1' });
        return 'delivered';
      },
    });
    await outbox.submit(1, [FIRING]);
    clock.advance(61_000);
    await outbox.drain(1);
    await waitFor(async () => (await store.readOutboxEntry(FIRING.id)) === undefined, { timeoutMs: 1000, what: 'the store entry to be pruned' });
    assert.equal(outbox.status().queued + outbox.status().unsynced, 0);
    // forgotten on both sides: the same id is a new page now (retention bounds dedup)
    await outbox.submit(1, [FIRING]);
    assert.equal(sends.length, 2);
    outbox.close();
  });
});

// ---- issue 8 -------------------------------------------------------------------------

/** A receiver that is down until a test brings it back; counts what each channel was sent. */
class Receivers {
  readonly down = new Set<string>();
  readonly sends: Array<{ id: string; channel: string; atMs: number; term: number }> = [];
  constructor(private readonly time: ManualTime) {}
  deliver = async (n: Notification, channel: string, send: SendContext): Promise<DeliveryOutcomeKind> => {
    if (!(await send.beforeSend())) return 'aborted';
    this.sends.push({ id: n.id, channel, atMs: this.time.nowMs, term: send.term });
    return this.down.has(channel) ? 'failed' : 'delivered';
  };
  count(channel: string, fromMs = 0): number {
    return this.sends.filter((s) => s.channel === channel && s.atMs >= fromMs).length;
  }
}

async function retrying(opts: { channels?: string[]; lease?: { leader: boolean; term: number } } = {}) {
  const backend = new MemoryStateBackend();
  const store = backend.connect('local');
  await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'the fake store to connect' });
  const time = new ManualTime();
  const receivers = new Receivers(time);
  const metrics = createMetrics({ nodeId: 'vigil-1', cluster: 'local' });
  const lease = opts.lease ?? { leader: true, term: 1 };
  const outbox = new Outbox({
    store,
    nodeId: 'vigil-1',
    channels: opts.channels ?? ['webhook-0'],
    clock: time,
    timers: time,
    random: () => 0.5,
    metrics,
    mayAct: (term) => lease.leader && lease.term === term,
    deliver: receivers.deliver,
  });
  const gauge = async (name: 'outboxPending' | 'outboxOldestPendingSeconds', channel: string): Promise<number | undefined> =>
    (await metrics[name].get()).values.find((v) => v.labels['channel'] === channel)?.value;
  return { store, time, receivers, outbox, lease, metrics, gauge };
}

describe('Outbox retries owed pages on its own timer (issue 8, defect 1)', () => {
  it('a page that failed is retried without another submit, goes out within 2 s of its receiver coming back, and is degraded and counted meanwhile', async () => {
    const { outbox, time, receivers, store, gauge } = await retrying();
    receivers.down.add('webhook-0');
    const page = sampleNotification('local/KafkaUnreachable/local');
    assert.deepEqual(outcomes(await outbox.submit(1, [page])), ['webhook-0 failed']);

    // 30 s with the receiver down and nothing new decided: the outbox keeps trying by itself
    await time.advanceSettling(30_000);
    assert.ok(receivers.count('webhook-0', 1) >= 15, `retried ${receivers.count('webhook-0', 1)} times in 30 s`);
    const s = outbox.status();
    assert.equal(s.degraded, true, 'a failed page makes the outbox degraded');
    assert.deepEqual([s.queued, s.failed, s.failingChannels], [1, 1, ['webhook-0']]);
    assert.ok(s.oldestQueuedSeconds >= 29, `oldest ${s.oldestQueuedSeconds}`);
    assert.equal(await gauge('outboxPending', 'webhook-0'), 1);
    assert.ok(((await gauge('outboxOldestPendingSeconds', 'webhook-0')) ?? 0) >= 29);

    // the receiver comes back: the page is delivered within 2 s, once, and settled
    receivers.down.delete('webhook-0');
    const backAtMs = time.nowMs;
    await time.advanceSettling(2_000);
    const delivered = receivers.sends.filter((x) => x.atMs >= backAtMs);
    assert.equal(delivered.length, 1, 'sent once after the receiver came back');
    assert.equal((await store.readOutboxEntry(page.id))?.channels['webhook-0']?.state, 'delivered');
    assert.deepEqual(outbox.status(), { degraded: false, redisUp: true, unsynced: 0, queued: 0, failed: 0, oldestQueuedSeconds: 0, failingChannels: [] });
    assert.equal(await gauge('outboxPending', 'webhook-0'), 0);
    assert.equal(await gauge('outboxOldestPendingSeconds', 'webhook-0'), 0);

    // nothing owed: the timer stops (no more sends however long we wait)
    const before = receivers.sends.length;
    await time.advanceSettling(60_000);
    assert.equal(receivers.sends.length, before);
    assert.equal(outbox.nextRetryInMs(), undefined);
    outbox.close();
  });

  it('a dead receiver is probed with one page at a time, not hammered with every owed page; its return sends them all, and other channels never wait', async () => {
    const { outbox, time, receivers } = await retrying({ channels: ['slack-0', 'pagerduty-1'] });
    receivers.down.add('slack-0');
    const pages = [0, 1, 2, 3, 4].map((i) => sampleNotification(`local/BrokerUnreachable/${i}`));
    await outbox.submit(1, pages);
    assert.equal(receivers.count('pagerduty-1'), 5, 'the healthy channel got every page at once');
    const startMs = time.nowMs;
    await time.advanceSettling(10_000);
    // one probe per retry, retries at most every 0.5 s: far fewer than 5 pages per retry
    const probes = receivers.count('slack-0', startMs + 1);
    assert.ok(probes >= 5 && probes <= 20, `${probes} sends to the dead channel in 10 s`);

    receivers.down.delete('slack-0');
    const backAtMs = time.nowMs;
    await time.advanceSettling(2_000);
    const after = receivers.sends.filter((x) => x.channel === 'slack-0' && x.atMs >= backAtMs).map((x) => x.id);
    assert.deepEqual([...after].sort(), pages.map((p) => p.id).sort(), 'every owed page once, within 2 s of the receiver coming back');
    assert.equal(receivers.count('pagerduty-1'), 5, 'nothing sent twice to the healthy channel');
    assert.equal(outbox.status().queued, 0);
    outbox.close();
  });

  it('retries only while this node leads in the term it drained for; a lease that comes back in the same term resumes them, and a follower reports no owed pages', async () => {
    const { outbox, time, receivers, lease, gauge } = await retrying();
    receivers.down.add('webhook-0');
    await outbox.submit(1, [FIRING]);
    lease.leader = false;
    await time.advanceSettling(1_500);
    const whileFollower = receivers.sends.length;
    await time.advanceSettling(10_000);
    assert.equal(receivers.sends.length, whileFollower, 'no send while not leading');
    assert.equal(outbox.status().degraded, false, "a follower's leftovers are the leader's job (in Redis)");
    assert.equal(await gauge('outboxPending', 'webhook-0'), 0);

    receivers.down.delete('webhook-0');
    lease.leader = true;
    await time.advanceSettling(2_000);
    assert.equal(receivers.sends.at(-1)?.id, FIRING.id);
    assert.equal(outbox.status().queued, 0);
    outbox.close();
  });

  it('a page an earlier leader claimed but never sent is retried by the new leader until its receiver answers', async () => {
    const { outbox, time, receivers, store } = await retrying({ lease: { leader: true, term: 2 } });
    await store.claimNotification({ term: 1, owner: 'vigil-9', notification: FIRING, channel: 'webhook-0', nowMs: time.wallMs() });
    receivers.down.add('webhook-0');
    assert.deepEqual(outcomes(await outbox.drain(2)), ['webhook-0 failed']);
    await time.advanceSettling(5_000);
    receivers.down.delete('webhook-0');
    await time.advanceSettling(2_000);
    assert.equal((await store.readOutboxEntry(FIRING.id))?.channels['webhook-0']?.state, 'delivered');
    assert.ok(receivers.sends.every((x) => x.term === 2));
    outbox.close();
  });
});

describe("A send carries its claim's term (issue 8, defect 8)", () => {
  /** Leader A's outbox whose first send stops between its claim and its attempt until released. */
  async function pausedSender(backend: MemoryStateBackend, lease: { leader: boolean; term: number }, sends: string[]) {
    const store = backend.connect('local');
    await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'connect' });
    const metrics = createMetrics({ nodeId: 'vigil-1', cluster: 'local' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const inSend = new Promise<void>((resolve) => (started = resolve));
    const outbox = new Outbox({
      store,
      nodeId: 'vigil-1',
      channels: ['pager'],
      clock: new ManualClock(),
      timers: new ManualTime(),
      metrics,
      mayAct: (term) => lease.leader && lease.term === term,
      deliver: async (_n, _channel, send) => {
        started();
        await gate; // the gap between claim and attempt (a retry pause, a slow Redis)
        if (!(await send.beforeSend())) return 'aborted';
        sends.push(`vigil-1@${send.term}`);
        return 'delivered';
      },
    });
    return { store, outbox, metrics, release, inSend };
  }

  async function otherLeader(backend: MemoryStateBackend, term: number, sends: string[]): Promise<void> {
    const store = backend.connect('local');
    await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'connect' });
    const b = new Outbox({
      store,
      nodeId: 'vigil-2',
      channels: ['pager'],
      clock: new ManualClock(),
      timers: new ManualTime(),
      mayAct: (t) => t === term,
      deliver: async (_n, _channel, send) => {
        sends.push(`vigil-2@${send.term}`);
        return 'delivered';
      },
    });
    assert.equal((await store.raiseFence(term)).status, 'ok');
    assert.deepEqual(outcomes(await b.drain(term)), ['pager delivered']);
    b.close();
  }

  it('a claim made in term 1 is not sent in term 3 after the term-2 leader settled it', async () => {
    const backend = new MemoryStateBackend();
    const sends: string[] = [];
    const lease = { leader: true, term: 1 };
    const a = await pausedSender(backend, lease, sends);
    const drainA = a.outbox.submit(1, [FIRING]);
    await a.inSend;
    // A loses term 1; B leads term 2 and delivers the page; A wins term 3
    lease.leader = false;
    await otherLeader(backend, 2, sends);
    lease.leader = true;
    lease.term = 3;
    assert.equal((await a.store.raiseFence(3)).status, 'ok');
    a.release();
    assert.deepEqual(outcomes(await drainA), ['pager aborted']);
    assert.deepEqual(sends, ['vigil-2@2'], 'sent once, by the leader that settled it');
    // and A's term-3 drains find it done, not owed
    assert.deepEqual(outcomes(await a.outbox.drain(3)), ['pager already-done']);
    assert.deepEqual(sends, ['vigil-2@2']);
    a.outbox.close();
  });

  it('a leader that still believes in term 1 (a wrongly suspected leader) does not send what term 2 settled: the store check before the attempt refuses', async () => {
    const backend = new MemoryStateBackend();
    const sends: string[] = [];
    const lease = { leader: true, term: 1 };
    const a = await pausedSender(backend, lease, sends);
    const drainA = a.outbox.submit(1, [FIRING]);
    await a.inSend;
    await otherLeader(backend, 2, sends);
    a.release();
    const report = await drainA;
    assert.equal(report.stopped, 'fenced');
    assert.deepEqual(sends, ['vigil-2@2']);
    assert.equal((await a.metrics.fencedWritesRejected.get()).values[0]?.value, 1);
    a.outbox.close();
  });
});
