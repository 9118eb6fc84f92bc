/**
 * Per-partition history of (end offset, wall time) samples: when did the log reach each
 * offset? The reported delivery latency of a group (DESIGN §3 "reported seconds") is the
 * age of the record at its committed offset c, and the record at c was appended between
 * the last sample whose end offset was <= c and the first whose end offset was > c.
 *
 * Memory is bounded: at most `maxSamples` per partition, and only when the end offset moved.
 * When full, every other sample of the older half is dropped, so spacing grows with age
 * (roughly geometric) and the relative error of an estimate stays small as lag grows.
 * Followers keep this warm so a new leader reports seconds from its first cycle.
 */
export interface LatencyEstimate {
  /** estimated append time of the record at the offset (wall ms) */
  readonly appendedAtMs: number;
  /** width of the window the append happened in: the estimate's worst-case error */
  readonly uncertaintyMs: number;
}

export interface Series {
  /** flat [end0, t0, end1, t1, ...], oldest first, ends strictly increasing */
  samples: number[];
  lastSeenCycle: number;
}

/** One topic's series, indexed by partition. */
export type TopicHistory = readonly (Series | undefined)[];

export class EndOffsetHistory {
  private readonly topics = new Map<string, (Series | undefined)[]>();
  private cycle = 0;

  constructor(private readonly maxSamples = 48) {}

  /** Records one observation of end offsets; partitions not seen for a while are dropped. */
  record(ends: Iterable<{ topic: string; partition: number; offset: number | null }>, wallMs: number): void {
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
      const lastEnd = n > 0 ? (s.samples[n - 2] as number) : -1;
      if (e.offset < lastEnd) {
        // log truncated or topic recreated: the old samples describe another log
        s.samples = [e.offset, wallMs];
        continue;
      }
      if (e.offset === lastEnd) continue;
      s.samples.push(e.offset, wallMs);
      if (s.samples.length > this.maxSamples * 2) decimate(s.samples);
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
    return samples && samples.length > 0 ? (samples[samples.length - 2] as number) : null;
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
  // first sample with end > offset (binary search over the even slots)
  let lo = 0;
  let hi = samples.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((samples[mid * 2] as number) > offset) hi = mid;
    else lo = mid + 1;
  }
  if (lo === 0 || lo === samples.length / 2) return null; // before history, or not appended yet
  const e0 = samples[(lo - 1) * 2] as number;
  const t0 = samples[(lo - 1) * 2 + 1] as number;
  const e1 = samples[lo * 2] as number;
  const t1 = samples[lo * 2 + 1] as number;
  // the (offset − e0 + 1)-th of (e1 − e0) records appended in (t0, t1]: spread evenly
  const fraction = (offset - e0 + 0.5) / (e1 - e0);
  return { appendedAtMs: t0 + fraction * (t1 - t0), uncertaintyMs: t1 - t0 };
}

/** Drops every other sample in the older half (keeps the oldest and the newer half intact). */
function decimate(samples: number[]): void {
  const pairs = samples.length / 2;
  const olderHalf = Math.floor(pairs / 2);
  const kept: number[] = [];
  for (let i = 0; i < pairs; i++) {
    if (i < olderHalf && i % 2 === 1) continue;
    kept.push(samples[i * 2] as number, samples[i * 2 + 1] as number);
  }
  samples.length = 0;
  samples.push(...kept);
}
