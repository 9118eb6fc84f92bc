/**
 * What the remediation executor needs from Kafka (docs/design.md §5): fresh metadata, the
 * reassignments in flight, and the four mutations — as plain data, so the executor's
 * logic is tested against an in-memory cluster and the adapter
 * (./remediation-kafka.ts) against real brokers.
 *
 * `avoid`: brokers the request must not be sent through (the sick broker itself: a hung
 * broker accepts the connection and answers nothing, so a request sent through it waits
 * out its whole timeout). KRaft brokers forward admin requests to the active controller,
 * so any other live broker serves.
 */
import type { ConfigResourceChange, ConfigResourceOutcome, ElectionType, OngoingReassignment, PartitionOutcome, ReassignmentTarget } from './admin-mutations';
import type { BrokerInfo, ClusterMetadata, TopicPartition } from './types';

export interface RemediationKafka {
  /**
   * The brokers as the monitor last saw them (id → address), so that `avoid` can be honoured
   * before this client has read any metadata of its own — a hung broker's address is then
   * never tried, not even for the first request. `silent`: the brokers the monitor found
   * not answering; a request in flight to one of them is abandoned at once (it fails
   * retriably, and the step runs again), so a broker that hangs under a step does not hold
   * the executor for kafka.requestTimeout.
   */
  knowBrokers(brokers: readonly BrokerInfo[], silent: ReadonlySet<number>): void;
  /**
   * Whether the broker answers nothing within `windowMs` (a ping on a connection of its
   * own): true = still silent. A broker this client has no address for counts as silent.
   */
  stillSilent(broker: number, windowMs: number): Promise<boolean>;
  metadata(avoid: ReadonlySet<number>): Promise<ClusterMetadata>;
  /** Effective min.insync.replicas per topic (topics missing from the answer count as 1). */
  minIsr(topics: readonly string[], avoid: ReadonlySet<number>): Promise<ReadonlyMap<string, number>>;
  listReassignments(avoid: ReadonlySet<number>): Promise<OngoingReassignment[]>;
  // The mutations take `mayAct`, asked right before every request written to a socket (a
  // retry through another broker, each broker's own configs): false throws LEASE_LOST and
  // nothing more is sent. A mutation may take several requests; the lease may end between them.
  alterReassignments(targets: readonly ReassignmentTarget[], avoid: ReadonlySet<number>, mayAct: () => boolean): Promise<PartitionOutcome[]>;
  electLeaders(type: ElectionType, partitions: readonly TopicPartition[], avoid: ReadonlySet<number>, mayAct: () => boolean): Promise<PartitionOutcome[]>;
  alterConfigs(changes: readonly ConfigResourceChange[], avoid: ReadonlySet<number>, mayAct: () => boolean): Promise<ConfigResourceOutcome[]>;
  close(): Promise<void>;
}
