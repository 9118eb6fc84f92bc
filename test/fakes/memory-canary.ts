/**
 * An in-memory Kafka behind the CanaryPort (src/kafka/canary-port.ts), for unit tests of
 * the canary, and the port's contract: `canaryPortContract` runs the same cases against
 * this fake (test/unit/canary-port-memory.test.ts) and against the kafkajs adapter on a
 * real cluster (test/integration/canary.test.ts), so the fake means what Kafka means.
 *
 * Faults a test can inject, per broker: `hang` (calls never answer until `resume`, like a
 * SIGSTOPped JVM), `fail` (calls reject), `delayMs` (each produce answers after that long
 * on an injected sleep, e.g. a manual clock's timers, so measured latencies are exact). It counts calls and the most calls ever in
 * flight per partition, which is how the no-pile-up rule is checked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CanaryPartition, CanaryPort, CanaryProduceRequest, CanaryReadRequest, CanaryTopology } from '../../src/kafka/canary-port';
import type { BrokerInfo } from '../../src/kafka/types';
import { waitFor } from '../harness/wait';

interface MemPartition {
  leader: number;
  replicas: number[];
  records: string[];
}

export type CanaryCall =
  | { readonly op: 'describe' }
  | { readonly op: 'createTopic'; readonly assignment: number[][] }
  | { readonly op: 'createPartitions'; readonly currentCount: number; readonly assignments: number[][] }
  | { readonly op: 'produce' | 'readBack'; readonly broker: number; readonly partition: number; readonly value?: string };

export class MemoryCanaryPort implements CanaryPort {
  /** live brokers */
  brokers: BrokerInfo[];
  readonly topics = new Map<string, MemPartition[]>();
  readonly calls: CanaryCall[] = [];
  /** brokers whose produce/readBack calls hang until resume() */
  readonly hung = new Set<number>();
  /** broker → error message its produce/readBack calls reject with */
  readonly failing = new Map<number, string>();
  /** broker → how long its produce takes to answer (through `sleep`) */
  readonly delayMs = new Map<number, number>();
  /** partition → what readBack returns instead of the record */
  readonly readBackOverride = new Map<number, string | null>();
  /** set to make describe reject */
  describeError: string | null = null;
  /** createTopic / createPartitions reject with this */
  adminError: string | null = null;
  /** most produce+readBack calls ever in flight at once, per partition */
  readonly maxInFlight = new Map<number, number>();
  private readonly inFlight = new Map<number, number>();
  private readonly parked = new Map<number, (() => void)[]>();
  closed = false;

  constructor(brokerIds: readonly number[] = [1, 2, 3], private readonly sleep: (ms: number) => Promise<void> = async () => undefined) {
    this.brokers = brokerIds.map(broker);
  }

  addBroker(id: number): void {
    this.brokers = [...this.brokers.filter((b) => b.nodeId !== id), broker(id)].sort((a, b) => a.nodeId - b.nodeId);
  }

  removeBroker(id: number): void {
    this.brokers = this.brokers.filter((b) => b.nodeId !== id);
  }

  /** Creates a topic directly (a layout vigil did not make). */
  seedTopic(topic: string, assignment: readonly (readonly number[])[]): void {
    this.topics.set(topic, assignment.map((r) => ({ leader: r[0] ?? -1, replicas: [...r], records: [] })));
  }

  setLeader(topic: string, partition: number, leader: number): void {
    this.partitionOf(topic, partition).leader = leader;
  }

  /** Lets the calls parked on a hung broker fail (as a dropped connection would). */
  resume(id: number): void {
    this.hung.delete(id);
    for (const wake of this.parked.get(id) ?? []) wake();
    this.parked.delete(id);
  }

  produced(topic: string, partition: number): readonly string[] {
    return this.partitionOf(topic, partition).records;
  }

  count(op: CanaryCall['op'], filter: (c: CanaryCall) => boolean = () => true): number {
    return this.calls.filter((c) => c.op === op && filter(c)).length;
  }

  async describe(topic: string, _timeoutMs: number): Promise<CanaryTopology> {
    this.calls.push({ op: 'describe' });
    if (this.describeError !== null) throw new Error(this.describeError);
    const parts = this.topics.get(topic);
    const partitions: CanaryPartition[] | null = parts ? parts.map((p, partition) => ({ partition, leader: p.leader, replicas: [...p.replicas] })) : null;
    return { brokers: [...this.brokers], partitions };
  }

  async createTopic(topic: string, assignment: readonly (readonly number[])[], _timeoutMs: number): Promise<void> {
    this.calls.push({ op: 'createTopic', assignment: assignment.map((r) => [...r]) });
    if (this.adminError !== null) throw new Error(this.adminError);
    if (this.topics.has(topic)) return;
    this.checkAssignment(assignment);
    this.seedTopic(topic, assignment);
  }

  async createPartitions(topic: string, currentCount: number, assignments: readonly (readonly number[])[], _timeoutMs: number): Promise<void> {
    this.calls.push({ op: 'createPartitions', currentCount, assignments: assignments.map((r) => [...r]) });
    if (this.adminError !== null) throw new Error(this.adminError);
    const parts = this.topics.get(topic);
    if (!parts) throw new Error(`UNKNOWN_TOPIC_OR_PARTITION`);
    if (parts.length !== currentCount) throw new Error(`INVALID_PARTITIONS: topic ${topic} has ${parts.length} partitions, not ${currentCount}`);
    this.checkAssignment(assignments);
    const rf = parts[0]?.replicas.length ?? 0;
    if (assignments.some((r) => r.length !== rf)) throw new Error('INVALID_REPLICA_ASSIGNMENT: replication factor differs from the existing partitions');
    for (const r of assignments) parts.push({ leader: r[0] ?? -1, replicas: [...r], records: [] });
  }

  async produce(req: CanaryProduceRequest): Promise<{ readonly offset: number }> {
    this.calls.push({ op: 'produce', broker: req.leader.nodeId, partition: req.partition, value: req.value });
    return this.onBroker(req.leader.nodeId, req.partition, async () => {
      const delayMs = this.delayMs.get(req.leader.nodeId) ?? 0;
      if (delayMs > 0) await this.sleep(delayMs);
      const p = this.leadBy(req.topic, req.partition, req.leader.nodeId);
      p.records.push(req.value);
      return { offset: p.records.length - 1 };
    });
  }

  async readBack(req: CanaryReadRequest): Promise<string | null> {
    this.calls.push({ op: 'readBack', broker: req.leader.nodeId, partition: req.partition });
    return this.onBroker(req.leader.nodeId, req.partition, () => {
      // Kafka serves a consumer's Fetch (v11+) from any replica, not only the leader
      const p = this.partitionOf(req.topic, req.partition);
      if (!p.replicas.includes(req.leader.nodeId)) throw new Error(`broker ${req.leader.nodeId} (127.0.0.1:${9000 + req.leader.nodeId}): NOT_LEADER_OR_FOLLOWER`);
      if (this.readBackOverride.has(req.partition)) return this.readBackOverride.get(req.partition) ?? null;
      return p.records[req.offset] ?? null;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async onBroker<T>(id: number, partition: number, answer: () => T | Promise<T>): Promise<T> {
    const n = (this.inFlight.get(partition) ?? 0) + 1;
    this.inFlight.set(partition, n);
    this.maxInFlight.set(partition, Math.max(n, this.maxInFlight.get(partition) ?? 0));
    try {
      if (this.hung.has(id)) {
        await new Promise<void>((wake) => this.parked.set(id, [...(this.parked.get(id) ?? []), wake]));
        throw new Error(`broker ${id} (127.0.0.1:${9000 + id}): Connection closed`);
      }
      const failure = this.failing.get(id);
      if (failure !== undefined) throw new Error(`broker ${id} (127.0.0.1:${9000 + id}): ${failure}`);
      return await answer();
    } finally {
      this.inFlight.set(partition, (this.inFlight.get(partition) ?? 1) - 1);
    }
  }

  private leadBy(topic: string, partition: number, leader: number): MemPartition {
    const p = this.partitionOf(topic, partition);
    if (p.leader !== leader) throw new Error(`broker ${leader} (127.0.0.1:${9000 + leader}): NOT_LEADER_OR_FOLLOWER`);
    return p;
  }

  private partitionOf(topic: string, partition: number): MemPartition {
    const p = this.topics.get(topic)?.[partition];
    if (!p) throw new Error('UNKNOWN_TOPIC_OR_PARTITION');
    return p;
  }

  private checkAssignment(assignment: readonly (readonly number[])[]): void {
    const live = new Set(this.brokers.map((b) => b.nodeId));
    for (const r of assignment) {
      if (r.length === 0 || new Set(r).size !== r.length || r.some((b) => !live.has(b))) {
        throw new Error(`INVALID_REPLICA_ASSIGNMENT: ${JSON.stringify(r)}`);
      }
    }
  }
}

function broker(id: number): BrokerInfo {
  return { nodeId: id, host: '127.0.0.1', port: 9000 + id, rack: null };
}

// ---- the contract ------------------------------------------------------------------------

export interface CanaryPortFixture {
  readonly port: CanaryPort;
  /** the live brokers' ids, sorted; at least 3 */
  readonly brokerIds: readonly number[];
  teardown(): Promise<void>;
}

const TIMEOUT_MS = 5_000;

/** Polls describe until every partition of the topic has a leader (real Kafka takes a moment). */
async function layoutWithLeaders(port: CanaryPort, topic: string, partitions: number): Promise<readonly CanaryPartition[]> {
  return waitFor(
    async () => {
      const t = await port.describe(topic, TIMEOUT_MS);
      return t.partitions !== null && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0) ? t.partitions : null;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `topic ${topic} with ${partitions} partitions, each with a leader` },
  );
}

function brokerOf(port: CanaryTopology, id: number): BrokerInfo {
  const b = port.brokers.find((x) => x.nodeId === id);
  assert.ok(b, `broker ${id} is live`);
  return b;
}

export function canaryPortContract(name: string, setup: () => Promise<CanaryPortFixture>): void {
  describe(`CanaryPort contract: ${name}`, () => {
    let fx: CanaryPortFixture;
    let ids: readonly number[];
    before(async () => {
      fx = await setup();
      ids = fx.brokerIds;
    });
    after(async () => {
      await fx?.teardown();
    });

    it('describe lists the live brokers in id order and no layout for a missing topic', async () => {
      const t = await fx.port.describe('contract-canary-missing', TIMEOUT_MS);
      assert.deepEqual(t.brokers.map((b) => b.nodeId), [...ids]);
      assert.equal(t.partitions, null);
    });

    it('createTopic places exactly the given replicas; each partition gets a leader among them', async () => {
      const [a, b, c] = ids as [number, number, number];
      const assignment = [[a, b, c], [b, c, a], [c, a, b]];
      await fx.port.createTopic('contract-canary-layout', assignment, TIMEOUT_MS);
      const parts = await layoutWithLeaders(fx.port, 'contract-canary-layout', 3);
      assert.deepEqual(parts.map((p) => p.partition), [0, 1, 2]);
      assert.deepEqual(parts.map((p) => p.replicas), assignment);
      for (const p of parts) assert.ok(p.replicas.includes(p.leader), `leader ${p.leader} is a replica`);
      // a second create (another replica got there first) is no error and changes nothing
      await fx.port.createTopic('contract-canary-layout', [[a]], TIMEOUT_MS);
      assert.deepEqual((await layoutWithLeaders(fx.port, 'contract-canary-layout', 3)).map((p) => p.replicas), assignment);
    });

    it('createPartitions appends partitions with the given replicas and rejects a stale count', async () => {
      const [a, b, c] = ids as [number, number, number];
      await fx.port.createTopic('contract-canary-grow', [[a, b], [b, c]], TIMEOUT_MS);
      await layoutWithLeaders(fx.port, 'contract-canary-grow', 2);
      await fx.port.createPartitions('contract-canary-grow', 2, [[c, a]], TIMEOUT_MS);
      const parts = await layoutWithLeaders(fx.port, 'contract-canary-grow', 3);
      assert.deepEqual(parts.map((p) => p.replicas), [[a, b], [b, c], [c, a]]);
      await assert.rejects(fx.port.createPartitions('contract-canary-grow', 2, [[a, b]], TIMEOUT_MS), /INVALID_PARTITIONS|INVALID_REPLICA_ASSIGNMENT/);
      assert.equal((await layoutWithLeaders(fx.port, 'contract-canary-grow', 3)).length, 3);
    });

    it('produce (acks=all) returns increasing offsets and readBack returns each record at its offset, null at the end', async () => {
      const [a, b, c] = ids as [number, number, number];
      await fx.port.createTopic('contract-canary-rw', [[a, b, c]], TIMEOUT_MS);
      const [p0] = await layoutWithLeaders(fx.port, 'contract-canary-rw', 1);
      const topology = await fx.port.describe('contract-canary-rw', TIMEOUT_MS);
      const leader = brokerOf(topology, (p0 as CanaryPartition).leader);
      const req = { topic: 'contract-canary-rw', partition: 0, leader, timeoutMs: TIMEOUT_MS };
      const first = await fx.port.produce({ ...req, value: '{"n":1}', timestampMs: Date.now() });
      const second = await fx.port.produce({ ...req, value: '{"n":2}', timestampMs: Date.now() });
      assert.equal(second.offset, first.offset + 1);
      assert.equal(await fx.port.readBack({ ...req, offset: first.offset }), '{"n":1}');
      assert.equal(await fx.port.readBack({ ...req, offset: second.offset }), '{"n":2}');
      assert.equal(await fx.port.readBack({ ...req, offset: second.offset + 1 }), null);
    });

    it('produce to a broker that does not lead the partition rejects with NOT_LEADER_OR_FOLLOWER, naming the broker', async () => {
      const [a, b, c] = ids as [number, number, number];
      await fx.port.createTopic('contract-canary-follower', [[a, b, c]], TIMEOUT_MS);
      const [p0] = await layoutWithLeaders(fx.port, 'contract-canary-follower', 1);
      const topology = await fx.port.describe('contract-canary-follower', TIMEOUT_MS);
      const followerId = (p0 as CanaryPartition).replicas.find((r) => r !== (p0 as CanaryPartition).leader) as number;
      const follower = brokerOf(topology, followerId);
      const req = { topic: 'contract-canary-follower', partition: 0, leader: follower, timeoutMs: TIMEOUT_MS };
      // A follower that has not yet heard of the new topic answers UNKNOWN_TOPIC_OR_PARTITION.
      const answer = await waitFor(
        async () => {
          try {
            await fx.port.produce({ ...req, value: 'x', timestampMs: Date.now() });
            return { accepted: true } as const;
          } catch (err) {
            if (/UNKNOWN_TOPIC_OR_PARTITION/.test((err as Error).message)) throw err;
            return { rejected: err as Error } as const;
          }
        },
        { timeoutMs: 30_000, what: `broker ${followerId} to know the topic` },
      );
      const rejected = 'rejected' in answer ? answer.rejected : undefined;
      assert.ok(rejected, 'a follower must not accept a produce');
      assert.match(rejected.message, /NOT_LEADER_OR_FOLLOWER/);
      assert.match(rejected.message, new RegExp(`broker ${followerId}\\b`));
    });
  });
}
