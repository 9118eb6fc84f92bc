/**
 * Bounded, reproducible fuzzing for `npm test`: a seeded PRNG (test/sim/prng.ts) and a
 * time budget. The seed is random per run, so runs explore, and printed, so a failure
 * can be replayed: `VIGIL_FUZZ_SEED=<seed> node --test dist/test/unit/<file>.test.js`.
 */
import { Rng } from '../sim/prng';

export interface FuzzRun {
  readonly seed: number;
  readonly rng: Rng;
}

/** The run's seed (VIGIL_FUZZ_SEED, or a fresh one), announced on stderr with `name`. */
export function fuzzRun(name: string): FuzzRun {
  const fromEnv = Number(process.env['VIGIL_FUZZ_SEED']);
  const seed = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv >>> 0 : (Math.floor(Math.random() * 0xffffffff) >>> 0) || 1;
  process.stderr.write(`[fuzz] ${name}: seed ${seed} (replay with VIGIL_FUZZ_SEED=${seed})\n`);
  return { seed, rng: Rng.seeded(seed) };
}

/**
 * Runs `step` until `budgetMs` of wall time has passed (at least `minIterations` times);
 * returns the number of iterations. The budget bounds the test's time, the seed fixes
 * what each iteration does.
 */
export async function fuzzFor(budgetMs: number, minIterations: number, step: (i: number) => void | Promise<void>): Promise<number> {
  const endMs = performance.now() + budgetMs;
  let i = 0;
  while (i < minIterations || performance.now() < endMs) {
    await step(i);
    i++;
  }
  return i;
}

/** Random bytes from the run's PRNG. */
export function randomBuffer(rng: Rng, maxLength: number): Buffer {
  const out = Buffer.alloc(rng.int(0, maxLength + 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(0, 256);
  return out;
}

/** One random mutation of `input`: flip, insert, delete, duplicate or truncate bytes. */
export function mutate(rng: Rng, input: Buffer): Buffer {
  const b = Buffer.from(input);
  switch (rng.int(0, 6)) {
    case 0: {
      if (b.length === 0) return randomBuffer(rng, 8);
      const at = rng.int(0, b.length);
      b[at] = (b[at] as number) ^ (1 << rng.int(0, 8));
      return b;
    }
    case 1: {
      const at = rng.int(0, b.length + 1);
      return Buffer.concat([b.subarray(0, at), randomBuffer(rng, 8), b.subarray(at)]);
    }
    case 2: {
      const at = rng.int(0, b.length + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.int(1, 16)))]);
    }
    case 3: {
      const at = rng.int(0, b.length + 1);
      const piece = b.subarray(at, Math.min(b.length, at + rng.int(1, 32)));
      return Buffer.concat([b.subarray(0, at), piece, piece, b.subarray(at + piece.length)]);
    }
    case 4:
      return b.subarray(0, rng.int(0, b.length + 1));
    default: {
      // A structural change: replace one JSON token-ish run with an interesting value.
      const text = b.toString('latin1');
      const values = ['null', 'true', '-1', '1e308', '"x"', '[]', '{}', '0', '9007199254740993', '"\\u0000"', '"__proto__"'];
      const m = [...text.matchAll(/-?\d+(\.\d+)?|"[^"]*"|true|false|null/g)];
      if (m.length === 0) return b;
      const hit = m[rng.int(0, m.length)] as RegExpMatchArray;
      const at = hit.index ?? 0;
      return Buffer.from(text.slice(0, at) + rng.pick(values) + text.slice(at + hit[0].length), 'latin1');
    }
  }
}
