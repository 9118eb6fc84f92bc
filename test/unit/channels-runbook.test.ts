/**
 * Every page links to its runbook entry (issue 8: docs/operations.md linked from each
 * page): the webhook body's `runbookUrl`, PagerDuty's `links`, Alertmanager's
 * `generatorURL` and `runbook_url` annotation, a link in the Slack message. The link is
 * `<alerting.runbookUrl>#<anchor>`, the anchor naming the alert's entry (and a lag
 * alert's cause).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRequest } from '../../src/alerting/channels';
import { runbookAnchor, runbookLink } from '../../src/alerting/runbook';
import type { Alert } from '../../src/alerting/types';
import { compileConfig } from '../../src/config';
import type { ChannelConfig } from '../../src/config/types';
import { BROKER_FIRING, LAG_FIRING, LAG_RESOLVED, SENT_BY, WALL_START_MS, notification } from './channels-fixture';
import { minimalRaw } from './config-fixture';

const CTX = { sentBy: SENT_BY, nowMs: WALL_START_MS };
const BASE = 'https://vigil.example.com/runbook';
const LAG_LINK = `${BASE}#consumerdeliverylag-consumer`;

const WEBHOOK: ChannelConfig = { type: 'webhook', name: 'hook', url: 'https://hooks.example.com/vigil', headers: {}, runbookUrl: BASE };
const SLACK: ChannelConfig = { type: 'slack', name: 'slack', url: 'https://hooks.slack.com/services/T000/B000/XXXX', runbookUrl: BASE };
const PAGERDUTY: ChannelConfig = { type: 'pagerduty', name: 'oncall', routingKey: 'R0UTINGKEY0123456789abcdef012345', url: 'https://events.pagerduty.com/v2/enqueue', runbookUrl: BASE };
const ALERTMANAGER: ChannelConfig = { type: 'alertmanager', name: 'am', url: 'http://alertmanager:9093', runbookUrl: BASE };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function body(channel: ChannelConfig, alert: Alert): Json {
  return buildRequest(channel, notification(alert), CTX).body as Json;
}

/** Every Slack mrkdwn text of a message, in order. */
function slackTexts(b: Json): string[] {
  const out: string[] = [b['text']];
  for (const block of b['blocks'] as Json[]) {
    if (block['text']?.['text'] !== undefined) out.push(block['text']['text']);
    for (const f of (block['fields'] ?? []) as Json[]) out.push(f['text']);
    for (const e of (block['elements'] ?? []) as Json[]) out.push(e['text']);
  }
  return out;
}

describe('runbook anchors: one entry per alert kind, a lag alert by its cause', () => {
  it('a lag alert links the entry of its cause, a broker cause without the broker id', () => {
    assert.equal(runbookAnchor(LAG_FIRING), 'consumerdeliverylag-consumer');
    assert.equal(runbookAnchor({ alert: 'ConsumerDeliveryLag', cause: 'broker:3' }), 'consumerdeliverylag-broker');
    assert.equal(runbookAnchor({ alert: 'ConsumerDeliveryLag', cause: 'partition-offline' }), 'consumerdeliverylag-partition-offline');
    assert.equal(runbookAnchor({ alert: 'ConsumerDeliveryLag' }), 'consumerdeliverylag');
    assert.equal(runbookAnchor(BROKER_FIRING), 'brokerunreachable');
  });

  it('no base, no link', () => {
    assert.equal(runbookLink(undefined, LAG_FIRING), undefined);
    assert.equal(runbookLink('', LAG_FIRING), undefined);
    assert.equal(runbookLink(BASE, BROKER_FIRING), `${BASE}#brokerunreachable`);
  });
});

describe('each channel carries the runbook link', () => {
  it('webhook: runbookUrl, after the fields of docs/design.md §4, firing and resolved', () => {
    const firing = body(WEBHOOK, LAG_FIRING);
    assert.equal(firing['runbookUrl'], LAG_LINK);
    assert.equal(Object.keys(firing).at(-1), 'runbookUrl', 'the documented fields keep their order; the link comes last');
    assert.equal(body(WEBHOOK, LAG_RESOLVED)['runbookUrl'], LAG_LINK);
    assert.equal(body(WEBHOOK, BROKER_FIRING)['runbookUrl'], `${BASE}#brokerunreachable`);
  });

  it('pagerduty: a trigger has links [{href, text}] and runbookUrl in custom_details', () => {
    const trigger = body(PAGERDUTY, LAG_FIRING);
    assert.deepEqual(trigger['links'], [{ href: LAG_LINK, text: 'Runbook: ConsumerDeliveryLag' }]);
    assert.equal(trigger['payload']['custom_details']['runbookUrl'], LAG_LINK);
    // a resolve is the dedup_key alone: PagerDuty ignores anything else on it
    assert.equal(body(PAGERDUTY, LAG_RESOLVED)['links'], undefined);
  });

  it('alertmanager: generatorURL and the runbook_url annotation, firing and resolved', () => {
    for (const alert of [LAG_FIRING, LAG_RESOLVED]) {
      const [am] = body(ALERTMANAGER, alert) as unknown as Json[];
      assert.equal(am?.['generatorURL'], LAG_LINK);
      assert.equal(am?.['annotations']['runbook_url'], LAG_LINK);
    }
  });

  it('slack: a <url|Runbook: alert> link in the message, firing and resolved', () => {
    for (const alert of [LAG_FIRING, LAG_RESOLVED]) {
      assert.ok(slackTexts(body(SLACK, alert)).includes(`<${LAG_LINK}|Runbook: ConsumerDeliveryLag>`), JSON.stringify(body(SLACK, alert)));
    }
  });

  it('slack: a base with &, | or > cannot break out of the link', () => {
    const b = body({ ...SLACK, runbookUrl: 'https://wiki.example.com/x?a=1&b=2|3>' }, BROKER_FIRING);
    const link = slackTexts(b).find((t) => t.includes('Runbook'));
    assert.equal(link, '<https://wiki.example.com/x?a=1&amp;b=2%7C3&gt;#brokerunreachable|Runbook: BrokerUnreachable>');
  });

  it('a channel without a runbook base sends no link field (nothing null, nothing empty)', () => {
    const { runbookUrl: _r, ...bare } = WEBHOOK as Extract<ChannelConfig, { type: 'webhook' }>;
    assert.equal('runbookUrl' in body(bare, LAG_FIRING), false);
  });
});

describe('the compiled config links every channel', () => {
  it("by default to this replica's own /runbook (its peer url), on every channel type", () => {
    const raw = minimalRaw();
    raw.alerting = {
      channels: [
        { type: 'webhook', url: 'https://hooks.example.com/vigil' },
        { type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' },
        { type: 'pagerduty', routingKey: 'R0UT1NGKEY' },
        { type: 'alertmanager', url: 'http://alertmanager:9093' },
      ],
    };
    const config = compileConfig(raw, {}, { baseDir: '/nonexistent-vigil-test' });
    const link = 'http://127.0.0.1:9464/runbook#consumerdeliverylag-consumer';
    const [webhook, slack, pagerduty, alertmanager] = config.alerting.channels as ChannelConfig[];
    assert.equal(body(webhook!, LAG_FIRING)['runbookUrl'], link);
    assert.ok(slackTexts(body(slack!, LAG_FIRING)).some((t) => t.includes(`<${link}|`)));
    assert.equal(body(pagerduty!, LAG_FIRING)['links'][0]['href'], link);
    assert.equal((body(alertmanager!, LAG_FIRING) as unknown as Json[])[0]?.['generatorURL'], link);
  });
});
