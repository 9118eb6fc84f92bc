/**
 * vigil_broker_answer_seconds{broker} (docs/design.md §7.4): each broker's typical slowest answer
 * time from the snapshot, leader only, no sample for a broker without answers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clearLeaderOnlyGauges, createMetrics } from '../../src/metrics';
import { LagSeries } from '../../src/monitor/lag-metrics';
import { recordCycleMetrics } from '../../src/reconcile/cycle-metrics';
import { broker, downBroker, snapshot, T0, unreachableSnapshot } from '../fakes/snapshots';

async function answerSeries(m: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const json = await m.brokerAnswerSeconds.get();
  return Object.fromEntries(json.values.map((v) => [String(v.labels['broker']), v.value]));
}

describe('vigil_broker_answer_seconds{broker}', () => {
  it("exports each broker's typical slowest answer in seconds; none for a broker that answered nothing in the window", async () => {
    const m = createMetrics({ nodeId: 'n1', cluster: 'c' });
    const answers = (ms: number | null) => ({ count: 3, p50Ms: 2, maxMs: 9, windowSlowestMs: ms, windowCycles: 10 });
    const snap = snapshot({ brokers: [broker(1, { answers: answers(4) }), broker(2, { answers: answers(2_300) }), downBroker(3, T0)] });
    recordCycleMetrics(m, new LagSeries(), snap, [], []);
    assert.deepEqual(await answerSeries(m), { 1: 0.004, 2: 2.3 });
    // Kafka unreadable: unknown, not what it last was
    recordCycleMetrics(m, new LagSeries(), unreachableSnapshot(T0), [], []);
    assert.deepEqual(await answerSeries(m), {});
    // a follower exports none
    recordCycleMetrics(m, new LagSeries(), snap, [], []);
    clearLeaderOnlyGauges(m);
    assert.deepEqual(await answerSeries(m), {});
  });
});
