/**
 * The outbox on the in-memory StateStore: claim → send → settle, fenced by term, and
 * exactly-once intent across failover (DESIGN §4), also while Redis is down (§6).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Outbox, type DrainReport } from '../../src/alerting/outbox';
import type { DeliveryOutcomeKind } from '../../src/alerting/notifier';
import type { Notification } from '../../src/alerting/types';
import { createMetrics } from '../../src/metrics';
import type { Clock } from '../../src/util/clock';
import { sampleNotification } from '../contract/state-store.contract';
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

describe('Outbox: claim, send, settle (DESIGN §4)', () => {
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

describe('Outbox with Redis down (DESIGN §4, §6)', () => {
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
    assert.deepEqual(a.outbox.status(), { degraded: true, redisUp: false, unsynced: 2, queued: 0 });

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
