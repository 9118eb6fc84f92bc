/**
 * Reads record timestamps out of the raw `records` bytes of a Fetch response (Kafka's
 * RecordBatch format, magic 2; the legacy message format, magic 0/1, is read for its
 * timestamp too). Pure: bytes in, answer out.
 *
 * vigil needs exactly one fact per partition: the timestamp of the first data record at or
 * after the group's committed offset (DESIGN §3). The broker answers a Fetch from the start
 * of the batch that holds that offset and may cut the last batch short at the partition's
 * byte limit, so this reader works with partial data:
 *   - LogAppendTime batches: every record carries the batch's maxTimestamp — exact.
 *   - uncompressed batches: records are walked to the wanted offset — exact.
 *   - gzip batches that arrived whole: inflated and walked — exact.
 *   - otherwise (another codec, or the batch was cut short before the record): the
 *     timestamp is interpolated between the batch's firstTimestamp and maxTimestamp by the
 *     offset's position in the batch, and marked inexact. A batch spans one producer
 *     linger window, so the error is at most that window.
 */
import { gunzipSync } from 'node:zlib';
import type { RecordProbe } from './types';

const BATCH_HEADER_BYTES = 61; // baseOffset .. recordsCount, RecordBatch v2
const LOG_OVERHEAD_BYTES = 12; // baseOffset int64 + batchLength int32

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_CONTROL = 0x20;
const CODEC_GZIP = 1;

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
      if (this.pos >= this.end) throw new RangeError('varint past end of data');
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * shift;
      if ((byte & 0x80) === 0) {
        // zigzag: even → non-negative, odd → negative
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
      shift *= 128;
    }
    throw new RangeError('varint longer than 10 bytes');
  }
  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new RangeError('field past end of data');
    this.pos += n;
  }
}

function readInt64(buf: Buffer, pos: number): number {
  return Number(buf.readBigInt64BE(pos));
}

/** Walks records (v2) from `r` until one has offset >= target. */
function findInRecords(
  r: Reader,
  baseOffset: number,
  firstTimestampMs: number,
  count: number,
  targetOffset: number,
): { offset: number; timestampMs: number } | 'truncated' | 'absent' {
  for (let i = 0; i < count; i++) {
    let length: number;
    try {
      length = r.varint();
    } catch {
      return 'truncated';
    }
    if (r.remaining() < length) return 'truncated';
    const recordEnd = r.pos + length;
    r.skip(1); // attributes
    const timestampDelta = r.varint();
    const offsetDelta = r.varint();
    const offset = baseOffset + offsetDelta;
    if (offset >= targetOffset) return { offset, timestampMs: firstTimestampMs + timestampDelta };
    r.pos = recordEnd;
  }
  return 'absent';
}

/**
 * The first data record at or after `targetOffset` in `records`, or 'none' when the data
 * holds complete batches only and none has such a record, or 'unknown' when the data ran
 * out first (the caller may fetch again with a larger limit). A batch cut short after its
 * header is interpolated from the header, or — with `cutShort` 'unknown', for a batch that
 * would be read exactly if whole (uncompressed or gzip) — answered 'unknown' too.
 */
export function probeRecordSet(records: Buffer, targetOffset: number, cutShort: 'interpolate' | 'unknown' = 'interpolate'): RecordProbe {
  if (records.length === 0) return { kind: 'unknown', reason: 'the broker returned no records' };
  let pos = 0;
  let sawPartial = false;
  while (pos + LOG_OVERHEAD_BYTES <= records.length) {
    const baseOffset = readInt64(records, pos);
    const batchLength = records.readInt32BE(pos + 8);
    const batchEnd = pos + LOG_OVERHEAD_BYTES + batchLength;
    const complete = batchEnd <= records.length;
    if (pos + 17 > records.length) break;
    const magic = records.readInt8(pos + 16);

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

    const codec = attributes & ATTR_COMPRESSION_MASK;
    let found: ReturnType<typeof findInRecords> = 'truncated';
    if (codec === 0) {
      found = findInRecords(new Reader(records, pos + BATCH_HEADER_BYTES, Math.min(batchEnd, records.length)), baseOffset, firstTimestampMs, recordCount, targetOffset);
    } else if (codec === CODEC_GZIP && complete) {
      try {
        const inflated = gunzipSync(records.subarray(pos + BATCH_HEADER_BYTES, batchEnd));
        found = findInRecords(new Reader(inflated), baseOffset, firstTimestampMs, recordCount, targetOffset);
      } catch {
        found = 'truncated';
      }
    }
    if (typeof found === 'object') return { kind: 'record', ...found, exact: true };
    if (found === 'absent') {
      // compaction removed the records between the target and the batch end
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
