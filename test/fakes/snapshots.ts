/**
 * Builders of synthetic KafkaSnapshots (src/monitor/snapshot.ts) for the detect/decide
 * unit tests and the detect+decide benchmark. Every builder takes the few facts a test is
 * about and fills the rest with a healthy default.
 */
import type { ControllerQuorum } from '../../src/kafka/types';
import type { GroupTopicRule } from '../../src/monitor/findings';
import type { BrokerState, CanaryState, GroupPartitionLag, GroupState, KafkaSnapshot, PartitionState } from '../../src/monitor/snapshot';
import { describedQuorum } from './memory-kafka';

/** 2025-11-26T10:00:00.000Z */
export const T0 = Date.UTC(2025, 10, 26, 10, 0, 0);

/** lag.* defaults of docs/design.md §7 */
export const RULE: GroupTopicRule = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning' };

export function broker(nodeId: number, over: Partial<BrokerState> = {}): BrokerState {
  return { nodeId, host: '127.0.0.1', port: 9091 + nodeId, rack: null, inMetadata: true, reachable: true, ...over };
}

export function brokers(...ids: number[]): BrokerState[] {
  return ids.map((id) => broker(id));
}

/** A broker vigil cannot connect to (still in the metadata: KRaft has not fenced it yet). */
export function downBroker(nodeId: number, sinceMs: number, error = `connect ECONNREFUSED 127.0.0.1:${9091 + nodeId}`): BrokerState {
  return broker(nodeId, { reachable: false, error, unreachableSinceMs: sinceMs });
}

export interface PartitionOver {
  readonly isr?: readonly number[];
  readonly minIsr?: number;
}

/** leader -1 = offline. ISR defaults to all replicas, minIsr to 1. */
export function partition(topic: string, p: number, leader: number, replicas: readonly number[], over: PartitionOver = {}): PartitionState {
  const isr = over.isr ?? replicas;
  return { topic, partition: p, leader, replicas, isr, offlineReplicas: [], minIsr: over.minIsr ?? 1 };
}

/**
 * `count` healthy partitions with replication factor `rf`, replicas assigned round-robin
 * over `brokerIds` (partition p's preferred leader is brokerIds[(p + shift) % n]).
 */
export function topicPartitions(topic: string, count: number, brokerIds: readonly number[], rf = Math.min(3, brokerIds.length), minIsr = 1, shift = 0): PartitionState[] {
  const out: PartitionState[] = [];
  const n = brokerIds.length;
  for (let p = 0; p < count; p++) {
    const replicas: number[] = [];
    for (let r = 0; r < rf; r++) replicas.push(brokerIds[(p + shift + r) % n] as number);
    out.push(partition(topic, p, replicas[0] as number, replicas, { minIsr }));
  }
  return out;
}

/** Replace partitions of the same topic/number in `base` by `changed`. */
export function withPartitions(base: readonly PartitionState[], ...changed: PartitionState[]): PartitionState[] {
  const key = (p: PartitionState) => `${p.topic}\u0000${p.partition}`;
  const by = new Map(changed.map((p) => [key(p), p]));
  return base.map((p) => by.get(key(p)) ?? p);
}

/** A group's row on one partition, caught up unless overridden. */
export function row(topic: string, p: number, over: Partial<GroupPartitionLag> = {}): GroupPartitionLag {
  return { topic, partition: p, committed: 100, end: 100, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0, ...over };
}

/**
 * A row whose true delivery latency is `latencySeconds`, with the flags the exact tests of
 * docs/design.md §3 would give: breach iff latency > threshold, aboveResolveBelow iff latency >
 * resolveBelow (the record at c is older than now − T exactly when the latency exceeds T).
 * null = the end offset could not be read (everything unknown).
 */
export function rowAt(topic: string, p: number, latencySeconds: number | null, rule: GroupTopicRule = RULE): GroupPartitionLag {
  if (latencySeconds === null) {
    return { topic, partition: p, committed: 100, end: null, lagMessages: null, breach: null, aboveResolveBelow: null, lagSeconds: null, error: 'end offset unavailable' };
  }
  if (latencySeconds <= 0) return row(topic, p);
  const ms = latencySeconds * 1000;
  return {
    topic, partition: p, committed: 100, end: 110, lagMessages: 10,
    breach: ms > rule.thresholdMs, aboveResolveBelow: ms > rule.resolveBelowMs, lagSeconds: latencySeconds,
  };
}

/** A group; every topic of its rows gets `rules[topic]`, else RULE. */
export function group(name: string, rows: readonly GroupPartitionLag[], rules: Readonly<Record<string, GroupTopicRule>> = {}, over: Partial<GroupState> = {}): GroupState {
  const map = new Map<string, GroupTopicRule>();
  for (const r of rows) if (!map.has(r.topic)) map.set(r.topic, rules[r.topic] ?? RULE);
  for (const [t, rule] of Object.entries(rules)) if (!map.has(t)) map.set(t, rule);
  return { group: name, state: 'Stable', partitions: rows, rules: map, ...over };
}

export interface SnapshotParts {
  readonly takenAtMs?: number;
  readonly brokers?: readonly BrokerState[];
  readonly partitions?: readonly PartitionState[];
  readonly groups?: readonly GroupState[];
  readonly canary?: readonly CanaryState[] | null;
  /** default: voters 1, 2, 3 led by 1, all caught up as of takenAtMs */
  readonly quorum?: ControllerQuorum;
}

export function snapshot(parts: SnapshotParts = {}): KafkaSnapshot {
  const takenAtMs = parts.takenAtMs ?? T0;
  return {
    ok: true,
    takenAtMs,
    clusterId: 'vigil-test-cluster-id00',
    controllerId: 1,
    brokers: parts.brokers ?? brokers(1, 2, 3),
    partitions: parts.partitions ?? [],
    groups: parts.groups ?? [],
    canary: parts.canary ?? null,
    quorum: parts.quorum ?? describedQuorum([1, 2, 3], 1, takenAtMs),
  };
}

export function unreachableSnapshot(takenAtMs: number, error = 'could not reach any Kafka broker; tried 127.0.0.1:9092'): KafkaSnapshot {
  return { ok: false, takenAtMs, error };
}

// ---------------------------------------------------------------------------------------
// A large synthetic cluster for the benchmark (docs/design.md §10: 100,000 partitions × 500 groups)

export interface SyntheticClusterOptions {
  readonly brokers: number;
  readonly topics: number;
  readonly partitionsPerTopic: number;
  /** fraction of groups lagging past the threshold on all their partitions */
  readonly laggingGroupFraction: number;
  /** this broker is unreachable: still the leader in the metadata (not yet fenced), out of every ISR */
  readonly downBroker: number | null;
}

export interface SyntheticCluster {
  readonly partitions: readonly PartitionState[];
  readonly brokerStates: readonly BrokerState[];
  /**
   * The snapshot of cycle `cycle` (1 s apart). The lagging groups get fresh rows each cycle
   * (their lag grows); the other groups' rows are built once and shared between cycles,
   * as their values do not change — so the garbage a run produces is detect's and
   * decide's, not the harness's.
   */
  snapshotAt(cycle: number): KafkaSnapshot;
}

/** Group i consumes topic i (one topic per group), so rows = topics × partitionsPerTopic. */
export function syntheticCluster(o: SyntheticClusterOptions): SyntheticCluster {
  const ids = Array.from({ length: o.brokers }, (_, i) => i + 1);
  const partitions: PartitionState[] = [];
  for (let t = 0; t < o.topics; t++) {
    for (const p of topicPartitions(`topic-${t}`, o.partitionsPerTopic, ids, 3, 2, t * 7)) {
      if (o.downBroker !== null && p.replicas.includes(o.downBroker)) {
        partitions.push({ ...p, isr: p.isr.filter((b) => b !== o.downBroker) });
      } else partitions.push(p);
    }
  }
  const brokerStates = ids.map((id) => (id === o.downBroker ? downBroker(id, T0) : broker(id)));
  const laggingEvery = o.laggingGroupFraction > 0 ? Math.round(1 / o.laggingGroupFraction) : Infinity;
  const leaderOf = (t: number, p: number) => (partitions[t * o.partitionsPerTopic + p] as PartitionState).leader;

  function groupAt(t: number, cycle: number): GroupState {
    const topic = `topic-${t}`;
    const lagging = t % laggingEvery === 0;
    const rows: GroupPartitionLag[] = [];
    for (let p = 0; p < o.partitionsPerTopic; p++) {
      if (leaderOf(t, p) === o.downBroker) {
        // the dead leader cannot answer ListOffsets: unknown
        rows.push({ topic, partition: p, committed: 1_000, end: null, lagMessages: null, breach: null, aboveResolveBelow: null, lagSeconds: null, error: 'end offset unavailable' });
      } else if (lagging) {
        rows.push({ topic, partition: p, committed: 1_000, end: 1_000 + 50 * (cycle + 1), lagMessages: 50 * (cycle + 1), breach: true, aboveResolveBelow: true, lagSeconds: 11 + cycle });
      } else {
        rows.push({ topic, partition: p, committed: 1_000, end: 1_002, lagMessages: 2, breach: false, aboveResolveBelow: null, lagSeconds: 0.2 });
      }
    }
    return { group: `group-${t}`, state: 'Stable', partitions: rows, rules: new Map([[topic, RULE]]) };
  }
  const steady = Array.from({ length: o.topics }, (_, t) => (t % laggingEvery === 0 ? null : groupAt(t, 0)));

  return {
    partitions,
    brokerStates,
    snapshotAt(cycle: number): KafkaSnapshot {
      const groups = steady.map((g, t) => g ?? groupAt(t, cycle));
      const takenAtMs = T0 + cycle * 1000;
      return {
        ok: true, takenAtMs, clusterId: 'synthetic', controllerId: 1,
        brokers: brokerStates, partitions, groups, canary: null,
        // a healthy quorum of three voters, as a dedicated controller quorum reports it
        quorum: describedQuorum([1001, 1002, 1003], 1001, takenAtMs, { end: 50_000 + cycle * 2 }),
      };
    },
  };
}
