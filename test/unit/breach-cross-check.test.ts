/**
 * The breach schedule's cross-check against the cycle's exact test (docs/design.md §3.7,
 * `crossCheck` in src/reconcile/loop.ts), through the Reconciler on fakes: MemoryKafka,
 * the in-memory state store and ManualTime for the clock and every timer (the cycles', the
 * schedule's), so each cycle's snapshot is taken at a chosen instant.
 *
 * One partition; group svc at c = 3, whose record was written 9.7 s before the start: with a
 * threshold of 10 s it breaches at start + 300 ms. The replica polls every 200 ms, so its
 * first cycle (at 0) arms the row and its second one (at 200) comes before the instant.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { Outbox } from '../../src/alerting/outbox';
import type { Notification } from '../../src/alerting/types';
import type { VigilConfig } from '../../src/config/types';
import type { KafkaAdmin, PartitionOffset, TopicPartition } from '../../src/kafka/types';
import { createLogger, silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import type { BreachConfirmer } from '../../src/monitor/breach-schedule';
import { KafkaObserver } from '../../src/monitor/observe';
import { type Leadership, Reconciler } from '../../src/reconcile/loop';
import { PagingActor } from '../../src/reconcile/paging';
import { ManualTime, settle } from '../fakes/manual-time';
import { MemoryKafka } from '../fakes/memory-kafka';
import { MemoryStateBackend } from '../fakes/memory-state';

const lag: VigilConfig['lag'] = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 0, severity: 'warning', overrides: [] };
const POLL_MS = 200;
const C = 3;

const leader: Leadership = { isLeader: () => true, term: () => 1 };

/** MemoryKafka whose exact tests (ListOffsets by timestamp) can be held mid-cycle: after the snapshot's instant is fixed. */
class HeldKafka extends MemoryKafka {
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;
  /** set while a held request waits */
  waiting = false;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = null;
    this.open = null;
  }

  override async offsetsForTimestamp(partitions: readonly TopicPartition[], timestampMs: number): Promise<PartitionOffset[]> {
    if (this.gate) {
      this.waiting = true;
      await this.gate;
      this.waiting = false;
    }
    return super.offsetsForTimestamp(partitions, timestampMs);
  }
}

interface Rig {
  time: ManualTime;
  kafka: HeldKafka;
  r: Reconciler;
  metrics: ReturnType<typeof createMetrics>;
  pages: Notification[];
  /** the reconcile loop's log lines (JSON) */
  logs: Record<string, unknown>[];
  /** where the commit stream says svc is on orders-0 */
  position: { offset: number };
  startMs: number;
}

const running: Reconciler[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

/**
 * `timestamps(startMs)`: the partition's records. The commit stream (the confirmer) is
 * always fresh and says svc is at `position.offset`.
 */
function makeRig(timestamps: (startMs: number) => number[]): Rig {
  const time = new ManualTime();
  const startMs = time.wallMs();
  const kafka = new HeldKafka();
  kafka.createTopic('orders', 1);
  kafka.produce('orders', 0, timestamps(startMs));
  kafka.commit('svc', 'orders', 0, C);
  const position = { offset: C };
  const confirmer: BreachConfirmer = { committed: () => new Map([['orders', new Map([[0, position.offset]])]]), freshen: async () => true };
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  });
  const store = new MemoryStateBackend().connect('test');
  const metrics = createMetrics({ nodeId: 'a', cluster: 'test' });
  const pages: Notification[] = [];
  const outbox = new Outbox({
    store,
    nodeId: 'a',
    channels: ['hook'],
    mayAct: () => true,
    clock: time,
    deliver: async (n) => {
      pages.push(n);
      return 'delivered';
    },
  });
  const aheadMs = 3 * POLL_MS;
  const filters = { groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] } };
  const observer = new KafkaObserver(kafka as KafkaAdmin, { lag, ...filters, brokerPingTimeoutMs: 200, scheduleAheadMs: aheadMs }, time);
  const r = new Reconciler({
    config: { cluster: 'test', node: { id: 'a' }, lag, alerting: { channels: [], runbookUrl: '' }, monitor: { pollIntervalMs: POLL_MS, incidentPollIntervalMs: POLL_MS, ...filters, offsetsSource: 'stream' } },
    observer,
    store,
    actors: [new PagingActor({ outbox, nodeId: 'a', logger: silentLogger })],
    leadership: leader,
    metrics,
    logger,
    clock: time,
    timers: time,
    breaches: { confirmer, aheadMs },
  });
  running.push(r);
  return { time, kafka, r, metrics, pages, logs, position, startMs };
}

/** The records of the header: c = 3 written 9.7 s before the start, its breach at start + 300 ms. */
function stalled(startMs: number): number[] {
  return [startMs - 20_000, startMs - 15_000, startMs - 12_000, startMs - 9_700, startMs - 5_000];
}

/**
 * The same, but the record before c is newer than the one at c (its producer's clock runs
 * ahead): at every instant here the exact test finds a record at or before c younger than
 * the threshold, while the probe read c's own timestamp.
 */
function producerAhead(startMs: number): number[] {
  return [startMs - 20_000, startMs - 15_000, startMs + 1_000, startMs - 9_700, startMs - 5_000];
}

async function disagreements(metrics: Rig['metrics']): Promise<Array<[string, number]>> {
  return (await metrics.breachScheduleDisagreements.get()).values.map((v) => [String(v.labels['kind']), v.value]);
}

async function outcomes(metrics: Rig['metrics']): Promise<Array<[string, number]>> {
  return (await metrics.breachSchedule.get()).values.map((v) => [String(v.labels['outcome']), v.value]);
}

/** svc's row on orders-0 in the loop's latest (cross-checked) snapshot. */
function row(r: Reconciler) {
  const s = r.snapshot();
  assert.ok(s?.ok, 'a snapshot');
  const p = s.groups.find((g) => g.group === 'svc')?.partitions.find((x) => x.topic === 'orders' && x.partition === 0);
  assert.ok(p, "svc's row on orders-0");
  return p;
}

/** Runs the first cycle (at 0): the row is behind, not in breach, armed at start + 300 ms. */
async function firstCycle(rig: Rig): Promise<void> {
  rig.r.start();
  await rig.time.advanceSettling(0);
  assert.equal(rig.r.status().cycles, 1);
  const p = row(rig.r);
  assert.equal(p.breach, false);
  assert.equal(p.breachAtExact, true);
  assert.equal(p.breachAtMs, rig.startMs + 300);
  assert.equal((await rig.metrics.breachScheduleArmed.get()).values[0]?.value, 1, 'the row is armed');
}

/** Moves the manual clock to `atMs` after the start, firing every timer due on the way. */
async function until(rig: Rig, atMs: number): Promise<void> {
  await rig.time.advanceSettling(atMs - rig.time.monotonicMs());
  await settle();
}

function warnings(rig: Rig, kind: string): Record<string, unknown>[] {
  return rig.logs.filter((l) => l['kind'] === kind && l['level'] === 40);
}

describe('the breach schedule cross-checked by the exact test (docs/design.md §3.7)', () => {
  it('exact-earlier: a cycle before the armed instant whose exact test finds the breach at the same c is counted once and logged', async () => {
    const rig = makeRig(stalled);
    await firstCycle(rig);
    // The record at c is no longer the one the probe read (and cached): its log was
    // rewritten with an older record at c, e.g. after an unclean leader election. ListOffsets
    // now finds every record up to c older than the threshold, 100 ms before the instant.
    rig.kafka.part('orders', 0).timestampsMs[C] = rig.startMs - 10_500;
    await until(rig, POLL_MS);
    assert.equal(rig.r.status().cycles, 2);
    assert.equal(row(rig.r).breach, true, "the cycle's exact test finds the breach");
    assert.deepEqual(await disagreements(rig.metrics), [['exact-earlier', 1]]);
    const [warning, ...more] = warnings(rig, 'exact-earlier');
    assert.equal(more.length, 0);
    assert.equal(warning?.['msg'], 'the exact test found a breach before its scheduled instant');
    assert.deepEqual([warning?.['group'], warning?.['topic'], warning?.['partition'], warning?.['committed']], ['svc', 'orders', 0, C]);
    assert.equal(warning?.['breachAt'], new Date(rig.startMs + 300).toISOString());
    assert.equal(warning?.['snapshotAt'], new Date(rig.startMs + POLL_MS).toISOString());
    // the row in breach is armed no more: its instant passes unconfirmed, and the next cycles
    // (still in breach) count nothing more
    assert.equal((await rig.metrics.breachScheduleArmed.get()).values[0]?.value, 0);
    await until(rig, 3 * POLL_MS);
    assert.equal(rig.r.status().cycles, 4);
    assert.deepEqual(await disagreements(rig.metrics), [['exact-earlier', 1]]);
    assert.deepEqual(await outcomes(rig.metrics), [], 'the schedule never fired');
    assert.deepEqual(
      rig.pages.map((n) => n.alert.status),
      ['firing'],
      'paged once, by the cycle',
    );
  });

  it('exact-later: a breach the schedule confirmed that the next cycle (taken after the confirmation) does not see at the same c is counted once', async () => {
    const rig = makeRig(producerAhead);
    await firstCycle(rig);
    await until(rig, 301);
    assert.deepEqual(await outcomes(rig.metrics), [['confirmed', 1]]);
    assert.deepEqual(
      rig.pages.map((n) => n.alert.status),
      ['firing'],
      'paged at the instant, between cycles',
    );
    assert.equal(rig.r.status().cycles, 2, 'the cycle at 200 ran before the instant');
    assert.deepEqual(await disagreements(rig.metrics), []);
    await until(rig, 2 * POLL_MS);
    assert.equal(rig.r.status().cycles, 3);
    assert.equal(row(rig.r).breach, false, "the exact test's verdict stands");
    assert.deepEqual(await disagreements(rig.metrics), [['exact-later', 1]]);
    const [warning, ...more] = warnings(rig, 'exact-later');
    assert.equal(more.length, 0);
    assert.equal(warning?.['msg'], 'a breach the schedule confirmed is not one by a later exact test');
    assert.deepEqual([warning?.['group'], warning?.['committed'], warning?.['snapshotAt']], ['svc', C, new Date(rig.startMs + 2 * POLL_MS).toISOString()]);
    await until(rig, 4 * POLL_MS);
    assert.deepEqual(await disagreements(rig.metrics), [['exact-later', 1]], 'counted once');
  });

  it('a group that committed past the confirmed offset counts nothing', async () => {
    const rig = makeRig(producerAhead);
    await firstCycle(rig);
    await until(rig, 301);
    assert.deepEqual(await outcomes(rig.metrics), [['confirmed', 1]]);
    // it commits past c after the confirmation: the next cycles see c = 4, not in breach
    rig.kafka.commit('svc', 'orders', 0, C + 1);
    rig.position.offset = C + 1;
    await until(rig, 4 * POLL_MS);
    assert.equal(rig.r.status().cycles, 5);
    assert.equal(row(rig.r).committed, C + 1);
    assert.equal(row(rig.r).breach, false);
    assert.deepEqual(await disagreements(rig.metrics), []);
    assert.equal(rig.logs.filter((l) => l['kind'] !== undefined).length, 0, 'nothing logged as a disagreement');
  });

  it('a cycle whose snapshot was taken before the confirmation keeps the row in breach; the next one agrees and counts nothing', async () => {
    const rig = makeRig(stalled);
    await firstCycle(rig);
    // The cycle at 200 fixes its instant, then waits on its exact tests past the breach instant.
    rig.kafka.hold();
    await until(rig, POLL_MS);
    assert.ok(rig.kafka.waiting, 'the cycle at 200 waits on its exact tests');
    await until(rig, 301);
    assert.deepEqual(await outcomes(rig.metrics), [['confirmed', 1]]);
    assert.deepEqual(
      rig.pages.map((n) => n.alert.status),
      ['firing'],
      'paged from the schedule while the cycle waits',
    );
    rig.kafka.release();
    await settle();
    assert.equal(rig.r.status().cycles, 2);
    const p = row(rig.r);
    assert.equal(p.breach, true, 'its exact test (at 200, before the instant) said no breach, but the confirmation came after it');
    assert.equal(p.aboveResolveBelow, true);
    // (the rows it holds in breach are as of the moment the cycle settled)
    assert.equal(rig.r.snapshot()?.takenAtMs, rig.startMs + 301);
    assert.deepEqual(await disagreements(rig.metrics), [], 'not a disagreement: the snapshot is older than the confirmation');
    // the cycle at 400 is after the confirmation and its exact test agrees
    await until(rig, 2 * POLL_MS);
    assert.equal(rig.r.status().cycles, 3);
    assert.equal(row(rig.r).breach, true);
    assert.deepEqual(await disagreements(rig.metrics), []);
    assert.deepEqual(
      rig.pages.map((n) => n.alert.status),
      ['firing'],
      'never resolved in between',
    );
  });
});
