/**
 * Findings, alerts and notifications (docs/design.md §4) as plain data, shared by detect and decide
 * (pure), the notifier (channels) and the state store (Redis outbox).
 */
import type { Severity } from '../config/types';

export type AlertName =
  | 'BrokerUnreachable'
  | 'PartitionOffline'
  | 'PartitionUnderReplicated'
  | 'PartitionUnderMinIsr'
  | 'PreferredLeaderImbalance'
  | 'ConsumerDeliveryLag'
  | 'ConsumerStalled'
  | 'CanaryDegraded'
  | 'KafkaUnreachable'
  | 'ControllerQuorumLeaderless'
  | 'ControllerVoterLagging'
  | 'ControllerQuorumAtRisk';

/** Why a group lags (docs/design.md §4): the group itself, a broker leading its partitions, or no leader. */
export type LagCause = 'consumer' | `broker:${number}` | 'partition-offline';

/** Partitions of one topic, ascending. */
export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

/** What detect (pure) reports about one snapshot. LeaderChanged is an event, not an alert. */
export type Finding =
  | { readonly kind: 'KafkaUnreachable'; readonly error: string }
  | { readonly kind: 'BrokerUnreachable'; readonly broker: number; readonly address: string; readonly sinceMs: number; readonly error?: string }
  /** Every partition without a leader, cluster-wide: one alert however many topics. */
  | { readonly kind: 'PartitionOffline'; readonly topics: readonly TopicPartitions[] }
  /**
   * Partitions whose ISR lacks `broker` (a partition missing two brokers counts under both):
   * one alert per broker that fell out of the ISR, not one per topic — a broker with
   * replicas of 500 topics going down pages once.
   */
  | { readonly kind: 'PartitionUnderReplicated'; readonly broker: number; readonly topics: readonly TopicPartitions[] }
  /** Partitions below min.insync.replicas whose ISR lacks `broker`; per broker as above. */
  | { readonly kind: 'PartitionUnderMinIsr'; readonly broker: number; readonly topics: readonly TopicPartitions[] }
  | { readonly kind: 'PreferredLeaderImbalance'; readonly broker: number; readonly partitions: number }
  | { readonly kind: 'LeaderChanged'; readonly topic: string; readonly partition: number; readonly from: number; readonly to: number }
  | {
      readonly kind: 'ConsumerDeliveryLag';
      readonly group: string;
      readonly topic: string;
      /** partitions in breach by the exact test */
      readonly partitions: readonly number[];
      /** reported seconds, max over the breaching partitions (null if none could be estimated) */
      readonly lagSeconds: number | null;
      readonly thresholdMs: number;
      readonly cause: LagCause;
    }
  | { readonly kind: 'ConsumerStalled'; readonly group: string; readonly topic: string; readonly partitions: readonly number[]; readonly stalledForMs: number }
  | { readonly kind: 'CanaryDegraded'; readonly broker: number; readonly latencyMs: number | null; readonly error?: string }
  /**
   * The KRaft controller quorum has no leader: its answer names none, or it cannot be
   * described although brokers answer (`error` says why). Metadata cannot change meanwhile.
   */
  | {
      readonly kind: 'ControllerQuorumLeaderless';
      /** wall ms since which vigil has seen no leader */
      readonly sinceMs: number;
      readonly error?: string;
      /** the leader and epoch vigil saw last, when it saw one */
      readonly lastLeaderId?: number;
      readonly lastEpoch?: number;
    }
  /** A voter whose last caught-up time is older than the threshold, as the quorum's leader sees it. */
  | {
      readonly kind: 'ControllerVoterLagging';
      readonly voter: number;
      readonly leaderId: number;
      /** wall ms since which it has not been caught up (vigil's clock) */
      readonly sinceMs: number;
      /** records behind the leader's log end, as first seen in the incident; null when unknown */
      readonly lagRecords: number | null;
      readonly thresholdMs: number;
    }
  /** Only a bare majority of the voters (or fewer) is caught up: one more lagging voter stops metadata changes. */
  | { readonly kind: 'ControllerQuorumAtRisk'; readonly voters: number; readonly caughtUp: number; readonly lagging: readonly number[] };

export type AlertStatus = 'firing' | 'resolved';

/**
 * One alert, keyed by (cluster, alert, scope): e.g. "local/ConsumerDeliveryLag/orders-svc/orders",
 * "local/BrokerUnreachable/2", "local/PartitionUnderReplicated/2", "local/PartitionOffline".
 * Fields that do not apply are absent; partition alerts carry topic and partitions only
 * when a single topic is affected (the summary lists the rest).
 */
export interface Alert {
  readonly key: string;
  readonly alert: AlertName;
  readonly status: AlertStatus;
  readonly severity: Severity;
  readonly cluster: string;
  readonly group?: string;
  readonly topic?: string;
  readonly broker?: number;
  readonly partitions?: readonly number[];
  readonly lagSeconds?: number;
  /** seconds */
  readonly threshold?: number;
  readonly cause?: LagCause;
  /** one line a person can act on */
  readonly summary: string;
  /** ISO time the incident started (stable for the incident's life: part of its identity) */
  readonly startsAt: string;
  /** ISO time it resolved, null while firing */
  readonly endsAt: string | null;
}

/**
 * A page to deliver: one alert transition. `id` is stable across vigil failovers
 * (key + startsAt + status), so an outbox can claim it once and a new leader can finish
 * what the old one claimed.
 */
export interface Notification {
  readonly id: string;
  readonly alert: Alert;
  /** remediation plan text attached in dry-run mode, if any */
  readonly plan?: string;
}

export function notificationId(alert: Pick<Alert, 'key' | 'startsAt' | 'status'>): string {
  return `${alert.key}@${alert.startsAt}#${alert.status}`;
}

/** Generic webhook body, version 1 (docs/design.md §4). */
export interface WebhookBodyV1 {
  readonly version: 1;
  readonly status: AlertStatus;
  readonly alert: AlertName;
  readonly severity: Severity;
  readonly key: string;
  readonly cluster: string;
  readonly group?: string;
  readonly topic?: string;
  readonly broker?: number;
  readonly partitions?: readonly number[];
  readonly lagSeconds?: number;
  readonly threshold?: number;
  readonly cause?: LagCause;
  readonly startsAt: string;
  readonly endsAt: string | null;
  readonly summary: string;
  readonly sentBy: { readonly nodeId: string; readonly term: number };
  /** `<alerting.runbookUrl>#<anchor>`: this alert's entry in docs/operations.md (src/alerting/runbook). */
  readonly runbookUrl?: string;
}
