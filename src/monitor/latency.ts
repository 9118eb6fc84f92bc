/**
 * Delivery latency of one consumer group on one partition (docs/design.md §3). Pure.
 *
 *   committed c, end e:  latency = 0 when c >= e, else now − timestamp(record at c)
 *   exact threshold test: o = first offset with timestamp >= now − threshold;
 *                         breach ⇔ c < e ∧ c < o
 *
 * The breach flag comes from the exact test alone, never from the reported seconds, so an
 * estimate's error can never flip an alert decision. The pipeline that runs the test and
 * finds the seconds for many rows at once is delivery-latency.ts.
 */
import type { RowLatency } from './delivery-latency';

/**
 * The exact test for a partition behind its end (c < e): is the record at c older than
 * now − the tested value, o being the first offset whose timestamp is ≥ now − that value
 * (+Infinity when every record is older)? null when o is unknown (null, or NaN in the
 * pipeline's tables).
 */
export function exactTest(committed: number, o: number | null): boolean | null {
  return o === null || Number.isNaN(o) ? null : committed < o;
}

export interface PartitionLagInput {
  readonly partition: number;
  readonly committed: number;
  /** null when the end offset could not be read */
  readonly end: number | null;
  /** what the pipeline measured, for a partition behind its end (c < e) */
  readonly measured?: RowLatency;
}

export interface PartitionLag {
  readonly partition: number;
  readonly committed: number;
  readonly end: number | null;
  readonly lagMessages: number | null;
  /** seconds; null when it could not be measured (see `error`) */
  readonly lagSeconds: number | null;
  /** null when the exact test could not be run */
  readonly breach: boolean | null;
  /** false when lagSeconds was interpolated inside a record batch */
  readonly exact?: boolean;
  readonly error?: string;
}

/** One partition's row of a lag report: caught up, unknown, or behind by what the pipeline measured. */
export function partitionLag(input: PartitionLagInput): PartitionLag {
  const { partition, committed, end, measured } = input;
  if (end === null) {
    return { partition, committed, end, lagMessages: null, lagSeconds: null, breach: null, error: 'end offset unavailable' };
  }
  if (committed >= end) {
    return { partition, committed, end, lagMessages: 0, lagSeconds: 0, breach: false };
  }
  const lagMessages = end - committed;
  const breach = measured?.breach ?? null;
  const lagSeconds = measured?.lagSeconds ?? null;
  const probe = measured?.probe;
  if (lagSeconds === null) {
    const error = probe?.kind === 'unknown' ? `record timestamp unavailable: ${probe.reason}` : 'record timestamp not probed';
    return { partition, committed, end, lagMessages, lagSeconds, breach, error };
  }
  return probe?.kind === 'record' && !probe.exact ? { partition, committed, end, lagMessages, lagSeconds, breach, exact: false } : { partition, committed, end, lagMessages, lagSeconds, breach };
}

/** Milliseconds resolution is all a record timestamp has. */
export function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

export interface LagSummary {
  readonly lagSeconds: number | null;
  readonly lagMessages: number | null;
  readonly breach: boolean | null;
}

/**
 * Group/topic values: max of lagSeconds, sum of lagMessages, breach if any partition is in
 * breach. An unknown part makes the aggregate unknown only when nothing known outweighs it:
 * a known breach stays a breach; "no breach" needs every part known.
 */
export function summarize(parts: readonly LagSummary[]): LagSummary {
  const acc = new SummaryAcc();
  for (const p of parts) acc.add(p);
  return acc.result();
}

/** summarize() one part at a time, for a pass that must not build the parts first (the metrics). */
export class SummaryAcc {
  private lagMessages: number | null = 0;
  private anyBreach = false;
  private anyUnknownBreach = false;
  private anyUnknownSeconds = false;
  private maxKnownSeconds = 0;

  add(p: LagSummary): void {
    if (p.lagSeconds === null) this.anyUnknownSeconds = true;
    else this.maxKnownSeconds = Math.max(this.maxKnownSeconds, p.lagSeconds);
    this.lagMessages = this.lagMessages === null || p.lagMessages === null ? null : this.lagMessages + p.lagMessages;
    if (p.breach === true) this.anyBreach = true;
    else if (p.breach === null) this.anyUnknownBreach = true;
  }

  /** every part's seconds known */
  get allSecondsKnown(): boolean {
    return !this.anyUnknownSeconds;
  }

  result(): LagSummary {
    const lagSeconds = this.anyUnknownSeconds && this.maxKnownSeconds === 0 ? null : this.maxKnownSeconds;
    const breach = this.anyBreach ? true : this.anyUnknownBreach ? null : false;
    return { lagSeconds, lagMessages: this.lagMessages, breach };
  }
}
