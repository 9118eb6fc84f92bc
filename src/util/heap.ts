/**
 * How far the replica's heap may grow between full collections (docs/design.md §3.9).
 *
 * V8 sizes a process's old generation for throughput: after each full collection it lets
 * the heap grow to up to four times what is live before collecting again. A replica is a
 * long-running process whose live heap is small and steady (~55 MB while leading 10,000
 * groups × 10 partitions) but whose cycle leaves a few megabytes a second to the old
 * generation; V8's default then holds 200+ MB of garbage between collections, and the
 * process's RSS follows it. `vigil run` bounds the growth at HEAP_GROWING_PERCENT over
 * what is live: more frequent, smaller collections for a process whose memory follows what
 * it holds.
 *
 * An operator's own choice wins: `VIGIL_HEAP_GROWING_PERCENT` (0: V8's default), or
 * `--heap-growing-percent` given to node itself.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

export type HeapPolicy = { readonly growingPercent: number; readonly source: 'vigil' | 'VIGIL_HEAP_GROWING_PERCENT' } | { readonly growingPercent: null; readonly source: 'node flags' | 'VIGIL_HEAP_GROWING_PERCENT' };

/**
 * Sets V8's heap growing factor for this process (a flag V8 reads at each full collection)
 * unless node was started with one. Throws on a VIGIL_HEAP_GROWING_PERCENT that is not a
 * whole number from 0 to 1000.
 */
export function boundHeapGrowth(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): HeapPolicy {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return { growingPercent: null, source: 'node flags' };
  const raw = env.VIGIL_HEAP_GROWING_PERCENT;
  let percent = HEAP_GROWING_PERCENT;
  let source: 'vigil' | 'VIGIL_HEAP_GROWING_PERCENT' = 'vigil';
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 1000) {
      throw new Error(`VIGIL_HEAP_GROWING_PERCENT is "${raw}": give a whole number from 0 (V8's default growth) to 1000, e.g. 50 for a heap that grows 50 % over what is live`);
    }
    if (n === 0) return { growingPercent: null, source: 'VIGIL_HEAP_GROWING_PERCENT' };
    percent = n;
    source = 'VIGIL_HEAP_GROWING_PERCENT';
  }
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return { growingPercent: percent, source };
}
