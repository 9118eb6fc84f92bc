import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { probeFetchedRecords } from '../../src/kafka/kafkajs-admin';
import { probeRecordSet } from '../../src/kafka/record-batch';
import { T0, batch, legacyMessage } from './record-batch-fixture';

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

// ---- bytes that are not a record batch (issue 8, defect 4) ---------------------------------

const readerModule = path.resolve(__dirname, '../../src/kafka/record-batch.js');

type WorkerAnswer = { probe: unknown } | { threw: { name: string; code?: string; message: string } };

/**
 * probeRecordSet in a worker thread, so that a reader stuck in a loop fails the test (the
 * worker is terminated after `deadlineMs`) instead of blocking the test process forever.
 */
function probeInWorker(records: Buffer, offset: number, deadlineMs = 20_000): Promise<WorkerAnswer> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { probeRecordSet } = require(${JSON.stringify(readerModule)});
    try {
      parentPort.postMessage({ probe: probeRecordSet(Buffer.from(workerData.records), workerData.offset) });
    } catch (err) {
      parentPort.postMessage({ threw: { name: err.name, code: err.code, message: err.message } });
    }`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: { records, offset } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`probeRecordSet did not return within ${deadlineMs} ms: it is stuck on these bytes`));
    }, deadlineMs);
    worker.once('message', (answer: WorkerAnswer) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(answer);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function assertRejected(records: Buffer, offset: number, detail: RegExp): Promise<void> {
  const answer = await probeInWorker(records, offset);
  assert.ok('threw' in answer, `expected the bytes to be rejected, got ${JSON.stringify(answer)}`);
  assert.equal(answer.threw.name, 'MalformedRecordBatchError');
  assert.equal(answer.threw.code, 'KAFKA_RECORDS_MALFORMED');
  assert.match(answer.threw.message, detail);
}

/** `data` with the int32 at `at` replaced. */
function withInt32(data: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(data);
  copy.writeInt32BE(value, at);
  return copy;
}

const BATCH_LENGTH_AT = 8;
const MAGIC_AT = 16;
const LAST_OFFSET_DELTA_AT = 23;
const RECORD_COUNT_AT = 57;

describe('probeRecordSet rejects bytes that cannot be a record batch, and always returns', () => {
  const below = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 1] });
  const wanted = batch({ baseOffset: 2, timestampsMs: [T0 + 5, T0 + 6] });

  it('rejects a negative batchLength instead of looping on it (a new leader would re-read the same bytes)', async () => {
    await assertRejected(Buffer.concat([withInt32(below, BATCH_LENGTH_AT, -12), wanted]), 3, /batchLength -12/);
    await assertRejected(Buffer.concat([withInt32(below, BATCH_LENGTH_AT, -40), wanted]), 3, /batchLength -40/);
  });

  it('rejects a negative size on a legacy message instead of looping on it', async () => {
    const data = withInt32(Buffer.concat([legacyMessage(0, 1, T0), legacyMessage(1, 1, T0 + 5)]), BATCH_LENGTH_AT, -12);
    await assertRejected(data, 1, /size -12/);
  });

  it('rejects a batchLength shorter than the batch header', async () => {
    await assertRejected(Buffer.concat([withInt32(below, BATCH_LENGTH_AT, 0), wanted]), 3, /batchLength 0/);
    await assertRejected(Buffer.concat([withInt32(below, BATCH_LENGTH_AT, 48), wanted]), 3, /batchLength 48/);
  });

  it('rejects a magic byte no Kafka version writes', async () => {
    const data = Buffer.from(wanted);
    data.writeInt8(7, MAGIC_AT);
    await assertRejected(data, 3, /magic 7/);
    data.writeInt8(-1, MAGIC_AT);
    await assertRejected(data, 3, /magic -1/);
  });

  it('rejects record counts the batch cannot hold', async () => {
    await assertRejected(withInt32(wanted, RECORD_COUNT_AT, -1), 3, /recordCount -1/);
    // more records than offsets in the batch
    await assertRejected(withInt32(wanted, RECORD_COUNT_AT, 3), 3, /recordCount 3/);
    // more records than the bytes of an uncompressed batch can hold
    const many = withInt32(withInt32(wanted, RECORD_COUNT_AT, 2_000_000_000), LAST_OFFSET_DELTA_AT, 2_000_000_000);
    await assertRejected(many, 3, /recordCount 2000000000/);
    await assertRejected(withInt32(wanted, LAST_OFFSET_DELTA_AT, -5), 3, /lastOffsetDelta -5/);
  });

  it('does not step back over a record whose length is negative (2e9 such records used to take minutes)', async () => {
    // A gzip batch claiming 2e9 records whose first record has length -1: the cursor used to
    // step back to that length after reading the record's fields, and read it again,
    // recordCount times.
    const records = gzipSync(Buffer.from([1, 0, 2, 2]));
    const data = Buffer.concat([batch({ baseOffset: 0, timestampsMs: [T0, T0 + 9], gzip: true }).subarray(0, 61), records]);
    data.writeInt32BE(49 + records.length, BATCH_LENGTH_AT);
    data.writeInt32BE(2_000_000_000, LAST_OFFSET_DELTA_AT);
    data.writeInt32BE(2_000_000_000, RECORD_COUNT_AT);
    const answer = await probeInWorker(data, 5);
    assert.ok('probe' in answer, `expected an answer, got ${JSON.stringify(answer)}`);
    // the header is plausible, the records are not: the timestamp is interpolated, marked inexact
    assert.deepEqual(answer.probe, { kind: 'record', offset: 5, timestampMs: T0, exact: false });
  });

  it('inflates a gzip batch only up to a cap and interpolates beyond it (a 1 MB batch used to inflate to 1 GB)', () => {
    // 32 MiB of one byte compresses to ~32 KB: four times the cap
    const bomb = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 100, T0 + 200], values: ['a', 'b'.repeat(32 * 1024 * 1024), 'c'], gzip: true });
    assert.ok(bomb.length < 100 * 1024);
    assert.deepEqual(probeRecordSet(bomb, 2), { kind: 'record', offset: 2, timestampMs: T0 + 200, exact: false });
    assert.deepEqual(probeRecordSet(bomb, 1), { kind: 'record', offset: 1, timestampMs: T0 + 100, exact: false });
    assert.deepEqual(probeRecordSet(bomb, 0), { kind: 'record', offset: 0, timestampMs: T0, exact: true });
  });
});

describe('probeRecordSet does not answer none for data it has not seen', () => {
  it('answers unknown when a batch cut short held only records below the offset (compaction)', () => {
    // offsets 0 and 1 remain of a batch that ran to offset 3; its last 5 bytes were not sent
    const data = withInt32(withInt32(batch({ baseOffset: 0, timestampsMs: [T0, T0 + 1] }), LAST_OFFSET_DELTA_AT, 3), BATCH_LENGTH_AT, 0);
    data.writeInt32BE(data.length - 12 + 5, BATCH_LENGTH_AT);
    assert.deepEqual(probeRecordSet(data, 3), { kind: 'unknown', reason: 'record data cut short by the fetch size limit' });
  });
});

describe('the Fetch reader makes a malformed batch one unknown timestamp, not a failed Fetch', () => {
  const below = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 1] });
  const wanted = batch({ baseOffset: 2, timestampsMs: [T0 + 5, T0 + 6] });

  it('answers unknown with the reason for that partition, and does not fetch the same bytes again', () => {
    const data = Buffer.concat([withInt32(below, BATCH_LENGTH_AT, -12), wanted]);
    for (const retryable of [false, true]) {
      const probe = probeFetchedRecords(data, 3, retryable);
      assert.ok(probe !== 'fetch-again' && probe.kind === 'unknown', `got ${JSON.stringify(probe)}`);
      assert.match(probe.reason, /^malformed record batch at byte 0 of the Fetch data for offset 3: batchLength -12 .*kafka-dump-log/);
    }
  });

  it('still fetches a batch cut short again whole, and answers sound data', () => {
    assert.equal(probeFetchedRecords(wanted.subarray(0, 70), 3, true), 'fetch-again');
    assert.deepEqual(probeFetchedRecords(Buffer.concat([below, wanted]), 3, true), { kind: 'record', offset: 3, timestampMs: T0 + 6, exact: true });
  });
});
