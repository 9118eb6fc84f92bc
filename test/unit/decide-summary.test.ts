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
