/**
 * Which plans vigil wants now (docs/design.md §5.1): pure, from one cycle's snapshot and
 * findings, the plans already made, and how long each broker has been healthy.
 *
 * - A **hung** broker — still in the metadata (Kafka has not fenced it) yet answering
 *   nothing for `remediation.hungAfter` — is moved off: `evict` (out of the replica sets
 *   where it is in sync, so neither consumers nor acks=all producers wait for it; led
 *   elsewhere where min.insync.replicas forbids dropping it).
 * - A **slow** broker — reachable, in the metadata, named as the cause of a delivery-lag
 *   breach (canary latency or lag concentrated on partitions it touches) — gets
 *   `lead-elsewhere` first; if a group still lags because of it `SLOW_EVICT_AFTER_MS`
 *   after that plan finished, `evict`.
 * - A broker **gone** from the metadata longer than `remediation.brokerDownGrace` gets
 *   `restore-rf`. Kafka itself already moved its leadership when it fenced it.
 * - A broker healthy again for `remediation.recoverGrace` gets back what vigil moved off
 *   it (`give-back`), and only that.
 * - Partitions **offline** (no leader, no live in-sync replica): `unclean-elect`, only with
 *   `remediation.allowUncleanElection` — it loses the records the new leader never copied.
 *   Without it they are paged (PartitionOffline, critical) and nothing else.
 * - Cause `consumer`: nothing. Moving partitions does not fix a slow consumer.
 *
 * Guards that refuse every new plan (the reason is recorded with the plan): the controller
 * quorum without a leader (Kafka cannot apply a change), more than
 * `maxBrokersDownFraction` of the brokers down (an outage for people, not a rebalance).
 */
import type { VigilConfig } from '../config/types';
import { DEFAULT_DETECT_OPTIONS, slowAnswerers } from '../monitor/detect';
import { type Finding, slowAnswersText } from '../monitor/findings';
import type { KafkaSnapshot } from '../monitor/snapshot';
import type { PlanKind } from './plan';
import { type RemediationDoc, changedOffBroker, isActive } from './record';

/** After lead-elsewhere finished, a group lagging because of the same broker this long gets it evicted. */
export const SLOW_EVICT_AFTER_MS = 10_000;
/** Partitions still offline after an unclean-elect plan finished get another one after this long. */
export const UNCLEAN_RETRY_MS = 30_000;

export interface Want {
  readonly kind: PlanKind;
  readonly broker: number;
  /** the cause vocabulary of monitor/: `broker:3 hung (no answer for 2.4 s)` */
  readonly cause: string;
}

export interface PolicyInput {
  readonly snapshot: Extract<KafkaSnapshot, { ok: true }>;
  readonly findings: readonly Finding[];
  readonly doc: RemediationDoc;
  /** broker → wall ms since which this leader has seen it healthy (kept by the executor) */
  readonly healthySinceMs: ReadonlyMap<number, number>;
  /** broker → wall ms since which this leader has seen it gone from the metadata */
  readonly goneSinceMs: ReadonlyMap<number, number>;
  readonly config: VigilConfig['remediation'];
  readonly nowMs: number;
}

export interface PolicyResult {
  readonly wants: readonly Want[];
  /** set when no new plan may be made this cycle, with the reason */
  readonly refuse: string | null;
  /** brokers that are not healthy this cycle (unreachable, gone, slow): never targets, never given back */
  readonly troubled: ReadonlySet<number>;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function wantedPlans(input: PolicyInput): PolicyResult {
  const { snapshot, findings, doc, config, nowMs } = input;
  const troubled = troubledBrokers(snapshot, findings);
  const wants: Want[] = [];
  const byBroker = new Map(snapshot.brokers.map((b) => [b.nodeId, b]));

  for (const f of findings) {
    if (f.kind !== 'BrokerUnreachable') continue;
    const b = byBroker.get(f.broker);
    if (b?.inMetadata) {
      const silentMs = nowMs - f.sinceMs;
      if (silentMs >= config.hungAfterMs) wants.push({ kind: 'evict', broker: f.broker, cause: `broker:${f.broker} hung (no answer for ${seconds(silentMs)}, still in the metadata)` });
    }
  }
  for (const [broker, since] of input.goneSinceMs) {
    if (nowMs - since >= config.brokerDownGraceMs) wants.push({ kind: 'restore-rf', broker, cause: `broker:${broker} gone from the cluster for ${seconds(nowMs - since)}` });
  }
  const answers = slowAnswerers(snapshot.brokers, DEFAULT_DETECT_OPTIONS);
  for (const broker of slowBrokers(snapshot, findings)) {
    const slow = answers.get(broker);
    const evidence = slow === undefined ? '' : ` (it ${slowAnswersText(slow)})`;
    const lead = latest(doc, 'lead-elsewhere', broker);
    if (lead?.status === 'done' && lead.givenBackBy === undefined && nowMs - (lead.finishedAtMs ?? nowMs) >= SLOW_EVICT_AFTER_MS) {
      wants.push({ kind: 'evict', broker, cause: `broker:${broker} slow: groups still lag because of it ${seconds(nowMs - (lead.finishedAtMs ?? nowMs))} after its leadership moved${evidence}` });
    } else if (lead === undefined || lead.givenBackBy !== undefined || lead.status === 'dropped' || lead.status === 'refused') {
      wants.push({ kind: 'lead-elsewhere', broker, cause: `broker:${broker} slow: consumer groups lag because of it${evidence}` });
    }
  }
  const offline = findings.find((f) => f.kind === 'PartitionOffline');
  if (config.allowUncleanElection && offline?.kind === 'PartitionOffline') {
    const last = latest(doc, 'unclean-elect', -1);
    if (last?.status !== 'done' || nowMs - (last.finishedAtMs ?? 0) >= UNCLEAN_RETRY_MS) {
      const n = offline.topics.reduce((a, t) => a + t.partitions.length, 0);
      wants.push({ kind: 'unclean-elect', broker: -1, cause: `${n} partition${n === 1 ? '' : 's'} offline: no live in-sync replica` });
    }
  }
  for (const b of snapshot.brokers) {
    if (troubled.has(b.nodeId)) continue;
    const since = input.healthySinceMs.get(b.nodeId);
    if (since === undefined || nowMs - since < config.recoverGraceMs) continue;
    if (changedOffBroker(doc, b.nodeId).moves.length > 0) wants.push({ kind: 'give-back', broker: b.nodeId, cause: `broker:${b.nodeId} healthy for ${seconds(nowMs - since)}` });
  }
  return { wants: wants.filter((w, i) => wants.findIndex((x) => x.kind === w.kind && x.broker === w.broker) === i), refuse: refusal(snapshot, findings, config), troubled };
}

/**
 * Brokers unreachable, gone, canary-degraded, much slower to answer than the others
 * (docs/design.md §4.3; never a target, even while no group lags because of it) or named as
 * a lag cause this cycle.
 */
export function troubledBrokers(snapshot: Extract<KafkaSnapshot, { ok: true }>, findings: readonly Finding[]): Set<number> {
  const out = new Set<number>();
  for (const b of snapshot.brokers) if (!b.reachable || !b.inMetadata) out.add(b.nodeId);
  for (const b of slowAnswerers(snapshot.brokers, DEFAULT_DETECT_OPTIONS).keys()) out.add(b);
  for (const f of findings) {
    if (f.kind === 'BrokerUnreachable' || f.kind === 'CanaryDegraded') out.add(f.broker);
    const cause = causeBroker(f);
    if (cause !== null) out.add(cause);
  }
  return out;
}

function causeBroker(f: Finding): number | null {
  if (f.kind !== 'ConsumerDeliveryLag' || !f.cause.startsWith('broker:')) return null;
  const id = Number(f.cause.slice('broker:'.length));
  return Number.isInteger(id) ? id : null;
}

/** Reachable brokers in the metadata named as the cause of a lag breach: slow, not down. */
function slowBrokers(snapshot: Extract<KafkaSnapshot, { ok: true }>, findings: readonly Finding[]): number[] {
  const up = new Set(snapshot.brokers.filter((b) => b.reachable && b.inMetadata).map((b) => b.nodeId));
  const out = new Set<number>();
  for (const f of findings) {
    const b = causeBroker(f);
    if (b !== null && up.has(b)) out.add(b);
  }
  return [...out].sort((a, b) => a - b);
}

function latest(doc: RemediationDoc, kind: PlanKind, broker: number) {
  return doc.plans.find((r) => r.plan.kind === kind && r.plan.broker === broker);
}

function refusal(snapshot: Extract<KafkaSnapshot, { ok: true }>, findings: readonly Finding[], config: VigilConfig['remediation']): string | null {
  if (findings.some((f) => f.kind === 'ControllerQuorumLeaderless')) {
    return 'the controller quorum has no leader: Kafka cannot apply a reassignment or an election now';
  }
  const known = snapshot.brokers.length;
  const down = snapshot.brokers.filter((b) => !b.reachable || !b.inMetadata).length;
  if (known > 0 && down / known > config.maxBrokersDownFraction) {
    return `${down} of ${known} brokers are down, more than remediation.maxBrokersDownFraction (${config.maxBrokersDownFraction}): an outage for people, not a rebalance`;
  }
  return null;
}

/** Whether a plan of this kind about this broker is already proposed or running. */
export function hasActive(doc: RemediationDoc, kind: PlanKind, broker: number): boolean {
  return doc.plans.some((r) => isActive(r) && r.plan.kind === kind && r.plan.broker === broker);
}
