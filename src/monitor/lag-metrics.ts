/**
 * The leader's delivery-latency series (docs/design.md §7 `vigil_consumer_group_lag_seconds`,
 * `..._messages`, `vigil_consumer_group_breach_in_seconds`), one per group and topic, from
 * the same summary as GET /api/v1/lag, so metrics, API and pages agree.
 *
 * What was not measured is not exported: a 0 for "could not tell" made dashboards green
 * exactly while vigil was blind (issue 8). Instead each group/topic carries
 * `vigil_consumer_group_lag_last_measured_timestamp_seconds`, the time of the last cycle
 * that measured every one of its partitions; `time() - that` is how stale the picture is.
 */
import type { Metrics } from '../metrics';
import { lagReportFromSnapshot } from './lag-report';
import type { KafkaSnapshot } from './snapshot';

type LagGauges = Pick<Metrics, 'consumerLagSeconds' | 'consumerLagMessages' | 'consumerBreachInSeconds' | 'consumerLagLastMeasuredSeconds'>;

export class LagSeries {
  /** group → topic → when every partition was last measured (ms); dropped when the pair is gone */
  private lastMeasured = new Map<string, Map<string, number>>();

  /** Rebuilds the series from one cycle's snapshot. */
  record(m: LagGauges, snapshot: KafkaSnapshot): void {
    m.consumerLagSeconds.reset();
    m.consumerLagMessages.reset();
    m.consumerBreachInSeconds.reset();
    // Kafka unreadable: nothing was measured; the timestamps stay and grow old.
    if (!snapshot.ok) return;

    // thresholdMs is only used for the report's header, which is not exported here
    const report = lagReportFromSnapshot(snapshot.groups, snapshot.takenAtMs, 0);
    // Groups and topics that went away (or left the filter) disappear: only what this
    // cycle reports is carried over.
    const next = new Map<string, Map<string, number>>();
    for (const g of report.groups) {
      const last = this.lastMeasured.get(g.group);
      if (g.error !== undefined) {
        // offsets unreadable this cycle: the group is still there, only unmeasured
        if (last !== undefined) next.set(g.group, last);
        continue;
      }
      const topics = new Map<string, number>();
      for (const t of g.topics) {
        const labels = { group: g.group, topic: t.topic };
        if (t.lagSeconds !== null) m.consumerLagSeconds.set(labels, t.lagSeconds);
        if (t.lagMessages !== null) m.consumerLagMessages.set(labels, t.lagMessages);
        // the soonest known breach (an upper bound when some partition is unknown); none ahead, no sample
        if (t.breachInSeconds !== null) m.consumerBreachInSeconds.set(labels, t.breachInSeconds);
        const atMs = t.partitions.every((p) => p.lagSeconds !== null) ? snapshot.takenAtMs : last?.get(t.topic);
        if (atMs !== undefined) topics.set(t.topic, atMs);
      }
      if (topics.size > 0) next.set(g.group, topics);
    }
    this.lastMeasured = next;
    m.consumerLagLastMeasuredSeconds.reset();
    for (const [group, topics] of this.lastMeasured) {
      for (const [topic, atMs] of topics) m.consumerLagLastMeasuredSeconds.set({ group, topic }, atMs / 1000);
    }
  }

  /** No longer leader: forget what was measured (the gauges are cleared with the others). */
  clear(): void {
    this.lastMeasured.clear();
  }
}
