/**
 * detect (docs/design.md §1, §4): one Kafka snapshot plus what detect remembered from the previous
 * cycles → findings. Pure: no I/O, no clock (the snapshot's takenAtMs is "now"), and the
 * input memory is never modified (a new one is returned).
 *
 * Cost is linear in partitions + group-partition rows, and the per-cycle allocation is a
 * handful of objects per topic and per group/topic, never per partition: leaders and the
 * stall tracking live in one typed array each (a topic's or a group/topic's partitions
 * are a contiguous slice), so 100,000 partitions cost two buffers a cycle, not 100,000
 * objects or thousands of small buffers (test/bench/detect-decide.bench.ts).
 *
 * Partition findings are grouped per topic and lag findings per group/topic, so a broker
 * with thousands of partitions dying gives one finding per topic, not one per partition.
 * LeaderChanged is the exception: it is an event per partition (for the leader-change
 * counter and the timeline), never an alert.
 */
import type { VigilConfig } from '../config/types';
import { DEFAULT_LAG_RULE, type CauseTouch, type Finding, type GroupTopicLag, type GroupTopicRule, type LagCause, type LagView, type TopicPartitions, lagScope } from './findings';
import { type QuorumMemory, type QuorumView, detectQuorum } from './quorum';
import type { BrokerState, GroupPartitionLag, GroupState, KafkaSnapshot, PartitionState } from './snapshot';
import type { TimeSlices } from '../util/slices';

export interface DetectOptions {
  /**
   * ConsumerStalled: committed offset unchanged this long while the end offset moved past
   * it. Reported only where no delivery-lag breach already covers the group/topic.
   */
  readonly stallWindowMs: number;
  /**
   * PreferredLeaderImbalance: a broker not leading more than this fraction of the
   * partitions it is the preferred replica of (Kafka's leader.imbalance.per.broker.percentage
   * / 100, default 10 %).
   */
  readonly imbalanceRatio: number;
  /** CanaryDegraded: a probe failed, or its produce-to-consume latency exceeded this. */
  readonly canaryMaxLatencyMs: number;
  /** Used for a group/topic whose GroupState.rules has no entry (the observer should always set one). */
  readonly defaultLagRule: GroupTopicRule;
  /** ControllerVoterLagging: a KRaft controller voter last caught up with the quorum's leader longer ago than this. */
  readonly voterLagMs: number;
  /** ControllerQuorumLeaderless: only once the quorum has been without a leader this long. */
  readonly quorumLeaderlessGraceMs: number;
  /**
   * Slow-broker evidence from answer times (docs/design.md §4.3): a broker whose slowest
   * answer in a typical cycle of the window (BrokerState.answers.windowSlowestMs) takes at
   * least this long ...
   */
  readonly answerSlowFloorMs: number;
  /** ... and at least this many times the median of the other brokers' ... */
  readonly answerSlowFactor: number;
  /** ... judged only with this many cycles of answers in its window (and in each other broker's counted). */
  readonly answerMinCycles: number;
}

export const DEFAULT_DETECT_OPTIONS: DetectOptions = {
  // A minute: long enough that a consumer pausing between batches or rebalancing is not
  // "stalled", short enough to warn before a generous lag threshold pages.
  stallWindowMs: 60_000,
  imbalanceRatio: 0.1,
  // A healthy broker round-trips the canary in milliseconds; two seconds is a broker that
  // is slow enough to explain consumer lag.
  canaryMaxLatencyMs: 2_000,
  defaultLagRule: DEFAULT_LAG_RULE,
  // A healthy voter is caught up within a fetch (Kafka appends a record to the metadata log
  // every 500 ms even when idle); one that has not been for 5 s has missed more than two of
  // Kafka's own 2 s fetch timeouts and would not be elected.
  voterLagMs: 5_000,
  // Kafka elects a new controller within a second or two of losing one (its own election
  // timeout is 1 s); a quorum without a leader for 5 s is not an election in progress.
  quorumLeaderlessGraceMs: 5_000,
  // A healthy broker answers vigil's requests in milliseconds (a ListOffsets for thousands of
  // partitions in tens); half a second for the slowest answer of most cycles, ten times
  // what the other brokers take, is a broker holding its clients up — and well above any
  // jitter of a quiet cluster, where ten times a few milliseconds is still far below the floor.
  answerSlowFloorMs: 500,
  answerSlowFactor: 10,
  // three cycles of answers: one stalled cycle (of the broker, or of vigil's own event loop)
  // is not a slow broker on its own in a fresh window
  answerMinCycles: 3,
};

/** The options for a compiled config: the defaults, with lag.* as the fallback rule. */
export function detectOptionsFor(lag: VigilConfig['lag']): DetectOptions {
  return {
    ...DEFAULT_DETECT_OPTIONS,
    defaultLagRule: {
      thresholdMs: lag.thresholdMs, resolveBelowMs: lag.resolveBelowMs, resolveForMs: lag.resolveForMs, severity: lag.severity,
      ...((lag.warnAheadMs ?? 0) > 0 ? { warnAheadMs: lag.warnAheadMs } : {}),
    },
  };
}

/**
 * Leader of every partition, in one Int32Array: topic t's partition p is at
 * start.get(t) + p, for p < count.get(t). NO_LEADER (-1) = offline, ABSENT = a partition
 * number the metadata does not list.
 */
export interface LeaderTable {
  readonly start: ReadonlyMap<string, number>;
  readonly count: ReadonlyMap<string, number>;
  readonly leaders: Int32Array;
  /** at the same index: the partition's position in the snapshot's partition list (-1: absent) */
  readonly states: Int32Array;
}

/**
 * ConsumerStalled tracking, in one Float64Array. A group/topic's block starts at
 * at.get(scope) and holds n (its partition count), then n committed offsets last seen,
 * n times since which each has been unchanged, n end offsets at that time (NaN = not
 * tracked / unknown).
 */
export interface StallTable {
  readonly at: ReadonlyMap<string, number>;
  readonly values: Float64Array;
  /**
   * The table before this one's values, which only it was built from: the next detect may
   * take it (once) and write its values there instead of allocating ~2.5 MB outside the heap
   * at 10,000 groups every cycle. Taken means null: a second detect from the same memory
   * allocates, so no table anyone can still pass to detect is ever overwritten.
   */
  readonly spare?: { buffer: Float64Array | null };
}

/**
 * What detect keeps between cycles. Process-local: a new leader starts empty, so its
 * first cycle reports no LeaderChanged events and stall windows start over.
 */
export interface DetectMemory {
  readonly leaders: LeaderTable;
  /** broker id → wall ms since which it has been unreachable (when the observer does not say) */
  readonly brokerDownSinceMs: ReadonlyMap<number, number>;
  readonly stalls: StallTable;
  /** brokers bad now or within the last TROUBLE_MEMORY_MS, with what they touched when they went bad */
  readonly trouble: ReadonlyMap<number, BrokerTrouble>;
  /** the KRaft controller quorum (src/monitor/quorum.ts); null before it was first described */
  readonly quorum: QuorumMemory | null;
  /** groups whose every row was caught up last cycle, with what detect made of them (absent: none) */
  readonly caughtUp?: ReadonlyMap<string, CaughtUpGroup>;
}

/**
 * A group whose every row was caught up, with no error: it has no findings, and its lag
 * entries depend on the group's state alone. The observer hands an unchanged group's state
 * over as the same object (src/monitor/observe.ts), and detect then reuses these entries and
 * copies the group's stall blocks instead of walking its rows (docs/design.md §3.9).
 */
interface CaughtUpGroup {
  readonly state: GroupState;
  readonly topics: readonly { readonly scope: string; readonly topic: string; readonly rule: GroupTopicRule; readonly stallN: number; readonly lag: GroupTopicLag }[];
}

/**
 * A broker that is bad (unreachable, out of the metadata, canary-degraded, slow to answer) or was within
 * the last TROUBLE_MEMORY_MS: what it led, followed in sync and coordinated when it went
 * bad (and the cycle before, for leadership that had already moved), so that a lag it
 * caused is still put down to it after Kafka has moved leadership, the ISR or the
 * coordinator away (issue 7, "causes first").
 */
export interface BrokerTrouble {
  readonly lastBadMs: number;
  /** `${topic}\u0000${partition}` */
  readonly led: ReadonlySet<string>;
  readonly followed: ReadonlySet<string>;
  /** group ids */
  readonly coordinated: ReadonlySet<string>;
}

/** How long a broker that was bad still counts as the cause of a lag it touched. */
export const TROUBLE_MEMORY_MS = 60_000;

export function emptyDetectMemory(): DetectMemory {
  return {
    leaders: { start: new Map(), count: new Map(), leaders: new Int32Array(0), states: new Int32Array(0) },
    brokerDownSinceMs: new Map(),
    stalls: { at: new Map(), values: new Float64Array(0) },
    trouble: new Map(),
    quorum: null,
  };
}

export interface DetectResult {
  readonly findings: Finding[];
  readonly memory: DetectMemory;
  readonly lag: LagView;
  /** the controller quorum's voters this cycle, for metrics and the status; null when not described */
  readonly quorum: QuorumView | null;
}

/** Leader-table value of a partition the metadata does not list. */
const ABSENT = -2;
const NO_LEADER = -1;

const EMPTY_VIEW: LagView = { byScope: new Map(), unreadableGroups: new Set() };
const NO_PARTITIONS: readonly number[] = Object.freeze([]);

export function detect(snapshot: KafkaSnapshot, memory: DetectMemory, opts: DetectOptions = DEFAULT_DETECT_OPTIONS): DetectResult {
  const steps = detectSteps(snapshot, memory, opts);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * detect() with the event loop let through between slices of its walk over the groups (the
 * leader's settle: the commit stream's answers are folded in between; docs/design.md §3.9).
 * The same steps, the same result.
 */
export async function detectSliced(snapshot: KafkaSnapshot, memory: DetectMemory, opts: DetectOptions, slices: TimeSlices): Promise<DetectResult> {
  const steps = detectSteps(snapshot, memory, opts);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (slices.due()) await slices.next();
  }
}

/** Groups walked between two chances to let the event loop through. */
const GROUPS_PER_STEP = 128;

function* detectSteps(snapshot: KafkaSnapshot, memory: DetectMemory, opts: DetectOptions): Generator<void, DetectResult, void> {
  if (!snapshot.ok) {
    // Nothing is known this cycle: keep the memory as it was, so leader changes and stall
    // windows are measured across the outage instead of restarting after it.
    return { findings: [{ kind: 'KafkaUnreachable', error: snapshot.error }], memory, lag: EMPTY_VIEW, quorum: null };
  }
  const nowMs = snapshot.takenAtMs;
  const findings: Finding[] = [];

  // Brokers: unreachable (or dropped from the metadata), canary-degraded and (below) slow to answer.
  const brokerDownSinceMs = new Map<number, number>();
  const badBrokers = new Set<number>();
  for (const b of snapshot.brokers) {
    if (b.reachable && b.inMetadata) continue;
    const sinceMs = b.unreachableSinceMs ?? memory.brokerDownSinceMs.get(b.nodeId) ?? nowMs;
    brokerDownSinceMs.set(b.nodeId, sinceMs);
    badBrokers.add(b.nodeId);
    const error = b.error ?? (b.inMetadata ? undefined : 'not in the cluster metadata (fenced by the controller)');
    findings.push({
      kind: 'BrokerUnreachable', broker: b.nodeId, address: `${b.host}:${b.port}`, sinceMs,
      ...(error === undefined ? {} : { error }),
    });
  }
  const canaryFindings: Finding[] = [];
  if (snapshot.canary !== null) {
    for (const c of snapshot.canary) {
      const slow = c.latencyMs !== null && c.latencyMs > opts.canaryMaxLatencyMs;
      if (c.ok && !slow) continue;
      // the cause test counts it either way; the alert would only repeat BrokerUnreachable
      const alreadyDown = badBrokers.has(c.broker);
      badBrokers.add(c.broker);
      if (!alreadyDown) {
        canaryFindings.push({ kind: 'CanaryDegraded', broker: c.broker, latencyMs: c.latencyMs, ...(c.error === undefined ? {} : { error: c.error }) });
      }
    }
  }

  // Slow answers (docs/design.md §4.3): evidence like the canary's, named only as a lag cause
  const slowAnswers = slowAnswerers(snapshot.brokers, opts);
  for (const b of slowAnswers.keys()) badBrokers.add(b);

  const trouble = updateTrouble(memory.trouble, badBrokers, snapshot, memory.leaders, nowMs);
  const leaders = scanPartitions(snapshot.partitions, memory.leaders, snapshot.brokers, badBrokers, opts, findings);
  const { lag, stalls, caughtUp } = yield* scanGroups(snapshot, leaders, badBrokers, slowAnswers, trouble, memory.stalls, memory.caughtUp, opts, findings);
  for (const f of canaryFindings) findings.push(f);
  if (snapshot.offsetsStreamDenied !== undefined) findings.push({ kind: 'OffsetsStreamDenied', reason: snapshot.offsetsStreamDenied });
  const quorum = detectQuorum(snapshot.quorum, memory.quorum, nowMs, { voterLagMs: opts.voterLagMs, leaderlessGraceMs: opts.quorumLeaderlessGraceMs }, findings);
  return { findings, memory: { leaders, brokerDownSinceMs, stalls, trouble, quorum: quorum.memory, caughtUp }, lag, quorum: quorum.view };
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Brokers much slower to answer than the others (docs/design.md §4.3 "answer times"), with
 * their figure and the others' median: reachable brokers in the metadata whose window holds
 * `answerMinCycles` cycles of answers are compared, each with the median of the other
 * such brokers' figures (windowSlowestMs); slow at `answerSlowFactor` times that and at least
 * `answerSlowFloorMs`. With a single broker to judge there is nothing to compare it with:
 * answer times never name it (its canary and its reachability still can). With two, each
 * is compared with the other. When most brokers are slow the others' median is slow too,
 * and none stands out: that is the cluster, not one broker.
 */
export function slowAnswerers(brokers: readonly BrokerState[], opts: Pick<DetectOptions, 'answerSlowFloorMs' | 'answerSlowFactor' | 'answerMinCycles'>): Map<number, SlowAnswers> {
  const out = new Map<number, SlowAnswers>();
  const judged: { broker: number; ms: number }[] = [];
  for (const b of brokers) {
    const a = b.answers;
    if (!b.reachable || !b.inMetadata || a === undefined || a.windowSlowestMs === null || a.windowCycles < opts.answerMinCycles) continue;
    judged.push({ broker: b.nodeId, ms: a.windowSlowestMs });
  }
  if (judged.length < 2) return out;
  for (const j of judged) {
    if (j.ms < opts.answerSlowFloorMs) continue;
    const othersMs = median(judged.filter((o) => o !== j).map((o) => o.ms));
    if (j.ms >= opts.answerSlowFactor * othersMs) out.set(j.broker, { ms: j.ms, othersMs });
  }
  return out;
}

/** A broker's answer times as slow-broker evidence: its figure (windowSlowestMs), and the other brokers' median of theirs (ms). */
export interface SlowAnswers {
  readonly ms: number;
  readonly othersMs: number;
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? (values[mid] as number) : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
}

/**
 * This cycle's trouble memory: a broker newly bad gets what it touches now (and the
 * partitions it led in the previous cycle's table); one bad again keeps its record with
 * lastBadMs moved on; one healthy for longer than TROUBLE_MEMORY_MS is forgotten. Costs a
 * pass over the partitions only in the cycle a broker goes bad.
 */
function updateTrouble(
  previous: ReadonlyMap<number, BrokerTrouble>,
  badBrokers: ReadonlySet<number>,
  snapshot: KafkaSnapshot & { ok: true },
  prevLeaders: LeaderTable,
  nowMs: number,
): ReadonlyMap<number, BrokerTrouble> {
  if (badBrokers.size === 0 && previous.size === 0) return previous;
  const next = new Map<number, BrokerTrouble>();
  for (const [b, t] of previous) if (!badBrokers.has(b) && nowMs - t.lastBadMs <= TROUBLE_MEMORY_MS) next.set(b, t);
  const fresh = new Map<number, { led: Set<string>; followed: Set<string>; coordinated: Set<string> }>();
  for (const b of badBrokers) {
    const t = previous.get(b);
    if (t !== undefined) next.set(b, { ...t, lastBadMs: nowMs });
    else fresh.set(b, { led: new Set(), followed: new Set(), coordinated: new Set() });
  }
  if (fresh.size > 0) {
    for (const p of snapshot.partitions) {
      const byLeader = fresh.get(p.leader);
      if (byLeader !== undefined) byLeader.led.add(partitionKey(p.topic, p.partition));
      for (const r of p.isr) {
        if (r === p.leader) continue;
        fresh.get(r)?.followed.add(partitionKey(p.topic, p.partition));
      }
    }
    for (const [topic, start] of prevLeaders.start) {
      const n = prevLeaders.count.get(topic) ?? 0;
      for (let i = 0; i < n; i++) fresh.get(prevLeaders.leaders[start + i] as number)?.led.add(partitionKey(topic, i));
    }
    for (const g of snapshot.groups) if (g.coordinator !== undefined) fresh.get(g.coordinator)?.coordinated.add(g.group);
    for (const [b, touched] of fresh) next.set(b, { lastBadMs: nowMs, ...touched });
  }
  return next;
}

/** Per-topic lists of partition numbers, created on first use. */
class TopicLists {
  readonly byTopic = new Map<string, number[]>();
  add(topic: string, partition: number): void {
    const list = this.byTopic.get(topic);
    if (list === undefined) this.byTopic.set(topic, [partition]);
    else list.push(partition);
  }
  topics(): TopicPartitions[] {
    return [...this.byTopic].map(([topic, partitions]) => ({ topic, partitions }));
  }
}

/** TopicLists per broker id. */
class BrokerTopicLists {
  readonly byBroker = new Map<number, TopicLists>();
  add(broker: number, topic: string, partition: number): void {
    let lists = this.byBroker.get(broker);
    if (lists === undefined) this.byBroker.set(broker, (lists = new TopicLists()));
    lists.add(topic, partition);
  }
}

function sortedByKey<V>(m: ReadonlyMap<number, V>): [number, V][] {
  return [...m].sort((a, b) => a[0] - b[0]);
}

/** Partition findings, LeaderChanged events against the previous table, and this cycle's table. */
function scanPartitions(
  partitions: readonly PartitionState[],
  previous: LeaderTable,
  brokers: readonly BrokerState[],
  badBrokers: ReadonlySet<number>,
  opts: DetectOptions,
  findings: Finding[],
): LeaderTable {
  // pass 1: partitions per topic (max partition + 1). Snapshots list a topic's partitions
  // together, so the maps are touched about once per topic; any order still works.
  const count = new Map<string, number>();
  let topic = '\u0000';
  let n = 0;
  for (const p of partitions) {
    if (p.topic !== topic) {
      topic = p.topic;
      n = count.get(topic) ?? 0;
    }
    if (p.partition >= n) {
      n = p.partition + 1;
      count.set(topic, n);
    }
  }
  const start = new Map<string, number>();
  let total = 0;
  for (const [t, c] of count) {
    start.set(t, total);
    total += c;
  }
  const leaders = new Int32Array(total).fill(ABSENT);
  const states = new Int32Array(total).fill(-1);

  // pass 2: fill the table and find
  const offline = new TopicLists();
  const underReplicated = new BrokerTopicLists();
  const underMinIsr = new BrokerTopicLists();
  const changes: Finding[] = [];
  // broker id → [partitions it is the preferred replica of, of those the ones it does not lead]
  const preferred = new Map<number, [number, number]>();
  const prevLeaders = previous.leaders;
  topic = '\u0000';
  let base = 0;
  let prevBase = -1;
  let prevCount = 0;
  for (let i = 0; i < partitions.length; i++) {
    const p = partitions[i] as PartitionState;
    if (p.topic !== topic) {
      topic = p.topic;
      base = start.get(topic) as number;
      prevBase = previous.start.get(topic) ?? -1;
      prevCount = previous.count.get(topic) ?? 0;
    }
    const leader = p.leader;
    leaders[base + p.partition] = leader;
    states[base + p.partition] = i;
    if (p.partition < prevCount) {
      const before = prevLeaders[prevBase + p.partition] as number;
      if (before !== ABSENT && before !== leader) {
        changes.push({ kind: 'LeaderChanged', topic, partition: p.partition, from: before, to: leader });
      }
    }
    if (leader === NO_LEADER) {
      // Offline is the whole story: an offline partition is not also paged as
      // under-replicated or under min ISR.
      offline.add(topic, p.partition);
      continue;
    }
    if (p.isr.length < p.replicas.length) {
      // grouped by the replica missing from the ISR: that broker is what needs looking at
      const belowMin = p.isr.length < p.minIsr;
      for (const r of p.replicas) {
        if (p.isr.includes(r)) continue;
        underReplicated.add(r, topic, p.partition);
        if (belowMin) underMinIsr.add(r, topic, p.partition);
      }
    }
    const pref = p.replicas[0];
    if (pref !== undefined) {
      let counts = preferred.get(pref);
      if (counts === undefined) preferred.set(pref, (counts = [0, 0]));
      counts[0]++;
      if (leader !== pref) counts[1]++;
    }
  }

  if (offline.byTopic.size > 0) findings.push({ kind: 'PartitionOffline', topics: offline.topics() });
  for (const [broker, lists] of sortedByKey(underReplicated.byBroker)) findings.push({ kind: 'PartitionUnderReplicated', broker, topics: lists.topics() });
  for (const [broker, lists] of sortedByKey(underMinIsr.byBroker)) findings.push({ kind: 'PartitionUnderMinIsr', broker, topics: lists.topics() });

  // Imbalance only for live brokers: a down broker leads nothing, and BrokerUnreachable says so.
  const live = new Set<number>();
  for (const b of brokers) if (!badBrokers.has(b.nodeId)) live.add(b.nodeId);
  for (const [broker, [all, notLed]] of preferred) {
    if (!live.has(broker) || all === 0) continue;
    if (notLed / all > opts.imbalanceRatio) findings.push({ kind: 'PreferredLeaderImbalance', broker, partitions: notLed });
  }
  for (const c of changes) findings.push(c);
  return { start, count, leaders, states };
}

/** Accumulates one group/topic over its partition rows. A class, so rows allocate nothing. */
class GroupTopicAcc {
  breaching: number[] | null = null;
  maxBreachSeconds = -1;
  maxSeconds = -1;
  anyAbove = false;
  anyUnknown = false;
  offline: number[] | null = null;
  stalled: number[] | null = null;
  maxStalledMs = 0;
  /** the early warning (only with rule.warnAheadMs): partitions within it, the soonest instant, the hysteresis input */
  ahead: number[] | null = null;
  aheadAtMs = Number.POSITIVE_INFINITY;
  aheadExact = false;
  warnNear = false;
  warnUnknown = false;

  constructor(
    readonly scope: string,
    readonly topic: string,
    readonly rule: GroupTopicRule,
    /** the topic's slice of the leader table (leaderCount 0: not in the metadata) */
    readonly leaderBase: number,
    readonly leaderCount: number,
    /** this cycle's stall block (n 0: not tracked) and the previous cycle's (-1: none) */
    readonly stallAt: number,
    readonly stallN: number,
    readonly prevAt: number,
    readonly prevN: number,
  ) {}
}

/**
 * One row behind its end, for the early warning of docs/design.md §3.8: within warnAhead of
 * its predicted breach (and not in breach) it is warned about; the hysteresis input is
 * "near" up to warnAhead + (threshold − resolveBelow) ahead, the lag rule's own band, so a
 * group hovering at the warn line keeps one warning open instead of paging at each crossing.
 * A row in breach is near; a row whose exact test or prediction is unknown is unknown (a row
 * with only control records behind — seconds 0, no instant — is clear).
 */
function aheadOf(acc: GroupTopicAcc, row: GroupPartitionLag, nowMs: number): void {
  const rule = acc.rule;
  if (row.breach === true) {
    acc.warnNear = true;
    return;
  }
  if (row.breach === null || row.lagSeconds === null) {
    acc.warnUnknown = true;
    return;
  }
  if (row.breachAtMs === undefined) return;
  const inMs = row.breachAtMs - nowMs;
  const warnAheadMs = rule.warnAheadMs as number;
  if (inMs <= warnAheadMs) {
    (acc.ahead ??= []).push(row.partition);
    if (row.breachAtMs < acc.aheadAtMs) {
      acc.aheadAtMs = row.breachAtMs;
      acc.aheadExact = row.breachAtExact === true;
    }
  }
  if (inMs <= warnAheadMs + (rule.thresholdMs - rule.resolveBelowMs)) acc.warnNear = true;
}

/** Ranks of a cause broker's touch on a tie: leading, then coordinating (it stalls the whole group), then following. */
const TOUCH_RANK = { leader: 0, coordinator: 1, follower: 2 } as const;

/**
 * The broker in trouble that touches most of a group/topic's breaching partitions — as
 * their leader or in-sync follower now (while it is bad), as their leader or in-sync
 * follower when it went bad, or as the group's coordinator then or now — or null when
 * none does. Ties: bad now over bad within the last minute, leader over coordinator over
 * follower, then the lowest id.
 */
function troubleCause(
  a: GroupTopicAcc,
  group: string,
  coordinator: number | undefined,
  badBrokers: ReadonlySet<number>,
  slowAnswers: ReadonlyMap<number, SlowAnswers>,
  trouble: ReadonlyMap<number, BrokerTrouble>,
  leaders: Int32Array,
  isrOf: (acc: GroupTopicAcc, partition: number) => readonly number[],
): { broker: number; partitions: readonly number[]; touch: CauseTouch } | null {
  const breaching = a.breaching as number[];
  type Candidate = { broker: number; partitions: readonly number[]; touch: CauseTouch };
  let best: Candidate | null = null;
  // more partitions touched, then bad now over bad within the last minute, then the role, then the lowest id
  const freshness = (c: Candidate) => (badBrokers.has(c.broker) ? (c.touch.now ? 0 : 1) : 2);
  const before = (x: Candidate, y: Candidate) =>
    y.partitions.length - x.partitions.length || freshness(x) - freshness(y) || TOUCH_RANK[x.touch.role] - TOUCH_RANK[y.touch.role] || x.broker - y.broker;
  const better = (broker: number, partitions: readonly number[], touch: CauseTouch): void => {
    if (partitions.length === 0) return;
    const candidate = { broker, partitions, touch };
    if (best === null || before(candidate, best) < 0) best = candidate;
  };
  for (const [broker, t] of trouble) {
    const bad = badBrokers.has(broker);
    // the broker's own state: healthy again since, or slow to answer now (the evidence for the page)
    const slow = slowAnswers.get(broker);
    const state = bad ? (slow === undefined ? {} : { answers: { ms: slow.ms, othersMs: slow.othersMs } }) : { healthySinceMs: t.lastBadMs };
    const ledNow: number[] = [];
    const followsNow: number[] = [];
    const ledThen: number[] = [];
    const followedThen: number[] = [];
    for (const p of breaching) {
      const leader = p < a.leaderCount ? (leaders[a.leaderBase + p] as number) : ABSENT;
      const key = partitionKey(a.topic, p);
      if (bad && leader === broker) ledNow.push(p);
      else if (bad && isrOf(a, p).includes(broker)) followsNow.push(p);
      else if (t.led.has(key)) ledThen.push(p);
      else if (t.followed.has(key)) followedThen.push(p);
    }
    better(broker, ledNow, { role: 'leader', now: true, ...state });
    better(broker, followsNow, { role: 'follower', now: true, ...state });
    better(broker, ledThen, { role: 'leader', now: false, ...state });
    better(broker, followedThen, { role: 'follower', now: false, ...state });
    // a coordinator that cannot serve stalls the whole group: every breaching partition
    if (bad && coordinator === broker) better(broker, breaching, { role: 'coordinator', now: true, ...state });
    else if (t.coordinated.has(group)) better(broker, breaching, { role: 'coordinator', now: false, ...state });
  }
  return best;
}

function* scanGroups(
  snapshot: KafkaSnapshot & { ok: true },
  leaderTable: LeaderTable,
  badBrokers: ReadonlySet<number>,
  slowAnswers: ReadonlyMap<number, SlowAnswers>,
  trouble: ReadonlyMap<number, BrokerTrouble>,
  prevStalls: StallTable,
  prevCaughtUp: ReadonlyMap<string, CaughtUpGroup> | undefined,
  opts: DetectOptions,
  findings: Finding[],
): Generator<void, { lag: LagView; stalls: StallTable; caughtUp: ReadonlyMap<string, CaughtUpGroup> }, void> {
  const nowMs = snapshot.takenAtMs;
  const leaders = leaderTable.leaders;
  const prev = prevStalls.values;

  // Stall blocks for every group/topic with a rule, sized by the topic's partition count.
  // (Rows beyond the metadata's count — a partition increase the metadata has not shown
  // yet — are not stall-tracked until it does.)
  let total = 0;
  for (const g of snapshot.groups) for (const t of g.rules.keys()) total += 1 + 3 * (leaderTable.count.get(t) ?? 0);
  const spare = prevStalls.spare;
  let values: Float64Array;
  if (spare !== undefined && spare.buffer !== null && spare.buffer.length === total) {
    values = spare.buffer.fill(NaN);
    spare.buffer = null;
  } else {
    values = new Float64Array(total).fill(NaN);
  }
  const at = new Map<string, number>();
  let cursor = 0;

  const byScope = new Map<string, GroupTopicLag>();
  const unreadableGroups = new Set<string>();
  // the ISR of a breaching partition, through the leader table's index into the snapshot
  const isrOf = (acc: GroupTopicAcc, partition: number): readonly number[] => {
    const i = partition < acc.leaderCount ? (leaderTable.states[acc.leaderBase + partition] as number) : -1;
    return i < 0 ? NO_PARTITIONS : (snapshot.partitions[i] as PartitionState).isr;
  };
  const lagFindings: Finding[] = [];
  const stallFindings: Finding[] = [];
  const aheadFindings: Finding[] = [];

  const caughtUp = new Map<string, CaughtUpGroup>();
  // An unchanged caught-up group (the same state object as last cycle): the same lag
  // entries, and its stall blocks as they were (every committed offset the same, so every
  // "unchanged since" and end then carries over). Only when each block is where last
  // cycle's detect wrote it, with the same partition count and rule.
  const reuse = (g: GroupState, c: CaughtUpGroup): boolean => {
    for (const t of c.topics) {
      const prevAt = prevStalls.at.get(t.scope);
      if (prevAt === undefined || prev[prevAt] !== t.stallN || (leaderTable.count.get(t.topic) ?? 0) !== t.stallN || (g.rules.get(t.topic) ?? opts.defaultLagRule) !== t.rule) return false;
    }
    for (const t of c.topics) {
      const prevAt = prevStalls.at.get(t.scope) as number;
      const size = 1 + 3 * t.stallN;
      for (let i = 0; i < size; i++) values[cursor + i] = prev[prevAt + i] as number;
      at.set(t.scope, cursor);
      cursor += size;
      byScope.set(t.scope, t.lag);
    }
    caughtUp.set(g.group, c);
    return true;
  };

  let walked = 0;
  for (const g of snapshot.groups) {
    if (++walked % GROUPS_PER_STEP === 0) yield;
    const last = prevCaughtUp?.get(g.group);
    if (last !== undefined && last.state === g && reuse(g, last)) continue;
    const accs = new Map<string, GroupTopicAcc>();
    const accFor = (topic: string): GroupTopicAcc => {
      let acc = accs.get(topic);
      if (acc === undefined) {
        const scope = lagScope(g.group, topic);
        const rule = g.rules.get(topic);
        const leaderCount = leaderTable.count.get(topic) ?? 0;
        let stallAt = -1;
        let stallN = 0;
        if (rule !== undefined) {
          stallAt = cursor;
          stallN = leaderCount;
          values[cursor] = stallN;
          at.set(scope, cursor);
          cursor += 1 + 3 * stallN;
        }
        const prevAt = prevStalls.at.get(scope) ?? -1;
        acc = new GroupTopicAcc(
          scope, topic, rule ?? opts.defaultLagRule, leaderTable.start.get(topic) ?? 0, leaderCount,
          stallAt, stallN, prevAt, prevAt >= 0 ? (prev[prevAt] as number) : 0,
        );
        accs.set(topic, acc);
      }
      return acc;
    };
    if (g.error !== undefined) {
      unreadableGroups.add(g.group);
      // every topic the group has a rule for is unknown this cycle, even without rows
      for (const topic of g.rules.keys()) accFor(topic).anyUnknown = true;
    }

    let acc: GroupTopicAcc | undefined;
    let allCaughtUp = g.error === undefined;
    for (const row of g.partitions) {
      if (acc === undefined || acc.topic !== row.topic) acc = accFor(row.topic);
      const p = row.partition;
      const end = row.end;
      const committed = row.committed;
      const caughtUp = end !== null && committed >= end;
      if (!caughtUp) allCaughtUp = false;
      if (row.lagSeconds !== null && row.lagSeconds > acc.maxSeconds) acc.maxSeconds = row.lagSeconds;

      // hysteresis input: the exact tests only, never the estimated seconds (docs/design.md §3)
      if (caughtUp) {
        // below everything
      } else if (row.breach === true || row.aboveResolveBelow === true) acc.anyAbove = true;
      else if (row.aboveResolveBelow !== false) acc.anyUnknown = true;

      if (acc.rule.warnAheadMs !== undefined && acc.rule.warnAheadMs > 0 && !caughtUp) aheadOf(acc, row, nowMs);

      if (row.breach === true && !caughtUp) {
        (acc.breaching ??= []).push(p);
        if (row.lagSeconds !== null && row.lagSeconds > acc.maxBreachSeconds) acc.maxBreachSeconds = row.lagSeconds;
        const leader = p < acc.leaderCount ? (leaders[acc.leaderBase + p] as number) : ABSENT;
        if (leader === NO_LEADER) (acc.offline ??= []).push(p);
      }

      // stall tracking: committed frozen while the end moved past where it stood then
      if (p >= acc.stallN) continue;
      let sinceMs = nowMs;
      let endAtSince = end === null ? NaN : end;
      if (p < acc.prevN && prev[acc.prevAt + 1 + p] === committed) {
        sinceMs = prev[acc.prevAt + 1 + acc.prevN + p] as number;
        const before = prev[acc.prevAt + 1 + 2 * acc.prevN + p] as number;
        if (!Number.isNaN(before)) endAtSince = before;
      }
      const n = acc.stallN;
      values[acc.stallAt + 1 + p] = committed;
      values[acc.stallAt + 1 + n + p] = sinceMs;
      values[acc.stallAt + 1 + 2 * n + p] = endAtSince;
      if (end !== null && committed < end && end > endAtSince && nowMs - sinceMs >= opts.stallWindowMs) {
        (acc.stalled ??= []).push(p);
        if (nowMs - sinceMs > acc.maxStalledMs) acc.maxStalledMs = nowMs - sinceMs;
      }
    }

    for (const a of accs.values()) {
      let cause: LagCause = 'consumer';
      let causePartitions: readonly number[] = NO_PARTITIONS;
      let causeTouch: CauseTouch | undefined;
      if (a.offline !== null) {
        cause = 'partition-offline';
        causePartitions = a.offline;
      } else if (a.breaching !== null && trouble.size > 0) {
        const best = troubleCause(a, g.group, g.coordinator, badBrokers, slowAnswers, trouble, leaders, isrOf);
        if (best !== null) {
          cause = `broker:${best.broker}`;
          causePartitions = best.partitions;
          causeTouch = best.touch;
        }
      }
      const warns = a.rule.warnAheadMs !== undefined && a.rule.warnAheadMs > 0;
      byScope.set(a.scope, {
        group: g.group,
        topic: a.topic,
        rule: a.rule,
        clear: a.anyAbove ? false : a.anyUnknown ? null : true,
        lagSeconds: a.maxSeconds >= 0 ? a.maxSeconds : null,
        ...(warns ? { warnClear: a.warnNear ? false : a.warnUnknown ? null : true } : {}),
        causePartitions,
        ...(causeTouch?.role === 'coordinator' ? { causeIsCoordinator: true } : {}),
        ...(causeTouch ? { causeTouch } : {}),
      });
      if (a.breaching !== null) {
        lagFindings.push({
          kind: 'ConsumerDeliveryLag', group: g.group, topic: a.topic, partitions: a.breaching,
          lagSeconds: a.maxBreachSeconds >= 0 ? a.maxBreachSeconds : null, thresholdMs: a.rule.thresholdMs, cause,
        });
      } else if (a.stalled !== null) {
        // a breach already pages for this group/topic (with cause consumer); a stall alert
        // beside it would be a second page for one incident
        stallFindings.push({ kind: 'ConsumerStalled', group: g.group, topic: a.topic, partitions: a.stalled, stalledForMs: a.maxStalledMs });
      }
      // the early warning only while nothing is in breach: a breach is the lag alert's business
      if (a.breaching === null && a.ahead !== null) {
        aheadFindings.push({
          kind: 'ConsumerBreachAhead', group: g.group, topic: a.topic, partitions: a.ahead, breachAtMs: a.aheadAtMs, exact: a.aheadExact,
          thresholdMs: a.rule.thresholdMs, warnAheadMs: a.rule.warnAheadMs as number,
        });
      }
    }
    // every row caught up (so no finding above): kept for reuse while the group stays the same
    // (not a group with a topic it has no rule for: that topic has no stall block)
    if (allCaughtUp) {
      const topics: CaughtUpGroup['topics'][number][] = [];
      for (const a of accs.values()) {
        if (a.stallAt < 0) {
          allCaughtUp = false;
          break;
        }
        topics.push({ scope: a.scope, topic: a.topic, rule: a.rule, stallN: a.stallN, lag: byScope.get(a.scope) as GroupTopicLag });
      }
      if (allCaughtUp) caughtUp.set(g.group, { state: g, topics });
    }
  }
  for (const f of lagFindings) findings.push(f);
  for (const f of stallFindings) findings.push(f);
  for (const f of aheadFindings) findings.push(f);
  return { lag: { byScope, unreadableGroups }, stalls: { at, values, spare: { buffer: prev.length > 0 ? prev : null } }, caughtUp };
}
