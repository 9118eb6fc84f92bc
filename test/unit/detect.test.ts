/**
 * detect (docs/design.md §4 "Findings"): every finding kind from synthetic snapshots, the cause of
 * a delivery-lag breach, the per-topic grouping that bounds alert counts, and the memory
 * detect keeps between cycles.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding, GroupTopicRule } from '../../src/monitor/findings';
import { DEFAULT_DETECT_OPTIONS, type DetectMemory, type DetectResult, detect, detectOptionsFor, emptyDetectMemory } from '../../src/monitor/detect';
import type { GroupPartitionLag, KafkaSnapshot } from '../../src/monitor/snapshot';
import {
  RULE, T0, broker, brokers, downBroker, group, partition, row, rowAt, snapshot, topicPartitions, unreachableSnapshot, withPartitions,
} from '../fakes/snapshots';

function run(snap: KafkaSnapshot, memory: DetectMemory = emptyDetectMemory()): DetectResult {
  return detect(snap, memory, DEFAULT_DETECT_OPTIONS);
}

function only<K extends Finding['kind']>(findings: readonly Finding[], kind: K): Extract<Finding, { kind: K }>[] {
  return findings.filter((f): f is Extract<Finding, { kind: K }> => f.kind === kind);
}

/** Three brokers, topic "orders" with 6 partitions, RF 3, leaders 1,2,3,1,2,3. */
const ORDERS = topicPartitions('orders', 6, [1, 2, 3], 3, 2);

describe('detect: a healthy cluster (docs/design.md §4)', () => {
  it('finds nothing when brokers are up, partitions fully replicated and consumers caught up', () => {
    const r = run(snapshot({ partitions: ORDERS, groups: [group('orders-svc', [row('orders', 0), row('orders', 1)])] }));
    assert.deepEqual(r.findings, []);
  });
});

describe('detect: KafkaUnreachable', () => {
  it('reports the observer error alone and keeps the memory for after the outage', () => {
    const first = run(snapshot({ partitions: ORDERS }));
    const r = run(unreachableSnapshot(T0 + 1000, 'could not reach any Kafka broker; tried 127.0.0.1:9092'), first.memory);
    assert.deepEqual(r.findings, [{ kind: 'KafkaUnreachable', error: 'could not reach any Kafka broker; tried 127.0.0.1:9092' }]);
    assert.equal(r.memory, first.memory);
    // after the outage, leaders are compared with what was seen before it
    const moved = withPartitions(ORDERS, partition('orders', 0, 2, [1, 2, 3], { minIsr: 2 }));
    const after = run(snapshot({ takenAtMs: T0 + 2000, partitions: moved }), r.memory);
    assert.deepEqual(only(after.findings, 'LeaderChanged'), [{ kind: 'LeaderChanged', topic: 'orders', partition: 0, from: 1, to: 2 }]);
  });
});

describe('detect: BrokerUnreachable', () => {
  it('names the broker, its address, since when and why', () => {
    const r = run(snapshot({ takenAtMs: T0 + 12_000, brokers: [broker(1), downBroker(2, T0), broker(3)], partitions: ORDERS }));
    assert.deepEqual(only(r.findings, 'BrokerUnreachable'), [
      { kind: 'BrokerUnreachable', broker: 2, address: '127.0.0.1:9093', sinceMs: T0, error: 'connect ECONNREFUSED 127.0.0.1:9093' },
    ]);
  });

  it('reports a broker the controller dropped from the metadata, and remembers since when when the observer does not say', () => {
    const fenced = broker(3, { inMetadata: false, reachable: false });
    const first = run(snapshot({ takenAtMs: T0, brokers: [broker(1), broker(2), fenced] }));
    const later = run(snapshot({ takenAtMs: T0 + 5_000, brokers: [broker(1), broker(2), fenced] }), first.memory);
    assert.deepEqual(only(later.findings, 'BrokerUnreachable'), [
      { kind: 'BrokerUnreachable', broker: 3, address: '127.0.0.1:9094', sinceMs: T0, error: 'not in the cluster metadata (fenced by the controller)' },
    ]);
    // back: forgotten, so a new outage starts a new "since"
    const back = run(snapshot({ takenAtMs: T0 + 6_000 }), later.memory);
    const again = run(snapshot({ takenAtMs: T0 + 9_000, brokers: [broker(1), broker(2), fenced] }), back.memory);
    assert.equal(only(again.findings, 'BrokerUnreachable')[0]?.sinceMs, T0 + 9_000);
  });
});

describe('detect: partition findings, grouped per broker out of the ISR (offline: cluster-wide)', () => {
  it('reports partitions without a leader as PartitionOffline only (not also under-replicated or under min ISR)', () => {
    const parts = withPartitions(ORDERS, partition('orders', 1, -1, [2, 3, 1], { isr: [2], minIsr: 2 }), partition('orders', 4, -1, [2, 3, 1], { isr: [], minIsr: 2 }));
    const r = run(snapshot({ partitions: parts }));
    assert.deepEqual(r.findings, [{ kind: 'PartitionOffline', topics: [{ topic: 'orders', partitions: [1, 4] }] }]);
  });

  it('reports ISR smaller than the replica set as PartitionUnderReplicated and ISR below min.insync.replicas as PartitionUnderMinIsr', () => {
    const parts = withPartitions(
      ORDERS,
      partition('orders', 0, 1, [1, 2, 3], { isr: [1, 3], minIsr: 2 }), // under-replicated only
      partition('orders', 3, 1, [1, 2, 3], { isr: [1], minIsr: 2 }), // both
    );
    const r = run(snapshot({ partitions: parts }));
    // a partition missing two brokers counts under each of them
    assert.deepEqual(r.findings, [
      { kind: 'PartitionUnderReplicated', broker: 2, topics: [{ topic: 'orders', partitions: [0, 3] }] },
      { kind: 'PartitionUnderReplicated', broker: 3, topics: [{ topic: 'orders', partitions: [3] }] },
      { kind: 'PartitionUnderMinIsr', broker: 2, topics: [{ topic: 'orders', partitions: [3] }] },
      { kind: 'PartitionUnderMinIsr', broker: 3, topics: [{ topic: 'orders', partitions: [3] }] },
    ]);
  });

  it('gives one finding per broker out of the ISR however many topics and partitions it held (bounded alert count)', () => {
    const ids = [1, 2, 3];
    const parts = ['a', 'b', 'c'].flatMap((t) => topicPartitions(t, 1_000, ids, 3, 2)).map((p) => ({ ...p, isr: p.isr.filter((b) => b !== 3) }));
    const r = run(snapshot({ brokers: [broker(1), broker(2), downBroker(3, T0)], partitions: parts }));
    const urp = only(r.findings, 'PartitionUnderReplicated');
    assert.deepEqual(urp.map((f) => [f.broker, f.topics.map((t) => [t.topic, t.partitions.length])]), [[3, [['a', 1000], ['b', 1000], ['c', 1000]]]]);
    assert.equal(r.findings.length, 1 + 1); // BrokerUnreachable + one for the broker out of the ISR
  });
});

describe('detect: LeaderChanged (event)', () => {
  it('reports nothing on the first snapshot, then each partition whose leader differs from the previous snapshot', () => {
    const first = run(snapshot({ partitions: ORDERS }));
    assert.deepEqual(only(first.findings, 'LeaderChanged'), []);
    const next = withPartitions(ORDERS, partition('orders', 0, 2, [1, 2, 3], { minIsr: 2 }), partition('orders', 2, -1, [3, 1, 2], { isr: [3], minIsr: 2 }));
    const r = run(snapshot({ takenAtMs: T0 + 1000, partitions: [...next, ...topicPartitions('new-topic', 2, [1, 2, 3])] }), first.memory);
    assert.deepEqual(only(r.findings, 'LeaderChanged'), [
      { kind: 'LeaderChanged', topic: 'orders', partition: 0, from: 1, to: 2 },
      { kind: 'LeaderChanged', topic: 'orders', partition: 2, from: 3, to: -1 },
    ]);
    const same = run(snapshot({ takenAtMs: T0 + 2000, partitions: next }), r.memory);
    assert.deepEqual(only(same.findings, 'LeaderChanged'), []);
  });

  it('does not modify the memory it was given', () => {
    const first = run(snapshot({ partitions: ORDERS }));
    const leaders = new Int32Array(first.memory.leaders.leaders);
    run(snapshot({ takenAtMs: T0 + 1000, partitions: withPartitions(ORDERS, partition('orders', 0, 3, [1, 2, 3])) }), first.memory);
    assert.deepEqual(first.memory.leaders.leaders, leaders);
  });
});

describe('detect: PreferredLeaderImbalance', () => {
  // broker 1 is the preferred replica of partitions 0, 3, 6, ... (10 of 30)
  const parts = topicPartitions('t', 30, [1, 2, 3]);
  const ledElsewhere = (n: number) => withPartitions(parts, ...[0, 3, 6, 9, 12].slice(0, n).map((p) => partition('t', p, 2, [1, 2, 3])));

  it('reports a broker not leading more than 10 % of the partitions it is preferred for, with the count', () => {
    const r = run(snapshot({ partitions: ledElsewhere(2) }));
    assert.deepEqual(only(r.findings, 'PreferredLeaderImbalance'), [{ kind: 'PreferredLeaderImbalance', broker: 1, partitions: 2 }]);
  });

  it('tolerates exactly the 10 % Kafka tolerates', () => {
    assert.deepEqual(only(run(snapshot({ partitions: ledElsewhere(1) })).findings, 'PreferredLeaderImbalance'), []);
  });

  it('says nothing about a broker that is down (BrokerUnreachable covers it)', () => {
    const r = run(snapshot({ brokers: [downBroker(1, T0), broker(2), broker(3)], partitions: ledElsewhere(5) }));
    assert.deepEqual(only(r.findings, 'PreferredLeaderImbalance'), []);
  });
});

describe('detect: ConsumerDeliveryLag and its cause (docs/design.md §3, §4)', () => {
  it('groups breaching partitions per group/topic with the max seconds over them and the rule threshold; cause consumer when leaders are healthy', () => {
    const g = group('orders-svc', [rowAt('orders', 0, 12.4), rowAt('orders', 1, 3), rowAt('orders', 3, 11), rowAt('orders', 4, 9.5)]);
    const r = run(snapshot({ partitions: ORDERS, groups: [g] }));
    assert.deepEqual(r.findings, [
      { kind: 'ConsumerDeliveryLag', group: 'orders-svc', topic: 'orders', partitions: [0, 3], lagSeconds: 12.4, thresholdMs: 10_000, cause: 'consumer' },
    ]);
    assert.deepEqual(r.lag.byScope.get('orders-svc/orders'), {
      group: 'orders-svc', topic: 'orders', rule: RULE, clear: false, lagSeconds: 12.4, causePartitions: [],
    });
  });

  it('decides by the exact test alone: a large estimate without breach is no finding, a breach without estimate is', () => {
    const g = group('g', [row('orders', 0, { end: 110, lagMessages: 10, breach: false, aboveResolveBelow: true, lagSeconds: 30 }), row('orders', 1, { end: 110, lagMessages: 10, breach: true, lagSeconds: null })]);
    const r = run(snapshot({ partitions: ORDERS, groups: [g] }));
    assert.deepEqual(r.findings, [{ kind: 'ConsumerDeliveryLag', group: 'g', topic: 'orders', partitions: [1], lagSeconds: null, thresholdMs: 10_000, cause: 'consumer' }]);
  });

  it('blames an unreachable broker leading the breaching partitions: broker:<id>, the one leading most of them', () => {
    // leaders: p0→1, p1→2, p3→1, p4→2; brokers 1 and 2 both down, 1 leads two of the three
    const g = group('orders-svc', [rowAt('orders', 0, 12), rowAt('orders', 3, 12), rowAt('orders', 4, 12), rowAt('orders', 2, 1)]);
    const r = run(snapshot({ brokers: [downBroker(1, T0), downBroker(2, T0), broker(3)], partitions: ORDERS, groups: [g] }));
    const [lag] = only(r.findings, 'ConsumerDeliveryLag');
    assert.equal(lag?.cause, 'broker:1');
    assert.deepEqual(r.lag.byScope.get('orders-svc/orders')?.causePartitions, [0, 3]);
  });

  describe('causes first: a broker that touches the group now or did within the last minute (issue 7, item 0)', () => {
    // leaders p0→1, p1→2, p2→3, p3→1, p4→2, p5→3; every ISR full
    it('a broker that went down leading the partitions stays the cause after Kafka moved leadership away', () => {
      const g = (rows: ReturnType<typeof rowAt>[]) => ({ ...group('orders-svc', rows), coordinator: 2 });
      // the kill: broker 1 unreachable, still the leader in the metadata; the group is only 4 s behind
      const first = run(snapshot({ takenAtMs: T0, brokers: [downBroker(1, T0), broker(2), broker(3)], partitions: ORDERS, groups: [g([rowAt('orders', 0, 4)])] }));
      // the controller fenced it: out of the metadata and every ISR, p0 and p3 led by 2 and 3; the backlog breaches
      const moved = withPartitions(ORDERS, partition('orders', 0, 2, [1, 2, 3], { isr: [2, 3], minIsr: 2 }), partition('orders', 3, 3, [1, 2, 3], { isr: [2, 3], minIsr: 2 }));
      const fenced = broker(1, { inMetadata: false, reachable: false });
      const r = run(snapshot({ takenAtMs: T0 + 10_000, brokers: [fenced, broker(2), broker(3)], partitions: moved, groups: [g([rowAt('orders', 0, 12), rowAt('orders', 3, 11)])] }), first.memory);
      assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:1');
      const view = r.lag.byScope.get('orders-svc/orders');
      assert.deepEqual(view?.causePartitions, [0, 3]);
      assert.deepEqual(view?.causeTouch, { role: 'leader', now: false });
    });

    it('a broker that coordinated the group when it went down stays the cause after the coordinator moved', () => {
      const first = run(snapshot({ takenAtMs: T0, brokers: [downBroker(3, T0), broker(1), broker(2)], partitions: ORDERS, groups: [{ ...group('orders-svc', [rowAt('orders', 1, 3)]), coordinator: 3 }] }));
      // 20 s on, 3 is out of p1's ISR (it followed p1 in sync when it went down)
      const shrunk = withPartitions(ORDERS, partition('orders', 1, 2, [2, 3, 1], { isr: [2, 1], minIsr: 2 }));
      const r = run(
        snapshot({ takenAtMs: T0 + 20_000, brokers: [downBroker(3, T0), broker(1), broker(2)], partitions: shrunk, groups: [{ ...group('orders-svc', [rowAt('orders', 1, 14)]), coordinator: 1 }] }),
        first.memory,
      );
      // it touched p1 as a follower and the group as its coordinator: the coordinator stalls the whole group
      assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:3');
      assert.deepEqual(r.lag.byScope.get('orders-svc/orders')?.causeTouch, { role: 'coordinator', now: false });
      assert.equal(r.lag.byScope.get('orders-svc/orders')?.causeIsCoordinator, true);
    });

    it('an in-sync follower that is slow is the cause when the leaders are healthy (acks=all and the high watermark wait for it)', () => {
      const canary = [{ broker: 1, latencyMs: 4, ok: true }, { broker: 2, latencyMs: 5, ok: true }, { broker: 3, latencyMs: 4_200, ok: true }];
      // p0 led by 1, ISR 1,2,3; p3 led by 1 too
      const r = run(snapshot({ partitions: ORDERS, groups: [group('orders-svc', [rowAt('orders', 0, 12), rowAt('orders', 3, 13)])], canary }));
      assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:3');
      assert.deepEqual(r.lag.byScope.get('orders-svc/orders')?.causeTouch, { role: 'follower', now: true });
      assert.deepEqual(r.lag.byScope.get('orders-svc/orders')?.causePartitions, [0, 3]);
    });

    it('a broker healthy again is the cause for a minute (with since when), then the consumer is', () => {
      const rows = [rowAt('orders', 0, 12)];
      let memory = run(snapshot({ takenAtMs: T0, brokers: [downBroker(1, T0), broker(2), broker(3)], partitions: ORDERS, groups: [group('g', [rowAt('orders', 0, 2)])] })).memory;
      const at = (s: number) => run(snapshot({ takenAtMs: T0 + s * 1000, partitions: ORDERS, groups: [group('g', rows)] }), memory);
      let r = at(30);
      memory = r.memory;
      assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:1');
      assert.deepEqual(r.lag.byScope.get('g/orders')?.causeTouch, { role: 'leader', now: false, healthySinceMs: T0 });
      r = at(61);
      assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer');
      assert.equal(r.memory.trouble.size, 0, 'forgotten after a minute of health');
    });

    it('a bad broker that neither leads, follows in sync nor coordinates anything of the group is not its cause', () => {
      // "pay" lives on brokers 1 and 2 only; broker 3 is down
      const pay = topicPartitions('pay', 2, [1, 2], 2, 1);
      const r = run(snapshot({ brokers: [broker(1), broker(2), downBroker(3, T0)], partitions: [...ORDERS, ...pay], groups: [{ ...group('pay-svc', [rowAt('pay', 0, 12)]), coordinator: 1 }] }));
      assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer');
    });

    it('costs a pass over the partitions only in the cycle a broker goes bad', () => {
      const down = { brokers: [downBroker(1, T0), broker(2), broker(3)], partitions: ORDERS };
      const first = run(snapshot({ takenAtMs: T0, ...down }));
      const t1 = first.memory.trouble.get(1);
      const second = run(snapshot({ takenAtMs: T0 + 1000, ...down }), first.memory);
      const t2 = second.memory.trouble.get(1);
      assert.equal(t2?.led, t1?.led, 'what it touched is kept, not recomputed');
      assert.deepEqual([...(t1?.led ?? [])].sort(), ['orders\u00000', 'orders\u00003']);
      assert.equal(t2?.lastBadMs, T0 + 1000);
      const healthy = run(snapshot({ takenAtMs: T0, partitions: ORDERS }));
      assert.equal(healthy.memory.trouble.size, 0);
    });
  });

  it('blames a broker whose canary is degraded though reachable', () => {
    const g = group('orders-svc', [rowAt('orders', 1, 15)]);
    const canary = [{ broker: 1, latencyMs: 4, ok: true }, { broker: 2, latencyMs: 3_500, ok: true }, { broker: 3, latencyMs: 5, ok: true }];
    const r = run(snapshot({ partitions: ORDERS, groups: [g], canary }));
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:2');
  });

  it("blames the group's coordinator when it is unreachable and the partitions' leaders are healthy", () => {
    // leaders p0→1, p3→1 are up; the coordinator, broker 2, is down
    const g = { ...group('orders-svc', [rowAt('orders', 0, 12), rowAt('orders', 3, 12)]), coordinator: 2 };
    const r = run(snapshot({ brokers: [broker(1), downBroker(2, T0), broker(3)], partitions: ORDERS, groups: [g] }));
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:2');
    assert.equal(r.lag.byScope.get('orders-svc/orders')?.causeIsCoordinator, true);
    // with a healthy coordinator it is the consumer
    const healthy = run(snapshot({ brokers: [broker(1), broker(2), broker(3)], partitions: ORDERS, groups: [g] }));
    assert.equal(only(healthy.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer');
  });

  it('says partition-offline when a breaching partition has no leader, before any broker cause', () => {
    const parts = withPartitions(ORDERS, partition('orders', 1, -1, [2, 3, 1], { isr: [2], minIsr: 2 }));
    const g = group('orders-svc', [rowAt('orders', 0, 12), rowAt('orders', 1, 20)]);
    const r = run(snapshot({ brokers: [downBroker(1, T0), broker(2), broker(3)], partitions: parts, groups: [g] }));
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'partition-offline');
    assert.deepEqual(r.lag.byScope.get('orders-svc/orders')?.causePartitions, [1]);
  });

  it('never reports unknown data (null) as a breach, and marks the group/topic unknown for decide', () => {
    const g = group('orders-svc', [rowAt('orders', 0, null), rowAt('orders', 1, 2)]);
    const r = run(snapshot({ partitions: ORDERS, groups: [g] }));
    assert.deepEqual(r.findings, []);
    assert.equal(r.lag.byScope.get('orders-svc/orders')?.clear, null);
  });

  it('marks a group/topic clear only when every partition is caught up or below resolveBelow by the exact test', () => {
    const clear = run(snapshot({ partitions: ORDERS, groups: [group('g', [rowAt('orders', 0, 7.9), rowAt('orders', 1, 0)])] }));
    assert.equal(clear.lag.byScope.get('g/orders')?.clear, true);
    const between = run(snapshot({ partitions: ORDERS, groups: [group('g', [rowAt('orders', 0, 7.9), rowAt('orders', 1, 9)])] }));
    assert.equal(between.lag.byScope.get('g/orders')?.clear, false);
  });

  it('lists a group whose offsets could not be read as unreadable, its topics unknown', () => {
    const g = group('g', [], { orders: RULE }, { error: 'coordinator not available' });
    const r = run(snapshot({ partitions: ORDERS, groups: [g] }));
    assert.ok(r.lag.unreadableGroups.has('g'));
    assert.equal(r.lag.byScope.get('g/orders')?.clear, null);
  });

  it('uses each group/topic rule (overrides): the same latency breaches one group and not another', () => {
    const strict = { ...RULE, thresholdMs: 5_000, resolveBelowMs: 4_000, severity: 'critical' as const };
    const r = run(snapshot({
      partitions: ORDERS,
      groups: [group('payments-eu', [rowAt('orders', 0, 6, strict)], { orders: strict }), group('orders-svc', [rowAt('orders', 0, 6)])],
    }));
    assert.deepEqual(only(r.findings, 'ConsumerDeliveryLag').map((f) => [f.group, f.thresholdMs]), [['payments-eu', 5_000]]);
  });
});

describe('detect: slow answers as slow-broker evidence (docs/design.md §4.3, issue 7 item 1)', () => {
  /** a broker whose typical cycle's slowest answer takes `ms`, over `cycles` cycles */
  const answering = (nodeId: number, ms: number, cycles = 10) =>
    broker(nodeId, { answers: { count: 5, p50Ms: ms / 2, maxMs: ms, windowSlowestMs: ms, windowCycles: cycles } });
  // leaders p0→1, p1→2, p2→3, p3→1, p4→2, p5→3; every ISR full
  const lagging = [group('orders-svc', [rowAt('orders', 1, 12), rowAt('orders', 4, 14)])];

  it('names a broker answering much slower than the others as the cause of lag on partitions it leads, with its figure and theirs', () => {
    const r = run(snapshot({ brokers: [answering(1, 4), answering(2, 2_300), answering(3, 5)], partitions: ORDERS, groups: lagging }));
    assert.deepEqual(only(r.findings, 'ConsumerDeliveryLag').map((f) => f.cause), ['broker:2']);
    const view = r.lag.byScope.get('orders-svc/orders');
    assert.deepEqual(view?.causePartitions, [1, 4]);
    assert.deepEqual(view?.causeTouch, { role: 'leader', now: true, answers: { ms: 2_300, othersMs: 4.5 } });
    // evidence, not an alert of its own: no broker finding, nothing else changes
    assert.deepEqual(r.findings.filter((f) => f.kind !== 'ConsumerDeliveryLag'), []);
  });

  it('names it as an in-sync follower when the leaders answer fast', () => {
    // p1 and p4 are led by 2, with 3 and 1 in sync: 3 is slow
    const r = run(snapshot({ brokers: [answering(1, 4), answering(2, 3), answering(3, 900)], partitions: ORDERS, groups: lagging }));
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:3');
    assert.deepEqual(r.lag.byScope.get('orders-svc/orders')?.causeTouch, { role: 'follower', now: true, answers: { ms: 900, othersMs: 3.5 } });
  });

  it('names nobody without a lag breach on what it touches: the slow broker alone is no finding', () => {
    const quiet = run(snapshot({ brokers: [answering(1, 4), answering(2, 2_300), answering(3, 5)], partitions: ORDERS, groups: [group('orders-svc', [rowAt('orders', 1, 3)])] }));
    assert.deepEqual(quiet.findings, []);
    // "pay" lives on brokers 1 and 3 only: a breach there is the consumer's
    const pay = topicPartitions('pay', 2, [1, 3], 2, 1);
    const r = run(snapshot({ brokers: [answering(1, 4), answering(2, 2_300), answering(3, 5)], partitions: [...ORDERS, ...pay], groups: [{ ...group('pay-svc', [rowAt('pay', 0, 12)]), coordinator: 1 }] }));
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer');
  });

  it("never names anyone in a quiet cluster's jitter: below the floor however many times the others", () => {
    const floor = DEFAULT_DETECT_OPTIONS.answerSlowFloorMs;
    const r = run(snapshot({ brokers: [answering(1, 0.4), answering(2, floor - 1), answering(3, 0.5)], partitions: ORDERS, groups: lagging }));
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer');
  });

  it('names nobody when it is not much slower than the others (a loaded cluster), or when most brokers are slow', () => {
    const loaded = run(snapshot({ brokers: [answering(1, 200), answering(2, 1_500), answering(3, 250)], partitions: ORDERS, groups: lagging }));
    assert.equal(only(loaded.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer', '1.5 s is less than 10 × 225 ms');
    const most = run(snapshot({ brokers: [answering(1, 4), answering(2, 2_300), answering(3, 2_000)], partitions: ORDERS, groups: lagging }));
    assert.equal(only(most.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer', 'compared with the median of the others, 1002 ms');
  });

  it('a single broker is never named by answer times: there is nothing to compare it with', () => {
    const solo = topicPartitions('orders', 2, [1], 1, 1);
    const r = run(snapshot({ brokers: [answering(1, 5_000)], partitions: solo, groups: [group('orders-svc', [rowAt('orders', 0, 12)])] }));
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer');
  });

  it('two brokers: each is compared with the other', () => {
    const two = topicPartitions('orders', 2, [1, 2], 2, 1); // p0 led by 1, p1 by 2
    const g = [group('orders-svc', [rowAt('orders', 1, 12)])];
    const r = run(snapshot({ brokers: [answering(1, 6), answering(2, 1_200)], partitions: two, groups: g }));
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:2');
    assert.deepEqual(r.lag.byScope.get('orders-svc/orders')?.causeTouch?.answers, { ms: 1_200, othersMs: 6 });
    const both = run(snapshot({ brokers: [answering(1, 900), answering(2, 1_200)], partitions: two, groups: g }));
    assert.equal(only(both.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer');
  });

  it('judges only brokers with enough cycles of answers, reachable and in the metadata', () => {
    const min = DEFAULT_DETECT_OPTIONS.answerMinCycles;
    const fresh = run(snapshot({ brokers: [answering(1, 4), answering(2, 2_300, min - 1), answering(3, 5)], partitions: ORDERS, groups: lagging }));
    assert.equal(only(fresh.findings, 'ConsumerDeliveryLag')[0]?.cause, 'consumer', 'a fresh window');
    // the only other broker with a window is unreachable: nothing to compare with (and 3 is down, a cause of its own elsewhere)
    const alone = run(snapshot({ brokers: [broker(1), answering(2, 2_300), { ...answering(3, 4), reachable: false, unreachableSinceMs: T0 }], partitions: ORDERS, groups: [group('orders-svc', [rowAt('orders', 1, 12)])] }));
    assert.equal(only(alone.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:3', 'p1 followed in sync by the unreachable 3, 2 not judged');
  });

  it('is remembered like other trouble: healthy again, still the cause for a minute, without the answer evidence', () => {
    const slow = run(snapshot({ takenAtMs: T0, brokers: [answering(1, 4), answering(2, 2_300), answering(3, 5)], partitions: ORDERS, groups: lagging }));
    const r = run(snapshot({ takenAtMs: T0 + 5_000, brokers: [answering(1, 4), answering(2, 6), answering(3, 5)], partitions: ORDERS, groups: lagging }), slow.memory);
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.cause, 'broker:2');
    assert.deepEqual(r.lag.byScope.get('orders-svc/orders')?.causeTouch, { role: 'leader', now: false, healthySinceMs: T0 });
  });
});

describe('detect: a group/topic the observer gave no rule', () => {
  it('falls back to the config lag.* rule (detectOptionsFor)', () => {
    const opts = detectOptionsFor({ thresholdMs: 5_000, resolveBelowMs: 4_000, resolveForMs: 20_000, severity: 'critical', overrides: [] });
    const g = { group: 'g', state: 'Stable', partitions: [rowAt('orders', 0, 6, { ...RULE, thresholdMs: 5_000 })], rules: new Map() };
    const r = detect(snapshot({ partitions: ORDERS, groups: [g] }), emptyDetectMemory(), opts);
    assert.equal(only(r.findings, 'ConsumerDeliveryLag')[0]?.thresholdMs, 5_000);
    assert.deepEqual(r.lag.byScope.get('g/orders')?.rule, { thresholdMs: 5_000, resolveBelowMs: 4_000, resolveForMs: 20_000, severity: 'critical' });
  });
});

describe('detect: ConsumerStalled', () => {
  const stallWindowMs = DEFAULT_DETECT_OPTIONS.stallWindowMs;
  // committed stays at 100 while the end grows by 10 a second; lag below threshold (a
  // group with a generous rule), so only the stall is news
  const lenient = { ...RULE, thresholdMs: 3_600_000, resolveBelowMs: 3_000_000 };
  const at = (s: number, committed = 100) =>
    snapshot({
      takenAtMs: T0 + s * 1000, partitions: ORDERS,
      groups: [group('batch', [row('orders', 0, { committed, end: 100 + 10 * s + 1, lagMessages: 10 * s + 1 - (committed - 100), breach: false, aboveResolveBelow: false, lagSeconds: s })], { orders: lenient })],
    });

  function runFor(seconds: number, snap: (s: number) => KafkaSnapshot): DetectResult {
    let r = run(snap(0));
    for (let s = 1; s <= seconds; s++) r = run(snap(s), r.memory);
    return r;
  }

  it('reports committed offsets frozen while end offsets move, once the stall window has passed', () => {
    const before = runFor(stallWindowMs / 1000 - 1, at);
    assert.deepEqual(only(before.findings, 'ConsumerStalled'), []);
    const r = runFor(stallWindowMs / 1000, at);
    assert.deepEqual(only(r.findings, 'ConsumerStalled'), [{ kind: 'ConsumerStalled', group: 'batch', topic: 'orders', partitions: [0], stalledForMs: stallWindowMs }]);
  });

  it('does not report a consumer that commits, however slowly', () => {
    const r = runFor(stallWindowMs / 1000 + 10, (s) => at(s, 100 + s));
    assert.deepEqual(only(r.findings, 'ConsumerStalled'), []);
  });

  it('does not report an idle topic (end offset not moving) or a caught-up group', () => {
    const idle = (s: number) => snapshot({ takenAtMs: T0 + s * 1000, partitions: ORDERS, groups: [group('g', [row('orders', 0, { committed: 90, end: 100, lagMessages: 10, breach: false, aboveResolveBelow: false, lagSeconds: 1 })])] });
    assert.deepEqual(only(runFor(stallWindowMs / 1000 + 5, idle).findings, 'ConsumerStalled'), []);
    const caughtUp = (s: number) => snapshot({ takenAtMs: T0 + s * 1000, partitions: ORDERS, groups: [group('g', [row('orders', 0)])] });
    assert.deepEqual(only(runFor(stallWindowMs / 1000 + 5, caughtUp).findings, 'ConsumerStalled'), []);
  });

  it('leaves a stalled group/topic in delivery-lag breach to the lag alert (one page per incident)', () => {
    const breaching = (s: number) =>
      snapshot({
        takenAtMs: T0 + s * 1000, partitions: ORDERS,
        groups: [group('g', [row('orders', 0, { committed: 100, end: 100 + 10 * s + 1, lagMessages: 10 * s + 1, breach: s > 10, aboveResolveBelow: s > 8, lagSeconds: s })])],
      });
    const r = runFor(stallWindowMs / 1000 + 5, breaching);
    assert.deepEqual(r.findings.map((f) => f.kind), ['ConsumerDeliveryLag']);
  });
});

describe('detect: ConsumerBreachAhead, the early warning (docs/design.md §3.8, lag.warnAhead)', () => {
  const WARN: GroupTopicRule = { ...RULE, warnAheadMs: 3_000 };
  /** A row `latencySeconds` old whose breach instant is known (record at c + threshold), as of T0. */
  function predicted(p: number, latencySeconds: number, exact = true, rule = WARN): GroupPartitionLag {
    return { ...rowAt('orders', p, latencySeconds, rule), breachAtMs: T0 - latencySeconds * 1000 + rule.thresholdMs, breachAtExact: exact };
  }
  const detectWith = (rows: GroupPartitionLag[], rule = WARN) => run(snapshot({ partitions: ORDERS, groups: [group('orders-svc', rows, { orders: rule })] }));

  it('warns about the partitions predicted to breach within warnAhead, with the soonest instant and whether it is exact', () => {
    const r = detectWith([predicted(0, 7.5), predicted(1, 8, false), predicted(2, 6.9), rowAt('orders', 3, 0, WARN)]);
    assert.deepEqual(only(r.findings, 'ConsumerBreachAhead'), [
      { kind: 'ConsumerBreachAhead', group: 'orders-svc', topic: 'orders', partitions: [0, 1], breachAtMs: T0 + 2_000, exact: false, thresholdMs: 10_000, warnAheadMs: 3_000 },
    ]);
    assert.equal(r.lag.byScope.get('orders-svc/orders')?.warnClear, false);
  });

  it('makes no warning without warnAhead (the default), whatever the prediction', () => {
    const r = detectWith([predicted(0, 9.9, true, RULE)], RULE);
    assert.deepEqual(only(r.findings, 'ConsumerBreachAhead'), []);
    assert.equal(r.lag.byScope.get('orders-svc/orders')?.warnClear, undefined);
  });

  it('leaves a group/topic with a partition in breach to the lag alert: no warning beside ConsumerDeliveryLag', () => {
    const r = detectWith([predicted(0, 12), predicted(1, 8)]);
    assert.equal(only(r.findings, 'ConsumerDeliveryLag').length, 1);
    assert.deepEqual(only(r.findings, 'ConsumerBreachAhead'), []);
  });

  it('clears the hysteresis only beyond warnAhead + (threshold − resolveBelow); unknown predictions are unknown', () => {
    // warn line at 7 s of latency (3 s ahead), clear below 5 s (5 s ahead)
    const band = detectWith([predicted(0, 6), predicted(1, 2)]);
    assert.deepEqual(only(band.findings, 'ConsumerBreachAhead'), [], '6 s old: 4 s ahead, not within warnAhead');
    assert.equal(band.lag.byScope.get('orders-svc/orders')?.warnClear, false, 'but not clear of the band either');
    const clear = detectWith([predicted(0, 4.9), rowAt('orders', 1, 0, WARN)]);
    assert.equal(clear.lag.byScope.get('orders-svc/orders')?.warnClear, true);
    const unknown = detectWith([predicted(0, 2), { ...rowAt('orders', 1, 4, WARN), lagSeconds: null }]);
    assert.equal(unknown.lag.byScope.get('orders-svc/orders')?.warnClear, null);
  });

  it('takes warnAhead from each group/topic rule, and from lag.warnAhead for a group/topic without one (detectOptionsFor)', () => {
    const opts = detectOptionsFor({ thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning', warnAheadMs: 3_000, overrides: [] });
    assert.equal(opts.defaultLagRule.warnAheadMs, 3_000);
    const g = { group: 'g', state: 'Stable', partitions: [predicted(0, 8)], rules: new Map() };
    const r = detect(snapshot({ partitions: ORDERS, groups: [g] }), emptyDetectMemory(), opts);
    assert.deepEqual(only(r.findings, 'ConsumerBreachAhead').map((f) => f.partitions), [[0]]);
    const off = detectOptionsFor({ thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning', warnAheadMs: 0, overrides: [] });
    assert.equal(off.defaultLagRule.warnAheadMs, undefined, '0s is off');
  });
});

describe('detect: CanaryDegraded', () => {
  it('reports a failed probe and a probe slower than the limit, not a healthy one', () => {
    const canary = [
      { broker: 1, latencyMs: 5, ok: true },
      { broker: 2, latencyMs: null, ok: false, error: 'produce timed out after 5000 ms' },
      { broker: 3, latencyMs: DEFAULT_DETECT_OPTIONS.canaryMaxLatencyMs + 1, ok: true },
    ];
    const r = run(snapshot({ partitions: ORDERS, canary }));
    assert.deepEqual(r.findings, [
      { kind: 'CanaryDegraded', broker: 2, latencyMs: null, error: 'produce timed out after 5000 ms' },
      { kind: 'CanaryDegraded', broker: 3, latencyMs: DEFAULT_DETECT_OPTIONS.canaryMaxLatencyMs + 1 },
    ]);
  });

  it('does not repeat an unreachable broker as a degraded canary', () => {
    const r = run(snapshot({ brokers: [broker(1), downBroker(2, T0), broker(3)], canary: [{ broker: 2, latencyMs: null, ok: false, error: 'timeout' }] }));
    assert.deepEqual(r.findings.map((f) => f.kind), ['BrokerUnreachable']);
  });
});

describe('detect: every finding kind from one snapshot', () => {
  it('can report all ten kinds at once', () => {
    const first = run(snapshot({ partitions: ORDERS }));
    const parts = withPartitions(
      ORDERS,
      partition('orders', 0, 2, [1, 2, 3], { isr: [2, 3], minIsr: 2 }), // leader moved, under-replicated; broker 1 loses preferred p0
      partition('orders', 3, 3, [1, 2, 3], { isr: [3], minIsr: 2 }), // under min ISR too
      partition('orders', 1, -1, [2, 3, 1], { isr: [2], minIsr: 2 }), // offline
    );
    const lenient = { ...RULE, thresholdMs: 3_600_000, resolveBelowMs: 3_000_000 };
    let memory = first.memory;
    let r: DetectResult | undefined;
    for (let s = 1; s <= DEFAULT_DETECT_OPTIONS.stallWindowMs / 1000 + 1; s++) {
      r = run(snapshot({
        takenAtMs: T0 + s * 1000,
        brokers: brokers(1, 2, 3).concat(downBroker(4, T0)),
        partitions: s === 1 ? parts : withPartitions(parts),
        groups: [
          group('orders-svc', [rowAt('orders', 2, 12)]),
          group('batch', [row('orders', 5, { committed: 100, end: 101 + s, lagMessages: 1 + s, lagSeconds: 1 })], { orders: lenient }),
        ],
        canary: [{ broker: 3, latencyMs: null, ok: false, error: 'timeout' }],
      }), memory);
      memory = r.memory;
      if (s === 1) assert.equal(only(r.findings, 'LeaderChanged').length, 3);
    }
    const down = run(unreachableSnapshot(T0 + 100_000), memory);
    const kinds = new Set([...(r as DetectResult).findings.map((f) => f.kind), 'LeaderChanged', ...down.findings.map((f) => f.kind)]);
    assert.deepEqual([...kinds].sort(), [
      'BrokerUnreachable', 'CanaryDegraded', 'ConsumerDeliveryLag', 'ConsumerStalled', 'KafkaUnreachable', 'LeaderChanged',
      'PartitionOffline', 'PartitionUnderMinIsr', 'PartitionUnderReplicated', 'PreferredLeaderImbalance',
    ]);
  });
});
