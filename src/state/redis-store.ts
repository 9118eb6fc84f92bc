/**
 * The Redis adapter of the StateStore port (docs/design.md §6), on ioredis, for a plain URL or a
 * Sentinel-managed master.
 *
 * Fail fast, never queue: the reconcile loop must not wait on Redis. The client has no
 * offline queue, retries a command at most once across a reconnect, and bounds every
 * command by `commandTimeoutMs`; while the store is down every method throws
 * REDIS_UNAVAILABLE at once. "Down" means the connection is gone, or a command timed out
 * (a hung server keeps its sockets open); a probe then checks the server every
 * `probeIntervalMs` until it answers again.
 *
 * Coming back: each time the connection becomes ready the store runs the `restore` script
 * before it reports itself up. It puts back the fence from the highest term this client has
 * seen (Redis restarted without persistence forgets it) and compares the data-set epoch to
 * the one it knew, so it can tell callers that data was lost. Data can also vanish under a
 * live connection (FLUSHALL, eviction, a replica promoted without the data): while up, the
 * store runs `restore` again every `probeIntervalMs` and reports a changed epoch the same
 * way, with `{ up: true, dataLost: true }`.
 */
import { randomUUID } from 'node:crypto';
import Redis, { ReplyError } from 'ioredis';
import type { VigilConfig } from '../config/types';
import { VigilError } from '../errors';
import { silentLogger, type Logger } from '../log';
import type { Metrics } from '../metrics';
import {
  checkKey,
  checkName,
  checkTerm,
  checkTimeMs,
  failoverIdAfter,
  failoverJson,
  parsePendingMember,
  redisUnavailable,
  stateKeys,
  toJson,
  type StateKeys,
} from './keys';
import { redisClientOptions } from './redis-connect';
import * as scripts from './scripts';
import { RESULT, type ScriptDef } from './scripts';
import {
  DEFAULT_EVENTS_MAX_LEN,
  DEFAULT_FAILOVERS_MAX_LEN,
  type AlertStateWrite,
  type ChannelRecord,
  type ClaimCheck,
  type ClaimCheckResult,
  type ClaimHolder,
  type ClaimRequest,
  type ClaimResult,
  type DeleteResult,
  type DocWriteResult,
  type EventAppendResult,
  type EventQuery,
  type FailoverAppendResult,
  type FailoverQuery,
  type FailoverRecord,
  type FenceResult,
  type JournalAppend,
  type JournalEntry,
  type JournalResult,
  type OutboxEntry,
  type PendingClaim,
  type SettleRequest,
  type SettleResult,
  type SettledOutcome,
  type StateStore,
  type StoredNotification,
  type StoreStatus,
  type StoredEvent,
  type StoredFailover,
  type VersionedDoc,
  type VigilEvent,
  type WarmStateWrite,
  type WarmWriteResult,
} from './types';

export interface RedisStateStoreOptions {
  /** VigilConfig.cluster: the key prefix `vigil:{<cluster>}:` */
  readonly cluster: string;
  readonly redis: VigilConfig['redis'];
  /** the store keeps vigil_redis_up */
  readonly metrics?: Pick<Metrics, 'redisUp'>;
  readonly log?: Logger;
  /** Upper bound of one command (default 1000 ms). */
  readonly commandTimeoutMs?: number;
  /** Upper bound of one connection attempt (default 2000 ms). */
  readonly connectTimeoutMs?: number;
  /** Reconnect backoff: initial delay doubling up to the maximum (defaults 50 ms, 2000 ms). */
  readonly reconnectInitialDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
  /** How often a hung server is probed while the store is down, and how often the data set
   * is checked for loss while it is up (default 1000 ms). */
  readonly probeIntervalMs?: number;
  /** Cap of the events stream (default 10,000; trimmed approximately). */
  readonly eventsMaxLen?: number;
  /** Cap of the failover journal (default 1000; exact). */
  readonly failoversMaxLen?: number;
}

/** Replies from Redis that mean "not now" rather than "wrong": the store is down. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;

export class RedisStateStore implements StateStore {
  readonly cluster: string;
  private readonly keys: StateKeys;
  private readonly client: Redis;
  private readonly log: Logger;
  private readonly metrics: Pick<Metrics, 'redisUp'> | undefined;
  private readonly probeIntervalMs: number;
  private readonly eventsMaxLen: number;
  private readonly failoversMaxLen: number;
  private readonly listeners = new Set<(s: StoreStatus) => void>();
  private up = false;
  private closed = false;
  private recovering = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** highest term presented to or reported by Redis: what `restore` puts back */
  private highestTermSeen = 0;
  /** the data-set epoch known from the last restore */
  private epoch: string | undefined;
  private lastErrorLogged = '';

  constructor(opts: RedisStateStoreOptions) {
    this.cluster = opts.cluster;
    this.keys = stateKeys(opts.cluster);
    this.log = (opts.log ?? silentLogger).child({ component: 'state' });
    this.metrics = opts.metrics;
    this.metrics?.redisUp.set(0);
    this.probeIntervalMs = opts.probeIntervalMs ?? 1000;
    this.eventsMaxLen = opts.eventsMaxLen ?? DEFAULT_EVENTS_MAX_LEN;
    this.failoversMaxLen = opts.failoversMaxLen ?? DEFAULT_FAILOVERS_MAX_LEN;
    const { url, options } = redisClientOptions(opts.redis, opts);
    this.client = url !== undefined ? new Redis(url, options) : new Redis(options);
    for (const def of scripts.ALL_SCRIPTS) {
      this.client.defineCommand(def.name, { numberOfKeys: def.numberOfKeys, lua: def.lua });
    }
    // An 'error' listener is required: without one ioredis re-emits connection errors as
    // uncaught exceptions, and a Redis outage would crash the replica.
    this.client.on('error', (err: Error) => this.logConnectionError(err));
    this.client.on('ready', () => void this.recover('connection ready'));
    this.client.on('close', () => this.markDown('connection closed'));
    this.client.on('end', () => {
      this.markDown('connection ended');
      // ioredis gives a client up for good when its Sentinel failover detector fires during
      // a reconnect; vigil never gives up on Redis, so it starts connecting again.
      if (!this.closed) this.restartTimer ??= setTimeout(() => this.restart(), this.probeIntervalMs);
    });
    // Connect in the background; the store reports up once `restore` has run.
    this.client.connect().catch((err: unknown) => this.logConnectionError(err));
  }

  isUp(): boolean {
    return this.up;
  }

  onStatus(listener: (s: StoreStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopProbe();
    this.stopWatch();
    clearTimeout(this.restartTimer);
    this.markDown('closed');
    this.listeners.clear();
    try {
      await this.client.quit();
    } catch {
      // closed below either way
    }
    // Also after QUIT: only disconnect() stops ioredis' Sentinel failover detector, whose
    // sentinel connections would otherwise reconnect for ever.
    this.client.disconnect();
  }

  // ---- fence -------------------------------------------------------------------------

  async fenceTerm(): Promise<number> {
    const value = await this.command('fenceTerm', () => this.client.get(this.keys.fence));
    const fence = Number(value ?? 0);
    this.seeTerm(fence);
    return fence;
  }

  async raiseFence(term: number): Promise<FenceResult> {
    checkTerm(term);
    const reply = await this.script('raiseFence', scripts.raiseFence, [this.keys.fence], [term], term);
    const fence = num(reply[1]);
    return reply[0] === RESULT.OK ? { status: 'ok', fenceTerm: fence } : { status: 'fenced', fenceTerm: fence };
  }

  // ---- alert state -------------------------------------------------------------------

  async readAlertState(key: string): Promise<VersionedDoc | undefined> {
    checkKey('alert-state key', key);
    const text = await this.command('readAlertState', () => this.client.hget(this.keys.alerts, key));
    return text === null ? undefined : parseEnvelope(text);
  }

  async readAlertStates(): Promise<Map<string, VersionedDoc>> {
    const all = await this.command('readAlertStates', () => this.client.hgetall(this.keys.alerts));
    return new Map(Object.entries(all).map(([key, text]) => [key, parseEnvelope(text)]));
  }

  async writeAlertState(w: AlertStateWrite): Promise<DocWriteResult> {
    checkTerm(w.term);
    checkKey('alert-state key', w.key);
    checkTimeMs('nowMs', w.nowMs);
    if (w.expectedVersion !== undefined) checkTerm(w.expectedVersion);
    const reply = await this.script(
      'writeAlertState',
      scripts.writeAlertState,
      [this.keys.fence, this.keys.alerts, this.keys.alertVersions],
      [w.term, w.key, w.nowMs, toJson('alert state', w.data), w.expectedVersion ?? ''],
      w.term,
    );
    switch (reply[0]) {
      case RESULT.OK:
        return { status: 'ok', version: num(reply[2]) };
      case RESULT.CONFLICT:
        return { status: 'conflict', version: num(reply[2]) };
      default:
        return fencedFrom(reply);
    }
  }

  async deleteAlertState(term: number, key: string): Promise<DeleteResult> {
    checkTerm(term);
    checkKey('alert-state key', key);
    const reply = await this.script(
      'deleteAlertState',
      scripts.deleteAlertState,
      [this.keys.fence, this.keys.alerts, this.keys.alertVersions],
      [term, key],
      term,
    );
    return reply[0] === RESULT.OK ? { status: 'ok', deleted: num(reply[2]) === 1 } : fencedFrom(reply);
  }

  // ---- outbox ------------------------------------------------------------------------

  async claimNotification(req: ClaimRequest): Promise<ClaimResult> {
    const reply = await this.script('claimNotification', scripts.claimNotification, this.outboxKeys(req), this.outboxArgs(req), req.term);
    switch (reply[0]) {
      case RESULT.OK: {
        const prev = holder(reply[3], reply[4]);
        const replaced = prev.term > 0 || prev.owner !== '';
        const takenOver = replaced && (prev.term !== req.term || prev.owner !== req.owner);
        return {
          status: 'claimed',
          fenceTerm: num(reply[1]),
          attempt: num(reply[2]),
          ...(takenOver ? { takenOverFrom: prev } : {}),
        };
      }
      case RESULT.DONE:
        return { status: 'done', outcome: outcome(reply[2]), by: holder(reply[3], reply[4]) };
      case RESULT.HELD:
        return { status: 'held', holder: holder(reply[2], reply[3]) };
      default:
        return fencedFrom(reply);
    }
  }

  async settleNotification(req: SettleRequest): Promise<SettleResult> {
    if (req.outcome !== 'delivered' && req.outcome !== 'rejected') outcome(req.outcome);
    const reply = await this.script(
      'settleNotification',
      scripts.settleNotification,
      this.outboxKeys(req),
      [...this.outboxArgs(req), req.outcome],
      req.term,
    );
    switch (reply[0]) {
      case RESULT.OK:
        return { status: 'settled' };
      case RESULT.DONE:
        return { status: 'done', outcome: outcome(reply[2]), by: holder(reply[3], reply[4]) };
      default:
        return fencedFrom(reply);
    }
  }

  async checkClaim(req: ClaimCheck): Promise<ClaimCheckResult> {
    checkTerm(req.term);
    checkName('owner', req.owner);
    checkName('channel', req.channel);
    checkKey('notification id', req.notificationId);
    const reply = await this.script(
      'checkClaim',
      scripts.checkClaim,
      [this.keys.fence, this.keys.outboxEntry(req.notificationId)],
      [req.term, req.owner, req.channel],
      // read-only: the term it presents is not one the fence accepted, so it is not
      // remembered (restore would otherwise raise the fence to it within a probe interval)
      undefined,
    );
    switch (reply[0]) {
      case RESULT.OK:
        return { status: 'claimed' };
      case RESULT.DONE:
        return { status: 'done', outcome: outcome(reply[2]), by: holder(reply[3], reply[4]) };
      case RESULT.LOST: {
        const h = holder(reply[2], reply[3]);
        return h.term > 0 || h.owner !== '' ? { status: 'lost', holder: h } : { status: 'lost' };
      }
      default:
        return fencedFrom(reply);
    }
  }

  async pendingNotifications(limit = 1000): Promise<PendingClaim[]> {
    const members = await this.command('pendingNotifications', () => this.client.zrange(this.keys.outboxPending, 0, limit - 1));
    if (members.length === 0) return [];
    const parsed = members.map(parsePendingMember);
    const ids = [...new Set(parsed.map((m) => m.notificationId))];
    const entries = await this.command('pendingNotifications', async () => {
      const pipeline = this.client.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.outboxEntry(id));
      const results = (await pipeline.exec()) ?? [];
      return results.map(([err, value]) => {
        if (err) throw err;
        return value as Record<string, string>;
      });
    });
    const byId = new Map(ids.map((id, i) => [id, decodeEntry(entries[i] ?? {})]));
    const out: PendingClaim[] = [];
    for (const { channel, notificationId } of parsed) {
      const entry = byId.get(notificationId);
      const rec = entry?.channels[channel];
      // A member whose record is not a claim cannot occur (the scripts keep both in step);
      // skip rather than resend on a guess.
      if (!entry || !rec || rec.state !== 'claimed') continue;
      out.push({ notification: entry.notification, channel, holder: rec.holder, claimedAtMs: rec.claimedAtMs, attempts: rec.attempts });
    }
    return out;
  }

  async readOutboxEntry(notificationId: string): Promise<OutboxEntry | undefined> {
    checkKey('notification id', notificationId);
    const fields = await this.command('readOutboxEntry', () => this.client.hgetall(this.keys.outboxEntry(notificationId)));
    return decodeEntry(fields);
  }

  async pruneOutbox(beforeMs: number): Promise<number> {
    checkTimeMs('beforeMs', beforeMs);
    return this.pruneLoop('pruneOutbox', scripts.pruneOutbox, [this.keys.outboxIndex, this.keys.outboxPending], beforeMs, this.keys.outboxEntryPrefix);
  }

  // ---- journal -----------------------------------------------------------------------

  async appendJournal(a: JournalAppend): Promise<JournalResult> {
    checkTerm(a.term);
    checkName('node id', a.nodeId);
    checkKey('plan id', a.planId);
    checkTimeMs('timeMs', a.timeMs);
    const envelope = JSON.stringify({ term: a.term, nodeId: a.nodeId, timeMs: a.timeMs, entry: JSON.parse(toJson('journal entry', a.entry)) });
    const reply = await this.script(
      'appendJournal',
      scripts.appendJournal,
      [this.keys.fence, this.keys.journal(a.planId), this.keys.journalIndex],
      [a.term, a.planId, a.timeMs, envelope],
      a.term,
    );
    return reply[0] === RESULT.OK ? { status: 'ok', seq: num(reply[2]) } : fencedFrom(reply);
  }

  async readJournal(planId: string): Promise<JournalEntry[]> {
    checkKey('plan id', planId);
    const items = await this.command('readJournal', () => this.client.lrange(this.keys.journal(planId), 0, -1));
    return items.map((text, i) => {
      const e = JSON.parse(text) as Omit<JournalEntry, 'seq'>;
      return { seq: i + 1, term: e.term, nodeId: e.nodeId, timeMs: e.timeMs, entry: e.entry };
    });
  }

  async pruneJournals(beforeMs: number): Promise<number> {
    checkTimeMs('beforeMs', beforeMs);
    return this.pruneLoop('pruneJournals', scripts.pruneJournals, [this.keys.journalIndex], beforeMs, this.keys.journalPrefix);
  }

  // ---- events ------------------------------------------------------------------------

  async appendEvent(e: VigilEvent): Promise<EventAppendResult> {
    checkKey('event type', e.type);
    checkName('node id', e.nodeId);
    checkTerm(e.term);
    checkTimeMs('timeMs', e.timeMs);
    const reply = await this.script(
      'appendEvent',
      scripts.appendEvent,
      [this.keys.fence, this.keys.events],
      [e.term, this.eventsMaxLen, e.type, e.timeMs, e.nodeId, toJson('event data', e.data ?? null)],
      e.term,
    );
    return reply[0] === RESULT.OK ? { status: 'ok', id: String(reply[2]) } : fencedFrom(reply);
  }

  async readEvents(q: EventQuery = {}): Promise<StoredEvent[]> {
    const limit = q.limit ?? 1000;
    let rows: Array<[string, string[]]>;
    if (q.afterId === undefined && q.sinceMs === undefined) {
      rows = (await this.command('readEvents', () => this.client.xrevrange(this.keys.events, '+', '-', 'COUNT', limit))).reverse();
    } else {
      const start = q.afterId !== undefined ? `(${q.afterId}` : String(q.sinceMs);
      rows = await this.command('readEvents', () => this.client.xrange(this.keys.events, start, '+', 'COUNT', limit));
    }
    const events = rows.map(([id, fields]) => decodeEvent(id, fields));
    return q.afterId !== undefined && q.sinceMs !== undefined
      ? events.filter((e) => streamIdMs(e.id) >= (q.sinceMs as number))
      : events;
  }

  // ---- failover journal ------------------------------------------------------------

  async appendFailover(f: FailoverRecord): Promise<FailoverAppendResult> {
    const rest = failoverJson(f);
    const reply = await this.script(
      'appendFailover',
      scripts.appendFailover,
      [this.keys.fence, this.keys.failovers, this.keys.failoverSeq],
      [f.term, this.failoversMaxLen, f.timeMs, rest],
      f.term,
    );
    return reply[0] === RESULT.OK ? { status: 'ok', id: String(reply[2]) } : fencedFrom(reply);
  }

  async readFailovers(q: FailoverQuery = {}): Promise<StoredFailover[]> {
    const limit = q.limit ?? 1000;
    const out: StoredFailover[] = [];
    // Newest first, in pages: an id bound ends the scan (ids rise in list order); a time
    // bound does not (an entry is appended when its change is over, so times interleave).
    const page = 100;
    for (let start = 0; out.length < limit; start += page) {
      const items = await this.command('readFailovers', () => this.client.lrange(this.keys.failovers, start, start + page - 1));
      for (const text of items) {
        const f = JSON.parse(text) as StoredFailover;
        if (q.afterId !== undefined && !failoverIdAfter(f.id, q.afterId)) return out;
        if (q.sinceMs !== undefined && f.timeMs < q.sinceMs) continue;
        out.push(f);
        if (out.length >= limit) return out;
      }
      if (items.length < page) return out;
    }
    return out;
  }

  // ---- warm state --------------------------------------------------------------------

  async writeWarmState(w: WarmStateWrite): Promise<WarmWriteResult> {
    checkTerm(w.term);
    checkTimeMs('nowMs', w.nowMs);
    const reply = await this.script(
      'writeWarmState',
      scripts.writeWarmState,
      [this.keys.fence, this.keys.warm],
      [w.term, w.nowMs, toJson('warm state', w.data)],
      w.term,
    );
    return reply[0] === RESULT.OK ? { status: 'ok', version: num(reply[2]) } : fencedFrom(reply);
  }

  async readWarmState(): Promise<VersionedDoc | undefined> {
    const text = await this.command('readWarmState', () => this.client.hget(this.keys.warm, 'doc'));
    return text === null ? undefined : parseEnvelope(text);
  }

  // ---- plumbing ----------------------------------------------------------------------

  private outboxKeys(req: ClaimRequest): string[] {
    return [this.keys.fence, this.keys.outboxEntry(req.notification.id), this.keys.outboxIndex, this.keys.outboxPending];
  }

  private outboxArgs(req: ClaimRequest): Array<string | number> {
    checkTerm(req.term);
    checkName('owner', req.owner);
    checkName('channel', req.channel);
    checkKey('notification id', req.notification.id);
    checkTimeMs('nowMs', req.nowMs);
    return [req.term, req.owner, req.channel, req.notification.id, req.nowMs, toJson('notification', req.notification)];
  }

  private async pruneLoop(op: string, def: ScriptDef, keys: string[], beforeMs: number, prefix: string): Promise<number> {
    const batch = 200;
    let total = 0;
    for (;;) {
      const removed = num(await this.command(op, () => this.call(def, keys, [beforeMs, batch, prefix])));
      total += removed;
      if (removed < batch) return total;
    }
  }

  /**
   * Runs a fenced script; remembers the term a write presents (a write raises the fence to
   * it) and the fence it learns. A read-only check passes no term.
   */
  private async script(op: string, def: ScriptDef, keys: string[], args: Array<string | number>, term: number | undefined): Promise<unknown[]> {
    if (term !== undefined) this.seeTerm(term);
    const reply = await this.command(op, () => this.call(def, keys, args));
    if (!Array.isArray(reply)) throw new VigilError('INTERNAL', `Redis script ${def.name} returned ${String(reply)}, expected an array`);
    this.seeTerm(num(reply[1]));
    return reply as unknown[];
  }

  private call(def: ScriptDef, keys: string[], args: Array<string | number>): Promise<unknown> {
    if (keys.length !== def.numberOfKeys) throw new VigilError('INTERNAL', `script ${def.name} takes ${def.numberOfKeys} keys, got ${keys.length}`);
    const fn = (this.client as unknown as Record<string, ScriptFn>)[def.name];
    if (!fn) throw new VigilError('INTERNAL', `script ${def.name} is not defined on the Redis client`);
    return fn.call(this.client, ...keys, ...args.map(String));
  }

  /** Every Redis call goes through here: fail fast while down, classify failures. */
  private async command<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (!this.up) throw redisUnavailable(op);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof VigilError) throw err;
      if (err instanceof ReplyError && !TRANSIENT_REPLY.test((err as Error).message)) {
        throw new VigilError('INTERNAL', `Redis refused ${op}: ${(err as Error).message}`, { cause: err, context: { operation: op } });
      }
      this.markDown(`${op} failed: ${(err as Error)?.message ?? String(err)}`);
      throw redisUnavailable(op, err);
    }
  }

  private seeTerm(term: number): void {
    if (Number.isSafeInteger(term) && term > this.highestTermSeen) this.highestTermSeen = term;
  }

  /** Runs `restore`: the fence put back, the epoch read (or created). True if data was lost. */
  private async restoreData(): Promise<{ fence: number; dataLost: boolean }> {
    const fresh = randomUUID();
    const reply = (await this.call(scripts.restore, [this.keys.fence, this.keys.epoch], [this.highestTermSeen, fresh])) as unknown[];
    const fence = num(reply[0]);
    const epoch = String(reply[1]);
    this.seeTerm(fence);
    const dataLost = this.epoch !== undefined && epoch !== this.epoch;
    this.epoch = epoch;
    return { fence, dataLost };
  }

  /**
   * Runs `restore` and, when it answers, reports the store up. Called when the connection
   * becomes ready and by the probe while a connected server is not answering.
   */
  private async recover(reason: string): Promise<void> {
    if (this.closed || this.recovering || this.up) return;
    this.recovering = true;
    try {
      const { fence, dataLost } = await this.restoreData();
      if (this.closed) return;
      this.stopProbe();
      this.up = true;
      this.lastErrorLogged = '';
      this.metrics?.redisUp.set(1);
      if (dataLost) {
        this.log.warn({ fenceTerm: fence }, 'Redis is back without its data (restarted without persistence?); fence restored from the highest term seen');
      } else {
        this.log.info({ reason }, 'Redis is up');
      }
      this.startWatch();
      this.emit({ up: true, dataLost });
    } catch (err) {
      this.log.debug({ err: (err as Error)?.message, reason }, 'Redis not answering yet');
      this.startProbe();
    } finally {
      this.recovering = false;
    }
  }

  /**
   * While up: has the data set vanished under the live connection (FLUSHALL, eviction)?
   * `restore` answers that and puts the fence back in the same step, so a deposed leader
   * gets at most one interval in which a lower term could write.
   */
  private async watchData(): Promise<void> {
    if (this.closed || !this.up || this.watching || this.recovering) return;
    this.watching = true;
    try {
      const { fence, dataLost } = await this.command('watchData', () => this.restoreData());
      if (!dataLost || this.closed || !this.up) return;
      this.log.warn({ fenceTerm: fence }, 'Redis lost its data while connected (FLUSHALL or eviction?); fence restored from the highest term seen');
      this.emit({ up: true, dataLost: true });
    } catch {
      // command() has marked the store down; recovery reports what it finds
    } finally {
      this.watching = false;
    }
  }

  private markDown(reason: string): void {
    this.stopWatch();
    if (this.up) {
      this.up = false;
      this.metrics?.redisUp.set(0);
      this.log.warn({ reason }, 'Redis is down: falling back to local state until it returns');
      this.emit({ up: false, dataLost: false });
    }
    // A closed connection comes back through 'ready'; a hung one needs probing.
    if (!this.closed && this.client.status === 'ready') this.startProbe();
  }

  private restart(): void {
    this.restartTimer = undefined;
    if (this.closed || this.client.status !== 'end') return;
    this.client.connect().catch((err: unknown) => this.logConnectionError(err));
  }

  private startProbe(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setInterval(() => {
      if (this.up || this.client.status !== 'ready') {
        if (this.up) this.stopProbe();
        return;
      }
      void this.recover('probe');
    }, this.probeIntervalMs);
    this.probeTimer.unref();
  }

  private startWatch(): void {
    if (this.watchTimer || this.closed) return;
    this.watchTimer = setInterval(() => void this.watchData(), this.probeIntervalMs);
    this.watchTimer.unref();
  }

  private stopWatch(): void {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  private stopProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private emit(status: StoreStatus): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(status);
      } catch (err) {
        this.log.error({ err: (err as Error)?.message }, 'state store status listener threw');
      }
    }
  }

  private logConnectionError(err: unknown): void {
    const message = (err as Error)?.message ?? String(err);
    // ioredis reports every failed reconnect; say it once per distinct error.
    if (message === this.lastErrorLogged) return;
    this.lastErrorLogged = message;
    this.log.warn({ err: message }, 'Redis connection error');
  }
}

function num(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) throw new VigilError('INTERNAL', `unexpected reply from Redis: ${String(value)} is not a number`);
  return n;
}

function holder(term: unknown, owner: unknown): ClaimHolder {
  return { term: num(term), owner: String(owner ?? '') };
}

function outcome(value: unknown): SettledOutcome {
  if (value === 'delivered' || value === 'rejected') return value;
  throw new VigilError('INTERNAL', `unexpected outbox outcome ${String(value)}`);
}

function fencedFrom(reply: unknown[]): { status: 'fenced'; fenceTerm: number } {
  if (reply[0] !== RESULT.FENCED) throw new VigilError('INTERNAL', `unexpected reply code ${String(reply[0])} from a fenced script`);
  return { status: 'fenced', fenceTerm: num(reply[1]) };
}

function parseEnvelope(text: string): VersionedDoc {
  const d = JSON.parse(text) as VersionedDoc;
  return { version: d.version, term: d.term, updatedAtMs: d.updatedAtMs, data: d.data };
}

/** An outbox entry from its hash fields (see src/state/scripts.ts claimNotification). */
export function decodeEntry(fields: Record<string, string>): OutboxEntry | undefined {
  if (fields['notification'] === undefined) return undefined;
  const channels: Record<string, ChannelRecord> = {};
  for (const [field, state] of Object.entries(fields)) {
    const m = /^c:(.+):state$/.exec(field);
    if (!m) continue;
    const channel = m[1] as string;
    const f = (name: string): string | undefined => fields[`c:${channel}:${name}`];
    const h: ClaimHolder = { term: Number(f('term') ?? 0), owner: f('owner') ?? '' };
    const attempts = Number(f('attempts') ?? 0);
    channels[channel] =
      state === 'claimed'
        ? { state, holder: h, claimedAtMs: Number(f('claimedAtMs') ?? 0), attempts }
        : { state: outcome(state), holder: h, settledAtMs: Number(f('settledAtMs') ?? 0), attempts };
  }
  return {
    notification: JSON.parse(fields['notification']) as StoredNotification,
    createdAtMs: Number(fields['createdAtMs'] ?? 0),
    channels,
  };
}

function decodeEvent(id: string, fields: string[]): StoredEvent {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i] as string, fields[i + 1] as string);
  return {
    id,
    type: m.get('type') ?? '',
    timeMs: Number(m.get('timeMs') ?? 0),
    nodeId: m.get('nodeId') ?? '',
    term: Number(m.get('term') ?? 0),
    data: JSON.parse(m.get('data') ?? 'null'),
  };
}

/** The milliseconds part of a stream id "<ms>-<seq>". */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}
