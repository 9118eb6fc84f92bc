/**
 * Decodes the records of `__consumer_offsets`, the group coordinator's log, as a reader
 * that follows the topic sees them (issue 9 item 1; a building block: nothing tails the
 * topic yet). Pure: one record's key and value bytes in, a plain object out; it never
 * throws — bytes it cannot read come back as `{ kind: 'undecodable', reason }`.
 *
 * Schemas: Kafka's own message definitions (group-coordinator/src/main/resources/common/
 * message/*.json) and its GroupCoordinatorRecordSerde. A key is an int16 *record type*
 * followed by the key's fields (Kafka 3.x calls that int16 the key's version; 4.x makes it
 * the record type outright — the bytes are the same); a value is an int16 version followed
 * by the value's fields, or null: a tombstone.
 *
 *   type 0, 1  offset commit       key: group, topic, partition (string, string, int32)
 *              OffsetCommitValue   v0: offset int64, metadata string, commitTimestamp int64
 *                                  v1: v0 + expireTimestamp int64 (only v1 has it)
 *                                  v2: as v0
 *                                  v3: offset, leaderEpoch int32, metadata, commitTimestamp
 *                                  v4: v3 as a flexible version (compact string, tagged
 *                                      fields; tag 0 is the topic id, written by Kafka 4.1+)
 *              tombstone: the group's offset for the partition was deleted (OffsetDelete,
 *              DeleteGroups) or expired.
 *   type 2     group metadata      key: group (string)
 *              GroupMetadataValue  v0–v3 fixed, v4 flexible: protocolType, generation,
 *                                  protocol, leader, currentStateTimestamp (v2+), members
 *                                  (counted; their subscriptions and assignments skipped)
 *              tombstone: the classic group's metadata is gone (the group was deleted, or
 *              converted to a consumer-protocol group). Its offsets go only by their own
 *              tombstones, which the coordinator writes when it deletes them.
 *   type 3+    records of consumer-protocol (KIP-848), share (KIP-932) and streams groups.
 *              Their type number is reported, with the name and group id where the type is
 *              one Kafka has released with a group id as its first key field; their values
 *              are not read. A tombstone of a group's metadata record (ConsumerGroupMetadata,
 *              ShareGroupMetadata, StreamsGroupMetadata) is flagged `groupTombstone`.
 *
 * A value version beyond those above, a negative record type, or bytes that end inside a
 * field are 'undecodable' with a reason naming the record and version ("unsupported
 * version 5 of OffsetCommitValue …"), and the key's group/topic/partition when the key was
 * readable, so a reader knows which row it cannot vouch for. Trailing bytes after the
 * fields are ignored, as Kafka's own readers ignore them.
 */
import { readInt64 } from './record-batch';

export interface OffsetCommitValue {
  readonly version: number;
  readonly offset: number;
  /** null before v3, or -1 from the committer (none) */
  readonly leaderEpoch: number | null;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  /** v1 only (a commit with an explicit retention time); null otherwise */
  readonly expireTimestampMs: number | null;
  /** v4's tagged topic id (Kafka 4.1+) in Kafka's text form (base64url); null when absent or zero */
  readonly topicId: string | null;
}

export interface GroupMetadataValue {
  readonly version: number;
  /** 'consumer' for consumer groups; '' for groups that only commit offsets */
  readonly protocolType: string;
  readonly generation: number;
  readonly protocol: string | null;
  readonly leader: string | null;
  /** v2+; null before */
  readonly currentStateTimestampMs: number | null;
  /** how many members the group had when the record was written (0: the group is Empty) */
  readonly members: number;
}

export type OffsetsRecord =
  | {
      readonly kind: 'offset-commit';
      readonly group: string;
      readonly topic: string;
      readonly partition: number;
      /** null: a tombstone (the offset was deleted or expired) */
      readonly value: OffsetCommitValue | null;
    }
  | {
      readonly kind: 'group-metadata';
      readonly group: string;
      /** null: a tombstone (the classic group's metadata is gone) */
      readonly value: GroupMetadataValue | null;
    }
  | {
      readonly kind: 'group-record';
      readonly recordType: number;
      /** Kafka's name for the record without "Key", e.g. ConsumerGroupMetadata; null for a type this table does not know */
      readonly name: string | null;
      /** null for a type this table does not know */
      readonly group: string | null;
      readonly tombstone: boolean;
      /** a tombstone of a group's metadata record: the group is gone (or changed type) */
      readonly groupTombstone: boolean;
    }
  | {
      readonly kind: 'undecodable';
      readonly reason: string;
      /** null when not even the key's first two bytes were there */
      readonly recordType: number | null;
      readonly group?: string;
      readonly topic?: string;
      readonly partition?: number;
    };

/**
 * Record types of new-protocol groups whose key starts with the group id (string), from
 * Kafka's GroupCoordinatorRecordSerde and the keys' message definitions (apiKey in 4.x).
 */
const GROUP_RECORD_NAMES: Readonly<Record<number, string>> = {
  3: 'ConsumerGroupMetadata',
  4: 'ConsumerGroupPartitionMetadata',
  5: 'ConsumerGroupMemberMetadata',
  6: 'ConsumerGroupTargetAssignmentMetadata',
  7: 'ConsumerGroupTargetAssignmentMember',
  8: 'ConsumerGroupCurrentMemberAssignment',
  9: 'ShareGroupPartitionMetadata',
  10: 'ShareGroupMemberMetadata',
  11: 'ShareGroupMetadata',
  12: 'ShareGroupTargetAssignmentMetadata',
  13: 'ShareGroupTargetAssignmentMember',
  14: 'ShareGroupCurrentMemberAssignment',
  15: 'ShareGroupStatePartitionMetadata',
  16: 'ConsumerGroupRegularExpression',
  17: 'StreamsGroupMetadata',
};
/** The record whose tombstone removes a group, per group type. */
const GROUP_METADATA_TYPES: ReadonlySet<number> = new Set([3, 11, 17]);

const MAX_OFFSET_COMMIT_VALUE_VERSION = 4;
const MAX_GROUP_METADATA_VALUE_VERSION = 4;
/** The first flexible (compact fields, tagged fields) version of both values. */
const FLEXIBLE_FROM = 4;
const TOPIC_ID_TAG = 0;

/** Fields ran past the end of the bytes, or hold a length no writer produces. */
class Unreadable extends Error {}

/** Kafka's message encoding, fixed (int16/int32 lengths) or flexible (compact, tagged). */
class StructReader {
  pos = 0;
  constructor(private readonly buf: Buffer, private readonly flexible = false) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new Unreadable(`${what} past the end of the ${this.buf.length} bytes`);
  }
  int16(what: string): number {
    this.need(2, what);
    this.pos += 2;
    return this.buf.readInt16BE(this.pos - 2);
  }
  int32(what: string): number {
    this.need(4, what);
    this.pos += 4;
    return this.buf.readInt32BE(this.pos - 4);
  }
  int64(what: string): number {
    this.need(8, what);
    this.pos += 8;
    return readInt64(this.buf, this.pos - 8);
  }
  uvarint(what: string): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.need(1, what);
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Unreadable(`${what}: a varint longer than 5 bytes`);
  }
  /** A length: int16/int32 (-1 null) fixed, uvarint (0 null) compact. */
  private length(wide: boolean, what: string): number | null {
    const n = this.flexible ? this.uvarint(what) - 1 : wide ? this.int32(what) : this.int16(what);
    if (n < -1) throw new Unreadable(`${what} has length ${n}`);
    return n === -1 ? null : n;
  }
  nullableString(what: string): string | null {
    const n = this.length(false, what);
    if (n === null) return null;
    this.need(n, what);
    this.pos += n;
    return this.buf.toString('utf8', this.pos - n, this.pos);
  }
  /** A non-nullable string; a null one (which Kafka's writers do not produce) reads as ''. */
  string(what: string): string {
    return this.nullableString(what) ?? '';
  }
  skipBytes(what: string): void {
    const n = this.length(true, what) ?? 0;
    this.need(n, what);
    this.pos += n;
  }
  arrayLength(what: string): number {
    return this.length(true, what) ?? 0;
  }
  /** A flexible struct's tagged fields; `onTag` may read the field's `size` bytes at `pos`. */
  taggedFields(what: string, onTag: (tag: number, size: number) => void = () => undefined): void {
    if (!this.flexible) return;
    for (let count = this.uvarint(`${what} tag count`); count > 0; count--) {
      const tag = this.uvarint(`${what} tag`);
      const size = this.uvarint(`${what} tag ${tag} size`);
      this.need(size, `${what} tag ${tag}`);
      const end = this.pos + size;
      onTag(tag, size);
      this.pos = end;
    }
  }
  bytesAt(n: number): Buffer {
    return this.buf.subarray(this.pos, this.pos + n);
  }
}

/** One `__consumer_offsets` record decoded; never throws (see the module comment). */
export function decodeOffsetsRecord(key: Buffer | null, value: Buffer | null): OffsetsRecord {
  if (key === null || key.length < 2) {
    return { kind: 'undecodable', reason: `a key of ${key?.length ?? 'no'} bytes has no record type`, recordType: null };
  }
  const recordType = key.readInt16BE(0);
  const k = new StructReader(key);
  k.pos = 2;
  try {
    if (recordType === 0 || recordType === 1) {
      // built without spreads: one record per committed partition, thousands a second
      const group = k.string('OffsetCommitKey group');
      const topic = k.string('OffsetCommitKey topic');
      const partition = k.int32('OffsetCommitKey partition');
      if (value === null) return { kind: 'offset-commit', group, topic, partition, value: null };
      const decoded = decodeValue(value, 'OffsetCommitValue', MAX_OFFSET_COMMIT_VALUE_VERSION, readOffsetCommitValue);
      return typeof decoded === 'string' ? { kind: 'undecodable', reason: decoded, recordType, group, topic, partition } : { kind: 'offset-commit', group, topic, partition, value: decoded };
    }
    if (recordType === 2) {
      const group = k.string('GroupMetadataKey group');
      if (value === null) return { kind: 'group-metadata', group, value: null };
      const decoded = decodeValue(value, 'GroupMetadataValue', MAX_GROUP_METADATA_VALUE_VERSION, readGroupMetadataValue);
      return typeof decoded === 'string' ? { kind: 'undecodable', reason: decoded, recordType, group } : { kind: 'group-metadata', group, value: decoded };
    }
    if (recordType < 0) return { kind: 'undecodable', reason: `record type ${recordType} is negative (Kafka writes 0 and up)`, recordType };
    const name = GROUP_RECORD_NAMES[recordType] ?? null;
    const tombstone = value === null;
    return {
      kind: 'group-record',
      recordType,
      name,
      group: name === null ? null : k.string(`${name}Key GroupId`),
      tombstone,
      groupTombstone: tombstone && GROUP_METADATA_TYPES.has(recordType),
    };
  } catch (err) {
    if (err instanceof Unreadable) return { kind: 'undecodable', reason: err.message, recordType };
    throw err;
  }
}

/** A value's fields after its version, or why not (a string). */
function decodeValue<T>(value: Buffer, record: string, maxVersion: number, read: (r: StructReader, version: number) => T): T | string {
  if (value.length < 2) return `${record} of ${value.length} bytes has no version`;
  const version = value.readInt16BE(0);
  if (version < 0 || version > maxVersion) return `unsupported version ${version} of ${record} (vigil reads versions 0 to ${maxVersion})`;
  const r = new StructReader(value, version >= FLEXIBLE_FROM);
  r.pos = 2;
  try {
    return read(r, version);
  } catch (err) {
    if (err instanceof Unreadable) return `version ${version} of ${record}: ${err.message}`;
    throw err;
  }
}

function readOffsetCommitValue(r: StructReader, version: number): OffsetCommitValue {
  const offset = r.int64('offset');
  const leaderEpoch = version >= 3 ? r.int32('leaderEpoch') : null;
  const metadata = r.string('metadata');
  const commitTimestampMs = r.int64('commitTimestamp');
  const expireTimestampMs = version === 1 ? r.int64('expireTimestamp') : null;
  let topicId: string | null = null;
  r.taggedFields('OffsetCommitValue', (tag, size) => {
    if (tag !== TOPIC_ID_TAG) return;
    if (size !== 16) throw new Unreadable(`tagged topic id of ${size} bytes (a uuid has 16)`);
    const id = r.bytesAt(16);
    if (id.some((b) => b !== 0)) topicId = id.toString('base64url');
  });
  return { version, offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs, topicId };
}

function readGroupMetadataValue(r: StructReader, version: number): GroupMetadataValue {
  const protocolType = r.string('protocolType');
  const generation = r.int32('generation');
  const protocol = r.nullableString('protocol');
  const leader = r.nullableString('leader');
  const currentStateTimestampMs = version >= 2 ? r.int64('currentStateTimestamp') : null;
  const members = r.arrayLength('members');
  for (let i = 0; i < members; i++) {
    r.string('memberId');
    if (version >= 3) r.nullableString('groupInstanceId');
    r.string('clientId');
    r.string('clientHost');
    if (version >= 1) r.int32('rebalanceTimeout');
    r.int32('sessionTimeout');
    r.skipBytes('subscription');
    r.skipBytes('assignment');
    r.taggedFields('member');
  }
  r.taggedFields('GroupMetadataValue');
  return { version, protocolType, generation, protocol, leader, currentStateTimestampMs, members };
}
