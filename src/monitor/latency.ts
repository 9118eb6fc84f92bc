/**
 * Delivery latency of one consumer group on one partition (docs/design.md §3). Pure.
 *
 *   committed c, end e:  latency = 0 when c >= e, else now − timestamp(record at c)
 *   exact threshold test: o = first offset with timestamp >= now − threshold;
 *                         breach ⇔ c < e ∧ c < o
 *
 * The breach flag comes from the exact test alone, never from the reported seconds, so an
 * estimate's error can never flip an alert decision.
 */
import type { RecordProbe } from '../kafka/types';

export interface PartitionLagInput {
  readonly partition: number;
  readonly committed: number;
  /** null when the end offset could not be read */
  readonly end: number | null;
  /** o of the exact test; +Infinity when every record is older than now − threshold */
  readonly thresholdOffset: number | null;
  /** the record at c; undefined when c >= e (nothing to probe) */
  readonly probe?: RecordProbe;
  readonly nowMs: number;
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

export function partitionLag(input: PartitionLagInput): PartitionLag {
  const { partition, committed, end, thresholdOffset, probe, nowMs } = input;
  if (end === null) {
    return { partition, committed, end, lagMessages: null, lagSeconds: null, breach: null, error: 'end offset unavailable' };
  }
  if (committed >= end) {
    return { partition, committed, end, lagMessages: 0, lagSeconds: 0, breach: false };
  }
  const lagMessages = end - committed;
  const breach = thresholdOffset === null ? null : committed < thresholdOffset;
  if (!probe || probe.kind === 'unknown') {
    const error = probe ? `record timestamp unavailable: ${probe.reason}` : 'record timestamp not probed';
    return { partition, committed, end, lagMessages, lagSeconds: null, breach, error };
  }
  if (probe.kind === 'none') {
    // only control records (transaction markers) lie between c and e: nothing to deliver
    return { partition, committed, end, lagMessages, lagSeconds: 0, breach };
  }
  const lagSeconds = roundSeconds(Math.max(0, nowMs - probe.timestampMs) / 1000);
  return probe.exact ? { partition, committed, end, lagMessages, lagSeconds, breach } : { partition, committed, end, lagMessages, lagSeconds, breach, exact: false };
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
  let lagSeconds: number | null = 0;
  let lagMessages: number | null = 0;
  let anyBreach = false;
  let anyUnknownBreach = false;
  let anyUnknownSeconds = false;
  let maxKnownSeconds = 0;
  for (const p of parts) {
    if (p.lagSeconds === null) anyUnknownSeconds = true;
    else maxKnownSeconds = Math.max(maxKnownSeconds, p.lagSeconds);
    lagMessages = lagMessages === null || p.lagMessages === null ? null : lagMessages + p.lagMessages;
    if (p.breach === true) anyBreach = true;
    else if (p.breach === null) anyUnknownBreach = true;
  }
  lagSeconds = anyUnknownSeconds && maxKnownSeconds === 0 ? null : maxKnownSeconds;
  const breach = anyBreach ? true : anyUnknownBreach ? null : false;
  return { lagSeconds, lagMessages, breach };
}
