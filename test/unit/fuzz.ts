/**
 * Bounded, seeded fuzzing for `npm test`.
 *
 * A fuzzer's cases run in a worker thread that counts them in shared memory. A case that
 * throws fails the test with its seed and index; a case stuck in a loop stops the count, and
 * the test terminates the worker and fails the same way instead of hanging the suite (a
 * synchronous loop in the test's own thread could not be interrupted). The worker's heap is
 * capped, so an allocation without bound fails too.
 *
 * Every case draws from its own PRNG stream (seed, index), so a failure replays alone:
 *   VIGIL_FUZZ_SEED=<seed> VIGIL_FUZZ_CASE=<index> node --test dist/test/unit/<fuzzer>.test.js
 * Without VIGIL_FUZZ_SEED each run picks a new seed and prints it.
 *
 * A fuzzer file is both the test and the worker:
 *   if (!serveFuzzCases(oneCase)) describe(..., () => it(..., () => runFuzz(__filename, {...})));
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../sim/prng';

export interface FuzzRun {
  readonly seed: number;
  /** how many cases ran, from `first` */
  readonly cases: number;
  readonly first: number;
  /** outcome name → count, as the cases reported them */
  readonly outcomes: Readonly<Record<string, number>>;
}

interface FuzzJob {
  readonly fuzz: true;
  readonly seed: number;
  readonly first: number;
  readonly cases: number;
  /** Int32Array[0]: the index of the case running now */
  readonly progress: SharedArrayBuffer;
}

type FuzzReply =
  | { readonly kind: 'done'; readonly outcomes: Record<string, number> }
  | { readonly kind: 'failed'; readonly index: number; readonly error: string };

/** The run's seed: VIGIL_FUZZ_SEED when set, else a new one. */
export function fuzzSeed(): number {
  const fixed = process.env['VIGIL_FUZZ_SEED'];
  if (fixed !== undefined && fixed !== '') return Number(fixed) >>> 0;
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/** The PRNG of case `index` of the run with `seed`, independent of every other case. */
export function caseRng(seed: number, index: number): Rng {
  return Rng.seeded((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

/**
 * Worker side. In a fuzz worker: runs the job's cases through `oneCase` (which returns the
 * name of its outcome, for the tally, and throws when a property fails), reports, and
 * returns true. Anywhere else returns false at once.
 */
export function serveFuzzCases(oneCase: (rng: Rng, index: number) => string): boolean {
  const job = workerData as FuzzJob | undefined;
  if (isMainThread || job?.fuzz !== true || parentPort === null) return false;
  const progress = new Int32Array(job.progress);
  const outcomes: Record<string, number> = {};
  for (let i = job.first; i < job.first + job.cases; i++) {
    Atomics.store(progress, 0, i);
    let outcome: string;
    try {
      outcome = oneCase(caseRng(job.seed, i), i);
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      parentPort.postMessage({ kind: 'failed', index: i, error } satisfies FuzzReply);
      return true;
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  parentPort.postMessage({ kind: 'done', outcomes } satisfies FuzzReply);
  return true;
}

export interface RunFuzzOptions {
  readonly seed: number;
  readonly cases: number;
  /** a case that has not finished after this long is stuck (generous: 2 cores are shared) */
  readonly stuckAfterMs?: number;
  readonly maxHeapMb?: number;
}

/**
 * Main side: runs the cases of the fuzzer in `file` (its compiled path, `__filename`) in a
 * worker. VIGIL_FUZZ_CASE narrows the run to one case. Rejects with the seed, the case and
 * how to replay it when a case fails, is stuck, or the worker dies.
 */
export function runFuzz(file: string, opts: RunFuzzOptions): Promise<FuzzRun> {
  const only = process.env['VIGIL_FUZZ_CASE'];
  const first = only !== undefined && only !== '' ? Number(only) : 0;
  const cases = only !== undefined && only !== '' ? 1 : opts.cases;
  const stuckAfterMs = opts.stuckAfterMs ?? 20_000;
  const progress = new SharedArrayBuffer(4);
  const current = new Int32Array(progress);
  Atomics.store(current, 0, first);
  const job: FuzzJob = { fuzz: true, seed: opts.seed, first, cases, progress };
  const replay = (index: number) =>
    `seed ${opts.seed}, case ${index}; replay it with VIGIL_FUZZ_SEED=${opts.seed} VIGIL_FUZZ_CASE=${index} node --test ${file}`;

  return new Promise((resolve, reject) => {
    const worker = new Worker(file, { workerData: job, resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb ?? 256 } });
    let settled = false;
    const finish = (err: Error | null, run?: FuzzRun) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate();
      if (err) reject(err);
      else resolve(run as FuzzRun);
    };
    // A watchdog, not a wait: the worker reports through messages; this only notices when
    // the case counter has stood still too long.
    let lastSeen = first;
    let lastMovedAt = Date.now();
    const watchdog = setInterval(() => {
      const now = Atomics.load(current, 0);
      if (now !== lastSeen) {
        lastSeen = now;
        lastMovedAt = Date.now();
      } else if (Date.now() - lastMovedAt > stuckAfterMs) {
        finish(new Error(`fuzz case did not finish within ${stuckAfterMs} ms (stuck in a loop?): ${replay(now)}`));
      }
    }, 250);
    worker.on('message', (reply: FuzzReply) => {
      if (reply.kind === 'done') finish(null, { seed: opts.seed, cases, first, outcomes: reply.outcomes });
      else finish(new Error(`fuzz case failed: ${replay(reply.index)}\n${reply.error}`));
    });
    worker.on('error', (err: Error) => finish(new Error(`fuzz worker died (${err.message}): ${replay(Atomics.load(current, 0))}`)));
    worker.on('exit', (code) => finish(new Error(`fuzz worker exited with code ${code} before reporting: ${replay(Atomics.load(current, 0))}`)));
  });
}
