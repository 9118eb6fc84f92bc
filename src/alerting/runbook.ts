/**
 * Where the runbook entry of a page lives: docs/operations.md has one entry per alert kind
 * (and per ConsumerDeliveryLag cause), each under an explicit `<a id="…">` anchor, and every
 * channel links the page to `<alerting.runbookUrl>#<anchor>`. Every replica serves that
 * file rendered at GET /runbook (src/http/runbook.ts), which is the default base.
 *
 * The anchors are a contract: pages already sent, bookmarks and the Prometheus rules'
 * runbook_url annotations point at them. test/unit/runbook.test.ts fails when an alert
 * kind or cause has no entry in docs/operations.md.
 */
import type { LagCause } from '../monitor/findings';
import type { Alert, AlertName } from './types';

/** One anchor per alert kind; a Record, so a new AlertName does not compile without one. */
const ALERT_ANCHORS: Readonly<Record<AlertName, string>> = {
  BrokerUnreachable: 'brokerunreachable',
  PartitionOffline: 'partitionoffline',
  PartitionUnderReplicated: 'partitionunderreplicated',
  PartitionUnderMinIsr: 'partitionunderminisr',
  PreferredLeaderImbalance: 'preferredleaderimbalance',
  ConsumerDeliveryLag: 'consumerdeliverylag',
  ConsumerStalled: 'consumerstalled',
  ConsumerBreachAhead: 'consumerbreachahead',
  CanaryDegraded: 'canarydegraded',
  KafkaUnreachable: 'kafkaunreachable',
  ControllerQuorumLeaderless: 'controllerquorumleaderless',
  ControllerVoterLagging: 'controllervoterlagging',
  ControllerQuorumAtRisk: 'controllerquorumatrisk',
  OffsetsStreamDenied: 'offsetsstreamdenied',
  RemediationProposed: 'remediationproposed',
  RemediationRefused: 'remediationrefused',
};

/** The kinds of LagCause, without the broker id. */
export type LagCauseKind = 'consumer' | 'broker' | 'partition-offline';

const LAG_CAUSE_KINDS: Readonly<Record<LagCauseKind, true>> = { consumer: true, broker: true, 'partition-offline': true };

export const ALERT_NAMES: readonly AlertName[] = Object.keys(ALERT_ANCHORS) as AlertName[];

export function lagCauseKind(cause: LagCause): LagCauseKind {
  if (cause === 'consumer' || cause === 'partition-offline') return cause;
  return 'broker';
}

/**
 * Every anchor a page can link to: each alert kind's, and ConsumerDeliveryLag's per cause
 * ("consumerdeliverylag-consumer", "consumerdeliverylag-broker", …).
 */
export function runbookAnchors(): string[] {
  const out = Object.values(ALERT_ANCHORS);
  for (const cause of Object.keys(LAG_CAUSE_KINDS)) out.push(`${ALERT_ANCHORS.ConsumerDeliveryLag}-${cause}`);
  return out;
}

/** The entry for this alert: its cause's for a lag alert with one, else its kind's. */
export function runbookAnchor(alert: Pick<Alert, 'alert' | 'cause'>): string {
  const base = ALERT_ANCHORS[alert.alert];
  if (alert.alert === 'ConsumerDeliveryLag' && alert.cause !== undefined) return `${base}-${lagCauseKind(alert.cause)}`;
  return base;
}

/**
 * `<base>#<anchor>`, or undefined when no base is configured (channels then send no link).
 * `base` is alerting.runbookUrl, validated in src/config to carry no fragment of its own.
 */
export function runbookLink(base: string | undefined, alert: Pick<Alert, 'alert' | 'cause'>): string | undefined {
  if (base === undefined || base === '') return undefined;
  return `${base}#${runbookAnchor(alert)}`;
}
