/**
 * Clock offsets from one request and its answer (pure). The other side read its clock at
 * some moment between our send and our receipt, so its offset from our clock is known
 * to within half the round trip (plus the resolution of the value it sent: 1 s for an
 * HTTP Date header). The election compares wall clocks only for the freshness of peer
 * messages, `election.maxClockSkew` (docs/design.md §2.7).
 */
import { formatDurationMs } from '../util/duration';
import { check, type Check } from './check';

export interface ClockSample {
  /** our wall clock when the request left */
  readonly sentMs: number;
  /** our wall clock when the answer came */
  readonly receivedMs: number;
  /** the other side's wall clock, as it said */
  readonly remoteMs: number;
  /** how coarse remoteMs is (0 for milliseconds, 1000 for an HTTP date) */
  readonly resolutionMs: number;
}

/** The other clock minus ours, as a midpoint and the half-width of what it can be. */
export function clockOffset(s: ClockSample): { offsetMs: number; errorMs: number } {
  const lo = s.remoteMs - s.receivedMs;
  const hi = s.remoteMs + s.resolutionMs - s.sentMs;
  return { offsetMs: (lo + hi) / 2, errorMs: Math.max(0, (hi - lo) / 2) };
}

function signedMs(ms: number): string {
  const rounded = Math.round(ms);
  return `${rounded >= 0 ? '+' : '−'}${Math.abs(rounded)} ms`;
}

/**
 * A clock check against `limitMs`: FAIL when the offset is surely beyond it (when
 * `mayFail`; otherwise a warning), a warning when it may be beyond half of it, ok otherwise.
 */
export function clockCheck(id: string, whose: string, sample: ClockSample, limitMs: number, mayFail: boolean): Check {
  const { offsetMs, errorMs } = clockOffset(sample);
  const found = `${whose} clock is ${signedMs(offsetMs)} (±${Math.ceil(errorMs)} ms) from this host's`;
  const limit = `election.maxClockSkew (${formatDurationMs(limitMs)})`;
  const fix = "run NTP (chrony or systemd-timesyncd) on every replica's host and check it is synchronised (chronyc tracking, timedatectl)";
  if (Math.abs(offsetMs) - errorMs > limitMs) return check(id, mayFail ? 'fail' : 'warn', `${found}: beyond ${limit}; peers reject messages this far off as stale`, fix);
  if (Math.abs(offsetMs) + errorMs > limitMs / 2) return check(id, 'warn', `${found}: more than half of ${limit}`, fix);
  return check(id, 'ok', `${found}: within ${limit}`);
}
