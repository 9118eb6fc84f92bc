/**
 * The channel modules behind one switch: config → request (pure) and config → secrets.
 * Adding a channel type means a module here and a case below; the never-check makes the
 * compiler point at this file when src/config grows a type.
 */
import type { ChannelConfig } from '../../config/types';
import type { Notification } from '../types';
import { alertmanagerChannel } from './alertmanager';
import { pagerDutyChannel } from './pagerduty';
import { slackChannel } from './slack';
import type { BuildContext, ChannelRequest } from './types';
import { webhookChannel } from './webhook';

export type { BuildContext, ChannelRequest, SentBy } from './types';
export { webhookBody } from './webhook';
export { slackBody, slackText } from './slack';
export { pagerDutyBody, pagerDutyDedupKey, pagerDutySeverity } from './pagerduty';
export {
  ALERTMANAGER_FIRING_TTL_MS,
  ALERTMANAGER_RESEND_INTERVAL_MS,
  alertmanagerAlert,
  alertmanagerAlertsUrl,
  alertmanagerLabels,
} from './alertmanager';
export { AlertmanagerRefresher } from './alertmanager-refresh';
export { REDACTED, scrub } from './redact';

export function buildRequest(channel: ChannelConfig, notification: Notification, ctx: BuildContext): ChannelRequest {
  switch (channel.type) {
    case 'webhook':
      return webhookChannel.build(channel, notification, ctx);
    case 'slack':
      return slackChannel.build(channel, notification, ctx);
    case 'pagerduty':
      return pagerDutyChannel.build(channel, notification, ctx);
    case 'alertmanager':
      return alertmanagerChannel.build(channel, notification, ctx);
    default: {
      const unreachable: never = channel;
      throw new Error(`unknown channel type ${String((unreachable as ChannelConfig).type)}`);
    }
  }
}

export function channelSecrets(channel: ChannelConfig): readonly string[] {
  switch (channel.type) {
    case 'webhook':
      return webhookChannel.secrets(channel);
    case 'slack':
      return slackChannel.secrets(channel);
    case 'pagerduty':
      return pagerDutyChannel.secrets(channel);
    case 'alertmanager':
      return alertmanagerChannel.secrets(channel);
    default: {
      const unreachable: never = channel;
      throw new Error(`unknown channel type ${String((unreachable as ChannelConfig).type)}`);
    }
  }
}
