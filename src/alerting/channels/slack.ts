/**
 * Slack incoming webhook. `text` is the one-line fallback Slack shows in notifications and
 * on clients without blocks; the blocks carry status, severity, the summary and the key
 * fields. Limits respected (Slack drops the whole message otherwise): header text 150
 * characters, section text 3000, at most 10 fields of 2000 each.
 */
import type { ChannelConfig, Severity } from '../../config/types';
import { runbookLink } from '../runbook';
import type { Alert } from '../types';
import { formatLag, formatPartitions, truncate } from './format';
import { urlSecrets } from './redact';
import type { ChannelModule, SentBy } from './types';

type SlackChannel = Extract<ChannelConfig, { type: 'slack' }>;

const SEVERITY_ICON: Record<Severity, string> = {
  critical: ':red_circle:',
  warning: ':large_orange_circle:',
  info: ':large_blue_circle:',
};
const RESOLVED_ICON = ':white_check_mark:';

const MAX_HEADER_CHARS = 150;
const MAX_SECTION_CHARS = 3000;
const MAX_FIELDS = 10;

/** Slack mrkdwn control characters (&, <, >) in user-controlled names and summaries. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function statusWord(alert: Alert): string {
  return alert.status === 'firing' ? 'FIRING' : 'RESOLVED';
}

function icon(alert: Alert): string {
  return alert.status === 'firing' ? SEVERITY_ICON[alert.severity] : RESOLVED_ICON;
}

/** The one-line fallback: "🔴 [FIRING] critical ConsumerDeliveryLag (local): <summary>". */
export function slackText(alert: Alert): string {
  return `${icon(alert)} [${statusWord(alert)}] ${alert.severity} ${alert.alert} (${escapeMrkdwn(alert.cluster)}): ${escapeMrkdwn(alert.summary)}`;
}

function field(label: string, value: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: truncate(`*${label}*\n${value}`, 2000) };
}

/** `runbookBase` (alerting.runbookUrl) adds a "Runbook" link to the context line. */
export function slackBody(alert: Alert, sentBy: SentBy, plan?: string, runbookBase?: string): unknown {
  const e = escapeMrkdwn;
  const fields = [field('Severity', alert.severity), field('Cluster', e(alert.cluster))];
  if (alert.group !== undefined) fields.push(field('Group', e(alert.group)));
  if (alert.topic !== undefined) fields.push(field('Topic', e(alert.topic)));
  if (alert.broker !== undefined) fields.push(field('Broker', String(alert.broker)));
  if (alert.partitions !== undefined) fields.push(field('Partitions', formatPartitions(alert.partitions)));
  const lag = formatLag(alert);
  if (lag !== undefined) fields.push(field('Delivery lag', lag));
  if (alert.cause !== undefined) fields.push(field('Cause', alert.cause));
  fields.push(field('Started', alert.startsAt));
  if (alert.endsAt !== null) fields.push(field('Resolved', alert.endsAt));

  const blocks: unknown[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncate(`${icon(alert)} ${statusWord(alert)}: ${alert.alert}`, MAX_HEADER_CHARS), emoji: true },
    },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(e(alert.summary), MAX_SECTION_CHARS) } },
    { type: 'section', fields: fields.slice(0, MAX_FIELDS) },
  ];
  if (plan !== undefined && plan !== '') {
    // Fences inside the plan would end the code block early.
    const code = truncate(e(plan).replace(/```/g, "'''"), MAX_SECTION_CHARS - 60);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Remediation plan (dry-run)*\n\`\`\`${code}\`\`\`` } });
  }
  const context: Array<{ type: 'mrkdwn'; text: string }> = [
    { type: 'mrkdwn', text: truncate(`key \`${e(alert.key)}\` · sent by ${e(sentBy.nodeId)} (term ${sentBy.term})`, 2000) },
  ];
  const runbookUrl = runbookLink(runbookBase, alert);
  // A link element of its own: truncating the key line can never cut the URL.
  if (runbookUrl !== undefined) context.push({ type: 'mrkdwn', text: `<${slackLinkUrl(runbookUrl)}|Runbook: ${alert.alert}>` });
  blocks.push({ type: 'context', elements: context });
  return { text: slackText(alert), blocks };
}

/** Slack link syntax <url|text>: the URL's own &, <, > escaped, and a "|" would end it early. */
function slackLinkUrl(url: string): string {
  return escapeMrkdwn(url).replace(/\|/g, '%7C');
}

export const slackChannel: ChannelModule<SlackChannel> = {
  build(channel, notification, ctx) {
    return { url: channel.url, headers: {}, body: slackBody(notification.alert, ctx.sentBy, notification.plan, channel.runbookUrl) };
  },
  secrets(channel) {
    return urlSecrets(channel.url, { pathIsSecret: true });
  },
};
