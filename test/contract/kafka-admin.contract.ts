/**
 * The KafkaAdmin contract (STYLE habit 4): the same cases run against the in-memory fake
 * (test/unit/kafka-admin-memory.test.ts) and the kafkajs adapter on a real cluster
 * (test/integration/kafka-admin.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrokerInfo, KafkaAdmin } from '../../src/kafka/types';
import { probeKey } from '../../src/kafka/types';
import { waitFor } from '../harness/wait';

export interface KafkaAdminFixture {
  readonly admin: KafkaAdmin;
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Appends records with these CreateTime timestamps to one partition, in order. */
  produce(topic: string, partition: number, timestampsMs: readonly number[]): Promise<void>;
  commit(group: string, topic: string, partition: number, offset: number): Promise<void>;
  /** Makes a broker hang (accept connections, answer nothing: SIGSTOP) and undoes it. */
  hang(nodeId: number): Promise<void>;
  unhang(nodeId: number): Promise<void>;
  teardown(): Promise<void>;
}

export function kafkaAdminContract(name: string, setup: () => Promise<KafkaAdminFixture>): void {
  describe(`KafkaAdmin contract: ${name}`, () => {
    let fx: KafkaAdminFixture;
    const base = Date.now() - 60_000;
    const stamps = [0, 1000, 2000, 2000, 5000, 9000].map((d) => base + d);

    before(async () => {
      fx = await setup();
      await fx.createTopic('contract-a', 3);
      await fx.produce('contract-a', 0, stamps);
      await fx.produce('contract-a', 1, stamps.slice(0, 2));
      await fx.commit('contract-g1', 'contract-a', 0, 2);
      await fx.commit('contract-g1', 'contract-a', 1, 2);
      await fx.commit('contract-g2', 'contract-a', 0, 4);
    });
    after(async () => {
      await fx?.teardown();
    });

    it('metadata lists every partition of a topic with a leader among the brokers and ISR within the replicas', async () => {
      const md = await fx.admin.metadata();
      const topic = md.topics.find((t) => t.topic === 'contract-a');
      assert.ok(topic, 'topic listed');
      assert.deepEqual(topic.partitions.map((p) => p.partition), [0, 1, 2]);
      const ids = new Set(md.brokers.map((b) => b.nodeId));
      for (const p of topic.partitions) {
        assert.ok(ids.has(p.leader), `leader ${p.leader} is a broker`);
        for (const r of p.isr) assert.ok(p.replicas.includes(r), 'isr within replicas');
      }
    });

    it('end offsets count the records of each partition', async () => {
      const ends = await fx.admin.endOffsets([0, 1, 2].map((partition) => ({ topic: 'contract-a', partition })));
      assert.deepEqual(ends.map((e) => e.offset), [6, 2, 0]);
    });

    it('offsets for a timestamp give the first record at or after it, +Infinity when all are older', async () => {
      const tps = [{ topic: 'contract-a', partition: 0 }];
      const at = async (t: number) => (await fx.admin.offsetsForTimestamp(tps, t))[0]?.offset;
      assert.equal(await at(base - 1), 0);
      assert.equal(await at(base + 1000), 1);
      assert.equal(await at(base + 1500), 2);
      assert.equal(await at(base + 2001), 4);
      assert.equal(await at(base + 9000), 5);
      assert.equal(await at(base + 9001), Number.POSITIVE_INFINITY);
    });

    it('committed offsets are returned per group, and the groups are listed', async () => {
      const groups = (await fx.admin.listGroups()).map((g) => g.groupId);
      assert.ok(groups.includes('contract-g1') && groups.includes('contract-g2'), `groups listed: ${groups}`);
      const res = await fx.admin.committedOffsets(['contract-g1', 'contract-g2']);
      const g1 = res.get('contract-g1');
      const g2 = res.get('contract-g2');
      assert.ok(g1 && 'offsets' in g1 && g2 && 'offsets' in g2);
      assert.deepEqual([...(g1.offsets.get('contract-a') ?? [])].sort(), [[0, 2], [1, 2]]);
      assert.deepEqual([...(g2.offsets.get('contract-a') ?? [])], [[0, 4]]);
    });

    it('probes give the exact CreateTime of the record at each offset, also several offsets of one partition', async () => {
      const res = await fx.admin.probeRecords([
        { topic: 'contract-a', partition: 0, offset: 2 },
        { topic: 'contract-a', partition: 0, offset: 4 },
        { topic: 'contract-a', partition: 1, offset: 1 },
      ]);
      assert.deepEqual(res.get(probeKey('contract-a', 0, 2)), { kind: 'record', offset: 2, timestampMs: base + 2000, exact: true });
      assert.deepEqual(res.get(probeKey('contract-a', 0, 4)), { kind: 'record', offset: 4, timestampMs: base + 5000, exact: true });
      assert.deepEqual(res.get(probeKey('contract-a', 1, 1)), { kind: 'record', offset: 1, timestampMs: base + 1000, exact: true });
    });

    it('describes groups: a group with commits and no members is Empty, an unknown one Dead', async () => {
      const res = await fx.admin.describeGroups(['contract-g1', 'contract-never']);
      const { coordinator, ...g1 } = res.get('contract-g1') ?? { coordinator: undefined };
      // a group that only commits offsets: simple, no members
      assert.deepEqual(g1, { groupId: 'contract-g1', type: 'simple', state: 'Empty', members: 0, memberList: [] });
      assert.equal(res.get('contract-never')?.state, 'Dead');
      // the coordinator is named, so a lag it causes can name the broker
      const ids = (await fx.admin.metadata()).brokers.map((b) => b.nodeId);
      assert.ok(coordinator !== undefined && ids.includes(coordinator), `coordinator ${coordinator} is one of the brokers ${ids}`);
    });

    it('pings every live broker successfully', async () => {
      const md = await fx.admin.metadata();
      const pings = await fx.admin.pingBrokers(md.brokers, 2000);
      assert.deepEqual([...pings.values()], md.brokers.map(() => ({ ok: true })));
    });

    it("reads each topic's effective min.insync.replicas", async () => {
      const res = await fx.admin.topicMinIsr(['contract-a']);
      assert.equal(res.get('contract-a'), 1);
    });

    it('describes the KRaft controller quorum through a broker: a leader among the voters, each voter at or below its log end', async () => {
      const md = await fx.admin.metadata();
      const q = await fx.admin.describeQuorum(md.brokers, 5000);
      assert.equal(q.state, 'described', JSON.stringify(q));
      if (q.state !== 'described') return;
      // the fixtures run three combined broker+controller nodes: the voters are the brokers
      assert.deepEqual(q.voters.map((v) => v.nodeId), md.brokers.map((b) => b.nodeId));
      const leader = q.voters.find((v) => v.nodeId === q.leaderId);
      assert.ok(leader, `leader ${q.leaderId} is a voter`);
      assert.ok(q.leaderEpoch >= 1);
      // the leader reports itself caught up as of its answer, and holds the longest log
      assert.ok(leader.lastCaughtUpMs !== null && leader.lastFetchMs !== null);
      for (const v of q.voters) {
        assert.ok(v.logEndOffset !== null && leader.logEndOffset !== null && v.logEndOffset <= leader.logEndOffset, `voter ${v.nodeId} at ${v.logEndOffset}`);
      }
      assert.ok(q.highWatermark !== null && leader.logEndOffset !== null && q.highWatermark <= leader.logEndOffset);
    });

    it('a quorum asked through no broker is unanswered, not an exception', async () => {
      assert.equal((await fx.admin.describeQuorum([], 1000)).state, 'unanswered');
    });

    it('a partition that does not exist gets an error, not an exception', async () => {
      const [end] = await fx.admin.endOffsets([{ topic: 'contract-missing', partition: 0 }]);
      assert.equal(end?.offset, null);
      assert.match(end?.error ?? '', /UNKNOWN_TOPIC_OR_PARTITION/);
    });

    /**
     * The broker to hang: one that leads a partition of contract-a but not the controller
     * quorum (whose failover would leave DescribeQuorum unanswered through any broker), a
     * group's coordinator if one is.
     */
    async function brokerToHang() {
      const md = await fx.admin.metadata();
      const leaders = new Map((md.topics.find((t) => t.topic === 'contract-a')?.partitions ?? []).map((p) => [p.partition, p.leader]));
      const coordinators = new Map([...(await fx.admin.describeGroups(['contract-g1', 'contract-g2']))].map(([g, d]) => [g, d.coordinator]));
      const quorumLeader = (q => (q.state === 'described' ? q.leaderId : null))(await fx.admin.describeQuorum(md.brokers, 5000));
      const candidates = [...new Set(leaders.values())].filter((id) => id !== quorumLeader);
      const hung = candidates.find((id) => [...coordinators.values()].includes(id)) ?? (candidates[0] as number);
      return { md, leaders, coordinators, hung };
    }
    const tps = [0, 1, 2].map((partition) => ({ topic: 'contract-a', partition }));

    // last: the other cases want every broker answering
    it('a broker that fails its ping is asked nothing else until a ping succeeds: what needs it fails at once, saying so, and the rest answers', async () => {
      const { md, leaders, coordinators, hung } = await brokerToHang();
      await fx.hang(hung);
      try {
        const pings = await fx.admin.pingBrokers(md.brokers, 1000);
        assert.deepEqual(
          md.brokers.map((b) => [b.nodeId, pings.get(b.nodeId)?.ok]),
          md.brokers.map((b) => [b.nodeId, b.nodeId !== hung]),
        );
        const ends = await fx.admin.endOffsets(tps);
        for (const e of ends) {
          if (leaders.get(e.partition) === hung) assert.match(e.error ?? '', /not asked/, `partition ${e.partition}, led by the hung broker`);
          else assert.equal(e.error, undefined, `partition ${e.partition}, led by broker ${leaders.get(e.partition)}`);
        }
        assert.deepEqual(ends.map((e) => e.offset), ends.map((e) => (leaders.get(e.partition) === hung ? null : [6, 2, 0][e.partition])));
        const committed = await fx.admin.committedOffsets(['contract-g1', 'contract-g2']);
        for (const [g, r] of committed) {
          if (coordinators.get(g) === hung) assert.match('error' in r ? r.error : '', /not asked/, `${g}, coordinated by the hung broker`);
          else assert.ok('offsets' in r, `${g}, coordinated by broker ${coordinators.get(g)}: ${JSON.stringify(r)}`);
        }
        // still named by the metadata (it keeps its session), which a broker that answered gave
        assert.ok((await fx.admin.metadata()).brokers.some((b) => b.nodeId === hung));
        const others = md.brokers.filter((b) => b.nodeId !== hung);
        const quorum = await fx.admin.describeQuorum([md.brokers.find((b) => b.nodeId === hung) as BrokerInfo, ...others], 5000);
        assert.equal(quorum.state, 'described', `asked through the brokers that answered: ${JSON.stringify(quorum)}`);
      } finally {
        await fx.unhang(hung);
      }
      await waitFor(async () => (await fx.admin.pingBrokers(md.brokers, 1000)).get(hung)?.ok === true, { timeoutMs: 30_000, what: `broker ${hung} answering its ping again` });
      assert.deepEqual((await fx.admin.endOffsets(tps)).map((e) => e.offset), [6, 2, 0]);
    });

    it('a broker that hangs after answering its ping: the requests sent to it fail "not answered" (at the watch, not at the request timeout), it stands as failed, and is asked nothing else until a ping succeeds', async () => {
      const { md, leaders, hung } = await brokerToHang();
      const pings = await fx.admin.pingBrokers(md.brokers, 1000);
      assert.ok([...pings.values()].every((p) => p.ok), `every broker answered: ${JSON.stringify([...pings])}`);
      await fx.hang(hung);
      try {
        const ends = await fx.admin.endOffsets(tps);
        for (const e of ends) {
          if (leaders.get(e.partition) === hung) assert.match(e.error ?? '', /not answered/, `partition ${e.partition}, led by the hung broker`);
          else assert.equal(e.error, undefined, `partition ${e.partition}, led by broker ${leaders.get(e.partition)}`);
        }
        const standing = fx.admin.brokerStanding(md.brokers);
        assert.deepEqual(
          md.brokers.map((b) => [b.nodeId, standing.get(b.nodeId)?.ok]),
          md.brokers.map((b) => [b.nodeId, b.nodeId !== hung]),
        );
        for (const e of await fx.admin.endOffsets(tps)) {
          if (leaders.get(e.partition) === hung) assert.match(e.error ?? '', /not asked/, `partition ${e.partition}, asked again`);
        }
      } finally {
        await fx.unhang(hung);
      }
      await waitFor(async () => (await fx.admin.pingBrokers(md.brokers, 1000)).get(hung)?.ok === true, { timeoutMs: 30_000, what: `broker ${hung} answering its ping again` });
      assert.equal(fx.admin.brokerStanding(md.brokers).get(hung)?.ok, true);
      assert.deepEqual((await fx.admin.endOffsets(tps)).map((e) => e.offset), [6, 2, 0]);
    });
  });
}
