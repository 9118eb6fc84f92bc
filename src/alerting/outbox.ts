/**
 * The notification outbox: exactly-once intent across failover (docs/design.md §4).
 *
 * For every notification and configured channel: claim it in Redis (fenced by term), send
 * it through the injected `deliver`, settle it (fenced). A claim that is never settled —
 * the leader died, the send failed — stays pending in Redis, and the next drain of any
 * leader finishes it: the same leader retries its own claims, a newer term takes over an
 * older term's. A notification already settled on a channel is never sent there again.
 *
 * Redis down: paging goes on. Each node keeps a local ledger of what it queued, sent and
 * settled (keyed by notification id + channel), which deduplicates locally while Redis is
 * unreachable; when Redis returns, deliveries it does not know about are written to it
 * (settled, fenced by the node's latest term), so a later leader does not page again.
 * While anything is unwritten the outbox reports degraded.
 *
 * Retrying (issue 8): what is owed — failed, aborted, waiting behind an earlier page —
 * is retried by the outbox's own timer, not only when the reconcile loop has something new:
 * after a drain that left work, the next one runs after a bounded backoff with jitter
 * (250 ms doubling to 1 s), for as long as this node leads in the term it drains for. A
 * channel whose last delivery failed is probed with one page at a time (the others wait);
 * the probe's success sends the rest at once. So a receiver that comes back gets its pages
 * about a second later, and a dead one sees one page's attempts at a time, not every page's.
 *
 * Channels are independent: each has its own send slots (`maxConcurrentSendsPerChannel`),
 * so a black-holed receiver holding its slots for the length of its timeouts never delays
 * another channel's pages.
 *
 * Invariants:
 * - A send is preceded by a successful claim, or by a claim that could not reach Redis
 *   (local mode); never by a refused one (fenced, held, done).
 * - A send carries the term of its claim: it goes out only while `mayAct(term)` — this node
 *   leads in exactly that term — and, immediately before every attempt, the store confirms
 *   the claim is still this node's in that term and unsettled (`checkClaim`). So a claim
 *   made in term X is never sent in X+2 after another leader settled it in X+1.
 * - `mayAct(term)` (the leader's lease check) is asked before every claim and again right
 *   before every send; false stops the drain.
 * - Per channel and alert key, notifications go out in incident order (startsAt, then
 *   firing before resolved): a later one waits while an earlier one is unfinished, so a
 *   receiver never sees `resolved` before `firing`.
 * - One (notification, channel) is sent by at most one call at a time on this node.
 *
 * The caller (the reconcile loop, src/reconcile/loop.ts) persists the alert state, with
 * the notifications decided, before it calls `submit`: the notification ids are stable, so
 * a leader that dies in between leaves its successor the same notifications to finish, and
 * the outbox turns what was already sent into no-ops.
 * `deliver` counts vigil_notifications_total; the outbox counts fenced writes.
 */
import type { Logger } from '../log';
import { silentLogger } from '../log';
import type { Metrics } from '../metrics';
import type { Timers } from '../util/timers';
import type { ClaimHolder, PendingClaim, SettledOutcome, StateStore, StoreStatus } from '../state/types';
import type { Clock } from '../util/clock';
import { describeError } from '../errors';
import { backoffDelayMs, type DeliveryOutcomeKind } from './notifier';
import type { Notification } from './types';

/**
 * The notification of a pending claim. Only outboxes claim, and they store the Notification
 * they were given whole (the store keeps it as an opaque document known by its id).
 */
function claimed(p: PendingClaim): Notification {
  return p.notification as Notification;
}

/** What the outbox hands to `deliver` with each (notification, channel). */
export interface SendContext {
  /** The term the claim was made in: the page carries it (sentBy) and is sent only in it. */
  readonly term: number;
  /**
   * Ask immediately before every attempt (the Notifier's beforeSend): true only while this
   * node leads in exactly `term` and the claim is still its own and unsettled in the store.
   */
  readonly beforeSend: () => Promise<boolean>;
  /** Fires when the outbox closes (shutdown): stop retrying, cancel the attempt in flight. */
  readonly signal: AbortSignal;
}

/**
 * Sends one notification through one channel (the Notifier, src/alerting/notifier.ts, with
 * its retries). The outbox's reading of the outcome: `failed` is retried on the next drain;
 * `rejected` is final (the receiver refuses it for good); `aborted` (shutdown, lease lost)
 * stays pending for whoever leads next. It must send only with `send.term` and only after
 * `send.beforeSend()` said yes.
 */
export type Deliver = (notification: Notification, channel: string, send: SendContext) => Promise<DeliveryOutcomeKind>;

/** The outbox's own retry schedule for owed pages (see the module comment). */
export interface OutboxRetryPolicy {
  /** Pause before the first retry drain after a drain that left work. */
  readonly initialDelayMs: number;
  /** Each further pause is this many times the previous ... */
  readonly multiplier: number;
  /** ... up to this (before jitter): how long a receiver that came back may wait. */
  readonly maxDelayMs: number;
  /** Fraction of each pause that is random: uniform in [base × (1 − jitter), base]. */
  readonly jitter: number;
}

export const DEFAULT_OUTBOX_RETRY: OutboxRetryPolicy = { initialDelayMs: 250, multiplier: 2, maxDelayMs: 1_000, jitter: 0.5 };

/** Timers that do not keep the process alive on their own (the HTTP server does). */
const unrefTimers: Timers = {
  set: (fn, delayMs) => setTimeout(fn, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface OutboxOptions {
  readonly store: StateStore;
  readonly nodeId: string;
  /** channel names (ChannelConfig.name) every notification goes to */
  readonly channels: readonly string[];
  readonly deliver: Deliver;
  /**
   * The leader's lease check for one term: true only while this node leads in exactly
   * `term` with a valid lease. Asked before every claim and every send.
   */
  readonly mayAct: (term: number) => boolean;
  readonly clock: Clock;
  /** The retry timer (default: real timers that do not hold the process open). */
  readonly timers?: Timers;
  /** Uniform in [0, 1): the retry jitter. */
  readonly random?: () => number;
  readonly retry?: Partial<OutboxRetryPolicy>;
  /** How long delivered notifications are remembered, here and in Redis (default 7 days). */
  readonly retentionMs?: number;
  /** Concurrent sends per channel (default 4); channels never share slots. */
  readonly maxConcurrentSendsPerChannel?: number;
  /** A page owed longer than this makes the outbox degraded even before it failed (default 5 s). */
  readonly degradedAfterMs?: number;
  /** Bound of the local ledger; the oldest settled entries go first (default 10,000). */
  readonly maxLocalEntries?: number;
  /** How often old entries are pruned from Redis (default 60 s). */
  readonly pruneIntervalMs?: number;
  readonly metrics?: Pick<Metrics, 'fencedWritesRejected' | 'outboxPending' | 'outboxOldestPendingSeconds'>;
  readonly log?: Logger;
}

/** What happened to one (notification, channel) in a drain. */
export type ItemOutcome =
  | 'delivered'
  | 'rejected'
  | 'failed'
  | 'aborted'
  /** settled before (here or by another leader): not sent */
  | 'already-done'
  /** another owner holds the claim in this term: not sent */
  | 'held'
  /** a newer term exists: not sent, the drain stopped */
  | 'fenced'
  /** mayAct() said no: not sent, the drain stopped */
  | 'not-leader'
  /** another call on this node is sending it */
  | 'in-flight'
  /** an earlier notification of the same alert and channel is unfinished */
  | 'blocked'
  /** its channel is failing and another page is probing it: retried after the probe */
  | 'waiting';

export interface ItemReport {
  readonly id: string;
  readonly channel: string;
  readonly outcome: ItemOutcome;
  /** sent (or tried) without a Redis claim, because Redis was unavailable */
  readonly local: boolean;
}

export interface DrainReport {
  readonly items: ItemReport[];
  /** Redis unavailable, or deliveries not yet written to it */
  readonly degraded: boolean;
  readonly stopped?: 'fenced' | 'not-leader';
}

export interface PendingWork {
  readonly notification: Notification;
  readonly channel: string;
  /** 'redis': a claim not settled (possibly another leader's); 'local': only in this node's ledger */
  readonly source: 'redis' | 'local';
  readonly holder?: ClaimHolder;
  readonly attempts?: number;
}

export interface OutboxStatus {
  /**
   * Redis unavailable, deliveries not yet written to it, or — while this node leads — a page
   * whose last attempt failed or that has been owed longer than `degradedAfterMs`.
   */
  readonly degraded: boolean;
  readonly redisUp: boolean;
  /** deliveries made here that Redis does not know yet */
  readonly unsynced: number;
  /** queued or failed here, not yet delivered */
  readonly queued: number;
  /** of those, the ones whose last attempt failed */
  readonly failed: number;
  /** age of the oldest page queued here, since this node first tried it (0 when none) */
  readonly oldestQueuedSeconds: number;
  /** channels whose last delivery failed: probed with one page at a time */
  readonly failingChannels: string[];
}

type LedgerState = 'queued' | 'failed' | SettledOutcome;

interface LedgerEntry {
  readonly notification: Notification;
  readonly channel: string;
  state: LedgerState;
  /** a final state (delivered/rejected) that Redis has recorded, or had from someone else */
  synced: boolean;
  /** the term under which this node last acted on it */
  term: number;
  /** wall ms of the last change */
  atMs: number;
  /** wall ms when this node first queued or tried it */
  readonly sinceMs: number;
  /** submission order on this node */
  readonly seq: number;
}

/** Per channel: its own send slots, and whether its receiver is failing (probe mode). */
interface ChannelState {
  readonly slots: Semaphore;
  /** the last delivery on this channel failed */
  failing: boolean;
  /** a page is in flight as the probe of a failing channel */
  probing: boolean;
}

interface WorkItem {
  readonly key: string;
  readonly notification: Notification;
  readonly channel: string;
  readonly orderMs: number;
}

interface DrainContext {
  readonly term: number;
  readonly items: ItemReport[];
  stopped?: 'fenced' | 'not-leader';
}

const DAY_MS = 86_400_000;

function isFinal(state: LedgerState): state is SettledOutcome {
  return state === 'delivered' || state === 'rejected';
}

function itemKey(channel: string, notificationId: string): string {
  return `${channel} ${notificationId}`;
}

export class Outbox {
  private readonly store: StateStore;
  private readonly nodeId: string;
  private readonly channels: readonly string[];
  private readonly deliverFn: Deliver;
  private readonly mayAct: (term: number) => boolean;
  private readonly clock: Clock;
  private readonly retentionMs: number;
  private readonly maxLocalEntries: number;
  private readonly pruneIntervalMs: number;
  private readonly metrics: Pick<Metrics, 'fencedWritesRejected' | 'outboxPending' | 'outboxOldestPendingSeconds'> | undefined;
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly retryPolicy: OutboxRetryPolicy;
  private readonly degradedAfterMs: number;
  private readonly maxSendsPerChannel: number;
  private readonly channelStates = new Map<string, ChannelState>();
  private readonly closing = new AbortController();
  private retryTimer: unknown;
  private retryDueMonoMs = Number.POSITIVE_INFINITY;
  /** retry drains in a row that left work: the backoff exponent */
  private retryStreak = 0;
  /** whether this node led in `lastTerm` when last asked: owed pages are its job only then */
  private leading = false;
  private readonly ledger = new Map<string, LedgerEntry>();
  private readonly inFlight = new Set<string>();
  private readonly unsubscribe: () => void;
  private seq = 0;
  /** highest term this node has acted in: what its late writes present to the fence */
  private lastTerm = 0;
  private storeTrouble = false;
  private syncing: Promise<void> | undefined;
  private lastPruneMonoMs = Number.NEGATIVE_INFINITY;

  constructor(opts: OutboxOptions) {
    this.store = opts.store;
    this.nodeId = opts.nodeId;
    this.channels = [...opts.channels];
    this.deliverFn = opts.deliver;
    this.mayAct = opts.mayAct;
    this.clock = opts.clock;
    this.retentionMs = opts.retentionMs ?? 7 * DAY_MS;
    this.maxLocalEntries = opts.maxLocalEntries ?? 10_000;
    this.pruneIntervalMs = opts.pruneIntervalMs ?? 60_000;
    this.metrics = opts.metrics;
    this.log = (opts.log ?? silentLogger).child({ component: 'outbox', nodeId: opts.nodeId });
    this.timers = opts.timers ?? unrefTimers;
    this.random = opts.random ?? Math.random;
    this.retryPolicy = { ...DEFAULT_OUTBOX_RETRY, ...opts.retry };
    this.degradedAfterMs = opts.degradedAfterMs ?? 5_000;
    this.maxSendsPerChannel = Math.max(1, opts.maxConcurrentSendsPerChannel ?? 4);
    for (const c of this.channels) this.channelState(c);
    this.unsubscribe = this.store.onStatus((s) => this.onStoreStatus(s));
  }

  /**
   * Stops listening to the store and retrying; deliveries in flight are cancelled (they end
   * `aborted`, and stay pending in Redis for whoever leads next).
   */
  close(): void {
    this.unsubscribe();
    this.cancelRetry();
    this.closing.abort();
  }

  /**
   * New notifications from decide: each is queued once per channel (a notification this
   * node has already seen on a channel is not queued again), then everything due is drained.
   */
  async submit(term: number, notifications: readonly Notification[]): Promise<DrainReport> {
    const nowMs = this.clock.wallMs();
    for (const n of notifications) {
      for (const channel of this.channels) {
        const key = itemKey(channel, n.id);
        if (this.ledger.has(key)) continue;
        this.ledger.set(key, { notification: n, channel, state: 'queued', synced: false, term, atMs: nowMs, sinceMs: nowMs, seq: ++this.seq });
      }
    }
    return this.drain(term);
  }

  /**
   * Finishes what is due: deliveries not yet written to Redis are written, then every
   * unsettled claim in Redis (this leader's and older terms') and everything queued or
   * failed here is claimed and sent. A new leader calls it right after winning; the
   * reconcile loop calls it (through `submit`) with new notifications, and the outbox's
   * retry timer calls it while anything is owed.
   */
  async drain(term: number): Promise<DrainReport> {
    if (term > this.lastTerm) this.lastTerm = term;
    if (term === this.lastTerm) this.leading = true;
    const ctx: DrainContext = { term, items: [] };
    if (this.store.isUp()) await this.syncLedger();

    const work = new Map<string, WorkItem>();
    for (const [key, e] of this.ledger) {
      if (!isFinal(e.state)) work.set(key, { key, notification: e.notification, channel: e.channel, orderMs: e.seq });
    }
    const configured = new Set(this.channels);
    if (this.store.isUp()) {
      try {
        for (const p of await this.store.pendingNotifications()) {
          // A channel removed from the config since the claim: nothing to send it through.
          if (!configured.has(p.channel)) continue;
          const key = itemKey(p.channel, p.notification.id);
          const known = this.ledger.get(key);
          // Settled here already (its settle was refused or is being written): not again.
          if (known && isFinal(known.state)) continue;
          if (!work.has(key)) work.set(key, { key, notification: claimed(p), channel: p.channel, orderMs: Number.MAX_SAFE_INTEGER });
        }
      } catch (err) {
        this.noteStoreTrouble('list pending notifications', err);
      }
      this.maybePrune();
    }

    await Promise.all(groupInOrder(work.values()).map((group) => this.runGroup(ctx, group)));
    this.pruneLedger();
    this.afterDrain(ctx);
    return { items: ctx.items, degraded: this.isDegraded(), ...(ctx.stopped ? { stopped: ctx.stopped } : {}) };
  }

  /** Claimed-but-unsettled work in Redis plus what is queued or failed here. */
  async pending(): Promise<PendingWork[]> {
    const out = new Map<string, PendingWork>();
    if (this.store.isUp()) {
      try {
        for (const p of await this.store.pendingNotifications()) {
          out.set(itemKey(p.channel, p.notification.id), {
            notification: claimed(p),
            channel: p.channel,
            source: 'redis',
            holder: p.holder,
            attempts: p.attempts,
          });
        }
      } catch (err) {
        this.noteStoreTrouble('list pending notifications', err);
      }
    }
    for (const [key, e] of this.ledger) {
      if (!isFinal(e.state) && !out.has(key)) out.set(key, { notification: e.notification, channel: e.channel, source: 'local' });
    }
    return [...out.values()];
  }

  /** Milliseconds until the next retry drain; undefined when none is scheduled. */
  nextRetryInMs(): number | undefined {
    return this.retryTimer === undefined ? undefined : Math.max(0, this.retryDueMonoMs - this.clock.monotonicMs());
  }

  /** Writes to Redis the deliveries it does not know yet. Also run when Redis returns. */
  reconcile(): Promise<void> {
    return this.syncLedger();
  }

  isDegraded(): boolean {
    return this.status().degraded;
  }

  status(): OutboxStatus {
    let unsynced = 0;
    let queued = 0;
    let failed = 0;
    let oldestMs = Number.POSITIVE_INFINITY;
    for (const e of this.ledger.values()) {
      if (isFinal(e.state)) {
        if (!e.synced) unsynced += 1;
      } else {
        queued += 1;
        if (e.state === 'failed') failed += 1;
        oldestMs = Math.min(oldestMs, e.sinceMs);
      }
    }
    const redisUp = this.store.isUp();
    const oldestQueuedMs = queued === 0 ? 0 : Math.max(0, this.clock.wallMs() - oldestMs);
    // Owed pages are the leader's to deliver: a follower's leftovers are in Redis for it.
    const owing = this.leading && (failed > 0 || oldestQueuedMs > this.degradedAfterMs);
    return {
      degraded: !redisUp || this.storeTrouble || unsynced > 0 || owing,
      redisUp,
      unsynced,
      queued,
      failed,
      oldestQueuedSeconds: oldestQueuedMs / 1000,
      failingChannels: [...this.channelStates].filter(([, c]) => c.failing).map(([name]) => name),
    };
  }

  // ---- the retry timer -----------------------------------------------------------------

  /** After a drain: retry what is owed after a backoff, or stop retrying when nothing is. */
  private afterDrain(ctx: DrainContext): void {
    if (ctx.stopped === 'not-leader') this.leading = false;
    const progressed = ctx.items.some((i) => i.outcome === 'delivered' || i.outcome === 'rejected');
    if (progressed) this.retryStreak = 0;
    const unfinished = ctx.items.some((i) => UNFINISHED.has(i.outcome));
    if (unfinished || this.owedCount() > 0) {
      this.retryStreak += 1;
      this.scheduleRetry(backoffDelayMs(this.retryStreak, this.retryPolicy, this.random));
    } else {
      this.retryStreak = 0;
    }
    this.updateGauges();
  }

  /** Runs a retry drain in `delayMs` (or keeps an earlier one already scheduled). */
  private scheduleRetry(delayMs: number): void {
    if (this.closing.signal.aborted) return;
    const dueMs = this.clock.monotonicMs() + delayMs;
    if (this.retryTimer !== undefined) {
      if (this.retryDueMonoMs <= dueMs) return;
      this.timers.clear(this.retryTimer);
    }
    this.retryDueMonoMs = dueMs;
    this.retryTimer = this.timers.set(() => this.onRetryTimer(), delayMs);
  }

  private cancelRetry(): void {
    if (this.retryTimer !== undefined) this.timers.clear(this.retryTimer);
    this.retryTimer = undefined;
    this.retryDueMonoMs = Number.POSITIVE_INFINITY;
  }

  private onRetryTimer(): void {
    this.retryTimer = undefined;
    this.retryDueMonoMs = Number.POSITIVE_INFINITY;
    if (this.closing.signal.aborted || this.lastTerm === 0) return;
    // Only the leader of the term it drained for retries. Asking costs nothing, so a node
    // that lost its lease keeps asking at the slowest pace while it still holds owed work:
    // a lease that comes back in the same term resumes the retries (a new term drains anew).
    if (!this.mayAct(this.lastTerm)) {
      this.leading = false;
      this.updateGauges();
      if (this.owedCount() > 0) this.scheduleRetry(this.retryPolicy.maxDelayMs);
      return;
    }
    this.drain(this.lastTerm).catch((err: unknown) => {
      this.log.error({ err: describeError(err) }, 'outbox retry failed; retrying later');
      this.scheduleRetry(this.retryPolicy.maxDelayMs);
    });
  }

  private owedCount(): number {
    let n = 0;
    for (const e of this.ledger.values()) if (!isFinal(e.state)) n += 1;
    return n;
  }

  /** vigil_outbox_pending{channel} and vigil_outbox_oldest_pending_seconds{channel}: the leader's owed pages. */
  private updateGauges(): void {
    const m = this.metrics;
    if (!m) return;
    const count = new Map<string, number>(this.channels.map((c) => [c, 0]));
    const oldest = new Map<string, number>();
    if (this.leading) {
      for (const e of this.ledger.values()) {
        if (isFinal(e.state) || !count.has(e.channel)) continue;
        count.set(e.channel, (count.get(e.channel) ?? 0) + 1);
        oldest.set(e.channel, Math.min(oldest.get(e.channel) ?? Number.POSITIVE_INFINITY, e.sinceMs));
      }
    }
    const nowMs = this.clock.wallMs();
    for (const [channel, n] of count) {
      m.outboxPending.set({ channel }, n);
      const since = oldest.get(channel);
      m.outboxOldestPendingSeconds.set({ channel }, since === undefined ? 0 : Math.max(0, nowMs - since) / 1000);
    }
  }

  // ---- one group: a channel and an alert key, in incident order -------------------------

  private async runGroup(ctx: DrainContext, group: WorkItem[]): Promise<void> {
    for (let i = 0; i < group.length; i++) {
      const item = group[i] as WorkItem;
      if (ctx.stopped) return;
      const outcome = await this.runItem(ctx, item);
      if (outcome.outcome === 'delivered' || outcome.outcome === 'rejected' || outcome.outcome === 'already-done') continue;
      // Unfinished: what follows for this alert on this channel waits for it.
      for (const later of group.slice(i + 1)) {
        ctx.items.push({ id: later.notification.id, channel: later.channel, outcome: 'blocked', local: false });
      }
      return;
    }
  }

  private async runItem(ctx: DrainContext, item: WorkItem): Promise<ItemReport> {
    const report = (outcome: ItemOutcome, local = false): ItemReport => {
      const r: ItemReport = { id: item.notification.id, channel: item.channel, outcome, local };
      ctx.items.push(r);
      return r;
    };
    if (this.inFlight.has(item.key)) return report('in-flight');
    const known = this.ledger.get(item.key);
    if (known && isFinal(known.state)) return report('already-done');
    if (!this.mayAct(ctx.term)) {
      ctx.stopped ??= 'not-leader';
      return report('not-leader');
    }
    // A failing channel is probed with one page at a time: a dead receiver gets about one
    // request a second, not one per owed page. The probe's success releases the others.
    const channel = this.channelState(item.channel);
    const probe = channel.failing;
    if (probe) {
      if (channel.probing) {
        this.ledgerEntry(item, ctx.term);
        return report('waiting');
      }
      channel.probing = true;
    }
    this.inFlight.add(item.key);
    try {
      return await this.claimAndSend(ctx, item, report);
    } finally {
      this.inFlight.delete(item.key);
      if (probe) channel.probing = false;
    }
  }

  private async claimAndSend(
    ctx: DrainContext,
    item: WorkItem,
    report: (outcome: ItemOutcome, local?: boolean) => ItemReport,
  ): Promise<ItemReport> {
    const entry = this.ledgerEntry(item, ctx.term);
    let local = !this.store.isUp();
    if (!local) {
      try {
        const claim = await this.store.claimNotification({
          term: ctx.term,
          owner: this.nodeId,
          notification: item.notification,
          channel: item.channel,
          nowMs: this.clock.wallMs(),
        });
        switch (claim.status) {
          case 'claimed':
            if (claim.takenOverFrom) {
              this.log.info({ id: item.notification.id, channel: item.channel, from: claim.takenOverFrom, term: ctx.term }, 'finishing a notification an earlier leader claimed');
            }
            break;
          case 'done':
            this.settleLocally(entry, claim.outcome, ctx.term, true);
            return report('already-done');
          case 'held':
            this.log.warn({ id: item.notification.id, channel: item.channel, holder: claim.holder, term: ctx.term }, 'notification claimed by another node in the same term; not sending');
            return report('held');
          case 'fenced':
            this.fenced('claim', item, claim.fenceTerm, ctx.term);
            ctx.stopped = 'fenced';
            return report('fenced');
          default:
            return assertNever(claim);
        }
      } catch (err) {
        this.noteStoreTrouble('claim a notification', err);
        local = true;
      }
    }
    // Redis may have taken a while: the lease may be gone by now, or another group fenced.
    if (ctx.stopped) return report(ctx.stopped, local);
    if (!this.mayAct(ctx.term)) {
      ctx.stopped ??= 'not-leader';
      return report('not-leader', local);
    }

    const channel = this.channelState(item.channel);
    const outcome = await channel.slots.run(() => this.deliverSafely(item, this.sendContext(ctx, item, local)));
    entry.term = Math.max(entry.term, ctx.term);
    switch (outcome) {
      case 'delivered':
      case 'rejected':
        this.settleLocally(entry, outcome, ctx.term, false);
        if (channel.failing) {
          // The receiver is back: what waited behind the probe goes now, not after a backoff.
          channel.failing = false;
          this.log.info({ channel: item.channel }, 'channel answers again; sending what it is owed');
          this.scheduleRetry(0);
        }
        if (!local) await this.settleInStore(entry, ctx);
        return report(outcome, local);
      case 'failed':
        entry.state = 'failed';
        entry.atMs = this.clock.wallMs();
        channel.failing = true;
        return report('failed', local);
      case 'aborted':
        entry.state = 'queued';
        entry.atMs = this.clock.wallMs();
        return report('aborted', local);
      default:
        return assertNever(outcome);
    }
  }

  private async deliverSafely(item: WorkItem, send: SendContext): Promise<DeliveryOutcomeKind> {
    try {
      return await this.deliverFn(item.notification, item.channel, send);
    } catch (err) {
      this.log.warn({ id: item.notification.id, channel: item.channel, err: describeError(err) }, 'delivery threw; retrying on the next drain');
      return 'failed';
    }
  }

  /**
   * The pre-send check of one claim (docs/design.md §4, issue 8): the lease in exactly the claim's
   * term, then the fenced store's word that the claim is still ours and unsettled. With
   * Redis unreachable the lease alone decides, as for a send made without a claim.
   */
  private sendContext(ctx: DrainContext, item: WorkItem, local: boolean): SendContext {
    const beforeSend = async (): Promise<boolean> => {
      if (this.closing.signal.aborted || ctx.stopped || !this.mayAct(ctx.term)) return false;
      if (local) return true;
      let check;
      try {
        check = await this.store.checkClaim({ term: ctx.term, owner: this.nodeId, notificationId: item.notification.id, channel: item.channel });
      } catch (err) {
        this.noteStoreTrouble('check a claim before sending', err);
        return this.mayAct(ctx.term);
      }
      switch (check.status) {
        case 'claimed':
          return !ctx.stopped && this.mayAct(ctx.term);
        case 'fenced':
          this.fenced('pre-send check', item, check.fenceTerm, ctx.term);
          ctx.stopped = 'fenced';
          return false;
        case 'done':
        case 'lost':
          this.log.warn({ id: item.notification.id, channel: item.channel, term: ctx.term, check }, 'claim no longer ours before sending (settled or taken over); not sending');
          return false;
        default:
          return assertNever(check);
      }
    };
    return { term: ctx.term, beforeSend, signal: this.closing.signal };
  }

  private channelState(name: string): ChannelState {
    let c = this.channelStates.get(name);
    if (!c) {
      c = { slots: new Semaphore(this.maxSendsPerChannel), failing: false, probing: false };
      this.channelStates.set(name, c);
    }
    return c;
  }

  private ledgerEntry(item: WorkItem, term: number): LedgerEntry {
    let e = this.ledger.get(item.key);
    if (!e) {
      const nowMs = this.clock.wallMs();
      e = { notification: item.notification, channel: item.channel, state: 'queued', synced: false, term, atMs: nowMs, sinceMs: nowMs, seq: ++this.seq };
      this.ledger.set(item.key, e);
    }
    return e;
  }

  private settleLocally(e: LedgerEntry, outcome: SettledOutcome, term: number, synced: boolean): void {
    e.state = outcome;
    e.synced = synced;
    e.term = Math.max(e.term, term);
    e.atMs = this.clock.wallMs();
  }

  /** Writes one final outcome to Redis; leaves it unsynced if Redis cannot be reached. */
  private async settleInStore(e: LedgerEntry, ctx?: DrainContext): Promise<void> {
    if (!isFinal(e.state)) return;
    const term = Math.max(e.term, this.lastTerm);
    let result;
    try {
      result = await this.store.settleNotification({
        term,
        owner: this.nodeId,
        notification: e.notification,
        channel: e.channel,
        nowMs: this.clock.wallMs(),
        outcome: e.state,
      });
    } catch (err) {
      this.noteStoreTrouble('record a delivery', err);
      return;
    }
    switch (result.status) {
      case 'settled':
        e.synced = true;
        return;
      case 'done':
        e.synced = true;
        if (result.by.owner !== this.nodeId || result.by.term !== term) {
          this.log.warn({ id: e.notification.id, channel: e.channel, by: result.by }, 'notification was also settled by another leader (sent twice across a failover)');
        }
        return;
      case 'fenced':
        // A newer leader owns the outbox now; it may send this again. Nothing to retry.
        e.synced = true;
        this.fenced('settle', e, result.fenceTerm, term);
        if (ctx) ctx.stopped = 'fenced';
        return;
      default:
        assertNever(result);
    }
  }

  private syncLedger(): Promise<void> {
    if (this.syncing) return this.syncing;
    const run = async (): Promise<void> => {
      for (const e of [...this.ledger.values()]) {
        if (!isFinal(e.state) || e.synced) continue;
        if (!this.store.isUp()) return;
        await this.settleInStore(e);
      }
      if (this.store.isUp()) this.storeTrouble = false;
    };
    this.syncing = run().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private onStoreStatus(s: StoreStatus): void {
    if (!s.up) {
      this.log.warn('Redis down: paging continues with local deduplication');
      return;
    }
    if (s.dataLost) {
      // Redis came back empty: write again everything this node remembers as settled.
      for (const e of this.ledger.values()) if (isFinal(e.state)) e.synced = false;
    }
    this.reconcile().catch((err: unknown) => this.log.error({ err: describeError(err) }, 'writing local deliveries to Redis failed'));
    // Claims an earlier leader left while Redis was out of reach are now visible: drain soon
    // (the timer asks the lease first, so this is nothing on a follower).
    this.scheduleRetry(0);
  }

  private noteStoreTrouble(what: string, err: unknown): void {
    this.storeTrouble = true;
    this.log.warn({ err: describeError(err) }, `could not ${what} in Redis; continuing with the local ledger`);
  }

  private fenced(what: string, item: { notification: Notification; channel: string }, fenceTerm: number, term: number): void {
    this.metrics?.fencedWritesRejected.inc();
    this.log.warn({ id: item.notification.id, channel: item.channel, term, fenceTerm }, `outbox ${what} refused by the fence: a newer leader exists`);
  }

  private maybePrune(): void {
    const mono = this.clock.monotonicMs();
    if (mono - this.lastPruneMonoMs < this.pruneIntervalMs) return;
    this.lastPruneMonoMs = mono;
    this.store.pruneOutbox(Math.max(0, this.clock.wallMs() - this.retentionMs)).catch((err: unknown) => this.noteStoreTrouble('prune the outbox', err));
  }

  /** Forgets old entries; over the bound, the oldest settled-and-written ones first. */
  private pruneLedger(): void {
    const cutoffMs = this.clock.wallMs() - this.retentionMs;
    for (const [key, e] of this.ledger) {
      if (e.atMs < cutoffMs && (e.synced || !isFinal(e.state)) && !this.inFlight.has(key)) this.ledger.delete(key);
    }
    if (this.ledger.size <= this.maxLocalEntries) return;
    const removable = [...this.ledger].filter(([key, e]) => isFinal(e.state) && e.synced && !this.inFlight.has(key)).sort((a, b) => a[1].atMs - b[1].atMs);
    for (const [key] of removable.slice(0, this.ledger.size - this.maxLocalEntries)) this.ledger.delete(key);
  }
}

/**
 * Work grouped by (channel, alert key), each group in incident order: startsAt, firing
 * before resolved, then the order this node learned of them.
 */
function groupInOrder(items: Iterable<WorkItem>): WorkItem[][] {
  const groups = new Map<string, WorkItem[]>();
  for (const item of items) {
    const g = `${item.channel} ${item.notification.alert.key}`;
    const list = groups.get(g);
    if (list) list.push(item);
    else groups.set(g, [item]);
  }
  const rank = (i: WorkItem): number => (i.notification.alert.status === 'firing' ? 0 : 1);
  for (const list of groups.values()) {
    list.sort((a, b) => {
      const s = a.notification.alert.startsAt.localeCompare(b.notification.alert.startsAt);
      return s !== 0 ? s : rank(a) - rank(b) || a.orderMs - b.orderMs;
    });
  }
  return [...groups.values()];
}

/** At most `limit` tasks at once; the others wait their turn in order. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so `active` never
    // exceeds the limit.
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

/** Outcomes that leave work owed: the retry timer comes back for them. */
const UNFINISHED: ReadonlySet<ItemOutcome> = new Set<ItemOutcome>(['failed', 'aborted', 'blocked', 'waiting', 'in-flight']);

function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
