/**
 * The canary (docs/design.md §3 "Canary", §4 CanaryDegraded, §7 `canary`): the leader writes one
 * small record to a partition led by each broker every `canary.interval` (acks=all) and
 * reads it back from the partition's leader. The round trip is a per-broker end-to-end
 * latency and availability signal that tells a slow broker from a slow consumer.
 *
 * Layout of the topic (`canary.topic`): partition i has the i-th live broker (by id) as
 * its preferred leader (replicas[0]) and min(3, brokers) replicas, the followers being the
 * next brokers in id order. A broker that joins gets a new partition led by it; partitions
 * are never deleted. A topic whose preferred leaders are not all distinct was not laid out
 * by vigil: it is used as it is, and the brokers without a canary partition are logged.
 * Creating or growing the topic is a side effect: only while `mayAct()` (the lease) holds.
 *
 * Pure parts (planning, targets, outcome → state) are exported functions; the Canary class
 * is the driver: it owns the timer, the port calls and the metric.
 *
 * Invariants of the driver:
 *  - rounds never overlap: the next one is scheduled when the previous one has finished;
 *  - every port call is raced against the probe timeout, so a round lasts at most about
 *    three timeouts (describe, a topic change, the probes in parallel) even when a broker
 *    hangs;
 *  - at most one port call per key (describe, topic change, each partition's probe) is in
 *    flight: a call abandoned at its timeout blocks a new call with the same key until it
 *    settles, so a hung broker never piles up requests;
 *  - a probe never throws: failures are states (`ok: false` with an error naming the
 *    produce, the read-back or the timeout).
 */
import { realTimers, type Timers } from '../util/timers';
import { describeError } from '../errors';
import type { CanaryPartition, CanaryPort, CanaryTopology } from '../kafka/canary-port';
import type { BrokerInfo } from '../kafka/types';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Clock } from '../util/clock';
import type { CanaryState } from './snapshot';

// ---- pure: timing -------------------------------------------------------------------------

/** A probe slower than this is a failure: 5 intervals, at most 5 s (detect pages at 2 s). */
export function canaryProbeTimeoutMs(intervalMs: number): number {
  return Math.max(1, Math.min(5_000, 5 * intervalMs));
}

/** The canary topic's replication factor for a cluster of this many brokers. */
export function canaryReplicationFactor(brokerCount: number): number {
  return Math.min(3, brokerCount);
}

// ---- pure: topic layout -------------------------------------------------------------------

export type CanaryTopicPlan =
  /** The topic is missing: create it, partition i with assignment[i]. */
  | { readonly kind: 'create'; readonly assignment: readonly (readonly number[])[] }
  /** Vigil's layout, some live brokers lead no partition: add one per broker, in this order. */
  | { readonly kind: 'add-partitions'; readonly currentCount: number; readonly brokers: readonly number[]; readonly assignments: readonly (readonly number[])[] }
  /** Every live broker is the preferred leader of a partition. */
  | { readonly kind: 'complete' }
  /** The topic lists no partitions yet (it is being created): look again next round. */
  | { readonly kind: 'wait' }
  /** A layout vigil did not create (preferred leaders repeat): never altered. */
  | { readonly kind: 'foreign'; readonly uncovered: readonly number[] }
  /** Vigil's layout, but new partitions cannot be placed; `reason` says why. */
  | { readonly kind: 'blocked'; readonly uncovered: readonly number[]; readonly reason: string };

/**
 * The replicas of the partition led by `leader`: the leader, then the next brokers after it
 * in id order (wrapping), `replicationFactor` in all. Consecutive leaders thus get shifted
 * follower sets, which spreads the followers evenly.
 */
export function ringReplicas(leader: number, brokers: readonly number[], replicationFactor: number): number[] {
  const ring = [...new Set(brokers)].sort((a, b) => a - b);
  const start = ring.indexOf(leader);
  if (start < 0) throw new RangeError(`broker ${leader} is not among the brokers [${ring.join(', ')}]`);
  const rf = Math.min(replicationFactor, ring.length);
  return Array.from({ length: rf }, (_, i) => ring[(start + i) % ring.length] as number);
}

/** What to do about the topic, given the live brokers and its partitions (null: missing). */
export function planCanaryTopic(liveBrokers: readonly number[], partitions: readonly Pick<CanaryPartition, 'partition' | 'replicas'>[] | null): CanaryTopicPlan {
  const brokers = [...new Set(liveBrokers)].sort((a, b) => a - b);
  if (partitions === null) {
    if (brokers.length === 0) return { kind: 'blocked', uncovered: [], reason: 'the cluster metadata lists no live broker' };
    const rf = canaryReplicationFactor(brokers.length);
    return { kind: 'create', assignment: brokers.map((b) => ringReplicas(b, brokers, rf)) };
  }
  if (partitions.length === 0) return { kind: 'wait' };
  const preferred = partitions.map((p) => p.replicas[0]);
  const led = new Set(preferred.filter((b): b is number => b !== undefined));
  const uncovered = brokers.filter((b) => !led.has(b));
  const vigilLayout = led.size === partitions.length;
  if (!vigilLayout) return { kind: 'foreign', uncovered };
  if (uncovered.length === 0) return { kind: 'complete' };
  // Kafka requires new partitions to have the replication factor of the existing ones.
  const rf = (partitions[0] as Pick<CanaryPartition, 'replicas'>).replicas.length;
  if (rf > brokers.length) {
    return { kind: 'blocked', uncovered, reason: `the topic's replication factor ${rf} exceeds the ${brokers.length} live brokers` };
  }
  return {
    kind: 'add-partitions',
    currentCount: partitions.length,
    brokers: uncovered,
    assignments: uncovered.map((b) => ringReplicas(b, brokers, rf)),
  };
}

// ---- pure: what to probe ------------------------------------------------------------------

export interface ProbeTarget {
  readonly partition: number;
  /** the broker this partition's measurement is reported for (replicas[0]) */
  readonly preferredLeader: number;
  /** the partition's current leader; null when it has none among the live brokers */
  readonly leader: BrokerInfo | null;
  /** the leader id the metadata named (-1: none) */
  readonly leaderId: number;
}

/**
 * One target per partition whose preferred leader is a live broker. A partition whose
 * preferred leader left the cluster is not probed: it would only measure the broker that
 * took it over, which has a partition of its own, and the departed broker is reported by
 * BrokerUnreachable.
 */
export function probeTargets(topology: CanaryTopology): ProbeTarget[] {
  const live = new Map(topology.brokers.map((b) => [b.nodeId, b]));
  const out: ProbeTarget[] = [];
  for (const p of topology.partitions ?? []) {
    const preferredLeader = p.replicas[0];
    if (preferredLeader === undefined || !live.has(preferredLeader)) continue;
    out.push({ partition: p.partition, preferredLeader, leader: live.get(p.leader) ?? null, leaderId: p.leader });
  }
  return out;
}

// ---- pure: outcome → state ----------------------------------------------------------------

export type ProbeStage = 'produce' | 'read-back';

interface OutcomeBase {
  readonly partition: number;
  readonly preferredLeader: number;
  /** the broker that was asked (the partition's leader), null when it had none */
  readonly leader: number | null;
  /** wall clock ms when the probe finished */
  readonly atMs: number;
}

export type ProbeOutcome = OutcomeBase &
  (
    | { readonly kind: 'ok'; readonly latencyMs: number }
    | { readonly kind: 'failed'; readonly stage: ProbeStage; readonly error: string }
    | { readonly kind: 'timeout'; readonly stage: ProbeStage; readonly afterMs: number }
    /** the partition has no leader among the live brokers (`leaderId` -1: none at all) */
    | { readonly kind: 'no-leader'; readonly leaderId: number }
    /** the previous probe of this partition, abandoned after `afterMs`, has still not settled: none was sent */
    | { readonly kind: 'pending'; readonly afterMs: number }
  );

/** What the snapshot carries per broker, plus where the measurement went. */
export interface CanaryBrokerState extends CanaryState {
  /** the canary partition measured (the broker is its preferred leader) */
  readonly partition: number;
  /** the broker that actually led it at the probe (null: none); differs from `broker` after a failover */
  readonly leader: number | null;
  /** wall clock ms of the measurement */
  readonly probedAtMs: number;
}

export function canaryStateOf(o: ProbeOutcome, topic: string): CanaryBrokerState {
  const base = { broker: o.preferredLeader, partition: o.partition, leader: o.leader, probedAtMs: o.atMs };
  const via = o.leader === null ? '' : ` via broker ${o.leader}`;
  switch (o.kind) {
    case 'ok':
      return { ...base, ok: true, latencyMs: Math.round(o.latencyMs * 10) / 10 };
    case 'failed':
      return { ...base, ok: false, latencyMs: null, error: `${o.stage}${via} failed: ${o.error}` };
    case 'timeout':
      return { ...base, ok: false, latencyMs: null, error: `timeout: no answer to the ${o.stage}${via} within ${o.afterMs} ms` };
    case 'no-leader':
      return {
        ...base, ok: false, latencyMs: null,
        error: o.leaderId < 0 ? `partition ${o.partition} of ${topic} has no leader` : `partition ${o.partition} of ${topic} is led by broker ${o.leaderId}, which is not live`,
      };
    case 'pending':
      // no elapsed time in the text: the finding stays the same from cycle to cycle
      return { ...base, ok: false, latencyMs: null, error: `timeout: the previous probe${via} has had no answer for more than ${o.afterMs} ms` };
    default:
      return unreachable(o);
  }
}

/**
 * One state per broker, sorted by broker id. A broker preferred-leading several partitions
 * (a foreign layout) gets the worst of them: a failure, else the highest latency.
 */
export function canaryStates(outcomes: readonly ProbeOutcome[], topic: string): CanaryBrokerState[] {
  const byBroker = new Map<number, CanaryBrokerState>();
  for (const o of outcomes) {
    const s = canaryStateOf(o, topic);
    const prev = byBroker.get(s.broker);
    if (prev === undefined || worse(s, prev)) byBroker.set(s.broker, s);
  }
  return [...byBroker.values()].sort((a, b) => a.broker - b.broker);
}

function worse(a: CanaryState, b: CanaryState): boolean {
  if (a.ok !== b.ok) return !a.ok;
  return (a.latencyMs ?? Number.POSITIVE_INFINITY) > (b.latencyMs ?? Number.POSITIVE_INFINITY);
}

/** The record's value: who sent it and when (wall clock), unique per node and sequence. */
export function canaryRecordValue(nodeId: string, seq: number, sentAtMs: number): string {
  return JSON.stringify({ v: 1, node: nodeId, seq, sentAtMs });
}

function unreachable(x: never): never {
  throw new Error(`unhandled case ${JSON.stringify(x)}`);
}

// ---- driver -------------------------------------------------------------------------------

export interface CanaryDeps {
  readonly port: CanaryPort;
  readonly config: { readonly topic: string; readonly intervalMs: number };
  /** config.node.id: written into every record */
  readonly nodeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'canaryLatencySeconds'>;
  /** The leader lease; asked immediately before creating or growing the topic. */
  readonly mayAct: () => boolean;
  /** default: real timers */
  readonly timers?: Timers;
  /** default: canaryProbeTimeoutMs(config.intervalMs) */
  readonly probeTimeoutMs?: number;
}

type CallResult<T> =
  | { readonly kind: 'done'; readonly value: T }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'busy'; readonly forMs: number };

/** How many times a read-back that finds no record yet is repeated within the timeout. */
const READ_BACK_ATTEMPTS = 3;

export class Canary {
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly timeoutMs: number;
  private active = false;
  /** bumped by start() and stop(): a round of an older generation publishes nothing */
  private generation = 0;
  private timer: unknown = null;
  private currentRound: Promise<void> | null = null;
  private readonly inFlight = new Map<string, { readonly sinceMs: number }>();
  private topology: CanaryTopology | null = null;
  private byBroker = new Map<number, CanaryBrokerState>();
  private seq = 0;
  /** last logged problems, so that a persisting one is logged once */
  private describeProblem: string | null = null;
  private topicProblem: string | null = null;
  private uncoveredNote: string | null = null;
  /** rounds finished since construction (tests and status wait on it) */
  roundsCompleted = 0;

  constructor(private readonly deps: CanaryDeps) {
    this.log = deps.logger.child({ component: 'canary' });
    this.timers = deps.timers ?? realTimers;
    this.timeoutMs = deps.probeTimeoutMs ?? canaryProbeTimeoutMs(deps.config.intervalMs);
  }

  /** Starts probing (the first round at once). Idempotent. */
  start(): void {
    if (this.active) return;
    this.active = true;
    const gen = ++this.generation;
    this.log.info({ topic: this.deps.config.topic, intervalMs: this.deps.config.intervalMs, timeoutMs: this.timeoutMs }, 'canary started');
    this.schedule(0, gen);
  }

  /**
   * Stops probing, waits for a running round to finish (bounded by the timeouts), forgets
   * every state and clears the metric. Idempotent. The port stays open (its owner closes it).
   * No side effect starts after stop() is called, so a caller losing the lease need not
   * wait for the returned promise.
   */
  async stop(): Promise<void> {
    const wasActive = this.active;
    this.active = false;
    this.generation++;
    if (this.timer !== null) {
      this.timers.clear(this.timer);
      this.timer = null;
    }
    if (this.currentRound) await this.currentRound;
    this.publish([]);
    this.topology = null;
    if (wasActive) this.log.info('canary stopped');
  }

  /** The last state of every broker that has a canary partition, sorted by broker id. */
  states(): CanaryBrokerState[] {
    return [...this.byBroker.values()];
  }

  private isCurrent(gen: number): boolean {
    return this.active && gen === this.generation;
  }

  private schedule(delayMs: number, gen: number): void {
    this.timer = this.timers.set(() => {
      this.timer = null;
      void this.tick(gen);
    }, Math.max(0, delayMs));
  }

  private async tick(gen: number): Promise<void> {
    // a round of an earlier start() may still be settling after stop(): never overlap it
    while (this.currentRound) await this.currentRound;
    if (!this.isCurrent(gen)) return;
    const startedMs = this.deps.clock.monotonicMs();
    const round = this.round(gen).catch((err) => {
      // round() handles every port failure; this is a bug, logged rather than lost
      this.log.error({ err: describeError(err) }, 'canary round failed');
    });
    this.currentRound = round;
    await round;
    if (this.currentRound === round) this.currentRound = null;
    this.roundsCompleted++;
    if (!this.isCurrent(gen)) return;
    this.schedule(this.deps.config.intervalMs - (this.deps.clock.monotonicMs() - startedMs), gen);
  }

  private async round(gen: number): Promise<void> {
    const { port, config } = this.deps;
    const d = await this.call('describe', () => port.describe(config.topic, this.timeoutMs));
    if (!this.isCurrent(gen)) return;
    if (d.kind === 'done') {
      this.topology = d.value;
      this.noteDescribe(null);
      await this.manageTopic(d.value, gen);
      if (!this.isCurrent(gen)) return;
    } else {
      // Keep probing with the last layout: probes go straight to the leaders, and they,
      // not a failed metadata request, say which broker is in trouble.
      this.noteDescribe(d.kind === 'error' ? describeError(d.error) : d.kind === 'timeout' ? `no answer within ${this.timeoutMs} ms` : `the previous request has had no answer for ${Math.round(d.forMs)} ms`);
    }
    if (this.topology === null) return;
    const outcomes = await Promise.all(probeTargets(this.topology).map((t) => this.probe(t)));
    if (!this.isCurrent(gen)) return;
    this.publish(canaryStates(outcomes, config.topic));
  }

  private async manageTopic(topology: CanaryTopology, gen: number): Promise<void> {
    const { port, config } = this.deps;
    const plan = planCanaryTopic(topology.brokers.map((b) => b.nodeId), topology.partitions);
    switch (plan.kind) {
      case 'complete':
        this.noteUncovered([], '');
        this.noteTopic(null);
        return;
      case 'wait':
        return;
      case 'foreign':
        this.noteUncovered(plan.uncovered, 'the topic exists with a layout vigil did not create; it is used as it is');
        return;
      case 'blocked':
        this.noteUncovered(plan.uncovered, plan.reason);
        return;
      case 'create':
      case 'add-partitions': {
        if (!this.deps.mayAct() || !this.isCurrent(gen)) return;
        const action =
          plan.kind === 'create'
            ? () => port.createTopic(config.topic, plan.assignment, this.timeoutMs)
            : () => port.createPartitions(config.topic, plan.currentCount, plan.assignments, this.timeoutMs);
        const what =
          plan.kind === 'create'
            ? `create topic ${config.topic} with replicas ${JSON.stringify(plan.assignment)}`
            : `add partitions ${plan.currentCount}..${plan.currentCount + plan.assignments.length - 1} to ${config.topic} for brokers ${plan.brokers.join(', ')} with replicas ${JSON.stringify(plan.assignments)}`;
        const r = await this.call('topic', action);
        if (r.kind === 'done') {
          this.log.info({ topic: config.topic }, `canary: ${what}`);
          this.noteTopic(null);
        } else {
          const why = r.kind === 'error' ? describeError(r.error) : r.kind === 'timeout' ? `no answer within ${this.timeoutMs} ms` : 'the previous request has not answered';
          this.noteTopic(`could not ${what}: ${why}. vigil needs permission to create the topic and its partitions (or create it yourself with one partition led by each broker); it retries every round`);
        }
        return;
      }
      default:
        unreachable(plan);
    }
  }

  /** One produce and read-back; never throws. */
  private async probe(t: ProbeTarget): Promise<ProbeOutcome> {
    const { port, config, clock, nodeId } = this.deps;
    const base = { partition: t.partition, preferredLeader: t.preferredLeader, leader: t.leader?.nodeId ?? null };
    const leader = t.leader;
    if (leader === null) return { ...base, atMs: clock.wallMs(), kind: 'no-leader', leaderId: t.leaderId };
    const progress: { stage: ProbeStage } = { stage: 'produce' };
    const timeoutMs = this.timeoutMs;
    const r = await this.call(`partition ${t.partition}`, async () => {
      const sentAtMs = clock.wallMs();
      const value = canaryRecordValue(nodeId, ++this.seq, sentAtMs);
      const startMs = clock.monotonicMs();
      const remainingMs = () => Math.max(1, timeoutMs - (clock.monotonicMs() - startMs));
      const { offset } = await port.produce({ topic: config.topic, partition: t.partition, leader, value, timestampMs: sentAtMs, timeoutMs });
      progress.stage = 'read-back';
      for (let attempt = 1; ; attempt++) {
        const read = await port.readBack({ topic: config.topic, partition: t.partition, leader, offset, timeoutMs: remainingMs() });
        if (read === value) return clock.monotonicMs() - startMs;
        if (read !== null) throw new Error(`the record at offset ${offset} is not the one produced`);
        if (attempt >= READ_BACK_ATTEMPTS) throw new Error(`no record at the acknowledged offset ${offset}`);
      }
    });
    const atMs = clock.wallMs();
    switch (r.kind) {
      case 'done':
        return { ...base, atMs, kind: 'ok', latencyMs: r.value };
      case 'error':
        return { ...base, atMs, kind: 'failed', stage: progress.stage, error: describeError(r.error) };
      case 'timeout':
        return { ...base, atMs, kind: 'timeout', stage: progress.stage, afterMs: timeoutMs };
      case 'busy':
        return { ...base, atMs, kind: 'pending', afterMs: timeoutMs };
      default:
        return unreachable(r);
    }
  }

  /**
   * Runs fn unless a call with the same key is still in flight, and gives up waiting for it
   * after the probe timeout. An abandoned call keeps its key busy until it settles.
   */
  private async call<T>(key: string, fn: () => Promise<T>): Promise<CallResult<T>> {
    const nowMs = this.deps.clock.monotonicMs();
    const busy = this.inFlight.get(key);
    if (busy) return { kind: 'busy', forMs: nowMs - busy.sinceMs };
    const entry = { sinceMs: nowMs };
    this.inFlight.set(key, entry);
    const settled: Promise<CallResult<T>> = Promise.resolve()
      .then(fn)
      .then(
        (value) => ({ kind: 'done', value }) as const,
        (error: unknown) => ({ kind: 'error', error }) as const,
      );
    void settled.then(() => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    });
    let handle: unknown = null;
    const timeout = new Promise<CallResult<T>>((resolve) => {
      handle = this.timers.set(() => resolve({ kind: 'timeout' }), this.timeoutMs);
    });
    try {
      return await Promise.race([settled, timeout]);
    } finally {
      this.timers.clear(handle);
    }
  }

  /** Replaces the states, logs changes of health and sets or clears the metric series. */
  private publish(next: readonly CanaryBrokerState[]): void {
    const gauge = this.deps.metrics.canaryLatencySeconds;
    const prev = this.byBroker;
    this.byBroker = new Map(next.map((s) => [s.broker, s]));
    for (const s of next) {
      const before = prev.get(s.broker);
      if (!s.ok && (before === undefined || before.ok)) {
        this.log.warn({ broker: s.broker, partition: s.partition, leader: s.leader, error: s.error }, `canary via broker ${s.broker} failing: ${s.error}`);
      } else if (s.ok && before !== undefined && !before.ok) {
        this.log.info({ broker: s.broker, partition: s.partition, leader: s.leader, latencyMs: s.latencyMs }, `canary via broker ${s.broker} healthy again`);
      }
      // no measurement, no series: a stale latency would look healthy on a dashboard
      if (s.latencyMs === null) gauge.remove({ broker: String(s.broker) });
      else gauge.set({ broker: String(s.broker) }, s.latencyMs / 1000);
    }
    for (const broker of prev.keys()) {
      if (!this.byBroker.has(broker)) gauge.remove({ broker: String(broker) });
    }
  }

  private noteDescribe(problem: string | null): void {
    if (problem === this.describeProblem) return;
    if (problem !== null) this.log.warn({ topic: this.deps.config.topic, error: problem }, `canary: could not read the metadata of ${this.deps.config.topic}; probing with the last known layout`);
    else if (this.describeProblem !== null) this.log.info({ topic: this.deps.config.topic }, 'canary: metadata readable again');
    this.describeProblem = problem;
  }

  private noteTopic(problem: string | null): void {
    if (problem === this.topicProblem) return;
    if (problem !== null) this.log.error({ topic: this.deps.config.topic }, `canary: ${problem}`);
    this.topicProblem = problem;
  }

  private noteUncovered(brokers: readonly number[], reason: string): void {
    const note = brokers.length === 0 ? '' : `${brokers.join(',')}|${reason}`;
    if (note === (this.uncoveredNote ?? '')) return;
    this.uncoveredNote = note;
    if (brokers.length > 0) {
      this.log.warn(
        { topic: this.deps.config.topic, brokers },
        `canary: ${reason}; brokers without a canary partition (not measured): ${brokers.join(', ')}`,
      );
    }
  }
}
