/**
 * What the leader observes of Kafka in one reconcile cycle (docs/design.md §1 "observe"): plain,
 * immutable data. The observer (src/monitor/observe.ts) builds it through the KafkaAdmin
 * port; detect (pure) turns a snapshot and the previous one into findings.
 */
import type { AnswerTimes } from '../kafka/answer-times';
import type { ControllerQuorum, GroupMember, GroupType } from '../kafka/types';
import type { GroupTopicRule } from './findings';

export interface BrokerState {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  /** false once the controller dropped it from the metadata (KRaft fences after broker.session.timeout.ms) */
  readonly inMetadata: boolean;
  /** whether vigil could open a connection to its advertised address this cycle */
  readonly reachable: boolean;
  /** why it is unreachable, e.g. "connect ECONNREFUSED 127.0.0.1:9093" */
  readonly error?: string;
  /** wall-clock ms since which it has been continuously unreachable (kept across cycles) */
  readonly unreachableSinceMs?: number;
  /**
   * How long it took to answer vigil's requests: this cycle's median and slowest, and the
   * slowest answer of a typical cycle of the last ones (the median of their slowest), which
   * detect compares across brokers (slow-broker evidence, docs/design.md §4.3). Absent when
   * it answered nothing in the window.
   */
  readonly answers?: AnswerTimes;
}

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** -1 = no leader (offline) */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offlineReplicas: readonly number[];
  /** the topic's min.insync.replicas (broker default when the topic does not set it) */
  readonly minIsr: number;
}

/** Partition counts by health, as vigil_kafka_partitions and /api/v1/status report them. */
export interface PartitionHealth {
  readonly total: number;
  /** no leader */
  readonly offline: number;
  /** ISR smaller than the replica set */
  readonly underReplicated: number;
  /** ISR below the topic's min.insync.replicas: acks=all producers fail */
  readonly underMinIsr: number;
}

export function partitionHealth(partitions: readonly PartitionState[]): PartitionHealth {
  let offline = 0;
  let underReplicated = 0;
  let underMinIsr = 0;
  for (const p of partitions) {
    if (p.leader < 0) offline++;
    else {
      if (p.isr.length < p.replicas.length) underReplicated++;
      if (p.isr.length < p.minIsr) underMinIsr++;
    }
  }
  return { total: partitions.length, offline, underReplicated, underMinIsr };
}

export interface GroupPartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly committed: number;
  /** null when the end offset could not be read */
  readonly end: number | null;
  readonly lagMessages: number | null;
  /** the exact test of docs/design.md §3 at the rule's threshold; null when it could not be run */
  readonly breach: boolean | null;
  /**
   * the exact test at the rule's resolveBelow (only run for partitions of groups with a
   * firing alert or in breach; null otherwise or when it could not be run)
   */
  readonly aboveResolveBelow: boolean | null;
  /** reported delivery latency in seconds (estimate, docs/design.md §3); null when unknown */
  readonly lagSeconds: number | null;
  /**
   * A partition behind: when it breaches its threshold unless the group commits past
   * `committed` (docs/design.md §3.7), where known — wall ms, in the past once in breach.
   */
  readonly breachAtMs?: number;
  /** breachAtMs is the record at `committed`'s own timestamp plus the threshold (not an estimate) */
  readonly breachAtExact?: boolean;
  readonly error?: string;
}

export interface GroupState {
  readonly group: string;
  /** classic, consumer, share, streams or simple (docs/monitoring.md "Group types"); absent when not described */
  readonly type?: GroupType;
  /** 'Stable', 'Empty', 'PreparingRebalance', ... ('' when not described) */
  readonly state: string;
  /** the members as last described, with their client id, host and partitions; absent when not described */
  readonly members?: readonly GroupMember[];
  /** node id of the group's coordinator (as last known), when known */
  readonly coordinator?: number;
  readonly partitions: readonly GroupPartitionLag[];
  /** the lag rule per topic of this group (after overrides) */
  readonly rules: ReadonlyMap<string, GroupTopicRule>;
  /** set when the group's committed offsets could not be read */
  readonly error?: string;
}

export interface CanaryState {
  readonly broker: number;
  /** last produce-to-consume latency, null when the last probe failed or timed out */
  readonly latencyMs: number | null;
  readonly ok: boolean;
  readonly error?: string;
}

export type KafkaSnapshot =
  | {
      readonly ok: true;
      /** wall clock, ms since the epoch, at which the offsets were read */
      readonly takenAtMs: number;
      readonly clusterId: string | null;
      readonly controllerId: number | null;
      /** brokers in the metadata plus brokers seen before that have left it */
      readonly brokers: readonly BrokerState[];
      readonly partitions: readonly PartitionState[];
      readonly groups: readonly GroupState[];
      /** null when the canary is disabled */
      readonly canary: readonly CanaryState[] | null;
      /** the KRaft controller quorum, asked through a broker that answered this cycle's ping */
      readonly quorum: ControllerQuorum;
      /**
       * why the commit stream may not read `__consumer_offsets` (docs/design.md §3.6), while it
       * may not: every group's offsets were polled instead. Absent otherwise, and in poll mode.
       */
      readonly offsetsStreamDenied?: string;
    }
  | {
      readonly ok: false;
      readonly takenAtMs: number;
      /** e.g. "could not reach any Kafka broker; tried ..." */
      readonly error: string;
    };
