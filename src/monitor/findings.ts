/**
 * The findings vocabulary (docs/design.md §4.1): what monitoring says about Kafka, as plain
 * data. detect (src/monitor/detect.ts) makes findings and a per group/topic lag view;
 * decide (src/alerting/decide.ts) turns them into alerts; the reconcile loop carries them
 * between the two. Everything outside monitor/ that speaks of findings imports them from
 * here, so monitor/ never needs to import its consumers back.
 */
import type { Severity } from '../config/types';

/** The kinds of remediation plan (docs/design.md §5.2); the plans themselves live in src/remediation/. */
export type RemediationPlanKind = 'lead-elsewhere' | 'evict' | 'give-back' | 'restore-rf' | 'unclean-elect';

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
  /**
   * The early warning (docs/design.md §3.8, `lag.warnAhead`): partitions of a group/topic not
   * in breach whose predicted breach instant (GroupPartitionLag.breachAtMs) is within the
   * rule's warnAhead. Made only where no partition of the group/topic is in breach.
   */
  | {
      readonly kind: 'ConsumerBreachAhead';
      readonly group: string;
      readonly topic: string;
      /** the partitions predicted to breach within warnAheadMs */
      readonly partitions: readonly number[];
      /** wall ms of the soonest of those breaches if nothing is committed */
      readonly breachAtMs: number;
      /** that instant is the record at c's own timestamp + threshold (false: estimated from the reported seconds) */
      readonly exact: boolean;
      readonly thresholdMs: number;
      readonly warnAheadMs: number;
    }
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
  /** A voter whose last caught-up time is older than the threshold, as the quorum's leader sees it (docs/design.md §4.7). */
  | {
      readonly kind: 'ControllerVoterLagging';
      readonly voter: number;
      readonly leaderId: number;
      /** wall ms since which it has not been caught up (vigil's clock) */
      readonly sinceMs: number;
      /**
       * records behind the leader's log end when the incident's record last changed (null
       * when unknown); the metrics carry the current value
       */
      readonly lagRecords: number | null;
      readonly thresholdMs: number;
    }
  /**
   * vigil's principal may not read `__consumer_offsets` (monitor.offsetsSource: stream):
   * committed offsets are polled, and breaches are found by the cycles, not at their instant
   * (docs/design.md §3.6).
   */
  | { readonly kind: 'OffsetsStreamDenied'; readonly reason: string }
  /** Only a bare majority of the voters (or fewer) is caught up: one more lagging voter stops metadata changes. */
  | { readonly kind: 'ControllerQuorumAtRisk'; readonly voters: number; readonly caughtUp: number; readonly lagging: readonly number[] }
  /**
   * Remediation's findings (docs/design.md §5), made by the remediation executor from its
   * plans, not by detect. Proposed: a plan made in dry-run, waiting for a person to execute
   * it (`POST /api/v1/plans/:id/execute`). One per plan kind and broker.
   */
  | {
      readonly kind: 'RemediationProposed';
      readonly broker: number;
      readonly plan: RemediationPlanKind;
      readonly planId: string;
      /** what the plan does, e.g. "drop broker 3 from 12 in-sync replica sets" */
      readonly reason: string;
      /** why vigil wants it, e.g. "broker:3 hung (no answer for 2.4 s, still in the metadata)" */
      readonly cause: string;
      readonly moves: number;
      readonly elections: number;
      readonly skipped: number;
    }
  /** A plan a guard refused (docs/design.md §5.3): `refusal` is the guard's reason. One per plan kind and broker. */
  | {
      readonly kind: 'RemediationRefused';
      readonly broker: number;
      readonly plan: RemediationPlanKind;
      readonly planId: string;
      readonly reason: string;
      readonly cause: string;
      readonly refusal: string;
    };

/** A group/topic's lag rule after `lag.overrides` (docs/design.md §4.2). */
export interface GroupTopicRule {
  readonly thresholdMs: number;
  readonly resolveBelowMs: number;
  readonly resolveForMs: number;
  readonly severity: Severity;
  /** the early warning's lead (lag.warnAhead, docs/design.md §3.8); absent or 0: no early warning */
  readonly warnAheadMs?: number;
}

/** lag.* defaults of docs/design.md §7: the rule of a group/topic no override matches. */
export const DEFAULT_LAG_RULE: GroupTopicRule = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning' };

/** What decide needs to know about one group/topic beyond its finding: the hysteresis input. */
export interface GroupTopicLag {
  readonly group: string;
  readonly topic: string;
  readonly rule: GroupTopicRule;
  /**
   * true: every partition is caught up or below rule.resolveBelowMs by the exact test;
   * false: some partition is above it (or in breach); null: some partition is unknown.
   */
  readonly clear: boolean | null;
  /** max reported seconds over the partitions (null when none is known) */
  readonly lagSeconds: number | null;
  /**
   * The early warning's hysteresis input, only where the rule has a warnAhead
   * (docs/design.md §3.8). true: every partition is caught up or predicted to breach later
   * than warnAhead + (threshold − resolveBelow); false: some partition is in breach or
   * predicted sooner; null: some partition's prediction is unknown.
   */
  readonly warnClear?: boolean | null;
  /**
   * For a breach with cause broker:<id>: the breaching partitions that broker leads; for
   * partition-offline: the breaching partitions without a leader; otherwise empty.
   */
  readonly causePartitions: readonly number[];
  /** broker:<id> because that broker is the group's coordinator (not a partition leader) */
  readonly causeIsCoordinator?: boolean;
  /** How a cause broker touches the group (docs/design.md §4.3); absent for other causes. */
  readonly causeTouch?: CauseTouch;
}

/**
 * How a cause broker touches a lagging group/topic: it leads the breaching partitions, is
 * an in-sync follower of them (acks=all producers and the high watermark wait for it), or
 * coordinates the group — now, or within the last minute (`now: false`: leadership,
 * the ISR or the coordinator has moved since, and the backlog it caused remains).
 * `healthySinceMs` is set once the broker itself is healthy again; `answers` while it is bad
 * and much slower to answer vigil than the other brokers (docs/design.md §4.3): its slowest
 * answer in a typical cycle of the last ones and the other brokers' median of theirs, ms.
 */
export interface CauseTouch {
  readonly role: 'leader' | 'follower' | 'coordinator';
  readonly now: boolean;
  readonly healthySinceMs?: number;
  readonly answers?: { readonly ms: number; readonly othersMs: number };
}

/** "answers in up to 2.3 s a cycle, the others in 40 ms": a slow broker's answer-time evidence (CauseTouch.answers) for people. */
export function slowAnswersText(a: { readonly ms: number; readonly othersMs: number }): string {
  return `answers in up to ${answerTime(a.ms)} a cycle, the others in ${answerTime(a.othersMs)}`;
}

/** 2300 → "2.3 s", 42.4 → "42 ms", 0.44 → "0.4 ms" */
function answerTime(ms: number): string {
  if (ms >= 1000) return `${Math.round(ms / 100) / 10} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${Math.round(ms * 10) / 10} ms`;
}

export interface LagView {
  /** by lag scope, `${group}/${topic}` (lagScope) */
  readonly byScope: ReadonlyMap<string, GroupTopicLag>;
  /**
   * Groups whose committed offsets could not be read this cycle: a group/topic of theirs
   * missing from byScope is unknown, not gone.
   */
  readonly unreadableGroups: ReadonlySet<string>;
}

/** Alert scope of a consumer alert. Topic names cannot contain '/', so the last '/' splits it. */
export function lagScope(group: string, topic: string): string {
  return `${group}/${topic}`;
}
