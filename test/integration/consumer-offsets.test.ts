/**
 * Reading `__consumer_offsets` through the raw layer (issue 9 item 1, the decoding layer):
 * on a real broker, a mixed workload of offset commits — a kafkajs consumer group, direct
 * commits with and without a retention time, a deleted group, an OffsetDelete, a
 * transactional producer's sendOffsets committed and another's aborted — is read back by
 * fetching every partition of the topic from offset 0 with read_committed, iterating its
 * batches, dropping aborted transactions and decoding each record. The latest offset per
 * group/topic/partition must equal what OffsetFetch reports; tombstones remove entries;
 * the aborted commit is in the log yet absent from the result.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { decodeOffsetsRecord, type OffsetsRecord } from '../../src/kafka/consumer-offsets';
import { KafkajsOffsetsLog } from '../../src/kafka/kafkajs-offsets-log';
import { CommitStream } from '../../src/monitor/commit-stream';
import { systemClock } from '../../src/util/clock';
import { fetchRequest } from '../../src/kafka/kafkajs-admin';
import { KafkaConnections, kafkaErrorName } from '../../src/kafka/kafkajs-wire';
import { committedBatches } from '../../src/kafka/read-committed';
import { type RecordBatch, iterateRecordBatches } from '../../src/kafka/record-batch';
import { silenceKafkajsNegativeTimeoutWarning } from '../../src/kafka/kafkajs-warnings';
import { silentLogger } from '../../src/log';
import { OffsetCommitter } from '../harness/commit-offsets';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka, testKafkaAtLeast } from '../harness/kafka';
import { waitFor } from '../harness/wait';

const OFFSETS_TOPIC = '__consumer_offsets';
const WAIT_MS = 60_000;
const FETCH_PARTITION_BYTES = 1024 * 1024;
const OFFSET_DELETE_API_KEY = 47; // not among kafkajs's requests

let cluster: KafkaCluster;
let kafka: Kafka;
let admin: Admin;
let conns: KafkaConnections;
let committer: OffsetCommitter;
let stream: CommitStream | undefined;
const producers: Producer[] = [];

before(async () => {
  silenceKafkajsNegativeTimeoutWarning();
  // one broker: the harness sizes __consumer_offsets and the transaction log for it
  // (replication factor 1, 5 partitions, transaction.state.log.min.isr 1)
  cluster = await startKafka({ brokers: 1, name: 'offsets' });
  kafka = new Kafka({ brokers: cluster.bootstrap, clientId: 'offsets-test', logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  conns = new KafkaConnections({ brokers: cluster.bootstrap, clientId: 'offsets-reader', ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 }, silentLogger);
  committer = new OffsetCommitter(cluster.bootstrap);
});

after(async () => {
  await Promise.allSettled([stream?.stop(), admin?.disconnect(), conns?.close(), committer?.close(), ...producers.map((p) => p.disconnect())]);
  await cluster?.shutdown();
});

/** What reading the whole topic gave: the folded view, and what was seen on the way. */
interface OffsetsRead {
  /** group → "topic/partition" → offset, as the records leave it */
  readonly offsets: Map<string, Map<string, number>>;
  readonly records: OffsetsRecord[];
  /** data batches of aborted transactions, dropped by committedBatches */
  readonly dropped: OffsetsRecord[];
}

/**
 * Every partition of __consumer_offsets from offset 0 to its last stable offset, Fetch v4
 * read_committed, through the raw layer.
 */
async function readOffsetsTopic(): Promise<OffsetsRead> {
  const md = await cluster.metadata(1, [OFFSETS_TOPIC]);
  const partitions = md.topics.find((t) => t.name === OFFSETS_TOPIC)?.partitions ?? [];
  assert.ok(partitions.length > 0, `${OFFSETS_TOPIC} exists`);
  const broker = await conns.connect(cluster.brokerAddress(1));
  const records: OffsetsRecord[] = [];
  const dropped: OffsetsRecord[] = [];
  for (const { partition } of partitions) {
    let offset = 0;
    for (;;) {
      const [answer] = await conns.send(broker, fetchRequest([{ topic: OFFSETS_TOPIC, partition, offset }], FETCH_PARTITION_BYTES, 'read_committed'));
      assert.ok(answer, `an answer for ${OFFSETS_TOPIC}/${partition}`);
      assert.equal(answer.errorCode, 0, `Fetch ${OFFSETS_TOPIC}/${partition} at ${offset}: ${kafkaErrorName(answer.errorCode)}`);
      if (offset >= answer.lastStableOffset) break;
      const batches = [...iterateRecordBatches(answer.records ?? Buffer.alloc(0))];
      assert.ok(batches.length > 0, `${OFFSETS_TOPIC}/${partition} at ${offset} below its last stable offset ${answer.lastStableOffset} gave no whole batch`);
      const kept = new Set<RecordBatch>(committedBatches(batches, answer.abortedTransactions));
      for (const b of batches) {
        if (b.isControl) continue;
        const decoded = b.records.map((r) => decodeOffsetsRecord(r.key, r.value));
        (kept.has(b) ? records : dropped).push(...decoded);
      }
      offset = (batches.at(-1) as RecordBatch).lastOffset + 1;
    }
  }
  const offsets = new Map<string, Map<string, number>>();
  for (const r of records) {
    assert.notEqual(r.kind, 'undecodable', JSON.stringify(r));
    if (r.kind !== 'offset-commit') continue;
    const group = offsets.get(r.group) ?? new Map<string, number>();
    if (r.value === null) group.delete(`${r.topic}/${r.partition}`);
    else group.set(`${r.topic}/${r.partition}`, r.value.offset);
    if (group.size > 0) offsets.set(r.group, group);
    else offsets.delete(r.group);
  }
  return { offsets, records, dropped };
}

/** What OffsetFetch (kafkajs admin.fetchOffsets, every topic) reports for `group`. */
async function offsetFetch(group: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of await admin.fetchOffsets({ groupId: group })) {
    for (const p of t.partitions) if (Number(p.offset) >= 0) out.set(`${t.topic}/${p.partition}`, Number(p.offset));
  }
  return out;
}

/** OffsetDelete v0 for one topic of a group (kafkajs has no OffsetDelete). */
async function deleteTopicOffsets(group: string, topic: string, partitions: number[]): Promise<void> {
  const broker = await conns.connect(cluster.brokerAddress(1));
  const errors = await conns.send(broker, {
    apiKey: OFFSET_DELETE_API_KEY,
    apiName: 'OffsetDelete',
    versions: { min: 0, max: 0 },
    encode: (w) => {
      w.string(group).array([topic], (w, t) => w.string(t).array(partitions, (w, p) => w.int32(p)));
    },
    decode: (r) => {
      const errorCode = r.int16();
      r.int32(); // throttle
      const parts = r.array((t) => {
        t.string();
        return t.array((p) => ({ partition: p.int32(), errorCode: p.int16() }));
      });
      return [errorCode, ...parts.flat().map((p) => p.errorCode)].filter((c) => c !== 0);
    },
  });
  assert.deepEqual(errors.map(kafkaErrorName), [], `OffsetDelete ${group} ${topic}`);
}

async function transactionalProducer(id: string): Promise<Producer> {
  const producer = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1 });
  producers.push(producer);
  await producer.connect();
  return producer;
}

describe('__consumer_offsets read back through the raw layer (issue 9 item 1)', () => {
  it('gives the offsets OffsetFetch reports for every group, without deleted offsets and aborted transactions', () =>
    withLogsOnFailure(cluster, async () => {
      await cluster.createTopic('orders', { partitions: 3 });
      await cluster.createTopic('payments', { partitions: 1 });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      producers.push(producer);
      await producer.connect();
      for (const partition of [0, 1, 2]) {
        await producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: 4 }, (_, i) => ({ partition, value: `o${partition}-${i}` })) });
      }

      // a classic-protocol group: a kafkajs consumer reads everything and commits
      const consumer = kafka.consumer({ groupId: 'classic-a' });
      let consumed = 0;
      await consumer.connect();
      try {
        await consumer.subscribe({ topic: 'orders', fromBeginning: true });
        await consumer.run({ autoCommit: false, eachMessage: async () => void consumed++ });
        await waitFor(() => consumed >= 12, { timeoutMs: WAIT_MS, what: `classic-a to consume 12 records (has ${consumed})` });
        await consumer.commitOffsets([0, 1, 2].map((partition) => ({ topic: 'orders', partition, offset: '4' })));
      } finally {
        await consumer.disconnect();
      }

      // direct commits: a later commit replaces an earlier one; one with a retention time
      await committer.commit('direct-b', [{ topic: 'orders', partition: 0, offset: 1 }, { topic: 'orders', partition: 1, offset: 2 }]);
      await committer.commit('direct-b', [{ topic: 'orders', partition: 0, offset: 3 }]);
      await committer.commit('retained-c', [{ topic: 'orders', partition: 2, offset: 2 }], { retentionMs: 86_400_000 });

      // deleted: a whole group, and one topic of another group
      await committer.commit('deleted-d', [{ topic: 'orders', partition: 0, offset: 4 }]);
      await admin.deleteGroups(['deleted-d']);
      await committer.commit('partly-e', [{ topic: 'orders', partition: 1, offset: 4 }, { topic: 'payments', partition: 0, offset: 0 }]);
      await deleteTopicOffsets('partly-e', 'payments', [0]);

      // transactional offset commits: one committed, one aborted over an earlier plain commit
      const committing = await transactionalProducer('tx-commit');
      const commitTxn = await committing.transaction();
      await commitTxn.send({ topic: 'payments', messages: [{ value: 'paid' }] });
      await commitTxn.sendOffsets({ consumerGroupId: 'tx-g', topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '5' }] }] });
      await commitTxn.commit();
      await committer.commit('tx-g2', [{ topic: 'orders', partition: 0, offset: 1 }]);
      const aborting = await transactionalProducer('tx-abort');
      const abortTxn = await aborting.transaction();
      await abortTxn.sendOffsets({ consumerGroupId: 'tx-g2', topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '9' }] }] });
      await abortTxn.abort();

      const groups = ['classic-a', 'direct-b', 'retained-c', 'deleted-d', 'partly-e', 'tx-g', 'tx-g2'];
      const expected = {
        'classic-a': { 'orders/0': 4, 'orders/1': 4, 'orders/2': 4 },
        'direct-b': { 'orders/0': 3, 'orders/1': 2 },
        'retained-c': { 'orders/2': 2 },
        'deleted-d': {},
        'partly-e': { 'orders/1': 4 },
        'tx-g': { 'orders/0': 5 },
        'tx-g2': { 'orders/0': 1 },
      };
      const asObject = (m: Map<string, number> | undefined) => Object.fromEntries([...(m ?? new Map<string, number>())].sort());
      // Transaction markers reach __consumer_offsets after EndTxn answers: wait until the
      // broker's own view and the records read back both show the workload done.
      const read = await waitFor(
        async () => {
          const fetched = Object.fromEntries(await Promise.all(groups.map(async (g) => [g, asObject(await offsetFetch(g))] as const)));
          assert.deepEqual(fetched, expected, 'OffsetFetch');
          const r = await readOffsetsTopic();
          assert.deepEqual(Object.fromEntries(groups.map((g) => [g, asObject(r.offsets.get(g))])), fetched, 'the offsets read back from __consumer_offsets');
          return r;
        },
        { timeoutMs: WAIT_MS, intervalMs: 250, what: 'the offsets read back from __consumer_offsets to equal OffsetFetch' },
      );
      // no group's offsets outside the workload: the view is exactly the broker's
      assert.deepEqual([...read.offsets.keys()].sort(), groups.filter((g) => Object.keys(expected[g as keyof typeof expected]).length > 0).sort());

      const commits = read.records.filter((r) => r.kind === 'offset-commit');
      // the deleted offsets were there, and left as tombstones
      assert.ok(commits.some((r) => r.group === 'deleted-d' && r.value !== null), 'deleted-d had committed');
      assert.ok(commits.some((r) => r.group === 'deleted-d' && r.value === null), 'deleted-d offsets tombstoned');
      assert.ok(commits.some((r) => r.group === 'partly-e' && r.topic === 'payments' && r.value === null), 'partly-e payments tombstoned');
      // the aborted commit is in the log, dropped by the read_committed filter
      assert.ok(
        read.dropped.some((r) => r.kind === 'offset-commit' && r.group === 'tx-g2' && r.value?.offset === 9),
        `the aborted commit of tx-g2 among the dropped records: ${JSON.stringify(read.dropped)}`,
      );
      assert.ok(!commits.some((r) => r.group === 'tx-g2' && r.value?.offset === 9));
      // what this broker writes, and the decoder reads: v1 with a retention time; otherwise v3
      // values up to Kafka 4.0, v4 from 4.1 (flexible, with the topic's id tagged on);
      // the classic group's metadata with its protocol type
      assert.ok(commits.some((r) => r.group === 'retained-c' && r.value?.version === 1 && r.value.expireTimestampMs !== null), 'retained-c as OffsetCommitValue v1');
      const classicCommits = commits.filter((r) => r.group === 'classic-a').map((r) => ({ version: r.value?.version, topicId: r.value?.topicId }));
      const writesV4 = testKafkaAtLeast(4, 1);
      assert.ok(classicCommits.length > 0 && classicCommits.every((c) => c.version === (writesV4 ? 4 : 3)), `classic-a as OffsetCommitValue v${writesV4 ? 4 : 3}: ${JSON.stringify(classicCommits)}`);
      assert.equal(new Set(classicCommits.map((c) => c.topicId)).size, 1, 'one topic, one id');
      assert.equal(classicCommits[0]?.topicId === null, !writesV4, `a topic id only in v4: ${JSON.stringify(classicCommits)}`);
      const classic = read.records.filter((r) => r.kind === 'group-metadata' && r.group === 'classic-a');
      assert.ok(
        classic.some((r) => r.kind === 'group-metadata' && r.value?.protocolType === 'consumer' && r.value.protocol === 'RoundRobinAssigner' && r.value.members === 1),
        `classic-a's group metadata: ${JSON.stringify(classic)}`,
      );
    }));
  it('the commit stream (monitor.offsetsSource: stream) holds what OffsetFetch reports, live, across an open transaction and a restart of the coordinator', () =>
    withLogsOnFailure(cluster, async () => {
      const groups = ['classic-a', 'direct-b', 'retained-c', 'deleted-d', 'partly-e', 'tx-g', 'tx-g2', 'tx-open'];
      const asObject = (m: ReadonlyMap<string, ReadonlyMap<number, number>> | Map<string, number> | null | undefined): Record<string, number> | null => {
        if (m === null || m === undefined) return null;
        const flat: [string, number][] = [];
        for (const [k, v] of m) {
          if (typeof v === 'number') flat.push([k as string, v]);
          else for (const [p, o] of v) flat.push([`${k}/${p}`, o]);
        }
        return Object.fromEntries(flat.sort());
      };
      const streamed = () => Object.fromEntries(groups.map((g) => [g, asObject(stream?.committed(g))]));
      const fetched = async () => Object.fromEntries(await Promise.all(groups.map(async (g) => [g, asObject(await offsetFetch(g))] as const)));
      const agree = (what: string) =>
        waitFor(
          async () => {
            const f = await fetched();
            assert.deepEqual(streamed(), f);
            return f;
          },
          { timeoutMs: WAIT_MS, intervalMs: 100, what: `the commit stream to equal OffsetFetch ${what}` },
        );

      // started after the first test's workload: it reads the log from its start
      stream = new CommitStream(new KafkajsOffsetsLog({ brokers: cluster.bootstrap, clientId: 'offsets-stream', ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 }, silentLogger), systemClock, silentLogger, { staleAfterMs: 30_000 });
      stream.start();
      const first = await agree('after reading the log from its start');
      assert.deepEqual(first['tx-g2'], { 'orders/0': 1 }, 'the aborted transactional commit is not applied');
      assert.deepEqual(first['deleted-d'], {}, 'the deleted group has no offsets');

      // a transaction's commit counts at its COMMIT marker; other commits stay current while it is open
      const opening = await transactionalProducer('tx-open');
      const openTxn = await opening.transaction();
      await openTxn.sendOffsets({ consumerGroupId: 'tx-open', topics: [{ topic: 'orders', partitions: [{ partition: 2, offset: '3' }] }] });
      await committer.commit('direct-b', [{ topic: 'orders', partition: 1, offset: 4 }]);
      const during = await agree('while a transaction is open');
      assert.deepEqual(during['direct-b'], { 'orders/0': 3, 'orders/1': 4 });
      assert.deepEqual(during['tx-open'], {}, 'the open transaction commits nothing yet');
      await openTxn.commit();
      const after = await agree('after the transaction committed');
      assert.deepEqual(after['tx-open'], { 'orders/2': 3 });
      const status = stream.status();
      assert.ok(status.state === 'tailing' && status.vouched === status.partitions && status.errors.length === 0, JSON.stringify(status));

      // the coordinator restarts: the stream loses its leader, finds it again and goes on
      await cluster.restart(1);
      await committer.commit('direct-b', [{ topic: 'orders', partition: 0, offset: 4 }]);
      const restarted = await agree('after the coordinator restarted');
      assert.deepEqual(restarted['direct-b'], { 'orders/0': 4, 'orders/1': 4 });
    }));
});
