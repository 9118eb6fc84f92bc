/**
 * Breaches scheduled (src/monitor/breach-schedule.ts; docs/design.md §3.7), on a manual
 * clock: a row armed at t_c + threshold is confirmed just after that instant when the stream
 * is fresh past it with no commit past c; a commit before the instant (even 1 ms before)
 * cancels it; a stream that cannot vouch leaves it to the next cycle; re-arming replaces.
 * And the two pure helpers: which rows of a snapshot to arm, and a snapshot with confirmed
 * breaches applied.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GroupOffsets } from '../../src/kafka/types';
import { type BreachOutcome, BreachSchedule, type ScheduledBreach, breachesToArm, withConfirmedBreaches } from '../../src/monitor/breach-schedule';
import type { GroupState, KafkaSnapshot } from '../../src/monitor/snapshot';
import { ManualTime } from '../fakes/manual-time';

/** A commit stream as the schedule sees it: offsets, and a freshness a test controls. */
class FakeConfirmer {
  readonly offsets = new Map<string, Map<string, Map<number, number>>>();
  vouched = true;
  /** freshen answers after this (a Fetch's round trip); null: it cannot be read */
  freshAtMs: number | null = 0;
  freshens = 0;
  /** commits that "arrive" with the freshening Fetch */
  onFreshen: (() => void) | null = null;

  constructor(private readonly time: ManualTime) {}

  commit(group: string, topic: string, partition: number, offset: number): void {
    let t = this.offsets.get(group);
    if (!t) this.offsets.set(group, (t = new Map()));
    let p = t.get(topic);
    if (!p) t.set(topic, (p = new Map()));
    p.set(partition, offset);
  }

  committed(group: string): GroupOffsets | null {
    return this.vouched ? (this.offsets.get(group) ?? new Map()) : null;
  }

  async freshen(_group: string, atMs: number): Promise<boolean> {
    this.freshens++;
    this.onFreshen?.();
    if (this.freshAtMs === null) return false;
    this.freshAtMs = this.time.wallMs();
    return this.freshAtMs >= atMs;
  }
}

function setup() {
  const time = new ManualTime(1_000);
  const confirmer = new FakeConfirmer(time);
  const confirmed: { at: number; rows: ScheduledBreach[] }[] = [];
  const outcomes: BreachOutcome[] = [];
  const schedule = new BreachSchedule({
    confirmer,
    clock: time,
    timers: time,
    onBreach: (rows) => confirmed.push({ at: time.wallMs(), rows: [...rows] }),
    onOutcome: (o) => outcomes.push(o),
  });
  return { time, confirmer, schedule, confirmed, outcomes };
}

describe('BreachSchedule', () => {
  it('confirms a breach 1 ms after t_c + threshold when the group did not commit past c', async () => {
    const { time, confirmer, schedule, confirmed, outcomes } = setup();
    confirmer.commit('svc', 'orders', 0, 40);
    const breachAtMs = time.wallMs() + 2_500;
    schedule.arm([{ group: 'svc', topic: 'orders', partition: 0, committed: 40, breachAtMs }]);
    await time.advanceSettling(2_500);
    assert.equal(confirmed.length, 0, 'not at the instant itself: the latency must exceed the threshold');
    await time.advanceSettling(1);
    assert.equal(confirmed.length, 1);
    assert.equal(confirmed[0]!.at, breachAtMs + 1);
    assert.deepEqual(outcomes, ['confirmed']);
    assert.equal(schedule.size, 0, 'fired entries are gone');
  });

  it('a commit past c before the instant — 1 ms before — cancels the breach', async () => {
    const { time, confirmer, schedule, confirmed, outcomes } = setup();
    confirmer.commit('svc', 'orders', 0, 40);
    schedule.arm([{ group: 'svc', topic: 'orders', partition: 0, committed: 40, breachAtMs: time.wallMs() + 1_000 }]);
    await time.advanceSettling(999);
    confirmer.commit('svc', 'orders', 0, 41);
    await time.advanceSettling(10);
    assert.deepEqual(confirmed, []);
    assert.deepEqual(outcomes, ['committed']);
    assert.equal(confirmer.freshens, 0, 'no Fetch needed: the stream already had the commit');
  });

  it('a commit the freshening Fetch brings in cancels it too', async () => {
    const { time, confirmer, schedule, confirmed, outcomes } = setup();
    confirmer.commit('svc', 'orders', 0, 40);
    confirmer.onFreshen = () => confirmer.commit('svc', 'orders', 0, 45);
    schedule.arm([{ group: 'svc', topic: 'orders', partition: 0, committed: 40, breachAtMs: time.wallMs() + 500 }]);
    await time.advanceSettling(600);
    assert.deepEqual(confirmed, []);
    assert.deepEqual(outcomes, ['committed']);
  });

  it('leaves the breach to the next cycle when the stream cannot vouch for the group', async () => {
    const { time, confirmer, schedule, confirmed, outcomes } = setup();
    confirmer.commit('svc', 'orders', 0, 40);
    confirmer.freshAtMs = null;
    schedule.arm([{ group: 'svc', topic: 'orders', partition: 0, committed: 40, breachAtMs: time.wallMs() + 500 }]);
    await time.advanceSettling(600);
    assert.deepEqual(confirmed, []);
    assert.deepEqual(outcomes, ['unconfirmed']);
    confirmer.freshAtMs = 0;
    confirmer.vouched = false;
    schedule.arm([{ group: 'svc', topic: 'orders', partition: 0, committed: 40, breachAtMs: time.wallMs() + 500 }]);
    await time.advanceSettling(600);
    assert.deepEqual(outcomes, ['unconfirmed', 'unconfirmed']);
  });

  it('fires rows in the order of their instants, several at one instant in one call; arming again replaces', async () => {
    const { time, confirmer, schedule, confirmed } = setup();
    for (const p of [0, 1, 2]) confirmer.commit('svc', 'orders', p, 10);
    const t = time.wallMs();
    schedule.arm([
      { group: 'svc', topic: 'orders', partition: 0, committed: 10, breachAtMs: t + 300 },
      { group: 'svc', topic: 'orders', partition: 1, committed: 10, breachAtMs: t + 100 },
      { group: 'svc', topic: 'orders', partition: 2, committed: 10, breachAtMs: t + 100 },
    ]);
    await time.advanceSettling(150);
    assert.deepEqual(confirmed.map((c) => c.rows.map((r) => r.partition)), [[1, 2]]);
    schedule.arm([{ group: 'svc', topic: 'orders', partition: 0, committed: 10, breachAtMs: t + 1_000 }]);
    await time.advanceSettling(500);
    assert.equal(confirmed.length, 1, 'the replaced instant (t + 300) no longer fires');
    await time.advanceSettling(600);
    assert.deepEqual(confirmed.map((c) => c.rows.map((r) => r.partition)), [[1, 2], [0]]);
    schedule.arm([{ group: 'svc', topic: 'orders', partition: 0, committed: 10, breachAtMs: time.wallMs() + 100 }]);
    schedule.clear();
    await time.advanceSettling(200);
    assert.equal(confirmed.length, 2, 'cleared: nothing fires');
  });
});

const T = 1_800_000_010_000;
const rule = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning' as const };

function snapshot(partitions: GroupState['partitions']): KafkaSnapshot {
  return {
    ok: true,
    takenAtMs: T,
    clusterId: 'c',
    controllerId: 1,
    brokers: [],
    partitions: [],
    groups: [{ group: 'svc', state: 'Stable', partitions, rules: new Map([['orders', rule]]) }],
    canary: null,
    quorum: { state: 'unobservable', cause: 'not-kraft', reason: 'test' },
  };
}

describe('breachesToArm and withConfirmedBreaches', () => {
  const row = (partition: number, extra: Partial<GroupState['partitions'][number]>) => ({
    topic: 'orders', partition, committed: 40, end: 50, lagMessages: 10, breach: false, aboveResolveBelow: false, lagSeconds: 8, ...extra,
  });

  it('arms rows behind, not in breach, with an exact instant ahead within the horizon', () => {
    const snap = snapshot([
      row(0, { breachAtMs: T + 2_000, breachAtExact: true }),
      row(1, { breachAtMs: T + 2_000, breachAtExact: false }), // an estimate: not armed
      row(2, { breachAtMs: T + 9_000, breachAtExact: true }), // beyond the horizon
      row(3, { breachAtMs: T - 1, breachAtExact: true, breach: true }), // already in breach
      row(4, {}), // unknown
    ]);
    assert.deepEqual(breachesToArm(snap, T, 3_000), [{ group: 'svc', topic: 'orders', partition: 0, committed: 40, breachAtMs: T + 2_000 }]);
  });

  it('puts confirmed rows in breach with their exact seconds, and only while the row is still at c', () => {
    const snap = snapshot([row(0, { breachAtMs: T + 2_000, breachAtExact: true }), row(1, { breachAtMs: T + 2_000, breachAtExact: true })]);
    const out = withConfirmedBreaches(
      snap,
      [
        { group: 'svc', topic: 'orders', partition: 0, committed: 40, breachAtMs: T + 2_000 },
        { group: 'svc', topic: 'orders', partition: 1, committed: 39, breachAtMs: T + 2_000 }, // the row moved since
      ],
      T + 2_001,
    );
    assert.ok(out.ok);
    assert.equal(out.takenAtMs, T + 2_001);
    const [p0, p1] = out.groups[0]!.partitions;
    assert.deepEqual([p0!.breach, p0!.aboveResolveBelow, p0!.lagSeconds], [true, true, 10.001]);
    assert.deepEqual([p1!.breach, p1!.lagSeconds], [false, 8]);
  });
});
