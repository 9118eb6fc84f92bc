/**
 * An independent RecordBatch v2 writer (Kafka's DefaultRecordBatch layout), so the reader is
 * checked against the format, not against itself. CRCs are not checked by the reader.
 * Shared by the reader's unit tests and its fuzzer.
 */
import { gzipSync } from 'node:zlib';

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
  const body = Buffer.concat([
    Buffer.from([0]), // attributes
    zigzag(timestampDelta),
    zigzag(offsetDelta),
    zigzag(-1), // null key
    zigzag(value.length),
    Buffer.from(value),
    zigzag(0), // no headers
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
}

export function batch(spec: BatchSpec): Buffer {
  const first = spec.timestampsMs[0] as number;
  const records = Buffer.concat(spec.timestampsMs.map((t, i) => record(i, t - first, spec.values?.[i] ?? `v${i}`)));
  const payload = spec.gzip ? gzipSync(records) : records;
  const codec = spec.gzip ? 1 : (spec.codec ?? 0);
  const afterLength = Buffer.alloc(49);
  let o = 0;
  afterLength.writeInt32BE(0, o); o += 4; // partition leader epoch
  afterLength.writeInt8(2, o); o += 1; // magic
  afterLength.writeUInt32BE(0, o); o += 4; // crc
  afterLength.writeInt16BE((spec.attributes ?? 0) | codec, o); o += 2;
  afterLength.writeInt32BE(spec.timestampsMs.length - 1, o); o += 4; // last offset delta
  afterLength.writeBigInt64BE(BigInt(first), o); o += 8;
  afterLength.writeBigInt64BE(BigInt(Math.max(...spec.timestampsMs)), o); o += 8;
  afterLength.writeBigInt64BE(-1n, o); o += 8; // producer id
  afterLength.writeInt16BE(-1, o); o += 2;
  afterLength.writeInt32BE(-1, o); o += 4;
  afterLength.writeInt32BE(spec.timestampsMs.length, o);
  const head = Buffer.alloc(12);
  head.writeBigInt64BE(BigInt(spec.baseOffset), 0);
  head.writeInt32BE(afterLength.length + payload.length, 8);
  return Buffer.concat([head, afterLength, payload]);
}

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
