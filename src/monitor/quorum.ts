/**
 * The KRaft controller quorum part of detect (docs/design.md §4.7): the quorum as its leader
 * described it this cycle (DescribeQuorum, src/kafka/describe-quorum.ts) plus what was
 * remembered from earlier cycles → ControllerQuorumLeaderless, ControllerVoterLagging and
 * ControllerQuorumAtRisk, and each voter's lag for the metrics and the status. Pure, and
 * O(voters): a handful of objects a cycle.
 *
 * A voter's lag is measured on the quorum leader's clock, not vigil's: the leader reports
 * its own caught-up time as the moment it answered, so "leader's time − the voter's last
 * caught-up time" needs no clock agreement between vigil and Kafka. A voter the leader has
 * no caught-up time for (it has not fetched since this leader's epoch began — e.g. the old
 * leader, killed) lags since vigil first saw that epoch.
 *
 * While the quorum cannot be described, the voter findings of the last description stand
 * (unknown data neither fires nor resolves an alert), and a quorum that does not let vigil
 * watch it (ZooKeeper mode, no DESCRIBE on the cluster) gives no finding at all.
 */
import type { ControllerQuorum, QuorumReplica } from '../kafka/types';
import type { Finding } from './findings';

/** What the quorum part of detect keeps between cycles; null before the first description. */
export interface QuorumMemory {
  /** the leader and epoch last described */
  readonly leaderId: number | null;
  readonly epoch: number;
  /** wall ms at which vigil first saw that epoch */
  readonly epochSinceMs: number;
  /** wall ms since which no leader has been seen; null while one leads */
  readonly leaderlessSinceMs: number | null;
  /** lagging voters: the caught-up time the leader reported for them, and since when they lag (vigil's clock) */
  readonly lagging: ReadonlyMap<number, { readonly caughtUpMs: number | null; readonly sinceMs: number }>;
  /** the voter findings of the last description, held while the quorum cannot be described */
  readonly held: readonly Finding[];
}

/** One voter as the metrics and the status show it. */
export interface VoterLag {
  readonly nodeId: number;
  /** records behind the leader's log end; null when either end is unknown */
  readonly lagRecords: number | null;
  /** how long since it was last caught up, on the leader's clock (0 for the leader) */
  readonly lagMs: number;
  readonly caughtUp: boolean;
}

/** The quorum this cycle, when its leader described it. */
export interface QuorumView {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** by node id */
  readonly voters: readonly VoterLag[];
  /** voters caught up, the leader included */
  readonly caughtUp: number;
}

export interface QuorumResult {
  readonly memory: QuorumMemory | null;
  /** null when the quorum was not described with a leader this cycle */
  readonly view: QuorumView | null;
}

/** Voters needed for a decision: more than half. */
export function majorityOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export interface QuorumDetectOptions {
  /** a voter whose last caught-up time is older than this is lagging */
  readonly voterLagMs: number;
  /** ControllerQuorumLeaderless only after this long without a leader: an election is not an outage */
  readonly leaderlessGraceMs: number;
}

/** Findings of the controller quorum, pushed onto `findings`. */
export function detectQuorum(quorum: ControllerQuorum, memory: QuorumMemory | null, nowMs: number, opts: QuorumDetectOptions, findings: Finding[]): QuorumResult {
  const { voterLagMs } = opts;
  if (quorum.state === 'unobservable') {
    // Not watchable: nothing to say. What was found before stands until it can be seen again.
    if (memory !== null) for (const f of memory.held) findings.push(f);
    return { memory, view: null };
  }
  if (quorum.state === 'unanswered' || quorum.leaderId === null) {
    const sinceMs = memory?.leaderlessSinceMs ?? nowMs;
    if (nowMs - sinceMs >= opts.leaderlessGraceMs) {
      findings.push({
        kind: 'ControllerQuorumLeaderless',
        sinceMs,
        ...(quorum.state === 'unanswered' ? { error: quorum.error } : {}),
        ...(memory !== null && memory.leaderId !== null ? { lastLeaderId: memory.leaderId, lastEpoch: memory.epoch } : {}),
      });
    }
    if (memory !== null) for (const f of memory.held) findings.push(f);
    const next: QuorumMemory = memory === null
      ? { leaderId: null, epoch: -1, epochSinceMs: nowMs, leaderlessSinceMs: sinceMs, lagging: new Map(), held: [] }
      : { ...memory, leaderlessSinceMs: sinceMs };
    return { memory: next, view: null };
  }

  const leaderId = quorum.leaderId;
  const sameEpoch = memory !== null && memory.epoch === quorum.leaderEpoch && memory.leaderId === leaderId;
  const epochSinceMs = sameEpoch ? memory.epochSinceMs : nowMs;
  const leader = quorum.voters.find((v) => v.nodeId === leaderId);
  // the leader's clock at its answer (it reports itself caught up then); vigil's only if absent
  const leaderNowMs = leader?.lastCaughtUpMs ?? leader?.lastFetchMs ?? nowMs;
  const leaderEnd = leader?.logEndOffset ?? quorum.highWatermark;

  const voters: VoterLag[] = [];
  const lagging = new Map<number, { caughtUpMs: number | null; sinceMs: number }>();
  const held: Finding[] = [];
  let caughtUp = 0;
  for (const v of quorum.voters) {
    const lagMs = v.nodeId === leaderId ? 0 : voterLagMsOf(v, leaderNowMs, nowMs - epochSinceMs);
    const lagRecords = leaderEnd === null || v.logEndOffset === null ? null : Math.max(0, leaderEnd - v.logEndOffset);
    const ok = lagMs <= voterLagMs;
    voters.push({ nodeId: v.nodeId, lagRecords, lagMs, caughtUp: ok });
    if (ok) {
      caughtUp++;
      continue;
    }
    const before = memory?.lagging.get(v.nodeId);
    // fixed while the leader reports the same caught-up time, so the alert's record does not change every cycle
    const sinceMs = before !== undefined && before.caughtUpMs === v.lastCaughtUpMs ? before.sinceMs : nowMs - lagMs;
    lagging.set(v.nodeId, { caughtUpMs: v.lastCaughtUpMs, sinceMs });
    held.push({ kind: 'ControllerVoterLagging', voter: v.nodeId, leaderId, sinceMs, lagRecords, thresholdMs: voterLagMs });
  }
  const n = quorum.voters.length;
  if (caughtUp < n && caughtUp <= majorityOf(n)) {
    held.push({ kind: 'ControllerQuorumAtRisk', voters: n, caughtUp, lagging: [...lagging.keys()] });
  }
  for (const f of held) findings.push(f);
  return {
    memory: { leaderId, epoch: quorum.leaderEpoch, epochSinceMs, leaderlessSinceMs: null, lagging, held },
    view: { leaderId, leaderEpoch: quorum.leaderEpoch, voters, caughtUp },
  };
}

/**
 * How long since a follower voter was last caught up: on the leader's clock when the leader
 * knows its caught-up time, else for as long as vigil has seen this epoch.
 */
function voterLagMsOf(v: QuorumReplica, leaderNowMs: number, epochSeenMs: number): number {
  return v.lastCaughtUpMs === null ? Math.max(0, epochSeenMs) : Math.max(0, leaderNowMs - v.lastCaughtUpMs);
}

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * `controllerQuorum` in the `kafka` object of /api/v1/status: `observed` (leader, epoch,
 * high watermark, voters with their lag, observers), `leaderless` (with `error` when the
 * quorum could not be described) or `not-observable` (`cause` not-kraft | version-unsupported | not-authorized,
 * and the reason in words). Times are the quorum leader's clock, as ISO strings.
 */
export function quorumStatus(quorum: ControllerQuorum, view: QuorumView | null): Record<string, unknown> {
  if (quorum.state === 'unobservable') return { state: 'not-observable', cause: quorum.cause, reason: quorum.reason };
  if (quorum.state === 'unanswered') return { state: 'leaderless', error: quorum.error };
  if (quorum.leaderId === null || view === null) return { state: 'leaderless', leaderEpoch: quorum.leaderEpoch };
  const lag = new Map(view.voters.map((v) => [v.nodeId, v]));
  const replica = (r: QuorumReplica) => ({ nodeId: r.nodeId, logEndOffset: r.logEndOffset, lastFetch: isoOrNull(r.lastFetchMs), lastCaughtUp: isoOrNull(r.lastCaughtUpMs) });
  return {
    state: 'observed',
    leaderId: quorum.leaderId,
    leaderEpoch: quorum.leaderEpoch,
    highWatermark: quorum.highWatermark,
    votersCaughtUp: view.caughtUp,
    voters: quorum.voters.map((r) => {
      const v = lag.get(r.nodeId);
      return { ...replica(r), lagRecords: v?.lagRecords ?? null, lagSeconds: v === undefined ? null : Math.round(v.lagMs / 100) / 10, caughtUp: v?.caughtUp ?? false };
    }),
    observers: quorum.observers.map(replica),
  };
}
