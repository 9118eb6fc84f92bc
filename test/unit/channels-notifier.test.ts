/**
 * Delivery of notifications over real HTTP (docs/design.md §4 "retries with backoff; delivery
 * outcome counted per channel"): the notifier against a local webhook sink, with the
 * retry pauses on a manual clock. Covers the outcome of each kind of answer, the backoff
 * schedule, the lease re-check before every attempt, metrics, and secrets kept out of logs.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AlertmanagerRefresher } from '../../src/alerting/channels';
import { Notifier, backoffDelayMs, DEFAULT_RETRY_POLICY, parseRetryAfterMs, type NotifierOptions } from '../../src/alerting/notifier';
import type { ChannelConfig } from '../../src/config/types';
import { createMetrics } from '../../src/metrics';
import { freePort } from '../harness/ports';
import { startWebhookSink, type WebhookSink } from '../harness/webhook-sink';
import { BROKER_FIRING, LAG_FIRING, LAG_RESOLVED, SENT_BY, captureLogs, manualTime, notification } from './channels-fixture';
import { webhookBody } from '../../src/alerting/channels';

const TIMEOUT = { timeoutMs: 10_000 };

function setup(sink: WebhookSink, overrides: Partial<NotifierOptions> = {}) {
  const time = manualTime();
  const logs = captureLogs();
  const metrics = createMetrics({ nodeId: 'vigil-2', cluster: 'local' });
  const notifier = new Notifier({
    logger: logs.logger,
    metrics,
    clock: time.clock,
    sleep: time.sleep,
    random: () => 0,
    attemptTimeoutMs: 2_000,
    ...overrides,
  });
  const counted = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const v of (await metrics.notifications.get()).values) out[`${v.labels['channel']}/${v.labels['outcome']}`] = v.value;
    return out;
  };
  const webhook: ChannelConfig = { type: 'webhook', name: 'hook', url: sink.url('/hook'), headers: {} };
  return { time, logs, metrics, notifier, counted, webhook };
}

describe('notifier: delivery outcomes over HTTP', () => {
  let sink: WebhookSink;
  before(async () => {
    sink = await startWebhookSink();
  });
  after(async () => {
    await sink.close();
  });
  beforeEach(() => {
    sink.reset();
    sink.setDefaultResponse({});
  });

  it('delivers the docs/design.md §4 body as JSON with the configured headers, counted as delivered', async () => {
    const { notifier, counted, time } = setup(sink);
    const channel: ChannelConfig = { type: 'webhook', name: 'hook', url: sink.url('/hook'), headers: { 'X-Team': 'kafka-oncall', 'Content-Type': 'application/json; charset=utf-8' } };
    const outcome = await notifier.deliver(notification(LAG_FIRING), channel, SENT_BY);
    assert.deepEqual(outcome, { outcome: 'delivered', attempts: 1, httpStatus: 200 });
    const [req] = sink.requests();
    assert.equal(req?.method, 'POST');
    assert.equal(req?.path, '/hook');
    assert.equal(req?.rawBody, JSON.stringify(webhookBody(LAG_FIRING, SENT_BY)));
    assert.equal(req?.headers['x-team'], 'kafka-oncall');
    assert.equal(req?.headers['content-type'], 'application/json; charset=utf-8', 'a configured header replaces the default, not doubled');
    assert.match(req?.headers['user-agent'] ?? '', /^vigil\//);
    assert.deepEqual(time.sleeps, []);
    assert.deepEqual(await counted(), { 'hook/delivered': 1 });
  });

  it('delivers every channel type to its endpoint (Slack URL, PagerDuty enqueue, Alertmanager /api/v2/alerts)', async () => {
    const { notifier, counted } = setup(sink);
    const channels: ChannelConfig[] = [
      { type: 'slack', name: 'slack', url: sink.url('/services/T0/B0/SECRETPATH') },
      { type: 'pagerduty', name: 'pd', routingKey: 'ROUTINGKEY-abcdef0123456789', url: sink.url('/v2/enqueue') },
      { type: 'alertmanager', name: 'am', url: sink.baseUrl },
    ];
    for (const channel of channels) assert.equal((await notifier.deliver(notification(LAG_RESOLVED), channel, SENT_BY)).outcome, 'delivered');
    assert.deepEqual(sink.requests().map((r) => r.path), ['/services/T0/B0/SECRETPATH', '/v2/enqueue', '/api/v2/alerts']);
    assert.equal((sink.requests()[1]?.body as { event_action: string }).event_action, 'resolve');
    assert.equal((sink.requests()[2]?.body as Array<{ endsAt: string }>)[0]?.endsAt, LAG_RESOLVED.endsAt);
    assert.deepEqual(await counted(), { 'slack/delivered': 1, 'pd/delivered': 1, 'am/delivered': 1 });
  });

  it('retries 5xx with exponential backoff (250, 500, 1000 ms without jitter) and then delivers the same body', async () => {
    const { notifier, time, webhook, counted } = setup(sink);
    sink.respondNext(1, { status: 500 });
    sink.respondNext(1, { status: 502 });
    sink.respondNext(1, { status: 503 });
    const outcome = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY);
    assert.deepEqual(outcome, { outcome: 'delivered', attempts: 4, httpStatus: 200 });
    assert.deepEqual(time.sleeps, [250, 500, 1000]);
    assert.deepEqual(sink.requests().map((r) => r.answer), [500, 502, 503, 200]);
    assert.equal(new Set(sink.requests().map((r) => r.rawBody)).size, 1, 'every attempt sends the same body');
    assert.deepEqual(await counted(), { 'hook/delivered': 1 }, 'one delivery counts once, however many attempts');
  });

  it('gives up after maxAttempts with the pauses capped at maxDelayMs, and says what to check', async () => {
    const { notifier, time, webhook, counted, logs } = setup(sink, { retry: { maxAttempts: 8 } });
    sink.setDefaultResponse({ status: 503 });
    const outcome = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY);
    assert.equal(outcome.outcome, 'failed');
    assert.equal(outcome.attempts, 8);
    assert.match(outcome.outcome === 'failed' ? outcome.reason : '', /^gave up after 8 attempts; last: HTTP 503.*check that http:\/\/127\.0\.0\.1:\d+ is reachable/);
    assert.deepEqual(time.sleeps, [250, 500, 1000, 1000, 1000, 1000, 1000]);
    assert.equal(sink.requests().length, 8);
    assert.deepEqual(await counted(), { 'hook/failed': 1 });
    const msgs = logs.lines().map((l) => l['msg']);
    assert.equal(msgs.filter((m) => m === 'notification attempt failed; retrying').length, 7, 'each failed attempt is logged');
    assert.equal(msgs.filter((m) => m === 'notification failed').length, 1);
  });

  it('spreads pauses with jitter from the injected randomness: [base/2, base] with jitter 0.5', async () => {
    const { notifier, time, webhook } = setup(sink, { random: () => 0.999, retry: { maxAttempts: 3 } });
    sink.setDefaultResponse({ status: 500 });
    await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY);
    assert.deepEqual(time.sleeps, [125, 250]);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, DEFAULT_RETRY_POLICY, () => 0.5)),
      [188, 375, 750, 750, 750, 750],
    );
  });

  it('retries a receiver that does not answer within the attempt timeout', async () => {
    const { notifier, webhook, time } = setup(sink, { attemptTimeoutMs: 200 });
    sink.respondNext(1, { delayMs: 30_000 });
    const outcome = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY);
    assert.deepEqual(outcome, { outcome: 'delivered', attempts: 2, httpStatus: 200 });
    assert.deepEqual(time.sleeps, [250]);
  });

  it('reports a timeout as the reason when a receiver never answers', async () => {
    const { notifier, webhook } = setup(sink, { attemptTimeoutMs: 150, retry: { maxAttempts: 2 } });
    sink.setDefaultResponse({ delayMs: 30_000 });
    const outcome = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY);
    assert.equal(outcome.outcome, 'failed');
    assert.match(outcome.outcome === 'failed' ? outcome.reason : '', /last: no answer within 150 ms \(timed out\)/);
  });

  it('retries a dropped connection and a refused one (nothing listening), then fails naming the error', async () => {
    const { notifier, webhook } = setup(sink);
    sink.respondNext(1, { reset: true });
    assert.deepEqual(await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY), { outcome: 'delivered', attempts: 2, httpStatus: 200 });

    const closedPort = await freePort();
    const refused: ChannelConfig = { type: 'webhook', name: 'down', url: `http://127.0.0.1:${closedPort}/hook`, headers: {} };
    const { notifier: n2, time, counted } = setup(sink, { retry: { maxAttempts: 3 } });
    const outcome = await n2.deliver(notification(LAG_FIRING), refused, SENT_BY);
    assert.equal(outcome.outcome, 'failed');
    assert.equal(outcome.attempts, 3);
    assert.match(outcome.outcome === 'failed' ? outcome.reason : '', /ECONNREFUSED/);
    assert.deepEqual(time.sleeps, [250, 500]);
    assert.deepEqual(await counted(), { 'down/failed': 1 });
  });

  it('does not retry a 400: rejected after one attempt, quoting the receiver', async () => {
    const { notifier, webhook, time, counted } = setup(sink);
    sink.respondNext(1, { status: 400, body: { status: 'invalid event', errors: ['payload.summary missing'] } });
    const outcome = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY);
    assert.equal(outcome.outcome, 'rejected');
    assert.equal(outcome.attempts, 1);
    assert.equal(outcome.outcome === 'rejected' ? outcome.httpStatus : 0, 400);
    assert.match(outcome.outcome === 'rejected' ? outcome.reason : '', /^HTTP 400: \{"status":"invalid event".*check channel "hook"/);
    assert.deepEqual(time.sleeps, []);
    assert.equal(sink.requests().length, 1);
    assert.deepEqual(await counted(), { 'hook/rejected': 1 });
  });

  it('treats 404 and a redirect as rejected too, but retries 408', async () => {
    const { notifier, webhook } = setup(sink);
    sink.respondNext(1, { status: 404 });
    assert.equal((await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY)).outcome, 'rejected');
    sink.respondNext(1, { status: 302, headers: { location: '/elsewhere' } });
    const redirected = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY);
    assert.match(redirected.outcome === 'rejected' ? redirected.reason : '', /a redirect: configure the final URL/);
    sink.respondNext(1, { status: 408 });
    assert.deepEqual(await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY), { outcome: 'delivered', attempts: 2, httpStatus: 200 });
    assert.deepEqual(sink.requests().map((r) => r.path), ['/hook', '/hook', '/hook', '/hook'], 'the redirect was not followed');
  });

  it('retries 429, waiting at least the Retry-After it was given (capped at maxRetryAfterMs)', async () => {
    const { notifier, webhook, time } = setup(sink);
    sink.respondNext(1, { status: 429, headers: { 'retry-after': '3' } });
    sink.respondNext(1, { status: 429 });
    sink.respondNext(1, { status: 429, headers: { 'retry-after': '3600' } });
    const outcome = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY);
    assert.deepEqual(outcome, { outcome: 'delivered', attempts: 4, httpStatus: 200 });
    assert.deepEqual(time.sleeps, [3000, 500, 30_000]);
    assert.equal(parseRetryAfterMs('Thu, 26 Nov 2026 10:00:10 GMT', Date.parse('2026-11-26T10:00:05Z')), 5000);
    assert.equal(parseRetryAfterMs('soon', 0), undefined);
  });
});

describe('notifier: beforeSend re-checks the lease before every attempt (docs/design.md §2, §4)', () => {
  let sink: WebhookSink;
  before(async () => {
    sink = await startWebhookSink();
  });
  after(async () => {
    await sink.close();
  });
  beforeEach(() => {
    sink.reset();
    sink.setDefaultResponse({});
  });

  it('sends nothing when beforeSend says no, and counts the delivery as aborted', async () => {
    const { notifier, webhook, counted } = setup(sink);
    const calls: number[] = [];
    const outcome = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY, {
      beforeSend: async (info) => {
        calls.push(info.attempt);
        return false;
      },
    });
    assert.equal(outcome.outcome, 'aborted');
    assert.equal(outcome.attempts, 0);
    assert.match(outcome.outcome === 'aborted' ? outcome.reason : '', /beforeSend declined/);
    assert.deepEqual(calls, [1]);
    assert.equal(sink.requests().length, 0);
    assert.deepEqual(await counted(), { 'hook/aborted': 1 });
  });

  it('stops retrying once the lease is gone: asked before each attempt, no request after the no', async () => {
    const asked: Array<{ attempt: number; requestsSoFar: number }> = [];
    const { notifier, webhook } = setup(sink, {
      beforeSend: async (info) => {
        asked.push({ attempt: info.attempt, requestsSoFar: sink.requests().length });
        return info.attempt < 3;
      },
    });
    sink.setDefaultResponse({ status: 500 });
    const outcome = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY);
    assert.deepEqual(outcome.outcome, 'aborted');
    assert.equal(outcome.attempts, 2);
    assert.deepEqual(asked, [
      { attempt: 1, requestsSoFar: 0 },
      { attempt: 2, requestsSoFar: 1 },
      { attempt: 3, requestsSoFar: 2 },
    ]);
    assert.equal(sink.requests().length, 2);
  });

  it('does not send when beforeSend throws (an unconfirmed lease is no lease)', async () => {
    const { notifier, webhook } = setup(sink);
    const outcome = await notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY, {
      beforeSend: async () => {
        throw new Error('redis unreachable');
      },
    });
    assert.equal(outcome.outcome, 'aborted');
    assert.match(outcome.outcome === 'aborted' ? outcome.reason : '', /beforeSend threw \(redis unreachable\)/);
    assert.equal(sink.requests().length, 0);
  });

  it('stops at once when the caller cancels (shutdown), also mid-attempt', async () => {
    const { notifier, webhook } = setup(sink, { attemptTimeoutMs: 30_000 });
    sink.setDefaultResponse({ delayMs: 30_000 });
    const controller = new AbortController();
    const pending = notifier.deliver(notification(LAG_FIRING), webhook, SENT_BY, { signal: controller.signal });
    await sink.waitForRequests(1, TIMEOUT);
    controller.abort();
    const outcome = await pending;
    assert.equal(outcome.outcome, 'aborted');
    assert.equal(outcome.attempts, 1);
  });
});

describe('notifier: secrets never reach the logs (docs/design.md §7 logs)', () => {
  let sink: WebhookSink;
  before(async () => {
    sink = await startWebhookSink();
  });
  after(async () => {
    await sink.close();
  });

  it('keeps routing key, Slack path, webhook token and header values out of every log line and reason, even when the receiver echoes them', async () => {
    const { notifier, logs } = setup(sink, { retry: { maxAttempts: 2 } });
    const routingKey = 'PDKEY-0123456789abcdef0123456789';
    const slackPath = '/services/T0123/B0456/SLACKSECRET789';
    const channels: ChannelConfig[] = [
      { type: 'pagerduty', name: 'pd', routingKey, url: sink.url('/v2/enqueue') },
      { type: 'slack', name: 'slack', url: sink.url(slackPath) },
      { type: 'webhook', name: 'hook', url: `${sink.url('/hook')}?token=QUERYTOKEN42`, headers: { Authorization: 'Bearer HEADERSECRET99' } },
    ];
    // Receivers that echo the request back in their errors: the worst case for a log.
    sink.respondNext(1, { status: 400, body: `bad request for routing_key ${routingKey}` });
    sink.respondNext(1, { status: 400, body: `no_service at ${slackPath}` });
    sink.respondNext(1, { status: 400, body: `bad token=QUERYTOKEN42 auth=Bearer HEADERSECRET99 for /hook?token=QUERYTOKEN42` });
    const reasons: string[] = [];
    for (const channel of channels) {
      const outcome = await notifier.deliver(notification(LAG_FIRING), channel, SENT_BY);
      assert.equal(outcome.outcome, 'rejected');
      reasons.push(outcome.outcome === 'rejected' ? outcome.reason : '');
    }
    sink.setDefaultResponse({ status: 503, body: `unavailable ${routingKey}` });
    assert.equal((await notifier.deliver(notification(BROKER_FIRING), channels[0] as ChannelConfig, SENT_BY)).outcome, 'failed');

    const text = logs.text();
    assert.ok(logs.lines().length >= 5, 'the attempts were logged');
    for (const secret of [routingKey, slackPath, 'SLACKSECRET789', 'QUERYTOKEN42', 'HEADERSECRET99']) {
      assert.ok(!text.includes(secret), `log leaks ${secret}`);
      for (const reason of reasons) assert.ok(!reason.includes(secret), `reason leaks ${secret}: ${reason}`);
    }
    assert.match(reasons[0] ?? '', /routing_key \[redacted\]/);
    const line = logs.lines().find((l) => l['channel'] === 'slack');
    assert.match(String(line?.['target']), /^http:\/\/127\.0\.0\.1:\d+$/, 'the target is logged as scheme://host only');
    assert.equal(line?.['term'], 7);
    assert.equal(line?.['alertKey'], LAG_FIRING.key);
  });
});

describe('Alertmanager refresher: keeps firing alerts alive, never revives resolved ones', () => {
  let sink: WebhookSink;
  before(async () => {
    sink = await startWebhookSink();
  });
  after(async () => {
    await sink.close();
  });
  beforeEach(() => {
    sink.reset();
    sink.setDefaultResponse({});
  });

  function refresherSetup() {
    const s = setup(sink);
    const am: ChannelConfig = { type: 'alertmanager', name: 'am', url: sink.baseUrl };
    const channels: ChannelConfig[] = [s.webhook, am];
    const refresher = new AlertmanagerRefresher(s.notifier, channels, s.time.clock, { intervalMs: 60_000 });
    return { ...s, refresher, am };
  }

  it('re-posts every firing alert once per interval, to alertmanager channels only, with a fresh endsAt', async () => {
    const { refresher, time } = refresherSetup();
    const first = await refresher.tick([LAG_FIRING, BROKER_FIRING], SENT_BY);
    assert.deepEqual(first.map((r) => [r.key, r.outcome.outcome]), [[LAG_FIRING.key, 'delivered'], [BROKER_FIRING.key, 'delivered']]);
    assert.deepEqual(await refresher.tick([LAG_FIRING, BROKER_FIRING], SENT_BY), [], 'nothing due within the interval');
    time.advance(59_999);
    assert.deepEqual(await refresher.tick([LAG_FIRING, BROKER_FIRING], SENT_BY), []);
    time.advance(1);
    assert.equal((await refresher.tick([LAG_FIRING, BROKER_FIRING], SENT_BY)).length, 2);
    const posts = sink.requests();
    assert.deepEqual(posts.map((r) => r.path), Array(4).fill('/api/v2/alerts'));
    const endsAt = posts.map((r) => (r.body as Array<{ endsAt: string; startsAt: string }>)[0]);
    assert.equal(endsAt[0]?.endsAt, '2026-11-26T10:04:05.000Z');
    assert.equal(endsAt[2]?.endsAt, '2026-11-26T10:05:05.000Z', 'the re-post extends endsAt');
    assert.equal(endsAt[2]?.startsAt, LAG_FIRING.startsAt, 'and keeps startsAt: the same alert to Alertmanager');
  });

  it('does not re-post an alert that is no longer firing, nor one posted by the normal path just now', async () => {
    const { refresher, time, am } = refresherSetup();
    refresher.notePosted(am.name, LAG_FIRING.key);
    assert.deepEqual((await refresher.tick([LAG_FIRING, LAG_RESOLVED], SENT_BY)).length, 0, 'LAG_FIRING was just posted; a resolved alert is never refreshed');
    time.advance(60_000);
    assert.equal((await refresher.tick([], SENT_BY)).length, 0, 'resolved meanwhile: gone from the list, not re-posted');
    assert.equal(sink.requests().length, 0);
  });

  it('aborts a re-post whose alert resolved while it waited, and one the lease check refuses', async () => {
    const { refresher } = refresherSetup();
    // The lease check runs right before the POST; the alert resolves (tick with []) meanwhile.
    let resolveNow = false;
    const results = await refresher.tick([LAG_FIRING], SENT_BY, async () => {
      if (resolveNow) return true;
      resolveNow = true;
      refresher.forget(LAG_FIRING.key);
      return true;
    });
    assert.deepEqual(results.map((r) => r.outcome.outcome), ['aborted']);
    const refused = await refresher.tick([BROKER_FIRING], SENT_BY, async () => false);
    assert.deepEqual(refused.map((r) => r.outcome.outcome), ['aborted']);
    assert.equal(sink.requests().length, 0);
  });

  it('after a failed re-post leaves the channel alone for a pause, then retries what was missed', async () => {
    const { refresher, time } = refresherSetup();
    sink.respondNext(1, { status: 503 });
    const failed = await refresher.tick([LAG_FIRING, BROKER_FIRING], SENT_BY);
    assert.deepEqual(failed.map((r) => r.outcome.outcome), ['failed'], 'one attempt, and the rest of the channel waits');
    assert.equal((await refresher.tick([LAG_FIRING, BROKER_FIRING], SENT_BY)).length, 0);
    time.advance(15_000);
    const retried = await refresher.tick([LAG_FIRING, BROKER_FIRING], SENT_BY);
    assert.deepEqual(retried.map((r) => [r.key, r.outcome.outcome]), [[LAG_FIRING.key, 'delivered'], [BROKER_FIRING.key, 'delivered']]);
  });

  it('re-posts at once an alert whose failover summary changed (issue 10 item 4), and keeps it due when the normal path delivered the page decided before', async () => {
    const { refresher, time, am } = refresherSetup();
    await refresher.tick([BROKER_FIRING], SENT_BY);
    assert.deepEqual(await refresher.tick([BROKER_FIRING], SENT_BY), [], 'posted: not due within the interval');
    const failover = 'failover: broker 2 unreachable, then fenced: 12 partitions moved, 12 led again within 1.2 s';
    const updated = { ...BROKER_FIRING, summary: `${BROKER_FIRING.summary}; ${failover}`, failover };
    time.advance(1_000);
    const now = await refresher.tick([updated], SENT_BY);
    assert.deepEqual(now.map((r) => [r.channel, r.outcome.outcome]), [[am.name, 'delivered']], 'due at once, on the alertmanager channel only');
    const posted = sink.requests().at(-1)?.body as Array<{ annotations: Record<string, string>; startsAt: string }>;
    assert.equal(posted[0]?.annotations['summary'], updated.summary);
    assert.equal(posted[0]?.startsAt, BROKER_FIRING.startsAt, 'the same alert to Alertmanager: updated in place');
    assert.deepEqual(await refresher.tick([updated], SENT_BY), [], 'once');
    // the outbox delivering, after that re-post, the firing page decided before the entry
    // (an older summary) makes the update due again, not an interval later
    refresher.notePosted(am.name, BROKER_FIRING.key, undefined);
    assert.deepEqual((await refresher.tick([updated], SENT_BY)).map((r) => r.outcome.outcome), ['delivered']);
    // a page that says what the alert says now counts as the post
    refresher.notePosted(am.name, BROKER_FIRING.key, failover);
    assert.deepEqual(await refresher.tick([updated], SENT_BY), []);
  });

  it('starts afresh after reset (a new term re-posts everything at once)', async () => {
    const { refresher } = refresherSetup();
    await refresher.tick([LAG_FIRING], SENT_BY);
    refresher.reset();
    assert.equal((await refresher.tick([LAG_FIRING], { nodeId: 'vigil-3', term: 8 })).length, 1);
    assert.equal((sink.requests()[1]?.body as Array<{ annotations: Record<string, string> }>)[0]?.annotations['sentBy'], 'vigil-3 (term 8)');
  });
});
