/**
 * Fuzzes the record-batch readers (issue 8, defect 4; issue 9 item 1): broker bytes must
 * never hang the leader or crash it. Over random bytes and over valid record sets (plain,
 * gzip, LogAppendTime, transaction markers, zstd, legacy v1 messages, several batches of
 * several records) cut short or mutated, `probeRecordSet` must return within its case or
 * throw MalformedRecordBatchError, and `iterateRecordBatches` must end within its case or
 * throw MalformedRecordBatchError or UnsupportedRecordBatchError, and nothing else. Valid
 * data, whole or cut short, must never be called malformed, and both must answer what an
 * independent reading of the batches says: the probe its record, the iteration every
 * complete batch up to the first it cannot decompress. Each case runs both readers; its
 * outcome is `<probe outcome>|<iteration outcome>`.
 * See test/unit/fuzz.ts for seeds and replaying a case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_INFLATED_BATCH_BYTES, MalformedRecordBatchError, type RecordBatch, UnsupportedRecordBatchError, probeRecordSet } from '../../src/kafka/record-batch';
import type { RecordProbe } from '../../src/kafka/types';
import type { Rng } from '../sim/prng';
import { fuzzSeed, runFuzz, serveFuzzCases } from './fuzz';
import { T0, batch, legacyMessage, markerBatch, readAllBatches } from './record-batch-fixture';

const LOG_APPEND_TIME = 0x08;
const ZSTD = 4;

/** What a reader of the format knows about one batch it wrote. */
interface Written {
  readonly start: number;
  readonly end: number;
  readonly offsets: readonly number[];
  readonly timestampsMs: readonly number[];
  readonly values: readonly string[];
  readonly maxTimestampMs: number;
  readonly logAppendTime: boolean;
  /** a transaction marker of this type */
  readonly control: 'ABORT' | 'COMMIT' | null;
  readonly zstd: boolean;
}

interface RecordSet {
  readonly data: Buffer;
  readonly batches: readonly Written[];
}

function validRecordSet(rng: Rng): RecordSet {
  const parts: Buffer[] = [];
  const batches: Written[] = [];
  let offset = rng.int(0, 1000);
  let at = 0;
  let timeMs = T0 + rng.int(0, 1_000_000);
  for (let b = rng.int(1, 5); b > 0; b--) {
    const kind = rng.weighted([['plain', 4], ['gzip', 4], ['logAppendTime', 2], ['control', 1], ['zstd', 1], ['legacy', 1]] as const);
    const n = kind === 'control' || kind === 'legacy' ? 1 : rng.int(1, 7);
    const timestampsMs = Array.from({ length: n }, () => (timeMs += rng.int(0, 50)));
    const values = timestampsMs.map(() => 'v'.repeat(rng.int(0, 40)));
    const marker = kind === 'control' ? rng.pick(['ABORT', 'COMMIT'] as const) : null;
    const bytes =
      kind === 'legacy'
        ? legacyMessage(offset, 1, timestampsMs[0] as number, values[0])
        : marker !== null
          ? markerBatch(offset, rng.int(0, 1000), marker, timestampsMs[0])
          : batch({
              baseOffset: offset,
              timestampsMs,
              values,
              gzip: kind === 'gzip',
              codec: kind === 'zstd' ? ZSTD : 0,
              attributes: kind === 'logAppendTime' ? LOG_APPEND_TIME : 0,
            });
    batches.push({
      start: at,
      end: at + bytes.length,
      offsets: timestampsMs.map((_, i) => offset + i),
      timestampsMs,
      values,
      maxTimestampMs: Math.max(...timestampsMs),
      logAppendTime: kind === 'logAppendTime',
      control: marker,
      zstd: kind === 'zstd',
    });
    parts.push(bytes);
    at += bytes.length;
    offset += n + (rng.chance(0.3) ? rng.int(1, 5) : 0); // gaps, as compaction leaves
  }
  return { data: Buffer.concat(parts), batches };
}

/** The first data record at or after `target` in `batches`, read independently of the reader. */
function expected(batches: readonly Written[], target: number): { batch: Written; offset: number; timestampMs: number } | 'none' {
  for (const b of batches) {
    if (b.control) continue;
    const i = b.offsets.findIndex((o) => o >= target);
    if (i < 0) continue;
    return { batch: b, offset: b.offsets[i] as number, timestampMs: b.logAppendTime ? b.maxTimestampMs : (b.timestampsMs[i] as number) };
  }
  return 'none';
}

/** Valid data, whole or cut at `cut` bytes: never malformed, and the answer agrees with the batches. */
function checkValid(set: RecordSet, target: number, cut: number, mode: 'interpolate' | 'unknown'): string {
  const probe = probeRecordSet(set.data.subarray(0, cut), target, mode);
  const whole = set.batches.filter((b) => b.end <= cut);
  const want = expected(set.batches, target);
  const wantWhole = expected(whole, target);
  const label = cut === set.data.length ? 'valid' : 'cut';
  switch (probe.kind) {
    case 'unknown':
      assert.ok(cut < set.data.length, `whole valid data answered unknown: ${probe.reason}`);
      return `${label}:unknown`;
    case 'none':
      assert.equal(wantWhole, 'none', 'answered none although a complete batch holds a record at or after the offset');
      assert.ok(set.batches.every((b) => b.end <= cut || b.start >= cut), 'answered none with a batch cut short');
      if (cut === set.data.length) assert.equal(want, 'none');
      return `${label}:none`;
    case 'record': {
      assert.notEqual(want, 'none', `answered a record (${JSON.stringify(probe)}) where there is none`);
      if (want === 'none') return 'unreachable';
      assert.equal(probe.offset, want.offset);
      if (probe.exact) {
        assert.equal(probe.timestampMs, want.timestampMs);
      } else {
        // interpolated inside the batch that holds the record
        assert.ok(want.batch.zstd || (want.batch.end > cut && mode === 'interpolate'), 'interpolated a batch it could read');
        assert.ok(probe.timestampMs >= (want.batch.timestampsMs[0] as number) && probe.timestampMs <= want.batch.maxTimestampMs);
      }
      return `${label}:${probe.exact ? 'exact' : 'interpolated'}`;
    }
  }
}

/** Whatever the bytes: an answer of the right shape, or the typed error. */
function checkAny(data: Buffer, target: number, mode: 'interpolate' | 'unknown', label: string): string {
  let probe: RecordProbe;
  try {
    probe = probeRecordSet(data, target, mode);
  } catch (err) {
    if (err instanceof MalformedRecordBatchError) {
      assert.equal(err.code, 'KAFKA_RECORDS_MALFORMED');
      return `${label}:malformed`;
    }
    throw err;
  }
  if (probe.kind === 'record') {
    assert.ok(probe.offset >= target, `answered offset ${probe.offset} below the target ${target}`);
    assert.ok(Number.isFinite(probe.timestampMs) && typeof probe.exact === 'boolean', JSON.stringify(probe));
  } else if (probe.kind === 'unknown') {
    assert.equal(typeof probe.reason, 'string');
  } else {
    assert.equal(probe.kind, 'none');
  }
  return `${label}:${probe.kind}`;
}

/**
 * Valid data cut at `cut` bytes: the iteration yields every batch that ended before the cut,
 * exactly as written, up to the first zstd batch, which it refuses; never malformed.
 */
function checkIterateValid(set: RecordSet, cut: number): string {
  const { batches, error } = readAllBatches(set.data.subarray(0, cut));
  const whole = set.batches.filter((b) => b.end <= cut);
  const refused = whole.findIndex((b) => b.zstd);
  const want = refused < 0 ? whole : whole.slice(0, refused);
  if (refused >= 0) assert.ok(error instanceof UnsupportedRecordBatchError, `expected the zstd batch refused, got ${String(error)}`);
  else assert.equal(error, null);
  assert.equal(batches.length, want.length, 'batches yielded');
  want.forEach((w, i) => {
    const b = batches[i] as RecordBatch;
    assert.deepEqual([b.baseOffset, b.lastOffset, b.isControl], [w.offsets[0], w.offsets.at(-1), w.control !== null], `batch ${i}`);
    if (w.control !== null) {
      assert.equal(b.records[0]?.control?.type, w.control);
      return;
    }
    assert.deepEqual(
      b.records.map((r) => [r.offset, r.timestampMs, r.value?.toString()]),
      w.offsets.map((o, j) => [o, w.logAppendTime ? w.maxTimestampMs : w.timestampsMs[j], w.values[j]]),
      `records of batch ${i}`,
    );
  });
  const label = cut === set.data.length ? 'iter-valid' : 'iter-cut';
  return `${label}:${refused >= 0 ? 'unsupported' : 'batches'}`;
}

/** Whatever the bytes: batches of the right shape, or one of the two typed errors. */
function checkIterateAny(data: Buffer, label: string): string {
  const { batches, error } = readAllBatches(data);
  for (const b of batches) {
    let previous = b.baseOffset - 1;
    for (const r of b.records) {
      assert.ok(r.offset > previous && r.offset <= b.lastOffset, `record offset ${r.offset} outside ${b.baseOffset}..${b.lastOffset} or not increasing`);
      previous = r.offset;
    }
  }
  if (error === null) return `${label}:batches`;
  if (error instanceof MalformedRecordBatchError) return `${label}:malformed`;
  if (error instanceof UnsupportedRecordBatchError) return `${label}:unsupported`;
  throw error;
}

const INTERESTING_INT32 = [-0x80000000, -61, -12, -1, 0, 1, 6, 7, 13, 14, 21, 22, 48, 49, 50, 61, 0x7fff, 2 ** 31 - 1];
const HEADER_FIELDS = [0, 4, 8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61, 62];

function mutate(rng: Rng, set: RecordSet): Buffer {
  let data = Buffer.from(set.data);
  for (let m = rng.int(1, 5); m > 0 && data.length > 0; m--) {
    const op = rng.weighted([['byte', 4], ['field', 4], ['delete', 1], ['insert', 1], ['duplicate', 1]] as const);
    if (op === 'byte') {
      data[rng.int(0, data.length)] = rng.int(0, 256);
    } else if (op === 'field') {
      // a header field (or a record's first bytes) of one of the batches
      const at = rng.pick(set.batches).start + rng.pick(HEADER_FIELDS);
      if (at + 4 <= data.length) data.writeInt32BE(rng.chance(0.8) ? rng.pick(INTERESTING_INT32) : rng.int(-0x80000000, 0x80000000), at);
      else if (at < data.length) data[at] = rng.int(0, 256);
    } else {
      const from = rng.int(0, data.length);
      const to = Math.min(data.length, from + rng.int(1, 40));
      const piece = op === 'insert' ? Buffer.from(Array.from({ length: rng.int(1, 40) }, () => rng.int(0, 256))) : data.subarray(from, to);
      data = op === 'delete' ? Buffer.concat([data.subarray(0, from), data.subarray(to)]) : Buffer.concat([data.subarray(0, from), piece, data.subarray(from)]);
    }
  }
  return data;
}

const bombs = new Map<number, Buffer>();
const BOMB_EVERY = 2000;

/** A gzip batch whose second record alone inflates to `bytes`: past the cap it is interpolated. */
function bomb(index: number): string {
  const sizes = [MAX_INFLATED_BATCH_BYTES / 2, MAX_INFLATED_BATCH_BYTES + 1024, 2 * MAX_INFLATED_BATCH_BYTES];
  const bytes = sizes[Math.floor(index / BOMB_EVERY) % sizes.length] as number;
  let data = bombs.get(bytes);
  if (!data) {
    data = batch({ baseOffset: 0, timestampsMs: [T0, T0 + 10, T0 + 20], values: ['a', 'b'.repeat(bytes), 'c'], gzip: true });
    bombs.set(bytes, data);
  }
  const probe = probeRecordSet(data, 2);
  assert.equal(probe.kind, 'record');
  if (probe.kind !== 'record') return 'unreachable';
  assert.equal(probe.exact, bytes < MAX_INFLATED_BATCH_BYTES, `inflated ${bytes} bytes against a cap of ${MAX_INFLATED_BATCH_BYTES}`);
  const { batches, error } = readAllBatches(data);
  if (bytes < MAX_INFLATED_BATCH_BYTES) assert.deepEqual([error, batches[0]?.records[1]?.value?.length], [null, bytes]);
  else assert.ok(error instanceof UnsupportedRecordBatchError, `expected the batch refused past the cap, got ${String(error)}`);
  return `bomb:${probe.exact ? 'exact' : 'interpolated'}|iter-bomb:${error === null ? 'read' : 'unsupported'}`;
}

function oneCase(rng: Rng, index: number): string {
  // a few expensive inflation cases per run, at fixed indices
  if (index % BOMB_EVERY === BOMB_EVERY - 1) return bomb(index);
  const mode = rng.chance(0.5) ? 'interpolate' : 'unknown';
  const kind = rng.weighted([['valid', 2], ['cut', 3], ['mutated', 8], ['random', 2]] as const);
  if (kind === 'random') {
    const data = Buffer.from(Array.from({ length: rng.int(0, 200) }, () => rng.int(0, 256)));
    return `${checkAny(data, rng.int(-5, 1000), mode, 'random')}|${checkIterateAny(data, 'iter-random')}`;
  }
  const set = validRecordSet(rng);
  const first = set.batches[0]!.offsets[0] as number;
  const last = set.batches[set.batches.length - 1]!.offsets.at(-1) as number;
  const target = rng.int(first - 2, last + 3);
  if (kind === 'mutated') {
    const data = mutate(rng, set);
    return `${checkAny(data, target, mode, 'mutated')}|${checkIterateAny(data, 'iter-mutated')}`;
  }
  const cut = kind === 'valid' ? set.data.length : rng.int(1, set.data.length);
  return `${checkValid(set, target, cut, mode)}|${checkIterateValid(set, cut)}`;
}

if (!serveFuzzCases(oneCase)) {
  describe('fuzz: the record-batch readers over random and mutated broker bytes', () => {
    it('always return (or reject the bytes with their typed errors), and read valid data right', async (t) => {
      const seed = fuzzSeed();
      t.diagnostic(`fuzz seed ${seed} (VIGIL_FUZZ_SEED=${seed} replays this run)`);
      const run = await runFuzz(__filename, { seed, cases: 20_000 });
      t.diagnostic(`outcomes: ${JSON.stringify(run.outcomes)}`);
      if (run.cases < 20_000) return; // one case replayed
      // the run reached every kind of answer of each reader, so it could have found a fault in each
      const reached = new Map<string, number>();
      for (const [outcome, n] of Object.entries(run.outcomes)) for (const part of outcome.split('|')) reached.set(part, (reached.get(part) ?? 0) + n);
      for (const outcome of [
        'valid:exact', 'cut:exact', 'cut:interpolated', 'cut:unknown', 'mutated:malformed', 'mutated:record', 'mutated:unknown', 'random:malformed', 'bomb:exact', 'bomb:interpolated',
        'iter-valid:batches', 'iter-valid:unsupported', 'iter-cut:batches', 'iter-cut:unsupported', 'iter-mutated:batches', 'iter-mutated:malformed', 'iter-mutated:unsupported',
        'iter-random:malformed', 'iter-bomb:read', 'iter-bomb:unsupported',
      ]) {
        assert.ok((reached.get(outcome) ?? 0) > 0, `no case ended ${outcome}: ${JSON.stringify(run.outcomes)}`);
      }
    });
  });
}
