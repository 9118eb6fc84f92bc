/**
 * What `vigil demo` prints, as pure functions of data: the failover timeline (the events
 * stream of GET /api/v1/events, the pages the webhook receiver got and the demo's own
 * actions, in time order), one line per page, and the one-line-per-second summary. No
 * clock: times are given, and shown relative to `originMs` (when the demo started).
 */
import type { WebhookBodyV1 } from '../alerting/types';
import type { StoredEvent } from '../state/types';

export type TimelineEntry =
  /** one entry of the replicas' events stream (leader-elected, alert-firing, ...) */
  | { readonly kind: 'event'; readonly atMs: number; readonly event: StoredEvent }
  /** a page the demo's webhook receiver accepted */
  | { readonly kind: 'page'; readonly atMs: number; readonly page: WebhookBodyV1 }
  /** something the demo did (stalled a consumer, killed a broker) */
  | { readonly kind: 'action'; readonly atMs: number; readonly text: string };

export interface ReceivedPage {
  readonly receivedAtMs: number;
  readonly body: WebhookBodyV1;
}

export interface DemoAction {
  readonly atMs: number;
  readonly text: string;
}

/** Entries in time order; at equal times the cause comes first: action, event, page. */
export function timelineEntries(events: readonly StoredEvent[], pages: readonly ReceivedPage[], actions: readonly DemoAction[]): TimelineEntry[] {
  const rank: Record<TimelineEntry['kind'], number> = { action: 0, event: 1, page: 2 };
  const all: TimelineEntry[] = [
    ...actions.map((a): TimelineEntry => ({ kind: 'action', atMs: a.atMs, text: a.text })),
    ...events.map((e): TimelineEntry => ({ kind: 'event', atMs: e.timeMs, event: e })),
    ...pages.map((p): TimelineEntry => ({ kind: 'page', atMs: p.receivedAtMs, page: p.body })),
  ];
  // Array.prototype.sort is stable: entries of one kind keep their given order.
  return all.sort((a, b) => a.atMs - b.atMs || rank[a.kind] - rank[b.kind]);
}

/** "+  12.3s": time since the demo started. */
export function relativeTime(atMs: number, originMs: number): string {
  const s = (atMs - originMs) / 1000;
  return `${s < 0 ? '-' : '+'}${Math.abs(s).toFixed(1).padStart(6)}s`;
}

/** Who: the replica and term of an event, "webhook" for a page, "demo" for an action. */
function sourceOf(entry: TimelineEntry): string {
  switch (entry.kind) {
    case 'event':
      return `${entry.event.nodeId} t${entry.event.term}`;
    case 'page':
      return 'webhook';
    case 'action':
      return 'demo';
    default:
      return unreachable(entry);
  }
}

/** One timeline line: time, who, what. */
export function formatTimelineEntry(entry: TimelineEntry, originMs: number): string {
  const head = `${relativeTime(entry.atMs, originMs)}  ${sourceOf(entry).padEnd(12)}`;
  switch (entry.kind) {
    case 'event':
      return `${head}  ${entry.event.type.padEnd(24)}  ${describeEventData(entry.event)}`;
    case 'page':
      // The event line beside it carries the summary; the page line says it arrived, and from whom.
      return `${head}  ${`page ${entry.page.status}`.padEnd(24)}  ${entry.page.key} [sent by ${entry.page.sentBy.nodeId}, term ${entry.page.sentBy.term}]`;
    case 'action':
      return `${head}  ${'action'.padEnd(24)}  ${entry.text}`;
    default:
      return unreachable(entry);
  }
}

/** The timeline block printed at the end of a scenario. */
export function formatTimeline(entries: readonly TimelineEntry[], originMs: number): string[] {
  return [
    'timeline (events from GET /api/v1/events, pages received by the webhook, demo actions):',
    ...(entries.length === 0 ? ['  (nothing recorded)'] : entries.map((e) => `  ${formatTimelineEntry(e, originMs)}`)),
  ];
}

/** The details of an event, by type; unknown types show their data as JSON. */
export function describeEventData(event: StoredEvent): string {
  const d = (event.data ?? {}) as Record<string, unknown>;
  switch (event.type) {
    case 'leader-elected': {
      const open = typeof d['openAlerts'] === 'number' ? d['openAlerts'] : undefined;
      return `${event.nodeId} leads in term ${event.term}${open === undefined ? '' : ` (${open} open ${open === 1 ? 'alert' : 'alerts'})`}`;
    }
    case 'alert-firing':
    case 'alert-resolved':
      return `${String(d['key'] ?? '?')} (${String(d['severity'] ?? '?')}): ${String(d['summary'] ?? '')}`;
    case 'partition-leader-changed':
      return `${String(d['topic'])}/${String(d['partition'])} leader ${String(d['from'])} → ${String(d['to'])}`;
    case 'partition-leaders-changed':
      return `${String(d['count'])} partition leaders moved (first ${String(d['shown'])} listed)`;
    default:
      return truncate(JSON.stringify(event.data ?? null), 160);
  }
}

/** A page in one line: what, where, why, and who sent it. */
export function describePage(page: WebhookBodyV1): string {
  return `${page.key} (${page.severity}): ${page.summary} [sent by ${page.sentBy.nodeId}, term ${page.sentBy.term}]`;
}

/** The console line printed when a page arrives. */
export function formatPageLine(page: WebhookBodyV1, receivedAtMs: number, originMs: number): string {
  return `${relativeTime(receivedAtMs, originMs)}  PAGE ${page.status.toUpperCase().padEnd(8)} ${describePage(page)}`;
}

export interface SummaryGroup {
  readonly group: string;
  readonly lagSeconds: number | null;
  readonly breach: boolean | null;
}

export interface SummaryInput {
  readonly atMs: number;
  readonly originMs: number;
  /** null while no replica leads */
  readonly leader: { readonly nodeId: string; readonly term: number } | null;
  /** null before the leader's first snapshot (or while it cannot be read) */
  readonly groups: readonly SummaryGroup[] | null;
  /** open alerts; null when unknown */
  readonly alertsOpen: number | null;
}

/** The live line: leader and term, each group's delivery latency, open alerts. */
export function formatSummaryLine(s: SummaryInput): string {
  const leader = s.leader === null ? 'no leader' : `leader ${s.leader.nodeId} (term ${s.leader.term})`;
  const groups =
    s.groups === null
      ? 'lag: no snapshot yet'
      : s.groups.length === 0
        ? 'no consumer groups yet'
        : [...s.groups]
            .sort((a, b) => a.group.localeCompare(b.group))
            .map((g) => `${g.group} ${g.lagSeconds === null ? '?' : `${g.lagSeconds.toFixed(1)} s`}${g.breach ? ' OVER' : ''}`)
            .join(', ');
  const alerts = s.alertsOpen === null ? '' : ` | ${s.alertsOpen} open ${s.alertsOpen === 1 ? 'alert' : 'alerts'}`;
  return `${relativeTime(s.atMs, s.originMs)}  ${leader} | ${groups}${alerts}`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function unreachable(x: never): never {
  throw new Error(`unexpected timeline entry ${JSON.stringify(x)}`);
}
