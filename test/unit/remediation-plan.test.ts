/**
 * Remediation plans (src/remediation/plan.ts) on hand-made metadata: each kind's moves,
 * elections and skipped partitions with their reasons, min.insync.replicas respected,
 * give-back touching only what vigil set, rack-aware least-loaded targets, throttles as
 * kafka-reassign-partitions sets them, the size guard, and the reassignment JSON.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterMetadata, PartitionInfo } from '../../src/kafka/types';
import {
  type PlanContext,
  planEvict,
  planGiveBack,
  planLeadElsewhere,
  planRestoreReplicationFactor,
  reassignmentJson,
} from '../../src/remediation/plan';

const part = (partition: number, replicas: number[], isr = replicas, leader = isr[0] ?? -1): PartitionInfo => ({ partition, leader, replicas, isr, offlineReplicas: [] });

function metadata(brokers: Array<number | [number, string]>, topics: Record<string, PartitionInfo[]>): ClusterMetadata {
  return {
    clusterId: 'c',
    controllerId: 1,
    brokers: brokers.map((b) => (Array.isArray(b) ? { nodeId: b[0], host: 'h', port: 9092, rack: b[1] } : { nodeId: b, host: 'h', port: 9092, rack: null })),
    topics: Object.entries(topics).map(([topic, partitions]) => ({ topic, isInternal: topic.startsWith('__'), partitions })),
  };
}

const ctx = (md: ClusterMetadata, extra: Partial<PlanContext> = {}): PlanContext => ({
  metadata: md,
  maxPlanSize: 100,
  throttleBytesPerSec: 50 * 1024 * 1024,
  cause: 'broker:3 slow',
  nowMs: 1_000,
  term: 7,
  ...extra,
});

describe('remediation plans (issue 7)', () => {
  it('lead elsewhere: another in-sync replica first, the sick broker last, a preferred election; no other ISR member → skipped', () => {
    const md = metadata([1, 2, 3], {
      orders: [part(0, [3, 1, 2]), part(1, [3, 1], [3]), part(2, [1, 3])],
      pay: [part(0, [3, 2, 1], [3, 1], 3)],
    });
    const plan = planLeadElsewhere(ctx(md), 3);
    assert.equal(plan.kind, 'lead-elsewhere');
    assert.deepEqual(plan.moves, [
      { topic: 'orders', partition: 0, from: [3, 1, 2], to: [1, 2, 3] },
      // 2 is not in sync: the first in-sync one leads
      { topic: 'pay', partition: 0, from: [3, 2, 1], to: [1, 2, 3] },
    ]);
    assert.deepEqual(plan.elections, [{ topic: 'orders', partition: 0 }, { topic: 'pay', partition: 0 }]);
    assert.deepEqual(plan.skipped, [{ topic: 'orders', partition: 1, reason: 'no other in-sync replica to lead (ISR 3)' }]);
    assert.equal(plan.throttle, null, 'the same replica set: nothing is copied');
    assert.equal(plan.term, 7);
    assert.equal(plan.cause, 'broker:3 slow');
  });

  it('lead elsewhere for a partition already in the new order (its election not run yet): the election alone', () => {
    const md = metadata([1, 2, 3], { t: [part(0, [2, 1, 3], [1, 2, 3], 3)] });
    const plan = planLeadElsewhere(ctx(md), 3);
    assert.deepEqual(plan.moves, []);
    assert.deepEqual(plan.elections, [{ topic: 't', partition: 0 }]);
    assert.match(plan.reason, /^move leadership of 1 partition off broker 3$/);
  });

  it('lead elsewhere never picks a broker to avoid or one missing from the metadata', () => {
    const md = metadata([1, 2, 3], { t: [part(0, [3, 4, 1, 2])] });
    assert.deepEqual(planLeadElsewhere(ctx(md, { avoid: new Set([1]) }), 3).moves, [{ topic: 't', partition: 0, from: [3, 4, 1, 2], to: [2, 4, 1, 3] }]);
  });

  it('evict: out of every in-sync replica set where the rest of the ISR meets min.insync.replicas', () => {
    const md = metadata([1, 2, 3], {
      a: [part(0, [1, 3, 2]), part(1, [3, 1]), part(2, [3, 1, 2], [3, 2]), part(3, [1, 3], [1])],
      b: [part(0, [3, 1, 2], [3, 2])],
    });
    const plan = planEvict(ctx(md, { minIsr: new Map([['a', 2], ['b', 1]]) }), 3);
    assert.deepEqual(plan.moves, [
      { topic: 'a', partition: 0, from: [1, 3, 2], to: [1, 2] },
      // min.insync.replicas forbids dropping 3 where it leads: it stays, last, and another in-sync replica leads
      { topic: 'a', partition: 1, from: [3, 1], to: [1, 3] },
      { topic: 'a', partition: 2, from: [3, 1, 2], to: [2, 1, 3] },
      // led by 3, 1 out of sync: the in-sync 2 goes first
      { topic: 'b', partition: 0, from: [3, 1, 2], to: [2, 1] },
    ]);
    assert.deepEqual(plan.elections, [
      { topic: 'a', partition: 1 },
      { topic: 'a', partition: 2 },
      { topic: 'b', partition: 0 },
    ]);
    assert.deepEqual(plan.skipped, [
      { topic: 'a', partition: 1, reason: 'the rest of the ISR (1) would be below min.insync.replicas 2: kept as the last replica, led by 1 instead' },
      { topic: 'a', partition: 2, reason: 'the rest of the ISR (2) would be below min.insync.replicas 2: kept as the last replica, led by 2 instead' },
    ]);
    assert.equal(plan.throttle, null, 'dropping a replica copies nothing');
    // a topic whose min.insync.replicas the map lacks is never dropped from: led elsewhere only
    const unknown = planEvict(ctx(md, { minIsr: new Map([['a', 2]]) }), 3);
    assert.deepEqual(unknown.moves.find((m) => m.topic === 'b'), { topic: 'b', partition: 0, from: [3, 1, 2], to: [2, 1, 3] });
    assert.match(unknown.skipped.find((s) => s.topic === 'b')?.reason ?? '', /^its min.insync.replicas is unknown/);
    // with min.insync.replicas 1 everywhere, every in-sync set loses broker 3; a-3 (3 out of sync) is untouched
    assert.deepEqual(planEvict(ctx(md), 3).moves.map((m) => `${m.topic}-${m.partition}`), ['a-0', 'a-1', 'a-2', 'b-0']);
  });

  it('give back: only partitions still as vigil left them, throttled where the broker must catch up', () => {
    const md = metadata([1, 2, 3], { a: [part(0, [1, 2]), part(1, [2, 1]), part(2, [1, 2])] });
    const changed = [
      { topic: 'a', partition: 0, from: [1, 3, 2], to: [1, 2] }, // evicted: 3 comes back
      { topic: 'a', partition: 1, from: [1, 2], to: [2, 1] }, // reordered: same set
      { topic: 'a', partition: 2, from: [3, 1, 2], to: [2, 1] }, // someone changed it since
      { topic: 'gone', partition: 0, from: [3, 1], to: [1, 3] },
    ];
    const plan = planGiveBack(ctx(md), 3, changed);
    assert.deepEqual(plan.moves, [
      { topic: 'a', partition: 0, from: [1, 2], to: [1, 3, 2] },
      { topic: 'a', partition: 1, from: [2, 1], to: [1, 2] },
    ]);
    assert.deepEqual(plan.elections, [{ topic: 'a', partition: 0 }, { topic: 'a', partition: 1 }]);
    assert.deepEqual(plan.skipped.map((s) => [s.topic, s.partition, s.reason.split(' (')[0]]), [
      ['a', 2, 'changed since vigil moved it'],
      ['gone', 0, 'the partition no longer exists'],
    ]);
    assert.deepEqual(plan.throttle, { bytesPerSec: 50 * 1024 * 1024, topics: { a: { leader: '0:1,0:2', follower: '0:3' } }, brokers: [1, 2, 3] });
  });

  it('restore the replication factor: a rack the partition does not use, then the least loaded broker; the position kept', () => {
    const md = metadata([[1, 'a'], [2, 'b'], [4, 'c'], [5, 'a']], {
      t: [part(0, [3, 1, 2], [1, 2], 1), part(1, [1, 3, 2], [1, 2]), part(2, [3, 1], [], -1)],
    });
    const plan = planRestoreReplicationFactor(ctx(md), 3);
    assert.deepEqual(plan.moves, [
      { topic: 't', partition: 0, from: [3, 1, 2], to: [4, 1, 2] },
      { topic: 't', partition: 1, from: [1, 3, 2], to: [1, 4, 2] },
      // rack a is used by 1; b (2) and c (4) are free: 2 holds fewer replicas after the two moves onto 4
      { topic: 't', partition: 2, from: [3, 1], to: [2, 1] },
    ]);
    assert.deepEqual(plan.elections, [{ topic: 't', partition: 2 }], 'only the partition left without a leader');
    assert.deepEqual(plan.throttle?.topics, { t: { leader: '0:3,0:1,0:2,1:1,1:3,1:2,2:3,2:1', follower: '0:4,1:4,2:2' } });
  });

  it('restore without racks spreads by load; a partition with no live broker outside its set is skipped', () => {
    const md = metadata([1, 2], { t: [part(0, [3, 1, 2], [1, 2], 1)], u: [part(0, [3, 1]), part(1, [3, 2])] });
    const plan = planRestoreReplicationFactor(ctx(md), 3);
    assert.deepEqual(plan.moves.map((m) => [m.topic, m.partition, m.to]), [
      ['u', 0, [2, 1]],
      ['u', 1, [1, 2]],
    ]);
    assert.deepEqual(plan.skipped, [{ topic: 't', partition: 0, reason: 'no live broker outside its replica set (3,1,2)' }]);
  });

  it('a plan larger than maxPlanSize is refused whole; ids are stable; the JSON is what kafka-reassign-partitions reads', () => {
    const md = metadata([1, 2, 3], { t: [part(0, [3, 1]), part(1, [3, 2]), part(2, [3, 1])] });
    const refused = planLeadElsewhere(ctx(md, { maxPlanSize: 2 }), 3);
    assert.equal(refused.moves.length, 3);
    assert.match(refused.refused ?? '', /3 partition moves exceed remediation.maxPlanSize \(2\)/);
    const a = planLeadElsewhere(ctx(md), 3);
    const b = planLeadElsewhere(ctx(md, { nowMs: 99 }), 3);
    assert.equal(a.id, b.id);
    assert.match(a.id, /^lead-elsewhere-3-[0-9a-f]{12}$/);
    assert.notEqual(a.id, planEvict(ctx(md), 3).id);
    assert.deepEqual(reassignmentJson(a), {
      version: 1,
      partitions: [
        { topic: 't', partition: 0, replicas: [1, 3] },
        { topic: 't', partition: 1, replicas: [2, 3] },
        { topic: 't', partition: 2, replicas: [1, 3] },
      ],
    });
  });

  it('internal topics are planned unless left out', () => {
    const md = metadata([1, 2, 3], { __consumer_offsets: [part(0, [3, 1])], t: [part(0, [3, 1])] });
    assert.equal(planLeadElsewhere(ctx(md), 3).moves.length, 2);
    assert.deepEqual(planLeadElsewhere(ctx(md, { includeInternal: false }), 3).moves.map((m) => m.topic), ['t']);
  });
});
