/**
 * Self-test of the webhook sink (test/harness/webhook-sink.ts): the failover tests count
 * pages with it (docs/design.md §4 "no duplicate pages, no lost pages"), so what it records and
 * how it answers must be exactly what it says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WaitTimeoutError } from '../harness/wait';
import { startWebhookSink } from '../harness/webhook-sink';

async function post(url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text() };
}

describe('webhook sink', () => {
  it('records method, path, headers, raw and parsed body, arrival order and answer', async () => {
    const sink = await startWebhookSink();
    try {
      assert.match(sink.url(), /^http:\/\/127\.0\.0\.1:\d+\/hook$/);
      await post(sink.url('/a?x=1'), '{"n":1}', { 'content-type': 'application/json', 'x-test': 'yes' });
      await post(sink.url('b'), 'not json', { 'content-type': 'text/plain' });
      const all = sink.requests();
      assert.equal(all.length, 2);
      assert.deepEqual(
        all.map((r) => [r.seq, r.method, r.path, r.body, r.rawBody, r.answer]),
        [
          [1, 'POST', '/a?x=1', { n: 1 }, '{"n":1}', 200],
          [2, 'POST', '/b', undefined, 'not json', 200],
        ],
      );
      assert.equal(all[0]?.headers['x-test'], 'yes');
      assert.ok((all[0]?.receivedAtMs ?? 0) <= (all[1]?.receivedAtMs ?? 0));
      assert.deepEqual(sink.requests({ path: '/a' }).map((r) => r.seq), [1], 'path filter ignores the query');
    } finally {
      await sink.close();
    }
  });

  it('answers scripted statuses to the next N requests in order, then the default', async () => {
    const sink = await startWebhookSink();
    try {
      sink.respondNext(2, { status: 503 });
      sink.respondNext(1, { status: 400, body: 'nope' });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await post(sink.url(), '{}')).status);
      assert.deepEqual(statuses, [503, 503, 400, 200]);
      sink.setDefaultResponse({ status: 202, body: { queued: true } });
      assert.deepEqual(await post(sink.url(), '{}'), { status: 202, text: '{"queued":true}' });
      assert.deepEqual(sink.requests().map((r) => r.answer), [503, 503, 400, 200, 202]);
      sink.reset();
      assert.equal(sink.requests().length, 0);
    } finally {
      await sink.close();
    }
  });

  it('records a delayed request on arrival, and waitForRequests returns the first N matching', async () => {
    const sink = await startWebhookSink();
    try {
      sink.respondNext(1, { delayMs: 60_000 });
      const slow = fetch(sink.url('/slow'), { method: 'POST', body: '{}' }).catch((err: unknown) => err);
      const [req] = await sink.waitForRequests(1, { timeoutMs: 5000, path: '/slow' });
      assert.equal(req?.path, '/slow');
      await post(sink.url('/fast'), '{"k":"v"}');
      const found = await sink.waitForRequests(1, { timeoutMs: 5000, filter: (r) => (r.body as { k?: string } | undefined)?.k === 'v' });
      assert.equal(found[0]?.path, '/fast');
      // close() must not wait out the 60 s answer: it drops the connection.
      await sink.close();
      assert.ok((await slow) instanceof Error, 'the delayed request ends with a dropped connection');
    } finally {
      await sink.close();
    }
  });

  it('drops the connection when told to (reset), and names what it received when a wait times out', async () => {
    const sink = await startWebhookSink();
    try {
      sink.respondNext(1, { reset: true });
      await assert.rejects(post(sink.url(), '{}'));
      assert.equal(sink.requests()[0]?.answer, 'reset');
      await assert.rejects(sink.waitForRequests(2, { timeoutMs: 100 }), (err: unknown) => {
        assert.ok(err instanceof WaitTimeoutError);
        assert.match(err.message, /2 request\(s\) at the webhook sink.*received 1: POST \/hook → reset/);
        return true;
      });
    } finally {
      await sink.close();
    }
  });
});
