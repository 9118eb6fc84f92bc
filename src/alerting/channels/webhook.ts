/**
 * Generic webhook channel: POSTs the version-1 body of docs/design.md §4 to the configured URL,
 * with the configured extra headers. The body is a contract (users' scripts parse it):
 * field order as in docs/design.md §4, fields that do not apply to the alert left out (never null,
 * except endsAt, which is null while firing). `runbookUrl` links the alert's entry in
 * docs/operations.md when alerting.runbookUrl is set (the compiled config always sets it).
 */
import type { ChannelConfig } from '../../config/types';
import { runbookLink } from '../runbook';
import type { Alert, WebhookBodyV1 } from '../types';
import { urlSecrets } from './redact';
import type { ChannelModule, SentBy } from './types';

type WebhookChannel = Extract<ChannelConfig, { type: 'webhook' }>;

/** The docs/design.md §4 body for one alert transition. */
export function webhookBody(alert: Alert, sentBy: SentBy, runbookBase?: string): WebhookBodyV1 {
  // Built field by field (not spread from the alert) so no future Alert field leaks into
  // the contract unannounced, and the order is the documented one.
  const body: { -readonly [K in keyof WebhookBodyV1]?: WebhookBodyV1[K] } = {
    version: 1,
    status: alert.status,
    alert: alert.alert,
    severity: alert.severity,
    key: alert.key,
    cluster: alert.cluster,
  };
  if (alert.group !== undefined) body.group = alert.group;
  if (alert.topic !== undefined) body.topic = alert.topic;
  if (alert.broker !== undefined) body.broker = alert.broker;
  if (alert.partitions !== undefined) body.partitions = [...alert.partitions];
  if (alert.lagSeconds !== undefined) body.lagSeconds = alert.lagSeconds;
  if (alert.threshold !== undefined) body.threshold = alert.threshold;
  if (alert.cause !== undefined) body.cause = alert.cause;
  body.startsAt = alert.startsAt;
  body.endsAt = alert.endsAt;
  body.summary = alert.summary;
  body.sentBy = { nodeId: sentBy.nodeId, term: sentBy.term };
  // Last, so the fields of docs/design.md §4 keep their documented order.
  const runbookUrl = runbookLink(runbookBase, alert);
  if (runbookUrl !== undefined) body.runbookUrl = runbookUrl;
  return body as WebhookBodyV1;
}

export const webhookChannel: ChannelModule<WebhookChannel> = {
  build(channel, notification, ctx) {
    return { url: channel.url, headers: { ...channel.headers }, body: webhookBody(notification.alert, ctx.sentBy, channel.runbookUrl) };
  },
  secrets(channel) {
    return [...urlSecrets(channel.url, { pathIsSecret: true }), ...Object.values(channel.headers)];
  },
};
