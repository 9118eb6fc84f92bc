/**
 * Election timing and the lease margin (docs/design.md §2 "check-quorum and lease").
 *
 * Notation: T = electionTimeoutMs, H = heartbeatIntervalMs, L = leaseMs, ρ = maxClockDriftRatio.
 * Every node's monotonic clock runs at a rate within [1 − ρ, 1 + ρ] of real time.
 *
 * Why the lease is safe. A leader's lease starts at the send time s of the newest heartbeat
 * that a majority (the leader included) has acknowledged, and ends at s + L on the
 * leader's clock — at most L / (1 − ρ) real time after s. Each acknowledging follower
 * received that heartbeat no earlier than s and then refuses every (pre-)vote for T on
 * its own clock — at least T / (1 + ρ) real time. A new leader needs the votes of a
 * majority, which includes one of those followers (or the old leader, which refuses votes
 * while it leads), so no new leader exists before s + T / (1 + ρ). Hence
 *
 *     L ≤ T · (1 − ρ) / (1 + ρ)      (the lease ends before any follower can vote)
 *
 * The margin holds only for elections that wait out the followers' memory of the leader:
 * timeouts and pre-votes. Two paths skip it by design: a leadership transfer (the old
 * leader gave up its lease first) and connection-lost (docs/design.md §2: the Redis fence covers a
 * wrongly suspected leader).
 */
import { VigilError } from '../errors';

/** Default bound on clock-rate drift: 1 %, twenty times the 500 ppm NTP may slew CLOCK_MONOTONIC. */
export const DEFAULT_MAX_CLOCK_DRIFT_RATIO = 0.01;

/** Highest exponent of the split-vote backoff: timeouts widen up to [T, T + 2^3·T). */
export const DEFAULT_MAX_BACKOFF_EXPONENT = 3;

export interface ElectionTimingOptions {
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  /** ρ; default DEFAULT_MAX_CLOCK_DRIFT_RATIO. */
  readonly maxClockDriftRatio?: number;
  /**
   * After the leader's connection drops, a follower campaigns after a random delay in
   * [0, fastElectionMaxDelayMs); spreading the followers out avoids split votes.
   * Default T / 8 (50 ms at the default T = 400 ms).
   */
  readonly fastElectionMaxDelayMs?: number;
  readonly maxBackoffExponent?: number;
}

export interface ElectionTiming {
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly maxClockDriftRatio: number;
  /** L = ⌊T · (1 − ρ) / (1 + ρ)⌋. */
  readonly leaseMs: number;
  readonly fastElectionMaxDelayMs: number;
  readonly maxBackoffExponent: number;
}

/** The longest lease that is safe for timeout T under drift ρ (see the file comment). */
export function maxSafeLeaseMs(electionTimeoutMs: number, maxClockDriftRatio: number): number {
  return Math.floor((electionTimeoutMs * (1 - maxClockDriftRatio)) / (1 + maxClockDriftRatio));
}

/** Validates the options and derives the lease. Throws CONFIG_INVALID naming the setting. */
export function resolveTiming(opts: ElectionTimingOptions): ElectionTiming {
  const heartbeatIntervalMs = opts.heartbeatIntervalMs;
  const electionTimeoutMs = opts.electionTimeoutMs;
  const maxClockDriftRatio = opts.maxClockDriftRatio ?? DEFAULT_MAX_CLOCK_DRIFT_RATIO;
  const fastElectionMaxDelayMs = opts.fastElectionMaxDelayMs ?? electionTimeoutMs / 8;
  const maxBackoffExponent = opts.maxBackoffExponent ?? DEFAULT_MAX_BACKOFF_EXPONENT;
  const invalid = (key: string, why: string): VigilError =>
    new VigilError('CONFIG_INVALID', `${key} ${why}`, { context: { heartbeatIntervalMs, electionTimeoutMs, maxClockDriftRatio } });

  if (!(Number.isFinite(electionTimeoutMs) && electionTimeoutMs > 0)) {
    throw invalid('election.electionTimeout', 'must be a positive duration such as "400ms"');
  }
  if (!(Number.isFinite(maxClockDriftRatio) && maxClockDriftRatio >= 0 && maxClockDriftRatio < 0.5)) {
    throw invalid('maxClockDriftRatio', 'must be in [0, 0.5), e.g. 0.01 for 1 %');
  }
  const leaseMs = maxSafeLeaseMs(electionTimeoutMs, maxClockDriftRatio);
  // The lease must outlive one heartbeat interval, or a healthy leader could never keep it.
  if (!(Number.isFinite(heartbeatIntervalMs) && heartbeatIntervalMs > 0 && heartbeatIntervalMs < leaseMs)) {
    throw invalid(
      'election.heartbeatInterval',
      `must be positive and shorter than the lease (${leaseMs} ms for electionTimeout ${electionTimeoutMs} ms); expected about electionTimeout / 4`,
    );
  }
  if (!(Number.isFinite(fastElectionMaxDelayMs) && fastElectionMaxDelayMs >= 0)) {
    throw invalid('fastElectionMaxDelayMs', 'must be a non-negative number of milliseconds');
  }
  if (!(Number.isInteger(maxBackoffExponent) && maxBackoffExponent >= 0 && maxBackoffExponent <= 10)) {
    throw invalid('maxBackoffExponent', 'must be an integer in [0, 10]');
  }
  return Object.freeze({ heartbeatIntervalMs, electionTimeoutMs, maxClockDriftRatio, leaseMs, fastElectionMaxDelayMs, maxBackoffExponent });
}
