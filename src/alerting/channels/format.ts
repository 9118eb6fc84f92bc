/**
 * Text pieces shared by the human-facing channels (Slack, PagerDuty, Alertmanager
 * annotations), so a lag reads the same wherever on-call sees it.
 */
import type { Alert } from '../types';

/** "12.4 s": one decimal, as the summaries of docs/design.md §4 write it. */
export function formatSeconds(seconds: number): string {
  return `${Number(seconds.toFixed(1))} s`;
}

/** "0, 3, 7" — at most `max` numbers, then "… (+N more)": a page is not a partition dump. */
export function formatPartitions(partitions: readonly number[], max = 20): string {
  const shown = partitions.slice(0, max).join(', ');
  return partitions.length > max ? `${shown} … (+${partitions.length - max} more)` : shown;
}

/** "12.4 s (threshold 10 s)", or whichever half is known; undefined when neither is. */
export function formatLag(alert: Pick<Alert, 'lagSeconds' | 'threshold'>): string | undefined {
  const lag = alert.lagSeconds === undefined ? undefined : formatSeconds(alert.lagSeconds);
  const threshold = alert.threshold === undefined ? undefined : `threshold ${formatSeconds(alert.threshold)}`;
  if (lag !== undefined && threshold !== undefined) return `${lag} (${threshold})`;
  return lag ?? threshold;
}

/** Cuts text to at most `maxChars` characters, marking the cut. */
export function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}
