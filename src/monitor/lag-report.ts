/**
 * The one-shot delivery-latency report behind `vigil lag` (docs/design.md §7): every watched
 * group, per topic and partition, by the exact threshold test of docs/design.md §3.
 *
 * Requests per run, whatever the number of groups and partitions: one Metadata, one
 * ListGroups per broker, one FindCoordinator + OffsetFetch per group, one ListOffsets
 * (latest) and one ListOffsets (by timestamp) per partition leader, and one Fetch per leader
 * for the lagging partitions (more only when several groups lag on the same partition).
 */
import type { GroupOffsetsResult, KafkaAdmin, RecordProbeRequest, TopicPartition } from '../kafka/types';
import { probeKey, tpKey } from '../kafka/types';
import type { NameFilter } from '../util/glob';
import { type LagSummary, type PartitionLag, partitionLag, summarize } from './latency';

export interface TopicLag extends LagSummary {
  readonly topic: string;
  readonly partitions: readonly PartitionLag[];
}

export interface GroupLag extends LagSummary {
  readonly group: string;
  readonly topics: readonly TopicLag[];
  /** set when the group's committed offsets could not be read */
  readonly error?: string;
}

export interface LagReport {
  readonly generatedAt: string;
  readonly thresholdSeconds: number;
  readonly groups: readonly GroupLag[];
}

export interface LagReportOptions {
  readonly thresholdMs: number;
  readonly groups: NameFilter;
  readonly topics: NameFilter;
  /** wall clock, ms since the epoch (compared with record timestamps) */
  readonly nowMs: () => number;
}

export async function collectLagReport(admin: KafkaAdmin, opts: LagReportOptions): Promise<LagReport> {
  const metadata = await admin.metadata();
  const known = new Set(metadata.topics.flatMap((t) => t.partitions.map((p) => tpKey(t.topic, p.partition))));

  const groupIds = (await admin.listGroups()).map((g) => g.groupId).filter(opts.groups);
  const committed = await admin.committedOffsets(groupIds);

  // Every partition some watched group has committed on, once.
  const partitions = new Map<string, TopicPartition>();
  for (const result of committed.values()) {
    if (!('offsets' in result)) continue;
    for (const [topic, parts] of result.offsets) {
      if (!opts.topics(topic)) continue;
      for (const partition of parts.keys()) {
        const key = tpKey(topic, partition);
        if (known.has(key)) partitions.set(key, { topic, partition });
      }
    }
  }
  const tps = [...partitions.values()];

  // One instant for the whole report: the exact test's timestamp and the reported seconds
  // both measure against it, so a partition's breach flag and its seconds agree.
  const nowMs = opts.nowMs();
  const [ends, thresholdOffsets] = await Promise.all([
    admin.endOffsets(tps),
    admin.offsetsForTimestamp(tps, nowMs - opts.thresholdMs),
  ]);
  const endOf = new Map(ends.map((e) => [tpKey(e.topic, e.partition), e]));
  const oOf = new Map(thresholdOffsets.map((o) => [tpKey(o.topic, o.partition), o.offset]));

  const probes: RecordProbeRequest[] = [];
  forEachCommitted(committed, opts, known, (_g, topic, partition, offset) => {
    const end = endOf.get(tpKey(topic, partition))?.offset;
    if (end !== null && end !== undefined && offset < end) probes.push({ topic, partition, offset });
  });
  const probed = probes.length > 0 ? await admin.probeRecords(probes) : new Map();

  const groups: GroupLag[] = [];
  for (const groupId of groupIds) {
    const result = committed.get(groupId);
    if (!result || !('offsets' in result)) {
      groups.push({ group: groupId, lagSeconds: null, lagMessages: null, breach: null, topics: [], error: result && 'error' in result ? result.error : 'no answer' });
      continue;
    }
    const topics: TopicLag[] = [];
    for (const [topic, parts] of result.offsets) {
      if (!opts.topics(topic)) continue;
      const rows: PartitionLag[] = [];
      for (const [partition, offset] of [...parts].sort((a, b) => a[0] - b[0])) {
        const key = tpKey(topic, partition);
        if (!known.has(key)) continue; // committed offsets of a deleted topic
        const end = endOf.get(key);
        const row = partitionLag({
          partition,
          committed: offset,
          end: end?.offset ?? null,
          thresholdOffset: oOf.get(key) ?? null,
          probe: probed.get(probeKey(topic, partition, offset)),
          nowMs,
        });
        rows.push(row.error === 'end offset unavailable' && end?.error ? { ...row, error: `end offset unavailable: ${end.error}` } : row);
      }
      if (rows.length > 0) topics.push({ topic, ...summarize(rows), partitions: rows });
    }
    if (topics.length === 0) continue; // nothing committed on a watched topic
    topics.sort(worstFirst);
    groups.push({ group: groupId, ...summarize(topics), topics });
  }
  groups.sort(worstFirst);
  return { generatedAt: new Date(nowMs).toISOString(), thresholdSeconds: opts.thresholdMs / 1000, groups };
}

function forEachCommitted(
  committed: ReadonlyMap<string, GroupOffsetsResult>,
  opts: LagReportOptions,
  known: ReadonlySet<string>,
  fn: (group: string, topic: string, partition: number, offset: number) => void,
): void {
  for (const [group, result] of committed) {
    if (!('offsets' in result)) continue;
    for (const [topic, parts] of result.offsets) {
      if (!opts.topics(topic)) continue;
      for (const [partition, offset] of parts) if (known.has(tpKey(topic, partition))) fn(group, topic, partition, offset);
    }
  }
}

/** Breaches first, then by latency, then by messages behind; unknowns after known ones. */
function worstFirst(a: LagSummary & { group?: string; topic?: string }, b: LagSummary & { group?: string; topic?: string }): number {
  const rank = (s: LagSummary) => (s.breach === true ? 0 : s.breach === null ? 1 : 2);
  return (
    rank(a) - rank(b) ||
    (b.lagSeconds ?? -1) - (a.lagSeconds ?? -1) ||
    (b.lagMessages ?? -1) - (a.lagMessages ?? -1) ||
    (a.group ?? a.topic ?? '').localeCompare(b.group ?? b.topic ?? '')
  );
}

/** Whether any known part of the report is in breach, and how many partitions are unknown. */
export function reportVerdict(report: LagReport): { breach: boolean; unknownPartitions: number; failedGroups: string[]; reasons: string[] } {
  let breach = false;
  let unknownPartitions = 0;
  const failedGroups: string[] = [];
  const reasons = new Set<string>();
  for (const g of report.groups) {
    if (g.error) {
      failedGroups.push(g.group);
      reasons.add(g.error);
    }
    for (const t of g.topics) {
      for (const p of t.partitions) {
        if (p.breach === true) breach = true;
        if (p.breach === null) {
          unknownPartitions++;
          if (p.error) reasons.add(p.error);
        }
      }
    }
  }
  return { breach, unknownPartitions, failedGroups, reasons: [...reasons] };
}

/**
 * The same report shape from the leader's latest snapshot (GET /api/v1/lag): the monitor's
 * numbers, so the API, the metrics and the pages agree. Groups that could not be read
 * carry `error`.
 */
export function lagReportFromSnapshot(groups: readonly import('./snapshot').GroupState[], takenAtMs: number, defaultThresholdMs: number): LagReport {
  const out: GroupLag[] = [];
  for (const g of groups) {
    if (g.error) {
      out.push({ group: g.group, lagSeconds: null, lagMessages: null, breach: null, topics: [], error: g.error });
      continue;
    }
    const byTopic = new Map<string, PartitionLag[]>();
    for (const p of g.partitions) {
      let rows = byTopic.get(p.topic);
      if (!rows) byTopic.set(p.topic, (rows = []));
      rows.push({
        partition: p.partition,
        committed: p.committed,
        end: p.end,
        lagMessages: p.lagMessages,
        lagSeconds: p.lagSeconds,
        breach: p.breach,
        ...(p.error ? { error: p.error } : {}),
      });
    }
    const topics: TopicLag[] = [...byTopic].map(([topic, rows]) => {
      rows.sort((a, b) => a.partition - b.partition);
      return { topic, ...summarize(rows), partitions: rows };
    });
    if (topics.length === 0) continue;
    topics.sort(worstFirst);
    out.push({ group: g.group, ...summarize(topics), topics });
  }
  out.sort(worstFirst);
  return { generatedAt: new Date(takenAtMs).toISOString(), thresholdSeconds: defaultThresholdMs / 1000, groups: out };
}
