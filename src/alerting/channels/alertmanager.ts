/**
 * Prometheus Alertmanager (POST <url>/api/v2/alerts, a one-element array).
 *
 * Labels are the alert's identity in Alertmanager (it deduplicates and groups by them), so
 * they hold only what is stable for an incident: alertname, cluster, severity, key, and
 * group / topic / broker when the alert has them. What changes while an alert fires — lag,
 * partitions, the cause, the sending replica — goes into annotations, which Alertmanager
 * replaces on every post.
 *
 * Alertmanager treats an alert that is not re-sent as resolved once its endsAt passes
 * (or, with no endsAt, after its resolve_timeout, 5 min by default). So vigil states an
 * explicit endsAt on firing alerts — now + ALERTMANAGER_FIRING_TTL_MS — and the leader must
 * re-post every firing alert at least every ALERTMANAGER_RESEND_INTERVAL_MS
 * (AlertmanagerRefresher in ./alertmanager-refresh does it). Four re-sends fit in one TTL,
 * as with Prometheus' own resend delay, so three lost posts or a leader failover do not
 * resolve a live alert; if every vigil replica is down, Alertmanager resolves the alerts
 * within the TTL — alert on vigil being down in Prometheus for that case. A resolved alert
 * is posted with its real endsAt (in the past), which resolves it at once.
 */
import type { ChannelConfig } from '../../config/types';
import { runbookLink } from '../runbook';
import type { Alert } from '../types';
import { formatPartitions } from './format';
import { urlSecrets } from './redact';
import type { ChannelModule, SentBy } from './types';

type AlertmanagerChannel = Extract<ChannelConfig, { type: 'alertmanager' }>;

/** How often the leader re-posts a firing alert (Prometheus' resend delay is also 1 min). */
export const ALERTMANAGER_RESEND_INTERVAL_MS = 60_000;
/** endsAt of a firing alert, from the time of the post: four resend intervals. */
export const ALERTMANAGER_FIRING_TTL_MS = 4 * ALERTMANAGER_RESEND_INTERVAL_MS;

/** One element of Alertmanager's PostableAlerts. Label and annotation values are strings. */
export interface AlertmanagerAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  /** Alertmanager's link back to the alert's source: here, its runbook entry. */
  readonly generatorURL?: string;
}

export function alertmanagerLabels(alert: Alert): Record<string, string> {
  const labels: Record<string, string> = {
    alertname: alert.alert,
    cluster: alert.cluster,
    severity: alert.severity,
    key: alert.key,
  };
  if (alert.group !== undefined) labels['group'] = alert.group;
  if (alert.topic !== undefined) labels['topic'] = alert.topic;
  if (alert.broker !== undefined) labels['broker'] = String(alert.broker);
  return labels;
}

export function alertmanagerAlert(
  alert: Alert,
  sentBy: SentBy,
  nowMs: number,
  opts: { plan?: string; firingTtlMs?: number; runbookBase?: string } = {},
): AlertmanagerAlert {
  const annotations: Record<string, string> = { summary: alert.summary };
  if (alert.cause !== undefined) annotations['cause'] = alert.cause;
  if (alert.lagSeconds !== undefined) annotations['lagSeconds'] = String(alert.lagSeconds);
  if (alert.threshold !== undefined) annotations['threshold'] = String(alert.threshold);
  if (alert.partitions !== undefined) annotations['partitions'] = formatPartitions(alert.partitions, 100);
  if (opts.plan !== undefined && opts.plan !== '') annotations['plan'] = opts.plan;
  annotations['sentBy'] = `${sentBy.nodeId} (term ${sentBy.term})`;
  const runbookUrl = runbookLink(opts.runbookBase, alert);
  // runbook_url: the annotation Prometheus rules use for the same purpose (Alertmanager
  // templates and Grafana show it); generatorURL: the link Alertmanager's UI shows as
  // "Source" — for a vigil page, the entry that says what to do.
  if (runbookUrl !== undefined) annotations['runbook_url'] = runbookUrl;

  const endsAt =
    alert.status === 'resolved' && alert.endsAt !== null
      ? alert.endsAt
      : new Date(nowMs + (opts.firingTtlMs ?? ALERTMANAGER_FIRING_TTL_MS)).toISOString();
  return {
    labels: alertmanagerLabels(alert),
    annotations,
    startsAt: alert.startsAt,
    endsAt,
    ...(runbookUrl === undefined ? {} : { generatorURL: runbookUrl }),
  };
}

export function alertmanagerAlertsUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/v2/alerts`;
}

export const alertmanagerChannel: ChannelModule<AlertmanagerChannel> = {
  build(channel, notification, ctx) {
    return {
      url: alertmanagerAlertsUrl(channel.url),
      headers: {},
      body: [alertmanagerAlert(notification.alert, ctx.sentBy, ctx.nowMs, { plan: notification.plan, runbookBase: channel.runbookUrl })],
    };
  },
  secrets(channel) {
    return urlSecrets(channel.url, { pathIsSecret: false });
  },
};
