/**
 * An independent RecordBatch v2 writer (Kafka's DefaultRecordBatch layout), so the reader is
 * checked against the format, not against itself. CRCs are not checked by the reader.
 * Shared by the readers' unit tests and their fuzzer, with readAllBatches, which collects
 * what iterateRecordBatches yields.
 */
import { gzipSync } from 'node:zlib';
import { type RecordBatch, iterateRecordBatches } from '../../src/kafka/record-batch';

export function zigzag(n: number): Buffer {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const bytes: number[] = [];
  while (v >= 0x80) {
    bytes.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

export function record(offsetDelta: number, timestampDelta: number, value = 'x'): Buffer {
  return recordOf(offsetDelta, timestampDelta, { value: Buffer.from(value) });
}

/** A record's key, value (null: a tombstone) and headers. */
export interface RecordSpec {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: readonly (readonly [string, Buffer | null])[];
}

function varBytes(b: Buffer | null | undefined): Buffer {
  return b === null || b === undefined ? zigzag(-1) : Buffer.concat([zigzag(b.length), b]);
}

export function recordOf(offsetDelta: number, timestampDelta: number, spec: RecordSpec): Buffer {
  const headers = spec.headers ?? [];
  const body = Buffer.concat([
    Buffer.from([0]), // attributes
    zigzag(timestampDelta),
    zigzag(offsetDelta),
    varBytes(spec.key),
    varBytes(spec.value),
    zigzag(headers.length),
    ...headers.map(([k, v]) => Buffer.concat([varBytes(Buffer.from(k)), varBytes(v)])),
  ]);
  return Buffer.concat([zigzag(body.length), body]);
}

export interface BatchSpec {
  baseOffset: number;
  timestampsMs: number[]; // one per record, offsets base..base+n-1
  attributes?: number;
  gzip?: boolean;
  codec?: number;
  /** record values, one per timestamp (default v0, v1, …) */
  values?: readonly string[];
  /** whole records, one per timestamp (instead of `values`) */
  records?: readonly RecordSpec[];
  /** offset deltas, one per timestamp (default 0, 1, …; gaps as compaction leaves them) */
  offsetDeltas?: readonly number[];
  /** the batch's last offset delta (default: the last record's) */
  lastOffsetDelta?: number;
  producerId?: number;
  producerEpoch?: number;
}

export function batch(spec: BatchSpec): Buffer {
  const first = spec.timestampsMs[0] ?? -1; // an empty batch (compacted away) has no base timestamp
  const deltas = spec.offsetDeltas ?? spec.timestampsMs.map((_, i) => i);
  const records = Buffer.concat(
    spec.timestampsMs.map((t, i) =>
      spec.records ? recordOf(deltas[i] as number, t - first, spec.records[i] as RecordSpec) : record(deltas[i] as number, t - first, spec.values?.[i] ?? `v${i}`),
    ),
  );
  const payload = spec.gzip ? gzipSync(records) : records;
  const codec = spec.gzip ? 1 : (spec.codec ?? 0);
  const afterLength = Buffer.alloc(49);
  let o = 0;
  afterLength.writeInt32BE(0, o); o += 4; // partition leader epoch
  afterLength.writeInt8(2, o); o += 1; // magic
  afterLength.writeUInt32BE(0, o); o += 4; // crc
  afterLength.writeInt16BE((spec.attributes ?? 0) | codec, o); o += 2;
  afterLength.writeInt32BE(spec.lastOffsetDelta ?? (deltas.at(-1) as number), o); o += 4; // last offset delta
  afterLength.writeBigInt64BE(BigInt(first), o); o += 8;
  afterLength.writeBigInt64BE(BigInt(Math.max(first, ...spec.timestampsMs)), o); o += 8;
  afterLength.writeBigInt64BE(BigInt(spec.producerId ?? -1), o); o += 8;
  afterLength.writeInt16BE(spec.producerEpoch ?? -1, o); o += 2;
  afterLength.writeInt32BE(-1, o); o += 4; // base sequence
  afterLength.writeInt32BE(spec.timestampsMs.length, o);
  const head = Buffer.alloc(12);
  head.writeBigInt64BE(BigInt(spec.baseOffset), 0);
  head.writeInt32BE(afterLength.length + payload.length, 8);
  return Buffer.concat([head, afterLength, payload]);
}

/** A transaction marker batch: one control record, key (version 0, type), value (version 0, coordinator epoch). */
export function markerBatch(baseOffset: number, producerId: number, type: 'ABORT' | 'COMMIT', timestampMs = T0): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type === 'ABORT' ? 0 : 1, 2);
  const value = Buffer.alloc(6);
  return batch({ baseOffset, timestampsMs: [timestampMs], records: [{ key, value }], attributes: ATTR_TRANSACTIONAL | ATTR_CONTROL, producerId, producerEpoch: 0 });
}

export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

export const T0 = 1_764_150_000_000;

/** A legacy message (magic 0 or 1): offset, size, crc, magic, attributes, [timestamp], key, value. */
export function legacyMessage(offset: number, magic: 0 | 1, timestampMs: number, value = 'x'): Buffer {
  const body = Buffer.alloc(4 + 1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + value.length);
  let o = 4; // crc, unchecked
  body.writeInt8(magic, o); o += 1;
  body.writeInt8(0, o); o += 1;
  if (magic === 1) { body.writeBigInt64BE(BigInt(timestampMs), o); o += 8; }
  body.writeInt32BE(-1, o); o += 4; // null key
  body.writeInt32BE(value.length, o); o += 4;
  body.write(value, o);
  const head = Buffer.alloc(12);
  head.writeBigInt64BE(BigInt(offset), 0);
  head.writeInt32BE(body.length, 8);
  return Buffer.concat([head, body]);
}

/** The batches `iterateRecordBatches` yields from `data`, and the error that ended the iteration (null: none). */
export function readAllBatches(data: Buffer): { batches: RecordBatch[]; error: unknown } {
  const batches: RecordBatch[] = [];
  try {
    for (const b of iterateRecordBatches(data)) batches.push(b);
    return { batches, error: null };
  } catch (error) {
    return { batches, error };
  }
}
