/**
 * observe (DESIGN §1): reads the Kafka cluster through the KafkaAdmin port into one
 * KafkaSnapshot. Everything is batched (see src/kafka/kafkajs-admin.ts), so the cost of a
 * cycle grows with brokers and groups, not with partitions × groups in requests:
 *
 *   Metadata 1 · liveness ping 1 per broker · ListGroups 1 per broker · DescribeGroups and
 *   OffsetFetch 1 per group · ListOffsets latest 1 per leader · ListOffsets by timestamp
 *   1 per leader per distinct threshold (and resolveBelow) value · Fetch 1 per leader for
 *   the few partitions whose reported seconds need an exact record timestamp.
 *   DescribeConfigs (min.insync.replicas) 1 per minute.
 *
 * Reported seconds (DESIGN §3) come from the end-offset history (history.ts); a partition in
 * or near breach whose history window is too coarse for the accuracy target gets the exact
 * timestamp of the record at its committed offset from a Fetch, cached for as long as the
 * group stays at that offset. Breach decisions never use the estimate: they come from the
 * exact test, per partition, against ListOffsets(now − threshold).
 */
import type { VigilConfig } from '../config/types';
import { lagRuleFor } from '../config/lag-rule';
import { describeError } from '../errors';
import type { BrokerInfo, GroupOffsetsResult, KafkaAdmin, PartitionOffset, RecordProbe, TopicPartition } from '../kafka/types';
import { probeKey, tpKey } from '../kafka/types';
import type { Clock } from '../util/clock';
import { type NameFilter, nameFilter } from '../util/glob';
import { EndOffsetHistory } from './history';
import { roundSeconds } from './latency';
import type { BrokerState, GroupPartitionLag, GroupState, GroupTopicRule, KafkaSnapshot, PartitionState } from './snapshot';

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
}

const DEFAULT_MAX_PROBES = 2_000;
const DEFAULT_CONFIG_REFRESH_MS = 60_000;
/** a partition counts as "near breach" from this fraction of its threshold (DESIGN §3) */
const NEAR_BREACH_FRACTION = 0.5;
/** Kafka's default when a topic does not set min.insync.replicas and it cannot be read */
const DEFAULT_MIN_ISR = 1;

interface LaggingRow {
  group: string;
  tp: TopicPartition;
  committed: number;
  end: number;
  rule: GroupTopicRule;
}

export class KafkaObserver {
  readonly history = new EndOffsetHistory();
  private readonly groupFilter: NameFilter;
  private readonly topicFilter: NameFilter;
  /** brokers seen in any metadata: a broker that leaves the metadata is still reported */
  private readonly knownBrokers = new Map<number, BrokerInfo>();
  private readonly unreachableSince = new Map<number, number>();
  private minIsr = new Map<string, number>();
  private minIsrReadAtMs = Number.NEGATIVE_INFINITY;
  /** exact record timestamps by probeKey; kept while some group sits at that offset */
  private probeCache = new Map<string, RecordProbe>();
  private readonly maxProbes: number;
  private readonly configRefreshMs: number;

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
    const ends = await this.admin.endOffsets(tps);
    this.history.record(ends, this.clock.wallMs());
  }

  /** The leader's cycle: the whole snapshot. Never throws: failures are in the snapshot. */
  async observe(): Promise<KafkaSnapshot> {
    const startedAtMs = this.clock.wallMs();
    let md;
    try {
      md = await this.admin.metadata();
    } catch (err) {
      return { ok: false, takenAtMs: startedAtMs, error: describeError(err) };
    }
    for (const b of md.brokers) this.knownBrokers.set(b.nodeId, b);

    const watchedTopics = md.topics.filter((t) => !t.isInternal && this.topicFilter(t.topic));
    const [brokers, minIsr, groupIds] = await Promise.all([
      this.brokerStates(new Set(md.brokers.map((b) => b.nodeId)), startedAtMs),
      this.minIsrFor(watchedTopics.map((t) => t.topic), startedAtMs),
      this.admin.listGroups().then(
        (gs) => gs.map((g) => g.groupId).filter(this.groupFilter),
        () => [] as string[],
      ),
    ]);

    const partitions: PartitionState[] = [];
    const allTps: TopicPartition[] = [];
    for (const t of watchedTopics) {
      const topicMinIsr = minIsr.get(t.topic) ?? DEFAULT_MIN_ISR;
      for (const p of t.partitions) {
        partitions.push({ topic: t.topic, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, offlineReplicas: p.offlineReplicas, minIsr: topicMinIsr });
        allTps.push({ topic: t.topic, partition: p.partition });
      }
    }

    const [described, committed, ends] = await Promise.all([
      this.admin.describeGroups(groupIds),
      this.admin.committedOffsets(groupIds),
      this.admin.endOffsets(allTps),
    ]);
    const nowMs = this.clock.wallMs();
    this.history.record(ends, nowMs);
    const endOf = new Map<string, PartitionOffset>(ends.map((e) => [tpKey(e.topic, e.partition), e]));
    const watched = new Set(allTps.map((tp) => tpKey(tp.topic, tp.partition)));

    // Rows where the group is behind: only these need the exact test and seconds.
    const lagging: LaggingRow[] = [];
    const rulesByGroup = new Map<string, Map<string, GroupTopicRule>>();
    for (const group of groupIds) {
      const result = committed.get(group);
      if (!result || !('offsets' in result)) continue;
      const rules = new Map<string, GroupTopicRule>();
      rulesByGroup.set(group, rules);
      for (const [topic, parts] of result.offsets) {
        if (!this.topicFilter(topic)) continue;
        const rule = this.ruleFor(group, topic);
        rules.set(topic, rule);
        for (const [partition, offset] of parts) {
          const end = endOf.get(tpKey(topic, partition))?.offset;
          if (watched.has(tpKey(topic, partition)) && end !== null && end !== undefined && offset < end) {
            lagging.push({ group, tp: { topic, partition }, committed: offset, end, rule });
          }
        }
      }
    }

    const boundary = await this.exactTests(lagging, nowMs);
    const seconds = await this.reportedSeconds(lagging, boundary, nowMs);

    const groups: GroupState[] = groupIds.map((group) =>
      this.groupState(group, committed.get(group), described.get(group)?.state ?? '', rulesByGroup.get(group), endOf, watched, boundary, seconds),
    );

    return {
      ok: true,
      takenAtMs: nowMs,
      clusterId: md.clusterId,
      controllerId: md.controllerId,
      brokers,
      partitions,
      groups,
      canary: null,
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
   * The exact test of DESIGN §3 for every lagging row, at its threshold and at its
   * resolveBelow: one ListOffsets per leader per distinct value. Result: probeKey-like
   * key (group-independent: partition + value) → o.
   */
  private async exactTests(rows: readonly LaggingRow[], nowMs: number): Promise<Map<string, number | null>> {
    const byValue = new Map<number, Map<string, TopicPartition>>();
    for (const r of rows) {
      for (const v of [r.rule.thresholdMs, r.rule.resolveBelowMs]) {
        let m = byValue.get(v);
        if (!m) byValue.set(v, (m = new Map()));
        m.set(tpKey(r.tp.topic, r.tp.partition), r.tp);
      }
    }
    const out = new Map<string, number | null>();
    await Promise.all(
      [...byValue].map(async ([valueMs, tps]) => {
        const res = await this.admin.offsetsForTimestamp([...tps.values()], nowMs - valueMs);
        for (const o of res) out.set(boundaryKey(o.topic, o.partition, valueMs), o.offset);
      }),
    );
    return out;
  }

  /**
   * Reported seconds per lagging row (keyed by probeKey): from the history; replaced by an
   * exact probe where the row is in or near breach and the history is too coarse (or does
   * not reach back) for max(0.5 s, 5 %), worst rows first, at most maxProbes per cycle.
   */
  private async reportedSeconds(rows: readonly LaggingRow[], boundary: ReadonlyMap<string, number | null>, nowMs: number): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>();
    const want: { key: string; row: LaggingRow; priority: number }[] = [];
    const nextCache = new Map<string, RecordProbe>();
    for (const row of rows) {
      const key = probeKey(row.tp.topic, row.tp.partition, row.committed);
      const cached = this.probeCache.get(key);
      if (cached && cached.kind === 'record') {
        nextCache.set(key, cached);
        out.set(key, secondsFromProbe(cached, nowMs));
        continue;
      }
      const est = this.history.estimate(row.tp.topic, row.tp.partition, row.committed);
      const estSeconds = est ? Math.max(0, nowMs - est.appendedAtMs) / 1000 : null;
      out.set(key, estSeconds === null ? null : roundSeconds(estSeconds));
      const o = boundary.get(boundaryKey(row.tp.topic, row.tp.partition, row.rule.thresholdMs));
      const inBreach = o !== undefined && o !== null && row.committed < o;
      const near = inBreach || estSeconds === null || estSeconds * 1000 >= NEAR_BREACH_FRACTION * row.rule.thresholdMs;
      const toleranceMs = Math.max(500, 0.05 * (estSeconds ?? 0) * 1000);
      if (near && (est === null || est.uncertaintyMs > toleranceMs)) {
        want.push({ key, row, priority: inBreach ? 2 : estSeconds === null ? 1 : 0 });
      }
    }
    want.sort((a, b) => b.priority - a.priority);
    const chosen = want.slice(0, this.maxProbes);
    if (chosen.length > 0) {
      const probed = await this.admin.probeRecords(chosen.map((w) => ({ ...w.row.tp, offset: w.row.committed })));
      for (const w of chosen) {
        const p = probed.get(w.key);
        if (!p) continue;
        if (p.kind === 'record') nextCache.set(w.key, p);
        const s = secondsFromProbe(p, nowMs);
        if (s !== null || out.get(w.key) === null) out.set(w.key, s);
      }
    }
    this.probeCache = nextCache;
    return out;
  }

  private groupState(
    group: string,
    result: GroupOffsetsResult | undefined,
    state: string,
    rules: ReadonlyMap<string, GroupTopicRule> | undefined,
    endOf: ReadonlyMap<string, PartitionOffset>,
    watched: ReadonlySet<string>,
    boundary: ReadonlyMap<string, number | null>,
    seconds: ReadonlyMap<string, number | null>,
  ): GroupState {
    if (!result || !('offsets' in result)) {
      return { group, state, partitions: [], rules: new Map(), error: result && 'error' in result ? result.error : 'no answer' };
    }
    const partitions: GroupPartitionLag[] = [];
    for (const [topic, parts] of result.offsets) {
      const rule = rules?.get(topic);
      if (!rule) continue;
      for (const [partition, committed] of parts) {
        const key = tpKey(topic, partition);
        if (!watched.has(key)) continue;
        const endAnswer = endOf.get(key);
        const end = endAnswer?.offset ?? null;
        if (end === null) {
          partitions.push({ topic, partition, committed, end: null, lagMessages: null, breach: null, aboveResolveBelow: null, lagSeconds: null, error: `end offset unavailable: ${endAnswer?.error ?? 'no answer'}` });
          continue;
        }
        if (committed >= end) {
          partitions.push({ topic, partition, committed, end, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0 });
          continue;
        }
        const o = boundary.get(boundaryKey(topic, partition, rule.thresholdMs));
        const r = boundary.get(boundaryKey(topic, partition, rule.resolveBelowMs));
        partitions.push({
          topic,
          partition,
          committed,
          end,
          lagMessages: end - committed,
          breach: o === undefined || o === null ? null : committed < o,
          aboveResolveBelow: r === undefined || r === null ? null : committed < r,
          lagSeconds: seconds.get(probeKey(topic, partition, committed)) ?? null,
        });
      }
    }
    return { group, state, partitions, rules: rules ?? new Map() };
  }
}

function boundaryKey(topic: string, partition: number, valueMs: number): string {
  return `${tpKey(topic, partition)}\u0000${valueMs}`;
}

function secondsFromProbe(p: RecordProbe, nowMs: number): number | null {
  if (p.kind === 'record') return roundSeconds(Math.max(0, nowMs - p.timestampMs) / 1000);
  if (p.kind === 'none') return 0;
  return null;
}
