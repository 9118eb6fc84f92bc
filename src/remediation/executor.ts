/**
 * The remediation actor (docs/design.md §5): makes the plans the policy wants, keeps them
 * in Redis under the term fence, and in `auto` mode (or when a person executes a proposed
 * plan) runs their steps against Kafka.
 *
 * Every step, in order:
 *   1. re-read Kafka (metadata; the reassignments in flight) and work out what is still to
 *      be sent — a step run twice sends only what is missing, so a step whose intent was
 *      recorded but whose outcome was not (the sender died) is simply run again;
 *   2. record the step's intent in the plan document with a write fenced by the term: a
 *      deposed leader's write is refused, and it sends nothing;
 *   3. check the lease (`fence.mayAct()`) right before the request — the lease alone is not
 *      enough (the election admits a brief overlap) and the fence alone is not either (the
 *      successor may not have written yet): both, as the outbox does for pages;
 *   4. send, then record the outcome and move to the next step (fenced).
 * A fenced write ends all work in that term. Redis down: nothing is planned or sent (the
 * intent cannot be recorded), and work resumes when it is back.
 *
 * Work runs off the reconcile cycle (the loop never waits on Kafka mutations), one pass
 * at a time; a cycle that arrives during a pass is folded into the next one.
 */
import type { VigilConfig } from '../config/types';
import { VigilError, describeError } from '../errors';
import type { ConfigResourceChange, OngoingReassignment, PartitionOutcome } from '../kafka/admin-mutations';
import type { ClusterMetadata, TopicInfo } from '../kafka/types';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Finding } from '../monitor/findings';
import type { KafkaSnapshot } from '../monitor/snapshot';
import type { Actor, Decision, TermFence } from '../reconcile/actor';
import type { StateStore } from '../state/types';
import type { Clock } from '../util/clock';
import { type Timers, realTimers } from '../util/timers';
import { type Plan, type PlanContext, type PartitionMove, planEvict, planGiveBack, planLeadElsewhere, planRestoreReplicationFactor, planUncleanElect } from './plan';
import { type Want, hasActive, troubledBrokers, wantedPlans } from './policy';
import type { RemediationKafka } from '../kafka/remediation-port';
import {
  OUTCOMES_KEPT,
  type PlanRecord,
  REMEDIATION_KEY,
  type RemediationDoc,
  type StepKind,
  changedOffBroker,
  emptyRemediationDoc,
  movedKey,
  parseRemediationDoc,
  pruneDoc,
  stepsFor,
} from './record';

/** A refused plan is made again (and its guards re-checked) at most this often per kind and broker. */
export const REFUSAL_RETRY_MS = 10_000;
/** Preferred elections that cannot happen yet (the new leader not in sync) are retried this long. */
export const ELECT_RETRY_MS = 30_000;
/** An accepted move the metadata does not show after this long is given up on. */
export const METADATA_LAG_MAX_MS = 30_000;
/**
 * A broker silent in the latest cycle is checked again right as it reaches hungAfter,
 * rather than at the next cycle (up to a poll interval later): a ping sent this long
 * before that instant and still unanswered at it proves the silence lasted hungAfter.
 */
export const HUNG_CONFIRM_MS = 250;
/**
 * A proposal to move off a broker (evict, lead-elsewhere) whose cause went away is kept
 * until the broker has been healthy this long: a limping broker — hung for seconds, then
 * answering, again and again — keeps one standing proposal (one page) instead of one
 * proposed and dropped per stall.
 */
export const PROPOSAL_KEEP_MS = 30_000;
/** A step that failed (Kafka not answering, no active controller yet) runs again this soon. */
export const STEP_RETRY_MS = 250;

type OkSnapshot = Extract<KafkaSnapshot, { ok: true }>;

export interface RemediationOptions {
  readonly kafka: RemediationKafka;
  readonly store: StateStore;
  readonly config: VigilConfig['remediation'];
  readonly nodeId: string;
  readonly clock: Clock;
  /** default: real timers */
  readonly timers?: Timers;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** What `GET /api/v1/plans` shows. */
export interface PlansView {
  readonly mode: VigilConfig['remediation']['mode'];
  /** false until the leader has read the plans from Redis in its term */
  readonly loaded: boolean;
  readonly plans: readonly PlanRecord[];
}

export type ExecuteResult =
  | { readonly status: 'executing'; readonly record: PlanRecord }
  | { readonly status: 'not-found' }
  | { readonly status: 'not-proposed'; readonly record: PlanRecord }
  | { readonly status: 'unavailable'; readonly reason: string };

type StepResult = 'advanced' | 'blocked' | 'stopped';

export class RemediationActor implements Actor {
  private doc: RemediationDoc = emptyRemediationDoc();
  private docVersion = 0;
  /**
   * As a follower: the plan document as last read from Redis (follow()). Should Redis lose
   * it and the leader stop before writing it again, this replica leads on with these plans —
   * the give-backs of what vigil moved among them (docs/design.md §5.3).
   */
  private copy: RemediationDoc | null = null;
  /** the term `doc` was read in; 0 = not read */
  private loadedTerm = 0;
  private fencedTerm = 0;
  private chain: Promise<void> = Promise.resolve();
  private latest: { fence: TermFence; decision: Decision | null } | null = null;
  private passQueued = false;
  private readonly healthySinceMs = new Map<number, number>();
  private readonly goneSinceMs = new Map<number, number>();
  /** brokers that did not answer vigil's ping, or left the metadata, in the latest cycle: requests avoid them */
  private unanswering: ReadonlySet<number> = new Set();
  /** per silent broker: the silence (its start) whose hungAfter instant is armed, and the timer */
  private readonly hungChecks = new Map<number, { sinceMs: number; handle: unknown }>();
  private retryHandle: unknown = undefined;
  /** the latest cycle's decision (a hung check that fires plans with it) */
  private lastDecision: Decision | null = null;
  /** min.insync.replicas of topics the monitor does not watch (internal ones included), read once per term */
  private readonly minIsrCache = new Map<string, number>();
  /** when each executing plan's election step first found an election it could not make */
  private readonly electSinceMs = new Map<string, number>();
  private readonly log: Logger;

  constructor(private readonly opts: RemediationOptions) {
    this.log = opts.logger.child({ component: 'remediation' });
  }

  // ---- Actor ---------------------------------------------------------------------------

  takeOver(fence: TermFence): void {
    if (this.opts.config.mode === 'off') return;
    this.queuePass(fence, null);
  }

  act(fence: TermFence, decision: Decision): void {
    if (this.opts.config.mode === 'off' || decision.source === 'schedule') return;
    this.lastDecision = decision;
    if (decision.snapshot?.ok) {
      this.noteBrokers(decision.snapshot, decision.findings ?? []);
      this.armHungChecks(fence, decision.snapshot);
    }
    this.queuePass(fence, decision);
  }

  private get timers(): Timers {
    return this.opts.timers ?? realTimers;
  }

  /**
   * A broker silent for less than hungAfter in this cycle is checked again at the instant it
   * reaches hungAfter: if a ping sent HUNG_CONFIRM_MS before is still unanswered then, the
   * silence lasted hungAfter and a pass runs at once with this cycle's findings — the plan
   * is made up to a poll interval sooner than the next cycle would. A broker that answers
   * (a GC pause shorter than hungAfter) is left alone.
   */
  private armHungChecks(fence: TermFence, snapshot: OkSnapshot): void {
    const nowMs = this.opts.clock.wallMs();
    const hungAfter = this.opts.config.hungAfterMs;
    const silent = new Map<number, number>();
    for (const b of snapshot.brokers) if (b.inMetadata && !b.reachable && b.unreachableSinceMs !== undefined) silent.set(b.nodeId, b.unreachableSinceMs);
    for (const [broker, check] of this.hungChecks) {
      if (silent.get(broker) === check.sinceMs) continue;
      this.timers.clear(check.handle);
      this.hungChecks.delete(broker);
    }
    for (const [broker, sinceMs] of silent) {
      if (this.hungChecks.has(broker) || nowMs - sinceMs >= hungAfter) continue; // armed, or this cycle already decides
      const delay = Math.max(0, sinceMs + hungAfter - HUNG_CONFIRM_MS - nowMs);
      const handle = this.timers.set(() => {
        void this.opts.kafka.stillSilent(broker, HUNG_CONFIRM_MS).then(
          (stillSilent) => {
            if (this.hungChecks.get(broker)?.handle !== handle) return; // a newer cycle saw it answer
            this.hungChecks.delete(broker);
            if (!stillSilent) return;
            this.log.debug({ broker, silentMs: this.opts.clock.wallMs() - sinceMs }, 'broker still silent at hungAfter: planning now');
            if (this.lastDecision) this.queuePass(fence, this.lastDecision);
          },
          () => undefined,
        );
      }, delay);
      this.hungChecks.set(broker, { sinceMs, handle });
    }
  }

  /** A follower's poll: keep a copy of the plan document (an absent one, or Redis down, leaves the copy as it is). */
  async follow(): Promise<void> {
    if (!this.opts.store.isUp()) return;
    try {
      const stored = await this.opts.store.readAlertState(REMEDIATION_KEY);
      if (stored) this.copy = parseRemediationDoc(stored.data);
    } catch (err) {
      this.log.debug({ err: describeError(err) }, 'could not read the remediation plans as a follower');
    }
  }

  reset(): void {
    this.clearTimers();
    this.lastDecision = null;
    this.loadedTerm = 0;
    this.doc = emptyRemediationDoc();
    this.docVersion = 0;
    this.latest = null;
    this.healthySinceMs.clear();
    this.goneSinceMs.clear();
    this.electSinceMs.clear();
    this.minIsrCache.clear();
  }

  async stop(): Promise<void> {
    this.latest = null;
    this.clearTimers();
    await this.chain;
    await this.opts.kafka.close().catch(() => undefined);
  }

  /**
   * The plans waiting for a person (dry-run) and the ones a guard refused recently, as
   * findings: one per plan kind and broker, the newest record's. A refusal stays a finding
   * while the plan keeps being refused (it is made again every REFUSAL_RETRY_MS).
   */
  findings(): Finding[] {
    if (this.loadedTerm === 0) return [];
    const nowMs = this.opts.clock.wallMs();
    const out: Finding[] = [];
    const seen = new Set<string>();
    for (const r of this.doc.plans) {
      const scope = `${r.plan.kind}/${r.plan.broker}`;
      if (seen.has(scope)) continue;
      seen.add(scope);
      const p = r.plan;
      if (r.status === 'proposed') {
        out.push({ kind: 'RemediationProposed', broker: p.broker, plan: p.kind, planId: p.id, reason: p.reason, cause: p.cause, moves: p.moves.length, elections: p.elections.length, skipped: p.skipped.length });
      } else if (r.status === 'refused' && nowMs - r.updatedAtMs < 2 * REFUSAL_RETRY_MS) {
        out.push({ kind: 'RemediationRefused', broker: p.broker, plan: p.kind, planId: p.id, reason: p.reason, cause: p.cause, refusal: r.reason ?? 'refused' });
      }
    }
    return out;
  }

  /** Resolves when the passes queued so far have run (tests; shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  // ---- API -----------------------------------------------------------------------------

  view(): PlansView {
    return { mode: this.opts.config.mode, loaded: this.loadedTerm !== 0, plans: this.doc.plans };
  }

  /** A person executes a proposed plan (`POST /api/v1/plans/:id/execute`). */
  execute(fence: TermFence, id: string): Promise<ExecuteResult> {
    return this.serial(async (): Promise<ExecuteResult> => {
      if (this.opts.config.mode === 'off') return { status: 'unavailable', reason: 'remediation.mode is off: vigil makes no plans' };
      if (!(await this.load(fence))) return { status: 'unavailable', reason: 'the plans live in Redis, which is not answering (or a newer leader exists); retry in a few seconds' };
      const record = this.doc.plans.find((r) => r.plan.id === id);
      if (!record) return { status: 'not-found' };
      if (record.status !== 'proposed') return { status: 'not-proposed', record };
      record.status = 'executing';
      record.approvedBy = 'operator';
      record.updatedAtMs = this.opts.clock.wallMs();
      if (!(await this.save(fence))) {
        record.status = 'proposed';
        delete record.approvedBy;
        return { status: 'unavailable', reason: 'could not record the approval in Redis; nothing was sent; retry' };
      }
      this.log.warn({ plan: id, kind: record.plan.kind, broker: record.plan.broker, moves: record.plan.moves.length }, 'plan executed by an operator');
      this.queuePass(fence, null);
      return { status: 'executing', record };
    });
  }

  // ---- passes --------------------------------------------------------------------------

  private clearTimers(): void {
    for (const check of this.hungChecks.values()) this.timers.clear(check.handle);
    this.hungChecks.clear();
    if (this.retryHandle !== undefined) this.timers.clear(this.retryHandle);
    this.retryHandle = undefined;
  }

  /** One pass STEP_RETRY_MS from now for the plans already executing (a failed step). */
  private retrySoon(fence: TermFence): void {
    if (this.retryHandle !== undefined) return;
    this.retryHandle = this.timers.set(() => {
      this.retryHandle = undefined;
      this.queuePass(fence, null);
    }, STEP_RETRY_MS);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Folds cycles that arrive during a pass into one next pass, with the newest input. */
  private queuePass(fence: TermFence, decision: Decision | null): void {
    // keep the newest decision; a take-over (null) never hides a cycle's decision
    if (decision !== null || this.latest === null || this.latest.fence.term !== fence.term) this.latest = { fence, decision };
    if (this.passQueued) return;
    this.passQueued = true;
    void this.serial(async () => {
      this.passQueued = false;
      const input = this.latest;
      this.latest = null;
      if (input) await this.pass(input.fence, input.decision);
    }).catch((err) => this.log.error({ err: describeError(err) }, 'remediation pass failed'));
  }

  private noteBrokers(snapshot: OkSnapshot, findings: readonly Finding[]): void {
    const now = snapshot.takenAtMs;
    const troubled = troubledBrokers(snapshot, findings);
    this.unanswering = new Set(snapshot.brokers.filter((b) => !b.reachable || !b.inMetadata).map((b) => b.nodeId));
    this.opts.kafka.knowBrokers(snapshot.brokers, this.unanswering);
    const known = new Set<number>();
    for (const b of snapshot.brokers) {
      known.add(b.nodeId);
      if (troubled.has(b.nodeId)) this.healthySinceMs.delete(b.nodeId);
      else if (!this.healthySinceMs.has(b.nodeId)) this.healthySinceMs.set(b.nodeId, now);
      if (b.inMetadata) this.goneSinceMs.delete(b.nodeId);
      else if (!this.goneSinceMs.has(b.nodeId)) this.goneSinceMs.set(b.nodeId, b.unreachableSinceMs ?? now);
    }
    // a broker that holds replicas but that this leader never saw in the metadata
    for (const p of snapshot.partitions) {
      for (const r of p.replicas) if (!known.has(r) && !this.goneSinceMs.has(r)) this.goneSinceMs.set(r, now);
    }
  }

  private async pass(fence: TermFence, decision: Decision | null): Promise<void> {
    if (!fence.mayAct() || this.fencedTerm === fence.term) return;
    if (!(await this.load(fence))) return;
    const snapshot = decision?.snapshot;
    if (snapshot?.ok) await this.plan(fence, snapshot, decision?.findings ?? []);
    for (const record of [...this.doc.plans].reverse()) {
      if (this.fencedTerm === fence.term || !fence.mayAct()) return;
      if (record.status !== 'executing') continue;
      if (!(await this.run(fence, record))) return;
    }
  }

  /** Reads the plan document once per term. false: Redis is not answering, or we were fenced. */
  private async load(fence: TermFence): Promise<boolean> {
    if (this.fencedTerm === fence.term) return false;
    if (this.loadedTerm === fence.term) return true;
    try {
      const stored = await this.opts.store.readAlertState(REMEDIATION_KEY);
      const fromCopy = !stored && this.copy !== null && this.copy.plans.length > 0 ? this.copy : null;
      this.doc = stored ? parseRemediationDoc(stored.data) : (fromCopy ?? emptyRemediationDoc());
      this.docVersion = stored?.version ?? 0;
      this.copy = null;
      if (fromCopy !== null) {
        // Redis lost the plans before the last leader wrote them again: this replica's copy
        // is written at once, fenced, so the plans in progress and the give-backs go on
        this.log.warn({ term: fence.term, plans: fromCopy.plans.length }, 'no remediation plans in Redis (data lost?): continuing from the copy this replica kept as a follower');
        this.loadedTerm = fence.term;
        if (!(await this.save(fence))) {
          this.loadedTerm = 0;
          this.copy = fromCopy;
          return false;
        }
      }
      this.loadedTerm = fence.term;
      const executing = this.doc.plans.filter((r) => r.status === 'executing');
      if (executing.length > 0) this.log.info({ term: fence.term, plans: executing.map((r) => r.plan.id) }, 'resuming plans a previous leader was executing');
      return true;
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not read the remediation plans from Redis; nothing is planned or sent until it answers');
      return false;
    }
  }

  /** Writes the plan document, fenced by the term. false: not written (then nothing may be sent). */
  private async save(fence: TermFence): Promise<boolean> {
    const nowMs = this.opts.clock.wallMs();
    pruneDoc(this.doc, nowMs, this.opts.config.cooldownMs);
    try {
      const res = await this.opts.store.writeAlertState({ term: fence.term, key: REMEDIATION_KEY, data: this.doc, nowMs, expectedVersion: this.docVersion });
      if (res.status === 'ok') {
        this.docVersion = res.version;
        return true;
      }
      if (res.status === 'conflict' && res.version === 0 && this.docVersion > 0) {
        // Redis lost the document (a restart without persistence, FLUSHALL): write ours
        // again, still fenced by the term, rather than forget the plans in progress
        this.log.warn({ term: fence.term }, 'the remediation plans were gone from Redis (data lost?): writing them again');
        this.docVersion = 0;
        return this.save(fence);
      }
      if (res.status === 'fenced') {
        this.opts.metrics.fencedWritesRejected.inc();
        this.fencedTerm = fence.term;
        this.log.warn({ term: fence.term, fenceTerm: res.fenceTerm }, 'remediation write refused by the fence: a newer leader exists; no Kafka change is sent in this term');
      } else {
        // someone else wrote it in our term: read it again before acting on it
        this.loadedTerm = 0;
        this.log.warn({ term: fence.term, version: res.version, expected: this.docVersion }, 'the remediation plans changed in Redis under us; reading them again');
      }
      return false;
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not write the remediation plans to Redis; nothing is sent until it answers');
      return false;
    }
  }

  // ---- planning ------------------------------------------------------------------------

  /** A broker a proposal would move off, not yet healthy for PROPOSAL_KEEP_MS. */
  private stillSuspect(plan: Plan, nowMs: number): boolean {
    if (plan.kind !== 'evict' && plan.kind !== 'lead-elsewhere') return false;
    return nowMs - (this.healthySinceMs.get(plan.broker) ?? nowMs) < PROPOSAL_KEEP_MS;
  }

  private async plan(fence: TermFence, snapshot: OkSnapshot, findings: readonly Finding[]): Promise<void> {
    const { config, clock } = this.opts;
    const nowMs = clock.wallMs();
    const policy = wantedPlans({ snapshot, findings, doc: this.doc, healthySinceMs: this.healthySinceMs, goneSinceMs: this.goneSinceMs, config, nowMs });
    let changed = false;
    for (const r of this.doc.plans) {
      // proposals left from dry-run once the mode is auto: planned again below, and run
      if (r.status === 'proposed' && config.mode === 'auto') {
        r.status = 'dropped';
        r.reason = 'remediation.mode is auto now: planned again and run';
        r.finishedAtMs = r.updatedAtMs = nowMs;
        changed = true;
        continue;
      }
      // proposals whose cause is gone are dropped: a person should not execute a stale plan
      if (r.status === 'proposed' && !policy.wants.some((w) => w.kind === r.plan.kind && w.broker === r.plan.broker) && !this.stillSuspect(r.plan, nowMs)) {
        r.status = 'dropped';
        r.reason = 'its cause is gone';
        r.finishedAtMs = r.updatedAtMs = nowMs;
        changed = true;
      }
    }
    let view: { metadata: ClusterMetadata; minIsr: ReadonlyMap<string, number> } | undefined;
    for (const want of policy.wants) {
      if (hasActive(this.doc, want.kind, want.broker)) continue;
      view ??= await this.planningView(snapshot);
      const plan = this.makePlan(want, view, fence.term, nowMs, policy.troubled);
      if (plan.moves.length === 0 && plan.elections.length === 0) continue;
      const last = this.doc.plans.find((r) => r.plan.kind === want.kind && r.plan.broker === want.broker);
      if (last?.status === 'refused' && nowMs - last.updatedAtMs < REFUSAL_RETRY_MS) continue;
      const refusal = policy.refuse ?? plan.refused ?? null;
      const record: PlanRecord = {
        plan,
        status: refusal !== null ? 'refused' : config.mode === 'auto' ? 'executing' : 'proposed',
        ...(refusal !== null ? { reason: refusal } : config.mode === 'auto' ? { approvedBy: 'auto' as const } : {}),
        steps: stepsFor(plan),
        next: 0,
        outcomes: [],
        ...(plan.kind === 'give-back' || plan.kind === 'restore-rf' ? { undoes: changedOffBroker(this.doc, plan.broker).planIds } : {}),
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
        ...(refusal !== null ? { finishedAtMs: nowMs } : {}),
      };
      this.doc.plans.unshift(record);
      changed = true;
      this.opts.metrics.remediationPlans.inc({ kind: plan.kind, status: record.status });
      const fields = { plan: plan.id, kind: plan.kind, broker: plan.broker, moves: plan.moves.length, elections: plan.elections.length, skipped: plan.skipped.length, cause: plan.cause };
      if (refusal !== null) this.log.warn({ ...fields, reason: refusal }, `plan refused: ${plan.reason}`);
      else if (record.status === 'proposed') this.log.info(fields, `dry-run: vigil would ${plan.reason} (POST /api/v1/plans/${plan.id}/execute to run it)`);
      else this.log.warn(fields, `executing: ${plan.reason}`);
    }
    if (changed) await this.save(fence);
  }

  /**
   * What plans are made from: the whole cluster's metadata, read now — internal topics
   * (__consumer_offsets: group coordinators) and topics the monitor does not watch move
   * too — with each topic's min.insync.replicas. Falls back to the cycle's snapshot (the
   * watched topics only) when Kafka does not answer.
   */
  private async planningView(snapshot: OkSnapshot): Promise<{ metadata: ClusterMetadata; minIsr: ReadonlyMap<string, number> }> {
    const known = new Map(snapshot.partitions.map((p) => [p.topic, p.minIsr]));
    try {
      const metadata = await this.opts.kafka.metadata(this.unanswering);
      const missing = metadata.topics.map((t) => t.topic).filter((t) => !known.has(t) && !this.minIsrCache.has(t));
      if (missing.length > 0) for (const [t, v] of await this.opts.kafka.minIsr(missing, this.unanswering)) this.minIsrCache.set(t, v);
      return { metadata, minIsr: new Map([...this.minIsrCache, ...known]) };
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not read the whole cluster metadata to plan; planning for the watched topics only');
      return { metadata: metadataOf(snapshot), minIsr: known };
    }
  }

  private makePlan(want: Want, view: { metadata: ClusterMetadata; minIsr: ReadonlyMap<string, number> }, term: number, nowMs: number, troubled: ReadonlySet<number>): Plan {
    const { config } = this.opts;
    const { metadata, minIsr } = view;
    // The cooldown keeps a flapping broker's partitions from moving off it again soon after
    // they moved (back); it does not hold a further step off the same broker (evict after
    // lead-elsewhere), nor give-back and restore-rf, which put things back.
    const cooling = new Map<string, string>();
    if (want.kind === 'evict' || want.kind === 'lead-elsewhere') {
      const escalating = new Set(changedOffBroker(this.doc, want.broker).moves.map((m) => movedKey(m.topic, m.partition)));
      for (const [k, at] of Object.entries(this.doc.moved)) {
        if (nowMs - at < config.cooldownMs && !escalating.has(k)) cooling.set(k, `moved by vigil ${Math.round((nowMs - at) / 1000)} s ago (remediation.cooldown ${Math.round(config.cooldownMs / 1000)} s)`);
      }
    }
    const avoid = new Set([...troubled].filter((b) => b !== want.broker));
    const ctx: PlanContext = { metadata, minIsr, maxPlanSize: config.maxPlanSize, throttleBytesPerSec: config.throttleBytesPerSec, cause: want.cause, nowMs, term, avoid, exclude: cooling };
    switch (want.kind) {
      case 'evict':
        return planEvict(ctx, want.broker);
      case 'lead-elsewhere':
        return planLeadElsewhere(ctx, want.broker);
      case 'give-back':
        return planGiveBack(ctx, want.broker, changedOffBroker(this.doc, want.broker).moves);
      case 'unclean-elect':
        return planUncleanElect(ctx);
      case 'restore-rf': {
        const plan = planRestoreReplicationFactor({ ...ctx, metadata: withEvictedBack(metadata, changedOffBroker(this.doc, want.broker).moves, want.broker) }, want.broker);
        // an evicted partition's move starts from where it is now, not from the virtual set
        const now = partitionsOf(metadata);
        return { ...plan, moves: plan.moves.map((m) => ({ ...m, from: now.get(movedKey(m.topic, m.partition))?.replicas ?? m.from })) };
      }
    }
  }

  // ---- execution -----------------------------------------------------------------------

  /** Runs a plan's steps until it waits, finishes or must stop. false: stop all work in this term. */
  private async run(fence: TermFence, record: PlanRecord): Promise<boolean> {
    while (record.status === 'executing' && record.next < record.steps.length) {
      let result: StepResult;
      try {
        result = await this.step(fence, record, record.steps[record.next] as StepKind);
      } catch (err) {
        // Kafka unreachable, a request failed on the wire, no active controller yet: the
        // step runs again shortly (and on every cycle)
        this.log.warn({ plan: record.plan.id, step: record.steps[record.next], err: describeError(err) }, `remediation step failed; retrying in ${STEP_RETRY_MS} ms`);
        this.retrySoon(fence);
        return true;
      }
      if (result === 'stopped') return false;
      if (result === 'blocked') return true;
    }
    if (record.status === 'executing') {
      record.status = 'done';
      record.finishedAtMs = record.updatedAtMs = this.opts.clock.wallMs();
      for (const id of record.undoes ?? []) {
        const undone = this.doc.plans.find((r) => r.plan.id === id);
        if (undone) undone.givenBackBy = record.plan.id;
      }
      this.log.warn({ plan: record.plan.id, kind: record.plan.kind, broker: record.plan.broker }, `plan done: ${record.plan.reason}`);
      if (!(await this.save(fence))) return false;
    }
    return true;
  }

  private async step(fence: TermFence, record: PlanRecord, step: StepKind): Promise<StepResult> {
    const { kafka } = this.opts;
    const plan = record.plan;
    const avoid = new Set(this.unanswering);
    if (plan.kind !== 'give-back') avoid.add(plan.broker);
    const metadata = await kafka.metadata(avoid);
    const current = partitionsOf(metadata);
    if (record.next === 0 && record.outcomes.length === 0 && plan.moves.length > 0) {
      // Guard, before anything is sent: a reassignment in flight that vigil did not start
      // (a person's, a balancer's) is never cancelled, and vigil does not move beside it.
      const foreign = (await kafka.listReassignments(avoid)).filter((o) => !this.ours(o));
      if (foreign.length > 0) return this.refuse(fence, record, foreignReason(foreign));
    }
    switch (step) {
      case 'throttle':
      case 'unthrottle': {
        const changes = throttleChanges(plan, step, new Set(metadata.brokers.map((b) => b.nodeId)), this.throttleInUse(record));
        if (changes.length === 0) return this.advance(fence, record, step, 'nothing to change');
        return this.send(fence, record, step, `${changes.length} config resources`, async () => {
          const out = await kafka.alterConfigs(changes, avoid, fence.mayAct);
          return out.filter((o) => o.error).map((o) => `${o.type} ${o.name}: ${o.error}${o.message ? ` (${o.message})` : ''}`);
        });
      }
      case 'reassign': {
        const ongoing = await kafka.listReassignments(avoid);
        const foreign = ongoing.filter((o) => !this.ours(o));
        const ourInFlight = ongoing.filter((o) => plan.moves.some((m) => sameTp(m, o)));
        const { pending, unsafe } = sendable(record, current, ourInFlight);
        if (unsafe.length > 0) {
          this.log.warn({ plan: plan.id, partitions: unsafe }, 'not dropping the broker where the ISR shrank since the plan was made: the rest would be below min.insync.replicas');
        }
        // one appeared after this plan started: wait for it, never cancel it
        if (foreign.length > 0 && pending.length > 0) return this.note(fence, record, step, `waiting: ${foreignReason(foreign)}`);
        const batch = limitInFlight(pending, ourInFlight, this.opts.config.maxPartitionMovesPerBroker);
        if (batch.length === 0) return this.advance(fence, record, step, pending.length === 0 ? 'every move done, in flight, or changed by someone else' : 'waiting for moves in flight');
        return this.send(fence, record, step, `${batch.length} partition moves`, async () => {
          const out = await kafka.alterReassignments(batch.map((m) => ({ topic: m.topic, partition: m.partition, replicas: m.to })), avoid, fence.mayAct);
          const nowMs = this.opts.clock.wallMs();
          for (const m of batch) this.doc.moved[movedKey(m.topic, m.partition)] = nowMs;
          // a partition Kafka refused is not sent again by this plan (its outcome says why);
          // one it accepted is waited for, never sent again (the metadata may lag the controller)
          const refused = new Set(out.filter((o) => o.error).map((o) => movedKey(o.topic, o.partition)));
          if (refused.size > 0) record.failed = [...(record.failed ?? []), ...refused];
          record.sent = [...(record.sent ?? []), ...batch.map((m) => movedKey(m.topic, m.partition)).filter((k) => !refused.has(k))];
          record.reassignSentAtMs = this.opts.clock.wallMs();
          return partitionErrors(out);
        });
      }
      case 'await-reassign': {
        const ongoing = await kafka.listReassignments(avoid);
        if (ongoing.some((o) => plan.moves.some((m) => sameTp(m, o)))) return 'blocked';
        // accepted moves the metadata does not show yet (brokers learn of a completed
        // reassignment a moment after the controller): wait, up to METADATA_LAG_MAX_MS
        const sent = new Set(record.sent ?? []);
        const unseen = plan.moves.filter((m) => sent.has(movedKey(m.topic, m.partition)) && same(current.get(movedKey(m.topic, m.partition))?.replicas, m.from));
        if (unseen.length > 0) {
          if (this.opts.clock.wallMs() - (record.reassignSentAtMs ?? 0) < METADATA_LAG_MAX_MS) return 'blocked';
          record.failed = [...(record.failed ?? []), ...unseen.map((m) => movedKey(m.topic, m.partition))];
          this.log.warn({ plan: plan.id, partitions: unseen.map((m) => `${m.topic}-${m.partition}`) }, 'accepted moves never showed in the metadata; giving up on them');
        }
        // moves held back by maxPartitionMovesPerBroker: back to the reassign step
        if (sendable(record, current, []).pending.length > 0) {
          record.next = record.steps.indexOf('reassign');
          return 'advanced';
        }
        return this.advance(fence, record, step, 'no move of this plan in flight');
      }
      case 'elect': {
        const unclean = plan.kind === 'unclean-elect';
        const needed = plan.elections.filter((e) => {
          const p = current.get(movedKey(e.topic, e.partition));
          if (unclean) return p !== undefined && p.leader === -1;
          return p !== undefined && p.replicas.length > 0 && p.leader !== p.replicas[0];
        });
        if (needed.length === 0) {
          this.electSinceMs.delete(plan.id);
          return this.advance(fence, record, step, unclean ? 'every partition has a leader' : 'every preferred replica leads');
        }
        const since = this.electSinceMs.get(plan.id) ?? this.opts.clock.wallMs();
        this.electSinceMs.set(plan.id, since);
        if (unclean) {
          // loud on purpose: an operator must find this in any log search after the fact
          this.log.error(
            { plan: plan.id, partitions: needed.map((e) => `${e.topic}-${e.partition}`), term: fence.term },
            `UNCLEAN leader election for ${needed.length} offline partition${needed.length === 1 ? '' : 's'} (remediation.allowUncleanElection): records the new leaders never copied are lost`,
          );
        }
        let errors: string[] = [];
        const sent = await this.send(fence, record, step, `${needed.length} ${unclean ? 'UNCLEAN' : 'preferred'} elections`, async () => {
          errors = partitionErrors(await kafka.electLeaders(unclean ? 'unclean' : 'preferred', needed, avoid, fence.mayAct));
          return errors;
        }, { advance: false });
        if (sent === 'stopped') return sent;
        if (errors.length === 0 || this.opts.clock.wallMs() - since >= ELECT_RETRY_MS) {
          this.electSinceMs.delete(plan.id);
          return this.advance(fence, record, step, errors.length === 0 ? 'elected' : `gave up on ${errors.length} elections after ${ELECT_RETRY_MS / 1000} s`);
        }
        return 'blocked';
      }
    }
  }

  /** Whether a reassignment in flight is one of vigil's executing plans'. */
  private ours(o: OngoingReassignment): boolean {
    return this.doc.plans.some((r) => r.status === 'executing' && r.plan.moves.some((m) => sameTp(m, o)));
  }

  /** Another executing plan still needs the broker throttles (then unthrottle leaves the rates). */
  private throttleInUse(record: PlanRecord): boolean {
    return this.doc.plans.some((r) => r !== record && r.status === 'executing' && r.plan.throttle !== null);
  }

  /**
   * Records the intent (fenced), checks the lease, sends, records the outcome. With
   * `advance: false` the step stays current (it is retried) and its outcome is recorded.
   */
  private async send(fence: TermFence, record: PlanRecord, step: StepKind, what: string, request: () => Promise<string[]>, opts: { advance: boolean } = { advance: true }): Promise<StepResult> {
    const { clock, nodeId, metrics } = this.opts;
    record.intent = { step, term: fence.term, nodeId, atMs: clock.wallMs() };
    record.updatedAtMs = clock.wallMs();
    if (!(await this.save(fence))) return 'stopped';
    if (!fence.mayAct()) {
      this.log.warn({ plan: record.plan.id, step, term: fence.term }, 'lease lost after recording the intent: not sending; the next leader runs the step again');
      return 'stopped';
    }
    let errors: string[];
    try {
      errors = await request();
    } catch (err) {
      if (err instanceof VigilError && err.code === 'LEASE_LOST') {
        // the lease ended between two requests of the step: the rest is the next leader's
        this.log.warn({ plan: record.plan.id, step, term: fence.term }, 'lease lost during the step: nothing more sent; the next leader runs the step again');
        return 'stopped';
      }
      metrics.remediationActions.inc({ action: step, outcome: 'error' });
      throw err;
    }
    metrics.remediationActions.inc({ action: step, outcome: errors.length === 0 ? 'ok' : 'error' });
    const detail = `sent ${what}`;
    this.log.warn({ plan: record.plan.id, step, term: fence.term, errors: errors.length > 0 ? errors : undefined }, `remediation ${step}: ${detail}`);
    delete record.intent;
    return opts.advance ? this.advance(fence, record, step, detail, errors) : this.note(fence, record, step, detail, errors);
  }

  private async advance(fence: TermFence, record: PlanRecord, step: StepKind, detail: string, errors: string[] = []): Promise<StepResult> {
    record.next++;
    return this.note(fence, record, step, detail, errors, 'advanced');
  }

  private async note(fence: TermFence, record: PlanRecord, step: StepKind, detail: string, errors: string[] = [], result: StepResult = 'blocked'): Promise<StepResult> {
    const atMs = this.opts.clock.wallMs();
    const last = record.outcomes[record.outcomes.length - 1];
    // a wait noted again and again (every cycle) is recorded once
    if (!(result === 'blocked' && last?.step === step && last.detail === detail)) {
      record.outcomes.push({ step, atMs, term: fence.term, nodeId: this.opts.nodeId, detail, ...(errors.length > 0 ? { errors } : {}) });
      if (record.outcomes.length > OUTCOMES_KEPT) record.outcomes.splice(0, record.outcomes.length - OUTCOMES_KEPT);
      record.updatedAtMs = atMs;
      if (!(await this.save(fence))) return 'stopped';
    }
    return result;
  }

  private async refuse(fence: TermFence, record: PlanRecord, reason: string): Promise<StepResult> {
    record.status = 'refused';
    record.reason = reason;
    record.finishedAtMs = record.updatedAtMs = this.opts.clock.wallMs();
    this.opts.metrics.remediationPlans.inc({ kind: record.plan.kind, status: 'refused' });
    this.log.warn({ plan: record.plan.id, reason }, 'plan refused');
    return (await this.save(fence)) ? 'blocked' : 'stopped';
  }
}

// ---- helpers -------------------------------------------------------------------------------

const same = (a: readonly number[] | undefined, b: readonly number[]) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
const sameTp = (a: { topic: string; partition: number }, b: { topic: string; partition: number }) => a.topic === b.topic && a.partition === b.partition;

/**
 * The plan's moves still to send: the partition is where the plan found it, not in flight,
 * not sent (accepted) or refused by Kafka before, and — for a move that drops replicas — its ISR still leaves
 * at least min.insync.replicas (it may have shrunk since the plan was made: `unsafe`).
 */
function sendable(record: PlanRecord, current: ReadonlyMap<string, { replicas: readonly number[]; isr: readonly number[] }>, inFlight: readonly OngoingReassignment[]) {
  const plan = record.plan;
  const failed = new Set([...(record.failed ?? []), ...(record.sent ?? [])]);
  const unsafe: string[] = [];
  const pending = plan.moves.filter((m) => {
    const key = movedKey(m.topic, m.partition);
    const p = current.get(key);
    if (p === undefined || !same(p.replicas, m.from) || failed.has(key) || inFlight.some((o) => sameTp(m, o))) return false;
    const minIsr = plan.minIsr?.[m.topic];
    if (minIsr !== undefined && m.to.length < m.from.length && m.to.filter((r) => p.isr.includes(r)).length < Math.max(1, minIsr)) {
      unsafe.push(`${m.topic}-${m.partition}`);
      return false;
    }
    return true;
  });
  return { pending, unsafe };
}

function foreignReason(foreign: readonly OngoingReassignment[]): string {
  const named = foreign.slice(0, 5).map((o) => `${o.topic}-${o.partition}`).join(', ');
  return `another reassignment is in flight that vigil did not start (${named}${foreign.length > 5 ? `, and ${foreign.length - 5} more` : ''}); vigil never cancels it`;
}

function partitionErrors(out: readonly PartitionOutcome[]): string[] {
  return out.filter((o) => o.error).map((o) => `${o.topic}-${o.partition}: ${o.error}${o.message ? ` (${o.message})` : ''}`);
}

function partitionsOf(md: ClusterMetadata) {
  const out = new Map<string, { leader: number; replicas: readonly number[]; isr: readonly number[] }>();
  for (const t of md.topics) for (const p of t.partitions) out.set(movedKey(t.topic, p.partition), p);
  return out;
}

/** The cluster's metadata as the snapshot saw it this cycle (brokers in the metadata only). */
export function metadataOf(s: OkSnapshot): ClusterMetadata {
  const topics = new Map<string, TopicInfo>();
  for (const p of s.partitions) {
    let t = topics.get(p.topic);
    if (!t) topics.set(p.topic, (t = { topic: p.topic, isInternal: p.topic.startsWith('__'), partitions: [] }));
    (t.partitions as TopicInfo['partitions'][number][]).push({ partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, offlineReplicas: p.offlineReplicas });
  }
  return {
    clusterId: s.clusterId,
    controllerId: s.controllerId,
    brokers: s.brokers.filter((b) => b.inMetadata).map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    topics: [...topics.values()],
  };
}

/**
 * For restore-rf: partitions vigil evicted the gone broker from count as if it were still
 * in them, so they get a replacement replica too (eviction lowered their replication factor).
 */
function withEvictedBack(md: ClusterMetadata, evicted: readonly PartitionMove[], broker: number): ClusterMetadata {
  const byKey = new Map(evicted.filter((m) => m.from.includes(broker) && !m.to.includes(broker)).map((m) => [movedKey(m.topic, m.partition), m]));
  if (byKey.size === 0) return md;
  return {
    ...md,
    topics: md.topics.map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => {
        const m = byKey.get(movedKey(t.topic, p.partition));
        return m && same(p.replicas, m.to) ? { ...p, replicas: [...m.to, broker] } : p;
      }),
    })),
  };
}

/**
 * The copies a batch may start: at most `limit` moves that copy data into or out of each
 * broker, counting the ones in flight. Moves that copy nothing (new order, a dropped
 * replica) complete at once and are never held back.
 */
function limitInFlight(pending: readonly PartitionMove[], inFlight: readonly OngoingReassignment[], limit: number): PartitionMove[] {
  const load = new Map<number, number>();
  const bump = (brokers: readonly number[]) => {
    for (const b of brokers) load.set(b, (load.get(b) ?? 0) + 1);
  };
  for (const o of inFlight) bump([...o.adding, ...o.removing]);
  const out: PartitionMove[] = [];
  for (const m of pending) {
    const adding = m.to.filter((r) => !m.from.includes(r));
    if (adding.length === 0) {
      out.push(m);
      continue;
    }
    const touched = [...adding, ...m.from.filter((r) => !m.to.includes(r))];
    if (touched.some((b) => (load.get(b) ?? 0) >= limit)) continue;
    bump(touched);
    out.push(m);
  }
  return out;
}

/**
 * Kafka's replication throttles for a plan's copies (IncrementalAlterConfigs, never the
 * non-incremental AlterConfigs): the topics' throttled-replica lists appended to (or
 * subtracted from), and the rate set on (or deleted from) every live broker involved —
 * the rates stay while another executing plan still copies.
 */
function throttleChanges(plan: Plan, step: 'throttle' | 'unthrottle', live: ReadonlySet<number>, ratesInUse: boolean): ConfigResourceChange[] {
  const t = plan.throttle;
  if (!t) return [];
  const op = step === 'throttle' ? 'append' : 'subtract';
  const changes: ConfigResourceChange[] = Object.entries(t.topics).map(([topic, v]) => ({
    type: 'topic',
    name: topic,
    configs: [
      ...(v.leader ? [{ name: 'leader.replication.throttled.replicas', op, value: v.leader } as const] : []),
      ...(v.follower ? [{ name: 'follower.replication.throttled.replicas', op, value: v.follower } as const] : []),
    ],
  }));
  if (step === 'unthrottle' && ratesInUse) return changes;
  for (const b of t.brokers) {
    if (!live.has(b)) continue;
    const rate = step === 'throttle' ? { op: 'set' as const, value: String(t.bytesPerSec) } : { op: 'delete' as const };
    changes.push({ type: 'broker', name: String(b), configs: [{ name: 'leader.replication.throttled.rate', ...rate }, { name: 'follower.replication.throttled.rate', ...rate }] });
  }
  return changes;
}
