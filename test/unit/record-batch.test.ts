import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { probeRecordSet } from '../../src/kafka/record-batch';

// An independent RecordBatch v2 writer (Kafka's DefaultRecordBatch layout), so the reader is
// checked against the format, not against itself. CRCs are not checked by the reader.
function zigzag(n: number): Buffer {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const bytes: number[] = [];
  while (v >= 0x80) {
    bytes.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function record(offsetDelta: number, timestampDelta: number, value = 'x'): Buffer {
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

interface BatchSpec {
  baseOffset: number;
  timestampsMs: number[]; // one per record, offsets base..base+n-1
  attributes?: number;
  gzip?: boolean;
  codec?: number;
}

function batch(spec: BatchSpec): Buffer {
  const first = spec.timestampsMs[0] as number;
  const records = Buffer.concat(spec.timestampsMs.map((t, i) => record(i, t - first, `v${i}`)));
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

const T0 = 1_764_150_000_000;

describe('probeRecordSet reads the timestamp of the first record at or after an offset', () => {
  it('finds the exact record inside an uncompressed batch', () => {
    const data = batch({ baseOffset: 100, timestampsMs: [T0, T0 + 10, T0 + 25, T0 + 40] });
    assert.deepEqual(probeRecordSet(data, 102), { kind: 'record', offset: 102, timestampMs: T0 + 25, exact: true });
    assert.deepEqual(probeRecordSet(data, 100), { kind: 'record', offset: 100, timestampMs: T0, exact: true });
  });

  it('skips whole batches that end before the offset', () => {
    const data = Buffer.concat([
      batch({ baseOffset: 0, timestampsMs: [T0, T0 + 1] }),
      batch({ baseOffset: 2, timestampsMs: [T0 + 500, T0 + 600, T0 + 700] }),
    ]);
    assert.deepEqual(probeRecordSet(data, 3), { kind: 'record', offset: 3, timestampMs: T0 + 600, exact: true });
  });

  it('inflates gzip batches and walks their records', () => {
    const data = batch({ baseOffset: 10, timestampsMs: [T0, T0 + 7, T0 + 9], gzip: true });
    assert.deepEqual(probeRecordSet(data, 11), { kind: 'record', offset: 11, timestampMs: T0 + 7, exact: true });
  });

  it('uses maxTimestamp for every record of a LogAppendTime batch', () => {
    const data = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 3, T0 + 50], attributes: 0x08 });
    assert.deepEqual(probeRecordSet(data, 1), { kind: 'record', offset: 1, timestampMs: T0 + 50, exact: true });
  });

  it('interpolates inside a batch whose codec it cannot decode, and says so', () => {
    const data = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 50, T0 + 100], codec: 4 /* zstd */ });
    const probe = probeRecordSet(data, 1);
    assert.deepEqual(probe, { kind: 'record', offset: 1, timestampMs: T0 + 50, exact: false });
    // the first record of such a batch is still exact: its timestamp is the batch's first
    assert.deepEqual(probeRecordSet(data, 0), { kind: 'record', offset: 0, timestampMs: T0, exact: true });
  });

  it('interpolates when the batch is cut short before the record', () => {
    const full = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 10, T0 + 20, T0 + 30, T0 + 40] });
    const cut = full.subarray(0, 61 + 8); // header plus part of the first record
    const probe = probeRecordSet(cut, 4);
    assert.equal(probe.kind, 'record');
    assert.equal(probe.kind === 'record' && probe.exact, false);
    assert.equal(probe.kind === 'record' && probe.timestampMs, T0 + 40);
  });

  it('answers unknown for a cut-short batch it could read whole when asked to, so the caller fetches it again', () => {
    const full = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 10, T0 + 20, T0 + 30, T0 + 40] });
    const cut = full.subarray(0, 61 + 8);
    assert.deepEqual(probeRecordSet(cut, 4, 'unknown'), { kind: 'unknown', reason: 'record data cut short by the fetch size limit' });
    // a record before the cut is exact either way
    assert.deepEqual(probeRecordSet(full.subarray(0, full.length - 2), 0, 'unknown'), { kind: 'record', offset: 0, timestampMs: T0, exact: true });
    // a codec it cannot decode is interpolated whole or not: no point fetching again
    const zstd = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 50, T0 + 100], codec: 4 });
    assert.equal(probeRecordSet(zstd.subarray(0, 70), 1, 'unknown').kind, 'record');
  });

  it('skips control batches (transaction markers)', () => {
    const data = Buffer.concat([
      batch({ baseOffset: 5, timestampsMs: [T0], attributes: 0x20 }),
      batch({ baseOffset: 6, timestampsMs: [T0 + 99] }),
    ]);
    assert.deepEqual(probeRecordSet(data, 5), { kind: 'record', offset: 6, timestampMs: T0 + 99, exact: true });
  });

  it('answers none when only complete control batches follow the offset', () => {
    const data = batch({ baseOffset: 5, timestampsMs: [T0], attributes: 0x20 });
    assert.deepEqual(probeRecordSet(data, 5), { kind: 'none' });
  });

  it('answers unknown for empty data and for data cut inside the batch header', () => {
    assert.equal(probeRecordSet(Buffer.alloc(0), 0).kind, 'unknown');
    const full = batch({ baseOffset: 0, timestampsMs: [T0] });
    assert.equal(probeRecordSet(full.subarray(0, 30), 0).kind, 'unknown');
  });
});
