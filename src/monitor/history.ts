/**
 * Per-partition history of end offsets over wall time: when did the log reach each
 * offset? The reported delivery latency of a group (docs/design.md §3 "reported seconds") is the
 * age of the record at its committed offset c, and the record at c was appended after the
 * last observation that still saw the end at or below c, and before the first that saw it
 * beyond c.
 *
 * An observation is a request, not an instant: the broker read its end offset somewhere
 * between the request being sent and the answer arriving. So each sample keeps the first
 * answer's arrival that showed its end (records below it were appended before then) and
 * the last request's sending that still showed it (records from it on were appended after
 * then). An end that stays put for a while (an idle producer) narrows the window instead
 * of widening it.
 *
 * Memory is bounded: at most `maxSamples` per partition, and only when the end offset moved.
 * When full, a quarter of them go: those whose removal leaves the narrowest window
 * relative to the age of the records in it. Spacing then grows with age (geometric), so
 * the relative error of an estimate stays within the 5 % target as lag grows (ages below
 * 10 s count as 10 s: there the 0.5 s floor of the target applies). With the default 96
 * samples (about 2.5 KB a partition), a record up to ten minutes old is placed within half
 * a window of max(0.5 s, 5 %) even in the worst case; older ones may need a probe.
 * Followers keep this warm so a new leader reports seconds from its first cycle.
 */
export interface LatencyEstimate {
  /** estimated append time of the record at the offset (wall ms) */
  readonly appendedAtMs: number;
  /** the append happened after this (wall ms) … */
  readonly appendedAfterMs: number;
  /** … and by this (wall ms) */
  readonly appendedBeforeMs: number;
  /** width of that window: the estimate's worst-case error */
  readonly uncertaintyMs: number;
}

/** values per sample in Series.samples */
const STRIDE = 3;

export interface Series {
  /**
   * flat [end, firstSeenMs, lastSeenMs, ...], oldest first, ends strictly increasing:
   * firstSeenMs = arrival of the first answer showing this end, lastSeenMs = sending of the
   * last request that still showed it
   */
  samples: number[];
  lastSeenCycle: number;
}

/** One topic's series, indexed by partition. */
export type TopicHistory = readonly (Series | undefined)[];

export class EndOffsetHistory {
  private readonly topics = new Map<string, (Series | undefined)[]>();
  private cycle = 0;

  constructor(private readonly maxSamples = 96) {}

  /**
   * Records one observation of end offsets: the request was sent at `sentMs` and answered
   * by `answeredMs` (the same instant when unknown). Partitions not seen for a while are
   * dropped.
   */
  record(ends: Iterable<{ topic: string; partition: number; offset: number | null }>, sentMs: number, answeredMs = sentMs): void {
    this.cycle++;
    let lastTopic: string | undefined;
    let list: (Series | undefined)[] | undefined;
    for (const e of ends) {
      if (e.offset === null || !Number.isFinite(e.offset)) continue;
      if (e.topic !== lastTopic) {
        lastTopic = e.topic;
        list = this.topics.get(e.topic);
        if (!list) this.topics.set(e.topic, (list = []));
      }
      const topicList = list as (Series | undefined)[];
      let s = topicList[e.partition];
      if (!s) topicList[e.partition] = s = { samples: [], lastSeenCycle: this.cycle };
      s.lastSeenCycle = this.cycle;
      const n = s.samples.length;
      const lastEnd = n > 0 ? (s.samples[n - STRIDE] as number) : -1;
      if (e.offset < lastEnd) {
        // log truncated or topic recreated: the old samples describe another log
        s.samples = [e.offset, answeredMs, sentMs];
        continue;
      }
      if (e.offset === lastEnd) {
        // still there when this request was sent: the next record came after it
        s.samples[n - 1] = sentMs;
        continue;
      }
      s.samples.push(e.offset, answeredMs, sentMs);
      if (s.samples.length > this.maxSamples * STRIDE) compact(s.samples, Math.ceil((this.maxSamples * 3) / 4), answeredMs);
    }
    // forget partitions that have not been observed for many cycles (deleted topics)
    if (this.cycle % 64 === 0) {
      for (const [topic, series] of this.topics) {
        if (series.every((s) => s === undefined || this.cycle - s.lastSeenCycle > 64)) this.topics.delete(topic);
      }
    }
  }

  /** A topic's series, for callers estimating many rows of one topic (one lookup). */
  topic(topic: string): TopicHistory | undefined {
    return this.topics.get(topic);
  }

  /**
   * When the record at `offset` was appended, or null when the history does not reach back
   * that far (the offset was already below the end at the first sample).
   */
  estimate(topic: string, partition: number, offset: number): LatencyEstimate | null {
    const t = this.topics.get(topic);
    return t ? estimateIn(t, partition, offset) : null;
  }

  /** The last end offset seen on a partition (for when its leader cannot be asked). */
  lastEnd(topic: string, partition: number): number | null {
    const samples = this.topics.get(topic)?.[partition]?.samples;
    return samples && samples.length > 0 ? (samples[samples.length - STRIDE] as number) : null;
  }

  /** Topics with history. */
  get size(): number {
    return this.topics.size;
  }
}

/** `EndOffsetHistory.estimate` on a topic's series already looked up. */
export function estimateIn(topic: TopicHistory, partition: number, offset: number): LatencyEstimate | null {
  const samples = topic[partition]?.samples;
  if (!samples || samples.length === 0) return null;
  // first sample with end > offset (binary search over the samples)
  const count = samples.length / STRIDE;
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((samples[mid * STRIDE] as number) > offset) hi = mid;
    else lo = mid + 1;
  }
  if (lo === 0 || lo === count) return null; // before history, or not appended yet
  const e0 = samples[(lo - 1) * STRIDE] as number;
  const after = samples[(lo - 1) * STRIDE + 2] as number; // e0 still the end when this was sent
  const e1 = samples[lo * STRIDE] as number;
  const before = samples[lo * STRIDE + 1] as number; // e1 reached when this answer arrived
  // the (offset − e0 + 1)-th of (e1 − e0) records appended in (after, before]: spread evenly
  const fraction = (offset - e0 + 0.5) / (e1 - e0);
  return { appendedAtMs: after + fraction * (before - after), appendedAfterMs: after, appendedBeforeMs: before, uncertaintyMs: before - after };
}

/** Ages below this weigh as this when choosing samples to drop (0.5 s is 5 % of 10 s). */
const MIN_WEIGHED_AGE_MS = 10_000;

/**
 * Drops samples until `keep` remain, never the oldest or the newest: one at a time, the one
 * whose removal leaves the narrowest window for the records around it, relative to those
 * records' age. (Runs once per maxSamples/4 new samples of a partition.)
 */
function compact(samples: number[], keep: number, nowMs: number): void {
  let count = samples.length / STRIDE;
  while (count > keep && count > 2) {
    let best = -1;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let i = 1; i < count - 1; i++) {
      const from = samples[(i - 1) * STRIDE + 2] as number; // the neighbour's last sighting
      const to = samples[(i + 1) * STRIDE + 1] as number; // the next one's first sighting
      const score = (to - from) / Math.max(MIN_WEIGHED_AGE_MS, nowMs - to);
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    }
    samples.splice(best * STRIDE, STRIDE);
    count--;
  }
}
