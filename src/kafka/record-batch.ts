/**
 * Reads the raw `records` bytes of a Fetch response (Kafka's RecordBatch format, magic 2;
 * the legacy message format, magic 0/1, as far as noted below). Pure: bytes in, answer out.
 * Two readers share the batch framing and its checks:
 *
 * probeRecordSet — the timestamp of one record. vigil needs exactly one fact per partition:
 * the timestamp of the first data record at or after the group's committed offset
 * (docs/design.md §3). The broker answers a Fetch from the start
 * of the batch that holds that offset and may cut the last batch short at the partition's
 * byte limit, so this reader works with partial data:
 *   - LogAppendTime batches: every record carries the batch's maxTimestamp — exact.
 *   - uncompressed batches: records are walked to the wanted offset — exact.
 *   - gzip batches that arrived whole: inflated (up to MAX_INFLATED_BATCH_BYTES) and
 *     walked — exact.
 *   - otherwise (another codec, the batch was cut short before the record, inflated past
 *     the cap, or its records cannot be walked): the
 *     timestamp is interpolated between the batch's firstTimestamp and maxTimestamp by the
 *     offset's position in the batch, and marked inexact. A batch spans one producer
 *     linger window, so the error is at most that window.
 *
 * iterateRecordBatches — every record, for a reader that follows a partition (the
 * `__consumer_offsets` decoder, consumer-offsets.ts). It yields each complete batch in
 * order with its producer fields and all its records (offset, timestamp, key, value, and
 * the marker of a control record); a batch cut short by the fetch size ends the iteration,
 * so the caller fetches again from the offset after the last batch it was given. It reads
 * uncompressed and gzip batches (inflated up to the same cap) and uncompressed legacy
 * messages; a batch it cannot read whole — snappy, lz4 or zstd, gzip past the cap, a
 * compressed legacy message set — is refused with UnsupportedRecordBatchError naming the
 * codec and the setting that chooses it, never read as something else.
 *
 * Broker bytes are not trusted: a batch framed as no broker frames one is rejected with
 * MalformedRecordBatchError, and every step moves forward, so a read ends within one pass.
 */
import { gunzipSync } from 'node:zlib';
import { VigilError } from '../errors';
import type { RecordProbe } from './types';

const BATCH_HEADER_BYTES = 61; // baseOffset .. recordsCount, RecordBatch v2
const LOG_OVERHEAD_BYTES = 12; // baseOffset int64 + batchLength int32
/** batchLength counts the bytes after itself: at least the rest of the v2 header. */
const MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES;
/** A legacy message's size counts crc, magic, attributes, [timestamp,] key and value lengths. */
const MIN_LEGACY_SIZE = { 0: 14, 1: 22 } as const;
/** The smallest v2 record: its length varint and six one-byte fields (attributes, timestamp
 *  delta, offset delta, key length, value length, header count). */
const MIN_RECORD_BYTES = 7;
const MAX_CODEC = 4; // none, gzip, snappy, lz4, zstd

/** Kafka's codec ids (the low three attribute bits), as its `compression.type` names them. */
const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/**
 * A gzip batch is inflated to at most this many bytes; past it the record's timestamp is
 * interpolated (and iterateRecordBatches refuses the batch). A broker batch is at most ~1 MiB compressed (max.message.bytes), and this
 * cap allows 8:1 on such a batch, more on smaller ones, while bounding what one batch costs
 * the leader's event loop (~30 ms): a 1 MB batch of one repeated byte inflates to 1 GB.
 */
export const MAX_INFLATED_BATCH_BYTES = 8 * 1024 * 1024;

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;
const CODEC_GZIP = 1;
/** Legacy messages (magic 0/1): size of the fields before the key, after the log overhead. */
const LEGACY_KEY_AT = { 0: 6, 1: 14 } as const;

/**
 * Fetch data whose framing no Kafka broker writes: a batch length that does not cover its
 * header (or is negative), an unknown magic or codec, record counts the batch cannot hold.
 * Nothing after such a batch can be located, so the read is abandoned for this partition:
 * a probe reports its timestamp unknown (`targetOffset` is the probed offset), an iteration
 * (`targetOffset` null) ends. The same bytes come back on the next Fetch, so retrying does
 * not help.
 */
export class MalformedRecordBatchError extends VigilError {
  constructor(
    readonly problem: string,
    readonly byteOffset: number,
    readonly targetOffset: number | null,
  ) {
    const where = targetOffset === null ? 'of the Fetch data' : `of the Fetch data for offset ${targetOffset}`;
    const consequence = targetOffset === null ? 'the records from there on cannot be read' : 'the timestamp there stays unknown';
    super(
      'KAFKA_RECORDS_MALFORMED',
      `malformed record batch at byte ${byteOffset} ${where}: ${problem}; ` +
        `${consequence} — check the partition with kafka-dump-log.sh --deep-iteration, and report the bytes to vigil if the log reads clean`,
      { retriable: false, context: { byteOffset, targetOffset, problem } },
    );
    this.name = 'MalformedRecordBatchError';
  }
}

/**
 * A sound batch that iterateRecordBatches cannot read record by record: compressed with a
 * codec vigil does not decompress, inflating past MAX_INFLATED_BATCH_BYTES, or a compressed
 * legacy message set. The batch's offsets are in the error, so a caller may step over it
 * knowing what it skipped. The same bytes come back on the next Fetch, so retrying does not
 * help; the message names the setting that chooses the codec.
 */
export class UnsupportedRecordBatchError extends VigilError {
  constructor(
    readonly problem: string,
    readonly baseOffset: number,
    readonly lastOffset: number,
    codecs: 'uncompressed or gzip' | 'uncompressed' = 'uncompressed or gzip',
  ) {
    const fix =
      codecs === 'uncompressed'
        ? "for __consumer_offsets set the brokers' offsets.topic.compression.codec to 0 (none), for another topic its compression.type to uncompressed"
        : "for __consumer_offsets set the brokers' offsets.topic.compression.codec to 0 (none) or 1 (gzip); for another topic set its compression.type " +
          'to uncompressed or gzip (or to producer, with producers that send uncompressed or gzip batches)';
    super(
      'KAFKA_RECORDS_UNSUPPORTED',
      `cannot read the record batch at offsets ${baseOffset}..${lastOffset}: ${problem}. vigil reads uncompressed and gzip batches: ${fix}. ` +
        'Batches written before the change keep their codec',
      { retriable: false, context: { baseOffset, lastOffset, problem } },
    );
    this.name = 'UnsupportedRecordBatchError';
  }
}

/** The records ran past their end, or hold a value no writer produces. */
class RecordsUnreadable extends Error {}

class Reader {
  pos: number;
  constructor(readonly buf: Buffer, pos = 0, readonly end = buf.length) {
    this.pos = pos;
  }
  remaining(): number {
    return this.end - this.pos;
  }
  varint(): number {
    // zigzag-encoded, up to 64 bits; values vigil reads (lengths, deltas) fit in 2^53
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RecordsUnreadable('varint past end of data');
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * shift;
      if ((byte & 0x80) === 0) {
        if (result > Number.MAX_SAFE_INTEGER) throw new RecordsUnreadable('varint beyond 2^53');
        // zigzag: even → non-negative, odd → negative
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
      shift *= 128;
    }
    throw new RecordsUnreadable('varint longer than 10 bytes');
  }
  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new RecordsUnreadable('field past end of data');
    this.pos += n;
  }
  /** A varint-length byte field (key, value, header value): null for length -1. */
  bytes(): Buffer | null {
    const length = this.varint();
    if (length === -1) return null;
    if (length < -1) throw new RecordsUnreadable(`field length ${length}`);
    const start = this.pos;
    this.skip(length);
    return this.buf.subarray(start, this.pos);
  }
}

/** A big-endian int64 as a number: exact below 2^53, rounded to the nearest above it (as Number(bigint) rounds), without a BigInt. */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 4294967296 + buf.readUInt32BE(pos + 4);
}

/**
 * Throws (via `malformed`) for a batch or legacy message framed as no broker frames one: a
 * magic no Kafka writes, a negative offset, a length shorter than the smallest message or
 * batch of that magic. Checks values already read (the readers' hot path allocates nothing).
 */
function checkFraming(baseOffset: number, batchLength: number, magic: number, malformed: (problem: string) => Error): void {
  if (magic < 0 || magic > 2) throw malformed(`magic ${magic} (Kafka writes 0, 1 or 2)`);
  if (baseOffset < 0) throw malformed(`baseOffset ${baseOffset} is negative`);
  if (magic < 2) {
    const minSize = MIN_LEGACY_SIZE[magic as 0 | 1];
    if (batchLength < minSize) throw malformed(`message size ${batchLength} is shorter than the ${minSize} bytes of a magic ${magic} message`);
  } else if (batchLength < MIN_BATCH_LENGTH) {
    throw malformed(`batchLength ${batchLength} is shorter than the ${MIN_BATCH_LENGTH} bytes of a batch header`);
  }
}

/** Throws (via `malformed`) for v2 header values no broker writes. */
function checkBatchHeader(codec: number, lastOffsetDelta: number, recordCount: number, batchLength: number, malformed: (problem: string) => Error): void {
  if (lastOffsetDelta < 0) throw malformed(`lastOffsetDelta ${lastOffsetDelta} is negative`);
  if (recordCount < 0 || recordCount > lastOffsetDelta + 1) {
    throw malformed(`recordCount ${recordCount} does not fit the ${lastOffsetDelta + 1} offsets of the batch`);
  }
  if (codec > MAX_CODEC) throw malformed(`compression codec ${codec} (Kafka writes 0 to ${MAX_CODEC})`);
  if (codec === 0 && recordCount * MIN_RECORD_BYTES > batchLength - MIN_BATCH_LENGTH) {
    throw malformed(`recordCount ${recordCount} does not fit the ${batchLength - MIN_BATCH_LENGTH} bytes of uncompressed records`);
  }
}

/**
 * Walks records (v2) from `r` until one has offset >= target. 'unreadable' when the data ran
 * out first (a batch cut short) or a record is impossible (length too small for its fields,
 * offsets not increasing inside the batch). Every record read moves the cursor forward by at
 * least MIN_RECORD_BYTES, so the walk ends within the bytes whatever `count` claims.
 */
function findInRecords(
  r: Reader,
  baseOffset: number,
  firstTimestampMs: number,
  count: number,
  lastOffsetDelta: number,
  targetOffset: number,
): { offset: number; timestampMs: number } | 'unreadable' | 'absent' {
  try {
    let previousDelta = -1;
    for (let i = 0; i < count; i++) {
      const length = r.varint();
      if (length < MIN_RECORD_BYTES - 1 || r.remaining() < length) return 'unreadable';
      const recordEnd = r.pos + length;
      r.skip(1); // attributes
      const timestampDelta = r.varint();
      const offsetDelta = r.varint();
      if (r.pos > recordEnd || offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) return 'unreadable';
      previousDelta = offsetDelta;
      const offset = baseOffset + offsetDelta;
      if (offset >= targetOffset) return { offset, timestampMs: firstTimestampMs + timestampDelta };
      r.pos = recordEnd;
    }
    return 'absent';
  } catch (err) {
    if (err instanceof RecordsUnreadable) return 'unreadable';
    throw err;
  }
}

/** Inflated records, or null when they are not gzip or would exceed MAX_INFLATED_BATCH_BYTES. */
function inflate(compressed: Buffer): Buffer | null {
  try {
    return gunzipSync(compressed, { maxOutputLength: MAX_INFLATED_BATCH_BYTES });
  } catch {
    return null;
  }
}

/**
 * The first data record at or after `targetOffset` in `records`, or 'none' when the data
 * holds complete batches only and none has such a record, or 'unknown' when the data ran
 * out first (the caller may fetch again with a larger limit). A batch cut short after its
 * header is interpolated from the header, or — with `cutShort` 'unknown', for a batch that
 * would be read exactly if whole (uncompressed or gzip) — answered 'unknown' too. A batch
 * whose header is sound but whose records cannot be walked is interpolated as well.
 *
 * Throws MalformedRecordBatchError, and nothing else, when a batch before the answer is
 * framed as no broker frames one. Every batch read moves the cursor forward by at least
 * one batch header, so the answer comes within one pass over the bytes.
 */
export function probeRecordSet(records: Buffer, targetOffset: number, cutShort: 'interpolate' | 'unknown' = 'interpolate'): RecordProbe {
  if (records.length === 0) return { kind: 'unknown', reason: 'the broker returned no records' };
  let pos = 0;
  let sawPartial = false;
  while (pos + LOG_OVERHEAD_BYTES <= records.length) {
    const malformed = (problem: string) => new MalformedRecordBatchError(problem, pos, targetOffset);
    const baseOffset = readInt64(records, pos);
    const batchLength = records.readInt32BE(pos + 8);
    const batchEnd = pos + LOG_OVERHEAD_BYTES + batchLength;
    const complete = batchEnd <= records.length;
    if (pos + 17 > records.length) break;
    const magic = records.readInt8(pos + 16);
    checkFraming(baseOffset, batchLength, magic, malformed);

    if (magic < 2) {
      // Legacy message: offset int64, size int32, crc int32, magic int8, attributes int8,
      // then (magic 1 only) timestamp int64. A compressed legacy wrapper carries the last
      // inner offset and the timestamp consumers see for its inner messages.
      if (baseOffset >= targetOffset) {
        if (magic === 0) return { kind: 'unknown', reason: 'message format v0 has no timestamps' };
        if (pos + 26 > records.length) return { kind: 'unknown', reason: 'record data cut short by the fetch size limit' };
        return { kind: 'record', offset: baseOffset, timestampMs: readInt64(records, pos + 18), exact: true };
      }
      if (!complete) {
        sawPartial = true;
        break;
      }
      pos = batchEnd;
      continue;
    }

    if (pos + BATCH_HEADER_BYTES > records.length) {
      sawPartial = true;
      break;
    }
    const attributes = records.readInt16BE(pos + 21);
    const lastOffsetDelta = records.readInt32BE(pos + 23);
    const firstTimestampMs = readInt64(records, pos + 27);
    const maxTimestampMs = readInt64(records, pos + 35);
    const recordCount = records.readInt32BE(pos + 57);
    const lastOffset = baseOffset + lastOffsetDelta;
    const codec = attributes & ATTR_COMPRESSION_MASK;
    checkBatchHeader(codec, lastOffsetDelta, recordCount, batchLength, malformed);

    if (lastOffset < targetOffset || (attributes & ATTR_CONTROL) !== 0 || recordCount === 0) {
      if (!complete) {
        sawPartial = true;
        break;
      }
      pos = batchEnd;
      continue;
    }

    if ((attributes & ATTR_LOG_APPEND_TIME) !== 0) {
      return { kind: 'record', offset: Math.max(baseOffset, targetOffset), timestampMs: maxTimestampMs, exact: true };
    }

    let found: ReturnType<typeof findInRecords> = 'unreadable';
    if (codec === 0) {
      const r = new Reader(records, pos + BATCH_HEADER_BYTES, Math.min(batchEnd, records.length));
      found = findInRecords(r, baseOffset, firstTimestampMs, recordCount, lastOffsetDelta, targetOffset);
    } else if (codec === CODEC_GZIP && complete) {
      const inflated = inflate(records.subarray(pos + BATCH_HEADER_BYTES, batchEnd));
      if (inflated) found = findInRecords(new Reader(inflated), baseOffset, firstTimestampMs, recordCount, lastOffsetDelta, targetOffset);
    }
    if (typeof found === 'object') return { kind: 'record', ...found, exact: true };
    if (found === 'absent') {
      // compaction removed the records between the target and the batch end
      if (!complete) {
        sawPartial = true;
        break;
      }
      pos = batchEnd;
      continue;
    }
    // A batch it could read whole but got only part of: the caller may fetch it whole.
    if (!complete && cutShort === 'unknown' && (codec === 0 || codec === CODEC_GZIP)) {
      return { kind: 'unknown', reason: 'record data cut short by the fetch size limit' };
    }
    // Could not walk the records: interpolate inside the batch.
    const span = lastOffset - baseOffset;
    const offset = Math.max(baseOffset, targetOffset);
    const fraction = span > 0 ? (offset - baseOffset) / span : 0;
    const timestampMs = offset === baseOffset ? firstTimestampMs : Math.round(firstTimestampMs + fraction * (maxTimestampMs - firstTimestampMs));
    return { kind: 'record', offset, timestampMs, exact: offset === baseOffset };
  }
  if (sawPartial || pos < records.length) return { kind: 'unknown', reason: 'record data cut short by the fetch size limit' };
  return { kind: 'none' };
}

// ---- every record ---------------------------------------------------------------------------

/** A transaction marker: the key of a control record (version int16, type int16). */
export interface ControlMarker {
  /** Kafka's ControlRecordType: 0 ABORT, 1 COMMIT; other types are KRaft's own logs' */
  readonly type: 'ABORT' | 'COMMIT' | 'OTHER';
  readonly typeCode: number;
  readonly version: number;
}

export interface KafkaRecord {
  readonly offset: number;
  /** CreateTime (firstTimestamp + delta), or the batch's maxTimestamp under LogAppendTime */
  readonly timestampMs: number;
  /** Views into the Fetch data (or the inflated batch): copy what must outlive it. */
  readonly key: Buffer | null;
  /** null: a tombstone */
  readonly value: Buffer | null;
  /** The decoded key of a control batch's record. */
  readonly control?: ControlMarker;
}

export interface RecordBatch {
  readonly baseOffset: number;
  /** baseOffset + lastOffsetDelta: the next batch starts after it, even when compaction
   *  removed the batch's last records (or all of them) */
  readonly lastOffset: number;
  /** -1 for batches of non-idempotent producers and legacy messages. Read as a JavaScript
   *  number: exact below 2^53, which producer ids (allocated upwards from 0) stay under. */
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly isTransactional: boolean;
  readonly isControl: boolean;
  readonly records: readonly KafkaRecord[];
}

/**
 * Every complete batch in `records`, in order, with all its records (see the module
 * comment). Throws MalformedRecordBatchError for bytes no broker frames or writes (also a
 * record whose fields do not fill its length exactly, or bytes left after the declared
 * records, as Kafka's own reader refuses them), and UnsupportedRecordBatchError for a sound
 * batch it cannot read; the batches before it have been yielded by then. Every step moves
 * forward within the bytes, so the iteration ends within one pass whatever the counts claim.
 */
export function* iterateRecordBatches(records: Buffer): Generator<RecordBatch, void, undefined> {
  let pos = 0;
  while (pos + 17 <= records.length) {
    const at = pos;
    const malformed = (problem: string) => new MalformedRecordBatchError(problem, at, null);
    const baseOffset = readInt64(records, pos);
    const batchLength = records.readInt32BE(pos + 8);
    const magic = records.readInt8(pos + 16);
    checkFraming(baseOffset, batchLength, magic, malformed);
    const batchEnd = pos + LOG_OVERHEAD_BYTES + batchLength;
    if (batchEnd > records.length) return; // cut short by the fetch size
    // offsets are JavaScript numbers (types.ts): exact below 2^53, which no partition reaches
    const lastOffsetDelta = magic < 2 ? 0 : records.readInt32BE(pos + 23);
    if (baseOffset + Math.max(0, lastOffsetDelta) > Number.MAX_SAFE_INTEGER) throw malformed(`offsets from ${baseOffset} lie beyond 2^53`);
    yield magic < 2 ? legacyBatch(records, pos, batchEnd, baseOffset, magic, malformed) : batchAt(records, pos, batchEnd, baseOffset, malformed);
    pos = batchEnd;
  }
}

/** The v2 header fields the record walk needs. */
interface BatchHeader {
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly firstTimestampMs: number;
  readonly maxTimestampMs: number;
  readonly recordCount: number;
}

/** The complete v2 batch at `pos`..`batchEnd`, every record decoded. */
function batchAt(records: Buffer, pos: number, batchEnd: number, baseOffset: number, malformed: (problem: string) => Error): RecordBatch {
  const header: BatchHeader = {
    attributes: records.readInt16BE(pos + 21),
    lastOffsetDelta: records.readInt32BE(pos + 23),
    firstTimestampMs: readInt64(records, pos + 27),
    maxTimestampMs: readInt64(records, pos + 35),
    recordCount: records.readInt32BE(pos + 57),
  };
  const codec = header.attributes & ATTR_COMPRESSION_MASK;
  checkBatchHeader(codec, header.lastOffsetDelta, header.recordCount, batchEnd - pos - LOG_OVERHEAD_BYTES, malformed);
  const lastOffset = baseOffset + header.lastOffsetDelta;
  let data: Reader;
  if (codec === 0) {
    data = new Reader(records, pos + BATCH_HEADER_BYTES, batchEnd);
  } else if (codec === CODEC_GZIP) {
    data = new Reader(inflateBatch(records.subarray(pos + BATCH_HEADER_BYTES, batchEnd), baseOffset, lastOffset, malformed));
  } else {
    const name = CODEC_NAMES[codec] as string;
    throw new UnsupportedRecordBatchError(`it is compressed with ${name}, which vigil does not decompress`, baseOffset, lastOffset);
  }
  const isControl = (header.attributes & ATTR_CONTROL) !== 0;
  return {
    baseOffset,
    lastOffset,
    producerId: readInt64(records, pos + 43),
    producerEpoch: records.readInt16BE(pos + 51),
    isTransactional: (header.attributes & ATTR_TRANSACTIONAL) !== 0,
    isControl,
    records: readRecords(data, baseOffset, header, isControl, malformed),
  };
}

/** gzip batch data inflated, within MAX_INFLATED_BATCH_BYTES. */
function inflateBatch(compressed: Buffer, baseOffset: number, lastOffset: number, malformed: (problem: string) => Error): Buffer {
  try {
    return gunzipSync(compressed, { maxOutputLength: MAX_INFLATED_BATCH_BYTES });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new UnsupportedRecordBatchError(`its gzip data inflates past ${MAX_INFLATED_BATCH_BYTES} bytes, the most vigil inflates per batch`, baseOffset, lastOffset, 'uncompressed');
    }
    throw malformed(`gzip data that does not inflate (${(err as Error).message})`);
  }
}

/**
 * All `header.recordCount` records from `r`, which must end exactly where they do. Each
 * record moves the cursor forward by at least MIN_RECORD_BYTES, and each header by two
 * bytes, so a false count ends the read at the end of the bytes.
 */
function readRecords(r: Reader, baseOffset: number, header: BatchHeader, isControl: boolean, malformed: (problem: string) => Error): KafkaRecord[] {
  const logAppendTime = (header.attributes & ATTR_LOG_APPEND_TIME) !== 0;
  const out: KafkaRecord[] = [];
  let previousDelta = -1;
  try {
    for (let i = 0; i < header.recordCount; i++) {
      const length = r.varint();
      if (length < MIN_RECORD_BYTES - 1 || r.remaining() < length) throw new RecordsUnreadable(`record ${i} has length ${length} with ${r.remaining()} bytes left`);
      const recordEnd = r.pos + length;
      r.skip(1); // attributes: none defined
      const timestampDelta = r.varint();
      const offsetDelta = r.varint();
      if (offsetDelta <= previousDelta || offsetDelta > header.lastOffsetDelta) {
        throw new RecordsUnreadable(`record ${i} has offset delta ${offsetDelta} after ${previousDelta} (last ${header.lastOffsetDelta})`);
      }
      previousDelta = offsetDelta;
      const key = r.bytes();
      const value = r.bytes();
      for (let h = r.varint(); h > 0; h--) {
        const keyLength = r.varint();
        if (keyLength < 0) throw new RecordsUnreadable(`record ${i} has a header key of length ${keyLength}`);
        r.skip(keyLength);
        r.bytes();
      }
      if (r.pos !== recordEnd) throw new RecordsUnreadable(`record ${i} declares ${length} bytes but its fields take ${r.pos - recordEnd + length}`);
      const offset = baseOffset + offsetDelta;
      const timestampMs = logAppendTime ? header.maxTimestampMs : header.firstTimestampMs + timestampDelta;
      out.push(isControl ? { offset, timestampMs, key, value, control: controlMarker(key, offset) } : { offset, timestampMs, key, value });
    }
    if (r.remaining() !== 0) throw new RecordsUnreadable(`${r.remaining()} bytes follow the batch's ${header.recordCount} records`);
  } catch (err) {
    if (err instanceof RecordsUnreadable) throw malformed(err.message);
    throw err;
  }
  return out;
}

function controlMarker(key: Buffer | null, offset: number): ControlMarker {
  if (key === null || key.length < 4) throw new RecordsUnreadable(`control record at offset ${offset} has a key of ${key?.length ?? 'no'} bytes (a marker's is 4)`);
  const typeCode = key.readInt16BE(2);
  return { version: key.readInt16BE(0), typeCode, type: typeCode === 0 ? 'ABORT' : typeCode === 1 ? 'COMMIT' : 'OTHER' };
}

/**
 * A complete legacy message (magic 0/1) as a batch of one record: offset int64, size int32,
 * crc int32, magic int8, attributes int8, [timestamp int64], key and value (int32 length,
 * -1 null). Compressed, it wraps a message set of its own, which vigil does not read.
 */
function legacyBatch(records: Buffer, pos: number, batchEnd: number, baseOffset: number, magic: number, malformed: (problem: string) => Error): RecordBatch {
  const codec = records.readInt8(pos + 17) & ATTR_COMPRESSION_MASK;
  if (codec !== 0) {
    throw new UnsupportedRecordBatchError(`it is a message set in the format before Kafka 0.11 (magic ${magic}) compressed with ${CODEC_NAMES[codec] ?? `codec ${codec}`}`, baseOffset, baseOffset);
  }
  const r = { pos: pos + LOG_OVERHEAD_BYTES + LEGACY_KEY_AT[magic as 0 | 1] };
  const field = (): Buffer | null => {
    if (r.pos + 4 > batchEnd) throw malformed(`message at offset ${baseOffset} ends inside its fields`);
    const length = records.readInt32BE(r.pos);
    r.pos += 4;
    if (length === -1) return null;
    if (length < -1 || r.pos + length > batchEnd) throw malformed(`message at offset ${baseOffset} has a field of length ${length} in ${batchEnd - r.pos} bytes`);
    r.pos += length;
    return records.subarray(r.pos - length, r.pos);
  };
  const key = field();
  const value = field();
  if (r.pos !== batchEnd) throw malformed(`message at offset ${baseOffset} declares ${batchEnd - pos - LOG_OVERHEAD_BYTES} bytes but its fields take ${r.pos - pos - LOG_OVERHEAD_BYTES}`);
  const timestampMs = magic === 1 ? readInt64(records, pos + 18) : -1;
  return { baseOffset, lastOffset: baseOffset, producerId: -1, producerEpoch: -1, isTransactional: false, isControl: false, records: [{ offset: baseOffset, timestampMs, key, value }] };
}
