/**
 * Fuzzes the record-batch reader (issue 8, defect 4): broker bytes must never hang the
 * leader or crash it. Over random bytes and over valid record sets (plain, gzip,
 * LogAppendTime, control, zstd, legacy v1 messages, several batches of several records)
 * cut short or mutated, `probeRecordSet` must return within its case or throw
 * MalformedRecordBatchError, and nothing else; valid data, whole or cut short, must never
 * be called malformed and must answer what an independent reading of the batches says.
 * See test/unit/fuzz.ts for seeds and replaying a case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_INFLATED_BATCH_BYTES, MalformedRecordBatchError, probeRecordSet } from '../../src/kafka/record-batch';
import type { RecordProbe } from '../../src/kafka/types';
import type { Rng } from '../sim/prng';
import { fuzzSeed, runFuzz, serveFuzzCases } from './fuzz';
import { T0, batch, legacyMessage } from './record-batch-fixture';

const LOG_APPEND_TIME = 0x08;
const CONTROL = 0x20;
const ZSTD = 4;

/** What a reader of the format knows about one batch it wrote. */
interface Written {
  readonly start: number;
  readonly end: number;
  readonly offsets: readonly number[];
  readonly timestampsMs: readonly number[];
  readonly maxTimestampMs: number;
  readonly logAppendTime: boolean;
  readonly control: boolean;
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
    const bytes =
      kind === 'legacy'
        ? legacyMessage(offset, 1, timestampsMs[0] as number, values[0])
        : batch({
            baseOffset: offset,
            timestampsMs,
            values,
            gzip: kind === 'gzip',
            codec: kind === 'zstd' ? ZSTD : 0,
            attributes: kind === 'logAppendTime' ? LOG_APPEND_TIME : kind === 'control' ? CONTROL : 0,
          });
    batches.push({
      start: at,
      end: at + bytes.length,
      offsets: timestampsMs.map((_, i) => offset + i),
      timestampsMs,
      maxTimestampMs: Math.max(...timestampsMs),
      logAppendTime: kind === 'logAppendTime',
      control: kind === 'control',
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
  return `bomb:${probe.exact ? 'exact' : 'interpolated'}`;
}

function oneCase(rng: Rng, index: number): string {
  // a few expensive inflation cases per run, at fixed indices
  if (index % BOMB_EVERY === BOMB_EVERY - 1) return bomb(index);
  const mode = rng.chance(0.5) ? 'interpolate' : 'unknown';
  const kind = rng.weighted([['valid', 2], ['cut', 3], ['mutated', 8], ['random', 2]] as const);
  if (kind === 'random') {
    const data = Buffer.from(Array.from({ length: rng.int(0, 200) }, () => rng.int(0, 256)));
    return checkAny(data, rng.int(-5, 1000), mode, 'random');
  }
  const set = validRecordSet(rng);
  const first = set.batches[0]!.offsets[0] as number;
  const last = set.batches[set.batches.length - 1]!.offsets.at(-1) as number;
  const target = rng.int(first - 2, last + 3);
  if (kind === 'valid') return checkValid(set, target, set.data.length, mode);
  if (kind === 'cut') return checkValid(set, target, rng.int(1, set.data.length), mode);
  return checkAny(mutate(rng, set), target, mode, 'mutated');
}

if (!serveFuzzCases(oneCase)) {
  describe('fuzz: the record-batch reader over random and mutated broker bytes', () => {
    it('always returns (or rejects the bytes with MalformedRecordBatchError), and reads valid data right', async (t) => {
      const seed = fuzzSeed();
      t.diagnostic(`fuzz seed ${seed} (VIGIL_FUZZ_SEED=${seed} replays this run)`);
      const run = await runFuzz(__filename, { seed, cases: 20_000 });
      t.diagnostic(`outcomes: ${JSON.stringify(run.outcomes)}`);
      if (run.cases < 20_000) return; // one case replayed
      // the run reached every kind of answer, so it could have found a fault in each
      for (const outcome of ['valid:exact', 'cut:exact', 'cut:interpolated', 'cut:unknown', 'mutated:malformed', 'mutated:record', 'mutated:unknown', 'random:malformed', 'bomb:exact', 'bomb:interpolated']) {
        assert.ok((run.outcomes[outcome] ?? 0) > 0, `no case ended ${outcome}: ${JSON.stringify(run.outcomes)}`);
      }
    });
  });
}
