/**
 * The failover journal's writer and reader (docs/monitoring.md "Failover timeline"): an
 * actor of the reconcile loop (./actor.ts) that feeds each cycle's snapshot to the
 * FailoverTracker (src/monitor/failovers.ts), adds vigil's own election when this replica takes
 * over, keeps the failover metrics, and appends the entries to Redis — fenced by the term,
 * so only the current term's leader adds to the journal — plus GET /api/v1/failovers.
 *
 * Appends run off the cycle's path, one at a time in order. While Redis is down entries
 * wait in a small queue (the newest `MAX_QUEUED` kept) and are written when it answers
 * again; a write the fence refuses drops the queue and stops writing in that term.
 *
 * `recent()` is the read-only view decide gets (src/alerting/failover-match.ts): the entries
 * this replica recorded in its term, and those its predecessor wrote to Redis (read once
 * at take-over), so an entry recorded just before a vigil failover still reaches the
 * alert it belongs to.
 */
import type { VigilElection } from '../election/leader-history';
import { describeError, isVigilError } from '../errors';
import { parseEventsQuery } from '../http/events-query';
import { HttpError, sendJson } from '../http/respond';
import type { Handler, Method } from '../http/server';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { type FailoverEntry, type FailoverKind, FailoverTracker, type PartitionWindow, vigilElectionEntry } from '../monitor/failovers';
import type { StateStore, StoredFailover } from '../state/types';
import type { Actor, Decision, TermFence } from './actor';

/** Entries kept while Redis is down. */
const MAX_QUEUED = 100;
/** Entries `recent()` keeps, the newest; also how many a new leader reads back from Redis. */
const MAX_RECENT = 100;

export interface FailoverJournalOptions {
  readonly store: StateStore;
  readonly nodeId: string;
  readonly metrics: Pick<Metrics, 'failoverLeaderChanges' | 'failoverLeaderlessSeconds' | 'failoverPartitionsLeaderless' | 'fencedWritesRejected'>;
  readonly logger: Logger;
  /** the election this replica won last (the driver's), for vigil's own entries */
  readonly lastElection?: () => (VigilElection & { readonly electedAtWallMs: number }) | null;
}

export class FailoverJournal implements Actor {
  private tracker = new FailoverTracker();
  private queue: Array<{ term: number; entry: FailoverEntry }> = [];
  /** what recent() answers: oldest first, at most MAX_RECENT */
  private recentEntries: FailoverEntry[] = [];
  private writing: Promise<void> | null = null;
  private fencedTerm = 0;
  private readonly log: Logger;

  constructor(private readonly opts: FailoverJournalOptions) {
    this.log = opts.logger.child({ component: 'failovers' });
  }

  takeOver(fence: TermFence): void {
    this.tracker = new FailoverTracker();
    this.queue = [];
    this.recentEntries = [];
    this.readBack(fence);
    const won = this.opts.lastElection?.();
    if (won && won.term === fence.term) this.record(fence, [vigilElectionEntry(won)]);
  }

  /** The newest entries, oldest first: what decide matches alerts against (read-only). */
  recent(): readonly FailoverEntry[] {
    return this.recentEntries;
  }

  act(fence: TermFence, decision: Decision): void {
    if (decision.source === 'schedule') return; // not a new observation of the cluster
    const entries = this.tracker.observe(decision.snapshot);
    if (decision.snapshot.ok) this.opts.metrics.failoverPartitionsLeaderless.set(this.tracker.leaderlessPartitions());
    this.record(fence, entries);
  }

  reset(): void {
    this.tracker = new FailoverTracker();
    this.queue = [];
    this.recentEntries = [];
  }

  async stop(): Promise<void> {
    await this.idle();
    this.queue = [];
  }

  /** Entries not yet in Redis (kept while it is down). */
  pending(): number {
    return this.queue.length;
  }

  /** Resolves when the write in progress (if any) has ended. */
  async idle(): Promise<void> {
    await this.writing;
  }

  private record(fence: TermFence, entries: readonly FailoverEntry[]): void {
    const { metrics } = this.opts;
    for (const e of entries) {
      this.log.info({ kind: e.kind, from: e.from, to: e.to, leaderlessMs: e.leaderlessMs }, `failover: ${e.summary}`);
      if (e.kind === 'partitions') {
        const windows = (e.detail['windows'] ?? []) as PartitionWindow[];
        const moved = Number(e.detail['moved'] ?? 0);
        if (moved > 0) metrics.failoverLeaderChanges.inc({ kind: 'partition' }, moved);
        for (const w of windows) if (w.leaderlessMs !== null) metrics.failoverLeaderlessSeconds.observe({ kind: 'partition' }, w.leaderlessMs / 1000);
      } else {
        metrics.failoverLeaderChanges.inc({ kind: e.kind });
        if (e.leaderlessMs !== null) metrics.failoverLeaderlessSeconds.observe({ kind: e.kind }, e.leaderlessMs / 1000);
      }
      this.queue.push({ term: fence.term, entry: e });
      this.recentEntries.push(e);
    }
    if (this.recentEntries.length > MAX_RECENT) this.recentEntries.splice(0, this.recentEntries.length - MAX_RECENT);
    if (this.queue.length > MAX_QUEUED) this.queue.splice(0, this.queue.length - MAX_QUEUED);
    if (this.queue.length > 0 && this.writing === null) {
      this.writing = this.flush(fence).finally(() => {
        this.writing = null;
      });
    }
  }

  /**
   * The entries the journal in Redis holds (a predecessor's among them), put before this
   * term's in recent(); best effort: with Redis down the view starts with this term's.
   */
  private readBack(fence: TermFence): void {
    this.opts.store
      .readFailovers({ limit: MAX_RECENT })
      .then((rows) => {
        if (!fence.mayAct()) return;
        const mine = this.recentEntries;
        const stored = rows.map(storedEntry).filter((e): e is FailoverEntry => e !== null).reverse();
        // this term's own entries may already be in Redis too: keep one of each
        const seen = new Set(mine.map((e) => `${e.kind} ${e.timeMs} ${e.summary}`));
        const older = stored.filter((e) => !seen.has(`${e.kind} ${e.timeMs} ${e.summary}`));
        this.recentEntries = [...older, ...mine].slice(-MAX_RECENT);
      })
      .catch((err: unknown) => this.log.debug({ err: describeError(err) }, 'could not read the failover journal back at take-over'));
  }

  /** Writes the queue in order while this node may act in `fence.term` and Redis answers. */
  private async flush(fence: TermFence): Promise<void> {
    const { store, nodeId } = this.opts;
    for (let next = this.queue[0]; next !== undefined; next = this.queue[0]) {
      if (next.term !== fence.term || this.fencedTerm === fence.term || !fence.mayAct()) {
        // a later term's entries wait for that term's own flush
        if (next.term !== fence.term && this.queue.every((q) => q.term > fence.term)) return;
        this.queue = this.queue.filter((q) => q.term > fence.term);
        continue;
      }
      const { kind, timeMs, ...data } = next.entry;
      try {
        const r = await store.appendFailover({ kind, timeMs, nodeId, term: fence.term, data });
        if (r.status === 'fenced') {
          this.opts.metrics.fencedWritesRejected.inc();
          this.fencedTerm = fence.term;
          this.log.warn({ term: fence.term, fenceTerm: r.fenceTerm }, 'failover journal write refused by the fence: a newer leader exists');
          continue;
        }
        this.queue.shift();
      } catch (err) {
        if (isVigilError(err) && err.code === 'REDIS_UNAVAILABLE') return; // kept for the next cycle
        this.log.error({ err: describeError(err) }, 'failover journal write failed; entry dropped');
        this.queue.shift();
      }
    }
  }
}

/** The entry kinds of the journal, as `?kind=` names them. */
export const FAILOVER_KINDS: readonly FailoverKind[] = ['vigil', 'controller', 'partitions'];

/** A stored entry as the tracker made it, or null when it is not one (a foreign or damaged value). */
export function storedEntry(f: StoredFailover): FailoverEntry | null {
  const data = f.data;
  if (typeof data !== 'object' || data === null || !(FAILOVER_KINDS as readonly string[]).includes(f.kind)) return null;
  const d = data as Record<string, unknown>;
  if (typeof d['summary'] !== 'string' || typeof d['precisionMs'] !== 'number' || typeof d['detail'] !== 'object' || d['detail'] === null) return null;
  if (d['endMs'] !== null && typeof d['endMs'] !== 'number') return null;
  return { ...(d as unknown as Omit<FailoverEntry, 'kind' | 'timeMs'>), kind: f.kind as FailoverKind, timeMs: f.timeMs };
}

/** One entry of GET /api/v1/failovers: the journal entry with its id, time (ISO) and writer. */
export function failoverView(f: StoredFailover): Record<string, unknown> {
  const data = (typeof f.data === 'object' && f.data !== null ? f.data : {}) as Record<string, unknown>;
  const { detail, ...rest } = data;
  return {
    id: f.id,
    kind: f.kind,
    time: new Date(f.timeMs).toISOString(),
    timeMs: f.timeMs,
    ...rest,
    ...(typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>) : {}),
    recordedBy: f.nodeId,
    term: f.term,
  };
}

/**
 * `?kind=`: one or more entry kinds, comma-separated or repeated; null when absent. Throws
 * HttpError 400 naming the kinds there are.
 */
export function parseFailoverKinds(params: URLSearchParams): ReadonlySet<FailoverKind> | null {
  const given = params.getAll('kind');
  if (given.length === 0) return null;
  const kinds = new Set<FailoverKind>();
  for (const k of given.flatMap((v) => v.split(','))) {
    const name = k.trim();
    if (!(FAILOVER_KINDS as readonly string[]).includes(name)) {
      const hint = name === 'partition' ? ' (partition leader changes are kind "partitions")' : '';
      throw new HttpError(400, 'BAD_REQUEST', `kind must be one or more of ${FAILOVER_KINDS.join(', ')}, comma-separated (e.g. ?kind=controller,partitions); got ${JSON.stringify(name.slice(0, 64))}${hint}`);
    }
    kinds.add(name as FailoverKind);
  }
  return kinds;
}

/**
 * GET /api/v1/failovers: newest first; `limit` and `since` as GET /api/v1/events takes them,
 * `kind` to keep some kinds only. With `kind` the journal is read to its end (it is capped:
 * 1000 entries by default, src/state/types.ts DEFAULT_FAILOVERS_MAX_LEN, what a request without `limit` reads
 * anyway), filtered, then cut to `limit`.
 */
export function registerFailoverRoute(leaderRoute: (method: Method, path: string, handler: Handler) => void, store: StateStore): void {
  leaderRoute('GET', '/api/v1/failovers', async ({ res, url }) => {
    const query = parseEventsQuery(url.searchParams);
    const kinds = parseFailoverKinds(url.searchParams);
    let rows: StoredFailover[];
    try {
      rows = await store.readFailovers(kinds === null ? query : { ...query, limit: Number.MAX_SAFE_INTEGER });
    } catch (err) {
      throw new HttpError(503, 'REDIS_UNAVAILABLE', `the failover journal lives in Redis, which is not answering: ${describeError(err)}`);
    }
    if (kinds !== null) rows = rows.filter((r) => kinds.has(r.kind as FailoverKind)).slice(0, query.limit);
    sendJson(res, 200, { failovers: rows.map(failoverView) });
  });
}
