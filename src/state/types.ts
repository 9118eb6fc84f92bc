/**
 * The StateStore port (docs/design.md §6): vigil's shared state in Redis, fenced by election term.
 * One Redis adapter (src/state/redis-store.ts) and one in-memory fake
 * (test/fakes/memory-state.ts) implement it; both pass test/contract/state-store.contract.ts.
 *
 * Fencing. A fence holds the highest term any writer has presented. Every write that stands
 * for a side effect (claim or settle a notification, write alert state, append a journal
 * step or an event, write warm state) is atomic on the server: it first compares its term with the
 * fence, is refused when the term is lower, and raises the fence when it is higher. So once
 * a new leader has raised the fence, nothing the deposed leader still has in flight lands.
 * A refusal is a result ({ status: 'fenced' }), never an exception: the caller counts it
 * (vigil_fenced_writes_rejected_total) and stops acting.
 *
 * Availability. Every method fails fast with VigilError REDIS_UNAVAILABLE (retriable) while
 * the store is down, rather than queueing: the reconcile loop must never wait on Redis.
 * `isUp()` and `onStatus` tell callers when to fall back (the outbox keeps a local ledger)
 * and when to catch up.
 *
 * Times (`nowMs`, `timeMs`) are wall-clock epoch milliseconds supplied by the caller; the
 * store reads no clock for the data it keeps.
 */

/**
 * A notification as the store keeps it (the outbox's, docs/design.md §4): one JSON
 * document, stored whole and read back whole, that the store knows only by its stable id.
 * The store reads nothing else of it, so it does not depend on what alerting puts in it.
 */
export interface StoredNotification {
  readonly id: string;
}

/** The write was refused: a writer with a higher term exists. */
export interface Fenced {
  readonly status: 'fenced';
  /** The fence at the time of the refusal (the highest term seen). */
  readonly fenceTerm: number;
}

export type FenceResult = { readonly status: 'ok'; readonly fenceTerm: number } | Fenced;

/** Who holds or settled an outbox claim. */
export interface ClaimHolder {
  readonly term: number;
  /** node id of the writer */
  readonly owner: string;
}

/** Final outcomes recorded for one notification on one channel. */
export type SettledOutcome = 'delivered' | 'rejected';

/**
 * Claiming a notification for one channel, before sending it (docs/design.md §4):
 * - claimed: go ahead and send. New, re-claimed by the same owner (a retry), or taken over
 *   from a lower term whose holder never settled it (`takenOverFrom`).
 * - done: it was already delivered (or permanently rejected) on this channel: do not send.
 * - held: another owner holds it in the same term; a correct election never lets this
 *   happen, and the store does not rely on that.
 * - fenced: a newer term exists.
 */
export type ClaimResult =
  | {
      readonly status: 'claimed';
      readonly fenceTerm: number;
      /** 1 for the first claim; counts every claim (each precedes a send). */
      readonly attempt: number;
      readonly takenOverFrom?: ClaimHolder;
    }
  | { readonly status: 'done'; readonly outcome: SettledOutcome; readonly by: ClaimHolder }
  | { readonly status: 'held'; readonly holder: ClaimHolder }
  | Fenced;

/**
 * Recording a final outcome. `settled` also when there was no claim (a delivery made while
 * Redis was down, written on its return); `done` when someone had already settled it.
 */
export type SettleResult =
  | { readonly status: 'settled' }
  | { readonly status: 'done'; readonly outcome: SettledOutcome; readonly by: ClaimHolder }
  | Fenced;

export interface ClaimRequest {
  readonly term: number;
  readonly owner: string;
  readonly notification: StoredNotification;
  readonly channel: string;
  readonly nowMs: number;
}

export interface SettleRequest extends ClaimRequest {
  readonly outcome: SettledOutcome;
}

/** The pre-send check of a claim (issue 8): is it still the caller's to send? */
export interface ClaimCheck {
  /** the term the claim was made in */
  readonly term: number;
  readonly owner: string;
  readonly notificationId: string;
  readonly channel: string;
}

/**
 * - claimed: still held by (term, owner), unsettled, and no higher term holds the fence: send.
 * - done: settled (by anyone): do not send.
 * - lost: claimed by someone else, or no claim at all (Redis lost it): do not send; the
 *   holder, or the next drain, takes care of it.
 * - fenced: a newer term exists: do not send.
 */
export type ClaimCheckResult =
  | { readonly status: 'claimed' }
  | { readonly status: 'done'; readonly outcome: SettledOutcome; readonly by: ClaimHolder }
  | { readonly status: 'lost'; readonly holder?: ClaimHolder }
  | Fenced;

/** A claim whose holder has not settled it: work a leader must finish. */
export interface PendingClaim {
  readonly notification: StoredNotification;
  readonly channel: string;
  readonly holder: ClaimHolder;
  readonly claimedAtMs: number;
  readonly attempts: number;
}

export type ChannelRecord =
  | { readonly state: 'claimed'; readonly holder: ClaimHolder; readonly claimedAtMs: number; readonly attempts: number }
  | {
      readonly state: SettledOutcome;
      /** who settled it */
      readonly holder: ClaimHolder;
      readonly settledAtMs: number;
      /** claims made before it settled (0 when it was settled without one) */
      readonly attempts: number;
    };

/** Everything the outbox holds about one notification. */
export interface OutboxEntry {
  readonly notification: StoredNotification;
  readonly createdAtMs: number;
  readonly channels: Readonly<Record<string, ChannelRecord>>;
}

/** An opaque JSON document with the version the store gave it. */
export interface VersionedDoc {
  /** 1 after the first write; +1 on each write */
  readonly version: number;
  /** term of the writer */
  readonly term: number;
  readonly updatedAtMs: number;
  readonly data: unknown;
}

export type DocWriteResult =
  | { readonly status: 'ok'; readonly version: number }
  /** `expectedVersion` did not match; `version` is the current one (0 = absent). */
  | { readonly status: 'conflict'; readonly version: number }
  | Fenced;

export interface AlertStateWrite {
  readonly term: number;
  /** "core" for one document per cluster, or an alert key */
  readonly key: string;
  /** JSON-serialisable */
  readonly data: unknown;
  readonly nowMs: number;
  /** compare-and-set: write only if the current version is this (0 = absent) */
  readonly expectedVersion?: number;
}

export type DeleteResult = { readonly status: 'ok'; readonly deleted: boolean } | Fenced;

export interface JournalAppend {
  readonly term: number;
  readonly nodeId: string;
  /** the plan (or other unit of work) whose steps are journaled */
  readonly planId: string;
  readonly timeMs: number;
  /** JSON-serialisable step record */
  readonly entry: unknown;
}

export type JournalResult = { readonly status: 'ok'; readonly seq: number } | Fenced;

export interface JournalEntry {
  /** 1-based position in the plan's journal */
  readonly seq: number;
  readonly term: number;
  readonly nodeId: string;
  readonly timeMs: number;
  readonly entry: unknown;
}

/** One entry of the events stream (the failover timeline, `/api/v1/events`). */
export interface VigilEvent {
  /** e.g. "leader-elected", "notification-delivered", "redis-down" */
  readonly type: string;
  readonly timeMs: number;
  readonly nodeId: string;
  readonly term: number;
  /** JSON-serialisable details */
  readonly data?: unknown;
}

export interface StoredEvent extends VigilEvent {
  /** stream id "<ms>-<seq>", increasing; the ms part is the store's clock, not `timeMs` */
  readonly id: string;
  readonly data: unknown;
}

export interface EventQuery {
  /** only events after this stream id (exclusive) */
  readonly afterId?: string;
  /** only events whose stream id time is >= this (epoch ms, the store's clock) */
  readonly sinceMs?: number;
  /** at most this many (default 1000); with neither afterId nor sinceMs, the newest ones */
  readonly limit?: number;
}

/** Appending to the events stream: the stream id it got, or fenced. */
export type EventAppendResult = { readonly status: 'ok'; readonly id: string } | Fenced;

export type WarmWriteResult = { readonly status: 'ok'; readonly version: number } | Fenced;

/**
 * One entry of the failover journal (`/api/v1/failovers`, docs/monitoring.md "Failover
 * timeline"): a leadership change — vigil's own, the KRaft controller's, or a cause's
 * partition leader changes — made by src/monitor/failovers.ts. The store keeps `data`
 * opaque.
 */
export interface FailoverRecord {
  /** "vigil" | "controller" | "partitions" */
  readonly kind: string;
  /** when the change happened (epoch ms, the writer's clock) */
  readonly timeMs: number;
  readonly nodeId: string;
  readonly term: number;
  /** JSON-serialisable details */
  readonly data: unknown;
}

export interface StoredFailover extends FailoverRecord {
  /** "<timeMs>-<seq>": seq counts appends in this cluster, so ids increase in append order */
  readonly id: string;
}

export interface FailoverQuery {
  /** only entries appended after this id (exclusive) */
  readonly afterId?: string;
  /** only entries whose `timeMs` is >= this (epoch ms) */
  readonly sinceMs?: number;
  /** at most this many, the newest (default 1000) */
  readonly limit?: number;
}

export type FailoverAppendResult = { readonly status: 'ok'; readonly id: string } | Fenced;

export interface WarmStateWrite {
  readonly term: number;
  readonly data: unknown;
  readonly nowMs: number;
}

/** Up/down changes. `dataLost`: Redis lost the data it held: it came back from a restart
 * without persistence, or its keys vanished under a live connection (FLUSHALL, eviction;
 * noticed within one probe interval). The store has already restored the fence from the
 * highest term it saw, and callers that keep local copies (the outbox ledger, the leader's
 * alert state) must write them again. Reported as `{ up: true, dataLost: true }`, also
 * when the store did not go down first. */
export interface StoreStatus {
  readonly up: boolean;
  readonly dataLost: boolean;
}

export interface StateStore {
  readonly cluster: string;
  /** false while Redis is unreachable or not answering; every call then fails fast */
  isUp(): boolean;
  /** Called on every up/down change. Returns an unsubscribe function. */
  onStatus(listener: (status: StoreStatus) => void): () => void;
  close(): Promise<void>;

  /** The highest term seen (0 when none). */
  fenceTerm(): Promise<number>;
  /** A new leader raises the fence to its term; refused if a higher term exists. */
  raiseFence(term: number): Promise<FenceResult>;

  readAlertState(key: string): Promise<VersionedDoc | undefined>;
  readAlertStates(): Promise<Map<string, VersionedDoc>>;
  writeAlertState(write: AlertStateWrite): Promise<DocWriteResult>;
  deleteAlertState(term: number, key: string): Promise<DeleteResult>;

  claimNotification(req: ClaimRequest): Promise<ClaimResult>;
  settleNotification(req: SettleRequest): Promise<SettleResult>;
  /** Read-only, atomic: whether a claim is still the caller's to send (never raises the fence). */
  checkClaim(req: ClaimCheck): Promise<ClaimCheckResult>;
  /** Claimed, unsettled work, oldest claim first. */
  pendingNotifications(limit?: number): Promise<PendingClaim[]>;
  readOutboxEntry(notificationId: string): Promise<OutboxEntry | undefined>;
  /** Forgets notifications first claimed before `beforeMs`; returns how many. */
  pruneOutbox(beforeMs: number): Promise<number>;

  appendJournal(append: JournalAppend): Promise<JournalResult>;
  readJournal(planId: string): Promise<JournalEntry[]>;
  /** Forgets journals last appended to before `beforeMs`; returns how many. */
  pruneJournals(beforeMs: number): Promise<number>;

  /**
   * Appends to the capped events stream, fenced by `event.term` like every other write: a
   * deposed leader's events are refused ({ status: 'fenced' }) and the caller stops acting.
   */
  appendEvent(event: VigilEvent): Promise<EventAppendResult>;
  /** Events in stream order. */
  readEvents(query?: EventQuery): Promise<StoredEvent[]>;

  writeWarmState(write: WarmStateWrite): Promise<WarmWriteResult>;
  readWarmState(): Promise<VersionedDoc | undefined>;

  /**
   * Appends to the failover journal, a capped list (the oldest entries beyond the cap are
   * dropped), fenced by `record.term`: only the current term's leader adds to it.
   */
  appendFailover(record: FailoverRecord): Promise<FailoverAppendResult>;
  /** Journal entries, newest first. */
  readFailovers(query?: FailoverQuery): Promise<StoredFailover[]>;
}

/** Stream cap of the events stream (approximate trimming in Redis: MAXLEN ~). */
export const DEFAULT_EVENTS_MAX_LEN = 10_000;

/** Cap of the failover journal (exact: LTRIM). */
export const DEFAULT_FAILOVERS_MAX_LEN = 1000;
