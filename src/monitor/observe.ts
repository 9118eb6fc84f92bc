/**
 * observe (docs/design.md §1): reads the Kafka cluster through the KafkaAdmin port into one
 * KafkaSnapshot. Everything is batched (see src/kafka/kafkajs-admin.ts), so the cost of a
 * cycle grows with brokers and groups, not with partitions × groups in requests:
 *
 *   Metadata 1 · liveness ping 1 per broker · ListGroups 1 per broker · DescribeGroups and
 *   OffsetFetch 1 per group · ListOffsets latest 1 per leader · ListOffsets by timestamp
 *   1 per leader per distinct threshold (and resolveBelow) value · Fetch 1 per leader for
 *   the few partitions whose reported seconds need an exact record timestamp.
 *   DescribeConfigs (min.insync.replicas) 1 per minute.
 *
 * Reported seconds (docs/design.md §3) come from the end-offset history (history.ts); a partition in
 * or near breach whose history window is too coarse for the accuracy target gets the exact
 * timestamp of the record at its committed offset from a Fetch, cached for as long as the
 * group stays at that offset. Breach decisions never use the estimate: they come from the
 * exact test, per partition, against ListOffsets(now − threshold).
 */
import type { VigilConfig } from '../config/types';
import { lagRuleFor } from '../config/lag-rule';
import { describeError } from '../errors';
import type { BrokerInfo, GroupOffsets, GroupOffsetsResult, KafkaAdmin, RecordProbe, TopicPartition } from '../kafka/types';
import { probeKey } from '../kafka/types';
import type { Clock } from '../util/clock';
import { type NameFilter, nameFilter } from '../util/glob';
import { EndOffsetHistory, type LatencyEstimate, type TopicHistory, estimateIn } from './history';
import { roundSeconds } from './latency';
import type { GroupTopicRule } from './findings';
import type { BrokerState, CanaryState, GroupPartitionLag, GroupState, KafkaSnapshot, PartitionState } from './snapshot';

export interface ObserverOptions {
  readonly lag: VigilConfig['lag'];
  readonly groups: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  readonly topics: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  /** the ping deadline for each broker; a broker slower than this counts as unreachable */
  readonly brokerPingTimeoutMs: number;
  /** at most this many exact record probes per cycle (the rest keep the history estimate) */
  readonly maxProbesPerCycle?: number;
  /** how often topic min.insync.replicas is re-read */
  readonly configRefreshMs?: number;
  /** the canary's latest per-broker results (docs/design.md §3), or absent when it is disabled */
  readonly canaryStates?: () => readonly CanaryState[];
}

const DEFAULT_MAX_PROBES = 2_000;
const DEFAULT_CONFIG_REFRESH_MS = 60_000;
/** a partition counts as "near breach" from this fraction of its threshold (docs/design.md §3) */
const NEAR_BREACH_FRACTION = 0.5;
/** Kafka's default when a topic does not set min.insync.replicas and it cannot be read */
const DEFAULT_MIN_ISR = 1;
/** committed offsets last seen stand in for an unreachable coordinator's this long */
const STALE_COMMITS_MAX_AGE_MS = 10 * 60_000;

interface LaggingRow {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** PartitionIndex of (topic, partition) */
  readonly idx: number;
  readonly committed: number;
  readonly end: number;
  readonly rule: GroupTopicRule;
}

export class KafkaObserver {
  readonly history = new EndOffsetHistory();
  private readonly groupFilter: NameFilter;
  private readonly topicFilter: NameFilter;
  /** brokers seen in any metadata: a broker that leaves the metadata is still reported */
  private readonly knownBrokers = new Map<number, BrokerInfo>();
  private readonly unreachableSince = new Map<number, number>();
  /** groups listed in any cycle and not since deleted */
  private readonly knownGroups = new Set<string>();
  /** each group's coordinator as last described (it is down exactly when it cannot say) */
  private readonly lastCoordinator = new Map<string, number>();
  /** each group's committed offsets as last read, for when its coordinator is down */
  private readonly lastCommitted = new Map<string, { offsets: GroupOffsets; atMs: number }>();
  private minIsr = new Map<string, number>();
  private minIsrReadAtMs = Number.NEGATIVE_INFINITY;
  /** exact record timestamps; kept while some group sits at that offset */
  private probeCache = new ProbeCache();
  private readonly maxProbes: number;
  private readonly configRefreshMs: number;
  /** how long each phase of the last observe() took (ms), for logs and benchmarks */
  lastPhasesMs: Record<string, number> = {};

  constructor(
    private readonly admin: KafkaAdmin,
    private readonly opts: ObserverOptions,
    private readonly clock: Clock,
  ) {
    this.groupFilter = nameFilter(opts.groups.include, opts.groups.exclude);
    this.topicFilter = nameFilter(opts.topics.include, opts.topics.exclude);
    this.maxProbes = opts.maxProbesPerCycle ?? DEFAULT_MAX_PROBES;
    this.configRefreshMs = opts.configRefreshMs ?? DEFAULT_CONFIG_REFRESH_MS;
  }

  /**
   * A follower's cycle: metadata and end offsets only, to keep connections open and the
   * history warm, so that a new leader's first full cycle reports seconds at once.
   */
  async warm(): Promise<void> {
    const md = await this.admin.metadata();
    const tps = md.topics.filter((t) => !t.isInternal && this.topicFilter(t.topic)).flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition })));
    const sentMs = this.clock.wallMs();
    const ends = await this.admin.endOffsets(tps);
    this.history.record(ends, sentMs, this.clock.wallMs());
  }

  /** The leader's cycle: the whole snapshot. Never throws: failures are in the snapshot. */
  async observe(): Promise<KafkaSnapshot> {
    const clock = this.clock;
    const startedAtMs = clock.wallMs();
    const phases: Record<string, number> = {};
    let mark = clock.monotonicMs();
    const lap = (name: string) => {
      const t = clock.monotonicMs();
      phases[name] = Math.round((t - mark) * 10) / 10;
      mark = t;
    };
    this.lastPhasesMs = phases;
    let md;
    try {
      md = await this.admin.metadata();
    } catch (err) {
      return { ok: false, takenAtMs: startedAtMs, error: describeError(err) };
    }
    for (const b of md.brokers) this.knownBrokers.set(b.nodeId, b);
    lap('metadata');

    const watchedTopics = md.topics.filter((t) => !t.isInternal && this.topicFilter(t.topic));
    const [brokers, minIsr, listed] = await Promise.all([
      this.brokerStates(new Set(md.brokers.map((b) => b.nodeId)), startedAtMs),
      this.minIsrFor(watchedTopics.map((t) => t.topic), startedAtMs),
      this.admin.listGroups().then(
        (gs) => new Set(gs.map((g) => g.groupId).filter(this.groupFilter)),
        () => new Set<string>(),
      ),
    ]);
    // A group's coordinator may be down (ListGroups then misses it) while the group itself
    // lives on: keep asking for groups seen before until their offsets are gone.
    for (const g of listed) this.knownGroups.add(g);
    const groupIds = [...this.knownGroups].sort();
    lap('brokers+groups');

    // Every watched partition gets an index: topic t's partition p is base(t) + p. Per-row
    // work below is array access, not string-keyed maps (100,000 rows a cycle).
    const index = new PartitionIndex(watchedTopics);
    const partitions: PartitionState[] = [];
    for (const t of watchedTopics) {
      const topicMinIsr = minIsr.get(t.topic) ?? DEFAULT_MIN_ISR;
      for (const p of t.partitions) {
        partitions.push({ topic: t.topic, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, offlineReplicas: p.offlineReplicas, minIsr: topicMinIsr });
      }
    }

    const endsSentMs = clock.wallMs();
    const [described, committed, endsAt] = await Promise.all([
      this.admin.describeGroups(groupIds),
      this.admin.committedOffsets(groupIds),
      // the history needs when the end offsets were asked for and answered, not when the
      // slowest of the three requests returned
      this.admin.endOffsets(index.all).then((ends) => ({ ends, atMs: clock.wallMs() })),
    ]);
    lap('offsets');
    const staleGroups = new Set<string>();
    for (const g of groupIds) {
      const r = committed.get(g);
      if (r && 'offsets' in r) {
        if (!listed.has(g) && r.offsets.size === 0) this.knownGroups.delete(g); // deleted
        this.lastCommitted.set(g, { offsets: r.offsets, atMs: endsAt.atMs });
        continue;
      }
      // The group's coordinator is down: no consumer can commit either, so the offsets last
      // seen are still the group's (or older than them, which only overstates latency).
      const last = this.lastCommitted.get(g);
      if (last && endsAt.atMs - last.atMs <= STALE_COMMITS_MAX_AGE_MS) {
        committed.set(g, { offsets: last.offsets });
        staleGroups.add(g);
      }
    }
    this.history.record(endsAt.ends, endsSentMs, endsAt.atMs);
    // A partition whose leader cannot be asked keeps its last end offset seen: its
    // consumers cannot fetch, its producers cannot write, and the records it held before go
    // on aging — the delivery latency its groups suffer is exactly what must be reported.
    const end = new Float64Array(index.size).fill(Number.NaN);
    const endError: (string | undefined)[] = [];
    for (const e of endsAt.ends) {
      const i = index.of(e.topic, e.partition);
      if (i < 0) continue;
      if (e.offset !== null) {
        end[i] = e.offset;
        continue;
      }
      const last = this.history.lastEnd(e.topic, e.partition);
      if (last !== null) end[i] = last;
      endError[i] = `${e.error ?? 'no answer'}; end offset as last seen`;
    }
    const nowMs = clock.wallMs();

    // The rows where a group is behind: only these need the exact test and seconds.
    const rows: LaggingRow[] = [];
    const rulesByGroup = new Map<string, Map<string, GroupTopicRule>>();
    for (const group of groupIds) {
      const result = committed.get(group);
      if (!result || !('offsets' in result)) continue;
      const rules = new Map<string, GroupTopicRule>();
      rulesByGroup.set(group, rules);
      for (const [topic, parts] of result.offsets) {
        const base = index.base(topic);
        if (base < 0) continue;
        const rule = this.ruleFor(group, topic);
        rules.set(topic, rule);
        const count = index.count(topic);
        for (const [partition, offset] of parts) {
          if (partition >= count) continue;
          const e = end[base + partition] as number;
          if (offset < e) rows.push({ group, topic, partition, idx: base + partition, committed: offset, end: e, rule });
        }
      }
    }
    lap('rows');

    const boundaries = await this.exactTests(rows, index, nowMs);
    lap('exact-test');
    const { seconds, uncertaintyMs } = await this.reportedSeconds(rows, boundaries, nowMs);
    lap('seconds');

    const lagByGroup = new Map<string, RowResult[]>();
    rows.forEach((row, i) => {
      const o = (boundaries.get(row.rule.thresholdMs) as Float64Array)[row.idx] as number;
      const ro = (boundaries.get(row.rule.resolveBelowMs) as Float64Array)[row.idx] as number;
      const s = seconds[i] ?? null;
      const u = uncertaintyMs[i] ?? Number.POSITIVE_INFINITY;
      let list = lagByGroup.get(row.group);
      if (!list) lagByGroup.set(row.group, (list = []));
      list.push({
        row,
        // The exact test where the leader answered; where it could not (leader down), the
        // estimate decides only when its error bound cannot flip the answer.
        breach: Number.isNaN(o) ? boundedOver(s, u, row.rule.thresholdMs) : row.committed < o,
        aboveResolveBelow: Number.isNaN(ro) ? boundedOver(s, u, row.rule.resolveBelowMs) : row.committed < ro,
        lagSeconds: s,
        error: endError[row.idx],
      });
    });

    for (const [g, d] of described) if (d.coordinator !== undefined) this.lastCoordinator.set(g, d.coordinator);
    for (const g of [...this.lastCommitted.keys()]) {
      if (this.knownGroups.has(g)) continue;
      this.lastCommitted.delete(g);
      this.lastCoordinator.delete(g);
    }
    const groups: GroupState[] = groupIds.map((group) =>
      this.groupState(
        group,
        committed.get(group),
        staleGroups.has(group) ? 'unknown (coordinator unavailable; committed offsets as last seen)' : (described.get(group)?.state ?? ''),
        rulesByGroup.get(group),
        index,
        end,
        endError,
        lagByGroup.get(group),
        this.lastCoordinator.get(group),
      ),
    );
    lap('assemble');
    return {
      ok: true,
      takenAtMs: nowMs,
      clusterId: md.clusterId,
      controllerId: md.controllerId,
      brokers,
      partitions,
      groups,
      canary: this.opts.canaryStates ? this.opts.canaryStates() : null,
    };
  }

  private ruleFor(group: string, topic: string): GroupTopicRule {
    const r = lagRuleFor(this.opts.lag, group, topic);
    return { thresholdMs: r.thresholdMs, resolveBelowMs: r.resolveBelowMs, resolveForMs: r.resolveForMs, severity: r.severity };
  }

  private async brokerStates(inMetadata: ReadonlySet<number>, nowMs: number): Promise<BrokerState[]> {
    const all = [...this.knownBrokers.values()].sort((a, b) => a.nodeId - b.nodeId);
    const pings = await this.admin.pingBrokers(all, this.opts.brokerPingTimeoutMs);
    return all.map((b) => {
      const ping = pings.get(b.nodeId) ?? { ok: false, error: 'not pinged' };
      if (ping.ok) this.unreachableSince.delete(b.nodeId);
      else if (!this.unreachableSince.has(b.nodeId)) this.unreachableSince.set(b.nodeId, nowMs);
      const since = this.unreachableSince.get(b.nodeId);
      return {
        nodeId: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack,
        inMetadata: inMetadata.has(b.nodeId),
        reachable: ping.ok,
        ...(ping.error !== undefined ? { error: ping.error } : {}),
        ...(since !== undefined ? { unreachableSinceMs: since } : {}),
      };
    });
  }

  private async minIsrFor(topics: readonly string[], nowMs: number): Promise<ReadonlyMap<string, number>> {
    const missing = topics.some((t) => !this.minIsr.has(t));
    if (missing || nowMs - this.minIsrReadAtMs >= this.configRefreshMs) {
      try {
        this.minIsr = await this.admin.topicMinIsr(topics);
        this.minIsrReadAtMs = nowMs;
      } catch {
        // keep the last answer; unknown topics fall back to the broker default
      }
    }
    return this.minIsr;
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
   * not reach back) for max(0.5 s, 5 %), worst rows first, at most maxProbes per cycle.
   * Probe answers are cached per (partition, offset): a group that does not move is
   * probed once.
   */
  private async reportedSeconds(
    rows: readonly LaggingRow[],
    boundaries: ReadonlyMap<number, Float64Array>,
    nowMs: number,
  ): Promise<{ seconds: (number | null)[]; uncertaintyMs: number[] }> {
    const out: (number | null)[] = new Array(rows.length).fill(null);
    const unc: number[] = new Array(rows.length).fill(Number.POSITIVE_INFINITY);
    // priority: in breach 2, no estimate 1, near 0; then the estimates furthest off first
    const want: { i: number; priority: number; excess: number }[] = [];
    const nextCache = new ProbeCache();
    let lastTopic = '';
    let history: TopicHistory | undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as LaggingRow;
      const cached = this.probeCache.get(row.topic, row.partition, row.committed);
      if (cached) {
        nextCache.set(row.topic, row.partition, row.committed, cached);
        out[i] = secondsFromProbe(cached, nowMs);
        unc[i] = 0;
        continue;
      }
      if (row.topic !== lastTopic) {
        lastTopic = row.topic;
        history = this.history.topic(row.topic);
      }
      const est = history ? estimateIn(history, row.partition, row.committed) : null;
      const bounded = est ? boundByExactTests(row, boundaries, est, nowMs) : null;
      const estSeconds = bounded ? bounded.latencyMs / 1000 : null;
      out[i] = estSeconds === null ? null : roundSeconds(estSeconds);
      if (bounded) unc[i] = bounded.uncertaintyMs;
      const o = (boundaries.get(row.rule.thresholdMs) as Float64Array)[row.idx] as number;
      const inBreach = row.committed < o; // false for NaN
      const near = inBreach || estSeconds === null || estSeconds * 1000 >= NEAR_BREACH_FRACTION * row.rule.thresholdMs;
      if (!near) continue;
      const toleranceMs = Math.max(500, 0.05 * (estSeconds ?? 0) * 1000);
      if (bounded === null || bounded.uncertaintyMs > toleranceMs) {
        want.push({ i, priority: inBreach ? 2 : bounded === null ? 1 : 0, excess: bounded === null ? Number.POSITIVE_INFINITY : bounded.uncertaintyMs / toleranceMs });
      }
    }
    want.sort((a, b) => b.priority - a.priority || b.excess - a.excess);
    const chosen = want.slice(0, this.maxProbes);
    if (chosen.length > 0) {
      const probed = await this.admin.probeRecords(chosen.map((w) => {
        const row = rows[w.i] as LaggingRow;
        return { topic: row.topic, partition: row.partition, offset: row.committed };
      }));
      for (const w of chosen) {
        const row = rows[w.i] as LaggingRow;
        const p = probed.get(probeKey(row.topic, row.partition, row.committed));
        if (!p) continue;
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
        }
      }
    }
    this.probeCache = nextCache;
    return { seconds: out, uncertaintyMs: unc };
  }

  private groupState(
    group: string,
    result: GroupOffsetsResult | undefined,
    state: string,
    rules: ReadonlyMap<string, GroupTopicRule> | undefined,
    index: PartitionIndex,
    end: Float64Array,
    endError: readonly (string | undefined)[],
    lagging: readonly RowResult[] | undefined,
    coordinator: number | undefined,
  ): GroupState {
    const known = coordinator === undefined ? {} : { coordinator };
    if (!result || !('offsets' in result)) {
      return { group, state, ...known, partitions: [], rules: new Map(), error: result && 'error' in result ? result.error : 'no answer' };
    }
    const partitions: GroupPartitionLag[] = [];
    let next = 0; // lagging rows of this group, in the same order as its offsets are walked
    for (const [topic, parts] of result.offsets) {
      const base = index.base(topic);
      if (base < 0 || !rules?.has(topic)) continue;
      const count = index.count(topic);
      for (const [partition, committed] of parts) {
        if (partition >= count) continue;
        const i = base + partition;
        const e = end[i] as number;
        const error = endError[i];
        if (Number.isNaN(e)) {
          partitions.push({ topic, partition, committed, end: null, lagMessages: null, breach: null, aboveResolveBelow: null, lagSeconds: null, error: `end offset unavailable: ${error ?? 'no answer'}` });
        } else if (committed >= e) {
          partitions.push({ topic, partition, committed, end: e, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0, ...(error ? { error } : {}) });
        } else {
          const r = (lagging as readonly RowResult[])[next++] as RowResult;
          partitions.push({ topic, partition, committed, end: e, lagMessages: e - committed, breach: r.breach, aboveResolveBelow: r.aboveResolveBelow, lagSeconds: r.lagSeconds, ...(error ? { error } : {}) });
        }
      }
    }
    return { group, state, ...known, partitions, rules: rules ?? new Map() };
  }
}

interface RowResult {
  readonly row: LaggingRow;
  readonly breach: boolean | null;
  readonly aboveResolveBelow: boolean | null;
  readonly lagSeconds: number | null;
  readonly error: string | undefined;
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
class PartitionIndex {
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
    const o = (boundaries.get(v) as Float64Array)[row.idx] as number;
    if (Number.isNaN(o)) continue;
    const above = row.committed < o;
    if (above ? hi < v : lo > v) return { latencyMs: v, uncertaintyMs: est.uncertaintyMs };
    if (above) lo = Math.max(lo, v);
    else hi = Math.min(hi, v);
  }
  latencyMs = Math.min(hi, Math.max(lo, latencyMs));
  return { latencyMs, uncertaintyMs: hi - lo };
}

function secondsFromProbe(p: RecordProbe, nowMs: number): number | null {
  if (p.kind === 'record') return roundSeconds(Math.max(0, nowMs - p.timestampMs) / 1000);
  if (p.kind === 'none') return 0;
  return null;
}
