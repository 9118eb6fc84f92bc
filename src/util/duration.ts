/**
 * Durations in config and on the command line: "250ms", "10s", "10m", "1h", "1.5s",
 * or a bare number of milliseconds. Parsed once, at the edge, to milliseconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;

/** Returns milliseconds, or undefined when the text is not a duration. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DURATION_RE.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(n * (UNIT_MS[unit] as number));
}

/** "1500" → "1.5s", "600000" → "10m": the shortest exact form, for messages. */
export function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms >= size && ms % (size / 10) === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export const DURATION_FORM = 'a duration such as "250ms", "10s", "10m" or "1h"';
