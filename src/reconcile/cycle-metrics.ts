/**
 * The leader's gauges after a cycle (docs/design.md §1 act step 4). Only the leader reports
 * Kafka's state; a follower clears them (clearLeaderOnlyGauges).
 */
import type { Alert } from '../alerting/types';
import type { Metrics } from '../metrics';
import type { Finding } from '../monitor/findings';
import type { LagSeries } from '../monitor/lag-metrics';
import { type KafkaSnapshot, partitionHealth } from '../monitor/snapshot';
import type { TimeSlices } from '../util/slices';

export function recordCycleMetrics(m: Metrics, lagSeries: LagSeries, snapshot: KafkaSnapshot, findings: readonly Finding[], firing: readonly Alert[]): void {
  // Unmeasured lag exports no series (never 0); see lag-metrics.ts.
  lagSeries.record(m, snapshot);
  recordKafkaMetrics(m, snapshot, findings, firing);
}

/** recordCycleMetrics() with the event loop let through between slices of the groups (the leader's settle). */
export async function recordCycleMetricsSliced(m: Metrics, lagSeries: LagSeries, snapshot: KafkaSnapshot, findings: readonly Finding[], firing: readonly Alert[], slices: TimeSlices): Promise<void> {
  await lagSeries.recordSliced(m, snapshot, slices);
  recordKafkaMetrics(m, snapshot, findings, firing);
}

function recordKafkaMetrics(m: Metrics, snapshot: KafkaSnapshot, findings: readonly Finding[], firing: readonly Alert[]): void {
  m.kafkaUp.set(snapshot.ok ? 1 : 0);
  if (!snapshot.ok) {
    // Kafka unreadable: broker and partition counts are unknown, not what they last were.
    m.kafkaBrokers.reset();
    m.kafkaPartitions.reset();
    m.brokerAnswerSeconds.reset();
  } else {
    let up = 0;
    let down = 0;
    for (const b of snapshot.brokers) {
      if (b.reachable && b.inMetadata) up++;
      else down++;
    }
    m.kafkaBrokers.set({ state: 'up' }, up);
    m.kafkaBrokers.set({ state: 'down' }, down);
    // a typical cycle's slowest answer (docs/design.md §4.3); a broker without answers in the window has no sample
    m.brokerAnswerSeconds.reset();
    for (const b of snapshot.brokers) {
      const ms = b.answers?.windowSlowestMs;
      if (ms !== undefined && ms !== null) m.brokerAnswerSeconds.set({ broker: String(b.nodeId) }, ms / 1000);
    }
    const health = partitionHealth(snapshot.partitions);
    m.kafkaPartitions.set({ state: 'total' }, health.total);
    m.kafkaPartitions.set({ state: 'offline' }, health.offline);
    m.kafkaPartitions.set({ state: 'under_replicated' }, health.underReplicated);
    m.kafkaPartitions.set({ state: 'under_min_isr' }, health.underMinIsr);
  }
  const leaderChanges = findings.filter((f) => f.kind === 'LeaderChanged').length;
  if (leaderChanges > 0) m.kafkaLeaderChanges.inc(leaderChanges);
  m.alertsFiring.reset();
  for (const a of firing) m.alertsFiring.inc({ alert: a.alert, severity: a.severity });
}
