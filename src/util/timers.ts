/**
 * The timers a driver arms (the election driver, the reconcile loop, the outbox, the
 * canary): injectable, so unit tests run them on a manual clock (test/fakes/manual-time.ts).
 */
export interface Timers {
  set(fn: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (fn, delayMs) => setTimeout(fn, delayMs),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
