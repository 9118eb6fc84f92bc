/**
 * The request each channel sends (docs/design.md §4 "Channels"), as exact JSON: receivers and
 * users' scripts parse these bodies, so a changed field is a broken contract.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALERTMANAGER_FIRING_TTL_MS,
  ALERTMANAGER_RESEND_INTERVAL_MS,
  alertmanagerAlert,
  buildRequest,
  channelSecrets,
  pagerDutyDedupKey,
  pagerDutySeverity,
  scrub,
  webhookBody,
} from '../../src/alerting/channels';
import { urlSecrets } from '../../src/alerting/channels/redact';
import { escapeMrkdwn } from '../../src/alerting/channels/slack';
import type { ChannelConfig } from '../../src/config/types';
import { BROKER_FIRING, LAG_FIRING, LAG_RESOLVED, SENT_BY, WALL_START_MS, notification } from './channels-fixture';

const CTX = { sentBy: SENT_BY, nowMs: WALL_START_MS };

const WEBHOOK: ChannelConfig = { type: 'webhook', name: 'hook', url: 'https://hooks.example.com/vigil?token=s3cr3t-tok', headers: { Authorization: 'Bearer hook-secret-1' } };
const SLACK: ChannelConfig = { type: 'slack', name: 'slack', url: 'https://hooks.slack.com/services/T000/B000/XXXXSECRET' };
const PAGERDUTY: ChannelConfig = { type: 'pagerduty', name: 'oncall', routingKey: 'R0UTINGKEY0123456789abcdef012345', url: 'https://events.pagerduty.com/v2/enqueue' };
const ALERTMANAGER: ChannelConfig = { type: 'alertmanager', name: 'am', url: 'http://alertmanager:9093' };

describe('webhook channel: the generic body of docs/design.md §4', () => {
  it('is the docs/design.md §4 example byte for byte, field order included', () => {
    const expected =
      '{"version":1,"status":"firing","alert":"ConsumerDeliveryLag","severity":"critical",' +
      '"key":"local/ConsumerDeliveryLag/orders-svc/orders","cluster":"local",' +
      '"group":"orders-svc","topic":"orders","partitions":[0,3],"lagSeconds":12.4,' +
      '"threshold":10,"cause":"consumer","startsAt":"2026-11-26T10:00:00.000Z","endsAt":null,' +
      '"summary":"orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy",' +
      '"sentBy":{"nodeId":"vigil-2","term":7}}';
    assert.equal(JSON.stringify(webhookBody(LAG_FIRING, SENT_BY)), expected);
  });

  it('carries status resolved and the real endsAt when the alert resolves', () => {
    const body = webhookBody(LAG_RESOLVED, SENT_BY);
    assert.equal(body.status, 'resolved');
    assert.equal(body.endsAt, '2026-11-26T10:05:00.000Z');
    assert.equal(body.lagSeconds, 3.2);
    assert.equal(body.startsAt, LAG_FIRING.startsAt, 'startsAt stays the incident start');
  });

  it('omits every field that does not apply (no nulls, no undefined keys), and carries broker when it applies', () => {
    const body = webhookBody(BROKER_FIRING, SENT_BY);
    assert.deepEqual(Object.keys(body), ['version', 'status', 'alert', 'severity', 'key', 'cluster', 'broker', 'startsAt', 'endsAt', 'summary', 'sentBy']);
    assert.deepEqual(body, {
      version: 1,
      status: 'firing',
      alert: 'BrokerUnreachable',
      severity: 'warning',
      key: 'local/BrokerUnreachable/2',
      cluster: 'local',
      broker: 2,
      startsAt: '2026-11-26T10:00:00.000Z',
      endsAt: null,
      summary: 'broker 2 (127.0.0.1:9093) unreachable for 4 s: connection refused',
      sentBy: { nodeId: 'vigil-2', term: 7 },
    });
  });

  it('does not pass through fields the contract does not name (e.g. a dry-run plan)', () => {
    const request = buildRequest(WEBHOOK, notification(LAG_FIRING, 'move leader of orders-0 to broker 3'), CTX);
    assert.equal(JSON.stringify(request.body), JSON.stringify(webhookBody(LAG_FIRING, SENT_BY)));
  });

  it('POSTs to the configured URL with the configured headers', () => {
    const request = buildRequest(WEBHOOK, notification(LAG_FIRING), CTX);
    assert.equal(request.url, 'https://hooks.example.com/vigil?token=s3cr3t-tok');
    assert.deepEqual(request.headers, { Authorization: 'Bearer hook-secret-1' });
  });
});

describe('slack channel: incoming-webhook text and blocks', () => {
  it('firing: one-line text, header with status, summary, key fields, context with key and sender', () => {
    const request = buildRequest(SLACK, notification(LAG_FIRING), CTX);
    assert.equal(request.url, SLACK.url);
    assert.deepEqual(request.body, {
      text: ':red_circle: [FIRING] critical ConsumerDeliveryLag (local): orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: ':red_circle: FIRING: ConsumerDeliveryLag', emoji: true } },
        { type: 'section', text: { type: 'mrkdwn', text: 'orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Severity*\ncritical' },
            { type: 'mrkdwn', text: '*Cluster*\nlocal' },
            { type: 'mrkdwn', text: '*Group*\norders-svc' },
            { type: 'mrkdwn', text: '*Topic*\norders' },
            { type: 'mrkdwn', text: '*Partitions*\n0, 3' },
            { type: 'mrkdwn', text: '*Delivery lag*\n12.4 s (threshold 10 s)' },
            { type: 'mrkdwn', text: '*Cause*\nconsumer' },
            { type: 'mrkdwn', text: '*Started*\n2026-11-26T10:00:00.000Z' },
          ],
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'key `local/ConsumerDeliveryLag/orders-svc/orders` · sent by vigil-2 (term 7)' }] },
      ],
    });
  });

  it('resolved: a check mark, RESOLVED, and the resolve time as a field', () => {
    const body = buildRequest(SLACK, notification(LAG_RESOLVED), CTX).body as { text: string; blocks: Array<Record<string, unknown>> };
    assert.equal(body.text, ':white_check_mark: [RESOLVED] critical ConsumerDeliveryLag (local): orders-svc is 3.2 s behind on orders (below 8 s for 30 s); resolved');
    assert.deepEqual(body.blocks[0], { type: 'header', text: { type: 'plain_text', text: ':white_check_mark: RESOLVED: ConsumerDeliveryLag', emoji: true } });
    const fields = (body.blocks[2] as { fields: Array<{ text: string }> }).fields.map((f) => f.text);
    assert.deepEqual(fields.slice(-2), ['*Started*\n2026-11-26T10:00:00.000Z', '*Resolved*\n2026-11-26T10:05:00.000Z']);
    assert.ok(fields.includes('*Delivery lag*\n3.2 s (threshold 10 s)'));
  });

  it('shows only the fields an alert has, the broker among them', () => {
    const body = buildRequest(SLACK, notification(BROKER_FIRING), CTX).body as { blocks: Array<{ fields?: Array<{ text: string }> }> };
    assert.deepEqual(
      body.blocks[2]?.fields?.map((f) => f.text.split('\n')[0]),
      ['*Severity*', '*Cluster*', '*Broker*', '*Started*'],
    );
    assert.equal((body.blocks[0] as unknown as { text: { text: string } }).text.text, ':large_orange_circle: FIRING: BrokerUnreachable');
  });

  it('attaches a dry-run plan as a code block, and escapes Slack control characters in names', () => {
    const alert = { ...LAG_FIRING, group: 'a<b>&c', summary: 'a<b>&c is 12.4 s behind' };
    const body = buildRequest(SLACK, notification(alert, 'move orders-0 leader 2 -> 3'), CTX).body as { text: string; blocks: Array<Record<string, unknown>> };
    assert.deepEqual(body.blocks[3], { type: 'section', text: { type: 'mrkdwn', text: '*Remediation plan (dry-run)*\n```move orders-0 leader 2 -&gt; 3```' } });
    assert.match(body.text, /a&lt;b&gt;&amp;c is 12\.4 s behind$/);
    assert.equal(escapeMrkdwn('<!channel> & co'), '&lt;!channel&gt; &amp; co');
  });

  it('keeps within Slack limits for huge partition lists (max 20 listed) and long summaries', () => {
    const alert = { ...LAG_FIRING, partitions: Array.from({ length: 500 }, (_, i) => i), summary: 'x'.repeat(5000) };
    const body = buildRequest(SLACK, notification(alert), CTX).body as { blocks: Array<{ text?: { text: string }; fields?: Array<{ text: string }> }> };
    assert.equal(body.blocks[1]?.text?.text.length, 3000);
    assert.equal(body.blocks[2]?.fields?.find((f) => f.text.startsWith('*Partitions*'))?.text, `*Partitions*\n${Array.from({ length: 20 }, (_, i) => i).join(', ')} … (+480 more)`);
  });
});

describe('pagerduty channel: Events API v2', () => {
  it('firing: a trigger with routing_key, dedup_key = alert key, mapped severity, custom_details', () => {
    const request = buildRequest(PAGERDUTY, notification(LAG_FIRING, 'move orders-0 leader 2 -> 3'), CTX);
    assert.equal(request.url, 'https://events.pagerduty.com/v2/enqueue');
    assert.deepEqual(request.body, {
      routing_key: 'R0UTINGKEY0123456789abcdef012345',
      event_action: 'trigger',
      dedup_key: 'local/ConsumerDeliveryLag/orders-svc/orders',
      payload: {
        summary: 'orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy',
        source: 'local',
        severity: 'critical',
        timestamp: '2026-11-26T10:00:00.000Z',
        component: 'orders-svc',
        class: 'ConsumerDeliveryLag',
        custom_details: {
          alert: 'ConsumerDeliveryLag',
          severity: 'critical',
          key: 'local/ConsumerDeliveryLag/orders-svc/orders',
          cluster: 'local',
          group: 'orders-svc',
          topic: 'orders',
          partitions: [0, 3],
          lagSeconds: 12.4,
          threshold: 10,
          cause: 'consumer',
          startsAt: '2026-11-26T10:00:00.000Z',
          endsAt: null,
          summary: 'orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy',
          sentBy: { nodeId: 'vigil-2', term: 7 },
          plan: 'move orders-0 leader 2 -> 3',
        },
      },
      client: 'vigil',
    });
  });

  it('resolved: a resolve with the same dedup_key and nothing else', () => {
    assert.deepEqual(buildRequest(PAGERDUTY, notification(LAG_RESOLVED), CTX).body, {
      routing_key: 'R0UTINGKEY0123456789abcdef012345',
      event_action: 'resolve',
      dedup_key: 'local/ConsumerDeliveryLag/orders-svc/orders',
    });
  });

  it('names a broker as the component of broker alerts and maps every severity', () => {
    const body = buildRequest(PAGERDUTY, notification(BROKER_FIRING), CTX).body as { payload: Record<string, unknown> };
    assert.equal(body.payload['component'], 'broker 2');
    assert.equal(body.payload['severity'], 'warning');
    assert.deepEqual((['critical', 'warning', 'info'] as const).map(pagerDutySeverity), ['critical', 'warning', 'info']);
  });

  it('shortens keys longer than 255 characters deterministically, so trigger and resolve still match', () => {
    const long = `local/ConsumerDeliveryLag/${'g'.repeat(300)}/orders`;
    const a = pagerDutyDedupKey(long);
    assert.equal(a.length, 255);
    assert.equal(a, pagerDutyDedupKey(long));
    assert.notEqual(a, pagerDutyDedupKey(`${long}x`));
    assert.equal(pagerDutyDedupKey(LAG_FIRING.key), LAG_FIRING.key);
  });
});

describe('alertmanager channel: POST /api/v2/alerts', () => {
  it('firing: one alert, identity labels, changing facts as annotations, endsAt one TTL ahead', () => {
    const request = buildRequest(ALERTMANAGER, notification(LAG_FIRING), CTX);
    assert.equal(request.url, 'http://alertmanager:9093/api/v2/alerts');
    assert.deepEqual(request.body, [
      {
        labels: {
          alertname: 'ConsumerDeliveryLag',
          cluster: 'local',
          severity: 'critical',
          key: 'local/ConsumerDeliveryLag/orders-svc/orders',
          group: 'orders-svc',
          topic: 'orders',
        },
        annotations: {
          summary: 'orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy',
          cause: 'consumer',
          lagSeconds: '12.4',
          threshold: '10',
          partitions: '0, 3',
          sentBy: 'vigil-2 (term 7)',
        },
        startsAt: '2026-11-26T10:00:00.000Z',
        endsAt: '2026-11-26T10:04:05.000Z',
      },
    ]);
    assert.equal(ALERTMANAGER_FIRING_TTL_MS, 4 * ALERTMANAGER_RESEND_INTERVAL_MS, 'four re-sends fit in one TTL');
  });

  it('resolved: same labels and startsAt, endsAt = the resolve time (which resolves it at once)', () => {
    const [firing] = buildRequest(ALERTMANAGER, notification(LAG_FIRING), CTX).body as Array<{ labels: unknown }>;
    const [resolved] = buildRequest(ALERTMANAGER, notification(LAG_RESOLVED), CTX).body as Array<{ labels: unknown; startsAt: string; endsAt: string }>;
    assert.deepEqual(resolved?.labels, firing?.labels);
    assert.equal(resolved?.startsAt, '2026-11-26T10:00:00.000Z');
    assert.equal(resolved?.endsAt, '2026-11-26T10:05:00.000Z');
  });

  it('labels a broker alert with its broker, and puts a plan in the annotations', () => {
    const am = alertmanagerAlert(BROKER_FIRING, SENT_BY, WALL_START_MS, { plan: 'reassign 12 partitions off broker 2', firingTtlMs: 1000 });
    assert.deepEqual(am.labels, { alertname: 'BrokerUnreachable', cluster: 'local', severity: 'warning', key: 'local/BrokerUnreachable/2', broker: '2' });
    assert.deepEqual(am.annotations, {
      summary: 'broker 2 (127.0.0.1:9093) unreachable for 4 s: connection refused',
      plan: 'reassign 12 partitions off broker 2',
      sentBy: 'vigil-2 (term 7)',
    });
    assert.equal(am.endsAt, '2026-11-26T10:00:06.000Z');
  });

  it('tolerates a trailing slash on the base URL', () => {
    assert.equal(buildRequest({ ...ALERTMANAGER, url: 'http://am:9093/prefix/' }, notification(LAG_FIRING), CTX).url, 'http://am:9093/prefix/api/v2/alerts');
  });
});

describe('secrets of channel configs', () => {
  it('lists the routing key, webhook path and query token, header values — not an Alertmanager path', () => {
    assert.ok(channelSecrets(PAGERDUTY).includes('R0UTINGKEY0123456789abcdef012345'));
    assert.ok(channelSecrets(SLACK).includes('/services/T000/B000/XXXXSECRET'));
    assert.ok(channelSecrets(WEBHOOK).includes('s3cr3t-tok'));
    assert.ok(channelSecrets(WEBHOOK).includes('Bearer hook-secret-1'));
    assert.deepEqual(urlSecrets('http://am:9093/prefix', { pathIsSecret: false }), []);
    assert.deepEqual(urlSecrets('http://user:pw99@am:9093/', { pathIsSecret: false }), ['user', 'pw99']);
  });

  it('scrubs them from free text, URL-encoded forms included, longest first', () => {
    const secrets = channelSecrets(SLACK);
    const text = `POST https://hooks.slack.com/services/T000/B000/XXXXSECRET failed; path=${encodeURIComponent('/services/T000/B000/XXXXSECRET')}`;
    assert.equal(scrub(text, secrets), 'POST [redacted] failed; path=[redacted]');
    assert.equal(scrub('key R0UTINGKEY0123456789abcdef012345 rejected', channelSecrets(PAGERDUTY)), 'key [redacted] rejected');
    assert.equal(scrub('a/b', ['/', 'ab']), 'a/b', 'strings under 4 characters are not scrubbed');
  });
});
