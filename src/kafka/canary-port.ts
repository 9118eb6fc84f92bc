/**
 * The canary's port to Kafka (docs/design.md §3 "Canary"): what src/monitor/canary.ts needs to keep
 * its topic laid out and to round-trip one record through a partition's leader. Only the
 * adapter (src/kafka/kafkajs-canary.ts) talks to kafkajs; unit tests use the in-memory
 * fake (test/fakes/memory-canary.ts), and both pass the same contract tests.
 *
 * Every call takes a `timeoutMs` and must settle (resolve or reject) within about that
 * time, also when a broker hangs with its sockets open: the canary counts on it to keep
 * at most one call per partition in flight. Failures reject with an Error whose message
 * names the broker and, for a Kafka error code, the code's name
 * (e.g. "broker 2 (127.0.0.1:9093): NOT_LEADER_OR_FOLLOWER").
 */
import type { BrokerInfo } from './types';

export interface CanaryPartition {
  readonly partition: number;
  /** -1 when the partition has no leader */
  readonly leader: number;
  /** replicas[0] is the preferred leader */
  readonly replicas: readonly number[];
}

export interface CanaryTopology {
  /** The live brokers (registered and unfenced), sorted by id. */
  readonly brokers: readonly BrokerInfo[];
  /** The canary topic's partitions sorted by number; null when the topic does not exist. */
  readonly partitions: readonly CanaryPartition[] | null;
}

export interface CanaryProduceRequest {
  readonly topic: string;
  readonly partition: number;
  /** The broker the record is sent to: the partition's leader per the last topology. */
  readonly leader: BrokerInfo;
  readonly value: string;
  /** the record's CreateTime */
  readonly timestampMs: number;
  readonly timeoutMs: number;
}

export interface CanaryReadRequest {
  readonly topic: string;
  readonly partition: number;
  readonly leader: BrokerInfo;
  readonly offset: number;
  readonly timeoutMs: number;
}

export interface CanaryPort {
  /** Live brokers and the canary topic's layout (one Metadata request for that topic). */
  describe(topic: string, timeoutMs: number): Promise<CanaryTopology>;
  /**
   * Creates the topic with exactly these replicas per partition (partition i gets
   * assignment[i]). Resolves also when the topic already exists (whatever its layout: the
   * caller describes it again).
   */
  createTopic(topic: string, assignment: readonly (readonly number[])[], timeoutMs: number): Promise<void>;
  /**
   * Adds partitions currentCount, currentCount + 1, ... with these replicas
   * (CreatePartitions with an explicit assignment). Rejects when the topic does not have
   * exactly currentCount partitions any more (someone else added some).
   */
  createPartitions(topic: string, currentCount: number, assignments: readonly (readonly number[])[], timeoutMs: number): Promise<void>;
  /**
   * Appends one record to the partition on `leader` with acks=all and resolves with its
   * offset. Rejects when `leader` does not lead the partition (NOT_LEADER_OR_FOLLOWER) or
   * the in-sync replicas do not acknowledge in time.
   */
  produce(req: CanaryProduceRequest): Promise<{ readonly offset: number }>;
  /**
   * The value of the record at exactly `offset`, read from `leader` (one Fetch); null when
   * the broker returned no record at that offset. (Kafka serves a consumer's Fetch from a
   * follower too, up to the follower's high watermark; the canary always asks the broker
   * that acknowledged the produce.)
   */
  readBack(req: CanaryReadRequest): Promise<string | null>;
  close(): Promise<void>;
}
