/**
 * Reads record timestamps out of the raw `records` bytes of a Fetch response (Kafka's
 * RecordBatch format, magic 2; the legacy message format, magic 0/1, is read for its
 * timestamp too). Pure: bytes in, answer out.
 *
 * vigil needs exactly one fact per partition: the timestamp of the first data record at or
 * after the group's committed offset (docs/design.md §3). The broker answers a Fetch from the start
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

/**
 * A gzip batch is inflated to at most this many bytes; past it the record's timestamp is
 * interpolated. A broker batch is at most ~1 MiB compressed (max.message.bytes), and this
 * cap allows 8:1 on such a batch, more on smaller ones, while bounding what one batch costs
 * the leader's event loop (~30 ms): a 1 MB batch of one repeated byte inflates to 1 GB.
 */
export const MAX_INFLATED_BATCH_BYTES = 8 * 1024 * 1024;

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_CONTROL = 0x20;
const CODEC_GZIP = 1;

/**
 * Fetch data whose framing no Kafka broker writes: a batch length that does not cover its
 * header (or is negative), an unknown magic or codec, record counts the batch cannot hold.
 * Nothing after such a batch can be located, so the probe is abandoned for this partition;
 * the caller reports its timestamp unknown. The same bytes come back on the next Fetch, so
 * retrying does not help.
 */
export class MalformedRecordBatchError extends VigilError {
  constructor(
    readonly problem: string,
    readonly byteOffset: number,
    readonly targetOffset: number,
  ) {
    super(
      'KAFKA_RECORDS_MALFORMED',
      `malformed record batch at byte ${byteOffset} of the Fetch data for offset ${targetOffset}: ${problem}; ` +
        'the timestamp there stays unknown — check the partition with kafka-dump-log.sh --deep-iteration, and report the bytes to vigil if the log reads clean',
      { retriable: false, context: { byteOffset, targetOffset, problem } },
    );
    this.name = 'MalformedRecordBatchError';
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
}

function readInt64(buf: Buffer, pos: number): number {
  return Number(buf.readBigInt64BE(pos));
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
    if (magic < 0 || magic > 2) throw malformed(`magic ${magic} (Kafka writes 0, 1 or 2)`);
    if (baseOffset < 0) throw malformed(`baseOffset ${baseOffset} is negative`);

    if (magic < 2) {
      // Legacy message: offset int64, size int32, crc int32, magic int8, attributes int8,
      // then (magic 1 only) timestamp int64. A compressed legacy wrapper carries the last
      // inner offset and the timestamp consumers see for its inner messages.
      const minSize = MIN_LEGACY_SIZE[magic as 0 | 1];
      if (batchLength < minSize) throw malformed(`message size ${batchLength} is shorter than the ${minSize} bytes of a magic ${magic} message`);
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

    if (batchLength < MIN_BATCH_LENGTH) throw malformed(`batchLength ${batchLength} is shorter than the ${MIN_BATCH_LENGTH} bytes of a batch header`);
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
    if (lastOffsetDelta < 0) throw malformed(`lastOffsetDelta ${lastOffsetDelta} is negative`);
    if (recordCount < 0 || recordCount > lastOffsetDelta + 1) {
      throw malformed(`recordCount ${recordCount} does not fit the ${lastOffsetDelta + 1} offsets of the batch`);
    }
    if (codec > MAX_CODEC) throw malformed(`compression codec ${codec} (Kafka writes 0 to ${MAX_CODEC})`);
    if (codec === 0 && recordCount * MIN_RECORD_BYTES > batchLength - MIN_BATCH_LENGTH) {
      throw malformed(`recordCount ${recordCount} does not fit the ${batchLength - MIN_BATCH_LENGTH} bytes of uncompressed records`);
    }

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
