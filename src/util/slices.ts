/**
 * Long synchronous passes cut into slices, with the event loop let through between them.
 *
 * The leader's cycle walks every group and partition (100,000 rows at 10,000 groups), on the
 * event loop the commit stream folds its Fetch answers on: a stretch of 100 ms there is a
 * commit seen 100 ms late (docs/design.md §3.9). A pass asks `due()` (a clock read) or, per
 * item of a long loop, `tick()` (a clock read in 32), and awaits `next()` when told; I/O
 * waiting meanwhile runs first.
 *
 * Time is the caller's clock: a manual clock in a test never moves during a pass, so a
 * test's pass runs in one piece, exactly as before.
 */
import type { Clock } from './clock';

/**
 * How long a pass runs before it lets the event loop through: a commit the stream reads
 * during a cycle waits about this long to be folded, and its next Fetch as long to be sent
 * (at 10 ms the leader's p99 was 67 ms at 10,000 groups, at 4 ms 39 ms; benchmarks.md).
 */
export const DEFAULT_SLICE_MS = 4;

/** tick() reads the clock once in this many calls. */
const TICKS_PER_READ = 32;

export class TimeSlices {
  private startedMs: number;
  private ticks = 0;

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

  /**
   * due(), for a loop over many small items: the clock is read once in 32 calls (a clock
   * read per item of 100,000 costs more than the items).
   */
  tick(): boolean {
    if (++this.ticks < TICKS_PER_READ) return false;
    this.ticks = 0;
    return this.due();
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
