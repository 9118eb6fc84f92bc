/**
 * Which failover timeline entries belong to which alert (docs/design.md §4.8, "On the
 * alert's page"): decide (pure) is handed a read-only view of the recent entries
 * (src/monitor/failovers.ts, kept by src/reconcile/failover-journal.ts) and attaches to an
 * open alert's record the entries its incident caused, so the summary of every page and
 * re-post of that incident carries them, and a successor continuing the incident from the
 * stored state carries them too.
 *
 * An entry belongs to an alert when its cause names what the alert is about and the two
 * overlap in time: the entry ended (or has not ended) no earlier than the incident's first
 * observation, less the entry's precision and a second (both come from the same snapshots,
 * within one poll interval). A handover is the exception: a broker's controlled shutdown
 * moves its leadership away *before* the broker stops answering, so it may have ended up
 * to HANDOVER_LEAD_MS before.
 *
 * | alert | entries |
 * |---|---|
 * | `BrokerUnreachable/<b>` | partitions caused by `broker:<b>` (down or fenced) or `handover:<b>`; the controller election away from node `<b>` |
 * | `PartitionOffline` | partitions entries with offline partitions |
 * | `PreferredLeaderImbalance/<b>` | partitions caused by `preferred:<b>` (the preferred election that ends it) |
 * | `ControllerQuorumLeaderless` | controller elections |
 * | `ControllerVoterLagging/<v>` | the controller election away from voter `<v>` |
 *
 * vigil's own elections cause no alert of vigil's (a replica down is Prometheus' to page:
 * VigilReplicaDown, VigilNoLeader), so they are never attached. An entry recorded after its alert resolved is
 * attached to nothing: the incident and its pages are over (the journal keeps the entry).
 */
import type { FailoverEntry, FailoverKind } from '../monitor/failovers';
import type { AlertFinding, AlertRecord } from './alert-state';

/** One entry on an alert's record: what the page shows, and what makes it the same entry again. */
export interface AttachedFailover {
  /** kind, cause, start, end and size: the same whichever replica reads the entry */
  readonly id: string;
  readonly kind: FailoverKind;
  /** when it began (wall ms) */
  readonly timeMs: number;
  readonly summary: string;
}

/** How long before a broker stops answering its controlled shutdown may have handed its leadership over. */
export const HANDOVER_LEAD_MS = 30_000;
/** Slack on top of an entry's precision: incident and entry bounds come from the same snapshots. */
const TOLERANCE_MS = 1_000;
/** Entries kept on one record (the oldest first); more are counted, not kept. */
export const MAX_ATTACHED = 10;
/** Entries whose summary a page shows; the rest are counted. */
export const MAX_SHOWN = 3;

/** The alerts leadFor can give an entry to: the others (lag alerts, thousands of them at times) skip the scan. */
const TAKES_FAILOVERS: ReadonlySet<AlertFinding['kind']> = new Set<AlertFinding['kind']>([
  'BrokerUnreachable', 'PartitionOffline', 'PreferredLeaderImbalance', 'ControllerQuorumLeaderless', 'ControllerVoterLagging',
]);

/** The stable identity of an entry (FailoverEntry has no id until Redis gives it one). */
export function failoverId(e: FailoverEntry): string {
  const size = e.kind === 'partitions' ? e.detail['partitions'] : e.kind === 'controller' ? e.detail['toEpoch'] : e.detail['term'];
  return `${e.kind}/${causeOf(e) ?? String(e.from)}/${e.timeMs}/${e.endMs ?? 'open'}/${String(size ?? '')}`;
}

function causeOf(e: FailoverEntry): string | null {
  const c = e.detail['cause'];
  return e.kind === 'partitions' && typeof c === 'string' ? c : null;
}

/**
 * How long before the incident's first observation `e` may have ended and still be its
 * doing; null when `e` is not about what `f` is about.
 */
export function leadFor(f: AlertFinding, e: FailoverEntry): number | null {
  const cause = causeOf(e);
  switch (f.kind) {
    case 'BrokerUnreachable':
      if (cause === `broker:${f.broker}`) return 0;
      if (cause === `handover:${f.broker}`) return HANDOVER_LEAD_MS;
      return e.kind === 'controller' && e.from === f.broker ? 0 : null;
    case 'PartitionOffline':
      return e.kind === 'partitions' && Number(e.detail['offline'] ?? 0) > 0 ? 0 : null;
    case 'PreferredLeaderImbalance':
      return cause === `preferred:${f.broker}` ? 0 : null;
    case 'ControllerQuorumLeaderless':
      return e.kind === 'controller' ? 0 : null;
    case 'ControllerVoterLagging':
      return e.kind === 'controller' && e.from === f.voter ? 0 : null;
    default:
      return null;
  }
}

/** When the incident was first observed: the finding's own start where it has one, else when it opened. */
function incidentStartMs(record: AlertRecord): number {
  const f = record.finding;
  const since = 'sinceMs' in f && typeof f.sinceMs === 'number' ? f.sinceMs : record.startsAtMs;
  return Math.min(since, record.startsAtMs);
}

/** Whether `e` belongs to the open incident of `record` at `nowMs`. */
export function belongsTo(record: AlertRecord, e: FailoverEntry, nowMs: number): boolean {
  const lead = leadFor(record.finding, e);
  if (lead === null || e.timeMs > nowMs) return false;
  const end = e.endMs ?? Number.POSITIVE_INFINITY;
  return end >= incidentStartMs(record) - e.precisionMs - TOLERANCE_MS - lead;
}

/**
 * The record with the entries of `entries` that belong to it and it does not carry yet
 * (oldest first, at most MAX_ATTACHED); the same object when there are none, so decide
 * sees no change.
 */
export function attachFailovers(record: AlertRecord, entries: readonly FailoverEntry[], nowMs: number): AlertRecord {
  if (entries.length === 0 || !TAKES_FAILOVERS.has(record.finding.kind)) return record;
  const have = new Set((record.failovers ?? []).map((a) => a.id));
  const added: AttachedFailover[] = [];
  for (const e of entries) {
    if (!belongsTo(record, e, nowMs)) continue;
    const id = failoverId(e);
    if (have.has(id)) continue;
    have.add(id);
    added.push({ id, kind: e.kind, timeMs: e.timeMs, summary: e.summary });
  }
  if (added.length === 0) return record;
  const all = [...(record.failovers ?? []), ...added].sort((a, b) => a.timeMs - b.timeMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const notKept = all.length - MAX_ATTACHED + (record.failoversNotKept ?? 0);
  return {
    ...record,
    failovers: all.slice(0, MAX_ATTACHED),
    ...(notKept > 0 ? { failoversNotKept: notKept } : {}),
  };
}

/**
 * The failover part of an alert's summary, or undefined when it carries none:
 * "failover: broker 3 unreachable, then fenced: 412 partitions moved, 410 led again within
 * 1.2 s, 2 offline for up to 9.1 s", or for several "failovers: (1) …; (2) …; and 2 more
 * (GET /api/v1/failovers)". Entries of a record read from Redis are checked: one that is not
 * a summary is left out, never thrown on.
 */
export function failoverText(record: Pick<AlertRecord, 'failovers' | 'failoversNotKept'>): string | undefined {
  const list = Array.isArray(record.failovers) ? record.failovers.filter((a) => typeof a?.summary === 'string' && a.summary !== '') : [];
  if (list.length === 0) return undefined;
  if (list.length === 1 && !record.failoversNotKept) return `failover: ${(list[0] as AttachedFailover).summary}`;
  const shown = list.slice(0, MAX_SHOWN).map((a, i) => `(${i + 1}) ${a.summary}`);
  const more = list.length - shown.length + (typeof record.failoversNotKept === 'number' ? record.failoversNotKept : 0);
  return `failovers: ${shown.join('; ')}${more > 0 ? `; and ${more} more (GET /api/v1/failovers)` : ''}`;
}
