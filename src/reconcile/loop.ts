/**
 * The reconcile loop (docs/design.md §1): on the leader, every monitor.pollInterval,
 *   observe (Kafka snapshot) → detect (pure) → decide (pure) → act (fenced side effects);
 * on a follower, a warm cycle (metadata + end offsets) so a new leader's first full cycle
 * has the history it needs.
 *
 * Level-based (STYLE, controller-runtime): each cycle starts from what it observes and from
 * the alert state; running a cycle twice pages nothing twice (notification ids are stable
 * per incident and the outbox settles each once).
 *
 * Act, in this order, each step only while `leadership.isLeader()` (the lease) holds:
 *   1. persist {alert state, notifications decided but maybe not yet claimed} in Redis in
 *      one fenced write — so a successor either sees the incident *and* the page it owes,
 *      or neither (then it decides both again): no page lost, none doubled by the state;
 *   2. the events stream (fenced);
 *   3. the actors (./actor.ts): the paging actor hands the notifications to the outbox
 *      (claim → send → settle, fenced) and ticks the Alertmanager refresher, in the
 *      background so a slow receiver never stalls monitoring;
 *   4. metrics.
 * A write refused by the fence (step 1 or 2) means a newer leader exists: the cycle ends
 * there, and this node acts no more in that term (the fence never goes back below a term
 * it refused). With Redis down, step 1 fails: paging goes on from memory (the outbox's
 * local ledger deduplicates), and the state is written again once Redis is back.
 *
 * Redis losing its data (a restart without persistence, FLUSHALL, eviction: the store
 * reports `dataLost`) marks the state dirty, and the leader writes it again at once. A
 * follower keeps a copy of the latest stored state, so a successor that finds no stored
 * state (the leader died before writing it again) continues the open incidents with their
 * identity (docs/alerting.md, "Redis losing its data").
 */
import { activeAlerts, emptyAlertState, type AlertState } from '../alerting/alert-state';
import { decide } from '../alerting/decide';
import type { VigilConfig } from '../config/types';
import { describeError } from '../errors';
import type { Logger } from '../log';
import { clearLeaderOnlyGauges, type Metrics } from '../metrics';
import type { StateStore } from '../state/types';
import type { Clock } from '../util/clock';
import { type DetectMemory, type DetectOptions, detectOptionsFor, detectSliced, emptyDetectMemory } from '../monitor/detect';
import { LagSeries } from '../monitor/lag-metrics';
import { type LagReport, lagReportFromSnapshot } from '../monitor/lag-report';
import type { KafkaObserver } from '../monitor/observe';
import type { QuorumView } from '../monitor/quorum';
import { recordQuorumMetrics } from '../monitor/quorum-metrics';
import type { KafkaSnapshot } from '../monitor/snapshot';
import type { FailoverEntry } from '../monitor/failovers';
import { realTimers, type Timers } from '../util/timers';
import { type BreachConfirmer, BreachSchedule, type ScheduledBreach, breachesToArm, withConfirmedBreaches } from '../monitor/breach-schedule';
import type { Actor, TermFence } from './actor';
import { CORE_KEY, coreDocument, nextOwed, type OwedNotification, parseCoreDocument } from './core-state';
import { type CycleEvent, cycleEvents } from './cycle-events';
import { recordCycleMetricsSliced } from './cycle-metrics';
import { TimeSlices } from '../util/slices';

/** What the loop needs from the election: answered from the lease, right before each use. */
export interface Leadership {
  isLeader(): boolean;
  term(): number;
}

export interface ReconcilerOptions {
  readonly config: Pick<VigilConfig, 'cluster' | 'monitor' | 'lag' | 'alerting'> & { readonly node: { readonly id: string } };
  readonly observer: KafkaObserver;
  readonly store: StateStore;
  /** the act step's side effects, in this order (./actor.ts) */
  readonly actors: readonly Actor[];
  readonly leadership: Leadership;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  /** the cycle's timer; default setTimeout (unit tests pass a manual one) */
  readonly timers?: Timers;
  readonly detectOptions?: DetectOptions;
  /**
   * Breaches scheduled (docs/design.md §3.7): after each cycle, rows whose exact breach
   * instant falls within `aheadMs` are armed; the commit stream confirms each at its instant
   * and the loop pages at once. Absent (poll mode): breaches are found by the cycles alone.
   */
  readonly breaches?: { readonly confirmer: BreachConfirmer; readonly aheadMs: number };
  /** the failover timeline's recent entries, read-only, for decide (./failover-journal.ts `recent()`) */
  readonly failovers?: () => readonly FailoverEntry[];
}

export class Reconciler {
  private alertState: AlertState = emptyAlertState();
  private owed: OwedNotification[] = [];
  private memory: DetectMemory = emptyDetectMemory();
  private lastSnapshot: KafkaSnapshot | null = null;
  /** detect's view of the controller quorum's voters in the cycle of lastSnapshot */
  private lastQuorum: QuorumView | null = null;
  private timer: unknown;
  private running = false;
  private stopped = true;
  /** the term this node took over in; 0 = not leading */
  private ledTerm = 0;
  /** the state in Redis is behind (Redis was down or lost its data, or a write failed) */
  private stateDirty = false;
  /** +1 on each data loss, so a write that started before the loss does not clear `stateDirty` */
  private lossSeq = 0;
  /** a term in which the fence refused one of our writes: a newer leader exists, act no more */
  private fencedTerm = 0;
  /** where the in-memory alert state came from: the stored document read last, or our write */
  private view: { term: number; version: number; updatedAtMs: number } | null = null;
  private unsubscribeStore: (() => void) | undefined;
  private readonly detectOptions: DetectOptions;
  private readonly timers: Timers;
  private readonly log: Logger;
  private cycles = 0;
  private lastCycleMs = 0;
  private readonly lagSeries = new LagSeries();
  /** breaches armed from the last cycle; null in poll mode */
  private readonly breachSchedule: BreachSchedule | null;
  /** breaches the schedule confirmed, until a snapshot taken after the confirmation shows them */
  private confirmedBreaches: { readonly breach: ScheduledBreach; readonly atMs: number }[] = [];
  /** one decide-and-act at a time: a cycle's and the schedule's */
  private settling: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ReconcilerOptions) {
    this.detectOptions = opts.detectOptions ?? detectOptionsFor(opts.config.lag);
    this.timers = opts.timers ?? realTimers;
    this.log = opts.logger.child({ component: 'reconcile' });
    const b = opts.breaches;
    this.breachSchedule = b
      ? new BreachSchedule({
          confirmer: b.confirmer,
          clock: opts.clock,
          timers: this.timers,
          onOutcome: (outcome) => opts.metrics.breachSchedule.inc({ outcome }),
          onBreach: (confirmed) => void this.breachesConfirmed(confirmed),
        })
      : null;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribeStore = this.opts.store.onStatus((s) => {
      if (s.up && s.dataLost) this.dataLost();
    });
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.breachSchedule?.stop();
    this.unsubscribeStore?.();
    this.unsubscribeStore = undefined;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    await Promise.allSettled(this.opts.actors.map((a) => a.stop()));
  }

  /** The election changed: called by the replica on every role change. Runs a cycle now. */
  leadershipChanged(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.schedule(0);
  }

  // ---- read side (HTTP API, status page) --------------------------------------------------

  lagReport(): LagReport | null {
    const s = this.lastSnapshot;
    if (!s || !s.ok) return null;
    return lagReportFromSnapshot(s.groups, s.takenAtMs, this.opts.config.lag.thresholdMs);
  }

  alerts() {
    return activeAlerts(this.alertState, this.opts.config.cluster, this.opts.clock.wallMs());
  }

  snapshot(): KafkaSnapshot | null {
    return this.lastSnapshot;
  }

  /** Each voter's lag as detect measured it from the latest snapshot (null when the quorum was not described). */
  quorumView(): QuorumView | null {
    return this.lastQuorum;
  }

  status(): { leading: boolean; term: number; cycles: number; lastCycleMs: number; stateDirty: boolean; kafka: { ok: boolean; error?: string } | null } {
    const s = this.lastSnapshot;
    return {
      leading: this.ledTerm > 0,
      term: this.ledTerm,
      cycles: this.cycles,
      lastCycleMs: this.lastCycleMs,
      stateDirty: this.stateDirty,
      kafka: s === null ? null : s.ok ? { ok: true } : { ok: false, error: s.error },
    };
  }

  // ---- the loop ----------------------------------------------------------------------------

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.timers.set(() => void this.tick(), Math.max(0, delayMs));
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const startMs = this.opts.clock.monotonicMs();
    let intervalMs = this.opts.config.monitor.pollIntervalMs;
    try {
      const { leadership } = this.opts;
      if (leadership.isLeader() && leadership.term() !== this.fencedTerm) {
        const term = leadership.term();
        if (this.ledTerm !== term) await this.takeOver(term);
        if (this.ledTerm === term && this.fencedTerm !== term && leadership.isLeader()) {
          await this.cycle(term);
          // While an incident is open, look again sooner (docs/design.md §4: faster polling).
          if (Object.keys(this.alertState.alerts).length > 0) intervalMs = Math.min(intervalMs, this.opts.config.monitor.incidentPollIntervalMs);
        }
      } else {
        if (this.ledTerm !== 0) this.stepDown();
        await this.opts.observer.warm().catch((err) => this.log.debug({ err: describeError(err) }, 'warm cycle failed'));
        await this.followState();
        for (const a of this.opts.actors) await a.follow?.();
      }
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'reconcile cycle failed');
    } finally {
      this.running = false;
      const elapsedMs = this.opts.clock.monotonicMs() - startMs;
      this.schedule(intervalMs - elapsedMs);
    }
  }

  /** A new term: raise the fence, continue the incidents and pages the old leader left. */
  private async takeOver(term: number): Promise<void> {
    const { store } = this.opts;
    this.log.info({ term }, 'taking over as leader');
    this.memory = emptyDetectMemory();
    for (const a of this.opts.actors) a.reset();
    try {
      const raised = await store.raiseFence(term);
      if (raised.status === 'fenced') {
        // a newer leader exists; our lease will say so soon — do nothing in this term
        this.noteFenced(term, 'raising the fence', raised.fenceTerm);
        return;
      }
      const doc = await store.readAlertState(CORE_KEY);
      if (doc) {
        this.restore(doc.data);
        this.view = { term: doc.term, version: doc.version, updatedAtMs: doc.updatedAtMs };
        this.stateDirty = false;
      } else if (Object.keys(this.alertState.alerts).length > 0 || this.owed.length > 0) {
        // Nothing stored, yet we know of incidents: Redis lost its data and the leader that
        // held them died before writing them again. Continue from the last state this node
        // read (as a follower) or wrote, so each incident keeps its identity (startsAt,
        // notification ids) and resolves once; write it at once (docs/alerting.md).
        this.log.warn(
          { term, openAlerts: Object.keys(this.alertState.alerts).length, viewTerm: this.view?.term, viewAgeMs: this.view ? this.opts.clock.wallMs() - this.view.updatedAtMs : undefined },
          'no alert state in Redis (data lost?): continuing from the last state this node knew, and writing it again',
        );
        this.stateDirty = true;
      } else {
        this.stateDirty = false;
      }
    } catch (err) {
      // Redis down: start from what this node knows (empty on a fresh node); the outbox's
      // local ledger keeps our own pages from repeating.
      this.stateDirty = true;
      this.log.warn({ err: describeError(err) }, 'could not load alert state from Redis; continuing from memory');
    }
    this.ledTerm = term;
    const elected = await this.appendEvents(term, this.opts.clock.wallMs(), [{ type: 'leader-elected', data: { openAlerts: Object.keys(this.alertState.alerts).length } }]);
    if (elected === 'fenced') return;
    // Finish what the previous leader claimed or owed (and what we owe ourselves).
    const fence = this.fence(term);
    const owed = { notifications: this.owed.map((o) => o.notification) };
    for (const a of this.opts.actors) a.takeOver(fence, owed);
  }

  /** Redis lost its data: the leader writes its state again now, not at the next change. */
  private dataLost(): void {
    this.lossSeq++;
    this.stateDirty = true;
    if (this.ledTerm === 0) return;
    this.log.warn({ term: this.ledTerm }, 'Redis lost its data: writing the alert state again');
    if (!this.running && !this.stopped) {
      if (this.timer !== undefined) this.timers.clear(this.timer);
      this.schedule(0);
    }
  }

  /**
   * A follower keeps a copy of the latest stored state. Should Redis lose it and the leader
   * die before writing it again, this node takes over knowing the open incidents. An absent
   * document (lost) or Redis down leaves the copy as it is.
   */
  private async followState(): Promise<void> {
    const { store } = this.opts;
    if (!store.isUp()) return;
    try {
      const doc = await store.readAlertState(CORE_KEY);
      if (!doc) return;
      const v = this.view;
      if (v && v.term === doc.term && v.version === doc.version && v.updatedAtMs === doc.updatedAtMs) return;
      this.restore(doc.data);
      this.view = { term: doc.term, version: doc.version, updatedAtMs: doc.updatedAtMs };
    } catch (err) {
      this.log.debug({ err: describeError(err) }, 'could not read the alert state as a follower');
    }
  }

  /** What the actors act under: this node leads in exactly `term`, and no write of it was refused. */
  private fence(term: number): TermFence {
    const { leadership } = this.opts;
    return { term, mayAct: () => leadership.isLeader() && leadership.term() === term && this.fencedTerm !== term };
  }

  /** One of our writes in `term` was refused by the fence: count it, log it, act no more in `term`. */
  private noteFenced(term: number, what: string, fenceTerm: number, count = 1): void {
    this.opts.metrics.fencedWritesRejected.inc(count);
    if (this.fencedTerm === term) return;
    this.fencedTerm = term;
    this.log.warn({ term, fenceTerm }, `${what} refused by the fence: a newer leader exists; not acting again in term ${term}`);
  }

  private stepDown(): void {
    this.log.info({ term: this.ledTerm }, 'no longer leader; monitoring paused');
    this.ledTerm = 0;
    this.breachSchedule?.clear();
    this.confirmedBreaches = [];
    for (const a of this.opts.actors) a.reset();
    // Only the leader reports Kafka's state: a follower exports no value (not 0), since
    // stale or zero gauges would mislead a dashboard that sums or maxes over replicas.
    clearLeaderOnlyGauges(this.opts.metrics);
    this.lagSeries.clear();
  }

  private restore(data: unknown): void {
    try {
      ({ alertState: this.alertState, owed: this.owed } = parseCoreDocument(data));
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'stored alert state unreadable; starting from empty state');
      this.alertState = emptyAlertState();
      this.owed = [];
    }
  }

  private async cycle(term: number): Promise<void> {
    const t0 = this.opts.clock.monotonicMs();
    const snapshot = await this.opts.observer.observe();
    await this.exclusive(() => this.settle(term, snapshot, 'cycle'));
    this.lastCycleMs = this.opts.clock.monotonicMs() - t0;
    this.opts.metrics.pollDurationSeconds.observe(this.lastCycleMs / 1000);
  }

  /** The schedule confirmed breaches between cycles: decide and act on them now. */
  private async breachesConfirmed(confirmed: readonly ScheduledBreach[]): Promise<void> {
    const term = this.ledTerm;
    if (term === 0 || this.stopped) return;
    const atMs = this.opts.clock.wallMs();
    for (const breach of confirmed) this.confirmedBreaches.push({ breach, atMs });
    this.log.info({ breaches: confirmed.map((b) => ({ group: b.group, topic: b.topic, partition: b.partition, committed: b.committed, breachAt: new Date(b.breachAtMs).toISOString() })) }, 'scheduled breach confirmed by the commit stream');
    await this.exclusive(async () => {
      const last = this.lastSnapshot;
      if (last === null || !last.ok || !this.opts.leadership.isLeader() || this.opts.leadership.term() !== term) return;
      await this.settle(term, withConfirmedBreaches(last, confirmed, this.opts.clock.wallMs()), 'schedule');
    }).catch((err) => this.log.error({ err: describeError(err) }, 'acting on a scheduled breach failed'));
  }

  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.settling.then(fn);
    this.settling = run.catch(() => undefined);
    return run;
  }

  /**
   * detect → decide → act on one snapshot: a cycle's, or the last one with breaches the
   * schedule confirmed since (`source` 'schedule'). Runs one at a time (exclusive).
   */
  private async settle(term: number, observed: KafkaSnapshot, source: 'cycle' | 'schedule'): Promise<void> {
    const { metrics, clock, config } = this.opts;
    // detect and the metrics walk every group: the event loop (the commit stream's answers)
    // is let through between them (docs/design.md §3.9)
    const slices = new TimeSlices(clock);
    const snapshot = source === 'cycle' ? this.crossCheck(observed) : observed;
    const detected = await detectSliced(snapshot, this.memory, this.detectOptions, slices);
    await slices.breathe();
    const nowMs = clock.wallMs();
    // the actors' own findings (proposed or refused remediation plans) page like detect's
    const findings = [...detected.findings, ...this.opts.actors.flatMap((a) => a.findings?.() ?? [])];
    const failovers = this.opts.failovers?.();
    const decided = decide(findings, this.alertState, nowMs, { cluster: config.cluster, lag: detected.lag, ...(failovers ? { failovers } : {}) });

    // Everything below is an effect: only while we still lead in this term.
    if (!this.opts.leadership.isLeader() || this.opts.leadership.term() !== term) return;
    this.memory = detected.memory;
    this.lastSnapshot = snapshot;
    this.lastQuorum = detected.quorum;
    if (source === 'cycle' && this.breachSchedule) {
      this.breachSchedule.arm(breachesToArm(snapshot, nowMs, this.opts.breaches?.aheadMs ?? 0));
      metrics.breachScheduleArmed.set(this.breachSchedule.size);
    }

    const changed = decided.state !== this.alertState || decided.notifications.length > 0;
    this.alertState = decided.state;
    this.owed = nextOwed(this.owed, decided.notifications, nowMs);
    // A write refused by the fence ends the cycle: no page handed on, no event, no refresh.
    if ((changed || this.stateDirty) && (await this.persist(term, nowMs)) === 'fenced') return;
    if ((await this.appendEvents(term, nowMs, cycleEvents(decided.notifications, detected.findings))) === 'fenced') return;
    for (const n of decided.notifications) {
      this.log.info({ key: n.alert.key, status: n.alert.status, summary: n.alert.summary, via: source }, `alert ${n.alert.status}`);
    }
    const fence = this.fence(term);
    const firing = this.alerts();
    for (const a of this.opts.actors) a.act(fence, { notifications: decided.notifications, firing, findings: detected.findings, snapshot, source });
    await recordCycleMetricsSliced(metrics, this.lagSeries, snapshot, detected.findings, firing, slices);
    recordQuorumMetrics(metrics, snapshot, detected.quorum);
    // leadership lost while this settle awaited (Redis, the slices): a follower exports no
    // Kafka gauges (stepDown cleared them; what was set since is cleared again)
    if (this.ledTerm !== term) {
      clearLeaderOnlyGauges(metrics);
      this.lagSeries.clear();
      return;
    }
    if (source === 'cycle') {
      metrics.offsetsGroups.set({ source: 'stream' }, this.opts.observer.lastOffsetsRead.streamed);
      metrics.offsetsGroups.set({ source: 'poll' }, this.opts.observer.lastOffsetsRead.polled);
      this.cycles++;
    }
  }

  /**
   * A cycle's snapshot against the schedule (docs/design.md §3.7): breaches confirmed after
   * the snapshot was taken stay in breach (its exact tests ran before them); the exact test
   * and the schedule disagreeing — a breach the exact test found before its armed instant, or
   * a confirmed breach a later exact test does not see at the same committed offset — is
   * counted and logged.
   */
  private crossCheck(snapshot: KafkaSnapshot): KafkaSnapshot {
    const schedule = this.breachSchedule;
    // nothing armed or confirmed (most cycles): no pass over the rows
    if (!snapshot.ok || schedule === null || (schedule.size === 0 && this.confirmedBreaches.length === 0)) return snapshot;
    const disagree = (kind: 'exact-earlier' | 'exact-later', b: ScheduledBreach) => {
      this.opts.metrics.breachScheduleDisagreements.inc({ kind });
      this.log.warn(
        { kind, group: b.group, topic: b.topic, partition: b.partition, committed: b.committed, breachAt: new Date(b.breachAtMs).toISOString(), snapshotAt: new Date(snapshot.takenAtMs).toISOString() },
        kind === 'exact-earlier' ? 'the exact test found a breach before its scheduled instant' : 'a breach the schedule confirmed is not one by a later exact test',
      );
    };
    if (schedule.size > 0) {
      for (const g of snapshot.groups) {
        for (const p of g.partitions) {
          if (p.breach !== true) continue;
          const armed = schedule.armedFor(g.group, p.topic, p.partition);
          if (armed && armed.committed === p.committed && armed.breachAtMs + 1 > snapshot.takenAtMs) disagree('exact-earlier', armed);
        }
      }
    }
    if (this.confirmedBreaches.length === 0) return snapshot;
    const groups = new Map(snapshot.groups.map((g) => [g.group, g]));
    const newer: ScheduledBreach[] = [];
    const kept: typeof this.confirmedBreaches = [];
    for (const c of this.confirmedBreaches) {
      const b = c.breach;
      const row = groups.get(b.group)?.partitions.find((p) => p.topic === b.topic && p.partition === b.partition);
      if (row === undefined || row.committed !== b.committed) continue; // it moved on
      if (c.atMs > snapshot.takenAtMs) {
        newer.push(b);
        kept.push(c);
      } else if (row.breach === false) {
        disagree('exact-later', b);
      }
    }
    this.confirmedBreaches = kept;
    return withConfirmedBreaches(snapshot, newer, this.opts.clock.wallMs());
  }

  private async persist(term: number, nowMs: number): Promise<'ok' | 'fenced' | 'failed'> {
    const lossSeq = this.lossSeq;
    try {
      const res = await this.opts.store.writeAlertState({ term, key: CORE_KEY, data: coreDocument(this.alertState, this.owed), nowMs });
      if (res.status === 'fenced') {
        this.noteFenced(term, 'alert state write', res.fenceTerm);
        return 'fenced';
      }
      this.view = { term, version: res.version, updatedAtMs: nowMs };
      // a loss reported while this write was in flight may have taken it: write again
      if (lossSeq === this.lossSeq) this.stateDirty = false;
      return 'ok';
    } catch (err) {
      if (!this.stateDirty) this.log.warn({ err: describeError(err) }, 'could not persist alert state; paging continues from memory');
      this.stateDirty = true;
      return 'failed';
    }
  }

  /**
   * Appends events (fenced, in order: one connection keeps the order they were sent in).
   * 'fenced' when the fence refused any. An event lost to Redis being down is dropped: the
   * timeline is best effort, paging is not held up for it.
   */
  private async appendEvents(term: number, nowMs: number, events: readonly CycleEvent[]): Promise<'ok' | 'fenced'> {
    if (events.length === 0) return 'ok';
    const { store, config } = this.opts;
    const nodeId = config.node.id;
    const results = await Promise.all(events.map((e) => store.appendEvent({ type: e.type, timeMs: nowMs, nodeId, term, data: e.data }).catch(() => undefined)));
    let refused = 0;
    let fenceTerm = 0;
    for (const r of results) {
      if (r?.status !== 'fenced') continue;
      refused++;
      fenceTerm = Math.max(fenceTerm, r.fenceTerm);
    }
    if (refused === 0) return 'ok';
    this.noteFenced(term, refused === 1 ? 'an event' : `${refused} events`, fenceTerm, refused);
    return 'fenced';
  }
}
