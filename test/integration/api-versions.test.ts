/**
 * Version negotiation of vigil's raw requests against a real broker (issue 10 item 1;
 * docs/design.md §9.1), whatever Kafka the harness runs (3.9 today, 4.x with
 * VIGIL_KAFKA_VERSION): nothing here names a Kafka release, every expectation comes from
 * the broker's own ApiVersions answer.
 *
 * - Each raw request is sent in min(vigil's highest, the broker's highest) version — the
 *   version its decoder was handed — and the broker answers it without an error.
 * - Every version in vigil's range that the broker also speaks is sent once and decodes to
 *   the same answer as the negotiated one: each claimed version's encoder and decoder are
 *   checked against the real broker, not only against bytes built by hand.
 * - A range the broker does not speak fails before anything is sent, with
 *   KAFKA_API_UNSUPPORTED naming both ranges — not a decode error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createTopicValidateOnly } from '../../src/doctor/kafka-probe';
import { VigilError } from '../../src/errors';
import {
  alterPartitionReassignmentsRequest,
  electLeadersRequest,
  incrementalAlterConfigsRequest,
  listPartitionReassignmentsRequest,
} from '../../src/kafka/admin-mutations';
import { describeQuorumRequest } from '../../src/kafka/describe-quorum';
import {
  CLUSTER_METADATA,
  LATEST_TIMESTAMP,
  describeGroupsRequest,
  describeTopicConfigsRequest,
  fetchRequest,
  listOffsetsRequest,
  metadataRequest,
  offsetFetchRequest,
} from '../../src/kafka/kafkajs-admin';
import {
  type DescribedGroup,
  type ListedGroup,
  type ShareGroupOffsets,
  consumerGroupDescribeRequest,
  describeShareGroupOffsetsRequest,
  listGroupsRequest,
  shareGroupDescribeRequest,
  streamsGroupDescribeRequest,
} from '../../src/kafka/group-requests';
import { KafkaConnections, type RawRequest, brokerVersions, versionSpan } from '../../src/kafka/kafkajs-wire';
import { silenceKafkajsNegativeTimeoutWarning } from '../../src/kafka/kafkajs-warnings';
import type { ControllerQuorum } from '../../src/kafka/types';
import { silentLogger } from '../../src/log';
import { OffsetCommitter } from '../harness/commit-offsets';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka, testKafkaAtLeast } from '../harness/kafka';

const TOPIC = 'av-data';
const GROUP = 'av-group';

let cluster: KafkaCluster;
let conns: KafkaConnections;

before(async () => {
  silenceKafkajsNegativeTimeoutWarning();
  cluster = await startKafka({ brokers: 1, name: 'api-versions' });
  conns = new KafkaConnections({ brokers: cluster.bootstrap, clientId: 'vigil-api-versions-test', ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 }, silentLogger);
  await cluster.createTopic(TOPIC, { partitions: 2, replicationFactor: 1 });
  const kafka = new Kafka({ brokers: cluster.bootstrap, clientId: 'av-producer', logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: TOPIC, messages: [0, 1, 2, 3, 4].map((i) => ({ partition: 0, value: `record ${i}`, timestamp: String(1_700_000_000_000 + i) })) });
  await producer.disconnect();
  const committer = new OffsetCommitter(cluster.bootstrap);
  await committer.commit(GROUP, [{ topic: TOPIC, partition: 0, offset: 2 }]);
  await committer.close();
});

after(async () => {
  await conns?.close();
  await cluster?.shutdown();
});

/** A raw request, and its answer with what may differ between two asks taken out. */
interface Case {
  readonly req: RawRequest<unknown>;
  readonly comparable: (answer: never) => unknown;
  /** What a correct answer holds (beyond decoding): checked in every version. */
  readonly check: (answer: never) => void;
}

const same = <T>(a: T): T => a;
const quorumShape = (q: ControllerQuorum) =>
  q.state === 'described' ? { leaderId: q.leaderId, leaderEpoch: q.leaderEpoch, voters: q.voters.map((v) => v.nodeId), observers: q.observers.map((v) => v.nodeId) } : q;

function cases(): Case[] {
  const tp = [{ topic: TOPIC, partition: 0 }];
  const probe = [{ topic: TOPIC, partition: 0, offset: 2 }];
  return [
    {
      req: CLUSTER_METADATA,
      comparable: same,
      check: (md: { brokers: unknown[]; topics: { topic: string }[] }) => {
        assert.equal(md.brokers.length, 1);
        assert.ok(md.topics.some((t) => t.topic === TOPIC));
      },
    },
    {
      req: metadataRequest([TOPIC], true),
      comparable: same,
      check: (md: { clusterAuthorizedOperations?: number; topics: { errorCode: number; authorizedOperations?: number }[] }) => {
        assert.equal(typeof md.clusterAuthorizedOperations, 'number');
        assert.deepEqual(md.topics.map((t) => [t.errorCode, typeof t.authorizedOperations]), [[0, 'number']]);
      },
    },
    {
      req: describeGroupsRequest([GROUP]),
      comparable: same,
      check: (gs: { errorCode: number; groupId: string; state: string }[]) =>
        assert.deepEqual(gs.map((g) => [g.errorCode, g.groupId, g.state]), [[0, GROUP, 'Empty']]),
    },
    {
      req: describeTopicConfigsRequest([TOPIC], ['min.insync.replicas']),
      comparable: same,
      check: (rs: { errorCode: number; configs: Map<string, string | null> }[]) =>
        assert.deepEqual(rs.map((r) => [r.errorCode, r.configs.get('min.insync.replicas')]), [[0, '1']]),
    },
    {
      req: offsetFetchRequest(GROUP),
      comparable: same,
      check: (r: { errorCode: number; offsets: Map<string, Map<number, number>> }) => {
        assert.equal(r.errorCode, 0);
        assert.deepEqual([...(r.offsets.get(TOPIC) ?? [])], [[0, 2]]);
      },
    },
    {
      req: listOffsetsRequest(tp, LATEST_TIMESTAMP),
      comparable: same,
      check: (ps: { errorCode: number; offset: number }[]) => assert.deepEqual(ps.map((p) => [p.errorCode, p.offset]), [[0, 5]]),
    },
    ...(['read_uncommitted', 'read_committed'] as const).map(
      (isolation): Case => ({
        req: fetchRequest(probe, 4096, isolation),
        // v5 adds the log start offset (-1 before): what every version has in common is compared
        comparable: (ps: { logStartOffset: number }[]) => ps.map(({ logStartOffset: _, ...p }) => p),
        check: (ps: { errorCode: number; highWatermark: number; lastStableOffset: number; logStartOffset: number; records: Buffer | null }[]) => {
          assert.deepEqual(ps.map((p) => [p.errorCode, p.highWatermark, p.lastStableOffset]), [[0, 5, 5]]);
          assert.ok(ps.every((p) => p.logStartOffset === -1 || p.logStartOffset === 0), `log start offset 0 (v5+) or absent (-1): ${ps.map((p) => p.logStartOffset)}`);
          assert.ok((ps[0]?.records?.length ?? 0) > 0, 'the records from offset 2');
        },
      }),
    ),
    {
      req: describeQuorumRequest(5000),
      comparable: quorumShape,
      check: (q: ControllerQuorum) => assert.deepEqual(quorumShape(q), { ...quorumShape(q), leaderId: 1, voters: [1] }),
    },
    {
      req: listPartitionReassignmentsRequest(),
      comparable: same,
      check: (rs: unknown[]) => assert.deepEqual(rs, []),
    },
    {
      req: alterPartitionReassignmentsRequest([]),
      comparable: same,
      check: (rs: unknown[]) => assert.deepEqual(rs, []),
    },
    {
      // broker 1 already leads: ELECTION_NOT_NEEDED, read as success
      req: electLeadersRequest('preferred', tp),
      comparable: same,
      check: (rs: unknown[]) => assert.deepEqual(rs, tp),
    },
    {
      req: incrementalAlterConfigsRequest([{ type: 'topic', name: TOPIC, configs: [{ name: 'retention.ms', op: 'set', value: '3600000' }] }], true),
      comparable: same,
      check: (rs: unknown[]) => assert.deepEqual(rs, [{ type: 'topic', name: TOPIC }]),
    },
    {
      req: createTopicValidateOnly('av-not-created', 10_000),
      comparable: same,
      check: (rs: unknown[]) => assert.deepEqual(rs, [{ name: 'av-not-created', errorCode: 0 }]),
    },
    {
      // v4 adds each group's state, v5 its type: what every version has in common is compared
      req: listGroupsRequest(),
      comparable: (a: { errorCode: number; groups: ListedGroup[] }) => [a.errorCode, a.groups.map((g) => [g.groupId, g.protocolType])],
      check: (a: { errorCode: number; groups: ListedGroup[] }) => {
        const g = a.groups.find((x) => x.groupId === GROUP);
        assert.ok(g, `${GROUP} listed`);
        assert.equal(g.protocolType, '', 'a group that only commits offsets has no protocol');
        assert.ok(g.type === null || g.type === 'classic', `type ${g.type}`);
      },
    },
    // the requests of the group types Kafka 4 has (KIP-848, KIP-932, KIP-1071): asked about
    // a classic group, each answers that it is not one of its kind
    ...(testKafkaAtLeast(4)
      ? ([consumerGroupDescribeRequest, shareGroupDescribeRequest, streamsGroupDescribeRequest] as const).map(
          (make): Case => ({
            req: make([GROUP]),
            comparable: same,
            check: (gs: DescribedGroup[]) => assert.deepEqual(gs.map((g) => [g.groupId, g.errorCode, g.members]), [[GROUP, 69, []]], JSON.stringify(gs)),
          }),
        )
      : []),
    ...(testKafkaAtLeast(4)
      ? [
          {
            req: describeShareGroupOffsetsRequest(GROUP),
            comparable: same,
            check: (a: ShareGroupOffsets) => assert.deepEqual([a.errorCode === 0 ? 'answered' : 'refused', a.offsets.size], [a.errorCode === 0 ? 'answered' : 'refused', 0], JSON.stringify(a)),
          },
        ]
      : []),
  ];
}

/** Sends `req`, returning the answer and the version its decoder was handed. */
async function sendSeeingVersion<T>(req: RawRequest<T>): Promise<{ answer: T; version: number }> {
  let version = -1;
  const broker = await conns.connect(cluster.brokerAddress(1));
  const answer = await conns.send(broker, {
    ...req,
    decode: (r) => {
      version = r.version;
      return req.decode(r);
    },
  });
  return { answer, version };
}

describe('raw requests negotiate their version with the broker (issue 10 item 1, docs/design.md §9.1)', () => {
  it('sends each raw request in min(vigil max, broker max), as the broker\'s ApiVersions answer reports it, and reads a correct answer', (t) =>
    withLogsOnFailure([cluster], async () => {
      const broker = await conns.connect(cluster.brokerAddress(1));
      for (const c of cases()) {
        const offered = brokerVersions(broker, c.req.apiKey);
        assert.ok(offered, `the broker offers ${c.req.apiName}`);
        const { answer, version } = await sendSeeingVersion(c.req);
        assert.equal(version, Math.min(c.req.versions.max, offered.max), `${c.req.apiName}: vigil ${versionSpan(c.req.versions)}, broker ${versionSpan(offered)}`);
        c.check(answer as never);
        t.diagnostic(`${c.req.apiName}: vigil ${versionSpan(c.req.versions)}, broker ${versionSpan(offered)} → v${version}`);
      }
    }));

  it('reads the same answer in every version both sides speak', (t) =>
    withLogsOnFailure([cluster], async () => {
      const broker = await conns.connect(cluster.brokerAddress(1));
      for (const c of cases()) {
        const offered = brokerVersions(broker, c.req.apiKey);
        assert.ok(offered);
        const top = await sendSeeingVersion(c.req);
        const tried: number[] = [];
        for (let v = Math.max(c.req.versions.min, offered.min); v < top.version; v++) {
          const { answer, version } = await sendSeeingVersion({ ...c.req, versions: { min: v, max: v } });
          assert.equal(version, v);
          c.check(answer as never);
          assert.deepEqual(c.comparable(answer as never), c.comparable(top.answer as never), `${c.req.apiName} v${v} reads as v${top.version}`);
          tried.push(v);
        }
        t.diagnostic(`${c.req.apiName}: v${[...tried, top.version].join(', v')} sent and read alike`);
      }
    }));

  it('a broker that speaks none of vigil\'s versions fails the request before it is sent, naming both ranges', () =>
    withLogsOnFailure([cluster], async () => {
      const broker = await conns.connect(cluster.brokerAddress(1));
      const offered = brokerVersions(broker, CLUSTER_METADATA.apiKey);
      assert.ok(offered);
      const beyond = { ...CLUSTER_METADATA, versions: { min: offered.max + 1, max: offered.max + 3 } };
      await assert.rejects(
        conns.send(broker, beyond),
        (err: unknown) =>
          err instanceof VigilError &&
          err.code === 'KAFKA_API_UNSUPPORTED' &&
          err.message.includes(`speaks Metadata ${versionSpan(offered)}, older than the ${versionSpan(beyond.versions)} vigil speaks`),
      );
      // the connection is still good: nothing was sent on it
      assert.equal((await sendSeeingVersion(CLUSTER_METADATA)).version, Math.min(CLUSTER_METADATA.versions.max, offered.max));
    }));
});
