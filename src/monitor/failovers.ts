/**
 * The failover timeline (docs/monitoring.md "Failover timeline", docs/design.md §4.8): one
 * journal of leadership changes — vigil's own elections, the KRaft controller quorum's and
 * the partitions' — each with when, from, to, why (as far as vigil can know) and how long
 * nobody led.
 *
 * `FailoverTracker` is pure: the leader feeds it each cycle's snapshot (wall time inside)
 * and it returns the entries that are complete. It keeps what it needs between cycles and
 * nothing about the observer's internals. Windows come from consecutive snapshots, so each
 * bound is known to within one poll interval, and every window carries both observations
 * around each bound:
 *
 *   lostAfterMs  last snapshot in which the old leader led and was alive
 *   lostAtMs     first snapshot without a live leader
 *   ledAfterMs   last snapshot without a live leader (null: none fell inside the gap)
 *   ledAtMs      first snapshot with a live leader again
 *
 * so the true gap lies between ledAfterMs − lostAtMs and ledAtMs − lostAfterMs, and
 * `leaderlessMs` = ledAtMs − lostAtMs (both bounds late by less than a poll interval) is
 * the estimate shown. A change that happened between two snapshots (a preferred election)
 * shows leaderlessMs 0 and at most ledAtMs − lostAfterMs.
 *
 * A partition has a live leader when the metadata names one and that broker is in the
 * metadata and answered vigil's ping this cycle: a killed broker's partitions are leaderless
 * from the first snapshot that finds it unreachable, although the metadata still names it
 * until the controller fences it. Partition changes are grouped per cause (the broker that
 * died, the live broker that handed over, the preferred replica that took back) into one
 * entry: "broker 3 unreachable, then fenced: 412 partitions moved, 410 led again within
 * 1.2 s, 2 offline for 9.1 s". An entry is written once every partition in it is led again
 * and a snapshot passed without a new one joining (so one failover is one entry), or, for
 * partitions still leaderless after `maxOpenMs`, with them listed as still leaderless (they
 * then continue in the next entry of the same cause). Entries without a leader change or an
 * offline partition (the same broker leading again after vigil lost sight of it) are not
 * written.
 */
import type { VigilElection } from '../election/leader-history';
import type { BrokerState, KafkaSnapshot, PartitionState } from './snapshot';

export type FailoverKind = 'vigil' | 'controller' | 'partitions';

/** Where a leaderless window's bounds lie (wall ms; see the module comment). */
export interface WindowBounds {
  readonly lostAfterMs: number | null;
  readonly lostAtMs: number;
  readonly ledAfterMs: number | null;
  readonly ledAtMs: number | null;
}

export interface PartitionWindow extends WindowBounds {
  readonly topic: string;
  readonly partition: number;
  /** the leader before (-1 when vigil never saw one) */
  readonly from: number;
  /** the leader after; null while still leaderless */
  readonly to: number | null;
  /** the metadata named no leader at all at some point (no in-sync replica to elect) */
  readonly offline: boolean;
  /** ledAtMs − lostAtMs; null while still leaderless */
  readonly leaderlessMs: number | null;
  /** the most it can have been: ledAtMs − lostAfterMs (null when either is unknown) */
  readonly maxLeaderlessMs: number | null;
}

/** One journal entry, as /api/v1/failovers serves it (with the id, term and writer the store adds). */
export interface FailoverEntry {
  readonly kind: FailoverKind;
  /** when it began (wall ms) */
  readonly timeMs: number;
  /** when a leader led again (wall ms); null while not (partitions still leaderless) */
  readonly endMs: number | null;
  readonly from: string | number | null;
  readonly to: string | number | readonly number[] | null;
  /** why, in words, as far as vigil can know */
  readonly reason: string;
  /** how long nobody led (the longest partition's, for a partitions entry); null when unknown */
  readonly leaderlessMs: number | null;
  /** the bounds are known to within this (the longest gap between the snapshots involved; 0 for vigil's own) */
  readonly precisionMs: number;
  readonly summary: string;
  readonly detail: Record<string, unknown>;
}

export interface FailoverTrackerOptions {
  /** write partitions still leaderless after this long (default 60 s) */
  readonly maxOpenMs?: number;
  /** partitions listed per entry, longest window first (default 200); the rest are counted */
  readonly maxListed?: number;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

interface Live {
  readonly state: 'led';
  readonly leader: number;
  readonly seenMs: number;
}

interface Lost {
  readonly state: 'lost';
  readonly from: number;
  readonly lostAfterMs: number | null;
  readonly lostAtMs: number;
  ledAfterMs: number;
  offline: boolean;
  /** the episode (cause) it belongs to */
  readonly episode: Episode;
}

interface Episode {
  readonly key: string;
  /** the broker it is about (-1 for none) */
  readonly broker: number;
  reason: string;
  fenced: boolean;
  readonly startMs: number;
  /** snapshot time at which a partition last joined */
  lastJoinMs: number;
  open: number;
  readonly closed: PartitionWindow[];
  /** the longest gap between snapshots while it was open */
  precisionMs: number;
}

/** The controller quorum as last described with a leader. */
interface QuorumSeen {
  readonly leaderId: number;
  readonly epoch: number;
  readonly seenMs: number;
  /** first/last observation without a leader since then (null: none) */
  readonly leaderlessFromMs: number | null;
  readonly leaderlessToMs: number | null;
}

export class FailoverTracker {
  private readonly partitions = new Map<string, Live | Lost>();
  private readonly episodes = new Map<string, Episode>();
  private quorum: QuorumSeen | null = null;
  private lastMs: number | null = null;
  /** the gap between this snapshot and the one before (a window's bounds are this uncertain) */
  private gapMs = 0;
  private readonly maxOpenMs: number;
  private readonly maxListed: number;

  constructor(opts: FailoverTrackerOptions = {}) {
    this.maxOpenMs = opts.maxOpenMs ?? 60_000;
    this.maxListed = opts.maxListed ?? 200;
  }

  /** Partitions without a live leader after the last snapshot (for the gauge). */
  leaderlessPartitions(): number {
    let n = 0;
    for (const p of this.partitions.values()) if (p.state === 'lost') n++;
    return n;
  }

  /** One cycle's snapshot → the entries complete now (oldest first). A failed snapshot tells nothing. */
  observe(snap: KafkaSnapshot): FailoverEntry[] {
    if (!snap.ok) return [];
    const t = snap.takenAtMs;
    const prev = this.lastMs;
    this.lastMs = t;
    const gap = prev === null ? 0 : Math.max(0, t - prev);
    this.gapMs = gap;
    const brokers = new Map(snap.brokers.map((b) => [b.nodeId, b]));
    const out: FailoverEntry[] = [];
    const controller = this.observeQuorum(snap, brokers, t, gap);
    if (controller) out.push(controller);
    for (const e of this.episodes.values()) {
      e.precisionMs = Math.max(e.precisionMs, gap);
      if (e.broker >= 0 && e.key.startsWith('broker:') && brokers.get(e.broker)?.inMetadata === false) e.fenced = true;
    }
    const seen = new Set<string>();
    for (const p of snap.partitions) {
      const key = tpKey(p.topic, p.partition);
      seen.add(key);
      this.observePartition(key, p, brokers, t);
    }
    for (const [key, s] of this.partitions) {
      if (seen.has(key)) continue;
      // deleted (or no longer watched): it leaves its episode without a window
      this.partitions.delete(key);
      if (s.state === 'lost') s.episode.open--;
    }
    for (const [key, e] of [...this.episodes]) {
      const settled = e.open === 0 && e.lastJoinMs < t;
      const overdue = e.open > 0 && t - e.startMs >= this.maxOpenMs;
      if (!settled && !overdue) continue;
      this.episodes.delete(key);
      const stillOpen: PartitionWindow[] = [];
      if (overdue) {
        for (const [pk, s] of this.partitions) {
          if (s.state !== 'lost' || s.episode !== e) continue;
          const [topic, partition] = splitKey(pk);
          stillOpen.push(windowOf(topic, partition, s, null, null, s.ledAfterMs));
          // it continues in a new episode of the same cause
          const next = this.episodeFor(e.key, e.broker, e.reason, t);
          next.open++;
          next.fenced = e.fenced;
          this.partitions.set(pk, { ...s, episode: next });
        }
      }
      const entry = partitionsEntry(e, stillOpen, this.maxListed, t);
      if (entry) out.push(entry);
    }
    return out;
  }

  private observePartition(key: string, p: PartitionState, brokers: ReadonlyMap<number, BrokerState>, t: number): void {
    const before = this.partitions.get(key);
    const live = p.leader >= 0 && isLive(brokers.get(p.leader));
    if (live) {
      if (before === undefined || before.state === 'led') {
        if (before !== undefined && before.leader !== p.leader) {
          // changed between two snapshots: no leaderless snapshot fell inside
          const cause = this.causeOf(before.leader, p, brokers);
          const e = this.episodeFor(cause.key, cause.broker, cause.reason, t);
          e.lastJoinMs = t;
          e.closed.push(windowOf(p.topic, p.partition, { from: before.leader, lostAfterMs: before.seenMs, lostAtMs: t, offline: false }, p.leader, t, null));
        }
        this.partitions.set(key, { state: 'led', leader: p.leader, seenMs: t });
        return;
      }
      // led again
      before.episode.open--;
      before.episode.closed.push(windowOf(p.topic, p.partition, before, p.leader, t, before.ledAfterMs));
      this.partitions.set(key, { state: 'led', leader: p.leader, seenMs: t });
      return;
    }
    if (before !== undefined && before.state === 'lost') {
      before.ledAfterMs = t;
      if (p.leader < 0) before.offline = true;
      return;
    }
    const from = before?.leader ?? p.leader;
    const cause = this.causeOf(from, p, brokers);
    const e = this.episodeFor(cause.key, cause.broker, cause.reason, t);
    e.open++;
    e.lastJoinMs = t;
    this.partitions.set(key, {
      state: 'lost',
      from,
      // vigil never saw it led: the start is unknown
      lostAfterMs: before === undefined ? null : before.seenMs,
      lostAtMs: t,
      ledAfterMs: t,
      offline: p.leader < 0,
      episode: e,
    });
  }

  /** Why partition `p` lost (or changed) its leader `from`, as far as this snapshot tells. */
  private causeOf(from: number, p: PartitionState, brokers: ReadonlyMap<number, BrokerState>): { key: string; broker: number; reason: string } {
    const old = from >= 0 ? brokers.get(from) : undefined;
    if (from >= 0 && !isLive(old)) return { key: `broker:${from}`, broker: from, reason: brokerDown(from, old) };
    if (p.leader >= 0 && !isLive(brokers.get(p.leader))) return { key: `broker:${p.leader}`, broker: p.leader, reason: brokerDown(p.leader, brokers.get(p.leader)) };
    if (p.leader < 0) return { key: 'offline', broker: -1, reason: 'partitions lost their leader while their leader broker was up (no in-sync replica could lead)' };
    if (p.replicas[0] === p.leader) return { key: `preferred:${p.leader}`, broker: p.leader, reason: `preferred leader election: broker ${p.leader} leads again` };
    return { key: `handover:${from}`, broker: from, reason: `broker ${from} handed leadership over while up (controlled shutdown, reassignment or leader election)` };
  }

  private episodeFor(key: string, broker: number, reason: string, t: number): Episode {
    let e = this.episodes.get(key);
    if (!e) {
      e = { key, broker, reason, fenced: false, startMs: t, lastJoinMs: t, open: 0, closed: [], precisionMs: this.gapMs };
      this.episodes.set(key, e);
    }
    return e;
  }

  private observeQuorum(snap: KafkaSnapshot & { ok: true }, brokers: ReadonlyMap<number, BrokerState>, t: number, gap: number): FailoverEntry | null {
    const q = snap.quorum;
    if (q.state === 'unobservable') return null;
    const seen = this.quorum;
    if (q.state === 'unanswered' || q.leaderId === null) {
      if (seen !== null) this.quorum = { ...seen, leaderlessFromMs: seen.leaderlessFromMs ?? t, leaderlessToMs: t };
      return null;
    }
    const now: QuorumSeen = { leaderId: q.leaderId, epoch: q.leaderEpoch, seenMs: t, leaderlessFromMs: null, leaderlessToMs: null };
    this.quorum = now;
    if (seen === null || q.leaderEpoch <= seen.epoch) return null;
    // A new epoch: an election.
    const w: WindowBounds = {
      lostAfterMs: seen.seenMs,
      lostAtMs: seen.leaderlessFromMs ?? t,
      ledAfterMs: seen.leaderlessToMs,
      ledAtMs: t,
    };
    const old = seen.leaderId;
    const oldVoter = q.voters.find((v) => v.nodeId === old);
    const oldBroker = brokers.get(old);
    let reason: string;
    if (old === q.leaderId) reason = `controller ${old} was elected again (it had lost its leadership: resigned or cut off)`;
    else if (oldBroker !== undefined && !isLive(oldBroker)) reason = `controller ${old} ${oldBroker.inMetadata ? 'unreachable' : 'gone from the metadata'} (its node is down or cut off)`;
    else if (oldVoter === undefined) reason = `controller ${old} is no longer a voter`;
    else if (oldVoter.lastFetchMs === null) reason = `controller ${old} has not fetched from the new leader (down or cut off)`;
    else reason = `controller ${old} resigned or lost its quorum (it still runs and follows the new leader)`;
    const leaderlessMs = t - w.lostAtMs;
    const precisionMs = Math.max(gap, w.lostAfterMs === null ? 0 : w.lostAtMs - w.lostAfterMs);
    return {
      kind: 'controller',
      timeMs: w.lostAtMs,
      endMs: t,
      from: old,
      to: q.leaderId,
      reason,
      leaderlessMs,
      precisionMs,
      summary: `KRaft controller ${old} → ${q.leaderId} (epoch ${seen.epoch} → ${q.leaderEpoch}): ${reason}; ${leaderlessMs === 0 ? `no leaderless snapshot (under ${seconds(t - seen.seenMs)} s)` : `leaderless for ${seconds(leaderlessMs)} s`}`,
      detail: { fromEpoch: seen.epoch, toEpoch: q.leaderEpoch, window: { ...w, leaderlessMs, maxLeaderlessMs: t - seen.seenMs } },
    };
  }
}

function isLive(b: BrokerState | undefined): boolean {
  return b !== undefined && b.reachable && b.inMetadata;
}

function brokerDown(id: number, b: BrokerState | undefined): string {
  if (b === undefined || !b.inMetadata) return `broker ${id} fenced (gone from the cluster metadata)`;
  return `broker ${id} unreachable${b.error ? ` (${b.error})` : ''}`;
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf('\u0000');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

function windowOf(
  topic: string,
  partition: number,
  s: { from: number; lostAfterMs: number | null; lostAtMs: number; offline: boolean },
  to: number | null,
  ledAtMs: number | null,
  ledAfterMs: number | null,
): PartitionWindow {
  return {
    topic,
    partition,
    from: s.from,
    to,
    offline: s.offline,
    lostAfterMs: s.lostAfterMs,
    lostAtMs: s.lostAtMs,
    ledAfterMs,
    ledAtMs,
    leaderlessMs: ledAtMs === null ? null : ledAtMs - s.lostAtMs,
    maxLeaderlessMs: ledAtMs === null || s.lostAfterMs === null ? null : ledAtMs - s.lostAfterMs,
  };
}

/** The journal entry of one episode, or null when nothing in it changed leader or went offline. */
function partitionsEntry(e: Episode, stillOpen: readonly PartitionWindow[], maxListed: number, nowMs: number): FailoverEntry | null {
  const moved = e.closed.filter((w) => w.to !== w.from);
  const offline = [...e.closed, ...stillOpen].filter((w) => w.offline);
  if (moved.length === 0 && offline.length === 0 && stillOpen.length === 0) return null;
  const all = [...stillOpen, ...e.closed];
  const quick = e.closed.filter((w) => !w.offline);
  const maxMs = (ws: readonly PartitionWindow[]): number => ws.reduce((m, w) => Math.max(m, w.leaderlessMs ?? 0), 0);
  const reason = e.fenced && e.reason.includes('unreachable') ? `${e.reason.replace(/ \(.*\)$/, '')}, then fenced` : e.reason;
  const parts: string[] = [];
  if (quick.length > 0) parts.push(`${quick.length} led again within ${seconds(maxMs(quick))} s`);
  const offClosed = offline.filter((w) => w.to !== null);
  if (offClosed.length > 0) parts.push(`${offClosed.length} offline for up to ${seconds(maxMs(offClosed))} s`);
  if (stillOpen.length > 0) parts.push(`${stillOpen.length} still leaderless after ${seconds(Math.max(...stillOpen.map((w) => nowMs - w.lostAtMs)))} s`);
  const sameLeader = e.closed.length - moved.length;
  const summary =
    `${reason}: ${count(moved.length, 'partition moved', 'partitions moved')}` +
    (sameLeader > 0 ? ` (${sameLeader} led by the same broker again)` : '') +
    (parts.length > 0 ? `, ${parts.join(', ')}` : '');
  const endMs = stillOpen.length > 0 ? null : Math.max(...e.closed.map((w) => w.ledAtMs ?? 0));
  const listed = [...all].sort((a, b) => (b.leaderlessMs ?? Infinity) - (a.leaderlessMs ?? Infinity) || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return {
    kind: 'partitions',
    timeMs: Math.min(...all.map((w) => w.lostAtMs)),
    endMs,
    from: e.broker >= 0 ? e.broker : null,
    to: [...new Set(moved.map((w) => w.to as number))].sort((a, b) => a - b),
    reason,
    leaderlessMs: stillOpen.length > 0 ? null : maxMs(e.closed),
    precisionMs: e.precisionMs,
    summary,
    detail: {
      cause: e.key,
      partitions: all.length,
      moved: moved.length,
      offline: offline.length,
      stillLeaderless: stillOpen.length,
      windows: listed.slice(0, maxListed),
      ...(listed.length > maxListed ? { windowsNotListed: listed.length - maxListed } : {}),
    },
  };
}

/** vigil's own election (src/election/leader-history.ts) as a journal entry. */
export function vigilElectionEntry(e: VigilElection & { readonly electedAtWallMs: number }): FailoverEntry {
  const reason = vigilReason(e);
  return {
    kind: 'vigil',
    timeMs: e.leaderlessMs === null ? e.electedAtWallMs : e.electedAtWallMs - Math.round(e.leaderlessMs),
    endMs: e.electedAtWallMs,
    from: e.from,
    to: e.to,
    reason,
    leaderlessMs: e.leaderlessMs === null ? null : Math.round(e.leaderlessMs),
    precisionMs: 0,
    summary:
      `vigil ${e.from ?? '(no leader known)'} → ${e.to} (term ${e.term}): ${reason}` +
      (e.leaderlessMs === null ? '' : `; ${Math.round(e.leaderlessMs)} ms without a leader`) +
      (e.campaigns > 1 ? ` (${e.campaigns} campaigns)` : ''),
    detail: { term: e.term, fromTerm: e.fromTerm, cause: e.reason, campaigns: e.campaigns },
  };
}

function vigilReason(e: VigilElection): string {
  const from = e.from ?? 'the leader';
  switch (e.reason) {
    case 'connection-lost':
      return `${from}'s connection dropped (its process died)`;
    case 'election-timeout':
      return `no heartbeat from ${from} within the election timeout (hung, paused, cut off, or its host died)`;
    case 'timeout-now':
      return `${from} handed leadership over (shutdown or POST /api/v1/leadership/transfer)`;
    case 'check-quorum':
      return `${from} lost its lease (no majority answered its heartbeats) and was elected again`;
    case 'transfer-timeout':
      return `${from}'s handover did not complete; it was elected again`;
    case 'start':
      return 'no leader was known (replica start)';
    default:
      return `campaign started on ${e.reason}`;
  }
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Seconds with one decimal: 1234 ms → "1.2". */
export function seconds(ms: number): string {
  return (Math.round(ms / 100) / 10).toFixed(1);
}
