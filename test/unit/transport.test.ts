/**
 * The peer transport (docs/design.md §2 "peer authentication", "fast crash detection"; §7 peer
 * protocol under /internal/): signed messages reach the core, every kind of bad request is
 * rejected with a 4xx, counted by reason and never reaches the core; a dropped stream
 * followed by "connection refused" is reported as connection-lost, a hung peer is not.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { createSigner, hmacHex, NonceCache, SIGNATURE_HEADER, verifyEnvelope, type VerifyContext } from '../../src/election/transport/envelope';
import { HttpPeerTransport } from '../../src/election/transport/http';
import type { Message } from '../../src/election/types';
import { HttpServer } from '../../src/http/server';
import { silentLogger } from '../../src/log';
import { createMetrics, type Metrics } from '../../src/metrics';
import { freePorts } from '../harness/ports';
import { waitFor } from '../harness/wait';

const SECRET = 'unit-test-secret-0123456789';
const HB: Message = { type: 'heartbeat', term: 3, sentMs: 12.5 };

describe('verifyEnvelope', () => {
  const now = 1_800_000_000_000;
  const ctx = (over: Partial<VerifyContext> = {}): VerifyContext => ({
    selfId: 'b',
    secret: SECRET,
    peerIds: new Set(['a', 'c']),
    maxClockSkewMs: 5000,
    nowWallMs: now,
    nonces: new NonceCache(5000),
    ...over,
  });
  const signed = (envelope: Record<string, unknown>, secret = SECRET) => {
    const body = Buffer.from(JSON.stringify(envelope));
    return { body, sig: hmacHex(secret, body) };
  };
  const good = { v: 1, kind: 'message', from: 'a', to: 'b', ts: now, nonce: 'n1', message: HB };

  it('accepts a signed message from a peer and returns the parsed message', () => {
    const { body, sig } = signed(good);
    assert.deepEqual(verifyEnvelope('message', body, sig, ctx()), { ok: true, from: 'a', message: HB });
  });

  const cases: Array<[string, () => ReturnType<typeof verifyEnvelope>]> = [
    ['unsigned', () => verifyEnvelope('message', signed(good).body, undefined, ctx())],
    ['bad-signature', () => verifyEnvelope('message', signed(good, 'another-secret-0123456789').body, signed(good, 'another-secret-0123456789').sig, ctx())],
    ['bad-signature', () => verifyEnvelope('message', signed(good).body, 'zz', ctx())],
    ['malformed', () => verifyEnvelope('message', Buffer.from('not json'), hmacHex(SECRET, Buffer.from('not json')), ctx())],
    ['malformed', () => verifyEnvelope('message', signed({ ...good, kind: 'stream' }).body, signed({ ...good, kind: 'stream' }).sig, ctx())],
    ['malformed', () => verifyEnvelope('message', signed({ ...good, message: { type: 'heartbeat', term: -1, sentMs: 0 } }).body, signed({ ...good, message: { type: 'heartbeat', term: -1, sentMs: 0 } }).sig, ctx())],
    ['unknown-sender', () => verifyEnvelope('message', signed({ ...good, from: 'mallory' }).body, signed({ ...good, from: 'mallory' }).sig, ctx())],
    ['unknown-sender', () => verifyEnvelope('message', signed({ ...good, from: 'b' }).body, signed({ ...good, from: 'b' }).sig, ctx())],
    ['wrong-recipient', () => verifyEnvelope('message', signed({ ...good, to: 'c' }).body, signed({ ...good, to: 'c' }).sig, ctx())],
    ['stale-timestamp', () => verifyEnvelope('message', signed({ ...good, ts: now - 5001 }).body, signed({ ...good, ts: now - 5001 }).sig, ctx())],
    ['stale-timestamp', () => verifyEnvelope('message', signed({ ...good, ts: now + 5001 }).body, signed({ ...good, ts: now + 5001 }).sig, ctx())],
  ];
  for (const [reason, run] of cases) {
    it(`rejects: ${reason}`, () => {
      const v = run();
      assert.equal(v.ok, false);
      assert.equal(!v.ok && v.reason, reason);
    });
  }

  it('rejects a replayed nonce, but not the same nonce from another sender', () => {
    const c = ctx();
    const first = signed(good);
    assert.equal(verifyEnvelope('message', first.body, first.sig, c).ok, true);
    const again = verifyEnvelope('message', first.body, first.sig, c);
    assert.equal(!again.ok && again.reason, 'replay');
    const other = signed({ ...good, from: 'c' });
    assert.equal(verifyEnvelope('message', other.body, other.sig, c).ok, true);
  });

  it('the nonce cache forgets entries once their messages would be stale anyway', () => {
    const cache = new NonceCache(1000);
    assert.equal(cache.remember('a/1', 0, 0), true);
    assert.equal(cache.remember('a/1', 0, 500), false);
    cache.remember('a/2', 5000, 5000); // prunes a/1 (expired at 1000)
    assert.equal(cache.size, 1);
  });

  it('signer: unique nonces, a body that verifies', () => {
    const signer = createSigner({ selfId: 'a', secret: SECRET, wallMs: () => now });
    const x = signer.sign('message', 'b', HB);
    const y = signer.sign('message', 'b', HB);
    assert.notDeepEqual(x.body, y.body);
    assert.equal(verifyEnvelope('message', x.body, x.signature, ctx()).ok, true);
  });
});

interface Node {
  id: string;
  port: number;
  server: HttpServer;
  transport: HttpPeerTransport;
  metrics: Metrics;
  received: Array<{ from: string; message: Message }>;
  lost: string[];
  restored: string[];
}

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function makeNode(
  id: string,
  peers: Array<{ id: string; port: number }>,
  opts: { streamConnectTimeoutMs?: number; reconnectMinDelayMs?: number; reconnectMaxDelayMs?: number } = {},
): Promise<Node> {
  const port = (peers.find((p) => p.id === id) as { port: number }).port;
  const metrics = createMetrics({ nodeId: id, cluster: 't' });
  const server = new HttpServer({ logger: silentLogger });
  const transport = new HttpPeerTransport({
    selfId: id,
    peers: peers.map((p) => ({ id: p.id, url: `http://127.0.0.1:${p.port}` })),
    secret: SECRET,
    maxClockSkewMs: 5000,
    server,
    metrics,
    logger: silentLogger,
    reconnectMinDelayMs: 10,
    reconnectMaxDelayMs: 50,
    ...opts,
  });
  const node: Node = { id, port, server, transport, metrics, received: [], lost: [], restored: [] };
  await server.listen('127.0.0.1', port);
  transport.start({
    onMessage: (from, message) => node.received.push({ from, message }),
    onConnectionLost: (peer) => node.lost.push(peer),
    onConnectionRestored: (peer) => node.restored.push(peer),
  });
  cleanups.push(async () => {
    await transport.close();
    await server.close();
  });
  return node;
}

/** Peers `a` and `b` on two free loopback ports. */
async function peersAB(): Promise<Array<{ id: string; port: number }>> {
  const [pa, pb] = await freePorts(2);
  return [
    { id: 'a', port: pa as number },
    { id: 'b', port: pb as number },
  ];
}

/** "Process death": the listener goes away and every connection closes. */
async function processGone(n: Node): Promise<void> {
  await n.transport.close();
  await n.server.close();
}

async function rejected(m: Metrics, reason: string): Promise<number> {
  const metric = await m.peerMessagesRejected.get();
  return metric.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

function post(port: number, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-length': String(body.length), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HttpPeerTransport', () => {
  it('delivers signed messages between peers over HTTP and keeps a stream to each', async () => {
    const peers = await peersAB();
    const a = await makeNode('a', peers);
    const b = await makeNode('b', peers);
    a.transport.send('b', HB);
    await waitFor(() => b.received.length === 1, { timeoutMs: 5000, intervalMs: 5, what: 'b to receive the heartbeat' });
    assert.deepEqual(b.received[0], { from: 'a', message: HB });
    await waitFor(() => a.transport.peers()[0]?.connected && b.transport.peers()[0]?.connected, { timeoutMs: 5000, intervalMs: 5, what: 'both streams connected' });
  });

  it('rejects every kind of bad request with a 4xx, counts it by reason, and never delivers it', async () => {
    const peers = await peersAB();
    const b = await makeNode('b', peers);
    const now = Date.now();
    const env = (over: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ v: 1, kind: 'message', from: 'a', to: 'b', ts: now, nonce: `n-${Math.random()}`, message: HB, ...over }));
    const sig = (body: Buffer, secret = SECRET) => ({ [SIGNATURE_HEADER]: hmacHex(secret, body) });

    const replayed = env();
    const signedPost = (path: string, body: Buffer, secret = SECRET) => () => post(peers[1]!.port, path, body, sig(body, secret));
    const checks: Array<[string, number, () => Promise<number>]> = [
      ['unsigned', 401, () => post(peers[1]!.port, '/internal/message', env())],
      ['bad-signature', 401, signedPost('/internal/message', env(), 'forged-secret-0123456789')],
      ['malformed', 400, signedPost('/internal/message', Buffer.from('{"v":1'))],
      ['malformed', 400, signedPost('/internal/message', env({ message: { type: 'vote-request', term: 'x' } }))],
      ['unknown-sender', 403, signedPost('/internal/message', env({ from: 'mallory' }))],
      ['wrong-recipient', 403, signedPost('/internal/message', env({ to: 'a' }))],
      ['stale-timestamp', 401, signedPost('/internal/message', env({ ts: now - 60_000 }))],
      ['oversized', 413, signedPost('/internal/message', Buffer.alloc(65 * 1024, 'x'))],
      ['not-found', 404, signedPost('/internal/elsewhere', env())],
    ];
    for (const [reason, status, send] of checks) {
      const before = await rejected(b.metrics, reason);
      assert.equal(await send(), status, reason);
      assert.equal(await rejected(b.metrics, reason), before + 1, `${reason} counted`);
    }
    assert.equal(b.received.length, 0, 'nothing reached the core');

    // A replay: the first copy is a real message, the second is rejected.
    assert.equal(await post(peers[1]!.port, '/internal/message', replayed, sig(replayed)), 204);
    assert.equal(b.received.length, 1);
    assert.equal(await post(peers[1]!.port, '/internal/message', replayed, sig(replayed)), 409);
    assert.equal(await rejected(b.metrics, 'replay'), 1);
    assert.equal(b.received.length, 1, 'the replay did not reach the core');
  });

  it('reports connection-lost when the peer process is gone (stream dropped, reconnect refused), and restored when it is back', async () => {
    const peers = await peersAB();
    const a = await makeNode('a', peers);
    const b = await makeNode('b', peers);
    await waitFor(() => a.transport.peers()[0]?.connected, { timeoutMs: 5000, intervalMs: 5, what: 'a → b stream connected' });
    // (a started first, so it may already have seen b's port refuse once, and b come up.)
    a.lost.length = 0;
    a.restored.length = 0;
    await processGone(b);
    await waitFor(() => a.lost.includes('b'), { timeoutMs: 5000, intervalMs: 5, what: 'a to report b lost' });
    assert.equal(a.transport.peers()[0]?.connected, false);
    const again = await makeNode('b', peers);
    await waitFor(() => a.restored.includes('b'), { timeoutMs: 5000, intervalMs: 5, what: 'a to report b restored' });
    assert.ok(again);
  });

  it('reconnects to a restarted peer on its first request instead of waiting out the reconnect backoff (issue 8, defect 13)', async () => {
    const peers = await peersAB();
    // b first, so a connects at once; after b's port refuses, a's next attempt would be a minute away.
    const b = await makeNode('b', peers);
    const a = await makeNode('a', peers, { reconnectMinDelayMs: 60_000, reconnectMaxDelayMs: 60_000 });
    await waitFor(() => a.transport.peers()[0]?.connected, { timeoutMs: 5000, intervalMs: 5, what: 'a → b stream connected' });
    a.lost.length = 0;
    a.restored.length = 0;
    await processGone(b);
    await waitFor(() => a.lost.includes('b'), { timeoutMs: 5000, intervalMs: 5, what: 'a to report b lost' });
    // b restarts; its own stream to a is the first sign of life a sees.
    await makeNode('b', peers);
    await waitFor(() => a.restored.includes('b') && a.transport.peers()[0]?.connected, { timeoutMs: 5000, intervalMs: 5, what: 'a to report b restored well before its backoff ends' });
  });

  it('never reports a hung peer (connect accepted, no answer) as lost: that is a timeout, the core decides', async () => {
    const [pa, pb] = await freePorts(2);
    const accepted: net.Socket[] = [];
    const hung = net.createServer((s) => accepted.push(s));
    await new Promise<void>((r) => hung.listen(pb, '127.0.0.1', () => r()));
    cleanups.push(async () => {
      for (const s of accepted) s.destroy();
      await new Promise<void>((r) => hung.close(() => r()));
    });
    const a = await makeNode('a', [
      { id: 'a', port: pa as number },
      { id: 'b', port: pb as number },
    ], { streamConnectTimeoutMs: 50 });
    await waitFor(() => accepted.length >= 3, { timeoutMs: 10_000, intervalMs: 10, what: 'three stream attempts to time out' });
    assert.deepEqual(a.lost, []);
  });
});
