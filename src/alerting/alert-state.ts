/**
 * The alert state decide (pure) carries from cycle to cycle: the open incidents and the
 * timers of their hysteresis. Plain JSON data — the state store persists it in Redis so a
 * new leader continues the incidents (same startsAt, hence the same notification ids).
 *
 * Only facts are kept: the alert key is the record's map key, cluster/status/summary are
 * rendered from the record (toAlert). Resolved incidents are dropped: once the resolved
 * notification is out, nothing about them is needed to decide the next cycle.
 */
import type { Severity } from '../config/types';
import { VigilError } from '../errors';
import { type CauseTouch, type Finding, type LagCause, type TopicPartitions, lagScope } from '../monitor/findings';
import { type AttachedFailover, failoverText } from './failover-match';
import { ALERT_NAMES } from './runbook';
import { firingSummary } from './summary';
import type { Alert, AlertName, AlertStatus } from './types';

/** Every finding that maps to an alert (LeaderChanged is an event only). */
export type AlertFinding = Exclude<Finding, { readonly kind: 'LeaderChanged' }>;

export type BrokerFinding = Extract<Finding, { readonly kind: 'BrokerUnreachable' | 'CanaryDegraded' }>;

/** What a ConsumerDeliveryLag incident needs beyond its finding. */
export interface LagIncident {
  /** the rule's resolve conditions, fixed when the incident opened */
  readonly resolveBelowMs: number;
  readonly resolveForMs: number;
  /** the cause the firing page named; finding.cause is the current one */
  readonly pagedCause: LagCause;
  /** wall ms since which finding.cause has held */
  readonly causeSinceMs: number;
  /** breaching partitions led by the cause broker (broker:<id>) or without leader (partition-offline) */
  readonly causePartitions: readonly number[];
  /** the cause broker is the group's coordinator rather than the partitions' leader */
  readonly causeIsCoordinator?: boolean;
  /** how the cause broker touches the group, now or within the last minute (absent in records from before it existed) */
  readonly causeTouch?: CauseTouch;
  /** the cause broker's own finding as last seen, for the summary ("which is unreachable") */
  readonly causeBroker: BrokerFinding | null;
}

export interface AlertRecord {
  /** the latest finding of this alert: what the summary and the API show */
  readonly finding: AlertFinding;
  /** fixed for the incident, so its resolved page matches its firing page */
  readonly severity: Severity;
  /** wall ms the incident opened; part of every notification id of the incident */
  readonly startsAtMs: number;
  /**
   * Resolve timer. ConsumerDeliveryLag: since when every partition has been below
   * resolveBelow. Every other alert: since when its finding has been absent. null = not
   * quiet (or unknown).
   */
  readonly quietSinceMs: number | null;
  /** ConsumerDeliveryLag only */
  readonly lag?: LagIncident;
  /**
   * Failover timeline entries this incident caused (./failover-match.ts), oldest first;
   * absent while none. Every page and re-post of the incident carries their summaries.
   */
  readonly failovers?: readonly AttachedFailover[];
  /** entries that belonged to it past the MAX_ATTACHED kept */
  readonly failoversNotKept?: number;
}

export interface AlertState {
  readonly version: 1;
  /** by alert key, `<cluster>/<AlertName>/<scope>` */
  readonly alerts: Readonly<Record<string, AlertRecord>>;
}

export function emptyAlertState(): AlertState {
  return { version: 1, alerts: {} };
}

export function alertNameOf(f: AlertFinding): AlertName {
  return f.kind;
}

/**
 * The scope part of an alert key; null for the cluster-wide KafkaUnreachable,
 * PartitionOffline, ControllerQuorumLeaderless, ControllerQuorumAtRisk and OffsetsStreamDenied.
 */
export function alertScope(f: AlertFinding): string | null {
  switch (f.kind) {
    case 'KafkaUnreachable':
    case 'PartitionOffline':
    case 'ControllerQuorumLeaderless':
    case 'ControllerQuorumAtRisk':
    case 'OffsetsStreamDenied':
      return null;
    case 'ControllerVoterLagging':
      return String(f.voter);
    case 'BrokerUnreachable':
    case 'PreferredLeaderImbalance':
    case 'CanaryDegraded':
    case 'PartitionUnderReplicated':
    case 'PartitionUnderMinIsr':
      return String(f.broker);
    case 'ConsumerDeliveryLag':
    case 'ConsumerStalled':
    case 'ConsumerBreachAhead':
      return lagScope(f.group, f.topic);
    case 'RemediationProposed':
    case 'RemediationRefused':
      // one per plan kind and broker: a new plan for the same broker continues the incident
      return `${f.plan}/${f.broker}`;
    default:
      return unreachable(f);
  }
}

export function alertKey(cluster: string, f: AlertFinding): string {
  const scope = alertScope(f);
  return scope === null ? `${cluster}/${f.kind}` : `${cluster}/${f.kind}/${scope}`;
}

/**
 * The alert as channels and the API see it. The summary (firing, or the resolved one given)
 * ends with the failover entries the incident caused, when it caused some
 * (./failover-match.ts): "…; failover: broker 3 unreachable, then fenced: …".
 */
export function toAlert(
  cluster: string,
  key: string,
  record: AlertRecord,
  status: AlertStatus,
  nowMs: number,
  summary: string = firingSummary(record, nowMs),
): Alert {
  const f = record.finding;
  const failover = failoverText(record);
  const base = {
    key,
    alert: f.kind,
    status,
    severity: record.severity,
    cluster,
    summary: failover === undefined ? summary : `${summary}; ${failover}`,
    ...(failover === undefined ? {} : { failover }),
    startsAt: new Date(record.startsAtMs).toISOString(),
    endsAt: status === 'resolved' ? new Date(nowMs).toISOString() : null,
  };
  switch (f.kind) {
    case 'KafkaUnreachable':
    case 'ControllerQuorumLeaderless':
    case 'ControllerVoterLagging':
    case 'ControllerQuorumAtRisk':
    case 'OffsetsStreamDenied':
      // a controller quorum alert's key names the voter where there is one; the summary says the rest
      return base;
    case 'BrokerUnreachable':
    case 'PreferredLeaderImbalance':
    case 'CanaryDegraded':
    case 'RemediationProposed':
    case 'RemediationRefused':
      return { ...base, broker: f.broker };
    case 'PartitionOffline':
      return { ...base, ...singleTopic(f.topics) };
    case 'PartitionUnderReplicated':
    case 'PartitionUnderMinIsr':
      return { ...base, broker: f.broker, ...singleTopic(f.topics) };
    case 'ConsumerStalled':
      return { ...base, group: f.group, topic: f.topic, partitions: f.partitions };
    case 'ConsumerBreachAhead':
      return { ...base, group: f.group, topic: f.topic, partitions: f.partitions, threshold: f.thresholdMs / 1000 };
    case 'ConsumerDeliveryLag':
      return {
        ...base, group: f.group, topic: f.topic, partitions: f.partitions,
        ...(f.lagSeconds === null ? {} : { lagSeconds: f.lagSeconds }),
        threshold: f.thresholdMs / 1000, cause: f.cause,
      };
    default:
      return unreachable(f);
  }
}

/** topic and partitions when exactly one topic is affected; the summary lists more. */
function singleTopic(topics: readonly TopicPartitions[]): { topic?: string; partitions?: readonly number[] } {
  const only = topics.length === 1 ? topics[0] : undefined;
  return only ? { topic: only.topic, partitions: only.partitions } : {};
}

/** The firing alerts, for /api/v1/alerts and the status page, ordered by key. */
export function activeAlerts(state: AlertState, cluster: string, nowMs: number): Alert[] {
  return Object.keys(state.alerts).sort().map((key) => toAlert(cluster, key, state.alerts[key] as AlertRecord, 'firing', nowMs));
}

/**
 * Group/topics with an open delivery-lag incident: the observer runs the exact test at
 * resolveBelow for these (GroupPartitionLag.aboveResolveBelow), without which they cannot
 * resolve.
 */
export function openLagIncidents(state: AlertState): { group: string; topic: string; resolveBelowMs: number }[] {
  const out: { group: string; topic: string; resolveBelowMs: number }[] = [];
  for (const r of Object.values(state.alerts)) {
    if (r.finding.kind === 'ConsumerDeliveryLag' && r.lag !== undefined) out.push({ group: r.finding.group, topic: r.finding.topic, resolveBelowMs: r.lag.resolveBelowMs });
  }
  return out;
}

export function serializeAlertState(state: AlertState): string {
  return JSON.stringify(state);
}

// Every alert kind (runbook.ts keeps one entry per AlertName, checked by the compiler): a
// hand-written list here once lacked a new kind, and a successor then read the whole stored
// state as unreadable and paged every open incident again.
const STORED_ALERT_NAMES: ReadonlySet<string> = new Set<string>(ALERT_NAMES);
const SEVERITY_NAMES: ReadonlySet<string> = new Set<Severity>(['critical', 'warning', 'info']);

/**
 * The inverse of serializeAlertState. Checks the shape a decide cycle relies on, so a
 * corrupted or foreign value fails here, with a code, and not in the middle of a cycle.
 */
export function parseAlertState(text: string): AlertState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(value) || value['version'] !== 1) throw invalid('expected {"version":1,"alerts":{...}}');
  const alerts = value['alerts'];
  if (!isObject(alerts)) throw invalid('"alerts" is not an object');
  for (const [key, r] of Object.entries(alerts)) {
    const where = `alert "${key}"`;
    if (!isObject(r)) throw invalid(`${where} is not an object`);
    const f = r['finding'];
    if (!isObject(f) || typeof f['kind'] !== 'string' || !STORED_ALERT_NAMES.has(f['kind'])) throw invalid(`${where} has no valid finding`);
    if (typeof r['severity'] !== 'string' || !SEVERITY_NAMES.has(r['severity'])) throw invalid(`${where} has no valid severity`);
    if (typeof r['startsAtMs'] !== 'number') throw invalid(`${where} has no startsAtMs`);
    if (r['quietSinceMs'] !== null && typeof r['quietSinceMs'] !== 'number') throw invalid(`${where} has an invalid quietSinceMs`);
    if (f['kind'] === 'ConsumerDeliveryLag') {
      const lag = r['lag'];
      if (!isObject(lag) || typeof lag['resolveBelowMs'] !== 'number' || typeof lag['resolveForMs'] !== 'number') throw invalid(`${where} lacks its lag incident`);
    }
  }
  return value as unknown as AlertState;
}

function invalid(what: string): VigilError {
  return new VigilError(
    'STATE_PERSIST_FAILED',
    `stored alert state is unusable: ${what}. Open incidents cannot be continued; delete the stored alert state to start afresh (alerts still firing will page again).`,
    { retriable: false, context: { problem: what } },
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function unreachable(x: never): never {
  throw new VigilError('INTERNAL', `unhandled case ${JSON.stringify(x)}`);
}
