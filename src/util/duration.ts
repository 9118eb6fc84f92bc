/**
 * Durations in config and on the command line: "250ms", "10s", "10m", "1h", "1.5s", or
 * compound "1m30s", "1h15m" (units largest first, each at most once). Parsed once, at
 * the edge, to milliseconds.
 *
 * A bare number is not a duration: `lag.threshold: 10` once meant 10 ms and paged on any
 * lag, while its author meant 10 s. Only 0 needs no unit (it is the same in every unit).
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Largest first: the order compound durations are written in. */
const UNIT_ORDER = ['d', 'h', 'm', 's', 'ms'] as const;

const WHOLE_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const BARE_NUMBER_RE = /^\d+(?:\.\d+)?$/;

/** Returns milliseconds, or undefined when the value is not a duration with units. */
export function parseDurationMs(value: unknown): number | undefined {
  if (value === 0) return 0;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '0') return 0;
  if (!WHOLE_RE.test(text)) return undefined;
  let totalMs = 0;
  let lastRank = -1;
  for (const [, amount, unit] of text.matchAll(PART_RE)) {
    const rank = UNIT_ORDER.indexOf(unit as (typeof UNIT_ORDER)[number]);
    if (rank <= lastRank) return undefined; // "30s1m", "1s1s": not how anyone means it
    lastRank = rank;
    totalMs += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  return Math.round(totalMs);
}

/** True for 10, "10", "1.5": a number written without a unit, which is a mistake to name. */
export function isBareNumber(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0;
  return typeof value === 'string' && BARE_NUMBER_RE.test(value.trim());
}

/** "1500" → "1.5s", "600000" → "10m": the shortest exact form, for messages. */
export function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms >= size && ms % (size / 10) === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export const DURATION_FORM = 'a duration such as "250ms", "10s", "1m30s" or "1h"';

/**
 * What to say about a value that is not a duration: for a bare number, that it needs a
 * unit, with the two readings spelled out (e.g. `10` → "10s" or "10ms").
 */
export function durationProblem(value: unknown): string {
  if (isBareNumber(value)) {
    const n = String(value).trim();
    return `expected a duration with a unit; a bare number is ambiguous: write "${n}s" for seconds or "${n}ms" for milliseconds`;
  }
  return `expected ${DURATION_FORM}`;
}
