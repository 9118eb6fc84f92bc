/**
 * Polls a condition until it holds or a deadline passes: how the local stack (src/local)
 * waits for a broker, Redis or a replica to serve and how `vigil demo` waits for a page;
 * the same contract as test/harness/wait.ts, the one way tests wait. Never a bare sleep as
 * synchronisation: a sleep long enough on a loaded 2-core machine is too long everywhere
 * else, and a short one is flaky.
 */

export interface WaitForOptions {
  /** Upper bound, not an expectation: generous enough for a loaded machine. */
  timeoutMs: number;
  /** Pause between polls (default 100 ms). */
  intervalMs?: number;
  /** What is awaited, in words; it names the failure ("broker 2 to rejoin the ISR"). */
  what: string;
}

export class WaitTimeoutError extends Error {
  constructor(message: string, readonly lastValue: unknown, readonly lastError: unknown) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

const NO_VALUE = Symbol('no value yet');

/**
 * Calls `condition` until it returns (or resolves to) a truthy value, and returns that
 * value. A throwing condition counts as "not yet". A single call that hangs does not
 * stretch the deadline: the wait fails on time and names the call as still pending.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  opts: WaitForOptions,
): Promise<NonNullable<T>> {
  const intervalMs = opts.intervalMs ?? 100;
  const startMs = performance.now();
  const deadlineMs = startMs + opts.timeoutMs;
  let lastValue: unknown = NO_VALUE;
  let lastError: unknown = undefined;
  let attempts = 0;

  for (;;) {
    attempts += 1;
    const remainingMs = deadlineMs - performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof NO_VALUE>((resolve) => {
      timer = setTimeout(() => resolve(NO_VALUE), Math.max(0, remainingMs));
    });
    try {
      const value = await Promise.race([Promise.resolve().then(condition), deadline]);
      if (value === NO_VALUE) {
        lastError = new Error('the last check was still running at the deadline');
      } else {
        lastValue = value;
        lastError = undefined;
        if (value) return value as NonNullable<T>;
      }
    } catch (err) {
      lastError = err;
    } finally {
      clearTimeout(timer);
    }

    const nowMs = performance.now();
    if (nowMs >= deadlineMs) {
      const elapsedMs = Math.round(nowMs - startMs);
      const last =
        lastError !== undefined
          ? `last error: ${describe(lastError)}`
          : lastValue === NO_VALUE
            ? 'no check completed'
            : `last value: ${describe(lastValue)}`;
      throw new WaitTimeoutError(
        `timed out after ${elapsedMs} ms (${attempts} checks) waiting for ${opts.what}; ${last}`,
        lastValue === NO_VALUE ? undefined : lastValue,
        lastError,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, deadlineMs - nowMs)));
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json.length > 500 ? `${json.slice(0, 500)}…` : json;
  } catch {
    // circular or otherwise not serialisable: fall through
  }
  return String(value);
}
