/**
 * decide (docs/design.md §1, §4): this cycle's findings + the alert state + now → alert
 * transitions (notifications) + the next state. Pure: time comes in as nowMs, nothing is
 * read or written outside the arguments, and the input state is never modified.
 *
 * Lifecycle of every alert: firing → resolved, one notification per transition. An
 * incident's startsAt is fixed when it opens, so the ids of its two notifications
 * (notificationId: key + startsAt + status) are the same whichever leader sends them.
 * While an incident is open, repeated findings update its record but never page again.
 *
 * Resolution:
 * - ConsumerDeliveryLag (hysteresis, docs/design.md §4): fires the cycle the exact test says
 *   breach; resolves only once every partition of the group/topic has been below the
 *   rule's resolveBelow (or caught up) continuously for resolveFor. Unknown data (null)
 *   restarts that clock and never fires by itself.
 * - ConsumerBreachAhead, the early warning (docs/design.md §3.8): fires when a group/topic
 *   not in breach is predicted to breach within the rule's warnAhead; never opens while a
 *   ConsumerDeliveryLag alert of the same group/topic is firing or fires this cycle, and an
 *   open one resolves at once ('superseded') when one does — the breach page takes over, the
 *   warning does not linger beside it. Otherwise it resolves like the lag alert: once every
 *   partition has been clear of warnAhead + (threshold − resolveBelow) continuously for
 *   resolveFor (GroupTopicLag.warnClear), so a group hovering at the warn line pages once.
 * - every other alert: resolves once its finding has been absent for `holdMs` (3 s by
 *   default: three 1 s cycles, a dozen at the incident poll rate), so a flapping
 *   observation does not page resolve/fire pairs.
 * - while KafkaUnreachable, nothing else resolves for lack of data: the quiet clocks
 *   stop and restart with the first snapshot after Kafka returns.
 *
 * Failovers: every open alert's record takes the failover timeline entries its incident
 * caused (ctx.failovers, ./failover-match.ts) — an entry that appears while it is open,
 * resolving included, changes the record (stored; the Alertmanager refresher re-posts it at
 * once) but pages nothing; the resolved page carries them in its summary. An entry that
 * appears after the alert resolved is attached to nothing.
 *
 * Severity: ConsumerDeliveryLag takes its rule's severity (lag.severity or an override);
 * BrokerUnreachable, PartitionOffline, PartitionUnderMinIsr and KafkaUnreachable are
 * critical (data cannot be written or read), and so is ControllerQuorumLeaderless (no
 * metadata change — no partition leader election, no ISR change — can happen, so the next
 * broker failure is not healed); PartitionUnderReplicated, PreferredLeaderImbalance,
 * ConsumerStalled, ConsumerBreachAhead (a prediction: the breach itself pages at the rule's
 * severity), CanaryDegraded, ControllerVoterLagging and ControllerQuorumAtRisk are
 * warnings (redundancy or performance is reduced, data still flows). OffsetsStreamDenied is
 * info: monitoring goes on by polling, only the early page is lost.
 */
import type { Severity } from '../config/types';
import type { FailoverEntry } from '../monitor/failovers';
import { DEFAULT_LAG_RULE, type Finding, type GroupTopicLag, type GroupTopicRule, type LagView, type TopicPartitions, lagScope } from '../monitor/findings';
import {
  type AlertFinding, type AlertRecord, type AlertState, type BrokerFinding, type LagIncident,
  alertKey, toAlert, unreachable,
} from './alert-state';
import { attachFailovers } from './failover-match';
import { type ResolveReason, planText, resolvedSummary } from './summary';
import { type Notification, notificationId } from './types';

export interface DecideContext {
  readonly cluster: string;
  /** detect's per group/topic view of this cycle (rules and the resolveBelow test) */
  readonly lag: LagView;
  /** how long a non-lag finding must stay absent before its alert resolves */
  readonly holdMs?: number;
  /** rule for a lag finding detect gave no view of (never, when both run on one snapshot) */
  readonly defaultLagRule?: GroupTopicRule;
  /**
   * The failover timeline's recent entries, read-only (src/reconcile/failover-journal.ts
   * `recent()`): an open alert's record takes those its incident caused
   * (./failover-match.ts), so its pages and re-posts carry their summaries.
   */
  readonly failovers?: readonly FailoverEntry[];
}

export const DEFAULT_HOLD_MS = 3_000;

export interface DecideResult {
  readonly notifications: Notification[];
  /** the same object as the input state when nothing changed (callers may skip persisting) */
  readonly state: AlertState;
}

export function severityOf(f: AlertFinding, rule: GroupTopicRule | undefined): Severity {
  switch (f.kind) {
    case 'ConsumerDeliveryLag':
      return rule?.severity ?? 'warning';
    case 'BrokerUnreachable':
    case 'PartitionOffline':
    case 'PartitionUnderMinIsr':
    case 'KafkaUnreachable':
    case 'ControllerQuorumLeaderless':
      return 'critical';
    case 'PartitionUnderReplicated':
    case 'PreferredLeaderImbalance':
    case 'ConsumerStalled':
    case 'ConsumerBreachAhead':
    case 'CanaryDegraded':
    case 'ControllerVoterLagging':
    case 'ControllerQuorumAtRisk':
    case 'RemediationProposed':
    case 'RemediationRefused':
      return 'warning';
    case 'OffsetsStreamDenied':
      return 'info';
    default:
      return unreachable(f);
  }
}

export function decide(findings: readonly Finding[], state: AlertState, nowMs: number, ctx: DecideContext): DecideResult {
  const holdMs = ctx.holdMs ?? DEFAULT_HOLD_MS;
  const entries = ctx.failovers ?? [];
  const attach = (r: AlertRecord): AlertRecord => attachFailovers(r, entries, nowMs);
  const notifications: Notification[] = [];
  let alerts: Record<string, AlertRecord> | null = null; // copied on the first change
  const write = (key: string, record: AlertRecord | undefined): void => {
    alerts ??= { ...state.alerts };
    if (record === undefined) delete alerts[key];
    else alerts[key] = record;
  };

  let kafkaDown = false;
  const brokerFindings = new Map<number, BrokerFinding>();
  for (const f of findings) {
    if (f.kind === 'KafkaUnreachable') kafkaDown = true;
    // an unreachable broker explains more than its canary
    else if (f.kind === 'BrokerUnreachable' || (f.kind === 'CanaryDegraded' && !brokerFindings.has(f.broker))) brokerFindings.set(f.broker, f);
  }

  // group/topics in breach, paged now or this cycle: their early warnings are superseded
  const inBreach = new Set<string>();
  for (const f of findings) if (f.kind === 'ConsumerDeliveryLag') inBreach.add(lagScope(f.group, f.topic));
  for (const r of Object.values(state.alerts)) if (r.finding.kind === 'ConsumerDeliveryLag') inBreach.add(lagScope(r.finding.group, r.finding.topic));

  const seen = new Set<string>();
  for (const f of findings) {
    if (f.kind === 'LeaderChanged') continue;
    if (f.kind === 'ConsumerBreachAhead' && inBreach.has(lagScope(f.group, f.topic))) continue;
    const key = alertKey(ctx.cluster, f);
    if (seen.has(key)) continue; // detect reports each scope once; the first wins otherwise
    seen.add(key);
    const view = f.kind === 'ConsumerDeliveryLag' ? ctx.lag.byScope.get(lagScope(f.group, f.topic)) : undefined;
    const prev = state.alerts[key];
    if (prev === undefined) {
      const record = attach(open(f, view, nowMs, brokerFindings, ctx));
      write(key, record);
      notifications.push(notify(ctx.cluster, key, record, 'firing', nowMs));
    } else {
      const record = attach(update(prev, f, view, nowMs, brokerFindings));
      if (record !== prev) write(key, record);
    }
  }

  for (const key of Object.keys(state.alerts)) {
    if (seen.has(key)) continue;
    const prev = state.alerts[key] as AlertRecord;
    const pf = prev.finding;
    if (pf.kind === 'ConsumerBreachAhead' && inBreach.has(lagScope(pf.group, pf.topic))) {
      write(key, undefined);
      notifications.push(notify(ctx.cluster, key, prev, 'resolved', nowMs, resolvedSummary(prev, nowMs, 'superseded')));
      continue;
    }
    if (kafkaDown) {
      // nothing is known about anything this cycle: no clock runs towards resolution
      const record = attach(prev.quietSinceMs === null ? prev : { ...prev, quietSinceMs: null });
      if (record !== prev) write(key, record);
      continue;
    }
    const outcome =
      pf.kind === 'ConsumerDeliveryLag' ? quietLag(prev, nowMs, ctx.lag) : pf.kind === 'ConsumerBreachAhead' ? quietAhead(prev, nowMs, ctx.lag, holdMs) : quietOther(prev, nowMs, holdMs);
    // entries recorded up to now are the resolved page's too
    const record = attach(outcome.record);
    if (outcome.resolve !== undefined) {
      write(key, undefined);
      notifications.push(notify(ctx.cluster, key, record, 'resolved', nowMs, resolvedSummary(record, nowMs, outcome.resolve)));
    } else if (record !== prev) write(key, record);
  }

  return { notifications, state: alerts === null ? state : { version: 1, alerts } };
}

function open(f: AlertFinding, view: GroupTopicLag | undefined, nowMs: number, brokers: ReadonlyMap<number, BrokerFinding>, ctx: DecideContext): AlertRecord {
  if (f.kind !== 'ConsumerDeliveryLag') return { finding: f, severity: severityOf(f, undefined), startsAtMs: nowMs, quietSinceMs: null };
  const rule = view?.rule ?? { ...(ctx.defaultLagRule ?? DEFAULT_LAG_RULE), thresholdMs: f.thresholdMs };
  const lag: LagIncident = {
    resolveBelowMs: rule.resolveBelowMs,
    resolveForMs: rule.resolveForMs,
    pagedCause: f.cause,
    causeSinceMs: nowMs,
    causePartitions: view?.causePartitions ?? [],
    ...(view?.causeIsCoordinator ? { causeIsCoordinator: true } : {}),
    ...(view?.causeTouch ? { causeTouch: view.causeTouch } : {}),
    causeBroker: causeBrokerOf(f.cause, brokers),
  };
  return { finding: f, severity: severityOf(f, rule), startsAtMs: nowMs, quietSinceMs: null, lag };
}

/** The finding is present again this cycle: refresh the record, keep the incident. */
function update(prev: AlertRecord, f: AlertFinding, view: GroupTopicLag | undefined, nowMs: number, brokers: ReadonlyMap<number, BrokerFinding>): AlertRecord {
  if (f.kind !== 'ConsumerDeliveryLag' || prev.lag === undefined) {
    if (prev.quietSinceMs === null && sameFinding(prev.finding, f)) return prev;
    return { ...prev, finding: f, quietSinceMs: null };
  }
  const before = prev.finding as Extract<AlertFinding, { kind: 'ConsumerDeliveryLag' }>;
  const lag: LagIncident = {
    ...prev.lag,
    // a change of cause is kept for the API ("paged as broker:2, now consumer"); it does not page
    causeSinceMs: before.cause === f.cause ? prev.lag.causeSinceMs : nowMs,
    causePartitions: view?.causePartitions ?? prev.lag.causePartitions,
    ...((view ? view.causeIsCoordinator : prev.lag.causeIsCoordinator) ? { causeIsCoordinator: true } : {}),
    causeTouch: view ? view.causeTouch : prev.lag.causeTouch,
    causeBroker: causeBrokerOf(f.cause, brokers),
  };
  return { ...prev, finding: f, quietSinceMs: null, lag };
}

interface Outcome {
  readonly record: AlertRecord;
  /** set when the alert resolves this cycle */
  readonly resolve?: ResolveReason;
}

function quietOther(prev: AlertRecord, nowMs: number, holdMs: number): Outcome {
  return quietFor(prev, nowMs, true, holdMs, 'cleared');
}

/**
 * The resolve clock of a quiet alert: `clear` true keeps it running (from now if it was not)
 * and resolves with `reason` once it has run `forMs`; false or unknown (null) stops it.
 */
function quietFor(prev: AlertRecord, nowMs: number, clear: boolean | null, forMs: number, reason: ResolveReason): Outcome {
  if (clear !== true) return { record: prev.quietSinceMs === null ? prev : { ...prev, quietSinceMs: null } };
  const quietSinceMs = prev.quietSinceMs ?? nowMs;
  const record = prev.quietSinceMs === null ? { ...prev, quietSinceMs } : prev;
  return nowMs - quietSinceMs >= forMs ? { record, resolve: reason } : { record };
}

/** A firing lag alert whose group/topic is not in breach this cycle. */
function quietLag(prev: AlertRecord, nowMs: number, lagView: LagView): Outcome {
  const f = prev.finding as Extract<AlertFinding, { kind: 'ConsumerDeliveryLag' }>;
  const lag = prev.lag as LagIncident;
  const view = lagView.byScope.get(lagScope(f.group, f.topic));
  // Absent from a readable snapshot: the group no longer commits on the topic (deleted,
  // expired offsets, no longer watched). Nothing is left to lag; it closes after
  // resolveFor of absence like a cleared one. Absent because its offsets could not be
  // read: unknown.
  const gone = view === undefined && !lagView.unreadableGroups.has(f.group);
  const clear = view === undefined ? (gone ? true : null) : view.clear;

  let record = prev;
  if (view !== undefined && view.lagSeconds !== f.lagSeconds && view.lagSeconds !== null) {
    // keep the reported seconds current while it recovers (API, resolved page)
    record = { ...record, finding: { ...f, lagSeconds: view.lagSeconds } };
  }
  // above resolveBelow, or unknown: "continuously below" starts over
  return quietFor(record, nowMs, clear, lag.resolveForMs, gone ? 'gone' : 'cleared');
}

/**
 * An early warning whose finding is absent (and no breach took over): resolves once the
 * group/topic has been clear of the warn band (GroupTopicLag.warnClear) for the rule's
 * resolveFor; gone from a readable snapshot, after holdMs; unknown restarts the clock.
 */
function quietAhead(prev: AlertRecord, nowMs: number, lagView: LagView, holdMs: number): Outcome {
  const f = prev.finding as Extract<AlertFinding, { kind: 'ConsumerBreachAhead' }>;
  const view = lagView.byScope.get(lagScope(f.group, f.topic));
  if (view === undefined && !lagView.unreadableGroups.has(f.group)) return quietFor(prev, nowMs, true, holdMs, 'gone');
  if (view === undefined) return quietFor(prev, nowMs, null, 0, 'cleared'); // unreadable: unknown
  // no warnAhead any more for this group/topic (warnClear absent): nothing to warn about
  return quietFor(prev, nowMs, view.warnClear ?? true, view.rule.resolveForMs, 'cleared');
}

function causeBrokerOf(cause: string, brokers: ReadonlyMap<number, BrokerFinding>): BrokerFinding | null {
  if (!cause.startsWith('broker:')) return null;
  return brokers.get(Number(cause.slice('broker:'.length))) ?? null;
}

function notify(cluster: string, key: string, record: AlertRecord, status: 'firing' | 'resolved', nowMs: number, summary?: string): Notification {
  const alert = toAlert(cluster, key, record, status, nowMs, summary);
  const f = record.finding;
  // a proposed plan rides in the channels' plan slot (Slack, PagerDuty, Alertmanager)
  const plan = f.kind === 'RemediationProposed' && status === 'firing' ? planText(f) : undefined;
  return { id: notificationId(alert), alert, ...(plan === undefined ? {} : { plan }) };
}

/**
 * Whether a repeated finding changes nothing worth storing. Partition lists are compared
 * by content; findings whose fields move every cycle (sinceMs is fixed, but stalledForMs
 * grows) are simply replaced.
 */
function sameFinding(a: AlertFinding, b: AlertFinding): boolean {
  if (a === b) return true;
  switch (b.kind) {
    case 'KafkaUnreachable':
      return a.kind === b.kind && a.error === b.error;
    case 'BrokerUnreachable':
      return a.kind === b.kind && a.sinceMs === b.sinceMs && a.error === b.error && a.address === b.address;
    case 'PartitionOffline':
      return a.kind === b.kind && sameTopics(a.topics, b.topics);
    case 'PartitionUnderReplicated':
    case 'PartitionUnderMinIsr':
      return a.kind === b.kind && a.broker === b.broker && sameTopics(a.topics, b.topics);
    case 'PreferredLeaderImbalance':
      return a.kind === b.kind && a.partitions === b.partitions;
    case 'CanaryDegraded':
      return a.kind === b.kind && a.latencyMs === b.latencyMs && a.error === b.error;
    case 'ConsumerStalled':
    case 'ConsumerDeliveryLag':
      return false;
    case 'ConsumerBreachAhead':
      // an estimated instant wobbles with each cycle's estimate: within a second is the same prediction
      return a.kind === b.kind && a.exact === b.exact && Math.abs(a.breachAtMs - b.breachAtMs) < 1000 && sameNumbers(a.partitions, b.partitions);
    case 'ControllerQuorumLeaderless':
      return a.kind === b.kind && a.sinceMs === b.sinceMs && a.error === b.error && a.lastLeaderId === b.lastLeaderId;
    case 'ControllerVoterLagging':
      // records behind move with every metadata record: comparing them would rewrite the
      // stored state every cycle (the metrics carry the current value)
      return a.kind === b.kind && a.sinceMs === b.sinceMs && a.leaderId === b.leaderId && a.thresholdMs === b.thresholdMs;
    case 'ControllerQuorumAtRisk':
      return a.kind === b.kind && a.voters === b.voters && a.caughtUp === b.caughtUp && sameNumbers(a.lagging, b.lagging);
    case 'OffsetsStreamDenied':
      return a.kind === b.kind && a.reason === b.reason;
    case 'RemediationProposed':
      return a.kind === b.kind && a.planId === b.planId;
    case 'RemediationRefused':
      return a.kind === b.kind && a.planId === b.planId && a.refusal === b.refusal;
    default:
      return unreachable(b);
  }
}

function sameTopics(a: readonly TopicPartitions[], b: readonly TopicPartitions[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as TopicPartitions;
    const y = b[i] as TopicPartitions;
    if (x.topic !== y.topic || !sameNumbers(x.partitions, y.partitions)) return false;
  }
  return true;
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
