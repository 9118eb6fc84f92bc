/**
 * The Kafka port: what vigil needs from a Kafka cluster, as plain data. Only adapters
 * (src/kafka/kafkajs-*.ts) talk to kafkajs; everything else codes against these types,
 * and unit tests use an in-memory implementation of the same interface.
 *
 * Offsets are JavaScript numbers: Kafka offsets are int64, but an offset above 2^53 would
 * take a partition writing a million records a second for 285 years to reach.
 */
import type { AnswerTimes } from './answer-times';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface BrokerInfo {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface PartitionInfo {
  readonly partition: number;
  /** -1 when the partition has no leader (offline). */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offlineReplicas: readonly number[];
}

export interface TopicInfo {
  readonly topic: string;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionInfo[];
}

export interface ClusterMetadata {
  readonly clusterId: string | null;
  readonly controllerId: number | null;
  readonly brokers: readonly BrokerInfo[];
  readonly topics: readonly TopicInfo[];
}

/**
 * The kinds of group (docs/monitoring.md "Group types"): `classic` (the classic rebalance
 * protocol: kafkajs, librdkafka, Java before KIP-848), `consumer` (`group.protocol=consumer`,
 * KIP-848), `share` (KIP-932), `streams` (KIP-1071), and `simple` — a classic group that
 * only commits offsets and has no protocol (no members ever joined it).
 */
export type GroupType = 'classic' | 'consumer' | 'share' | 'streams' | 'simple';

export interface GroupListing {
  readonly groupId: string;
  /** 'consumer' for subscribed classic groups, '' for groups that only commit offsets. */
  readonly protocolType: string;
  /**
   * The type the broker names (ListGroups v5, Kafka 3.8+) as vigil calls it (groupTypeOf);
   * absent when the broker does not say (older Kafka: every group is then classic or simple)
   * or names a type this vigil does not know (`typeName` keeps it).
   */
  readonly type?: GroupType;
  /** the broker's own name of the type, when it named one */
  readonly typeName?: string;
  /** the group's state as listed (ListGroups v4+, Kafka 2.6+); absent when the broker does not say */
  readonly state?: string;
}

/** A listed group's type: the broker's (v5), else classic, or simple without a protocol type. */
export function groupTypeOf(protocolType: string, typeName: string | null | undefined): GroupType | undefined {
  switch (typeName ?? 'classic') {
    case 'classic':
      return protocolType === '' ? 'simple' : 'classic';
    case 'consumer':
      return 'consumer';
    case 'share':
      return 'share';
    case 'streams':
      return 'streams';
    default:
      return undefined;
  }
}

/** Partitions of one topic. */
export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

/** A group member, as `kafka-consumer-groups.sh --describe` shows it (CONSUMER-ID, HOST, CLIENT-ID). */
export interface GroupMember {
  readonly memberId: string;
  /** group.instance.id of a static member, else null */
  readonly instanceId: string | null;
  readonly clientId: string;
  /** the client's address as its coordinator saw it, e.g. "/10.0.0.5" */
  readonly host: string;
  /**
   * the partitions it is assigned now (a streams member: those its active tasks read);
   * null when they cannot be known (a classic group of another protocol than 'consumer' —
   * Connect, a custom one — or an assignment that does not decode; a streams member whose
   * tasks name a subtopology the group's topology does not describe)
   */
  readonly assignment: readonly TopicPartitions[] | null;
}

/** Committed offsets of one group: topic → partition → offset (only partitions with a commit). */
export type GroupOffsets = ReadonlyMap<string, ReadonlyMap<number, number>>;

export type GroupOffsetsResult = { readonly offsets: GroupOffsets } | { readonly error: string };

/** Key for maps keyed by topic-partition. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** A per-partition answer from an offsets lookup; `error` names a failed partition. */
export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** null when the broker had no answer (see `error`) */
  readonly offset: number | null;
  readonly error?: string;
}

/** What a Fetch at `offset` tells about the first record at or after it. */
export type RecordProbe =
  /** The first data record at or after the offset, and its timestamp. `exact` is false when
   *  the timestamp was interpolated inside a batch that could not be decoded record by record. */
  | { readonly kind: 'record'; readonly offset: number; readonly timestampMs: number; readonly exact: boolean }
  /** No data record at or after the offset below the high watermark (control records only). */
  | { readonly kind: 'none' }
  /** The broker did not say (error, or data cut short); `reason` says why. */
  | { readonly kind: 'unknown'; readonly reason: string };

export interface RecordProbeRequest extends TopicPartition {
  readonly offset: number;
}

/** Key for probe results: one partition may be probed at several offsets (one per group). */
export function probeKey(topic: string, partition: number, offset: number): string {
  return `${topic}\u0000${partition}\u0000${offset}`;
}

export interface GroupDescription {
  readonly groupId: string;
  /** the group's type (see GroupType); absent when it could not be told */
  readonly type?: GroupType;
  /**
   * as the group's describe request names it: classic 'Stable', 'Empty', 'PreparingRebalance',
   * 'CompletingRebalance', 'Dead'; consumer protocol also 'Assigning', 'Reconciling';
   * '' when unknown
   */
  readonly state: string;
  readonly members: number;
  /** each member with its client id, host and assignment; absent when not described */
  readonly memberList?: readonly GroupMember[];
  /** node id of the group's coordinator, when known */
  readonly coordinator?: number;
  readonly error?: string;
}

export interface BrokerPing {
  readonly ok: boolean;
  /** why not, e.g. "connect ECONNREFUSED 127.0.0.1:9093" or "no answer within 800 ms" */
  readonly error?: string;
  /**
   * when not ok: the wall-clock time since which the broker has answered nothing sent to it
   * — the send time of the oldest request (or ping) it left unanswered — where the adapter
   * knows it. The silence began at or before this time.
   */
  readonly silentSinceMs?: number;
}

/**
 * One replica of the KRaft controller quorum's log (`__cluster_metadata` partition 0) as the
 * quorum's leader reports it (DescribeQuorum v1). Times are the leader's wall clock.
 */
export interface QuorumReplica {
  readonly nodeId: number;
  /** null when the leader does not know it */
  readonly logEndOffset: number | null;
  /** when the replica last fetched from the leader; for the leader itself, when it answered */
  readonly lastFetchMs: number | null;
  /**
   * when the replica last had fetched everything the leader had at its previous fetch (Kafka's
   * lastCaughtUpTimestamp); for the leader itself, when it answered. null: not since the
   * leader's epoch began (a voter that has not fetched from this leader yet).
   */
  readonly lastCaughtUpMs: number | null;
}

/**
 * What DescribeQuorum (API 55) says about the KRaft controller quorum (docs/design.md §4.7):
 * - `described`: the quorum's leader answered (forwarded by a broker);
 * - `unanswered`: brokers answer, but the quorum could not be described — no leader to
 *   forward to, a timeout, an error from the quorum (vigil pages ControllerQuorumLeaderless);
 * - `unobservable`: the cluster does not let vigil watch it — `not-kraft` (the broker does not
 *   offer DescribeQuorum: ZooKeeper mode, or Kafka before 3.0), `version-unsupported` (it
 *   offers no version vigil speaks, v1–v2: Kafka 3.0–3.2, or a Kafka newer than this vigil)
 *   or `not-authorized` (vigil's principal lacks DESCRIBE on the CLUSTER resource). No
 *   finding either way.
 */
export type ControllerQuorum =
  | {
      readonly state: 'described';
      /** null when the answer names no leader (-1) */
      readonly leaderId: number | null;
      readonly leaderEpoch: number;
      /** null when unknown (-1) */
      readonly highWatermark: number | null;
      readonly voters: readonly QuorumReplica[];
      readonly observers: readonly QuorumReplica[];
    }
  | { readonly state: 'unanswered'; readonly error: string }
  | { readonly state: 'unobservable'; readonly cause: 'not-kraft' | 'version-unsupported' | 'not-authorized'; readonly reason: string };

export interface KafkaAdmin {
  /** Brokers and every topic's partitions with leader, replicas and ISR (one Metadata request). */
  metadata(): Promise<ClusterMetadata>;
  /** Every group, with its type where the broker names it (ListGroups, one per broker). */
  listGroups(): Promise<GroupListing[]>;
  /**
   * Type, state and members of each group, batched per coordinator, by the request its type
   * needs (as the last listGroups named it): DescribeGroups for classic and simple groups
   * (and groups no listGroups has named: call it first, or a consumer-protocol group reads
   * as classic DescribeGroups sees it, Dead with no members), ConsumerGroupDescribe,
   * ShareGroupDescribe, StreamsGroupDescribe for the others. A broker that does not offer
   * the request a group needs gives that group KAFKA_API_UNSUPPORTED as its error.
   */
  describeGroups(groupIds: readonly string[]): Promise<Map<string, GroupDescription>>;
  /**
   * Whether each broker answers a minimal request at its advertised address within
   * timeoutMs — a fresh check every call, never a cached connection state.
   *
   * A broker that fails it is asked nothing else until a later ping to it succeeds: a
   * request that needs it (its partitions' offsets and records, its groups) fails at once
   * with an answer saying so, as if it were down, and metadata() asks it only when no
   * other broker connects. A hung broker (one that accepts connections and answers
   * nothing) thus costs a caller that pings first the ping deadline, not a request timeout
   * per request.
   *
   * From the first call on, `timeoutMs` also watches every request: one still unanswered
   * after `timeoutMs` gets its broker pinged again, and if that ping fails too, every
   * request in flight to the broker fails at once (KAFKA_UNREACHABLE, "not answered"), and
   * the broker counts as having failed its latest ping (brokerStanding says so). A broker
   * that hangs under a caller's requests thus costs it at most twice the ping deadline. An
   * abandoned request's late answer is never used.
   */
  pingBrokers(brokers: readonly BrokerInfo[], timeoutMs: number): Promise<Map<number, BrokerPing>>;
  /**
   * Each broker's standing now, without asking it: not ok when its latest ping failed or it
   * fell silent under requests since (see pingBrokers), with why and since when.
   */
  brokerStanding(brokers: readonly BrokerInfo[]): Map<number, BrokerPing>;
  /**
   * How long each broker took to answer the requests sent to it (src/kafka/answer-times.ts):
   * closes the cycle under way and reports, per broker that answered anything in the window,
   * the cycle's figures and the window's. Called once per cycle by the observer. Optional:
   * an adapter without it reports no answer times.
   */
  takeAnswerTimes?(brokers: readonly BrokerInfo[]): Map<number, AnswerTimes>;
  /** Effective min.insync.replicas of each topic (DescribeConfigs, one request). */
  topicMinIsr(topics: readonly string[]): Promise<Map<string, number>>;
  /**
   * Each group's position on every topic, fetched concurrently: its committed offsets
   * (OffsetFetch), or for a share group (as the last listGroups named it) its share start
   * offsets (DescribeShareGroupOffsets: the first record not yet acknowledged).
   */
  committedOffsets(groupIds: readonly string[]): Promise<Map<string, GroupOffsetsResult>>;
  /** Log end offsets (high watermark), one ListOffsets request per partition leader. */
  endOffsets(partitions: readonly TopicPartition[]): Promise<PartitionOffset[]>;
  /**
   * For each partition the first offset whose record timestamp is >= timestampMs, or
   * +Infinity when every record is older (ListOffsets by timestamp, one request per leader).
   */
  offsetsForTimestamp(partitions: readonly TopicPartition[], timestampMs: number): Promise<PartitionOffset[]>;
  /**
   * The KRaft controller quorum (DescribeQuorum v1, one request), asked through the first of
   * `brokers` that connects (a broker forwards it to the active controller), within
   * `timeoutMs`. Never throws: a failure is the `unanswered` answer.
   */
  describeQuorum(brokers: readonly BrokerInfo[], timeoutMs: number): Promise<ControllerQuorum>;
  /** Timestamps of the records at the given offsets (Fetch, batched per leader). */
  /** Keyed by `probeKey`. */
  probeRecords(requests: readonly RecordProbeRequest[]): Promise<Map<string, RecordProbe>>;
  close(): Promise<void>;
}
