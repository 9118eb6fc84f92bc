/**
 * An in-memory cluster behind the remediation port (src/kafka/remediation-port.ts), for the
 * executor's unit tests. It follows the broker's rules the executor relies on (checked
 * against real brokers by test/integration/admin-mutations.test.ts and the remediation
 * integration test): a reassignment whose targets are all in the ISR completes at once
 * and takes the dropped replicas out of the ISR (and leadership); one that adds a replica
 * stays in flight until `completeCopies()`; a preferred election needs the preferred
 * replica in the ISR. Every mutation is recorded with the term the test says is current.
 */
import type { ConfigResourceChange, ConfigResourceOutcome, ElectionType, OngoingReassignment, PartitionOutcome, ReassignmentTarget } from '../../src/kafka/admin-mutations';
import type { ClusterMetadata, TopicPartition } from '../../src/kafka/types';
import type { RemediationKafka } from '../../src/kafka/remediation-port';
import { VigilError } from '../../src/errors';

export interface MemPartition {
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface SentMutation {
  readonly api: 'AlterPartitionReassignments' | 'ElectLeaders' | 'IncrementalAlterConfigs';
  readonly partitions: readonly string[];
  readonly changes?: readonly ConfigResourceChange[];
  /** an ElectLeaders of type UNCLEAN */
  readonly unclean?: boolean;
}

export class MemoryRemediationKafka implements RemediationKafka {
  readonly partitions = new Map<string, MemPartition>();
  readonly ongoing = new Map<string, { target: number[]; adding: number[]; removing: number[] }>();
  readonly sent: SentMutation[] = [];
  /** config key → value, per resource (`topic:t` or `broker:1`) */
  readonly configs = new Map<string, Map<string, string>>();
  /** set to make every request fail as if no broker answered */
  down = false;
  /** partitions (`topic/partition`) whose reassignment the broker refuses */
  readonly refuse = new Set<string>();
  /** called before each mutation is applied (tests use it to depose the leader mid-plan) */
  onMutation: ((m: SentMutation) => void) | undefined;

  constructor(readonly brokers: number[]) {}

  add(topic: string, partition: number, replicas: number[], isr = replicas, leader = isr[0] ?? -1): this {
    this.partitions.set(`${topic}/${partition}`, { leader, replicas: [...replicas], isr: [...isr] });
    return this;
  }

  get(topic: string, partition: number): MemPartition {
    const p = this.partitions.get(`${topic}/${partition}`);
    if (!p) throw new Error(`no partition ${topic}/${partition}`);
    return p;
  }

  /** Copies in flight finish: the new replicas join the ISR, the reassignment completes. */
  completeCopies(): void {
    for (const [key, o] of this.ongoing) {
      const p = this.partitions.get(key) as MemPartition;
      p.isr = [...new Set([...p.isr, ...o.adding])];
      this.finish(p, o.target);
    }
    this.ongoing.clear();
  }

  knowBrokers(): void {}

  /** brokers that answer nothing (stillSilent says so) */
  readonly silent = new Set<number>();

  async stillSilent(broker: number): Promise<boolean> {
    return this.silent.has(broker);
  }

  async metadata(): Promise<ClusterMetadata> {
    this.check();
    const topics = new Map<string, ClusterMetadata['topics'][number]['partitions'][number][]>();
    for (const [key, p] of this.partitions) {
      const [topic, part] = key.split('/') as [string, string];
      const list = topics.get(topic) ?? [];
      list.push({ partition: Number(part), leader: p.leader, replicas: [...p.replicas], isr: [...p.isr], offlineReplicas: [] });
      topics.set(topic, list);
    }
    return {
      clusterId: 'mem',
      controllerId: 1,
      brokers: this.brokers.map((nodeId) => ({ nodeId, host: '127.0.0.1', port: 9091 + nodeId, rack: null })),
      topics: [...topics].map(([topic, partitions]) => ({ topic, isInternal: false, partitions })),
    };
  }

  async minIsr(): Promise<ReadonlyMap<string, number>> {
    this.check();
    return new Map();
  }

  async listReassignments(): Promise<OngoingReassignment[]> {
    this.check();
    return [...this.ongoing].map(([key, o]) => {
      const [topic, part] = key.split('/') as [string, string];
      const p = this.partitions.get(key) as MemPartition;
      return { topic, partition: Number(part), replicas: p.replicas, adding: o.adding, removing: o.removing };
    });
  }

  async alterReassignments(targets: readonly ReassignmentTarget[], _avoid?: ReadonlySet<number>, mayAct: () => boolean = () => true): Promise<PartitionOutcome[]> {
    this.record(mayAct, { api: 'AlterPartitionReassignments', partitions: targets.map((t) => `${t.topic}/${t.partition}`) });
    return targets.map((t) => {
      const key = `${t.topic}/${t.partition}`;
      const p = this.partitions.get(key);
      if (!p) return { topic: t.topic, partition: t.partition, error: 'UNKNOWN_TOPIC_OR_PARTITION' };
      if (this.refuse.has(key)) return { topic: t.topic, partition: t.partition, error: 'INVALID_REPLICA_ASSIGNMENT' };
      if (t.replicas === null) {
        this.ongoing.delete(key);
        return { topic: t.topic, partition: t.partition };
      }
      const target = [...t.replicas];
      const adding = target.filter((r) => !p.replicas.includes(r));
      if (target.every((r) => p.isr.includes(r))) this.finish(p, target);
      else {
        this.ongoing.set(key, { target, adding, removing: p.replicas.filter((r) => !target.includes(r)) });
        p.replicas = [...new Set([...target, ...p.replicas])];
      }
      return { topic: t.topic, partition: t.partition };
    });
  }

  async electLeaders(type: ElectionType, partitions: readonly TopicPartition[], _avoid?: ReadonlySet<number>, mayAct: () => boolean = () => true): Promise<PartitionOutcome[]> {
    this.record(mayAct, { api: 'ElectLeaders', partitions: partitions.map((t) => `${t.topic}/${t.partition}`), ...(type === 'unclean' ? { unclean: true } : {}) });
    return partitions.map((tp) => {
      const p = this.get(tp.topic, tp.partition);
      if (type === 'unclean') {
        // Kafka: only a partition without a leader; the first live replica leads, alone in the ISR
        if (p.leader !== -1) return { ...tp, error: 'ELECTION_NOT_NEEDED' };
        const live = p.replicas.find((r) => this.brokers.includes(r));
        if (live === undefined) return { ...tp, error: 'ELIGIBLE_LEADERS_NOT_AVAILABLE' };
        p.leader = live;
        p.isr = [live];
        return { ...tp };
      }
      const preferred = p.replicas[0] as number;
      if (p.leader === preferred) return { ...tp };
      if (!p.isr.includes(preferred)) return { ...tp, error: 'PREFERRED_LEADER_NOT_AVAILABLE' };
      p.leader = preferred;
      return { ...tp };
    });
  }

  async alterConfigs(changes: readonly ConfigResourceChange[], _avoid?: ReadonlySet<number>, mayAct: () => boolean = () => true): Promise<ConfigResourceOutcome[]> {
    this.record(mayAct, { api: 'IncrementalAlterConfigs', partitions: [], changes });
    for (const c of changes) {
      const key = `${c.type}:${c.name}`;
      const cfg = this.configs.get(key) ?? new Map<string, string>();
      this.configs.set(key, cfg);
      for (const e of c.configs) {
        const list = (cfg.get(e.name) ?? '').split(',').filter((x) => x !== '');
        const values = (e.value ?? '').split(',').filter((x) => x !== '');
        if (e.op === 'set') cfg.set(e.name, e.value ?? '');
        else if (e.op === 'delete') cfg.delete(e.name);
        else if (e.op === 'append') cfg.set(e.name, [...new Set([...list, ...values])].join(','));
        else {
          const left = list.filter((x) => !values.includes(x));
          if (left.length === 0) cfg.delete(e.name);
          else cfg.set(e.name, left.join(','));
        }
      }
    }
    return changes.map((c) => ({ type: c.type, name: c.name }));
  }

  async close(): Promise<void> {}

  private check(): void {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
  }

  private record(mayAct: () => boolean, m: SentMutation): void {
    this.check();
    if (!mayAct()) throw new VigilError('LEASE_LOST', `${m.api} not sent: the lease ended`);
    this.onMutation?.(m);
    this.sent.push(m);
  }

  private finish(p: MemPartition, target: number[]): void {
    p.replicas = target;
    p.isr = p.isr.filter((r) => target.includes(r));
    if (!target.includes(p.leader)) p.leader = target.find((r) => p.isr.includes(r)) ?? -1;
  }
}
