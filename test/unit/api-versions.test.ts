/**
 * Version negotiation of vigil's raw Kafka requests without a broker (issue 10 item 1,
 * docs/design.md §9.1): the pure choice (vigil's range × the broker's ApiVersions range →
 * the highest shared version, or which side is behind), the error a person reads, the
 * body writer and reader in fixed and flexible versions, each request's declared range
 * against Kafka's schemas, and the bytes of the versions where a request's layout changes.
 * The same requests against a real broker, in every version both speak:
 * test/integration/api-versions.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
  consumerGroupDescribeRequest,
  describeShareGroupOffsetsRequest,
  listGroupsRequest,
  shareGroupDescribeRequest,
  streamsGroupDescribeRequest,
} from '../../src/kafka/group-requests';
import {
  CLUSTER_METADATA,
  describeGroupsRequest,
  describeTopicConfigsRequest,
  fetchRequest,
  listOffsetsRequest,
  metadataRequest,
  offsetFetchRequest,
} from '../../src/kafka/kafkajs-admin';
import {
  type RawRequest,
  type VersionRange,
  WireReader,
  WireWriter,
  decodeResponse,
  encodeRequest,
  negotiateVersion,
  newDecoder,
  unsupportedApiError,
  versionFor,
} from '../../src/kafka/kafkajs-wire';
import { bytes, cstr, i16, i32, i64, str } from './wire-bytes';


describe('negotiateVersion: vigil range × broker range (pure)', () => {
  const vigil: VersionRange = { min: 4, max: 12 };
  const cases: Array<[string, VersionRange | null, ReturnType<typeof negotiateVersion>]> = [
    ['a broker that speaks more: vigil\'s highest', { min: 0, max: 17 }, { ok: true, version: 12 }],
    ['a broker that speaks less: the broker\'s highest', { min: 0, max: 9 }, { ok: true, version: 9 }],
    ['ranges that touch at vigil\'s lowest', { min: 0, max: 4 }, { ok: true, version: 4 }],
    ['ranges that touch at vigil\'s highest', { min: 12, max: 20 }, { ok: true, version: 12 }],
    ['a range inside vigil\'s', { min: 6, max: 8 }, { ok: true, version: 8 }],
    ['a broker too old', { min: 0, max: 3 }, { ok: false, why: 'broker-too-old', broker: { min: 0, max: 3 } }],
    ['a broker too new', { min: 13, max: 17 }, { ok: false, why: 'broker-too-new', broker: { min: 13, max: 17 } }],
    ['an API the broker does not list', null, { ok: false, why: 'absent', broker: null }],
    ['an empty range (min above max) as absent', { min: 5, max: 4 }, { ok: false, why: 'absent', broker: null }],
  ];
  for (const [name, broker, expected] of cases) {
    it(name, () => assert.deepEqual(negotiateVersion(vigil, broker), expected));
  }

  it('every pair of small ranges: the version, when there is one, lies in both ranges and is the highest that does', () => {
    for (let a = 0; a < 5; a++) for (let b = a; b < 5; b++) for (let c = 0; c < 5; c++) for (let d = c; d < 5; d++) {
      const n = negotiateVersion({ min: a, max: b }, { min: c, max: d });
      const shared = [0, 1, 2, 3, 4].filter((v) => v >= a && v <= b && v >= c && v <= d);
      assert.deepEqual(n.ok ? n.version : null, shared.length > 0 ? Math.max(...shared) : null, `v${a}–v${b} × v${c}–v${d}`);
    }
  });
});

describe('KAFKA_API_UNSUPPORTED: what a person reads', () => {
  const api = { apiName: 'Fetch', apiKey: 1, versions: { min: 4, max: 12 } };
  const broker = (min: number, max: number) => ({ versions: { 1: { minVersion: min, maxVersion: max } } });

  it('names the API, the broker, both ranges and which side to upgrade; not retriable', () => {
    const fail = (b: { versions: Record<number, { minVersion: number; maxVersion: number }> }): VigilError => {
      try {
        versionFor(b, api as unknown as RawRequest<unknown>, 'k1:9092');
      } catch (err) {
        assert.ok(err instanceof VigilError);
        return err;
      }
      throw new Error('no error');
    };
    const old = fail(broker(0, 3));
    assert.equal(old.code, 'KAFKA_API_UNSUPPORTED');
    assert.equal(old.retriable, false);
    assert.equal(old.message, 'the broker at k1:9092 speaks Fetch v0–v3, older than the v4–v12 vigil speaks. Upgrade the brokers: docs/design.md §9.1 lists the Kafka versions vigil supports');
    assert.deepEqual(old.context, { api: 'Fetch', apiKey: 1, address: 'k1:9092', why: 'broker-too-old', vigilVersions: { min: 4, max: 12 }, brokerVersions: { min: 0, max: 3 } });
    assert.match(fail(broker(13, 13)).message, /^the broker at k1:9092 speaks Fetch v13, all newer than the v4–v12 this vigil speaks: .*Upgrade vigil/);
    assert.match(fail({ versions: {} }).message, /^the broker at k1:9092 does not offer Fetch \(API 1\) in its ApiVersions answer; vigil speaks v4–v12 of it\. Upgrade the brokers/);
    assert.equal(versionFor(broker(0, 17), api as unknown as RawRequest<unknown>, 'k1:9092'), 12);
  });

  it('is built from a failed negotiation alone', () => {
    const n = negotiateVersion(api.versions, { min: 0, max: 1 });
    assert.ok(!n.ok);
    assert.match(unsupportedApiError(api, 'x:1', n).message, /speaks Fetch v0–v1, older than the v4–v12/);
  });
});

describe('WireWriter / WireReader: one body, fixed or flexible', () => {
  const written = (flexible: boolean, f: (w: WireWriter) => void) => {
    const w = new WireWriter(0, flexible);
    f(w);
    return (w.e as unknown as { buffer: Buffer }).buffer;
  };
  it('strings, null strings, arrays, null arrays and tag buffers as each encoding writes them', () => {
    const body = (w: WireWriter) => w.string('ab').string(null).int32s([7]).array(null, () => undefined).tags();
    assert.deepEqual(written(false, body), bytes(str('ab'), i16(-1), i32(1), i32(7), i32(-1)));
    assert.deepEqual(written(true, body), bytes(cstr('ab'), [0], [2], i32(7), [0], [0]));
  });
  it('reads them back; null bytes and a null array as null and empty; tagged fields skipped', () => {
    const fixed = new WireReader(newDecoder(bytes(str('ab'), i32(-1), i32(-1), i32(3), Buffer.from('xyz'))), 0, false);
    assert.deepEqual([fixed.string(), fixed.bytes(), fixed.int32s(), fixed.bytes()], ['ab', null, [], Buffer.from('xyz')]);
    const flex = new WireReader(newDecoder(bytes(cstr('ab'), [0], [0], [4], Buffer.from('xyz'), [1, 5, 2, 9, 9], i64(42))), 0, true);
    assert.deepEqual([flex.string(), flex.bytes(), flex.int32s(), flex.bytes()], ['ab', null, [], Buffer.from('xyz')]);
    flex.tags(); // one tagged field: tag 5, 2 bytes
    assert.equal(flex.int64(), 42);
  });
});

/**
 * Kafka's validVersions and flexibleVersions of each API (clients/src/main/resources/common/
 * message/*Request.json, apache/kafka trunk of 2024-10, 4.0 in the making): vigil's ranges
 * must lie inside them and its flexible version must be Kafka's.
 */
const KAFKA_SCHEMAS: Record<string, { valid: VersionRange; flexibleFrom?: number }> = {
  Metadata: { valid: { min: 0, max: 12 }, flexibleFrom: 9 },
  DescribeGroups: { valid: { min: 0, max: 5 }, flexibleFrom: 5 },
  DescribeConfigs: { valid: { min: 0, max: 4 }, flexibleFrom: 4 },
  OffsetFetch: { valid: { min: 0, max: 9 }, flexibleFrom: 6 },
  ListOffsets: { valid: { min: 0, max: 10 }, flexibleFrom: 6 },
  Fetch: { valid: { min: 0, max: 17 }, flexibleFrom: 12 },
  DescribeQuorum: { valid: { min: 0, max: 2 }, flexibleFrom: 0 },
  AlterPartitionReassignments: { valid: { min: 0, max: 0 }, flexibleFrom: 0 },
  ListPartitionReassignments: { valid: { min: 0, max: 0 }, flexibleFrom: 0 },
  ElectLeaders: { valid: { min: 0, max: 2 }, flexibleFrom: 2 },
  IncrementalAlterConfigs: { valid: { min: 0, max: 1 }, flexibleFrom: 1 },
  CreateTopics: { valid: { min: 0, max: 7 }, flexibleFrom: 5 },
  // from the Kafka 4.4.0 jars (the group requests of issue 10 item 2)
  ListGroups: { valid: { min: 0, max: 5 }, flexibleFrom: 3 },
  ConsumerGroupDescribe: { valid: { min: 0, max: 1 }, flexibleFrom: 0 },
  ShareGroupDescribe: { valid: { min: 1, max: 1 }, flexibleFrom: 0 },
  StreamsGroupDescribe: { valid: { min: 0, max: 1 }, flexibleFrom: 0 },
  DescribeShareGroupOffsets: { valid: { min: 0, max: 1 }, flexibleFrom: 0 },
};

const ALL_REQUESTS: RawRequest<unknown>[] = [
  CLUSTER_METADATA,
  metadataRequest(null, true),
  describeGroupsRequest(['g']),
  describeTopicConfigsRequest(['t'], ['min.insync.replicas']),
  offsetFetchRequest('g'),
  listOffsetsRequest([{ topic: 't', partition: 0 }], -1),
  fetchRequest([{ topic: 't', partition: 0, offset: 0 }], 1024),
  describeQuorumRequest(1000),
  alterPartitionReassignmentsRequest([]),
  listPartitionReassignmentsRequest(),
  electLeadersRequest('preferred', []),
  incrementalAlterConfigsRequest([]),
  createTopicValidateOnly('t', 1000),
  listGroupsRequest(),
  consumerGroupDescribeRequest(['g']),
  shareGroupDescribeRequest(['g']),
  streamsGroupDescribeRequest(['g']),
  describeShareGroupOffsetsRequest('g'),
];

describe('each raw request declares a range inside Kafka\'s schema', () => {
  for (const req of ALL_REQUESTS) {
    it(`${req.apiName} v${req.versions.min}–v${req.versions.max}`, () => {
      const schema = KAFKA_SCHEMAS[req.apiName];
      assert.ok(schema, `a schema for ${req.apiName}`);
      assert.ok(req.versions.min >= schema.valid.min && req.versions.max <= schema.valid.max && req.versions.min <= req.versions.max);
      assert.equal(req.flexibleFrom, schema.flexibleFrom);
      // ListGroups v0–v2 is the one request with an empty body
      for (let v = req.versions.min; v <= req.versions.max; v++) assert.ok(encodeRequest(req, v).length > 0 || (req.apiName === 'ListGroups' && v < 3));
    });
  }
});

describe('request bodies where the layout changes between versions (field by field against the schemas)', () => {
  it('Metadata: v5 names topics, v8 asks for authorized operations, v9 turns compact, v10 sends a zero topic id, v11 drops the cluster\'s operations', () => {
    const req = metadataRequest(['t']);
    assert.deepEqual(encodeRequest(req, 5), bytes(i32(1), str('t'), [0]));
    assert.deepEqual(encodeRequest(req, 8), bytes(i32(1), str('t'), [0], [0], [0]));
    assert.deepEqual(encodeRequest(req, 9), bytes([0], [2], cstr('t'), [0], [0], [0], [0], [0]));
    assert.deepEqual(encodeRequest(req, 10), bytes([0], [2], Buffer.alloc(16), cstr('t'), [0], [0], [0], [0], [0]));
    assert.deepEqual(encodeRequest(metadataRequest(null, true), 10), bytes([0], [0], [0], [1], [1], [0]));
    assert.deepEqual(encodeRequest(req, 11), bytes([0], [2], Buffer.alloc(16), cstr('t'), [0], [0], [0], [0]));
  });

  it('Metadata answers: v5 fixed; v12 compact with topic ids, leader epochs, topic operations and tags', () => {
    const v5 = bytes(
      i32(0), // throttle
      i32(1), i32(1), str('h'), i32(9092), i16(-1), // brokers
      str('c'), i32(1), // cluster id, controller
      i32(1), i16(0), str('t'), [0], i32(1), i16(0), i32(0), i32(1), i32(1), i32(1), i32(1), i32(1), i32(0), // topic t, partition 0
    );
    const v12 = bytes(
      [0], // response header tags
      i32(0),
      [2], i32(1), cstr('h'), i32(9092), [0], [0],
      cstr('c'), i32(1),
      [2], i16(0), cstr('t'), Buffer.alloc(16, 1), [0], [2], i16(0), i32(0), i32(1), i32(7), [2], i32(1), [2], i32(1), [1], [0], i32(-2147483648), [0],
      [0],
    );
    const expected = {
      clusterId: 'c',
      controllerId: 1,
      brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
      topics: [{ topic: 't', isInternal: false, partitions: [{ partition: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [] }] }],
    };
    assert.deepEqual(decodeResponse(CLUSTER_METADATA, 5, v5), expected);
    assert.deepEqual(decodeResponse(CLUSTER_METADATA, 12, v12), expected);
  });

  it('OffsetFetch: v3 one group, v7 require_stable, v8 a list of groups, v9 member id and epoch', () => {
    const req = offsetFetchRequest('g');
    assert.deepEqual(encodeRequest(req, 3), bytes(str('g'), i32(-1)));
    assert.deepEqual(encodeRequest(req, 6), bytes([0], cstr('g'), [0], [0]));
    assert.deepEqual(encodeRequest(req, 7), bytes([0], cstr('g'), [0], [0], [0]));
    assert.deepEqual(encodeRequest(req, 8), bytes([0], [2], cstr('g'), [0], [0], [0], [0]));
    assert.deepEqual(encodeRequest(req, 9), bytes([0], [2], cstr('g'), [0], i32(-1), [0], [0], [0], [0]));
  });

  it('OffsetFetch answers: v3 topics then the error; v8 per group, the group asked for', () => {
    const v3 = bytes(i32(0), i32(1), str('t'), i32(2), i32(0), i64(5), str(''), i16(0), i32(1), i64(-1), str(''), i16(0), i16(0));
    assert.deepEqual(decodeResponse(offsetFetchRequest('g'), 3, v3), { errorCode: 0, offsets: new Map([['t', new Map([[0, 5]])]]) });
    const group = (id: string, offset: number) => bytes(cstr(id), [2], cstr('t'), [2], i32(0), i64(offset), i32(-1), [1], i16(0), [0], [0], i16(0), [0]);
    const v8 = bytes([0], i32(0), [3], group('other', 1), group('g', 7), [0]);
    assert.deepEqual(decodeResponse(offsetFetchRequest('g'), 8, v8), { errorCode: 0, offsets: new Map([['t', new Map([[0, 7]])]]) });
    assert.throws(() => decodeResponse(offsetFetchRequest('g'), 8, bytes([0], i32(0), [2], group('other', 1), [0])), /without the group g/);
  });

  it('ListOffsets: v2 fixed, v4 the current leader epoch, v6 compact, v10 the remote-storage timeout', () => {
    const req = listOffsetsRequest([{ topic: 't', partition: 3 }], -1, 500);
    assert.deepEqual(encodeRequest(req, 2), bytes(i32(-1), [0], i32(1), str('t'), i32(1), i32(3), i64(-1)));
    assert.deepEqual(encodeRequest(req, 4), bytes(i32(-1), [0], i32(1), str('t'), i32(1), i32(3), i32(-1), i64(-1)));
    assert.deepEqual(encodeRequest(req, 6), bytes([0], i32(-1), [0], [2], cstr('t'), [2], i32(3), i32(-1), i64(-1), [0], [0], [0]));
    assert.deepEqual(encodeRequest(req, 10), bytes([0], i32(-1), [0], [2], cstr('t'), [2], i32(3), i32(-1), i64(-1), [0], [0], i32(500), [0]));
    const v10 = bytes([0], i32(0), [2], cstr('t'), [2], i32(3), i16(0), i64(-1), i64(42), i32(0), [0], [0], [0]);
    assert.deepEqual(decodeResponse(req, 10, v10), [{ topic: 't', partition: 3, errorCode: 0, offset: 42 }]);
  });

  it('Fetch: v4 fixed; v7 no session; v9 leader epoch; v11 rack; v12 compact with the last fetched epoch', () => {
    const req = fetchRequest([{ topic: 't', partition: 1, offset: 9 }], 100, 'read_committed');
    const head = bytes(i32(-1), i32(0), i32(0), i32(100), [1]);
    assert.deepEqual(encodeRequest(req, 4), bytes(head, i32(1), str('t'), i32(1), i32(1), i64(9), i32(100)));
    assert.deepEqual(encodeRequest(req, 7), bytes(head, i32(0), i32(-1), i32(1), str('t'), i32(1), i32(1), i64(9), i64(-1), i32(100), i32(0)));
    assert.deepEqual(encodeRequest(req, 11), bytes(head, i32(0), i32(-1), i32(1), str('t'), i32(1), i32(1), i32(-1), i64(9), i64(-1), i32(100), i32(0), str('')));
    assert.deepEqual(
      encodeRequest(req, 12),
      bytes([0], head, i32(0), i32(-1), [2], cstr('t'), [2], i32(1), i32(-1), i64(9), i32(-1), i64(-1), i32(100), [0], [0], [1], [1], [0]),
    );
  });

  it('Fetch: a long poll sends its max wait and min bytes (the commit stream)', () => {
    const req = fetchRequest([{ topic: 't', partition: 1, offset: 9 }], 100, 'read_uncommitted', { maxWaitMs: 500, minBytes: 1 });
    assert.deepEqual(encodeRequest(req, 4), bytes(i32(-1), i32(500), i32(1), i32(100), [0], i32(1), str('t'), i32(1), i32(1), i64(9), i32(100)));
  });

  it('Fetch answers: v4 and v12 read alike (aborted transactions, records); a top-level error in v7+ is thrown', () => {
    const req = fetchRequest([{ topic: 't', partition: 1, offset: 9 }], 100);
    const v4 = bytes(i32(0), i32(1), str('t'), i32(1), i32(1), i16(0), i64(20), i64(18), i32(1), i64(77), i64(10), i32(3), Buffer.from('abc'));
    const v12 = bytes(
      [0], i32(0), i16(0), i32(0),
      [2], cstr('t'), [2], i32(1), i16(0), i64(20), i64(18), i64(0), [2], i64(77), i64(10), [0], i32(-1), [4], Buffer.from('abc'),
      [1, 1, 8], i32(3), i32(4), // a tagged CurrentLeader, skipped
      [0], [0],
    );
    const expected = { topic: 't', partition: 1, errorCode: 0, highWatermark: 20, lastStableOffset: 18, abortedTransactions: [{ producerId: 77, firstOffset: 10 }], records: Buffer.from('abc') };
    assert.deepEqual(decodeResponse(req, 4, v4), [{ ...expected, logStartOffset: -1 }], 'v4 has no log start offset');
    assert.deepEqual(decodeResponse(req, 12, v12), [{ ...expected, logStartOffset: 0 }]);
    assert.throws(() => decodeResponse(req, 12, bytes([0], i32(0), i16(70), i32(0), [1], [0])), (err: unknown) => err instanceof VigilError && /Fetch refused by the broker: FETCH_SESSION_ID_NOT_FOUND/.test(err.message));
  });

  it('DescribeGroups: v3 asks not for operations, v5 compact; v4 answers carry a group instance id', () => {
    const req = describeGroupsRequest(['g']);
    assert.deepEqual(encodeRequest(req, 1), bytes(i32(1), str('g')));
    assert.deepEqual(encodeRequest(req, 3), bytes(i32(1), str('g'), [0]));
    assert.deepEqual(encodeRequest(req, 5), bytes([0], [2], cstr('g'), [0], [0]));
    const v4 = bytes(i32(0), i32(1), i16(0), str('g'), str('Stable'), str('consumer'), str('range'), i32(1), str('m'), str('i'), str('c'), str('h'), i32(2), Buffer.from([1, 2]), i32(0), i32(-2147483648));
    assert.deepEqual(decodeResponse(req, 4, v4), [
      {
        errorCode: 0,
        groupId: 'g',
        state: 'Stable',
        protocolType: 'consumer',
        members: 1,
        memberMetadata: [Buffer.from([1, 2])],
        memberDetails: [{ memberId: 'm', instanceId: 'i', clientId: 'c', host: 'h', assignment: Buffer.alloc(0) }],
      },
    ]);
  });

  it('DescribeConfigs: v3 answers each config\'s type and documentation; v4 compact', () => {
    const req = describeTopicConfigsRequest(['t'], ['k']);
    assert.deepEqual(encodeRequest(req, 1), bytes(i32(1), [2], str('t'), i32(1), str('k'), [0]));
    assert.deepEqual(encodeRequest(req, 3), bytes(i32(1), [2], str('t'), i32(1), str('k'), [0], [0]));
    assert.deepEqual(encodeRequest(req, 4), bytes([0], [2], [2], cstr('t'), [2], cstr('k'), [0], [0], [0], [0]));
    const v3 = bytes(i32(0), i32(1), i16(0), i16(-1), [2], str('t'), i32(1), str('k'), str('2'), [0], [1], [0], i32(0), [3], i16(-1));
    assert.deepEqual(decodeResponse(req, 3, v3), [{ errorCode: 0, name: 't', configs: new Map([['k', '2']]) }]);
  });

  it('CreateTopics (validate only): v5 answers read past partitions, replication factor and configs; v7 the topic id', () => {
    const req = createTopicValidateOnly('t', 1000);
    assert.deepEqual(encodeRequest(req, 2), bytes(i32(1), str('t'), i32(1), i16(1), i32(0), i32(0), i32(1000), [1]));
    const v7 = bytes([0], i32(0), [2], cstr('t'), Buffer.alloc(16), i16(0), [0], i32(1), i16(1), [2], cstr('k'), cstr('v'), [0], [1], [0], [0], [0], [0]);
    assert.deepEqual(decodeResponse(req, 7, v7), [{ name: 't', errorCode: 0 }]);
  });
});
