/**
 * The `__consumer_offsets` decoder (src/kafka/consumer-offsets.ts) on bytes written here
 * field by field from Kafka's message definitions (OffsetCommitKey/Value,
 * GroupMetadataKey/Value, the new-protocol keys), one test per version.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOffsetsRecord } from '../../src/kafka/consumer-offsets';

// ---- an encoder of Kafka's message fields, independent of the decoder ----------------------

const i16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};
const i32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const i64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(v));
  return b;
};
/** string / nullable string, int16 length */
const str = (s: string | null) => (s === null ? i16(-1) : Buffer.concat([i16(Buffer.byteLength(s)), Buffer.from(s)]));
const bytes32 = (b: Buffer) => Buffer.concat([i32(b.length), b]);
function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
/** compact (nullable) string: uvarint length + 1, 0 for null */
const cstr = (s: string | null) => (s === null ? uvarint(0) : Buffer.concat([uvarint(Buffer.byteLength(s) + 1), Buffer.from(s)]));
const cbytes = (b: Buffer) => Buffer.concat([uvarint(b.length + 1), b]);
/** tagged fields: count, then tag, size, data each */
const tags = (...fields: [number, Buffer][]) => Buffer.concat([uvarint(fields.length), ...fields.flatMap(([t, d]) => [uvarint(t), uvarint(d.length), d])]);

const offsetKey = (version: 0 | 1, group: string, topic: string, partition: number) => Buffer.concat([i16(version), str(group), str(topic), i32(partition)]);
const groupKey = (group: string) => Buffer.concat([i16(2), str(group)]);

const COMMIT_MS = 1_764_150_000_123;

describe('decodeOffsetsRecord: offset commits (record types 0 and 1)', () => {
  const key = offsetKey(1, 'orders-svc', 'orders', 7);
  const id = { group: 'orders-svc', topic: 'orders', partition: 7 };

  it('reads OffsetCommitValue v0 and v2 (offset, metadata, commitTimestamp)', () => {
    for (const version of [0, 2]) {
      const value = Buffer.concat([i16(version), i64(1234), str('meta'), i64(COMMIT_MS)]);
      assert.deepEqual(decodeOffsetsRecord(key, value), {
        kind: 'offset-commit',
        ...id,
        value: { version, offset: 1234, leaderEpoch: null, metadata: 'meta', commitTimestampMs: COMMIT_MS, expireTimestampMs: null, topicId: null },
      });
    }
  });

  it('reads OffsetCommitValue v1, the only version with expireTimestamp', () => {
    const value = Buffer.concat([i16(1), i64(99), str(''), i64(COMMIT_MS), i64(COMMIT_MS + 86_400_000)]);
    const rec = decodeOffsetsRecord(key, value);
    assert.equal(rec.kind, 'offset-commit');
    assert.deepEqual(rec.kind === 'offset-commit' && rec.value, { version: 1, offset: 99, leaderEpoch: null, metadata: '', commitTimestampMs: COMMIT_MS, expireTimestampMs: COMMIT_MS + 86_400_000, topicId: null });
  });

  it('reads OffsetCommitValue v3 (leaderEpoch before metadata)', () => {
    const value = Buffer.concat([i16(3), i64(2 ** 40), i32(5), str('m'), i64(COMMIT_MS)]);
    const rec = decodeOffsetsRecord(key, value);
    assert.deepEqual(rec.kind === 'offset-commit' && rec.value, { version: 3, offset: 2 ** 40, leaderEpoch: 5, metadata: 'm', commitTimestampMs: COMMIT_MS, expireTimestampMs: null, topicId: null });
  });

  it('reads flexible OffsetCommitValue v4, its tagged topic id (Kafka 4.1+), and skips unknown tags', () => {
    const topicId = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    const base = [i16(4), i64(55), i32(-1), cstr('α-meta'), i64(COMMIT_MS)];
    const plain = decodeOffsetsRecord(key, Buffer.concat([...base, tags()]));
    assert.deepEqual(plain.kind === 'offset-commit' && plain.value, { version: 4, offset: 55, leaderEpoch: -1, metadata: 'α-meta', commitTimestampMs: COMMIT_MS, expireTimestampMs: null, topicId: null });
    const tagged = decodeOffsetsRecord(key, Buffer.concat([...base, tags([0, topicId], [7, Buffer.from('future')])]));
    assert.equal(tagged.kind === 'offset-commit' && tagged.value?.topicId, topicId.toString('base64url'));
    // the zero uuid is Kafka's "no topic id"
    const zero = decodeOffsetsRecord(key, Buffer.concat([...base, tags([0, Buffer.alloc(16)])]));
    assert.equal(zero.kind === 'offset-commit' && zero.value?.topicId, null);
  });

  it('reads key version 0 (Kafka 4.x: LegacyOffsetCommitKey) like version 1', () => {
    const value = Buffer.concat([i16(0), i64(1), str(''), i64(COMMIT_MS)]);
    const rec = decodeOffsetsRecord(offsetKey(0, 'g', 't', 0), value);
    assert.deepEqual(rec.kind === 'offset-commit' && [rec.group, rec.topic, rec.partition, rec.value?.offset], ['g', 't', 0, 1]);
  });

  it('reads a null value as a tombstone: the offset was deleted or expired', () => {
    assert.deepEqual(decodeOffsetsRecord(key, null), { kind: 'offset-commit', ...id, value: null });
  });

  it('names an unknown future value version, keeping the key, instead of guessing', () => {
    const value = Buffer.concat([i16(5), i64(1), i32(0), cstr(''), i64(COMMIT_MS), tags()]);
    assert.deepEqual(decodeOffsetsRecord(key, value), {
      kind: 'undecodable',
      reason: 'unsupported version 5 of OffsetCommitValue (vigil reads versions 0 to 4)',
      recordType: 1,
      ...id,
    });
    assert.match((decodeOffsetsRecord(key, i16(-1)) as { reason: string }).reason, /unsupported version -1 of OffsetCommitValue/);
  });

  it('says where bytes end inside a field, never throws', () => {
    const whole = Buffer.concat([i16(3), i64(1), i32(0), str('meta'), i64(COMMIT_MS)]);
    for (let cut = 0; cut < whole.length; cut++) {
      const rec = decodeOffsetsRecord(key, whole.subarray(0, cut));
      assert.equal(rec.kind, 'undecodable', `value cut at ${cut}`);
    }
    assert.deepEqual(decodeOffsetsRecord(key, whole.subarray(0, 12)), {
      kind: 'undecodable',
      reason: 'version 3 of OffsetCommitValue: leaderEpoch past the end of the 12 bytes',
      recordType: 1,
      ...id,
    });
    for (let cut = 0; cut < key.length; cut++) {
      assert.equal(decodeOffsetsRecord(key.subarray(0, cut), whole).kind, 'undecodable', `key cut at ${cut}`);
    }
    assert.deepEqual(decodeOffsetsRecord(null, whole), { kind: 'undecodable', reason: 'a key of no bytes has no record type', recordType: null });
  });
});

// GroupMetadataValue: protocolType, generation, protocol, leader, [currentStateTimestamp v2+], members
function member(version: number, id: string): Buffer {
  const flexible = version >= 4;
  const s = flexible ? cstr : str;
  const b = flexible ? cbytes : bytes32;
  return Buffer.concat([
    s(id),
    ...(version >= 3 ? [s(null)] : []), // groupInstanceId
    s(`client-${id}`),
    s('/127.0.0.1'),
    ...(version >= 1 ? [i32(300_000)] : []), // rebalanceTimeout
    i32(45_000),
    b(Buffer.from('subscription')),
    b(Buffer.from('assignment')),
    ...(flexible ? [tags()] : []),
  ]);
}

function groupValue(version: number, members: string[]): Buffer {
  const flexible = version >= 4;
  const s = flexible ? cstr : str;
  return Buffer.concat([
    i16(version),
    s('consumer'),
    i32(12),
    s('range'),
    s(members[0] ?? null),
    ...(version >= 2 ? [i64(COMMIT_MS)] : []),
    flexible ? uvarint(members.length + 1) : i32(members.length),
    ...members.map((m) => member(version, m)),
    ...(flexible ? [tags()] : []),
  ]);
}

describe('decodeOffsetsRecord: group metadata (record type 2)', () => {
  for (const version of [0, 1, 2, 3, 4]) {
    it(`reads GroupMetadataValue v${version}: protocol type, generation, protocol, leader and the member count`, () => {
      assert.deepEqual(decodeOffsetsRecord(groupKey('orders-svc'), groupValue(version, ['m-1', 'm-2'])), {
        kind: 'group-metadata',
        group: 'orders-svc',
        value: { version, protocolType: 'consumer', generation: 12, protocol: 'range', leader: 'm-1', currentStateTimestampMs: version >= 2 ? COMMIT_MS : null, members: 2 },
      });
    });
  }

  it('reads an empty group (no members, no protocol or leader)', () => {
    const value = Buffer.concat([i16(3), str(''), i32(0), str(null), str(null), i64(COMMIT_MS), i32(0)]);
    const rec = decodeOffsetsRecord(groupKey('idle'), value);
    assert.deepEqual(rec.kind === 'group-metadata' && rec.value, { version: 3, protocolType: '', generation: 0, protocol: null, leader: null, currentStateTimestampMs: COMMIT_MS, members: 0 });
  });

  it('reads a null value as the group tombstone', () => {
    assert.deepEqual(decodeOffsetsRecord(groupKey('gone'), null), { kind: 'group-metadata', group: 'gone', value: null });
  });

  it('names an unknown version, and never throws on bytes cut inside a member', () => {
    assert.deepEqual(decodeOffsetsRecord(groupKey('g'), i16(5)), { kind: 'undecodable', reason: 'unsupported version 5 of GroupMetadataValue (vigil reads versions 0 to 4)', recordType: 2, group: 'g' });
    const whole = groupValue(4, ['m-1']);
    for (let cut = 0; cut < whole.length; cut++) {
      assert.equal(decodeOffsetsRecord(groupKey('g'), whole.subarray(0, cut)).kind, 'undecodable', `cut at ${cut}`);
    }
    // a member count the bytes cannot hold ends at the bytes
    const huge = Buffer.concat([i16(0), str('consumer'), i32(1), str(null), str(null), i32(2_000_000_000)]);
    assert.match((decodeOffsetsRecord(groupKey('g'), huge) as { reason: string }).reason, /memberId past the end/);
  });
});

describe('decodeOffsetsRecord: new-protocol group records (record types 3 and up)', () => {
  const newKey = (type: number, group: string, ...more: Buffer[]) => Buffer.concat([i16(type), str(group), ...more]);

  it('reports the record type, its name and group, and does not read the value', () => {
    assert.deepEqual(decodeOffsetsRecord(newKey(5, 'kip848', str('member-1')), Buffer.from([0, 0, 1, 2, 3])), {
      kind: 'group-record',
      recordType: 5,
      name: 'ConsumerGroupMemberMetadata',
      group: 'kip848',
      tombstone: false,
      groupTombstone: false,
    });
  });

  it("flags the tombstone of a group's metadata record, per group type", () => {
    for (const [type, name] of [[3, 'ConsumerGroupMetadata'], [11, 'ShareGroupMetadata'], [17, 'StreamsGroupMetadata']] as const) {
      assert.deepEqual(decodeOffsetsRecord(newKey(type, 'g'), null), { kind: 'group-record', recordType: type, name, group: 'g', tombstone: true, groupTombstone: true });
    }
    // a member's record going is not the group going
    const memberGone = decodeOffsetsRecord(newKey(5, 'g', str('m')), null);
    assert.deepEqual(memberGone.kind === 'group-record' && [memberGone.tombstone, memberGone.groupTombstone], [true, false]);
  });

  it('reports a record type it has no name for by its number, and refuses a negative one', () => {
    assert.deepEqual(decodeOffsetsRecord(newKey(31, 'g'), Buffer.from([0, 0])), { kind: 'group-record', recordType: 31, name: null, group: null, tombstone: false, groupTombstone: false });
    assert.deepEqual(decodeOffsetsRecord(i16(-3), null), { kind: 'undecodable', reason: 'record type -3 is negative (Kafka writes 0 and up)', recordType: -3 });
  });
});
