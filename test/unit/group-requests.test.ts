/**
 * The group requests of every group type (issue 10 item 2; src/kafka/group-requests.ts,
 * docs/monitoring.md "Group types") without a broker: each request's bytes and each
 * answer's reading in the versions where a layout changes, laid out as the Kafka 4.4.0
 * message schemas say; answers cut short or with a count past their end throw a RangeError
 * (never half-read data, never a loop over a corrupt count); a classic member's assignment,
 * bytes a client wrote, decodes or is null — never an exception. The same requests against
 * real brokers: test/integration/lag.test.ts ("every group type").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  consumerGroupDescribeRequest,
  decodeConsumerAssignment,
  describeShareGroupOffsetsRequest,
  listGroupsRequest,
  shareGroupDescribeRequest,
  streamsGroupDescribeRequest,
  streamsTaskPartitions,
} from '../../src/kafka/group-requests';
import { type RawRequest, decodeResponse, encodeRequest } from '../../src/kafka/kafkajs-wire';
import { groupTypeOf } from '../../src/kafka/types';
import { Rng } from '../sim/prng';
import { bytes, cstr, i16, i32, i64, str } from './wire-bytes';

const NULL = [0];
const TAGS = [0];
const UUID = Buffer.alloc(16, 7);
/** a compact array of n items (n + 1, one byte) */
const carr = (n: number, ...items: Array<number[] | Buffer>) => bytes([n + 1], ...items);

/** Every strict prefix of `answer` throws a RangeError when read in `version`: none is taken for a whole answer. */
function assertCutShortThrows(req: RawRequest<unknown>, version: number, answer: Buffer): void {
  for (let n = 0; n < answer.length; n++) {
    assert.throws(() => decodeResponse(req, version, answer.subarray(0, n)), RangeError, `${req.apiName} v${version} cut to ${n} of ${answer.length} bytes`);
  }
}

describe('ListGroups v0–v5: every group, with its state (v4) and type (v5)', () => {
  const req = listGroupsRequest();

  it('asks with no filters: nothing before v3, a tag buffer from v3, empty state (v4) and type (v5) filters', () => {
    assert.deepEqual(encodeRequest(req, 0), Buffer.alloc(0));
    assert.deepEqual(encodeRequest(req, 3), bytes(TAGS, TAGS));
    assert.deepEqual(encodeRequest(req, 4), bytes(TAGS, [1], TAGS));
    assert.deepEqual(encodeRequest(req, 5), bytes(TAGS, [1], [1], TAGS));
  });

  it('reads v0 (no throttle, no state or type) and v5 (compact, state and type per group)', () => {
    const v0 = bytes(i16(0), i32(2), str('a'), str('consumer'), str('b'), str(''));
    assert.deepEqual(decodeResponse(req, 0, v0), {
      errorCode: 0,
      groups: [
        { groupId: 'a', protocolType: 'consumer', state: null, type: null },
        { groupId: 'b', protocolType: '', state: null, type: null },
      ],
    });
    const v5 = bytes(TAGS, i32(0), i16(0), carr(2, cstr('c'), cstr('consumer'), cstr('Stable'), cstr('consumer'), TAGS, cstr('s'), cstr('share'), cstr('Empty'), cstr('share'), TAGS), TAGS);
    assert.deepEqual(decodeResponse(req, 5, v5), {
      errorCode: 0,
      groups: [
        { groupId: 'c', protocolType: 'consumer', state: 'Stable', type: 'consumer' },
        { groupId: 's', protocolType: 'share', state: 'Empty', type: 'share' },
      ],
    });
    assertCutShortThrows(req, 5, v5);
    assertCutShortThrows(req, 0, v0);
  });

  it('a count of groups past the end of the answer throws at once instead of reading billions of empty groups', () => {
    // 0xffffffff as a varint: 2^32 - 2 groups, with nothing after it
    const corrupt = bytes(TAGS, i32(0), i16(0), [0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert.throws(() => decodeResponse(req, 5, corrupt), /runs past the end of the answer/);
  });

  it('names the type as vigil does: the broker\'s, classic without a protocol type is simple, none is classic, an unknown one undefined', () => {
    assert.equal(groupTypeOf('consumer', 'classic'), 'classic');
    assert.equal(groupTypeOf('', 'classic'), 'simple');
    assert.equal(groupTypeOf('consumer', null), 'classic');
    assert.equal(groupTypeOf('', undefined), 'simple');
    assert.equal(groupTypeOf('consumer', 'consumer'), 'consumer');
    assert.equal(groupTypeOf('share', 'share'), 'share');
    assert.equal(groupTypeOf('streams', 'streams'), 'streams');
    assert.equal(groupTypeOf('x', 'future-kind'), undefined);
  });
});

/** An Assignment struct: topic partitions (topic id, name, partitions), tags. */
const assignment = (topic: string, partitions: number[]) => bytes(carr(1, UUID, cstr(topic), carr(partitions.length, ...partitions.map(i32)), TAGS), TAGS);
const noAssignment = bytes(carr(0), TAGS);

describe('ConsumerGroupDescribe v0–v1: consumer-protocol groups (KIP-848)', () => {
  const req = consumerGroupDescribeRequest(['g', 'x']);
  const member = (version: number) =>
    bytes(
      cstr('m1'), cstr('static-1'), NULL /* rack */, i32(5), cstr('client-a'), cstr('/10.0.0.5'),
      carr(1, cstr('orders')), NULL /* regex */, assignment('orders', [0, 2]), assignment('orders', [0, 1, 2]),
      version >= 1 ? [0] : [], TAGS,
    );
  const answer = (version: number) =>
    bytes(
      TAGS, i32(0),
      carr(2,
        i16(0), NULL, cstr('g'), cstr('Stable'), i32(3), i32(3), cstr('uniform'), carr(1, member(version)), i32(-2147483648), TAGS,
        i16(69), cstr('Group x is not a consumer group.'), cstr('x'), cstr(''), i32(0), i32(0), cstr(''), carr(0), i32(0), TAGS),
      TAGS,
    );
  const expected = [
    {
      errorCode: 0, errorMessage: null, groupId: 'g', state: 'Stable',
      members: [{ memberId: 'm1', instanceId: 'static-1', clientId: 'client-a', host: '/10.0.0.5', assignment: [{ topic: 'orders', partitions: [0, 2] }] }],
    },
    { errorCode: 69, errorMessage: 'Group x is not a consumer group.', groupId: 'x', state: '', members: [] },
  ];

  it('asks for the groups without authorized operations', () => {
    assert.deepEqual(encodeRequest(req, 0), bytes(TAGS, carr(2, cstr('g'), cstr('x')), [0], TAGS));
    assert.deepEqual(encodeRequest(req, 1), encodeRequest(req, 0));
  });

  it('reads state and members with client id, host and current assignment (not the target); v1 adds the member type', () => {
    assert.deepEqual(decodeResponse(req, 0, answer(0)), expected);
    assert.deepEqual(decodeResponse(req, 1, answer(1)), expected);
    // each version's layout is its own: v0 bytes read as v1 are cut short
    assert.throws(() => decodeResponse(req, 1, answer(0)), RangeError);
    assertCutShortThrows(req, 1, answer(1));
  });
});

describe('ShareGroupDescribe v1: share groups (KIP-932)', () => {
  const req = shareGroupDescribeRequest(['s']);
  const answer = bytes(
    TAGS, i32(0),
    carr(1,
      i16(0), NULL, cstr('s'), cstr('Stable'), i32(2), i32(2), cstr('simple'),
      carr(2,
        cstr('m1'), NULL, i32(2), cstr('share-a'), cstr('/10.0.0.6'), carr(1, cstr('orders')), assignment('orders', [0, 1]), TAGS,
        cstr('m2'), NULL, i32(2), cstr('share-b'), cstr('/10.0.0.7'), carr(1, cstr('orders')), noAssignment, TAGS),
      i32(0), TAGS),
    TAGS,
  );

  it('reads state and members; several members may hold one partition, a member may hold none yet', () => {
    assert.deepEqual(encodeRequest(req, 1), bytes(TAGS, carr(1, cstr('s')), [0], TAGS));
    assert.deepEqual(decodeResponse(req, 1, answer), [
      {
        errorCode: 0, errorMessage: null, groupId: 's', state: 'Stable',
        members: [
          { memberId: 'm1', instanceId: null, clientId: 'share-a', host: '/10.0.0.6', assignment: [{ topic: 'orders', partitions: [0, 1] }] },
          { memberId: 'm2', instanceId: null, clientId: 'share-b', host: '/10.0.0.7', assignment: [] },
        ],
      },
    ]);
    assertCutShortThrows(req, 1, answer);
  });
});

describe('StreamsGroupDescribe v0–v1: streams groups (KIP-1071), state and members with the partitions their tasks read', () => {
  const req = streamsGroupDescribeRequest(['st']);
  const topicInfo = (name: string) => bytes(cstr(name), i32(3), i16(3), carr(1, cstr('cleanup.policy'), cstr('compact'), TAGS), TAGS);
  // Two subtopologies, as a word count lays them out: 0 reads `in` and writes the
  // repartition topic `rep`, which 1 reads (a repartition source topic) to count into a store.
  const topology = bytes(
    [1], i32(1),
    carr(2,
      cstr('0'), carr(1, cstr('in')), carr(1, cstr('rep')), carr(0), carr(0), TAGS,
      cstr('1'), carr(0), carr(0), carr(1, topicInfo('changelog')), carr(1, topicInfo('rep')), TAGS),
    TAGS,
  );
  /** An Assignment: active tasks, then a standby task (read past), no warm-up tasks. */
  const tasks = (active: Buffer) => bytes(active, carr(1, cstr('1'), carr(1, i32(2)), TAGS), carr(0), TAGS);
  const member = (id: string, active: Buffer) =>
    bytes(
      cstr(id), i32(4), NULL, NULL, cstr(`client-${id}`), cstr('/10.0.0.8'), i32(1), cstr('process-1'),
      [1], cstr('app-host'), i16(8080), TAGS, // user endpoint
      carr(1, cstr('zone'), cstr('a'), TAGS), // client tags
      carr(1, cstr('0'), i32(0), i64(42), TAGS), carr(0), // task offsets, task end offsets
      tasks(active), tasks(carr(0)), // assignment, target assignment (ignored)
      [0], TAGS, // is classic
    );
  const members = carr(2,
    member('sm1', carr(2, cstr('0'), carr(2, i32(0), i32(1)), TAGS, cstr('1'), carr(1, i32(0)), TAGS)),
    member('sm2', carr(0)));
  const node = bytes(cstr('KSTREAM-SOURCE'), [1], carr(1, cstr('in')), NULL, carr(0), carr(0), TAGS);
  const answer = (version: number, description: boolean, topo: Buffer | number[] = topology) =>
    bytes(
      TAGS, i32(0),
      carr(1,
        i16(0), NULL, cstr('st'), cstr('Stable'), i32(7), i32(7), topo, members, i32(0),
        version >= 1 ? bytes(description ? bytes([1], carr(1, cstr('0'), carr(1, node), TAGS), carr(1, node, node, TAGS), TAGS) : [0xff], [0], NULL) : [],
        TAGS),
      TAGS,
    );
  const group = (sm1: unknown) => [
    {
      errorCode: 0, errorMessage: null, groupId: 'st', state: 'Stable',
      members: [
        { memberId: 'sm1', instanceId: null, clientId: 'client-sm1', host: '/10.0.0.8', assignment: sm1 },
        { memberId: 'sm2', instanceId: null, clientId: 'client-sm2', host: '/10.0.0.8', assignment: [] },
      ],
    },
  ];
  // sm1's active tasks 0_0, 0_1 read `in` 0 and 1; 1_0 reads `rep` 0; its standby task 1_2 reads nothing
  const expected = group([{ topic: 'in', partitions: [0, 1] }, { topic: 'rep', partitions: [0] }]);

  it('asks without authorized operations and, from v1, without the topology description', () => {
    assert.deepEqual(encodeRequest(req, 0), bytes(TAGS, carr(1, cstr('st')), [0], TAGS));
    assert.deepEqual(encodeRequest(req, 1), bytes(TAGS, carr(1, cstr('st')), [0], [0], TAGS));
  });

  it('reads state and members, each member\'s active tasks as the partitions of their subtopology\'s source and repartition source topics; v1 past a topology description, null or not', () => {
    assert.deepEqual(decodeResponse(req, 0, answer(0, false)), expected);
    assert.deepEqual(decodeResponse(req, 1, answer(1, false)), expected);
    assert.deepEqual(decodeResponse(req, 1, answer(1, true)), expected);
    assertCutShortThrows(req, 1, answer(1, true));
  });

  it('gives a member with tasks no partitions (null: unknown) while the topology is null or has no subtopologies; one without tasks holds none', () => {
    assert.deepEqual(decodeResponse(req, 1, answer(1, false, [0xff])), group(null));
    assert.deepEqual(decodeResponse(req, 1, answer(1, false, bytes([1], i32(1), NULL, TAGS))), group(null));
  });

  it('streamsTaskPartitions: a task reads its partition of every input topic of its subtopology, each partition once', () => {
    const inputs = new Map([['0', ['a', 'b']], ['1', ['c']]]);
    assert.deepEqual(
      streamsTaskPartitions([{ subtopology: '0', partitions: [2, 0] }, { subtopology: '1', partitions: [1] }, { subtopology: '0', partitions: [0] }], inputs),
      [{ topic: 'a', partitions: [0, 2] }, { topic: 'b', partitions: [0, 2] }, { topic: 'c', partitions: [1] }],
    );
    assert.deepEqual(streamsTaskPartitions([], inputs), []);
    assert.equal(streamsTaskPartitions([{ subtopology: '9', partitions: [0] }], inputs), null);
  });
});

describe('DescribeShareGroupOffsets v0–v1: a share group\'s start offset per partition', () => {
  const req = describeShareGroupOffsetsRequest('s');
  const partition = (version: number, p: number, start: number, error = 0, message: string | null = null) =>
    bytes(i32(p), i64(start), i32(0), version >= 1 ? i64(start < 0 ? -1 : 3) : [], i16(error), message === null ? NULL : cstr(message), TAGS);
  const answer = (version: number) =>
    bytes(
      TAGS, i32(0),
      carr(1,
        cstr('s'),
        carr(2,
          cstr('orders'), UUID, carr(3, partition(version, 0, 120), partition(version, 1, -1), partition(version, 2, 0, 3, 'unknown partition')), TAGS,
          cstr('audit'), UUID, carr(1, partition(version, 0, 7)), TAGS),
        i16(0), NULL, TAGS),
      TAGS,
    );

  it('asks for every topic of the group (a null topics array)', () => {
    assert.deepEqual(encodeRequest(req, 0), bytes(TAGS, carr(1, cstr('s'), [0], TAGS), TAGS));
    assert.deepEqual(encodeRequest(req, 1), encodeRequest(req, 0));
  });

  it('reads start offsets, leaving out partitions without state (-1) and naming partitions answered with an error; v1 the broker\'s lag', () => {
    const expected = {
      errorCode: 0,
      errorMessage: null,
      offsets: new Map([['orders', new Map([[0, 120]])], ['audit', new Map([[0, 7]])]]),
      lags: new Map(),
      partitionErrors: [{ topic: 'orders', partition: 2, errorCode: 3, errorMessage: 'unknown partition' }],
    };
    assert.deepEqual(decodeResponse(req, 0, answer(0)), expected);
    assert.deepEqual(decodeResponse(req, 1, answer(1)), { ...expected, lags: new Map([['orders', new Map([[0, 3]])], ['audit', new Map([[0, 3]])]]) });
    assertCutShortThrows(req, 1, answer(1));
  });

  it('a group-level error is the answer; an answer without the group asked for throws', () => {
    const refused = bytes(TAGS, i32(0), carr(1, cstr('s'), carr(0), i16(16), cstr('not coordinator'), TAGS), TAGS);
    assert.deepEqual(decodeResponse(req, 1, refused), { errorCode: 16, errorMessage: 'not coordinator', offsets: new Map(), lags: new Map(), partitionErrors: [] });
    const other = bytes(TAGS, i32(0), carr(1, cstr('t'), carr(0), i16(0), NULL, TAGS), TAGS);
    assert.throws(() => decodeResponse(req, 1, other), /answered without the group s/);
  });
});

describe('decodeConsumerAssignment: a classic consumer\'s assignment, bytes a client wrote', () => {
  /** ConsumerProtocolAssignment: version, [topic, [partition]], user data (nullable bytes) */
  const assignmentBytes = (version: number, topics: [string, number[]][], userData: Buffer | null) =>
    bytes(i16(version), i32(topics.length), ...topics.map(([t, ps]) => bytes(str(t), i32(ps.length), ...ps.map(i32))), userData === null ? i32(-1) : bytes(i32(userData.length), userData));

  it('reads the topics and partitions of every version, user data or not; no bytes is no assignment yet', () => {
    for (const v of [0, 1, 2, 3]) {
      assert.deepEqual(decodeConsumerAssignment(assignmentBytes(v, [['orders', [0, 2]], ['audit', [1]]], Buffer.from('ud'))), [
        { topic: 'orders', partitions: [0, 2] },
        { topic: 'audit', partitions: [1] },
      ]);
    }
    assert.deepEqual(decodeConsumerAssignment(assignmentBytes(0, [['orders', [3]]], null)), [{ topic: 'orders', partitions: [3] }]);
    assert.deepEqual(decodeConsumerAssignment(Buffer.alloc(0)), []);
    assert.deepEqual(decodeConsumerAssignment(null), []);
    // a later version may append fields after the user data
    assert.deepEqual(decodeConsumerAssignment(bytes(assignmentBytes(4, [['orders', [0]]], null), [1, 2, 3])), [{ topic: 'orders', partitions: [0] }]);
  });

  it('is null, never an exception, for bytes that are not a consumer assignment: cut short, corrupt counts, a negative version, bytes left over', () => {
    const good = assignmentBytes(1, [['orders', [0, 2]], ['audit', [1]]], Buffer.from('user-data'));
    for (let n = 1; n < good.length; n++) assert.equal(decodeConsumerAssignment(good.subarray(0, n)), null, `cut to ${n} bytes`);
    assert.equal(decodeConsumerAssignment(bytes(i16(-1), i32(0), i32(-1))), null, 'negative version');
    assert.equal(decodeConsumerAssignment(bytes(i16(0), i32(0x7fffffff), i32(-1))), null, 'topic count past the end');
    assert.equal(decodeConsumerAssignment(bytes(i16(0), i32(1), str('t'), i32(0x3fffffff), i32(-1))), null, 'partition count past the end');
    assert.equal(decodeConsumerAssignment(bytes(i16(0), i32(1), str('t'), i32(-5), i32(-1))), null, 'negative partition count');
    assert.equal(decodeConsumerAssignment(bytes(i16(0), i32(0), i32(-2))), null, 'user data length below -1');
    assert.equal(decodeConsumerAssignment(bytes(good, [9])), null, 'bytes left over in a known version');
  });

  it('random bytes: returns an assignment or null, and never throws (2,000 seeded cases)', () => {
    const rng = Rng.seeded(20261207);
    let decoded = 0;
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.from(Array.from({ length: rng.int(0, 40) }, () => rng.int(0, 255)));
      // some cases start like an assignment, so the decoder gets past the header
      if (i % 2 === 0 && buf.length >= 6) buf.writeInt16BE(0, 0), buf.writeInt32BE(rng.int(0, 3), 2);
      const out = decodeConsumerAssignment(buf);
      assert.ok(out === null || Array.isArray(out));
      if (out !== null) decoded++;
    }
    assert.ok(decoded < 2000);
  });
});
