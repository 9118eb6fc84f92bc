/**
 * The one-line summaries of docs/design.md §4 for the alerts the decide tests do not spell out:
 * each names the thing to look at and, where there is one, the action.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlertRecord } from '../../src/alerting/alert-state';
import { duration, firingSummary, list, resolvedSummary } from '../../src/alerting/summary';
import type { Finding } from '../../src/monitor/findings';
import { T0 } from '../fakes/snapshots';

function record(finding: Exclude<Finding, { kind: 'LeaderChanged' }>, startsAtMs = T0): AlertRecord {
  return { finding, severity: 'warning', startsAtMs, quietSinceMs: null };
}

describe('alert summaries (docs/design.md §4)', () => {
  it('cuts long partition lists and says how many more', () => {
    assert.equal(list([0, 3]), '0, 3');
    assert.equal(list(Array.from({ length: 200 }, (_, i) => i)), '0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 190 more');
  });

  it("names the group's coordinator when it is the broker to blame", () => {
    const finding = { kind: 'ConsumerDeliveryLag' as const, group: 'orders-svc', topic: 'orders', partitions: [0, 3], lagSeconds: 14.2, thresholdMs: 10_000, cause: 'broker:2' as const };
    const rec: AlertRecord = {
      ...record(finding),
      lag: {
        resolveBelowMs: 8_000, resolveForMs: 30_000, pagedCause: 'broker:2', causeSinceMs: T0, causePartitions: [0, 3], causeIsCoordinator: true,
        causeBroker: { kind: 'BrokerUnreachable', broker: 2, address: '10.0.0.2:9092', sinceMs: T0 },
      },
    };
    assert.equal(firingSummary(rec, T0), 'orders-svc is 14.2 s behind on orders (threshold 10 s); its group coordinator, broker 2, is unreachable');
  });

  it('says how the cause broker touches the group: leads, follows in sync, coordinates — now or within the last minute (issue 7, item 0)', () => {
    const finding = { kind: 'ConsumerDeliveryLag' as const, group: 'orders-svc', topic: 'orders', partitions: [0, 3], lagSeconds: 12.5, thresholdMs: 10_000, cause: 'broker:3' as const };
    const down = { kind: 'BrokerUnreachable' as const, broker: 3, address: '10.0.0.3:9092', sinceMs: T0 };
    const withTouch = (causeTouch: NonNullable<AlertRecord['lag']>['causeTouch'], causeBroker: NonNullable<AlertRecord['lag']>['causeBroker'] = down): AlertRecord => ({
      ...record(finding),
      lag: { resolveBelowMs: 8_000, resolveForMs: 30_000, pagedCause: 'broker:3', causeSinceMs: T0, causePartitions: [0, 3], causeTouch, causeBroker },
    });
    const now = T0 + 12_000;
    const head = 'orders-svc is 12.5 s behind on orders (threshold 10 s); ';
    assert.equal(firingSummary(withTouch({ role: 'leader', now: true }), now), `${head}partitions 0, 3 are led by broker 3, which is unreachable`);
    assert.equal(firingSummary(withTouch({ role: 'leader', now: false }), now), `${head}partitions 0, 3 were led by broker 3 within the last minute, which is unreachable`);
    assert.equal(
      firingSummary(withTouch({ role: 'follower', now: true }, { kind: 'CanaryDegraded', broker: 3, latencyMs: 4_200 }), now),
      `${head}broker 3, an in-sync replica of partitions 0, 3 that producers with acks=all and consumers wait for, whose canary takes 4.2 s from produce to consume`,
    );
    assert.equal(firingSummary(withTouch({ role: 'coordinator', now: false }), now), `${head}its group coordinator until recently, broker 3, is unreachable`);
    assert.equal(
      firingSummary(withTouch({ role: 'leader', now: false, healthySinceMs: T0 + 2_000 }, null), now),
      `${head}partitions 0, 3 were led by broker 3 within the last minute, which was unhealthy until 10 s ago`,
    );
    assert.doesNotMatch(firingSummary(withTouch({ role: 'leader', now: false }), now), /brokers healthy/);
  });

  it('names a broker slow to answer vigil with its answer times and the others\' (docs/design.md §4.3, issue 7 item 1)', () => {
    const finding = { kind: 'ConsumerDeliveryLag' as const, group: 'orders-svc', topic: 'orders', partitions: [1, 4], lagSeconds: 14, thresholdMs: 10_000, cause: 'broker:2' as const };
    const slow = (role: 'leader' | 'follower' | 'coordinator'): AlertRecord => ({
      ...record(finding),
      lag: { resolveBelowMs: 8_000, resolveForMs: 30_000, pagedCause: 'broker:2', causeSinceMs: T0, causePartitions: [1, 4], causeTouch: { role, now: true, answers: { ms: 2_300, othersMs: 4.5 } }, causeBroker: null },
    });
    const head = 'orders-svc is 14 s behind on orders (threshold 10 s); ';
    assert.equal(firingSummary(slow('leader'), T0), `${head}partitions 1, 4 are led by broker 2, which answers in up to 2.3 s a cycle, the others in 4.5 ms`);
    assert.equal(firingSummary(slow('follower'), T0), `${head}broker 2, an in-sync replica of partitions 1, 4 that producers with acks=all and consumers wait for, answers in up to 2.3 s a cycle, the others in 4.5 ms`);
    assert.equal(firingSummary(slow('coordinator'), T0), `${head}its group coordinator, broker 2, answers in up to 2.3 s a cycle, the others in 4.5 ms`);
  });

  it('a broker found unreachable this cycle is not "unreachable for 0 s"', () => {
    const f = { kind: 'BrokerUnreachable' as const, broker: 3, address: '10.0.0.3:9092', sinceMs: T0, error: 'connect ECONNREFUSED 10.0.0.3:9092' };
    assert.equal(firingSummary(record(f), T0 + 300), 'broker 3 (10.0.0.3:9092) unreachable: connect ECONNREFUSED 10.0.0.3:9092');
    assert.equal(firingSummary(record(f), T0 + 9_000), 'broker 3 (10.0.0.3:9092) unreachable for 9 s: connect ECONNREFUSED 10.0.0.3:9092');
  });

  it('writes durations a person reads at a glance', () => {
    assert.deepEqual([400, 12_000, 60_000, 245_000, 3_600_000, 7_380_000].map(duration), ['0 s', '12 s', '1 min', '4 min 5 s', '1 h', '2 h 3 min']);
  });

  it('names the partitions, brokers and groups of each alert kind, and the action where there is one', () => {
    const now = T0 + 65_000;
    assert.equal(firingSummary(record({ kind: 'PartitionOffline', topics: [{ topic: 'orders', partitions: [1] }] }), now), '1 partition has no leader (offline): orders 1');
    assert.equal(
      firingSummary(record({ kind: 'PartitionUnderMinIsr', broker: 2, topics: [{ topic: 'orders', partitions: [0, 3] }] }), now),
      '2 partitions are below min.insync.replicas with broker 2 out of sync, so acks=all producers to them fail: orders 0, 3',
    );
    const many = Array.from({ length: 7 }, (_, i) => ({ topic: `t${i}`, partitions: [0, 1] }));
    assert.equal(
      firingSummary(record({ kind: 'PartitionUnderReplicated', broker: 3, topics: many }), now),
      'broker 3 is missing from the in-sync replicas of 14 partitions in 7 topics: t0 0, 1; t1 0, 1; t2 0, 1; t3 0, 1; t4 0, 1; … and 2 more topics',
    );
    assert.equal(
      firingSummary(record({ kind: 'PreferredLeaderImbalance', broker: 2, partitions: 40 }), now),
      'broker 2 does not lead 40 partitions it is the preferred replica of; run a preferred leader election (kafka-leader-election.sh --election-type PREFERRED)',
    );
    assert.equal(
      firingSummary(record({ kind: 'ConsumerStalled', group: 'batch', topic: 'orders', partitions: [0, 3], stalledForMs: 65_000 }), now),
      'batch has not moved its committed offsets on orders for 1 min 5 s while messages arrive (partitions 0, 3)',
    );
    assert.equal(firingSummary(record({ kind: 'CanaryDegraded', broker: 3, latencyMs: null, error: 'produce timed out' }), now), 'canary via broker 3 fails: produce timed out');
    assert.equal(
      resolvedSummary({ ...record({ kind: 'BrokerUnreachable', broker: 2, address: '127.0.0.1:9093', sinceMs: T0 - 5_000 }), quietSinceMs: T0 + 40_000 }, now),
      'broker 2 (127.0.0.1:9093) reachable again (unreachable for 45 s)',
    );
  });
});
