/**
 * `vigil doctor --send-test-page`: one page, clearly marked as a test, through every
 * configured channel, with each channel's own format and the notifier's delivery rules
 * (src/alerting/notifier.ts), reporting each channel's outcome.
 *
 * Not a page of the design's §4 flow: the doctor runs without an election, so the page is
 * not fenced by a term (`sentBy.term` is 0), does not go through the Redis outbox, and is
 * never retried later or deduplicated across replicas. Run it once per replica you want to
 * see it from. Its alert name, `VigilDoctorTest`, is no alert kind of vigil's: no rule,
 * runbook entry or dashboard knows it, and the page carries no runbook link.
 */
import os from 'node:os';
import type { ChannelConfig, VigilConfig } from '../config/types';
import { redactUrl } from '../config/summary';
import { Notifier } from '../alerting/notifier';
import { type Alert, type AlertName, type Notification, notificationId } from '../alerting/types';
import { silentLogger } from '../log';
import { createMetrics } from '../metrics';
import { check, type Check, listNames } from './check';

export const TEST_PAGE_ALERT = 'VigilDoctorTest';
export const TEST_PAGE_TEXT = 'TEST — vigil doctor, no action needed';

/** The test page: severity info, keyed per replica, saying who sent it from where. */
export function testPageNotification(config: Pick<VigilConfig, 'cluster' | 'node'>, nowMs: number, host: string): Notification {
  const startsAt = new Date(nowMs).toISOString();
  const alert: Alert = {
    key: `${config.cluster}/${TEST_PAGE_ALERT}/${config.node.id}`,
    // A name outside AlertName on purpose: the channels only print it (see the header).
    alert: TEST_PAGE_ALERT as AlertName,
    status: 'firing',
    severity: 'info',
    cluster: config.cluster,
    summary: `${TEST_PAGE_TEXT} (sent by vigil doctor for ${config.node.id} on ${host} at ${startsAt})`,
    startsAt,
    endsAt: null,
  };
  return { id: notificationId(alert), alert };
}

/** The channel as the test page uses it: without the runbook link, since no runbook entry covers a test. */
export function testPageChannel(channel: ChannelConfig): ChannelConfig {
  const { runbookUrl: _none, ...plain } = channel;
  return plain as ChannelConfig;
}

function channelLabel(c: ChannelConfig): string {
  return `${c.name} (${c.type} → ${redactUrl(c.url)})`;
}

/** Without --send-test-page: which channels would page, or a warning that none would. */
export function channelsCheck(config: Pick<VigilConfig, 'alerting'>): Check {
  const channels = config.alerting.channels;
  if (channels.length === 0) return check('alerting.channels', 'warn', 'no alerting.channels: vigil pages nobody', 'add a channel (docs/alerting.md), then run vigil doctor --send-test-page');
  return check('alerting.channels', 'ok', `${channels.length} channel(s): ${listNames(channels.map(channelLabel))}; not tested (--send-test-page sends a test page through each)`);
}

export interface TestPageOptions {
  /** attempts per channel (default 2: one retry) */
  readonly maxAttempts?: number;
  readonly nowMs?: number;
  readonly host?: string;
}

export async function sendTestPages(config: VigilConfig, opts: TestPageOptions = {}): Promise<Check[]> {
  if (config.alerting.channels.length === 0) return [channelsCheck(config)];
  const notification = testPageNotification(config, opts.nowMs ?? Date.now(), opts.host ?? os.hostname());
  const notifier = new Notifier({ logger: silentLogger, metrics: createMetrics({ nodeId: config.node.id, cluster: config.cluster }) });
  const sentBy = { nodeId: config.node.id, term: 0 };
  return Promise.all(
    config.alerting.channels.map(async (channel) => {
      const id = `alerting.${channel.name}`;
      const outcome = await notifier.deliver(notification, testPageChannel(channel), sentBy, { maxAttempts: opts.maxAttempts ?? 2 });
      const label = channelLabel(channel);
      switch (outcome.outcome) {
        case 'delivered':
          return check(id, 'ok', `test page delivered to ${label}: HTTP ${outcome.httpStatus}`);
        case 'rejected':
          return check(id, 'fail', `${label} refused the test page: ${outcome.reason}`, `check channel "${channel.name}" under alerting.channels (url, routing key, headers)`);
        case 'failed':
        case 'aborted':
          return check(id, 'fail', `test page not delivered to ${label}: ${outcome.reason}`, `check that ${redactUrl(channel.url)} is reachable from this host and healthy`);
        default: {
          const never: never = outcome;
          return never;
        }
      }
    }),
  );
}
