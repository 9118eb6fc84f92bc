/**
 * The leader's lag series (src/monitor/lag-metrics.ts; issue 8 defect 12 "unmeasured lag
 * is exported as 0"): what could not be measured is not exported, and
 * vigil_consumer_group_lag_last_measured_timestamp_seconds says when each group/topic
 * was last measured in full.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clearLeaderOnlyGauges, createMetrics } from '../../src/metrics';
import { LagSeries } from '../../src/monitor/lag-metrics';
import { lagReportFromSnapshot } from '../../src/monitor/lag-report';
import type { GroupPartitionLag, GroupState, KafkaSnapshot } from '../../src/monitor/snapshot';

type Part = Pick<GroupPartitionLag, 'topic' | 'partition' | 'lagSeconds' | 'lagMessages'>;

function group(name: string, parts: Part[], error?: string): GroupState {
  return {
    group: name,
    state: 'Stable',
    rules: new Map(),
    partitions: parts.map((p) => ({ committed: 0, end: p.lagMessages, breach: p.lagSeconds === null ? null : false, aboveResolveBelow: null, ...p })),
    ...(error ? { error } : {}),
  };
}

function snapshot(takenAtMs: number, groups: GroupState[]): KafkaSnapshot {
  return { ok: true, takenAtMs, clusterId: 'c', controllerId: 1, brokers: [], partitions: [], groups, canary: null, quorum: { state: 'unobservable', cause: 'not-kraft', reason: 'not asked' } };
}

async function series(metrics: ReturnType<typeof createMetrics>, name: string): Promise<Record<string, number>> {
  const values = (await metrics.registry.getSingleMetric(name)!.get()).values;
  return Object.fromEntries(values.map((v) => [`${v.labels['group']}/${v.labels['topic']}`, v.value]));
}

const known = (topic: string, partition: number, lagSeconds: number, lagMessages: number): Part => ({ topic, partition, lagSeconds, lagMessages });
const unknown = (topic: string, partition: number): Part => ({ topic, partition, lagSeconds: null, lagMessages: null });

describe('LagSeries', () => {
  it('exports max seconds and summed messages per group/topic, with the time they were measured', async () => {
    const m = createMetrics({ nodeId: 'n', cluster: 'c' });
    new LagSeries().record(m, snapshot(1_700_000_000_000, [group('svc', [known('orders', 0, 3, 5), known('orders', 1, 7, 2)])]));
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_seconds'), { 'svc/orders': 7 });
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_messages'), { 'svc/orders': 7 });
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_last_measured_timestamp_seconds'), { 'svc/orders': 1_700_000_000 });
  });

  it('an unmeasured group/topic has no seconds or messages series; its last-measured time stays where it was', async () => {
    const m = createMetrics({ nodeId: 'n', cluster: 'c' });
    const lag = new LagSeries();
    lag.record(m, snapshot(1_000_000, [group('svc', [known('orders', 0, 0, 0), known('orders', 1, 0, 0)])]));
    lag.record(m, snapshot(1_001_000, [group('svc', [known('orders', 0, 0, 0), unknown('orders', 1)])]));
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_seconds'), {}, 'a caught-up partition must not make an unknown one look like 0');
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_messages'), {});
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_last_measured_timestamp_seconds'), { 'svc/orders': 1_000 });
  });

  it('a partly measured group/topic exports what is known to be behind (a lower bound); its time does not advance', async () => {
    const m = createMetrics({ nodeId: 'n', cluster: 'c' });
    const lag = new LagSeries();
    lag.record(m, snapshot(1_000_000, [group('svc', [known('orders', 0, 4, 1), known('orders', 1, 0, 0)])]));
    lag.record(m, snapshot(1_001_000, [group('svc', [known('orders', 0, 12, 3), unknown('orders', 1)])]));
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_seconds'), { 'svc/orders': 12 });
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_messages'), {}, 'a sum with an unknown part is unknown');
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_last_measured_timestamp_seconds'), { 'svc/orders': 1_000 });
  });

  it("the same caught-up rows as last cycle (an idle group's, reused by the observer) give the same series, measured now", async () => {
    const m = createMetrics({ nodeId: 'n', cluster: 'c' });
    const lag = new LagSeries();
    const idle = group('svc', [known('orders', 0, 0, 0), known('orders', 1, 0, 0)]);
    const busy = (s: number) => group('etl', [known('orders', 0, s, 4)]);
    lag.record(m, snapshot(1_000_000, [idle, busy(3)]));
    lag.record(m, snapshot(1_001_000, [idle, busy(5)]));
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_seconds'), { 'svc/orders': 0, 'etl/orders': 5 });
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_last_measured_timestamp_seconds'), { 'svc/orders': 1_001, 'etl/orders': 1_001 });
    // the idle group falls behind: new rows, new figures
    lag.record(m, snapshot(1_002_000, [group('svc', [known('orders', 0, 0, 0), known('orders', 1, 9, 2)]), busy(5)]));
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_seconds'), { 'svc/orders': 9, 'etl/orders': 5 });
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_messages'), { 'svc/orders': 2, 'etl/orders': 4 });
  });

  it('Kafka unreadable: no lag series at all; the last-measured times remain and grow old', async () => {
    const m = createMetrics({ nodeId: 'n', cluster: 'c' });
    const lag = new LagSeries();
    lag.record(m, snapshot(1_000_000, [group('svc', [known('orders', 0, 0, 0)])]));
    lag.record(m, { ok: false, takenAtMs: 1_001_000, error: 'could not reach any Kafka broker' });
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_seconds'), {});
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_messages'), {});
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_last_measured_timestamp_seconds'), { 'svc/orders': 1_000 });
  });

  it('a group whose offsets could not be read keeps its last-measured times; a group that is gone loses them', async () => {
    const m = createMetrics({ nodeId: 'n', cluster: 'c' });
    const lag = new LagSeries();
    lag.record(m, snapshot(1_000_000, [group('a', [known('t', 0, 0, 0)]), group('b', [known('t', 0, 0, 0)])]));
    lag.record(m, snapshot(1_001_000, [group('a', [], 'coordinator not available')]));
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_last_measured_timestamp_seconds'), { 'a/t': 1_000 });
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_seconds'), {});
  });

  it('exports the soonest time to breach per group/topic: 0 in breach, none when nothing is behind or it is unknown (docs/design.md §3.8)', async () => {
    const m = createMetrics({ nodeId: 'n', cluster: 'c' });
    const T = 1_000_000;
    const behind = (topic: string, partition: number, extra: Partial<GroupPartitionLag>): GroupPartitionLag => ({
      topic, partition, committed: 0, end: 5, lagMessages: 5, breach: false, aboveResolveBelow: null, lagSeconds: 4, ...extra,
    });
    const svc: GroupState = {
      group: 'svc',
      state: 'Stable',
      rules: new Map(),
      partitions: [
        behind('orders', 0, { breachAtMs: T + 6_000, breachAtExact: true }),
        behind('orders', 1, { breachAtMs: T + 2_500, breachAtExact: false }),
        behind('payments', 0, { breach: true, lagSeconds: 12, breachAtMs: T - 2_000, breachAtExact: true }),
        behind('audit', 0, { lagSeconds: null }),
        { topic: 'idle', partition: 0, committed: 5, end: 5, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0 },
      ],
    };
    const lag = new LagSeries();
    lag.record(m, snapshot(T, [svc]));
    assert.deepEqual(await series(m, 'vigil_consumer_group_breach_in_seconds'), { 'svc/orders': 2.5, 'svc/payments': 0 });
    lag.record(m, { ok: false, takenAtMs: T + 1000, error: 'could not reach any Kafka broker' });
    assert.deepEqual(await series(m, 'vigil_consumer_group_breach_in_seconds'), {}, 'Kafka unreadable: no prediction');
  });

  it('the time to breach is a leader-only gauge: a follower exports no sample', async () => {
    const m = createMetrics({ nodeId: 'n', cluster: 'c' });
    m.consumerBreachInSeconds.set({ group: 'svc', topic: 'orders' }, 3);
    clearLeaderOnlyGauges(m);
    assert.deepEqual(await series(m, 'vigil_consumer_group_breach_in_seconds'), {});
  });
});

describe('LagSeries and GET /api/v1/lag agree', () => {
  it('every group/topic figure equals the lag report built from the same snapshot', async () => {
    // a fixed pseudo-random mix: caught up, behind, in breach, unknown, several topics per group
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const T = 1_000_000;
    const groups: GroupState[] = [];
    for (let g = 0; g < 40; g++) {
      const partitions: GroupPartitionLag[] = [];
      for (const topic of ['orders', 'payments', 'audit'].slice(0, 1 + (g % 3))) {
        for (let p = 0; p < 4; p++) {
          const r = rand();
          if (r < 0.3) partitions.push({ topic, partition: p, committed: 9, end: 9, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0 });
          else if (r < 0.45) partitions.push({ topic, partition: p, committed: 1, end: null, lagMessages: null, breach: null, aboveResolveBelow: null, lagSeconds: null, error: 'end offset unavailable' });
          else {
            const breach = r > 0.85;
            partitions.push({ topic, partition: p, committed: 1, end: 9, lagMessages: 8, breach, aboveResolveBelow: breach, lagSeconds: r < 0.55 ? null : Math.round(r * 200) / 10, breachAtMs: T + Math.round((r - 0.5) * 20_000), breachAtExact: r > 0.7 });
          }
        }
      }
      groups.push({ group: `g${g}`, state: 'Stable', rules: new Map(), partitions });
    }
    const m = createMetrics({ nodeId: 'n', cluster: 'c' });
    new LagSeries().record(m, snapshot(T, groups));
    const report = lagReportFromSnapshot(groups, T, 10_000);
    const want = (pick: (t: { lagSeconds: number | null; lagMessages: number | null; breachInSeconds: number | null }) => number | null) =>
      Object.fromEntries(report.groups.flatMap((g) => g.topics.map((t) => [`${g.group}/${t.topic}`, pick(t)] as const)).filter(([, v]) => v !== null));
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_seconds'), want((t) => t.lagSeconds));
    assert.deepEqual(await series(m, 'vigil_consumer_group_lag_messages'), want((t) => t.lagMessages));
    assert.deepEqual(await series(m, 'vigil_consumer_group_breach_in_seconds'), want((t) => t.breachInSeconds));
    assert.ok(Object.keys(want((t) => t.breachInSeconds)).length > 5, 'the mix has predictions to compare');
  });
});
