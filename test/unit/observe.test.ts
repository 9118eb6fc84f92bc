import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VigilConfig } from '../../src/config/types';
import type { KafkaAdmin } from '../../src/kafka/types';
import { EndOffsetHistory } from '../../src/monitor/history';
import { KafkaObserver } from '../../src/monitor/observe';
import type { Clock } from '../../src/util/clock';
import { MemoryKafka } from '../fakes/memory-kafka';

const T0 = 1_764_150_000_000;

class ManualClock implements Clock {
  constructor(public wall = T0) {}
  monotonicMs(): number {
    return this.wall - T0;
  }
  wallMs(): number {
    return this.wall;
  }
}

const lag: VigilConfig['lag'] = {
  thresholdMs: 10_000,
  resolveBelowMs: 8_000,
  resolveForMs: 30_000,
  severity: 'warning',
  overrides: [{ group: 'pay-*', topic: '*', thresholdMs: 5_000, resolveBelowMs: 4_000, severity: 'critical' }],
};

function observer(k: MemoryKafka, clock: Clock, maxProbesPerCycle?: number) {
  return new KafkaObserver(k, { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500, ...(maxProbesPerCycle !== undefined ? { maxProbesPerCycle } : {}) }, clock);
}

describe('end-offset history (docs/design.md §3 reported seconds)', () => {
  it('places a record between the samples that saw the log reach it', () => {
    const h = new EndOffsetHistory();
    h.record([{ topic: 't', partition: 0, offset: 100 }], T0);
    h.record([{ topic: 't', partition: 0, offset: 200 }], T0 + 1000);
    const est = h.estimate('t', 0, 150);
    assert.ok(est);
    assert.equal(est.uncertaintyMs, 1000);
    assert.ok(est.appendedAtMs > T0 && est.appendedAtMs <= T0 + 1000);
    assert.equal(h.estimate('t', 0, 50), null, 'before the history: unknown');
    assert.equal(h.estimate('t', 0, 200), null, 'not appended yet');
  });

  it('counts a request from its sending to its answer: the broker read the end somewhere in between', () => {
    const h = new EndOffsetHistory();
    h.record([{ topic: 't', partition: 0, offset: 100 }], T0, T0 + 300);
    h.record([{ topic: 't', partition: 0, offset: 200 }], T0 + 1000, T0 + 1300);
    const est = h.estimate('t', 0, 150);
    assert.ok(est);
    // appended after the first request was sent (T0), before the second was answered
    assert.equal(est.uncertaintyMs, 1300);
    assert.equal(est.appendedAtMs, T0 + 0.505 * 1300);
  });

  it('an end offset that stays put narrows the window: the next record came after the last request that still saw it', () => {
    const h = new EndOffsetHistory();
    h.record([{ topic: 't', partition: 0, offset: 100 }], T0);
    h.record([{ topic: 't', partition: 0, offset: 100 }], T0 + 4000);
    h.record([{ topic: 't', partition: 0, offset: 100 }], T0 + 5000);
    h.record([{ topic: 't', partition: 0, offset: 101 }], T0 + 6000);
    const est = h.estimate('t', 0, 100);
    assert.ok(est);
    assert.equal(est.uncertaintyMs, 1000);
    assert.equal(est.appendedAtMs, T0 + 5500);
    assert.equal(h.lastEnd('t', 0), 101);
  });

  it('keeps a bounded number of samples, sparser with age', () => {
    const h = new EndOffsetHistory(16);
    for (let i = 0; i < 1000; i++) h.record([{ topic: 't', partition: 0, offset: i * 10 }], T0 + i * 1000);
    const old = h.estimate('t', 0, 15);
    const recent = h.estimate('t', 0, 9985);
    assert.ok(old && recent);
    assert.ok(recent.uncertaintyMs <= 1000);
    assert.ok(old.uncertaintyMs > recent.uncertaintyMs);
  });

  it('keeps estimates of old records within the 5 % target: spacing grows with age, not by halving blindly', () => {
    const h = new EndOffsetHistory(); // the default size
    const now = T0 + 600_000;
    // ten minutes of one sample a second, 10 records each
    for (let i = 0; i <= 600; i++) h.record([{ topic: 't', partition: 0, offset: i * 10 }], T0 + i * 1000);
    let worst = 0;
    for (let offset = 0; offset < 6000; offset += 7) {
      const est = h.estimate('t', 0, offset);
      assert.ok(est, `offset ${offset} within the history`);
      const ageMs = now - (T0 + (Math.floor(offset / 10) + 1) * 1000); // appended by the next sample
      // the estimate's worst case is half its window: within max(0.5 s, 5 %) of the age
      worst = Math.max(worst, est.uncertaintyMs / 2 / Math.max(500, 0.05 * ageMs));
    }
    assert.ok(worst <= 1, `worst error bound ${worst.toFixed(2)} × the tolerance`);
  });

  it('starts over when the end offset goes backwards (topic recreated)', () => {
    const h = new EndOffsetHistory();
    h.record([{ topic: 't', partition: 0, offset: 500 }], T0);
    h.record([{ topic: 't', partition: 0, offset: 600 }], T0 + 1000);
    h.record([{ topic: 't', partition: 0, offset: 5 }], T0 + 2000);
    assert.equal(h.estimate('t', 0, 550), null);
  });
});

describe('the observer builds a snapshot from Kafka', () => {
  function cluster(): MemoryKafka {
    const k = new MemoryKafka();
    k.createTopic('orders', 2);
    k.createTopic('payments', 1);
    const stamps = Array.from({ length: 60 }, (_, i) => T0 - 60_000 + i * 1000);
    k.produce('orders', 0, stamps);
    k.produce('orders', 1, stamps);
    k.produce('payments', 0, stamps);
    return k;
  }

  it('runs the exact test per rule (overrides by glob), at threshold and resolveBelow', async () => {
    const k = cluster();
    k.commit('svc', 'orders', 0, 49); // record 11 s old: breach at 10 s
    k.commit('svc', 'orders', 1, 51); // 9 s: no breach, but above resolveBelow 8 s
    k.commit('pay-api', 'payments', 0, 54); // 6 s: breach at the 5 s override
    const snap = await observer(k, new ManualClock()).observe();
    assert.ok(snap.ok);
    const svc = snap.groups.find((g) => g.group === 'svc')!;
    assert.deepEqual(
      svc.partitions.map((p) => [p.partition, p.breach, p.aboveResolveBelow, p.lagMessages]),
      [[0, true, true, 11], [1, false, true, 9]],
    );
    const pay = snap.groups.find((g) => g.group === 'pay-api')!;
    assert.equal(pay.partitions[0]!.breach, true);
    assert.equal(pay.rules.get('payments')!.severity, 'critical');
    assert.equal(svc.rules.get('orders')!.thresholdMs, 10_000);
  });

  it('puts each broker\'s answer times in its state, closing the cycle once per snapshot (docs/design.md §4.3); none from a port without them', async () => {
    const k = cluster();
    const plain = await observer(k, new ManualClock()).observe();
    assert.ok(plain.ok);
    assert.ok(plain.brokers.every((b) => b.answers === undefined));
    let taken = 0;
    const times = { count: 4, p50Ms: 2, maxMs: 9, windowSlowestMs: 8, windowCycles: 3 };
    const port: KafkaAdmin = k;
    port.takeAnswerTimes = (brokers) => {
      taken++;
      return new Map(brokers.filter((b) => b.nodeId !== 2).map((b) => [b.nodeId, times]));
    };
    const snap = await observer(k, new ManualClock()).observe();
    assert.ok(snap.ok);
    assert.equal(taken, 1, 'one cycle closed per snapshot');
    assert.ok(snap.brokers.length > 1);
    for (const b of snap.brokers) assert.deepEqual(b.answers, b.nodeId === 2 ? undefined : times, `broker ${b.nodeId}`);
  });

  it('carries each group/topic\'s early-warning lead (lag.warnAhead, per override; 0s is none) in its rule, for detect (docs/design.md §3.8)', async () => {
    const k = cluster();
    k.commit('svc', 'orders', 0, 49);
    k.commit('pay-api', 'payments', 0, 54);
    const warned = { ...lag, warnAheadMs: 3_000, overrides: [{ ...lag.overrides[0]!, warnAheadMs: 0 }] };
    const o = new KafkaObserver(k, { lag: warned, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500 }, new ManualClock());
    const snap = await o.observe();
    assert.ok(snap.ok);
    assert.equal(snap.groups.find((g) => g.group === 'svc')!.rules.get('orders')!.warnAheadMs, 3_000);
    assert.equal(snap.groups.find((g) => g.group === 'pay-api')!.rules.get('payments')!.warnAheadMs, undefined);
  });

  it('gives groups with the same topics under the same rules one shared rule map, and a group under an override its own', async () => {
    const k = cluster();
    for (const g of ['a', 'b', 'pay-1', 'pay-2']) k.commit(g, 'orders', 0, 60);
    k.commit('c', 'orders', 0, 60);
    k.commit('c', 'payments', 0, 60);
    const snap = await observer(k, new ManualClock()).observe();
    assert.ok(snap.ok);
    const rules = (g: string) => snap.groups.find((x) => x.group === g)!.rules;
    assert.equal(rules('a'), rules('b'), 'the same topics and rules: one map');
    assert.equal(rules('pay-1'), rules('pay-2'));
    assert.notEqual(rules('a'), rules('pay-1'), 'the override gives another rule');
    assert.equal(rules('pay-1').get('orders')!.thresholdMs, 5_000);
    assert.equal(rules('a').get('orders')!.thresholdMs, 10_000);
    assert.notEqual(rules('c'), rules('a'), 'other topics: another map');
    assert.equal(rules('c').get('orders'), rules('a').get('orders'), 'the same rule object');
    assert.deepEqual([...rules('c').keys()].sort(), ['orders', 'payments']);
  });

  it('reads committed offsets from the commit stream where it vouches for them, and asks only the other groups with OffsetFetch', async () => {
    const k = cluster();
    k.commit('svc', 'orders', 0, 49); // what the coordinator says
    k.commit('other', 'orders', 1, 55);
    const asked: string[][] = [];
    const committedOffsets = k.committedOffsets.bind(k);
    k.committedOffsets = async (ids) => {
      asked.push([...ids]);
      return committedOffsets(ids);
    };
    // the stream vouches for svc (and is newer than the coordinator's last answer), not for other
    const commits = { committed: (g: string) => (g === 'svc' ? new Map([['orders', new Map([[0, 52]])]]) : null) };
    const o = new KafkaObserver(k, { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500, commits }, new ManualClock());
    const snap = await o.observe();
    assert.ok(snap.ok);
    assert.deepEqual(asked, [['other']], 'only the group the stream cannot vouch for is polled');
    assert.deepEqual(o.lastOffsetsRead, { streamed: 1, polled: 1 });
    assert.equal(snap.offsetsStreamDenied, undefined);
    const denied = new KafkaObserver(k, { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500, commits: { committed: () => null, denied: () => 'TOPIC_AUTHORIZATION_FAILED' } }, new ManualClock());
    const deniedSnap = await denied.observe();
    assert.ok(deniedSnap.ok);
    assert.equal(deniedSnap.offsetsStreamDenied, 'TOPIC_AUTHORIZATION_FAILED', 'the snapshot says so, for detect');
    assert.deepEqual(snap.groups.find((g) => g.group === 'svc')!.partitions.map((p) => [p.partition, p.committed, p.lagMessages]), [[0, 52, 8]]);
    assert.deepEqual(snap.groups.find((g) => g.group === 'other')!.partitions.map((p) => [p.partition, p.committed]), [[1, 55]]);
  });

  it('carries each group\'s type and members (client id, host, partitions) into its state; a share group\'s position is judged like a commit', async () => {
    const k = cluster();
    // the port answers a share group's position (its start offsets) as its committed offsets
    k.commit('shared', 'orders', 0, 49);
    const member = { memberId: 'm1', instanceId: null, clientId: 'share-a', host: '/10.0.0.1', assignment: [{ topic: 'orders', partitions: [0] }] };
    k.described.set('shared', { type: 'share', state: 'Empty', members: [member] });
    const snap = await observer(k, new ManualClock()).observe();
    assert.ok(snap.ok);
    const g = snap.groups.find((x) => x.group === 'shared')!;
    assert.deepEqual([g.type, g.state, g.members], ['share', 'Empty', [member]]);
    assert.deepEqual(g.partitions.map((p) => [p.partition, p.breach, p.lagMessages]), [[0, true, 11]]);
    // with the commit stream vouching for every group, a share group is still polled: its
    // position is not in __consumer_offsets
    const streamed = new KafkaObserver(k, { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500, commits: { committed: () => new Map() } }, new ManualClock());
    const again = await streamed.observe();
    assert.ok(again.ok);
    assert.deepEqual(streamed.lastOffsetsRead, { streamed: 0, polled: 1 });
    assert.deepEqual(again.groups.find((x) => x.group === 'shared')!.partitions.map((p) => [p.partition, p.lagMessages]), [[0, 11]]);
  });

  it('reports exact seconds for rows in or near breach with no usable history', async () => {
    const k = cluster();
    k.commit('svc', 'orders', 0, 49);
    const snap = await observer(k, new ManualClock()).observe();
    assert.ok(snap.ok);
    assert.equal(snap.groups[0]!.partitions[0]!.lagSeconds, 11);
  });

  it('reports caught-up partitions as zero and not in breach', async () => {
    const k = cluster();
    k.commit('svc', 'orders', 0, 60);
    const snap = await observer(k, new ManualClock()).observe();
    assert.ok(snap.ok);
    assert.deepEqual(snap.groups[0]!.partitions[0], { topic: 'orders', partition: 0, committed: 60, end: 60, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0 });
  });

  it('describes every group while they fit the budget; beyond it, those that must be and the longest undescribed, the state listed every cycle (docs/design.md §3.9)', async () => {
    const k = cluster();
    const ids = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'];
    for (const g of ids) k.commit(g, 'orders', 0, 60);
    const described = async (o: KafkaObserver) => {
      k.describeAsked.length = 0;
      const snap = await o.observe();
      assert.ok(snap.ok);
      return { asked: k.describeAsked.flat().sort(), snap };
    };
    const withBudget = (describeBudget: number) => new KafkaObserver(k, { lag, groups: { include: ['g*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500, describeBudget }, new ManualClock());

    // a broker that lists no states (before Kafka 2.6): every group, every cycle
    const old = withBudget(2);
    assert.deepEqual((await described(old)).asked, ids);
    assert.deepEqual((await described(old)).asked, ids);

    k.listsStates = true;
    const o = withBudget(2);
    assert.deepEqual((await described(o)).asked, ids, 'never described: all of them');
    assert.deepEqual((await described(o)).asked, ['g0', 'g1'], 'nothing changed: the budget, longest undescribed first');
    assert.deepEqual((await described(o)).asked, ['g2', 'g3']);
    k.members.set('g5', 1); // a consumer joins: listed Stable, described Empty
    const joined = await described(o);
    assert.deepEqual(joined.asked, ['g4', 'g5'], 'the changed group at once, then the budget');
    const g5 = joined.snap.ok ? joined.snap.groups.find((g) => g.group === 'g5') : undefined;
    assert.deepEqual([g5?.state, g5?.members?.length], ['Stable', 1]);
    k.produce('orders', 0, [T0 - 500]); // every group is behind now
    await described(o);
    assert.deepEqual((await described(o)).asked, ids, 'groups behind are described every cycle');

    // no listing this cycle (every broker refused ListGroups): no state is current, all are described
    const failing = withBudget(2);
    const listGroups = k.listGroups.bind(k);
    k.commit('g0', 'orders', 0, 61);
    for (const g of ids) k.commit(g, 'orders', 0, 61); // caught up again
    await described(failing);
    await described(failing);
    assert.equal((await described(failing)).asked.length, 2, 'caught up: the budget only');
    k.listGroups = () => Promise.reject(new Error('could not list consumer groups on any broker'));
    try {
      assert.deepEqual((await described(failing)).asked, ids);
    } finally {
      k.listGroups = listGroups;
    }
  });

  it("reuses an idle group's caught-up rows while its offsets and end offsets stay, and builds them anew when either moves", async () => {
    const k = cluster();
    // what the commit stream hands out: a map that never changes once given, a new one per commit
    const views = new Map<string, Map<string, Map<number, number>>>();
    const commitAll = (group: string, offsets: Record<string, number[]>) =>
      views.set(group, new Map(Object.entries(offsets).map(([t, ps]) => [t, new Map(ps.map((o, p) => [p, o] as const))])));
    commitAll('idle', { orders: [60, 60], payments: [60] });
    commitAll('busy', { orders: [60, 60] });
    const o = new KafkaObserver(k, { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500, commits: { committed: (g) => views.get(g) ?? null } }, new ManualClock());
    const rowsOf = async (group: string) => {
      const snap = await o.observe();
      assert.ok(snap.ok);
      return snap.groups.find((g) => g.group === group)!.partitions;
    };
    // the stream vouches only for groups it knows: list them as the broker would
    k.commit('idle', 'orders', 0, 60);
    k.commit('busy', 'orders', 0, 60);
    const first = await rowsOf('idle');
    assert.equal(await rowsOf('idle'), first, 'nothing moved: the same rows');
    commitAll('idle', { orders: [60, 60], payments: [60] }); // a commit at the same offsets: a new map
    const afterCommit = await rowsOf('idle');
    assert.notEqual(afterCommit, first);
    assert.deepEqual(afterCommit, first);
    k.produce('orders', 1, [T0 - 500]); // the end moves: partition 1 is behind now
    const behind = await rowsOf('idle');
    assert.deepEqual(behind.map((p) => [p.topic, p.partition, p.lagMessages]), [['orders', 0, 0], ['orders', 1, 1], ['payments', 0, 0]]);
    commitAll('idle', { orders: [60, 61], payments: [60] });
    const caughtUp = await rowsOf('idle');
    assert.deepEqual(caughtUp.map((p) => [p.partition, p.lagMessages, p.end]), [[0, 0, 60], [1, 0, 61], [0, 0, 60]]);
    assert.equal(await rowsOf('idle'), caughtUp, 'caught up again and idle: reused again');
    k.createTopic('audit', 1); // the watched layout changed: nothing reused
    assert.notEqual(await rowsOf('idle'), caughtUp);
  });

  it("hands an unchanged group over as last cycle's very object (detect and the metrics skip it), and a new one when anything about it changes", async () => {
    const k = cluster();
    const views = new Map<string, Map<string, Map<number, number>>>([['svc', new Map([['orders', new Map([[0, 60]])]])]]);
    const o = new KafkaObserver(k, { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500, commits: { committed: (g) => views.get(g) ?? null } }, new ManualClock());
    k.commit('svc', 'orders', 0, 60);
    const member = (clientId: string, partitions: number[]) => ({ memberId: `${clientId}-1`, instanceId: null, clientId, host: '/10.0.0.5', assignment: [{ topic: 'orders', partitions }] });
    k.members.set('svc', 1);
    k.described.set('svc', { type: 'classic', state: 'Stable', members: [member('app', [0, 1])] });
    const stateOf = async () => {
      const snap = await o.observe();
      assert.ok(snap.ok);
      return snap.groups.find((g) => g.group === 'svc')!;
    };
    const first = await stateOf();
    assert.equal(first.members?.[0]?.clientId, 'app');
    assert.equal(await stateOf(), first, 'nothing changed: the same object');
    // described again with equal members in new objects: still the same
    k.described.set('svc', { type: 'classic', state: 'Stable', members: [member('app', [0, 1])] });
    assert.equal(await stateOf(), first, 'an equal description keeps the object');
    // another assignment: a new object that says so
    k.described.set('svc', { type: 'classic', state: 'Stable', members: [member('app', [0])] });
    const reassigned = await stateOf();
    assert.notEqual(reassigned, first);
    assert.deepEqual(reassigned.members?.[0]?.assignment, [{ topic: 'orders', partitions: [0] }]);
    assert.equal(await stateOf(), reassigned);
    // the members left: its state changes (listed Empty)
    k.members.set('svc', 0);
    k.described.set('svc', { type: 'classic', state: 'Empty', members: [] });
    const empty = await stateOf();
    assert.notEqual(empty, reassigned);
    assert.equal(empty.state, 'Empty');
    // a commit (a new map from the stream): a new object
    views.set('svc', new Map([['orders', new Map([[0, 60]])]]));
    assert.notEqual(await stateOf(), empty);
  });

  it('reports a dead broker as unreachable since the first failed ping, and keeps it when it leaves the metadata', async () => {
    const k = cluster();
    const clock = new ManualClock();
    const obs = observer(k, clock);
    await obs.observe();
    k.down.add(2);
    clock.wall += 1000;
    let snap = await obs.observe();
    assert.ok(snap.ok);
    let b2 = snap.brokers.find((b) => b.nodeId === 2)!;
    assert.equal(b2.reachable, false);
    assert.equal(b2.unreachableSinceMs, T0 + 1000);
    assert.match(b2.error ?? '', /ECONNREFUSED/);
    clock.wall += 1000;
    snap = await obs.observe();
    assert.ok(snap.ok);
    b2 = snap.brokers.find((b) => b.nodeId === 2)!;
    assert.equal(b2.inMetadata, false, 'the fake drops down brokers from the metadata');
    assert.equal(b2.unreachableSinceMs, T0 + 1000, 'since stays at the first failure');
  });

  it('says Kafka is unreachable instead of throwing when metadata fails', async () => {
    const k = cluster();
    k.metadata = async () => {
      throw new Error('could not reach any Kafka broker; tried 127.0.0.1:1');
    };
    const snap = await observer(k, new ManualClock()).observe();
    assert.equal(snap.ok, false);
    assert.ok(!snap.ok && /could not reach/.test(snap.error));
  });

  it('carries min.insync.replicas per topic into partition states', async () => {
    const k = cluster();
    k.minIsr.set('orders', 2);
    const snap = await observer(k, new ManualClock()).observe();
    assert.ok(snap.ok);
    assert.deepEqual(snap.partitions.map((p) => [p.topic, p.minIsr]), [['orders', 2], ['orders', 2], ['payments', 1]]);
  });

  it('uses the history, not a probe, once it is fine-grained enough', async () => {
    const k = cluster();
    const clock = new ManualClock();
    const obs = observer(k, clock, 0); // no probes allowed: seconds must come from history
    k.commit('svc', 'orders', 0, 60);
    await obs.observe(); // history: end 60 at T0
    for (let i = 0; i < 20; i++) {
      clock.wall += 1000;
      k.produce('orders', 0, [clock.wall]);
      await obs.observe();
    }
    // the group still sits at 60, whose record was appended in (T0, T0 + 1 s]
    const snap = await obs.observe();
    assert.ok(snap.ok);
    const s = snap.groups[0]!.partitions[0]!.lagSeconds!;
    assert.ok(s >= 19 && s <= 20, `estimate ${s}`);
  });

  it('never reports seconds the exact test contradicts: records stamped before they were appended read as older than the history says', async () => {
    const k = cluster();
    const clock = new ManualClock();
    const obs = observer(k, clock, 0); // no probes: the history and the exact tests only
    k.createTopic('late', 1);
    k.commit('svc', 'late', 0, 0);
    await obs.observe(); // history: end 0 at T0
    for (let i = 0; i < 9; i++) {
      clock.wall += 1000;
      // a producer whose records carry a CreateTime 5 s before they reach the broker
      k.produce('late', 0, [clock.wall - 5000]);
      await obs.observe();
    }
    // the history puts record 0's append in (T0, T0 + 1 s]: 8 to 9 s ago; its CreateTime
    // is 13 s ago, and the exact test at 10 s says so
    const snap = await obs.observe();
    assert.ok(snap.ok);
    const p = snap.groups[0]!.partitions[0]!;
    assert.equal(p.breach, true);
    assert.ok(p.lagSeconds !== null && p.lagSeconds >= 10, `reported ${p.lagSeconds} s for a row in breach of 10 s`);
  });

  it('keeps judging partitions whose leader is down: last end offset seen, breach from the estimate when its error bound allows', async () => {
    const k = cluster();
    const clock = new ManualClock();
    const obs = observer(k, clock, 0);
    k.commit('svc', 'orders', 0, 60);
    await obs.observe(); // the history starts at end 60
    for (let i = 0; i < 5; i++) {
      clock.wall += 1000;
      k.produce('orders', 0, [clock.wall]);
      await obs.observe();
    }
    // the group stopped at 60 (a record appended within 1 s after T0) and the leader dies
    k.down.add(k.part('orders', 0).leader);
    clock.wall += 12_000;
    const snap = await obs.observe();
    assert.ok(snap.ok);
    const row = snap.groups[0]!.partitions.find((p) => p.partition === 0)!;
    assert.equal(row.end, 65, 'the last end offset seen');
    assert.equal(row.breach, true, 'about 16 s old with a 1 s error bound: a breach for sure');
    assert.match(row.error ?? '', /end offset as last seen/);
  });

  it('keeps watching groups it saw before when ListGroups fails (their coordinator is down)', async () => {
    const k = cluster();
    k.commit('svc', 'orders', 0, 49);
    const obs = observer(k, new ManualClock());
    await obs.observe();
    k.listGroups = async () => {
      throw new Error('could not list consumer groups on any broker');
    };
    const snap = await obs.observe();
    assert.ok(snap.ok);
    assert.deepEqual(snap.groups.map((g) => g.group), ['svc']);
  });

  it('forgets a group whose offsets are gone while it is not listed, and watches it again once it is listed again', async () => {
    const k = cluster();
    const views = new Map<string, Map<string, Map<number, number>>>([['svc', new Map([['orders', new Map([[0, 60]])]])]]);
    const obs = new KafkaObserver(k, { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500, commits: { committed: (g) => views.get(g) ?? null } }, new ManualClock());
    k.commit('svc', 'orders', 0, 60);
    const groupsOf = async () => {
      const snap = await obs.observe();
      assert.ok(snap.ok);
      return snap.groups.map((g) => g.group);
    };
    assert.deepEqual(await groupsOf(), ['svc']);
    const list = k.listGroups.bind(k);
    k.listGroups = async () => {
      throw new Error('could not list consumer groups on any broker');
    };
    views.set('svc', new Map()); // its offsets deleted
    await groupsOf(); // the cycle that finds it gone
    assert.deepEqual(await groupsOf(), [], 'not listed and no offsets: gone');
    k.listGroups = list;
    views.set('svc', new Map([['orders', new Map([[0, 61]])]]));
    assert.deepEqual(await groupsOf(), ['svc'], 'listed again: watched again');
  });

  it("uses a group's committed offsets as last seen while its coordinator is down (nobody can commit meanwhile)", async () => {
    const k = cluster();
    k.commit('svc', 'orders', 0, 49);
    const obs = observer(k, new ManualClock());
    await obs.observe();
    const real = k.committedOffsets.bind(k);
    k.committedOffsets = async (ids) => new Map([...(await real(ids)).keys()].map((g) => [g, { error: 'COORDINATOR_NOT_AVAILABLE' }]));
    const snap = await obs.observe();
    assert.ok(snap.ok);
    const g = snap.groups[0]!;
    assert.equal(g.error, undefined, 'not unreadable: the offsets are known');
    assert.match(g.state, /coordinator unavailable/);
    assert.deepEqual(g.partitions.map((p) => [p.partition, p.committed, p.breach]), [[0, 49, true]]);
  });

  describe('a hung broker: connections accepted, nothing answered (issue 7 item 2; docs/design.md §1)', () => {
    // broker 1 leads orders/0 and payments/0 and coordinates svc; broker 2 leads orders/1 and coordinates batch
    function watched(): MemoryKafka {
      const k = cluster();
      k.commit('svc', 'orders', 0, 49);
      k.commit('svc', 'payments', 0, 50);
      k.commit('batch', 'orders', 1, 55);
      k.coordinators.set('batch', 2);
      return k;
    }

    it('is pinged first and asked nothing else: no request waits on it, it is unreachable since the cycle it hung, and the others are reported', async () => {
      const k = watched();
      const clock = new ManualClock();
      const obs = observer(k, clock);
      await obs.observe();
      k.hung.add(1);
      clock.wall += 1000;
      const snap = await obs.observe();
      assert.deepEqual(k.waitedOn, [], 'no request was sent to the hung broker but its ping');
      assert.ok(snap.ok);
      const b1 = snap.brokers.find((b) => b.nodeId === 1)!;
      assert.deepEqual([b1.reachable, b1.inMetadata, b1.unreachableSinceMs, b1.error], [false, true, T0 + 1000, 'no answer within 500 ms']);
      // broker 2's partition and group: read this cycle
      const batch = snap.groups.find((g) => g.group === 'batch')!;
      assert.deepEqual([batch.state, batch.error, batch.coordinator], ['Empty', undefined, 2]);
      assert.deepEqual(batch.partitions.map((p) => [p.partition, p.committed, p.end, p.error]), [[1, 55, 60, undefined]]);
      // broker 1's: the group's last commits, its partitions' last end offsets
      const svc = snap.groups.find((g) => g.group === 'svc')!;
      assert.match(svc.state, /coordinator unavailable; committed offsets as last seen/);
      assert.equal(svc.coordinator, 1, 'the coordinator as last known');
      assert.deepEqual(svc.partitions.map((p) => [p.topic, p.committed, p.end]), [['orders', 49, 60], ['payments', 50, 60]]);
      for (const p of svc.partitions) assert.match(p.error ?? '', /not asked: broker 1 did not answer its last ping; end offset as last seen/);
      assert.equal(snap.partitions.find((p) => p.topic === 'orders' && p.partition === 0)?.leader, 1, 'the metadata still names it leader');
    });

    it('stays unreachable since its first failed ping while it hangs, and is asked again once it answers one', async () => {
      const k = watched();
      const clock = new ManualClock();
      const obs = observer(k, clock);
      await obs.observe();
      k.hung.add(1);
      for (let i = 1; i <= 3; i++) {
        clock.wall += 1000;
        const snap = await obs.observe();
        assert.ok(snap.ok);
        assert.equal(snap.brokers.find((b) => b.nodeId === 1)?.unreachableSinceMs, T0 + 1000, `cycle ${i}`);
      }
      assert.deepEqual(k.waitedOn, []);
      k.hung.delete(1);
      clock.wall += 1000;
      const snap = await obs.observe();
      assert.ok(snap.ok);
      const b1 = snap.brokers.find((b) => b.nodeId === 1)!;
      assert.deepEqual([b1.reachable, b1.unreachableSinceMs], [true, undefined]);
      const svc = snap.groups.find((g) => g.group === 'svc')!;
      assert.deepEqual([svc.state, svc.partitions.map((p) => p.error)], ['Empty', [undefined, undefined]]);
    });

    it('hangs after its ping, under the cycle\'s requests: they are abandoned, the cycle completes, and it is unreachable since the first of them', async () => {
      const k = watched();
      const clock = new ManualClock();
      k.wallMs = () => clock.wall;
      const obs = observer(k, clock);
      await obs.observe();
      // the next cycle's pings all answer; broker 1 stops answering right after, 200 ms in
      const ping = k.pingBrokers.bind(k);
      k.pingBrokers = async (brokers, timeoutMs) => {
        const pings = await ping(brokers, timeoutMs);
        k.hung.add(1);
        clock.wall += 200;
        return pings;
      };
      clock.wall += 1000;
      const snap = await obs.observe();
      assert.deepEqual(k.waitedOn, [], 'no request waited out its timeout');
      assert.ok(k.abandoned.length >= 1, 'the first request to it was abandoned');
      assert.ok(snap.ok);
      const b1 = snap.brokers.find((b) => b.nodeId === 1)!;
      assert.deepEqual([b1.reachable, b1.inMetadata, b1.unreachableSinceMs, b1.error], [false, true, T0 + 1200, 'no answer within 500 ms']);
      // asked nothing after the abandoned request: what it leads and coordinates is as for a dead broker
      assert.equal(k.abandoned.length, 1, `only the first request: ${k.abandoned.join(', ')}`);
      const svc = snap.groups.find((g) => g.group === 'svc')!;
      assert.deepEqual(svc.partitions.map((p) => [p.topic, p.committed, p.end]), [['orders', 49, 60], ['payments', 50, 60]]);
      for (const p of svc.partitions) assert.ok(p.error !== undefined, `${p.topic}/${p.partition}: no end offset read this cycle`);
      const batch = snap.groups.find((g) => g.group === 'batch')!;
      assert.deepEqual(batch.partitions.map((p) => [p.partition, p.committed, p.end, p.error]), [[1, 55, 60, undefined]], "broker 2's partition read this cycle");

      // the next cycle: its ping fails too; still unreachable since the same time
      k.pingBrokers = ping;
      clock.wall += 1000;
      const next = await obs.observe();
      assert.ok(next.ok);
      assert.deepEqual(next.brokers.filter((b) => b.nodeId === 1).map((b) => [b.reachable, b.unreachableSinceMs]), [[false, T0 + 1200]]);
      assert.equal(k.abandoned.length, 1, 'asked nothing but its ping');
    });

    it('a broker new in the metadata is pinged before anything else is asked of it', async () => {
      const k = watched();
      const obs = observer(k, new ManualClock());
      await obs.observe();
      k.brokers = [...k.brokers, { nodeId: 4, host: '127.0.0.1', port: 9003, rack: null }];
      k.hung.add(4);
      k.coordinators.set('batch', 4);
      const snap = await obs.observe();
      assert.deepEqual(k.waitedOn, []);
      assert.ok(snap.ok);
      assert.equal(snap.brokers.find((b) => b.nodeId === 4)?.reachable, false);
    });

    it('a new observer has no broker to ping before its first metadata: that one request is the only one that can wait on it', async () => {
      const k = watched();
      k.hung.add(1);
      const snap = await observer(k, new ManualClock()).observe();
      assert.deepEqual(k.waitedOn, ['Metadata@1']);
      assert.ok(snap.ok);
      assert.equal(snap.brokers.find((b) => b.nodeId === 1)?.reachable, false);
    });

    it("a follower's warm cycle pings first too: the other partitions' end offsets are recorded without waiting on it", async () => {
      const k = watched();
      const clock = new ManualClock();
      const obs = observer(k, clock);
      await obs.warm();
      k.hung.add(1);
      clock.wall += 1000;
      k.produce('orders', 1, [clock.wall]);
      await obs.warm();
      assert.deepEqual(k.waitedOn, []);
      assert.equal(obs.history.lastEnd('orders', 1), 61);
      assert.equal(obs.history.lastEnd('orders', 0), 60);
    });
  });
});
