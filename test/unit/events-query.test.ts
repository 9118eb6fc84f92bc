/**
 * GET /api/v1/events?since= (docs/design.md §7): a malformed `since` is the client's mistake, a
 * 400 naming the accepted forms, decided before Redis is asked (issue 8, defect 11: it
 * answered 503 REDIS_UNAVAILABLE).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { compileConfig } from '../../src/config';
import { parseEventsQuery } from '../../src/http/events-query';
import { HttpServer, type Handler } from '../../src/http/server';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { startMonitor, type Monitor } from '../../src/service/monitor';
import { systemClock } from '../../src/util/clock';
import { httpGet as get } from '../harness/http-get';
import { minimalRaw } from './config-fixture';

const q = (text: string) => parseEventsQuery(new URLSearchParams(text));

describe('parseEventsQuery', () => {
  it('accepts an event id, epoch milliseconds and ISO 8601 times', () => {
    assert.deepEqual(q(''), { limit: 1000 });
    assert.deepEqual(q('since=1767225600000-3&limit=5'), { limit: 5, afterId: '1767225600000-3' });
    assert.deepEqual(q('since=1767225600000'), { limit: 1000, sinceMs: 1767225600000 });
    assert.deepEqual(q('since=2026-01-01T00:00:00Z'), { limit: 1000, sinceMs: 1767225600000 });
    assert.deepEqual(q('since=2026-01-01T01:00:00%2B01:00'), { limit: 1000, sinceMs: 1767225600000 });
  });

  it('refuses what Redis would refuse or what only looks like a time, naming the accepted form', () => {
    for (const since of ['99999999999999999999-0', '1-99999999999999999999999', '99999999999999999999', '-1', '0.5', 'yesterday', '1e3', '2026-13-45', 'Jan 1 2026', '']) {
      assert.throws(
        () => q(`since=${encodeURIComponent(since)}`),
        (err: any) => err.status === 400 && err.code === 'BAD_REQUEST' && /event id "<ms>-<seq>".*epoch milliseconds.*ISO 8601/.test(err.message),
        `since=${since}`,
      );
    }
    for (const limit of ['0', '-1', '10001', '1.5', 'x']) assert.throws(() => q(`limit=${limit}`), (err: any) => err.status === 400, `limit=${limit}`);
  });
});

describe('GET /api/v1/events with a malformed since', () => {
  let monitor: Monitor | undefined;
  const server = new HttpServer({ logger: silentLogger });
  after(async () => {
    await monitor?.stop();
    await server.close();
  });

  it('answers 400 naming the accepted form, not 503 REDIS_UNAVAILABLE (Redis is down here and must not be the answer)', async () => {
    const raw = minimalRaw();
    raw['redis'] = { url: 'redis://127.0.0.1:9' };
    raw['kafka'] = { brokers: ['127.0.0.1:9'] };
    const config = compileConfig(raw, {}, { baseDir: process.cwd() });
    const routes = new Map<string, Handler>();
    monitor = startMonitor({
      config,
      leadership: { isLeader: () => false, term: () => 0 },
      metrics: createMetrics({ nodeId: 'solo', cluster: 'c1' }),
      logger: silentLogger,
      clock: systemClock,
      leaderRoute: (method, path, handler) => {
        routes.set(path, handler);
        server.route(method, path, handler);
      },
    });
    assert.ok(routes.has('/api/v1/events'));
    const port = (await server.listen('127.0.0.1', 0)).port;
    for (const since of ['99999999999999999999-0', '-1', '99999999999999999999']) {
      const r = await get(port, `/api/v1/events?since=${encodeURIComponent(since)}`);
      assert.equal(r.status, 400, `since=${since}: ${r.text}`);
      const body = JSON.parse(r.text);
      assert.equal(body.error.code, 'BAD_REQUEST');
      assert.match(body.error.message, /since must be an event id/);
    }
    // GET /api/v1/failovers (issue 10 item 4) takes the same query, checked the same way
    assert.ok(routes.has('/api/v1/failovers'));
    const bad = await get(port, '/api/v1/failovers?limit=0');
    assert.equal(bad.status, 400, bad.text);
    const down = await get(port, '/api/v1/failovers?since=2026-01-01T00:00:00Z&limit=5');
    assert.equal(down.status, 503, down.text);
    assert.equal(JSON.parse(down.text).error.code, 'REDIS_UNAVAILABLE');
    assert.match(JSON.parse(down.text).error.message, /failover journal lives in Redis/);
  });
});
