/**
 * PagerDuty Events API v2 (POST to the configured url, by default
 * https://events.pagerduty.com/v2/enqueue). A firing alert is a `trigger`, a resolved one a
 * `resolve`, both with `dedup_key` = the alert key, so PagerDuty folds re-sends (retries,
 * a new vigil leader finishing an old one's delivery) into one incident and a resolve
 * closes exactly that incident.
 */
import crypto from 'node:crypto';
import type { ChannelConfig, Severity } from '../../config/types';
import { runbookLink } from '../runbook';
import type { Alert } from '../types';
import { truncate } from './format';
import { urlSecrets } from './redact';
import type { ChannelModule, SentBy } from './types';
import { webhookBody } from './webhook';

type PagerDutyChannel = Extract<ChannelConfig, { type: 'pagerduty' }>;

export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/** PagerDuty's limits: a longer dedup_key or summary is a 400. */
const MAX_DEDUP_KEY_CHARS = 255;
const MAX_SUMMARY_CHARS = 1024;

/** vigil has no "error" level; the other three map one to one. */
export function pagerDutySeverity(severity: Severity): PagerDutySeverity {
  switch (severity) {
    case 'critical':
      return 'critical';
    case 'warning':
      return 'warning';
    case 'info':
      return 'info';
    default: {
      const unreachable: never = severity;
      throw new Error(`unknown severity ${String(unreachable)}`);
    }
  }
}

/**
 * The alert key, or — when group and topic names make it longer than PagerDuty allows — a
 * deterministic shortening (prefix + hash of the whole key), so trigger and resolve still
 * meet in one incident.
 */
export function pagerDutyDedupKey(alertKey: string): string {
  if (alertKey.length <= MAX_DEDUP_KEY_CHARS) return alertKey;
  const hash = crypto.createHash('sha256').update(alertKey).digest('hex').slice(0, 16);
  return `${alertKey.slice(0, MAX_DEDUP_KEY_CHARS - hash.length - 1)}#${hash}`;
}

/** What the alert is about, in PagerDuty's words: the group, else the broker, else the topic. */
function component(alert: Alert): string | undefined {
  if (alert.group !== undefined) return alert.group;
  if (alert.broker !== undefined) return `broker ${alert.broker}`;
  return alert.topic;
}

/**
 * The trigger carries the alert's runbook entry twice: in `links` (PagerDuty shows it on the
 * incident) and as `runbookUrl` in custom_details (the webhook body's field).
 */
export function pagerDutyBody(alert: Alert, routingKey: string, sentBy: SentBy, plan?: string, runbookBase?: string): unknown {
  const dedupKey = pagerDutyDedupKey(alert.key);
  if (alert.status === 'resolved') {
    // A resolve needs nothing but the key: PagerDuty ignores a payload on resolve.
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey };
  }
  // The generic body (docs/design.md §4) minus what the envelope already says, plus the plan.
  const { version: _v, status: _s, ...details } = webhookBody(alert, sentBy, runbookBase);
  const comp = component(alert);
  const runbookUrl = runbookLink(runbookBase, alert);
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: truncate(alert.summary, MAX_SUMMARY_CHARS),
      source: alert.cluster,
      severity: pagerDutySeverity(alert.severity),
      timestamp: alert.startsAt,
      ...(comp === undefined ? {} : { component: comp }),
      class: alert.alert,
      custom_details: plan === undefined || plan === '' ? details : { ...details, plan },
    },
    client: 'vigil',
    ...(runbookUrl === undefined ? {} : { links: [{ href: runbookUrl, text: `Runbook: ${alert.alert}` }] }),
  };
}

export const pagerDutyChannel: ChannelModule<PagerDutyChannel> = {
  build(channel, notification, ctx) {
    return { url: channel.url, headers: {}, body: pagerDutyBody(notification.alert, channel.routingKey, ctx.sentBy, notification.plan, channel.runbookUrl) };
  },
  secrets(channel) {
    return [channel.routingKey, ...urlSecrets(channel.url, { pathIsSecret: false })];
  },
};
