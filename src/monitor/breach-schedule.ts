/**
 * Breaches scheduled (issue 9, docs/design.md §3.7): the moment of a breach is known in
 * advance. If group G's committed offset on a partition is c and the record at c has
 * timestamp t_c, G breaches at exactly t_c + threshold unless a commit past c arrives first.
 *
 * After each cycle the leader arms, for every lagging row whose t_c it has read (the
 * delivery-latency pipeline probes rows that may breach before the next cycles), a timer at
 * t_c + threshold (+1 ms: the latency must exceed the threshold). When it fires, the breach
 * is confirmed from the commit stream — the group's `__consumer_offsets` partition fresh past
 * that instant (one Fetch that does not wait, when it is not already) with no commit past c —
 * and handed to the reconcile loop, which pages at once instead of at its next poll. A commit
 * past c cancels it. Where the stream cannot vouch for the group, nothing is confirmed here:
 * the next cycle's exact test decides, as in poll mode.
 */
import type { GroupOffsets } from '../kafka/types';
import type { Clock } from '../util/clock';
import { realTimers, type Timers } from '../util/timers';
import { roundSeconds } from './latency';
import type { KafkaSnapshot } from './snapshot';

/** What the schedule asks of the commit stream (src/monitor/commit-stream.ts). */
export interface BreachConfirmer {
  committed(groupId: string): GroupOffsets | null;
  /** true once the group's offsets partition is fresh at `atMs` or later */
  freshen(groupId: string, atMs: number): Promise<boolean>;
}

export interface ScheduledBreach {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly committed: number;
  /** t_c + threshold (wall ms): the row is in breach from just after it */
  readonly breachAtMs: number;
}

/** What became of an armed breach when its instant came. */
export type BreachOutcome =
  /** the stream showed no commit past c after the instant: paged now */
  | 'confirmed'
  /** a commit past c arrived first: no breach */
  | 'committed'
  /** the stream could not vouch for the group: left to the next cycle's exact test */
  | 'unconfirmed';

export interface BreachScheduleOptions {
  readonly confirmer: BreachConfirmer;
  /** confirmed breaches, in one call per firing */
  readonly onBreach: (confirmed: readonly ScheduledBreach[]) => void;
  readonly onOutcome?: (outcome: BreachOutcome, entry: ScheduledBreach) => void;
  readonly clock: Clock;
  readonly timers?: Timers;
}

export function breachKey(group: string, topic: string, partition: number): string {
  return `${group}\u0000${topic}\u0000${partition}`;
}

/**
 * The rows of a snapshot worth arming: behind, not in breach, with an exact breach instant
 * after `nowMs` and within `aheadMs` of it.
 */
export function breachesToArm(snapshot: KafkaSnapshot, nowMs: number, aheadMs: number): ScheduledBreach[] {
  if (!snapshot.ok) return [];
  const out: ScheduledBreach[] = [];
  for (const g of snapshot.groups) {
    for (const p of g.partitions) {
      if (p.breach !== false || p.breachAtExact !== true || p.breachAtMs === undefined) continue;
      if (p.breachAtMs <= nowMs || p.breachAtMs > nowMs + aheadMs) continue;
      out.push({ group: g.group, topic: p.topic, partition: p.partition, committed: p.committed, breachAtMs: p.breachAtMs });
    }
  }
  return out;
}

/**
 * `snapshot` with the confirmed rows in breach as of `nowMs` — the snapshot the reconcile
 * loop decides on between its cycles. Everything else is the last cycle's observation.
 */
export function withConfirmedBreaches(snapshot: KafkaSnapshot, confirmed: readonly ScheduledBreach[], nowMs: number): KafkaSnapshot {
  if (!snapshot.ok || confirmed.length === 0) return snapshot;
  const byKey = new Map(confirmed.map((c) => [breachKey(c.group, c.topic, c.partition), c]));
  const groups = new Set(confirmed.map((c) => c.group));
  return {
    ...snapshot,
    takenAtMs: Math.max(snapshot.takenAtMs, nowMs),
    groups: snapshot.groups.map((g) => {
      if (!groups.has(g.group)) return g;
      return {
        ...g,
        partitions: g.partitions.map((p) => {
          const c = byKey.get(breachKey(g.group, p.topic, p.partition));
          const thresholdMs = g.rules.get(p.topic)?.thresholdMs;
          if (!c || c.committed !== p.committed || thresholdMs === undefined) return p;
          // the record at c was written at breachAt − threshold
          const lagSeconds = roundSeconds((nowMs - (c.breachAtMs - thresholdMs)) / 1000);
          return { ...p, breach: true, aboveResolveBelow: true, lagSeconds };
        }),
      };
    }),
  };
}

export class BreachSchedule {
  private readonly armed = new Map<string, ScheduledBreach>();
  private timer: unknown;
  private timerAtMs = Number.POSITIVE_INFINITY;
  private readonly timers: Timers;
  private stopped = false;

  constructor(private readonly opts: BreachScheduleOptions) {
    this.timers = opts.timers ?? realTimers;
  }

  /** Replaces what is armed (each cycle arms what its snapshot says). */
  arm(entries: readonly ScheduledBreach[]): void {
    this.armed.clear();
    for (const e of entries) this.armed.set(breachKey(e.group, e.topic, e.partition), e);
    this.reschedule();
  }

  /** The armed breach of a row, if any (the cycle's cross-check against its exact test). */
  armedFor(group: string, topic: string, partition: number): ScheduledBreach | undefined {
    return this.armed.get(breachKey(group, topic, partition));
  }

  get size(): number {
    return this.armed.size;
  }

  clear(): void {
    this.armed.clear();
    this.reschedule();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private reschedule(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.armed.values()) next = Math.min(next, e.breachAtMs);
    if (next === this.timerAtMs) return;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.timerAtMs = next;
    if (!Number.isFinite(next) || this.stopped) return;
    // +1 ms: in breach means older than the threshold, not as old
    this.timer = this.timers.set(() => void this.fire(), Math.max(0, next + 1 - this.opts.clock.wallMs()));
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
    const nowMs = this.opts.clock.wallMs();
    const due = [...this.armed.values()].filter((e) => e.breachAtMs < nowMs);
    for (const e of due) this.armed.delete(breachKey(e.group, e.topic, e.partition));
    this.reschedule();
    if (due.length === 0) return;
    const outcomes = await Promise.all(due.map((e) => this.confirm(e)));
    const confirmed = due.filter((_, i) => outcomes[i] === 'confirmed');
    due.forEach((e, i) => this.opts.onOutcome?.(outcomes[i] as BreachOutcome, e));
    if (confirmed.length > 0 && !this.stopped) this.opts.onBreach(confirmed);
  }

  private async confirm(e: ScheduledBreach): Promise<BreachOutcome> {
    const { confirmer } = this.opts;
    // where the group is now: past c (it committed), at c, or unknown (not vouched for,
    // its offset deleted or reset backwards: the next cycle decides)
    const position = (): 'past' | 'at' | 'unknown' => {
      const offset = confirmer.committed(e.group)?.get(e.topic)?.get(e.partition);
      return offset === undefined ? 'unknown' : offset > e.committed ? 'past' : offset === e.committed ? 'at' : 'unknown';
    };
    if (position() === 'past') return 'committed';
    if (!(await confirmer.freshen(e.group, e.breachAtMs + 1))) return 'unconfirmed';
    const now = position();
    return now === 'at' ? 'confirmed' : now === 'past' ? 'committed' : 'unconfirmed';
  }
}
