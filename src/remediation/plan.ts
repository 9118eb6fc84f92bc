/**
 * Remediation plans (docs/design.md §5): what vigil would change in Kafka about one broker,
 * computed from a metadata snapshot alone — pure, deterministic, no I/O — so that the
 * same function serves `vigil plan`, dry-run pages and the executor, and a plan can be
 * tested and benchmarked without a cluster.
 *
 * Four kinds, each the smallest move for its situation:
 * - `lead-elsewhere`: every partition the broker leads gets a new replica order whose
 *   first replica is another in-sync member (the broker goes last), then a preferred
 *   election. Same replica set: nothing is copied. A partition already in that order
 *   gets the election alone.
 * - `evict`: the broker is dropped from the replica sets where it is in sync (as leader or
 *   follower), so neither consumers (the high watermark) nor acks=all producers wait for
 *   it; only where the rest of the ISR stays at or above the topic's min.insync.replicas.
 * - `give-back`: the replica lists an earlier plan changed are put back — only where the
 *   partition still has exactly what that plan set (anything else was changed by someone
 *   else and is left alone) — then preferred elections; replication throttled, since an
 *   evicted broker must catch up.
 * - `restore-rf`: every replica of a broker gone for good is moved to a live broker:
 *   another rack than the partition's other replicas where racks are set, the least loaded
 *   broker first; replication throttled.
 * - `unclean-elect` (only with `remediation.allowUncleanElection`): an offline partition —
 *   no leader, no live in-sync replica — gets an UNCLEAN election, which makes a live
 *   replica outside the ISR its leader: the partition is readable and writable again, and
 *   the records that replica never copied are lost. Broker -1: it is about partitions.
 *
 * What a plan cannot do for a partition is listed in `skipped` with the reason; a plan
 * larger than `maxPlanSize` is refused whole (`refused`), never cut.
 */
import { createHash } from 'node:crypto';
import type { ClusterMetadata, PartitionInfo } from '../kafka/types';
import type { RemediationPlanKind } from '../monitor/findings';

export type PlanKind = RemediationPlanKind;

export interface PartitionMove {
  readonly topic: string;
  readonly partition: number;
  readonly from: readonly number[];
  readonly to: readonly number[];
}

export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface SkippedPartition extends PartitionRef {
  readonly reason: string;
}

/** Replication throttles for the moves that copy data (Kafka's own throttle configs). */
export interface PlanThrottle {
  readonly bytesPerSec: number;
  /** Per topic: `leader.replication.throttled.replicas` / `follower.replication.throttled.replicas` values. */
  readonly topics: Readonly<Record<string, { readonly leader: string; readonly follower: string }>>;
  /** Brokers that send or receive copies: their `*.replication.throttled.rate` is set. */
  readonly brokers: readonly number[];
}

export interface Plan {
  /** Stable for the same kind, broker and moves: the same plan computed twice has one id. */
  readonly id: string;
  readonly kind: PlanKind;
  readonly broker: number;
  readonly reason: string;
  /** The finding that caused it, e.g. `broker:3 slow` (the cause vocabulary of monitor/). */
  readonly cause: string;
  readonly moves: readonly PartitionMove[];
  /** Preferred elections after the moves. */
  readonly elections: readonly PartitionRef[];
  readonly throttle: PlanThrottle | null;
  readonly skipped: readonly SkippedPartition[];
  /** Set when the plan must not run at all (e.g. larger than maxPlanSize). */
  readonly refused?: string;
  /**
   * evict: each moved topic's min.insync.replicas as planned with, so the executor can
   * re-check a move that drops a replica against the ISR it finds when it sends it.
   */
  readonly minIsr?: Readonly<Record<string, number>>;
  readonly createdAtMs: number;
  /** The election term of the leader that made it; 0 outside the service (`vigil plan`). */
  readonly term: number;
}

export interface PlanContext {
  readonly metadata: ClusterMetadata;
  /**
   * Effective min.insync.replicas per topic. Without a map every topic counts as 1; with
   * one, a topic missing from it is unknown, and evict never drops a replica of it.
   */
  readonly minIsr?: ReadonlyMap<string, number>;
  readonly maxPlanSize: number;
  readonly throttleBytesPerSec: number;
  readonly cause: string;
  readonly nowMs: number;
  readonly term: number;
  /** Brokers to leave out as targets besides the one planned for (e.g. other sick ones). */
  readonly avoid?: ReadonlySet<number>;
  /** Internal topics (__consumer_offsets, ...) are included unless false. */
  readonly includeInternal?: boolean;
  /**
   * Partitions (`topic/partition`) the plan must leave alone, with the reason (the
   * executor's cooldown): listed in `skipped`, never moved or elected.
   */
  readonly exclude?: ReadonlyMap<string, string>;
}

interface Scoped {
  readonly topic: string;
  readonly p: PartitionInfo;
}

function partitions(ctx: PlanContext): Scoped[] {
  const out: Scoped[] = [];
  for (const t of ctx.metadata.topics) {
    if (t.isInternal && ctx.includeInternal === false) continue;
    for (const p of t.partitions) out.push({ topic: t.topic, p });
  }
  return out;
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The broker's partitions led elsewhere: another in-sync replica first, the broker last. */
export function planLeadElsewhere(ctx: PlanContext, broker: number): Plan {
  const moves: PartitionMove[] = [];
  const elections: PartitionRef[] = [];
  const skipped: SkippedPartition[] = [];
  const live = liveBrokers(ctx);
  for (const { topic, p } of partitions(ctx)) {
    if (p.leader !== broker) continue;
    const next = p.replicas.find((r) => r !== broker && p.isr.includes(r) && live.has(r) && !ctx.avoid?.has(r));
    if (next === undefined) {
      skipped.push({ topic, partition: p.partition, reason: `no other in-sync replica to lead (ISR ${p.isr.join(',') || 'empty'})` });
      continue;
    }
    const to = [next, ...p.replicas.filter((r) => r !== next && r !== broker), broker];
    // already in that order (an earlier plan's reassignment done, its election not): elect only
    if (!same(to, p.replicas)) moves.push({ topic, partition: p.partition, from: p.replicas, to });
    elections.push({ topic, partition: p.partition });
  }
  const n = elections.length;
  return finish(ctx, 'lead-elsewhere', broker, `move leadership of ${n} partition${n === 1 ? '' : 's'} off broker ${broker}`, moves, elections, skipped, false);
}

/** The broker out of every replica set where it is in sync, where min.insync.replicas allows. */
export function planEvict(ctx: PlanContext, broker: number): Plan {
  const moves: PartitionMove[] = [];
  const elections: PartitionRef[] = [];
  const skipped: SkippedPartition[] = [];
  for (const { topic, p } of partitions(ctx)) {
    if (!p.replicas.includes(broker) || !p.isr.includes(broker)) continue;
    const restIsr = p.isr.filter((r) => r !== broker);
    // without a map every topic counts as 1; a topic the map lacks is unknown: never dropped
    const minIsr = ctx.minIsr === undefined ? 1 : ctx.minIsr.get(topic);
    if (minIsr === undefined || restIsr.length < Math.max(1, minIsr)) {
      const reason = minIsr === undefined ? "its min.insync.replicas is unknown (DescribeConfigs did not say)" : `the rest of the ISR (${restIsr.join(',') || 'none'}) would be below min.insync.replicas ${minIsr}`;
      // it stays in the set; where it leads and another in-sync replica can, that one leads
      const next = p.leader === broker ? restIsr[0] : undefined;
      if (next === undefined) {
        skipped.push({ topic, partition: p.partition, reason });
        continue;
      }
      const to = [next, ...p.replicas.filter((r) => r !== next && r !== broker), broker];
      if (!same(to, p.replicas)) moves.push({ topic, partition: p.partition, from: p.replicas, to });
      elections.push({ topic, partition: p.partition });
      skipped.push({ topic, partition: p.partition, reason: `${reason}: kept as the last replica, led by ${next} instead` });
      continue;
    }
    // in-sync members first, in their current order, so the preferred leader is one of them
    const rest = p.replicas.filter((r) => r !== broker);
    const to = [...rest.filter((r) => restIsr.includes(r)), ...rest.filter((r) => !restIsr.includes(r))];
    moves.push({ topic, partition: p.partition, from: p.replicas, to });
    if (p.leader === broker || p.leader !== to[0]) elections.push({ topic, partition: p.partition });
  }
  const plan = finish(ctx, 'evict', broker, `drop broker ${broker} from ${moves.length} in-sync replica set${moves.length === 1 ? '' : 's'}`, moves, elections, skipped, false);
  const minIsr: Record<string, number> = {};
  for (const m of plan.moves) minIsr[m.topic] = ctx.minIsr?.get(m.topic) ?? 1; // a dropping move's topic is known (above)
  return { ...plan, minIsr };
}

/**
 * Undo `changed` (the moves of earlier plans about `broker`): each partition back to its
 * `from`, where it still has the `to` vigil set.
 */
export function planGiveBack(ctx: PlanContext, broker: number, changed: readonly PartitionMove[]): Plan {
  const byKey = new Map<string, PartitionInfo>();
  for (const { topic, p } of partitions({ ...ctx, includeInternal: true })) byKey.set(`${topic}\u0000${p.partition}`, p);
  const moves: PartitionMove[] = [];
  const elections: PartitionRef[] = [];
  const skipped: SkippedPartition[] = [];
  for (const m of changed) {
    const p = byKey.get(`${m.topic}\u0000${m.partition}`);
    if (p === undefined) {
      skipped.push({ topic: m.topic, partition: m.partition, reason: 'the partition no longer exists' });
      continue;
    }
    if (!same(p.replicas, m.to)) {
      skipped.push({ topic: m.topic, partition: m.partition, reason: `changed since vigil moved it (now ${p.replicas.join(',')}, vigil set ${m.to.join(',')}): left alone` });
      continue;
    }
    moves.push({ topic: m.topic, partition: m.partition, from: p.replicas, to: m.from });
    elections.push({ topic: m.topic, partition: m.partition });
  }
  return finish(ctx, 'give-back', broker, `give back ${moves.length} partition${moves.length === 1 ? '' : 's'} to their replica order before broker ${broker} was moved off`, moves, elections, skipped, true);
}

/** Every replica on `broker` (gone for good) moved to a live broker, rack-aware, least loaded first. */
export function planRestoreReplicationFactor(ctx: PlanContext, broker: number): Plan {
  const live = [...liveBrokers(ctx)].filter((b) => b !== broker && !ctx.avoid?.has(b));
  const rackOf = new Map(ctx.metadata.brokers.map((b) => [b.nodeId, b.rack]));
  const racked = ctx.metadata.brokers.some((b) => b.rack !== null);
  // load: replicas each broker holds now, plus what this plan gives it
  const load = new Map<number, number>(live.map((b) => [b, 0]));
  for (const { p } of partitions({ ...ctx, includeInternal: true })) for (const r of p.replicas) if (load.has(r)) load.set(r, (load.get(r) ?? 0) + 1);
  const moves: PartitionMove[] = [];
  const elections: PartitionRef[] = [];
  const skipped: SkippedPartition[] = [];
  for (const { topic, p } of partitions(ctx)) {
    const at = p.replicas.indexOf(broker);
    if (at < 0) continue;
    const others = p.replicas.filter((r) => r !== broker);
    const usedRacks = new Set(others.map((r) => rackOf.get(r) ?? null));
    const candidates = live.filter((b) => !others.includes(b));
    if (candidates.length === 0) {
      skipped.push({ topic, partition: p.partition, reason: `no live broker outside its replica set (${p.replicas.join(',')})` });
      continue;
    }
    // a rack not yet used by the partition first, then the least loaded, then the lowest id
    const score = (b: number) => (racked && usedRacks.has(rackOf.get(b) ?? null) ? 1 : 0);
    const target = candidates.reduce((best, b) => {
      const d = score(b) - score(best) || (load.get(b) ?? 0) - (load.get(best) ?? 0) || b - best;
      return d < 0 ? b : best;
    });
    load.set(target, (load.get(target) ?? 0) + 1);
    const to = [...p.replicas];
    to[at] = target;
    moves.push({ topic, partition: p.partition, from: p.replicas, to });
    if (p.leader === -1 || p.leader === broker) elections.push({ topic, partition: p.partition });
  }
  return finish(ctx, 'restore-rf', broker, `restore the replication factor of ${moves.length} partition${moves.length === 1 ? '' : 's'} that had a replica on broker ${broker}`, moves, elections, skipped, true);
}

/**
 * Unclean elections for the offline partitions (leader -1) that still have a live replica;
 * one with none at all is skipped (only bringing a broker back helps it).
 */
export function planUncleanElect(ctx: PlanContext): Plan {
  const live = liveBrokers(ctx);
  const elections: PartitionRef[] = [];
  const skipped: SkippedPartition[] = [];
  for (const t of ctx.metadata.topics) {
    for (const p of t.partitions) {
      if (p.leader !== -1) continue;
      if (p.replicas.some((r) => live.has(r) && !ctx.avoid?.has(r))) elections.push({ topic: t.topic, partition: p.partition });
      else skipped.push({ topic: t.topic, partition: p.partition, reason: `no live replica (replicas ${p.replicas.join(', ')}): bring one of them back` });
    }
  }
  const n = elections.length;
  return finish(ctx, 'unclean-elect', -1, `elect a leader outside the ISR for ${n} offline partition${n === 1 ? '' : 's'} (UNCLEAN: records not copied to the new leader are lost)`, [], elections, skipped, false);
}

function liveBrokers(ctx: PlanContext): Set<number> {
  return new Set(ctx.metadata.brokers.map((b) => b.nodeId));
}

function finish(
  ctx: PlanContext,
  kind: PlanKind,
  broker: number,
  reason: string,
  moves: PartitionMove[],
  elections: PartitionRef[],
  skipped: SkippedPartition[],
  copies: boolean,
): Plan {
  const order = (a: PartitionRef, b: PartitionRef) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition);
  if (ctx.exclude && ctx.exclude.size > 0) {
    const reasonOf = (r: PartitionRef) => ctx.exclude?.get(`${r.topic}/${r.partition}`);
    for (const r of [...moves, ...elections.filter((e) => !moves.some((m) => m.topic === e.topic && m.partition === e.partition))]) {
      const reason = reasonOf(r);
      if (reason !== undefined) skipped.push({ topic: r.topic, partition: r.partition, reason });
    }
    moves = moves.filter((m) => reasonOf(m) === undefined);
    elections = elections.filter((e) => reasonOf(e) === undefined);
  }
  moves.sort(order);
  elections.sort(order);
  skipped.sort(order);
  const throttle = copies && moves.some((m) => m.to.some((r) => !m.from.includes(r))) ? throttleFor(moves, ctx.throttleBytesPerSec) : null;
  const id = `${kind}-${broker}-${createHash('sha256')
    .update(JSON.stringify([kind, broker, moves.map((m) => [m.topic, m.partition, m.from, m.to]), ...(kind === 'unclean-elect' ? [elections.map((e) => [e.topic, e.partition])] : [])]))
    .digest('hex')
    .slice(0, 12)}`;
  const size = Math.max(moves.length, kind === 'unclean-elect' ? elections.length : 0);
  const refused = size > ctx.maxPlanSize ? `${size} partition ${kind === 'unclean-elect' ? 'elections' : 'moves'} exceed remediation.maxPlanSize (${ctx.maxPlanSize}); raise it or act by hand (vigil plan prints the moves)` : undefined;
  return { id, kind, broker, reason, cause: ctx.cause, moves, elections, throttle, skipped, ...(refused ? { refused } : {}), createdAtMs: ctx.nowMs, term: ctx.term };
}

/**
 * Kafka's throttle configs for a set of moves, as kafka-reassign-partitions sets them:
 * the leader throttle on the replicas that send (the current ones), the follower throttle
 * on the ones that receive (new to the set), the rate on every broker involved.
 */
function throttleFor(moves: readonly PartitionMove[], bytesPerSec: number): PlanThrottle {
  const topics: Record<string, { leader: string[]; follower: string[] }> = {};
  const brokers = new Set<number>();
  for (const m of moves) {
    const adding = m.to.filter((r) => !m.from.includes(r));
    if (adding.length === 0) continue;
    const t = (topics[m.topic] ??= { leader: [], follower: [] });
    for (const r of m.from) {
      t.leader.push(`${m.partition}:${r}`);
      brokers.add(r);
    }
    for (const r of adding) {
      t.follower.push(`${m.partition}:${r}`);
      brokers.add(r);
    }
  }
  return {
    bytesPerSec,
    topics: Object.fromEntries(Object.entries(topics).map(([k, v]) => [k, { leader: v.leader.join(','), follower: v.follower.join(',') }])),
    brokers: [...brokers].sort((a, b) => a - b),
  };
}

/**
 * The plan's elections in the JSON `kafka-leader-election.sh --path-to-json-file` reads (for
 * an `unclean-elect` plan, with `--election-type unclean`; for the others' preferred
 * elections, `--election-type preferred`).
 */
export function electionJson(plan: Pick<Plan, 'elections'>): { partitions: Array<{ topic: string; partition: number }> } {
  return { partitions: plan.elections.map((e) => ({ topic: e.topic, partition: e.partition })) };
}

/** The plan's moves in the JSON `kafka-reassign-partitions.sh --reassignment-json-file` reads. */
export function reassignmentJson(plan: Pick<Plan, 'moves'>): { version: 1; partitions: Array<{ topic: string; partition: number; replicas: number[] }> } {
  return { version: 1, partitions: plan.moves.map((m) => ({ topic: m.topic, partition: m.partition, replicas: [...m.to] })) };
}
