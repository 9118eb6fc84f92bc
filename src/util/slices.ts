/**
 * Long synchronous passes cut into slices, with the event loop let through between them.
 *
 * The leader's cycle walks every group and partition (100,000 rows at 10,000 groups), on the
 * event loop the commit stream folds its Fetch answers on: a stretch of 100 ms there is a
 * commit seen 100 ms late (docs/design.md §3.9). A pass calls `due()` as often as it likes
 * (a clock read) and awaits `next()` when it says so; I/O waiting meanwhile runs first.
 *
 * Time is the caller's clock: a manual clock in a test never moves during a pass, so a
 * test's pass runs in one piece, exactly as before.
 */
import type { Clock } from './clock';

/** How long a pass runs before it lets the event loop through. */
export const DEFAULT_SLICE_MS = 10;

export class TimeSlices {
  private startedMs: number;

  constructor(
    private readonly clock: Pick<Clock, 'monotonicMs'>,
    private readonly sliceMs = DEFAULT_SLICE_MS,
  ) {
    this.startedMs = clock.monotonicMs();
  }

  /** Starts a new slice: after an await that let the event loop through anyway. */
  restart(): void {
    this.startedMs = this.clock.monotonicMs();
  }

  /** Whether the current slice has run its length. */
  due(): boolean {
    return this.clock.monotonicMs() - this.startedMs >= this.sliceMs;
  }

  /** Lets the event loop through (timers, I/O, then this), and starts a new slice. */
  async next(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.startedMs = this.clock.monotonicMs();
  }

  /** next() when due: for the boundaries between a pass's stages. */
  async breathe(): Promise<void> {
    if (this.due()) await this.next();
  }
}
