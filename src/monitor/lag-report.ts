/**
 * The one-shot delivery-latency report behind `vigil lag` (docs/design.md §7): every watched
 * group, per topic and partition, by the exact threshold test of docs/design.md §3, run by
 * the same pipeline as the service's (delivery-latency.ts), without a history: every
 * partition behind is probed for the record at its committed offset.
 *
 * Requests per run, whatever the number of groups and partitions: one Metadata, one
 * ListGroups per broker, one FindCoordinator + OffsetFetch (a share group:
 * DescribeShareGroupOffsets) per group, one describe request per coordinator and group
 * type (type, state, members and their partitions), one ListOffsets
 * (latest) per partition leader, one ListOffsets (by timestamp) per leader of a lagging
 * partition, and one Fetch per leader for the lagging partitions (more only when several
 * groups lag on the same partition).
 */
import type { GroupMember, GroupType, KafkaAdmin, TopicPartition } from '../kafka/types';
import { tpKey } from '../kafka/types';
import type { NameFilter } from '../util/glob';
import { DeliveryLatency, type LaggingRow, PartitionIndex, type RowLatency } from './delivery-latency';
import { type LagSummary, type PartitionLag, partitionLag, roundSeconds, summarize } from './latency';

/** A member a partition is assigned to, as `kafka-consumer-groups.sh --describe` shows it. */
export interface PartitionConsumer {
  readonly memberId: string;
  readonly clientId: string;
  /** as the group's coordinator saw it, e.g. "/10.0.0.5" */
  readonly host: string;
}

/**
 * A partition's row: its lag, and the members assigned the partition (one in a consumer
 * group, possibly several in a share group); absent when none is (the group is empty or
 * rebalancing) or the group's members cannot say (see GroupMember.assignment).
 */
export interface ReportPartition extends PartitionLag, BreachIn {
  readonly consumers?: readonly PartitionConsumer[];
}

/**
 * Time to breach (docs/design.md §3.8): seconds until the row breaches its threshold if the
 * group commits nothing more — 0 in breach; null when it is not behind, or when that is
 * unknown (no exact test, or the record at its committed offset has no known time).
 */
export interface BreachIn {
  readonly breachInSeconds: number | null;
  /** false when breachInSeconds is an estimate (not from the record at c's own timestamp); absent when exact */
  readonly breachInExact?: false;
}

export interface TopicLag extends LagSummary {
  readonly topic: string;
  /** the soonest breach over the partitions whose time to breach is known (0: one is in breach); null when none is */
  readonly breachInSeconds: number | null;
  readonly partitions: readonly ReportPartition[];
}

export interface GroupLag extends LagSummary {
  readonly group: string;
  /** the soonest over the group's topics, likewise */
  readonly breachInSeconds: number | null;
  /** classic, consumer, share, streams or simple; absent when the group could not be described */
  readonly type?: GroupType;
  /** as the group's describe request names it ('' or absent: unknown) */
  readonly state?: string;
  /** how many members the group has; absent when it could not be described */
  readonly members?: number;
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
  const index = new PartitionIndex(metadata.topics.filter((t) => opts.topics(t.topic)));

  const groupIds = (await admin.listGroups()).map((g) => g.groupId).filter(opts.groups);
  const [committed, described] = await Promise.all([admin.committedOffsets(groupIds), admin.describeGroups(groupIds)]);

  // Every watched group's committed offsets on partitions the metadata lists (not those of
  // a deleted topic), partitions in order.
  const positions = new Map<string, Map<string, [partition: number, offset: number][]>>();
  const partitions = new Map<number, TopicPartition>();
  for (const groupId of groupIds) {
    const result = committed.get(groupId);
    if (!result || !('offsets' in result)) continue;
    const topics = new Map<string, [number, number][]>();
    positions.set(groupId, topics);
    for (const [topic, parts] of result.offsets) {
      if (!opts.topics(topic)) continue;
      const rows = [...parts].filter(([partition]) => index.of(topic, partition) >= 0).sort((a, b) => a[0] - b[0]);
      topics.set(topic, rows);
      for (const [partition] of rows) partitions.set(index.of(topic, partition), { topic, partition });
    }
  }

  // One instant for the whole report: the exact test's timestamp and the reported seconds
  // both measure against it, so a partition's breach flag and its seconds agree.
  const nowMs = opts.nowMs();
  const ends = await admin.endOffsets([...partitions.values()]);
  const endOf = new Map(ends.map((e) => [tpKey(e.topic, e.partition), e]));

  // The rows behind their end: the pipeline's input, tested at the one threshold.
  const values = { thresholdMs: opts.thresholdMs, resolveBelowMs: opts.thresholdMs };
  const lagging: LaggingRow[] = [];
  for (const [group, topics] of positions) {
    for (const [topic, rows] of topics) {
      for (const [partition, offset] of rows) {
        const end = endOf.get(tpKey(topic, partition))?.offset;
        if (end !== null && end !== undefined && offset < end) lagging.push({ group, topic, partition, idx: index.of(topic, partition), committed: offset, rule: values });
      }
    }
  }
  const pipeline = new DeliveryLatency(admin, { maxProbes: Number.POSITIVE_INFINITY, untested: 'unknown' });
  const results = await pipeline.measure(lagging, index, nowMs);
  const measured = new Map<string, RowLatency>();
  lagging.forEach((row, i) => measured.set(rowKey(row.group, row.idx), results[i] as RowLatency));

  const groups: GroupLag[] = [];
  for (const groupId of groupIds) {
    const result = committed.get(groupId);
    const topicsOf = positions.get(groupId);
    const d = described.get(groupId);
    const identity = groupIdentity(d?.error === undefined ? d?.type : undefined, d?.error === undefined ? d?.state : undefined, d?.memberList);
    if (!result || !('offsets' in result) || !topicsOf) {
      groups.push({ group: groupId, ...identity, lagSeconds: null, lagMessages: null, breach: null, breachInSeconds: null, topics: [], error: result && 'error' in result ? result.error : 'no answer' });
      continue;
    }
    const consumers = consumersByPartition(d?.memberList);
    const topics: TopicLag[] = [];
    for (const [topic, parts] of topicsOf) {
      const rows: ReportPartition[] = [];
      for (const [partition, offset] of parts) {
        const end = endOf.get(tpKey(topic, partition));
        const m = measured.get(rowKey(groupId, index.of(topic, partition)));
        const lag = partitionLag({ partition, committed: offset, end: end?.offset ?? null, ...(m ? { measured: m } : {}) });
        const row = { ...lag, ...breachIn(lag.breach, lag.lagMessages, m?.breachAtMs ?? undefined, m?.breachAtExact, nowMs) };
        rows.push(withConsumers(row.error === 'end offset unavailable' && end?.error ? { ...row, error: `end offset unavailable: ${end.error}` } : row, consumers.get(tpKey(topic, partition))));
      }
      if (rows.length > 0) topics.push({ topic, ...summarize(rows), breachInSeconds: soonest(rows), partitions: rows });
    }
    if (topics.length === 0) continue; // nothing committed on a watched topic
    topics.sort(worstFirst);
    groups.push({ group: groupId, ...identity, ...summarize(topics), breachInSeconds: soonest(topics), topics });
  }
  groups.sort(worstFirst);
  return { generatedAt: new Date(nowMs).toISOString(), thresholdSeconds: opts.thresholdMs / 1000, groups };
}

/** A group's type, state and member count, for the fields that are known. */
function groupIdentity(type: GroupType | undefined, state: string | undefined, members: readonly GroupMember[] | undefined): Pick<GroupLag, 'type' | 'state' | 'members'> {
  return { ...(type ? { type } : {}), ...(state ? { state } : {}), ...(members ? { members: members.length } : {}) };
}

/** tpKey → the members assigned that partition, in member order. */
export function consumersByPartition(members: readonly GroupMember[] | undefined): Map<string, PartitionConsumer[]> {
  const out = new Map<string, PartitionConsumer[]>();
  for (const m of members ?? []) {
    for (const { topic, partitions } of m.assignment ?? []) {
      for (const p of partitions) {
        const key = tpKey(topic, p);
        let list = out.get(key);
        if (!list) out.set(key, (list = []));
        list.push({ memberId: m.memberId, clientId: m.clientId, host: m.host });
      }
    }
  }
  return out;
}

/**
 * A row's time to breach at `nowMs` (docs/design.md §3.8): 0 when the exact test says breach;
 * for a row behind and not in breach, the seconds until its breach instant (breachAtMs: the
 * record at c's timestamp + threshold, estimated where `exact` is not true), never below 0;
 * null otherwise (caught up, or unknown).
 */
export function breachIn(breach: boolean | null, lagMessages: number | null, breachAtMs: number | undefined, exact: boolean | undefined, nowMs: number): BreachIn {
  const breachInSeconds = breachInSecondsOf(breach, lagMessages, breachAtMs, nowMs);
  // only a prediction (behind, not in breach) can be an estimate
  if (breachInSeconds === null || breach === true || exact === true) return { breachInSeconds };
  return { breachInSeconds, breachInExact: false };
}

/** breachIn()'s seconds alone (no object), for the metrics' pass over every row. */
export function breachInSecondsOf(breach: boolean | null, lagMessages: number | null, breachAtMs: number | undefined, nowMs: number): number | null {
  if (lagMessages === 0) return null;
  if (breach === true) return 0;
  if (breach === false && breachAtMs !== undefined) return roundSeconds(Math.max(0, breachAtMs - nowMs) / 1000);
  return null;
}

/** The soonest known time to breach over some parts; null when none is known. */
function soonest(parts: readonly { readonly breachInSeconds: number | null }[]): number | null {
  let min: number | null = null;
  for (const p of parts) if (p.breachInSeconds !== null && (min === null || p.breachInSeconds < min)) min = p.breachInSeconds;
  return min;
}

function withConsumers(row: PartitionLag & BreachIn, consumers: readonly PartitionConsumer[] | undefined): ReportPartition {
  return consumers && consumers.length > 0 ? { ...row, consumers } : row;
}

function rowKey(group: string, idx: number): string {
  return `${idx}\n${group}`;
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
    const identity = groupIdentity(g.type, g.state, g.members);
    if (g.error) {
      out.push({ group: g.group, ...identity, lagSeconds: null, lagMessages: null, breach: null, breachInSeconds: null, topics: [], error: g.error });
      continue;
    }
    const consumers = consumersByPartition(g.members);
    const byTopic = new Map<string, ReportPartition[]>();
    for (const p of g.partitions) {
      let rows = byTopic.get(p.topic);
      if (!rows) byTopic.set(p.topic, (rows = []));
      const row: PartitionLag & BreachIn = {
        partition: p.partition,
        committed: p.committed,
        end: p.end,
        lagMessages: p.lagMessages,
        lagSeconds: p.lagSeconds,
        breach: p.breach,
        ...breachIn(p.breach, p.lagMessages, p.breachAtMs, p.breachAtExact, takenAtMs),
        ...(p.error ? { error: p.error } : {}),
      };
      rows.push(withConsumers(row, consumers.get(tpKey(p.topic, p.partition))));
    }
    const topics: TopicLag[] = [...byTopic].map(([topic, rows]) => {
      rows.sort((a, b) => a.partition - b.partition);
      return { topic, ...summarize(rows), breachInSeconds: soonest(rows), partitions: rows };
    });
    if (topics.length === 0) continue;
    topics.sort(worstFirst);
    out.push({ group: g.group, ...identity, ...summarize(topics), breachInSeconds: soonest(topics), topics });
  }
  out.sort(worstFirst);
  return { generatedAt: new Date(takenAtMs).toISOString(), thresholdSeconds: defaultThresholdMs / 1000, groups: out };
}
