/**
 * What `vigil demo --scenario` prints (docs/design.md §9: "prints the timeline"): the events
 * stream of GET /api/v1/events (docs/design.md §6), the pages received (docs/design.md §4) and the demo's
 * own actions in one time-ordered list, plus the live one-line summary.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebhookBodyV1 } from '../../src/alerting/types';
import {
  describeEventData,
  formatPageLine,
  formatSummaryLine,
  formatTimeline,
  formatTimelineEntry,
  relativeTime,
  timelineEntries,
} from '../../src/demo/timeline';
import type { StoredEvent } from '../../src/state/types';

const ORIGIN = Date.parse('2026-11-26T10:00:00.000Z');
const KEY = 'demo/ConsumerDeliveryLag/orders-svc/orders';

function event(type: string, atS: number, data: unknown, nodeId = 'vigil-2', term = 3): StoredEvent {
  return { id: `${ORIGIN + atS * 1000}-0`, type, timeMs: ORIGIN + atS * 1000, nodeId, term, data };
}

function page(status: 'firing' | 'resolved', sentBy = { nodeId: 'vigil-2', term: 3 }): WebhookBodyV1 {
  return {
    version: 1,
    status,
    alert: 'ConsumerDeliveryLag',
    severity: 'warning',
    key: KEY,
    cluster: 'demo',
    group: 'orders-svc',
    topic: 'orders',
    lagSeconds: 10.6,
    threshold: 10,
    cause: 'consumer',
    startsAt: '2026-11-26T10:00:18.200Z',
    endsAt: status === 'firing' ? null : '2026-11-26T10:00:28.200Z',
    summary: status === 'firing' ? 'orders-svc is 10.6 s behind on orders (threshold 10 s); brokers healthy' : 'orders-svc caught up on orders',
    sentBy,
  };
}

const firingEvent = event('alert-firing', 18.2, { key: KEY, alert: 'ConsumerDeliveryLag', severity: 'warning', summary: 'orders-svc is 10.6 s behind on orders (threshold 10 s); brokers healthy' });
const resolvedEvent = event('alert-resolved', 28.2, { key: KEY, alert: 'ConsumerDeliveryLag', severity: 'warning', summary: 'orders-svc caught up on orders' });

describe('demo timeline (docs/design.md §9)', () => {
  it('orders events, pages and actions by time; at one instant the cause comes first (action, event, page)', () => {
    const entries = timelineEntries(
      [resolvedEvent, event('leader-elected', 5, { openAlerts: 0 }), firingEvent],
      [
        { receivedAtMs: ORIGIN + 18_200, body: page('firing') },
        { receivedAtMs: ORIGIN + 28_300, body: page('resolved') },
      ],
      [
        { atMs: ORIGIN + 7_700, text: 'stall orders-svc' },
        { atMs: ORIGIN + 18_200, text: 'resume orders-svc' },
      ],
    );
    assert.deepEqual(
      entries.map((e) => `${e.atMs - ORIGIN} ${e.kind}`),
      ['5000 event', '7700 action', '18200 action', '18200 event', '18200 page', '28200 event', '28300 page'],
    );
  });

  it('prints an alert event with its type, key and summary, so the firing and resolved lines name the group', () => {
    const lines = formatTimeline(timelineEntries([firingEvent, resolvedEvent], [], []), ORIGIN);
    assert.equal(lines.length, 3, 'a header and one line per entry');
    assert.match(lines[0] as string, /^timeline/);
    assert.equal(lines[1], `  +  18.2s  vigil-2 t3    alert-firing              ${KEY} (warning): orders-svc is 10.6 s behind on orders (threshold 10 s); brokers healthy`);
    assert.match(lines[2] as string, /alert-resolved .*orders-svc caught up on orders$/);
  });

  it('prints a page with who sent it, and an action as the demo', () => {
    assert.equal(
      formatTimelineEntry({ kind: 'page', atMs: ORIGIN + 28_300, page: page('resolved', { nodeId: 'vigil-3', term: 4 }) }, ORIGIN),
      `+  28.3s  webhook       page resolved             ${KEY} [sent by vigil-3, term 4]`,
    );
    assert.equal(formatTimelineEntry({ kind: 'action', atMs: ORIGIN + 7_700, text: 'SIGKILL kafka broker 3' }, ORIGIN), '+   7.7s  demo          action                    SIGKILL kafka broker 3');
  });

  it('describes each event type of the stream, and shows unknown ones as JSON', () => {
    assert.equal(describeEventData(event('leader-elected', 1, { openAlerts: 1 })), 'vigil-2 leads in term 3 (1 open alert)');
    assert.equal(describeEventData(event('partition-leader-changed', 1, { topic: 'orders', partition: 2, from: 3, to: 1 })), 'orders/2 leader 3 → 1');
    assert.equal(describeEventData(event('partition-leaders-changed', 1, { count: 40, shown: 20 })), '40 partition leaders moved (first 20 listed)');
    assert.equal(describeEventData(event('redis-down', 1, { error: 'ECONNREFUSED' })), '{"error":"ECONNREFUSED"}');
    assert.equal(describeEventData(event('something-new', 1, { long: 'x'.repeat(300) })).length, 160);
  });

  it('says when nothing was recorded rather than printing an empty block', () => {
    assert.deepEqual(formatTimeline([], ORIGIN).slice(1), ['  (nothing recorded)']);
  });

  it('shows times relative to the start of the demo, with tenths of a second', () => {
    assert.equal(relativeTime(ORIGIN + 123_456, ORIGIN), '+ 123.5s');
    assert.equal(relativeTime(ORIGIN - 500, ORIGIN), '-   0.5s');
  });

  it('prints each page as one console line with status, key, summary and sender', () => {
    assert.equal(
      formatPageLine(page('firing'), ORIGIN + 18_300, ORIGIN),
      `+  18.3s  PAGE FIRING   ${KEY} (warning): orders-svc is 10.6 s behind on orders (threshold 10 s); brokers healthy [sent by vigil-2, term 3]`,
    );
  });
});

describe('demo live summary line', () => {
  it('shows the leader and term, every group by name with its latency, OVER on a breach, and the open alerts', () => {
    assert.equal(
      formatSummaryLine({
        atMs: ORIGIN + 20_700,
        originMs: ORIGIN,
        leader: { nodeId: 'vigil-1', term: 1 },
        groups: [
          { group: 'payments-slow', lagSeconds: 10.44, breach: true },
          { group: 'orders-svc', lagSeconds: 0.04, breach: false },
        ],
        alertsOpen: 1,
      }),
      '+  20.7s  leader vigil-1 (term 1) | orders-svc 0.0 s, payments-slow 10.4 s OVER | 1 open alert',
    );
  });

  it('says what is not known yet instead of showing zeros', () => {
    assert.equal(formatSummaryLine({ atMs: ORIGIN, originMs: ORIGIN, leader: null, groups: null, alertsOpen: null }), '+   0.0s  no leader | lag: no snapshot yet');
    assert.equal(
      formatSummaryLine({ atMs: ORIGIN, originMs: ORIGIN, leader: { nodeId: 'vigil-2', term: 7 }, groups: [{ group: 'g', lagSeconds: null, breach: null }], alertsOpen: 2 }),
      '+   0.0s  leader vigil-2 (term 7) | g ? | 2 open alerts',
    );
    assert.equal(formatSummaryLine({ atMs: ORIGIN, originMs: ORIGIN, leader: null, groups: [], alertsOpen: 0 }), '+   0.0s  no leader | no consumer groups yet | 0 open alerts');
  });
});
