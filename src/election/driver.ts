/**
 * The election driver (docs/design.md §2 "a driver owns timers, persistence and transport"): the
 * one place where the pure core (node.ts) meets the clock, randomness, the disk and the
 * network.
 *
 * Contract with the core, for every input:
 *   1. step the core with the monotonic clock reading (performance.now());
 *   2. if the output asks to persist, write it durably (storage.ts) — and if that fails,
 *      send nothing and stop the process: a replica that cannot persist its vote must not
 *      vote;
 *   3. send the messages;
 *   4. re-arm the single timer at `nextDeadlineMs()`;
 *   5. report role changes and events (logs, metrics, listeners).
 * Inputs never nest: a listener that calls back into the driver (say, `transferLeadership`
 * from a role-change callback) runs after the current step has finished all of 1–4.
 *
 * `isLeader()` answers from the core's lease on a fresh clock reading, so callers check it
 * immediately before each side effect (docs/design.md §2); `runIfLeader(fn)` is that check and
 * the call in one. Split-vote backoff and the fast-election tie-break live in the core
 * (randomized timeouts widen after failed campaigns; a follower that backs a candidate
 * stands back), so the driver adds none.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { systemClock, type Clock } from '../util/clock';
import { realTimers, type Timers } from '../util/timers';
import { describeError } from '../errors';
import { LeaderHistory, type VigilElection } from './leader-history';
import { ElectionNode } from './node';
import type { ElectionTimingOptions } from './timing';
import type { HardStateStore } from './storage';
import type { PeerTransport } from './transport/types';
import type { ElectionEvent, ElectionStatus, Input, NodeId, Output, Role, RoleChange, TransferRejectReason } from './types';

export interface DriverOptions {
  readonly id: NodeId;
  /** Every replica, this one included. */
  readonly members: readonly NodeId[];
  readonly timing: ElectionTimingOptions;
  readonly store: HardStateStore;
  readonly transport: PeerTransport;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Monotonic time for the core (default performance.now()). */
  readonly clock?: Clock;
  /** Uniform in [0, 1) (default: node:crypto). */
  readonly random?: () => number;
  readonly timers?: Timers;
  /**
   * Called once when the driver cannot go on (the state could not be persisted). The
   * default logs at fatal level and exits the process with code 1.
   */
  readonly onFatal?: (err: unknown) => void;
}

export interface PeerStatus {
  readonly id: NodeId;
  readonly url: string;
  /** The crash-detection stream to this peer is open. */
  readonly connected: boolean;
  /** Seconds since the last authenticated message from this peer; null if none yet. */
  readonly lastContactSeconds: number | null;
}

export interface DriverStatus extends ElectionStatus {
  /** Milliseconds of lease left (0 when not leading with a lease). */
  readonly leaseRemainingMs: number;
  readonly peers: readonly PeerStatus[];
}

export type GuardedResult<T> = { readonly ran: true; readonly term: number; readonly value: T } | { readonly ran: false };

export type TransferOutcome =
  | { readonly ok: true; readonly to: NodeId; readonly term: number }
  | { readonly ok: false; readonly reason: TransferRejectReason };

export type RoleChangeListener = (change: RoleChange & { readonly leaderId: NodeId | null }) => void;

/** CLOCK_MONOTONIC in ms, comparable across processes on one host (log lines, benchmarks). */
export function hostMonotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const RANDOM_RANGE = 2 ** 47; // randomInt needs max - min < 2^48
const cryptoRandom = (): number => randomInt(0, RANDOM_RANGE) / RANDOM_RANGE;

export class ElectionDriver {
  readonly id: NodeId;
  private core: ElectionNode | null = null;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly log: Logger;
  private termLog: Logger;
  private timer: unknown = undefined;
  private stepping = false;
  private readonly pendingInputs: Input[] = [];
  private readonly notifications: Array<() => void> = [];
  private notifying = false;
  private readonly listeners = new Set<RoleChangeListener>();
  /** Called after every input; used by waits on the driver's state. */
  private readonly watchers = new Set<() => void>();
  private readonly lastContactMs = new Map<NodeId, number>();
  private stopped = false;
  private failed = false;
  private leaseHeld = false;
  private knownLeader: { id: NodeId; term: number } | null = null;
  private lastLoggedTerm = -1;
  private history: LeaderHistory;
  /** the election this replica won last, with the wall time of it (the failover timeline) */
  private won: (VigilElection & { readonly electedAtWallMs: number }) | null = null;

  constructor(private readonly opts: DriverOptions) {
    this.id = opts.id;
    this.clock = opts.clock ?? systemClock;
    this.timers = opts.timers ?? realTimers;
    this.log = opts.logger.child({ component: 'election' });
    this.termLog = this.log;
    this.history = new LeaderHistory(opts.id);
  }

  /**
   * Loads the persisted term and vote (throws STATE_PERSIST_FAILED if the file is
   * damaged), starts the core and the transport, and arms the timer.
   */
  start(): void {
    if (this.core !== null) throw new Error('the election driver was already started');
    const hardState = this.opts.store.load();
    this.core = new ElectionNode({
      ...this.opts.timing,
      id: this.opts.id,
      members: this.opts.members,
      random: this.opts.random ?? cryptoRandom,
      hardState,
      nowMs: this.clock.monotonicMs(),
    });
    this.updateTermLogger(hardState.term);
    this.log.info(
      { term: hardState.term, votedFor: hardState.votedFor, stateFile: this.opts.store.location, leaseMs: this.core.timing.leaseMs, electionTimeoutMs: this.core.timing.electionTimeoutMs },
      'election started',
    );
    this.updateMetrics();
    this.opts.transport.start({
      onMessage: (from, message) => {
        this.lastContactMs.set(from, this.clock.monotonicMs());
        this.input({ type: 'message', nowMs: this.clock.monotonicMs(), from, message });
      },
      onConnectionLost: (peer) => this.input({ type: 'connection-lost', nowMs: this.clock.monotonicMs(), peer }),
      onConnectionRestored: (peer) => this.input({ type: 'connection-restored', nowMs: this.clock.monotonicMs(), peer }),
    });
    this.arm();
  }

  /** Stops the timer and the transport; the core is left as it was (the disk has its state). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    await this.opts.transport.close();
  }

  // ------------------------------------------------------------ queries (Leadership)

  /** True while this replica leads with a valid lease, on a fresh clock reading. */
  isLeader(): boolean {
    return this.core !== null && !this.failed && !this.stopped && this.core.leaseValid(this.clock.monotonicMs());
  }

  term(): number {
    return this.requireCore().status(this.clock.monotonicMs()).term;
  }

  role(): Role {
    return this.requireCore().status(this.clock.monotonicMs()).role;
  }

  leaderId(): NodeId | null {
    return this.requireCore().status(this.clock.monotonicMs()).leaderId;
  }

  /**
   * Runs `fn` only if the lease holds right now (checked immediately before the call).
   * `fn` gets the term it acts in, for fencing its side effect (docs/design.md §6).
   */
  runIfLeader<T>(fn: (term: number) => T): GuardedResult<T> {
    if (!this.isLeader()) return { ran: false };
    const term = this.requireCore().status(this.clock.monotonicMs()).term;
    return { ran: true, term, value: fn(term) };
  }

  /**
   * The current view, after letting elapsed time take effect (so a replica resuming from a
   * pause reports its lost lease, not the state it was paused in).
   */
  status(): DriverStatus {
    this.tick();
    const nowMs = this.clock.monotonicMs();
    const s = this.requireCore().status(nowMs);
    const links = new Map(this.opts.transport.peers().map((p) => [p.id, p]));
    const peers: PeerStatus[] = this.opts.members
      .filter((m) => m !== this.id)
      .map((id) => {
        const last = this.lastContactMs.get(id);
        return {
          id,
          url: links.get(id)?.url ?? '',
          connected: links.get(id)?.connected ?? false,
          lastContactSeconds: last === undefined ? null : Math.max(0, (nowMs - last) / 1000),
        };
      });
    const leaseRemainingMs = s.leaseValid && s.leaseExpiresAtMs !== null ? Math.max(0, s.leaseExpiresAtMs - nowMs) : 0;
    return { ...s, leaseRemainingMs, peers };
  }

  /** Milliseconds since the last authenticated message from `peer` (undefined: never). */
  msSinceContact(peer: NodeId): number | undefined {
    const last = this.lastContactMs.get(peer);
    return last === undefined ? undefined : this.clock.monotonicMs() - last;
  }

  /**
   * The last election this replica won (term, previous leader, reason, leaderless ms:
   * src/election/leader-history.ts), for the failover timeline; null if it never won one.
   */
  lastElection(): (VigilElection & { readonly electedAtWallMs: number }) | null {
    return this.won;
  }

  /** The core's resolved timing (lease, timeouts). */
  timing() {
    return this.requireCore().timing;
  }

  /**
   * Ready in the docs/design.md §7 sense "in a quorum": a leader with a valid lease, or a follower
   * that heard from its leader within the election timeout.
   */
  inQuorum(): boolean {
    if (this.isLeader()) return true;
    const s = this.requireCore().status(this.clock.monotonicMs());
    if (s.role !== 'follower' || s.leaderId === null || s.leaderId === this.id) return false;
    const since = this.msSinceContact(s.leaderId);
    return since !== undefined && since < this.requireCore().timing.electionTimeoutMs;
  }

  // ------------------------------------------------------------ commands

  /** Role changes, after they took effect; also told the leader now known (or null). */
  onRoleChange(listener: RoleChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Hands leadership to `to` (or the most responsive follower). The lease is void from
   * the moment this returns ok; the target campaigns at once (TimeoutNow).
   */
  transferLeadership(to?: NodeId): TransferOutcome {
    const out = this.input({ type: 'transfer-leadership', nowMs: this.clock.monotonicMs(), ...(to === undefined ? {} : { to }) });
    for (const e of out?.events ?? []) {
      if (e.type === 'transfer-started') return { ok: true, to: e.to, term: this.term() };
      if (e.type === 'transfer-rejected') return { ok: false, reason: e.reason };
    }
    return { ok: false, reason: this.isLeader() ? 'transfer-in-progress' : 'not-leader' };
  }

  /** Resolves true once a replica other than this one is known leader, false at the deadline. */
  waitForOtherLeader(timeoutMs: number): Promise<boolean> {
    const check = (): boolean => {
      const s = this.requireCore().status(this.clock.monotonicMs());
      return s.leaderId !== null && s.leaderId !== this.id;
    };
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
        resolve(ok);
      };
      const watcher = (): void => {
        if (check()) finish(true);
      };
      const timer = setTimeout(() => finish(check()), timeoutMs);
      this.watchers.add(watcher);
    });
  }

  /** Lets elapsed time take effect now (also done by the timer and by every input). */
  tick(): void {
    this.input({ type: 'tick', nowMs: this.clock.monotonicMs() });
  }

  // ------------------------------------------------------------ the step

  /** Steps the core (queued if a step is in progress); returns the output when stepped now. */
  private input(input: Input): Output | null {
    if (this.core === null || this.failed || this.stopped) return null;
    if (this.stepping) {
      this.pendingInputs.push(input);
      return null;
    }
    this.stepping = true;
    let out: Output | null = null;
    try {
      out = this.stepOnce(input);
      while (this.pendingInputs.length > 0 && !this.failed) this.stepOnce(this.pendingInputs.shift() as Input);
    } finally {
      this.stepping = false;
    }
    this.drainNotifications();
    for (const w of [...this.watchers]) w();
    return out;
  }

  private stepOnce(input: Input): Output | null {
    const out = this.requireCore().step(input);
    if (out.persist !== null) {
      try {
        this.opts.store.save(out.persist);
      } catch (err) {
        this.fail(err);
        return null;
      }
    }
    for (const env of out.messages) this.opts.transport.send(env.to, env.message);
    this.arm();
    this.report(out);
    return out;
  }

  private arm(): void {
    if (this.core === null || this.stopped || this.failed) return;
    this.disarm();
    const deadlineMs = this.core.nextDeadlineMs();
    const delayMs = Math.max(0, deadlineMs - this.clock.monotonicMs());
    // Node timers have 1 ms resolution and never fire early by more than that; a tick that
    // comes a fraction early does nothing and re-arms for the remainder.
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.tick();
    }, Math.ceil(delayMs));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
  }

  private fail(err: unknown): void {
    this.failed = true;
    this.disarm();
    const onFatal = this.opts.onFatal;
    if (onFatal) {
      onFatal(err);
      return;
    }
    this.log.fatal({ err: describeError(err) }, 'cannot persist the election state; exiting without sending (a replica that cannot persist its vote must not vote)');
    process.exit(1);
  }

  // ------------------------------------------------------------ reporting

  private report(out: Output): void {
    const core = this.requireCore();
    const nowMs = this.clock.monotonicMs();
    const s = core.status(nowMs);
    if (s.term !== this.lastLoggedTerm) this.updateTermLogger(s.term);
    for (const change of out.roleChanges) {
      this.termLog.info(
        { from: change.from, to: change.to, reason: change.reason, leaderId: s.leaderId, monoMs: hostMonotonicMs() },
        `role change: ${change.from} → ${change.to} (${change.reason})`,
      );
      const payload = { ...change, leaderId: s.leaderId };
      for (const l of this.listeners) this.notifications.push(() => l(payload));
    }
    for (const e of out.events) this.logEvent(e);
    const won = this.history.step(nowMs, s, out.roleChanges, (peer) => this.lastContactMs.get(peer));
    if (won !== null) {
      this.won = { ...won, electedAtWallMs: this.clock.wallMs() - (this.clock.monotonicMs() - won.electedAtMs) };
      this.termLog.info({ election: won }, `elected: ${won.reason}, previous leader ${won.from ?? 'none known'}${won.leaderlessMs === null ? '' : `, ${Math.round(won.leaderlessMs)} ms without a leader`}`);
    }
    const lease = s.leaseValid;
    if (lease !== this.leaseHeld) {
      this.leaseHeld = lease;
      if (lease) this.termLog.info({ leaseExpiresInMs: Math.round((s.leaseExpiresAtMs ?? nowMs) - nowMs), monoMs: hostMonotonicMs() }, 'lease acquired: acting as leader');
      else this.termLog.info({ role: s.role, transferringTo: s.transferringTo, monoMs: hostMonotonicMs() }, 'lease ended: no longer acting as leader');
    }
    if (s.leaderId !== null && (this.knownLeader === null || this.knownLeader.id !== s.leaderId || this.knownLeader.term !== s.term)) {
      // Counted: a different leader, or the same one re-elected in a new term. Not counted:
      // the first leader a (re)started replica learns of (it did not see a change).
      if (this.knownLeader !== null) this.opts.metrics?.electionLeaderChanges.inc();
      this.termLog.info({ leaderId: s.leaderId, previous: this.knownLeader }, 'leader is now known');
      this.knownLeader = { id: s.leaderId, term: s.term };
    }
    this.updateMetrics(s);
  }

  private logEvent(e: ElectionEvent): void {
    switch (e.type) {
      case 'campaign-started':
      case 'vote-granted':
      case 'leader-connection-lost':
      case 'transfer-started':
      case 'transfer-aborted':
      case 'campaign-lost':
        this.termLog.info({ event: e, monoMs: hostMonotonicMs() }, `election: ${e.type}`);
        return;
      case 'transfer-rejected':
        this.termLog.warn({ event: e }, `election: ${e.type}`);
        return;
      case 'vote-rejected':
      case 'message-ignored':
        this.termLog.debug({ event: e }, `election: ${e.type}`);
        return;
      default: {
        const never: never = e;
        return never;
      }
    }
  }

  private updateTermLogger(term: number): void {
    this.lastLoggedTerm = term;
    this.termLog = this.log.child({ term });
  }

  private updateMetrics(s: ElectionStatus = this.requireCore().status(this.clock.monotonicMs())): void {
    const m = this.opts.metrics;
    if (!m) return;
    m.electionTerm.set(s.term);
    m.electionIsLeader.set(s.leaseValid ? 1 : 0);
  }

  /** Brings gauges up to date before a scrape. */
  refreshMetrics(): void {
    if (this.core === null) return;
    this.tick();
    const m = this.opts.metrics;
    if (!m) return;
    for (const id of this.opts.members) {
      if (id === this.id) continue;
      const since = this.msSinceContact(id);
      if (since !== undefined) m.peerLastContactSeconds.set({ peer: id }, since / 1000);
    }
  }

  private drainNotifications(): void {
    if (this.notifying) return;
    this.notifying = true;
    try {
      while (this.notifications.length > 0) {
        const n = this.notifications.shift() as () => void;
        try {
          n();
        } catch (err) {
          this.log.error({ err: describeError(err) }, 'a role-change listener threw');
        }
      }
    } finally {
      this.notifying = false;
    }
  }

  private requireCore(): ElectionNode {
    if (this.core === null) throw new Error('the election driver has not been started');
    return this.core;
  }
}
