/**
 * In-memory StateStore (STYLE habit 4): the same semantics as the Lua scripts of
 * src/state/scripts.ts, checked by the same contract suite (test/contract/
 * state-store.contract.ts) that runs against real Redis.
 *
 * A `MemoryStateBackend` plays the Redis server: several stores (clients, one per replica)
 * share it, and a test can stop it (every call then fails fast with REDIS_UNAVAILABLE, as
 * the real adapter does) and start it again, by default without its data, as a Redis
 * without persistence comes back.
 */
import { checkKey, checkName, checkTerm, checkTimeMs, failoverIdAfter, failoverJson, pendingMember, parsePendingMember, redisUnavailable, toJson } from '../../src/state/keys';
import {
  DEFAULT_EVENTS_MAX_LEN,
  DEFAULT_FAILOVERS_MAX_LEN,
  type AlertStateWrite,
  type ChannelRecord,
  type ClaimCheck,
  type ClaimCheckResult,
  type ClaimRequest,
  type ClaimResult,
  type DeleteResult,
  type DocWriteResult,
  type EventAppendResult,
  type EventQuery,
  type FailoverAppendResult,
  type FailoverQuery,
  type FailoverRecord,
  type Fenced,
  type FenceResult,
  type JournalAppend,
  type JournalEntry,
  type JournalResult,
  type OutboxEntry,
  type PendingClaim,
  type SettleRequest,
  type SettleResult,
  type StateStore,
  type StoredNotification,
  type StoreStatus,
  type StoredEvent,
  type StoredFailover,
  type VersionedDoc,
  type VigilEvent,
  type WarmStateWrite,
  type WarmWriteResult,
} from '../../src/state/types';

interface StoredDoc {
  version: number;
  term: number;
  updatedAtMs: number;
  /** JSON text, so readers get copies as from Redis */
  json: string;
}

interface StoredEntry {
  notificationJson: string;
  createdAtMs: number;
  channels: Map<string, ChannelRecord>;
}

interface ClusterData {
  fence: number;
  epoch: string | undefined;
  alerts: Map<string, StoredDoc>;
  alertVersions: Map<string, number>;
  outbox: Map<string, StoredEntry>;
  /** member "<channel> <id>" → claim time */
  pending: Map<string, number>;
  journals: Map<string, { entries: string[]; lastMs: number }>;
  events: Array<{ id: string; fields: VigilEvent & { dataJson: string } }>;
  lastEventMs: number;
  lastEventSeq: number;
  /** JSON texts, newest first */
  failovers: string[];
  failoverSeq: number;
  warm: StoredDoc | undefined;
  warmVersion: number;
}

function emptyCluster(): ClusterData {
  return {
    fence: 0,
    epoch: undefined,
    alerts: new Map(),
    alertVersions: new Map(),
    outbox: new Map(),
    pending: new Map(),
    journals: new Map(),
    events: [],
    lastEventMs: 0,
    lastEventSeq: 0,
    failovers: [],
    failoverSeq: 0,
    warm: undefined,
    warmVersion: 0,
  };
}

export interface MemoryStateBackendOptions {
  /** The "server clock" of event stream ids (default Date.now). */
  readonly nowMs?: () => number;
}

export class MemoryStateBackend {
  private clusters = new Map<string, ClusterData>();
  private running = true;
  private readonly clients = new Set<MemoryStateStore>();
  private epochSeq = 0;
  readonly nowMs: () => number;

  constructor(opts: MemoryStateBackendOptions = {}) {
    this.nowMs = opts.nowMs ?? (() => Date.now());
  }

  isRunning(): boolean {
    return this.running;
  }

  /** A new client (one replica's connection) for a cluster's keys. */
  connect(cluster: string, opts: { eventsMaxLen?: number; failoversMaxLen?: number } = {}): MemoryStateStore {
    const store = new MemoryStateStore(this, cluster, opts.eventsMaxLen ?? DEFAULT_EVENTS_MAX_LEN, opts.failoversMaxLen ?? DEFAULT_FAILOVERS_MAX_LEN);
    this.clients.add(store);
    return store;
  }

  /** The server goes away: every client reports down and every call fails fast. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const c of this.clients) c.backendChanged();
  }

  /** The server returns; without `keepData` it has lost everything (no persistence). */
  start(opts: { keepData?: boolean } = {}): void {
    if (this.running) return;
    if (!opts.keepData) this.clusters = new Map();
    this.running = true;
    for (const c of this.clients) c.backendChanged();
  }

  /**
   * Loses every cluster's data while staying up (FLUSHALL, eviction). Each client notices
   * at once, as the real one does within its probe interval: fence restored, data loss
   * reported.
   */
  wipe(): void {
    this.clusters = new Map();
    if (!this.running) return;
    for (const c of this.clients) c.dataWiped();
  }

  /** @internal */
  data(cluster: string): ClusterData {
    let d = this.clusters.get(cluster);
    if (!d) {
      d = emptyCluster();
      this.clusters.set(cluster, d);
    }
    return d;
  }

  /** @internal */
  newEpoch(): string {
    this.epochSeq += 1;
    return `epoch-${this.epochSeq}`;
  }

  /** @internal */
  disconnect(store: MemoryStateStore): void {
    this.clients.delete(store);
  }
}

export class MemoryStateStore implements StateStore {
  private up = false;
  private closed = false;
  private highestTermSeen = 0;
  private epoch: string | undefined;
  private readonly listeners = new Set<(s: StoreStatus) => void>();

  constructor(
    private readonly backend: MemoryStateBackend,
    readonly cluster: string,
    private readonly eventsMaxLen: number,
    private readonly failoversMaxLen: number = DEFAULT_FAILOVERS_MAX_LEN,
  ) {
    // Like the real client, it connects in the background and reports up after `restore`.
    queueMicrotask(() => this.backendChanged());
  }

  /** @internal called by the backend on stop/start */
  backendChanged(): void {
    if (this.closed) return;
    if (this.backend.isRunning() && !this.up) {
      const dataLost = this.restore();
      this.up = true;
      this.emit({ up: true, dataLost });
    } else if (!this.backend.isRunning() && this.up) {
      this.up = false;
      this.emit({ up: false, dataLost: false });
    }
  }

  /** @internal called by the backend when it lost its data under a live connection */
  dataWiped(): void {
    if (this.closed || !this.up) return;
    if (this.restore()) this.emit({ up: true, dataLost: true });
  }

  /** The `restore` script: fence put back, epoch read or created; true if data was lost. */
  private restore(): boolean {
    const d = this.backend.data(this.cluster);
    if (this.highestTermSeen > d.fence) d.fence = this.highestTermSeen;
    if (d.epoch === undefined) d.epoch = this.backend.newEpoch();
    const dataLost = this.epoch !== undefined && this.epoch !== d.epoch;
    this.epoch = d.epoch;
    this.seeTerm(d.fence);
    return dataLost;
  }

  isUp(): boolean {
    return this.up;
  }

  onStatus(listener: (s: StoreStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.up = false;
    this.listeners.clear();
    this.backend.disconnect(this);
  }

  async fenceTerm(): Promise<number> {
    const d = await this.data('fenceTerm');
    this.seeTerm(d.fence);
    return d.fence;
  }

  async raiseFence(term: number): Promise<FenceResult> {
    checkTerm(term);
    const { d, fenced } = await this.fenced('raiseFence', term);
    return fenced ?? { status: 'ok', fenceTerm: d.fence };
  }

  async readAlertState(key: string): Promise<VersionedDoc | undefined> {
    checkKey('alert-state key', key);
    const d = await this.data('readAlertState');
    const doc = d.alerts.get(key);
    return doc && toDoc(doc);
  }

  async readAlertStates(): Promise<Map<string, VersionedDoc>> {
    const d = await this.data('readAlertStates');
    return new Map([...d.alerts].map(([k, doc]) => [k, toDoc(doc)]));
  }

  async writeAlertState(w: AlertStateWrite): Promise<DocWriteResult> {
    checkTerm(w.term);
    checkKey('alert-state key', w.key);
    checkTimeMs('nowMs', w.nowMs);
    const json = toJson('alert state', w.data);
    const { d, fenced } = await this.fenced('writeAlertState', w.term);
    if (fenced) return fenced;
    const current = d.alertVersions.get(w.key) ?? 0;
    if (w.expectedVersion !== undefined && w.expectedVersion !== current) return { status: 'conflict', version: current };
    const version = current + 1;
    d.alertVersions.set(w.key, version);
    d.alerts.set(w.key, { version, term: w.term, updatedAtMs: w.nowMs, json });
    return { status: 'ok', version };
  }

  async deleteAlertState(term: number, key: string): Promise<DeleteResult> {
    checkTerm(term);
    checkKey('alert-state key', key);
    const { d, fenced } = await this.fenced('deleteAlertState', term);
    if (fenced) return fenced;
    d.alertVersions.delete(key);
    return { status: 'ok', deleted: d.alerts.delete(key) };
  }

  async claimNotification(req: ClaimRequest): Promise<ClaimResult> {
    const json = checkOutboxRequest(req);
    const { d, fenced } = await this.fenced('claimNotification', req.term);
    if (fenced) return fenced;
    const id = req.notification.id;
    const entry = d.outbox.get(id);
    const rec = entry?.channels.get(req.channel);
    if (rec && rec.state !== 'claimed') return { status: 'done', outcome: rec.state, by: rec.holder };
    if (rec && (rec.holder.term > req.term || (rec.holder.term === req.term && rec.holder.owner !== req.owner))) {
      return { status: 'held', holder: rec.holder };
    }
    const e = entry ?? { notificationJson: json, createdAtMs: req.nowMs, channels: new Map<string, ChannelRecord>() };
    if (!entry) d.outbox.set(id, e);
    const attempt = (rec?.attempts ?? 0) + 1;
    e.channels.set(req.channel, { state: 'claimed', holder: { term: req.term, owner: req.owner }, claimedAtMs: req.nowMs, attempts: attempt });
    d.pending.set(pendingMember(req.channel, id), req.nowMs);
    const takenOver = rec && (rec.holder.term !== req.term || rec.holder.owner !== req.owner);
    return { status: 'claimed', fenceTerm: d.fence, attempt, ...(takenOver ? { takenOverFrom: rec.holder } : {}) };
  }

  async settleNotification(req: SettleRequest): Promise<SettleResult> {
    const json = checkOutboxRequest(req);
    if (req.outcome !== 'delivered' && req.outcome !== 'rejected') throw new Error(`invalid outcome ${String(req.outcome)}`);
    const { d, fenced } = await this.fenced('settleNotification', req.term);
    if (fenced) return fenced;
    const id = req.notification.id;
    const entry = d.outbox.get(id);
    const rec = entry?.channels.get(req.channel);
    if (rec && rec.state !== 'claimed') return { status: 'done', outcome: rec.state, by: rec.holder };
    const e = entry ?? { notificationJson: json, createdAtMs: req.nowMs, channels: new Map<string, ChannelRecord>() };
    if (!entry) d.outbox.set(id, e);
    e.channels.set(req.channel, {
      state: req.outcome,
      holder: { term: req.term, owner: req.owner },
      settledAtMs: req.nowMs,
      attempts: rec?.attempts ?? 0,
    });
    d.pending.delete(pendingMember(req.channel, id));
    return { status: 'settled' };
  }

  async checkClaim(req: ClaimCheck): Promise<ClaimCheckResult> {
    checkTerm(req.term);
    checkName('owner', req.owner);
    checkName('channel', req.channel);
    checkKey('notification id', req.notificationId);
    // Read-only like the script: compares with the fence, never raises it, and the
    // term it presents is not remembered (a restored fence must not rise to it).
    const d = await this.data('checkClaim');
    this.seeTerm(d.fence);
    if (req.term < d.fence) return { status: 'fenced', fenceTerm: d.fence };
    const rec = d.outbox.get(req.notificationId)?.channels.get(req.channel);
    if (rec && rec.state !== 'claimed') return { status: 'done', outcome: rec.state, by: rec.holder };
    if (rec && rec.holder.term === req.term && rec.holder.owner === req.owner) return { status: 'claimed' };
    return rec ? { status: 'lost', holder: rec.holder } : { status: 'lost' };
  }

  async pendingNotifications(limit = 1000): Promise<PendingClaim[]> {
    const d = await this.data('pendingNotifications');
    const members = [...d.pending].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, limit);
    const out: PendingClaim[] = [];
    for (const [member] of members) {
      const { channel, notificationId } = parsePendingMember(member);
      const entry = d.outbox.get(notificationId);
      const rec = entry?.channels.get(channel);
      if (!entry || !rec || rec.state !== 'claimed') continue;
      out.push({
        notification: JSON.parse(entry.notificationJson) as StoredNotification,
        channel,
        holder: rec.holder,
        claimedAtMs: rec.claimedAtMs,
        attempts: rec.attempts,
      });
    }
    return out;
  }

  async readOutboxEntry(notificationId: string): Promise<OutboxEntry | undefined> {
    checkKey('notification id', notificationId);
    const d = await this.data('readOutboxEntry');
    const e = d.outbox.get(notificationId);
    if (!e) return undefined;
    return {
      notification: JSON.parse(e.notificationJson) as StoredNotification,
      createdAtMs: e.createdAtMs,
      channels: Object.fromEntries(e.channels),
    };
  }

  async pruneOutbox(beforeMs: number): Promise<number> {
    checkTimeMs('beforeMs', beforeMs);
    const d = await this.data('pruneOutbox');
    let n = 0;
    for (const [id, e] of [...d.outbox]) {
      if (e.createdAtMs >= beforeMs) continue;
      for (const channel of e.channels.keys()) d.pending.delete(pendingMember(channel, id));
      d.outbox.delete(id);
      n += 1;
    }
    return n;
  }

  async appendJournal(a: JournalAppend): Promise<JournalResult> {
    checkTerm(a.term);
    checkName('node id', a.nodeId);
    checkKey('plan id', a.planId);
    checkTimeMs('timeMs', a.timeMs);
    const envelope = JSON.stringify({ term: a.term, nodeId: a.nodeId, timeMs: a.timeMs, entry: JSON.parse(toJson('journal entry', a.entry)) });
    const { d, fenced } = await this.fenced('appendJournal', a.term);
    if (fenced) return fenced;
    const j = d.journals.get(a.planId) ?? { entries: [], lastMs: 0 };
    d.journals.set(a.planId, j);
    j.entries.push(envelope);
    j.lastMs = a.timeMs;
    return { status: 'ok', seq: j.entries.length };
  }

  async readJournal(planId: string): Promise<JournalEntry[]> {
    checkKey('plan id', planId);
    const d = await this.data('readJournal');
    return (d.journals.get(planId)?.entries ?? []).map((text, i) => {
      const e = JSON.parse(text) as Omit<JournalEntry, 'seq'>;
      return { seq: i + 1, term: e.term, nodeId: e.nodeId, timeMs: e.timeMs, entry: e.entry };
    });
  }

  async pruneJournals(beforeMs: number): Promise<number> {
    checkTimeMs('beforeMs', beforeMs);
    const d = await this.data('pruneJournals');
    let n = 0;
    for (const [planId, j] of [...d.journals]) {
      if (j.lastMs < beforeMs) {
        d.journals.delete(planId);
        n += 1;
      }
    }
    return n;
  }

  async appendEvent(e: VigilEvent): Promise<EventAppendResult> {
    checkKey('event type', e.type);
    checkName('node id', e.nodeId);
    checkTerm(e.term);
    checkTimeMs('timeMs', e.timeMs);
    const dataJson = toJson('event data', e.data ?? null);
    const { d, fenced } = await this.fenced('appendEvent', e.term);
    if (fenced) return fenced;
    // Stream ids as Redis makes them: server milliseconds, a sequence within one ms, never
    // going backwards even if the clock does.
    const nowMs = Math.max(this.backend.nowMs(), d.lastEventMs);
    d.lastEventSeq = nowMs === d.lastEventMs ? d.lastEventSeq + 1 : 0;
    d.lastEventMs = nowMs;
    const id = `${nowMs}-${d.lastEventSeq}`;
    d.events.push({ id, fields: { type: e.type, timeMs: e.timeMs, nodeId: e.nodeId, term: e.term, dataJson } });
    if (d.events.length > this.eventsMaxLen) d.events.splice(0, d.events.length - this.eventsMaxLen);
    return { status: 'ok', id };
  }

  async readEvents(q: EventQuery = {}): Promise<StoredEvent[]> {
    const d = await this.data('readEvents');
    const limit = q.limit ?? 1000;
    let rows = d.events;
    if (q.afterId !== undefined) {
      const after = q.afterId;
      rows = rows.filter((r) => compareStreamIds(r.id, after) > 0);
    }
    if (q.sinceMs !== undefined) {
      const since = q.sinceMs;
      rows = rows.filter((r) => Number(r.id.split('-')[0]) >= since);
    }
    rows = q.afterId === undefined && q.sinceMs === undefined ? rows.slice(-limit) : rows.slice(0, limit);
    return rows.map((r) => ({
      id: r.id,
      type: r.fields.type,
      timeMs: r.fields.timeMs,
      nodeId: r.fields.nodeId,
      term: r.fields.term,
      data: JSON.parse(r.fields.dataJson),
    }));
  }

  async appendFailover(f: FailoverRecord): Promise<FailoverAppendResult> {
    const rest = failoverJson(f);
    const { d, fenced } = await this.fenced('appendFailover', f.term);
    if (fenced) return fenced;
    d.failoverSeq += 1;
    const id = `${f.timeMs}-${d.failoverSeq}`;
    d.failovers.unshift(`{"id":"${id}",${rest}`);
    if (d.failovers.length > this.failoversMaxLen) d.failovers.length = this.failoversMaxLen;
    return { status: 'ok', id };
  }

  async readFailovers(q: FailoverQuery = {}): Promise<StoredFailover[]> {
    const d = await this.data('readFailovers');
    const limit = q.limit ?? 1000;
    const out: StoredFailover[] = [];
    for (const text of d.failovers) {
      const f = JSON.parse(text) as StoredFailover;
      if (q.afterId !== undefined && !failoverIdAfter(f.id, q.afterId)) break;
      if (q.sinceMs !== undefined && f.timeMs < q.sinceMs) continue;
      out.push(f);
      if (out.length >= limit) break;
    }
    return out;
  }

  async writeWarmState(w: WarmStateWrite): Promise<WarmWriteResult> {
    checkTerm(w.term);
    checkTimeMs('nowMs', w.nowMs);
    const json = toJson('warm state', w.data);
    const { d, fenced } = await this.fenced('writeWarmState', w.term);
    if (fenced) return fenced;
    d.warmVersion += 1;
    d.warm = { version: d.warmVersion, term: w.term, updatedAtMs: w.nowMs, json };
    return { status: 'ok', version: d.warmVersion };
  }

  async readWarmState(): Promise<VersionedDoc | undefined> {
    const d = await this.data('readWarmState');
    return d.warm && toDoc(d.warm);
  }

  // ---- plumbing ----------------------------------------------------------------------

  /** The cluster's data, after a turn of the event loop, as a network call would be. */
  private async data(op: string): Promise<ClusterData> {
    await Promise.resolve();
    if (!this.up || !this.backend.isRunning()) throw redisUnavailable(op);
    return this.backend.data(this.cluster);
  }

  /** The fence prologue of every fenced script. */
  private async fenced(op: string, term: number): Promise<{ d: ClusterData; fenced?: Fenced }> {
    this.seeTerm(term);
    const d = await this.data(op);
    this.seeTerm(d.fence);
    if (term < d.fence) return { d, fenced: { status: 'fenced', fenceTerm: d.fence } };
    if (term > d.fence) d.fence = term;
    return { d };
  }

  private seeTerm(term: number): void {
    if (term > this.highestTermSeen) this.highestTermSeen = term;
  }

  private emit(status: StoreStatus): void {
    for (const l of [...this.listeners]) l(status);
  }
}

function toDoc(doc: StoredDoc): VersionedDoc {
  return { version: doc.version, term: doc.term, updatedAtMs: doc.updatedAtMs, data: JSON.parse(doc.json) };
}

function checkOutboxRequest(req: ClaimRequest): string {
  checkTerm(req.term);
  checkName('owner', req.owner);
  checkName('channel', req.channel);
  checkKey('notification id', req.notification.id);
  checkTimeMs('nowMs', req.nowMs);
  return toJson('notification', req.notification);
}

function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : as - bs;
}
