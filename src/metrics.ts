/**
 * Every Prometheus metric vigil exports, registered in one place (docs/design.md §7 names them;
 * dashboards and alert rules depend on the names). Components receive this object and
 * update it; nothing else creates metrics. Labels are bounded: no per-partition series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from './version';

export interface MetricsOptions {
  nodeId: string;
  cluster: string;
  /** process_* and nodejs_* metrics; off in unit tests to keep them cheap */
  defaultMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions) {
  const registry = new Registry();
  registry.setDefaultLabels({ cluster: opts.cluster, node_id: opts.nodeId });
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const r = [registry];

  const buildInfo = new Gauge({ name: 'vigil_build_info', help: 'Always 1; labels carry the version', labelNames: ['version', 'node_version'], registers: r });
  buildInfo.set({ version: VERSION, node_version: process.version }, 1);

  const metrics = {
    registry,
    electionTerm: new Gauge({ name: 'vigil_election_term', help: 'Current election term of this replica', registers: r }),
    electionIsLeader: new Gauge({ name: 'vigil_election_is_leader', help: '1 while this replica is leader with a valid lease', registers: r }),
    electionLeaderChanges: new Counter({ name: 'vigil_election_leader_changes_total', help: 'Leader changes observed by this replica', registers: r }),
    peerLastContactSeconds: new Gauge({ name: 'vigil_peer_last_contact_seconds', help: 'Seconds since the last authenticated message from each peer', labelNames: ['peer'], registers: r }),
    peerMessagesRejected: new Counter({ name: 'vigil_peer_messages_rejected_total', help: 'Peer messages rejected, by reason', labelNames: ['reason'], registers: r }),

    kafkaUp: new Gauge({ name: 'vigil_kafka_up', help: '1 when the last Kafka snapshot succeeded', registers: r }),
    kafkaBrokers: new Gauge({ name: 'vigil_kafka_brokers', help: 'Brokers by state', labelNames: ['state'], registers: r }),
    kafkaPartitions: new Gauge({ name: 'vigil_kafka_partitions', help: 'Partitions by state (total|offline|under_replicated|under_min_isr)', labelNames: ['state'], registers: r }),
    offsetsStreamPartitions: new Gauge({
      name: 'vigil_offsets_stream_partitions',
      help: "__consumer_offsets partitions this replica's commit stream reads (state=total) and vouches for: read to the end and fresh (state=vouched)",
      labelNames: ['state'],
      registers: r,
    }),
    offsetsStreamStalenessSeconds: new Gauge({
      name: 'vigil_offsets_stream_staleness_seconds',
      help: 'Age of the oldest freshness among the partitions the commit stream vouches for (absent while it vouches for none)',
      registers: r,
    }),
    breachScheduleArmed: new Gauge({ name: 'vigil_breach_schedule_armed', help: 'Breaches armed by the leader: lagging rows whose exact breach instant is within the schedule horizon', registers: r }),
    breachSchedule: new Counter({
      name: 'vigil_breach_schedule_total',
      help: 'Armed breaches at their instant, by outcome: confirmed (paged at once), committed (the group committed first), unconfirmed (left to the next cycle)',
      labelNames: ['outcome'],
      registers: r,
    }),
    breachScheduleDisagreements: new Counter({
      name: 'vigil_breach_schedule_disagreements_total',
      help: 'The exact test and the breach schedule disagreeing, by kind: exact-earlier (a breach before its armed instant), exact-later (a confirmed breach a later exact test does not see)',
      labelNames: ['kind'],
      registers: r,
    }),
    offsetsGroups: new Gauge({ name: 'vigil_offsets_groups', help: "Groups whose committed offsets the leader's last cycle read, by source (stream|poll)", labelNames: ['source'], registers: r }),
    kafkaLeaderChanges: new Counter({ name: 'vigil_kafka_leader_changes_total', help: 'Partition leader changes observed', registers: r }),
    consumerLagSeconds: new Gauge({ name: 'vigil_consumer_group_lag_seconds', help: 'Delivery latency: age of the oldest unconsumed message, max over partitions', labelNames: ['group', 'topic'], registers: r }),
    consumerLagMessages: new Gauge({ name: 'vigil_consumer_group_lag_messages', help: 'Messages behind, summed over partitions', labelNames: ['group', 'topic'], registers: r }),
    consumerBreachInSeconds: new Gauge({
      name: 'vigil_consumer_group_breach_in_seconds',
      help: 'Predicted time to breach: seconds until the group breaches its delivery-latency threshold on the topic if it commits nothing more, min over its partitions behind (0 while in breach); no sample when none is behind or it is unknown',
      labelNames: ['group', 'topic'],
      registers: r,
    }),
    consumerLagLastMeasuredSeconds: new Gauge({
      name: 'vigil_consumer_group_lag_last_measured_timestamp_seconds',
      help: 'Unix time of the last cycle that measured the delivery latency of every partition of the group and topic',
      labelNames: ['group', 'topic'],
      registers: r,
    }),
    canaryLatencySeconds: new Gauge({ name: 'vigil_canary_latency_seconds', help: 'Canary produce-to-consume latency per broker', labelNames: ['broker'], registers: r }),
    brokerAnswerSeconds: new Gauge({
      name: 'vigil_broker_answer_seconds',
      help: "How long each broker takes to answer vigil's requests: the slowest answer of a typical cycle (the median over the last 10 cycles of each cycle's slowest), which the slow-broker evidence compares across brokers; no sample for a broker that answered nothing in them",
      labelNames: ['broker'],
      registers: r,
    }),
    // The KRaft controller quorum (DescribeQuorum), as its leader reports it.
    controllerQuorumObservable: new Gauge({
      name: 'vigil_controller_quorum_observable',
      help: '1 while the leader watches the KRaft controller quorum, 0 while Kafka refuses it DescribeQuorum (no DESCRIBE on the cluster); no sample when the cluster has no KRaft quorum',
      registers: r,
    }),
    controllerQuorumLeaderId: new Gauge({ name: 'vigil_controller_quorum_leader_id', help: 'Node id of the KRaft controller quorum leader; -1 while there is none (or the quorum cannot be described)', registers: r }),
    controllerQuorumLeaderEpoch: new Gauge({ name: 'vigil_controller_quorum_leader_epoch', help: 'Epoch of the KRaft controller quorum leader (rises with every controller election)', registers: r }),
    controllerQuorumVoters: new Gauge({ name: 'vigil_controller_quorum_voters', help: 'Voters of the KRaft controller quorum', registers: r }),
    controllerQuorumVotersCaughtUp: new Gauge({ name: 'vigil_controller_quorum_voters_caught_up', help: 'Voters caught up with the quorum leader (the leader included)', registers: r }),
    controllerQuorumVoterLagRecords: new Gauge({ name: 'vigil_controller_quorum_voter_lag_records', help: "Records each voter is behind the quorum leader's log end", labelNames: ['voter'], registers: r }),
    controllerQuorumVoterLagSeconds: new Gauge({
      name: 'vigil_controller_quorum_voter_lag_seconds',
      help: "Seconds since each voter was last caught up with the quorum leader, on the leader's clock",
      labelNames: ['voter'],
      registers: r,
    }),

    // The failover timeline (docs/monitoring.md "Failover timeline"): leader changes by kind
    // (vigil: elections this replica won; controller: KRaft epochs; partition: partitions
    // whose leader moved), how long nobody led, and partitions without a live leader now.
    failoverLeaderChanges: new Counter({
      name: 'vigil_failover_leader_changes_total',
      help: 'Leader changes on the failover timeline, by kind: vigil (elections this replica won), controller (KRaft quorum epochs), partition (partitions whose leader moved)',
      labelNames: ['kind'],
      registers: r,
    }),
    failoverLeaderlessSeconds: new Histogram({
      name: 'vigil_failover_leaderless_seconds',
      help: 'How long nobody led, per leader change on the failover timeline (partition: each partition window; bounds known to within one poll interval)',
      labelNames: ['kind'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: r,
    }),
    failoverPartitionsLeaderless: new Gauge({
      name: 'vigil_failover_partitions_leaderless',
      help: 'Partitions without a live leader in the last snapshot: none named, or the named broker is unreachable or fenced (leader only)',
      registers: r,
    }),

    alertsFiring: new Gauge({ name: 'vigil_alerts_firing', help: 'Alerts firing', labelNames: ['alert', 'severity'], registers: r }),
    notifications: new Counter({ name: 'vigil_notifications_total', help: 'Notification deliveries by channel and outcome', labelNames: ['channel', 'outcome'], registers: r }),
    // The leader's owed pages (queued, failed or waiting to be retried), per configured
    // channel: 0 on followers and when everything is delivered.
    outboxPending: new Gauge({ name: 'vigil_outbox_pending', help: 'Pages owed on each channel, not yet delivered (leader only)', labelNames: ['channel'], registers: r }),
    outboxOldestPendingSeconds: new Gauge({
      name: 'vigil_outbox_oldest_pending_seconds',
      help: 'Age of the oldest page owed on each channel, since the leader first tried it; 0 when none (leader only)',
      labelNames: ['channel'],
      registers: r,
    }),
    remediationActions: new Counter({ name: 'vigil_remediation_actions_total', help: 'Kafka mutations remediation sent, by step (throttle, reassign, elect, unthrottle) and outcome (ok, error)', labelNames: ['action', 'outcome'], registers: r }),
    remediationPlans: new Counter({ name: 'vigil_remediation_plans_total', help: 'Remediation plans made, by kind and first status (proposed, executing, refused)', labelNames: ['kind', 'status'], registers: r }),
    pollDurationSeconds: new Histogram({
      name: 'vigil_poll_duration_seconds',
      help: 'Duration of one reconcile cycle (observe + detect + decide + act)',
      buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5],
      registers: r,
    }),
    redisUp: new Gauge({ name: 'vigil_redis_up', help: '1 when Redis answered the last command', registers: r }),
    fencedWritesRejected: new Counter({ name: 'vigil_fenced_writes_rejected_total', help: 'Writes refused by the Redis fence because a newer term exists', registers: r }),
  };
  clearLeaderOnlyGauges(metrics);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Gauges only the leader writes: what vigil sees of Kafka. Every other replica exports no
 * value for them (not 0): a follower's `vigil_kafka_up 0` or stale lag would read as an
 * outage or as health on a dashboard that sums or maxes over replicas.
 */
function leaderOnlyGauges(m: Metrics): { labelled: Gauge[]; unlabelled: Gauge[] } {
  return {
    labelled: [
      m.kafkaBrokers, m.kafkaPartitions, m.offsetsGroups, m.consumerLagSeconds, m.consumerLagMessages, m.consumerBreachInSeconds, m.consumerLagLastMeasuredSeconds, m.alertsFiring, m.canaryLatencySeconds, m.brokerAnswerSeconds,
      ...quorumGauges(m).labelled,
    ],
    unlabelled: [m.kafkaUp, m.failoverPartitionsLeaderless, m.breachScheduleArmed, ...quorumGauges(m).unlabelled],
  };
}

/** The controller quorum's gauges (leader only): what src/monitor/quorum-metrics.ts writes. */
export function quorumGauges(m: Metrics): { labelled: Gauge[]; unlabelled: Gauge[] } {
  return {
    labelled: [m.controllerQuorumVoterLagRecords, m.controllerQuorumVoterLagSeconds],
    unlabelled: [m.controllerQuorumObservable, m.controllerQuorumLeaderId, m.controllerQuorumLeaderEpoch, m.controllerQuorumVoters, m.controllerQuorumVotersCaughtUp],
  };
}

/**
 * Removes every value of the leader-only gauges. prom-client reports a gauge without
 * labels as 0 until it is set (and `reset()` puts that 0 back); `remove()` with no labels
 * drops the value, so the metric is exported with no sample.
 */
export function clearLeaderOnlyGauges(m: Metrics): void {
  const { labelled, unlabelled } = leaderOnlyGauges(m);
  for (const g of labelled) g.reset();
  for (const g of unlabelled) g.remove();
}
