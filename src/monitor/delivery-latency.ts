/**
 * The delivery-latency pipeline (docs/design.md §3), one for the service (observe.ts, every
 * cycle) and `vigil lag` (lag-report.ts, once):
 *
 *   rows behind their end offset
 *     → the exact tests: one ListOffsets by timestamp per leader per distinct value
 *       (threshold, resolveBelow), breach ⇔ c < o (latency.ts)
 *     → reported seconds: the end-offset history's estimate held to the exact tests, replaced
 *       by the record at c, probed, where the row is in or near breach and the estimate is
 *       too coarse for max(0.5 s, 5 %) — worst rows first, at most `maxProbes`, cached per
 *       (partition, offset)
 *     → per row: breach, above resolveBelow, seconds.
 *
 * The two callers differ only in what they have: the service keeps a history (followers
 * keep it warm) and a probe cache across cycles, and may decide a row whose exact test could
 * not run from an estimate whose error bound allows it (§3.1: its leader is down); `vigil
 * lag` has no history, so every row behind is probed, and an untested row is unknown.
 */
import type { KafkaAdmin, RecordProbe, TopicPartition } from '../kafka/types';
import { probeKey } from '../kafka/types';
import { type EndOffsetHistory, type LatencyEstimate, type TopicHistory, estimateIn } from './history';
import { exactTest, roundSeconds } from './latency';

/** The values a row is tested at (a GroupTopicRule; `vigil lag` tests one value, so both are its threshold). */
export interface TestValues {
  readonly thresholdMs: number;
  readonly resolveBelowMs: number;
}

/** One group's position on one partition, behind the partition's end offset. */
export interface LaggingRow {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** PartitionIndex of (topic, partition) */
  readonly idx: number;
  readonly committed: number;
  readonly rule: TestValues;
}

/** What the pipeline says about one lagging row. */
export interface RowLatency {
  /** the exact test at the threshold; null when it could not be run (and no estimate decided) */
  readonly breach: boolean | null;
  /** the exact test at resolveBelow, likewise */
  readonly aboveResolveBelow: boolean | null;
  /** reported seconds; null when unknown */
  readonly lagSeconds: number | null;
  /** the record at c, when it was read (this time or earlier); absent when the seconds are the history's or nothing answered */
  readonly probe?: RecordProbe;
  /**
   * When the row breaches its threshold if nothing is committed (docs/design.md §3.7): the
   * timestamp of the record at c plus the threshold — exact where that record was read, else
   * from the reported seconds. null when the seconds are unknown or only control records lie behind.
   */
  readonly breachAtMs: number | null;
  /** breachAtMs comes from the record at c itself (the breach schedule arms only these) */
  readonly breachAtExact: boolean;
}

export interface DeliveryLatencyOptions {
  /** at most this many record probes per measure() (the rest keep the history estimate) */
  readonly maxProbes: number;
  /** end offsets seen so far; absent: no history, every row behind is probed */
  readonly history?: EndOffsetHistory;
  /**
   * A row whose exact test could not run (no answer for its partition): 'estimate' — the
   * estimate decides where its whole error bound lies on one side (docs/design.md §3.1, the
   * service); 'unknown' — the row is unknown (`vigil lag`).
   */
  readonly untested: 'estimate' | 'unknown';
  /**
   * Rows whose estimate may reach their threshold within this long are probed whatever the
   * estimate's error, so that their breach instant is exact (the breach schedule, docs/design.md
   * §3.7). Absent: only the error bound decides (`vigil lag`, poll mode).
   */
  readonly scheduleAheadMs?: number;
}

/** What the pipeline asks of Kafka (the KafkaAdmin port's lookups by timestamp and record probes). */
export type LatencyPort = Pick<KafkaAdmin, 'offsetsForTimestamp' | 'probeRecords'>;

/** a partition counts as "near breach" from this fraction of its threshold (docs/design.md §3) */
const NEAR_BREACH_FRACTION = 0.5;

export class DeliveryLatency {
  /** exact record timestamps; kept while some group sits at that offset */
  private probeCache = new ProbeCache();

  constructor(
    private readonly admin: LatencyPort,
    private readonly opts: DeliveryLatencyOptions,
  ) {}

  /**
   * Every row's latency at `nowMs` (one instant for all: a row's breach flag and its seconds
   * measure against the same now). Results are in the order of `rows`. `lap` is told when
   * each stage ends ('exact-test', 'seconds'), for the observer's phase timings.
   */
  async measure(rows: readonly LaggingRow[], index: PartitionIndex, nowMs: number, lap: (stage: string) => void = () => undefined): Promise<RowLatency[]> {
    const boundaries = await this.exactTests(rows, index, nowMs);
    lap('exact-test');
    const { seconds, uncertaintyMs, probes } = await this.reportedSeconds(rows, boundaries, nowMs);
    lap('seconds');
    const decideUntested = this.opts.untested === 'estimate';
    return rows.map((row, i) => {
      const o = (boundaries.get(row.rule.thresholdMs) as Float64Array)[row.idx] as number;
      const ro = (boundaries.get(row.rule.resolveBelowMs) as Float64Array)[row.idx] as number;
      const s = seconds[i] ?? null;
      const u = uncertaintyMs[i] ?? Number.POSITIVE_INFINITY;
      const probe = probes[i];
      const exactAt = probe?.kind === 'record' && probe.exact;
      return {
        // The exact test where the leader answered; where it could not, the estimate decides
        // only when its error bound cannot flip the answer (or nothing does).
        breach: exactTest(row.committed, o) ?? (decideUntested ? boundedOver(s, u, row.rule.thresholdMs) : null),
        aboveResolveBelow: exactTest(row.committed, ro) ?? (decideUntested ? boundedOver(s, u, row.rule.resolveBelowMs) : null),
        lagSeconds: s,
        ...(probe ? { probe } : {}),
        breachAtMs: exactAt ? probe.timestampMs + row.rule.thresholdMs : s === null || probe?.kind === 'none' ? null : nowMs - s * 1000 + row.rule.thresholdMs,
        breachAtExact: exactAt,
      };
    });
  }

  /**
   * The exact test of docs/design.md §3 for every lagging row, at its threshold and at its
   * resolveBelow: one ListOffsets per leader per distinct value. Result: value → o by
   * partition index (NaN = not asked or no answer; +Infinity = every record is older).
   */
  private async exactTests(rows: readonly LaggingRow[], index: PartitionIndex, nowMs: number): Promise<Map<number, Float64Array>> {
    const wanted = new Map<number, Uint8Array>();
    for (const r of rows) {
      for (const v of [r.rule.thresholdMs, r.rule.resolveBelowMs]) {
        let mark = wanted.get(v);
        if (!mark) wanted.set(v, (mark = new Uint8Array(index.size)));
        mark[r.idx] = 1;
      }
    }
    const out = new Map<number, Float64Array>();
    await Promise.all(
      [...wanted].map(async ([valueMs, mark]) => {
        const tps: TopicPartition[] = [];
        for (let i = 0; i < mark.length; i++) if (mark[i] === 1) tps.push(index.all[i] as TopicPartition);
        const o = new Float64Array(index.size).fill(Number.NaN);
        for (const answer of await this.admin.offsetsForTimestamp(tps, nowMs - valueMs)) {
          const i = index.of(answer.topic, answer.partition);
          if (i >= 0 && answer.offset !== null) o[i] = answer.offset;
        }
        out.set(valueMs, o);
      }),
    );
    return out;
  }

  /**
   * Reported seconds per lagging row (same order as rows): from the history; replaced by an
   * exact probe where the row is in or near breach and the history is too coarse (or does
   * not reach back) for max(0.5 s, 5 %), worst rows first, at most maxProbes. Probe answers
   * are cached per (partition, offset): a group that does not move is probed once.
   */
  private async reportedSeconds(
    rows: readonly LaggingRow[],
    boundaries: ReadonlyMap<number, Float64Array>,
    nowMs: number,
  ): Promise<{ seconds: (number | null)[]; uncertaintyMs: number[]; probes: (RecordProbe | undefined)[] }> {
    const out: (number | null)[] = new Array(rows.length).fill(null);
    const unc: number[] = new Array(rows.length).fill(Number.POSITIVE_INFINITY);
    const probes: (RecordProbe | undefined)[] = new Array(rows.length).fill(undefined);
    // priority: in breach 2, no estimate 1, near 0; then the estimates furthest off first
    const want: { i: number; priority: number; excess: number }[] = [];
    const nextCache = new ProbeCache();
    const { history: allHistory } = this.opts;
    let lastTopic = '';
    let history: TopicHistory | undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as LaggingRow;
      const cached = this.probeCache.get(row.topic, row.partition, row.committed);
      if (cached) {
        nextCache.set(row.topic, row.partition, row.committed, cached);
        out[i] = secondsFromProbe(cached, nowMs);
        unc[i] = 0;
        probes[i] = cached;
        continue;
      }
      if (row.topic !== lastTopic) {
        lastTopic = row.topic;
        history = allHistory?.topic(row.topic);
      }
      const est = history ? estimateIn(history, row.partition, row.committed) : null;
      const bounded = est ? boundByExactTests(row, boundaries, est, nowMs) : null;
      const estSeconds = bounded ? bounded.latencyMs / 1000 : null;
      out[i] = estSeconds === null ? null : roundSeconds(estSeconds);
      if (bounded) unc[i] = bounded.uncertaintyMs;
      const o = (boundaries.get(row.rule.thresholdMs) as Float64Array)[row.idx] as number;
      const inBreach = exactTest(row.committed, o) === true;
      const near = inBreach || estSeconds === null || estSeconds * 1000 >= NEAR_BREACH_FRACTION * row.rule.thresholdMs;
      if (!near) continue;
      const { scheduleAheadMs } = this.opts;
      const soon = !inBreach && bounded !== null && scheduleAheadMs !== undefined && bounded.latencyMs + bounded.uncertaintyMs >= row.rule.thresholdMs - scheduleAheadMs;
      const toleranceMs = soon ? 0 : Math.max(500, 0.05 * (estSeconds ?? 0) * 1000);
      if (soon || bounded === null || bounded.uncertaintyMs > toleranceMs) {
        want.push({ i, priority: inBreach ? 2 : bounded === null ? 1 : 0, excess: bounded === null ? Number.POSITIVE_INFINITY : bounded.uncertaintyMs / toleranceMs });
      }
    }
    want.sort((a, b) => b.priority - a.priority || b.excess - a.excess);
    const chosen = want.slice(0, this.opts.maxProbes);
    if (chosen.length > 0) {
      const probed = await this.admin.probeRecords(chosen.map((w) => {
        const row = rows[w.i] as LaggingRow;
        return { topic: row.topic, partition: row.partition, offset: row.committed };
      }));
      for (const w of chosen) {
        const row = rows[w.i] as LaggingRow;
        const p = probed.get(probeKey(row.topic, row.partition, row.committed));
        if (!p) continue;
        probes[w.i] = p;
        if (p.kind === 'record') nextCache.set(row.topic, row.partition, row.committed, p);
        const s = secondsFromProbe(p, nowMs);
        if (s !== null) unc[w.i] = 0;
        if (s !== null || out[w.i] === null) out[w.i] = s;
      }
      // rows of other groups at the same (partition, offset) share the answer
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i] as LaggingRow;
        const p = nextCache.get(row.topic, row.partition, row.committed);
        if (p) {
          out[i] = secondsFromProbe(p, nowMs);
          unc[i] = 0;
          probes[i] = p;
        }
      }
    }
    this.probeCache = nextCache;
    return { seconds: out, uncertaintyMs: unc, probes };
  }
}

/**
 * Whether a latency estimate of `seconds` ± `uncertaintyMs` is over `limitMs`: true or false
 * only when the whole error bound is on one side, else null (unknown).
 */
function boundedOver(seconds: number | null, uncertaintyMs: number, limitMs: number): boolean | null {
  if (seconds === null || !Number.isFinite(uncertaintyMs)) return null;
  const ms = seconds * 1000;
  if (ms - uncertaintyMs > limitMs) return true;
  if (ms + uncertaintyMs <= limitMs) return false;
  return null;
}

/** Watched partitions numbered densely: topic t's partition p is base(t) + p. */
export class PartitionIndex {
  readonly all: TopicPartition[] = [];
  private readonly bases = new Map<string, { base: number; count: number }>();

  constructor(topics: readonly { topic: string; partitions: readonly { partition: number }[] }[]) {
    for (const t of topics) {
      // partitions are numbered 0..n-1 by Kafka; the metadata lists each once
      const count = t.partitions.reduce((m, p) => Math.max(m, p.partition + 1), 0);
      this.bases.set(t.topic, { base: this.all.length, count });
      for (let p = 0; p < count; p++) this.all.push({ topic: t.topic, partition: p });
    }
  }

  get size(): number {
    return this.all.length;
  }

  base(topic: string): number {
    return this.bases.get(topic)?.base ?? -1;
  }

  count(topic: string): number {
    return this.bases.get(topic)?.count ?? 0;
  }

  of(topic: string, partition: number): number {
    const b = this.bases.get(topic);
    return b && partition < b.count ? b.base + partition : -1;
  }
}

/** Exact record probes by (topic, partition, offset), without building a string per row. */
class ProbeCache {
  private readonly topics = new Map<string, Map<number, Map<number, RecordProbe>>>();

  get(topic: string, partition: number, offset: number): RecordProbe | undefined {
    return this.topics.get(topic)?.get(partition)?.get(offset);
  }

  set(topic: string, partition: number, offset: number, probe: RecordProbe): void {
    let t = this.topics.get(topic);
    if (!t) this.topics.set(topic, (t = new Map()));
    let p = t.get(partition);
    if (!p) t.set(partition, (p = new Map()));
    p.set(offset, probe);
  }
}

/**
 * A history estimate narrowed by the row's exact tests (docs/design.md §3: refined by
 * offset-for-time lookups). The history puts the latency in [now − appended-before,
 * now − appended-after]; each exact test at a value v says whether it is above v or not.
 * Where the two disagree (CreateTime earlier than the append, a producer's clock), the
 * exact test wins and the estimate keeps its width, so the row is still worth a probe.
 */
function boundByExactTests(row: LaggingRow, boundaries: ReadonlyMap<number, Float64Array>, est: LatencyEstimate, nowMs: number): { latencyMs: number; uncertaintyMs: number } {
  let lo = Math.max(0, nowMs - est.appendedBeforeMs);
  let hi = Math.max(0, nowMs - est.appendedAfterMs);
  let latencyMs = Math.max(0, nowMs - est.appendedAtMs);
  for (const v of [row.rule.thresholdMs, row.rule.resolveBelowMs]) {
    const above = exactTest(row.committed, (boundaries.get(v) as Float64Array)[row.idx] as number);
    if (above === null) continue;
    if (above ? hi < v : lo > v) return { latencyMs: v, uncertaintyMs: est.uncertaintyMs };
    if (above) lo = Math.max(lo, v);
    else hi = Math.min(hi, v);
  }
  latencyMs = Math.min(hi, Math.max(lo, latencyMs));
  return { latencyMs, uncertaintyMs: hi - lo };
}

/** Seconds since the record at c was written; 0 when only control records lie behind; null when unknown. */
function secondsFromProbe(p: RecordProbe, nowMs: number): number | null {
  if (p.kind === 'record') return roundSeconds(Math.max(0, nowMs - p.timestampMs) / 1000);
  if (p.kind === 'none') return 0;
  return null;
}
