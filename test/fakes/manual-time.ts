/**
 * A manual monotonic clock and the timers that fire on it (the Clock and Timers ports), for
 * unit tests of anything driven by timers: time moves only when a test moves it.
 */
import type { Timers } from '../../src/util/timers';
import type { Clock } from '../../src/util/clock';

/** Wall time is this plus the monotonic time. */
const WALL_BASE_MS = 1_800_000_000_000;

export class ManualTime implements Clock, Timers {
  private seq = 0;
  private readonly pending = new Map<number, { dueMs: number; fn: () => void }>();

  constructor(public nowMs = 0) {}

  monotonicMs(): number {
    return this.nowMs;
  }

  wallMs(): number {
    return WALL_BASE_MS + this.nowMs;
  }

  set(fn: () => void, delayMs: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { dueMs: this.nowMs + delayMs, fn });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Fires the earliest timer due by `endMs`, moving the clock to it; false when none is. */
  fireNext(endMs: number): boolean {
    let next: [number, { dueMs: number; fn: () => void }] | undefined;
    for (const e of this.pending) if (e[1].dueMs <= endMs && (next === undefined || e[1].dueMs < next[1].dueMs)) next = e;
    if (next === undefined) return false;
    this.pending.delete(next[0]);
    this.nowMs = Math.max(this.nowMs, next[1].dueMs);
    next[1].fn();
    return true;
  }

  /** Moves time forward timer by timer, calling `each` after every one. */
  advance(ms: number, each: (nowMs: number) => void = () => undefined): void {
    const end = this.nowMs + ms;
    while (this.fireNext(end)) each(this.nowMs);
    this.nowMs = Math.max(this.nowMs, end);
  }

  /** Moves time forward timer by timer, letting promises settle after each. */
  async advanceSettling(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    await settle();
    while (this.fireNext(end)) await settle();
    this.nowMs = Math.max(this.nowMs, end);
  }
}

/** Lets pending promise chains and immediates run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}
