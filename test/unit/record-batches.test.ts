/**
 * iterateRecordBatches (every record of a Fetch answer, src/kafka/record-batch.ts) and
 * committedBatches (read_committed filtering, src/kafka/read-committed.ts), on bytes built
 * by the independent writer in record-batch-fixture.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { committedBatches } from '../../src/kafka/read-committed';
import {
  MAX_INFLATED_BATCH_BYTES,
  MalformedRecordBatchError,
  type RecordBatch,
  UnsupportedRecordBatchError,
  iterateRecordBatches,
} from '../../src/kafka/record-batch';
import { ATTR_TRANSACTIONAL, T0, batch, legacyMessage, markerBatch, readAllBatches } from './record-batch-fixture';

const LOG_APPEND_TIME = 0x08;
const BATCH_LENGTH_AT = 8;
const RECORD_COUNT_AT = 57;

function batchesOf(data: Buffer): RecordBatch[] {
  const { batches, error } = readAllBatches(data);
  if (error) throw error;
  return batches;
}

const text = (b: Buffer | null) => (b === null ? null : b.toString());

describe('iterateRecordBatches yields every record of a Fetch answer', () => {
  it('reads offsets, timestamps, keys, values, tombstones and skips headers of an uncompressed batch', () => {
    const data = batch({
      baseOffset: 40,
      timestampsMs: [T0, T0 + 5, T0 + 9],
      records: [
        { key: Buffer.from('k0'), value: Buffer.from('v0') },
        { key: Buffer.from('k1'), value: null, headers: [['h', Buffer.from('x')], ['n', null]] },
        { key: null, value: Buffer.from('') },
      ],
      producerId: 77,
      producerEpoch: 3,
    });
    const [b, ...rest] = batchesOf(data);
    assert.equal(rest.length, 0);
    assert.ok(b);
    assert.deepEqual(
      { baseOffset: b.baseOffset, lastOffset: b.lastOffset, producerId: b.producerId, producerEpoch: b.producerEpoch, isTransactional: b.isTransactional, isControl: b.isControl },
      { baseOffset: 40, lastOffset: 42, producerId: 77, producerEpoch: 3, isTransactional: false, isControl: false },
    );
    assert.deepEqual(
      b.records.map((r) => ({ offset: r.offset, timestampMs: r.timestampMs, key: text(r.key), value: text(r.value), control: r.control })),
      [
        { offset: 40, timestampMs: T0, key: 'k0', value: 'v0', control: undefined },
        { offset: 41, timestampMs: T0 + 5, key: 'k1', value: null, control: undefined },
        { offset: 42, timestampMs: T0 + 9, key: null, value: '', control: undefined },
      ],
    );
  });

  it('inflates gzip batches, and gives every record of a LogAppendTime batch its maxTimestamp', () => {
    const data = Buffer.concat([
      batch({ baseOffset: 0, timestampsMs: [T0, T0 + 7], values: ['a', 'b'], gzip: true }),
      batch({ baseOffset: 2, timestampsMs: [T0 + 1, T0 + 30, T0 + 2], values: ['c', 'd', 'e'], attributes: LOG_APPEND_TIME }),
    ]);
    const records = batchesOf(data).flatMap((b) => b.records.map((r) => [r.offset, r.timestampMs, text(r.value)]));
    assert.deepEqual(records, [
      [0, T0, 'a'],
      [1, T0 + 7, 'b'],
      [2, T0 + 30, 'c'],
      [3, T0 + 30, 'd'],
      [4, T0 + 30, 'e'],
    ]);
  });

  it('keeps the offsets compaction left, and a batch emptied by compaction still ends at its last offset', () => {
    const data = Buffer.concat([
      batch({ baseOffset: 10, timestampsMs: [T0, T0 + 1], offsetDeltas: [1, 4], lastOffsetDelta: 6 }),
      batch({ baseOffset: 17, timestampsMs: [], lastOffsetDelta: 2 }),
    ]);
    const [a, empty] = batchesOf(data);
    assert.deepEqual(a?.records.map((r) => r.offset), [11, 14]);
    assert.equal(a?.lastOffset, 16);
    assert.deepEqual([empty?.baseOffset, empty?.lastOffset, empty?.records.length], [17, 19, 0]);
  });

  it('decodes transaction markers in control batches, with the producer that wrote them', () => {
    const data = Buffer.concat([
      batch({ baseOffset: 0, timestampsMs: [T0], attributes: ATTR_TRANSACTIONAL, producerId: 9, producerEpoch: 0 }),
      markerBatch(1, 9, 'COMMIT'),
      markerBatch(2, 9, 'ABORT'),
    ]);
    const [data0, commit, abort] = batchesOf(data);
    assert.deepEqual([data0?.isTransactional, data0?.isControl, data0?.records[0]?.control], [true, false, undefined]);
    assert.deepEqual([commit?.isControl, commit?.isTransactional, commit?.producerId], [true, true, 9]);
    assert.deepEqual(commit?.records[0]?.control, { version: 0, typeCode: 1, type: 'COMMIT' });
    assert.deepEqual(abort?.records[0]?.control, { version: 0, typeCode: 0, type: 'ABORT' });
  });

  it('reads uncompressed legacy messages (magic 0 and 1) as batches of one record without a producer', () => {
    const [v1, v0] = batchesOf(Buffer.concat([legacyMessage(5, 1, T0 + 3, 'old'), legacyMessage(6, 0, T0, 'older')]));
    assert.deepEqual(
      [v1, v0].map((b) => [b?.baseOffset, b?.lastOffset, b?.producerId, b?.isTransactional, b?.records[0]?.timestampMs, text(b?.records[0]?.key ?? null), text(b?.records[0]?.value ?? null)]),
      [
        [5, 5, -1, false, T0 + 3, null, 'old'],
        [6, 6, -1, false, -1, null, 'older'],
      ],
    );
  });

  it('ends at a batch cut short by the fetch size, having yielded the complete ones before it', () => {
    const first = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 1] });
    const second = batch({ baseOffset: 2, timestampsMs: [T0 + 2, T0 + 3] });
    for (const cut of [1, 11, 12, 16, 17, 60, 61, second.length - 1]) {
      const { batches, error } = readAllBatches(Buffer.concat([first, second.subarray(0, cut)]));
      assert.equal(error, null, `cut at ${cut}`);
      assert.deepEqual(batches.map((b) => b.baseOffset), [0], `cut at ${cut}`);
    }
    assert.deepEqual(batchesOf(Buffer.alloc(0)), []);
  });
});

describe('iterateRecordBatches refuses what it cannot read, and says why', () => {
  const before = batch({ baseOffset: 0, timestampsMs: [T0] });

  for (const [codec, name] of [[2, 'snappy'], [3, 'lz4'], [4, 'zstd']] as const) {
    it(`refuses a ${name} batch, naming the codec and the settings that choose it`, () => {
      const { batches, error } = readAllBatches(Buffer.concat([before, batch({ baseOffset: 1, timestampsMs: [T0, T0 + 1], codec })]));
      assert.deepEqual(batches.map((b) => b.baseOffset), [0]);
      assert.ok(error instanceof UnsupportedRecordBatchError, String(error));
      assert.equal(error.code, 'KAFKA_RECORDS_UNSUPPORTED');
      assert.deepEqual([error.baseOffset, error.lastOffset], [1, 2]);
      assert.match(error.message, new RegExp(`offsets 1\\.\\.2: it is compressed with ${name}`));
      assert.match(error.message, /offsets\.topic\.compression\.codec to 0 \(none\) or 1 \(gzip\)/);
      assert.match(error.message, /compression\.type/);
    });
  }

  it('refuses a gzip batch that inflates past the cap, rather than inflating it', () => {
    const bomb = batch({ baseOffset: 3, timestampsMs: [T0, T0 + 1], values: ['a', 'b'.repeat(MAX_INFLATED_BATCH_BYTES)], gzip: true });
    const { error } = readAllBatches(bomb);
    assert.ok(error instanceof UnsupportedRecordBatchError, String(error));
    assert.match(error.message, new RegExp(`inflates past ${MAX_INFLATED_BATCH_BYTES} bytes`));
    assert.match(error.message, /offsets\.topic\.compression\.codec to 0 \(none\)/);
  });

  it('refuses a compressed legacy message set', () => {
    const wrapper = legacyMessage(8, 1, T0, 'x');
    wrapper.writeInt8(1, 17); // attributes: gzip
    const { error } = readAllBatches(wrapper);
    assert.ok(error instanceof UnsupportedRecordBatchError, String(error));
    assert.match(error.message, /before Kafka 0\.11 \(magic 1\) compressed with gzip/);
  });

  it('rejects framing no broker writes, as the probe does', () => {
    const bad = Buffer.from(before);
    bad.writeInt32BE(-12, BATCH_LENGTH_AT);
    const { error } = readAllBatches(bad);
    assert.ok(error instanceof MalformedRecordBatchError, String(error));
    assert.match(error.message, /^malformed record batch at byte 0 of the Fetch data: batchLength -12 .*the records from there on cannot be read/);
  });

  it('rejects offsets beyond 2^53, where JavaScript numbers stop being exact (the fuzzer found records that compared equal)', () => {
    const far = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 1] });
    far.writeBigInt64BE(2n ** 62n, 0);
    assert.match(String(readAllBatches(far).error), /offsets from 4611686018427388000 lie beyond 2\^53/);
  });

  it('rejects records that do not fill their batch exactly, or claim more than it holds', () => {
    const two = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 1] });
    const fewer = Buffer.from(two);
    fewer.writeInt32BE(1, RECORD_COUNT_AT); // one record declared, two there
    assert.match(String(readAllBatches(fewer).error), /bytes follow the batch's 1 records/);
    const more = Buffer.from(two);
    more.writeInt32BE(3, RECORD_COUNT_AT);
    more.writeInt32BE(3, 23); // lastOffsetDelta, so the count fits the offsets
    assert.ok(readAllBatches(more).error instanceof MalformedRecordBatchError);
    const corruptGzip = batch({ baseOffset: 0, timestampsMs: [T0], gzip: true });
    corruptGzip.writeUInt32BE(0xdeadbeef, corruptGzip.length - 8); // the gzip trailer's CRC
    assert.match(String(readAllBatches(corruptGzip).error), /gzip data that does not inflate/);
  });

  it('rejects a control batch whose record is not a marker', () => {
    const bogus = batch({ baseOffset: 0, timestampsMs: [T0], attributes: 0x20, records: [{ key: Buffer.from([0]), value: null }] });
    assert.match(String(readAllBatches(bogus).error), /control record at offset 0 has a key of 1 bytes/);
  });

  it('rejects a record whose fields outrun its declared length', () => {
    // a gzip batch whose one record declares 6 bytes but carries a 3-byte value after them
    const record = Buffer.from([12, 0, 0, 0, 1, 6, 0x61, 0x62, 0x63, 0]); // length 6 (zigzag 12), …, value length 3
    const data = batch({ baseOffset: 0, timestampsMs: [T0] });
    const framed = Buffer.concat([data.subarray(0, 61), gzipSync(record)]);
    framed.writeInt32BE(framed.length - 12, BATCH_LENGTH_AT);
    framed.writeInt16BE(1, 21); // gzip
    assert.match(String(readAllBatches(framed).error), /record 0 declares 6 bytes but its fields take 9/);
  });
});

// ---- read_committed ----------------------------------------------------------------------

const txn = (baseOffset: number, producerId: number, n = 1) =>
  batch({ baseOffset, timestampsMs: Array.from({ length: n }, (_, i) => T0 + i), attributes: ATTR_TRANSACTIONAL, producerId, producerEpoch: 0 });
const plain = (baseOffset: number, producerId = -1) => batch({ baseOffset, timestampsMs: [T0], producerId });

function kept(parts: Buffer[], aborted: { producerId: number; firstOffset: number }[]): number[] {
  return [...committedBatches(iterateRecordBatches(Buffer.concat(parts)), aborted)].map((b) => b.baseOffset);
}

describe('committedBatches keeps what a read_committed consumer would see (Kafka consumer algorithm)', () => {
  it('drops an aborted transaction up to its ABORT marker, keeps a committed one interleaved with it, and drops the markers', () => {
    const parts = [txn(0, 7, 2), txn(2, 8), plain(3), txn(4, 7), markerBatch(5, 7, 'ABORT'), txn(6, 8), markerBatch(7, 8, 'COMMIT'), plain(8)];
    assert.deepEqual(kept(parts, [{ producerId: 7, firstOffset: 0 }]), [2, 3, 6, 8]);
  });

  it("keeps a producer's next transaction once the ABORT marker ended the aborted one", () => {
    const parts = [txn(0, 7), markerBatch(1, 7, 'ABORT'), txn(2, 7), markerBatch(3, 7, 'COMMIT')];
    assert.deepEqual(kept(parts, [{ producerId: 7, firstOffset: 0 }]), [2]);
  });

  it('drops the rest of an aborted transaction that began before the fetched range', () => {
    // the Fetch started at offset 20; the transaction's first record was at 12
    const parts = [txn(20, 7), plain(21), markerBatch(22, 7, 'ABORT')];
    assert.deepEqual(kept(parts, [{ producerId: 7, firstOffset: 12 }]), [21]);
  });

  it('applies aborted transactions in offset order whatever order the list has', () => {
    const parts = [txn(0, 5), markerBatch(1, 5, 'ABORT'), txn(2, 6), markerBatch(3, 6, 'ABORT'), txn(4, 5), markerBatch(5, 5, 'ABORT')];
    const aborted = [
      { producerId: 5, firstOffset: 4 },
      { producerId: 6, firstOffset: 2 },
      { producerId: 5, firstOffset: 0 },
    ];
    assert.deepEqual(kept(parts, aborted), []);
  });

  it('does not start an aborted range before its first offset, and never drops non-transactional batches', () => {
    // producer 7 committed at 0..1, then aborted from 2; an idempotent non-transactional batch of it stays
    const parts = [txn(0, 7), markerBatch(1, 7, 'COMMIT'), txn(2, 7), plain(3, 7), markerBatch(4, 7, 'ABORT')];
    assert.deepEqual(kept(parts, [{ producerId: 7, firstOffset: 2 }]), [0, 3]);
  });

  it('keeps everything but markers when nothing was aborted', () => {
    assert.deepEqual(kept([txn(0, 1), markerBatch(1, 1, 'COMMIT'), plain(2)], []), [0, 2]);
  });
});
