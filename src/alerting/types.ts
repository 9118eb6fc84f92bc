/**
 * Alerts and notifications (docs/design.md §4) as plain data, shared by decide (pure), the
 * notifier (channels) and the outbox. The findings they come from are monitor's
 * (src/monitor/findings.ts).
 */
import type { Severity } from '../config/types';
import type { LagCause } from '../monitor/findings';

export type AlertName =
  | 'BrokerUnreachable'
  | 'PartitionOffline'
  | 'PartitionUnderReplicated'
  | 'PartitionUnderMinIsr'
  | 'PreferredLeaderImbalance'
  | 'ConsumerDeliveryLag'
  | 'ConsumerStalled'
  | 'ConsumerBreachAhead'
  | 'CanaryDegraded'
  | 'KafkaUnreachable'
  | 'ControllerQuorumLeaderless'
  | 'ControllerVoterLagging'
  | 'ControllerQuorumAtRisk'
  | 'OffsetsStreamDenied'
  | 'RemediationProposed'
  | 'RemediationRefused';

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
  /** one line a person can act on; ends with `failover` when the alert has one */
  readonly summary: string;
  /**
   * The failover timeline entries the incident caused, in words (src/alerting/failover-match.ts):
   * "failover: broker 3 unreachable, then fenced: 412 partitions moved, …". Absent while none.
   * Already part of `summary`; kept apart so a change of it can be re-posted (Alertmanager).
   */
  readonly failover?: string;
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
