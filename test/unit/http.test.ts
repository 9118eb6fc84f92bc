/**
 * The replica's HTTP surface (docs/design.md §7): router (params, wildcard, 404/405, error shape),
 * bearer-token auth for mutations, body caps, the status routes (/healthz, /readyz,
 * /metrics, /api/v1/status, POST /api/v1/leadership/transfer) and forwarding to the leader.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { ElectionDriver } from '../../src/election/driver';
import { MemoryHardStateStore } from '../../src/election/storage';
import { MemoryNetwork } from '../../src/election/transport/memory';
import { forwardToLeader, FORWARDED_BY_HEADER } from '../../src/http/forward';
import { readBody, sendJson } from '../../src/http/respond';
import { HttpServer } from '../../src/http/server';
import { defaultStatusHooks, registerStatusRoutes } from '../../src/service/status-routes';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { waitFor } from '../harness/wait';

const servers: HttpServer[] = [];
const stops: Array<() => Promise<void>> = [];
after(async () => {
  for (const s of stops) await s();
  for (const s of servers) await s.close();
});

async function serve(setup: (s: HttpServer) => void): Promise<number> {
  const s = new HttpServer({ logger: silentLogger });
  setup(s);
  servers.push(s);
  return (await s.listen('127.0.0.1', 0)).port;
}

function call(port: number, method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: opts.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('HttpServer router', () => {
  it('routes by method and path, captures params, prefers exact over params over wildcard', async () => {
    const port = await serve((s) => {
      s.route('GET', '/api/v1/plans/:id', ({ res, params }) => sendJson(res, 200, { route: 'param', id: params['id'] }));
      s.route('GET', '/api/v1/plans/latest', ({ res }) => sendJson(res, 200, { route: 'exact' }));
      s.route('GET', '/api/*', ({ res }) => sendJson(res, 200, { route: 'wild' }));
      s.route('POST', '/api/v1/plans/:id/execute', ({ res, params }) => sendJson(res, 202, { id: params['id'] }));
    });
    assert.deepEqual((await call(port, 'GET', '/api/v1/plans/p%201')).json, { route: 'param', id: 'p 1' });
    assert.deepEqual((await call(port, 'GET', '/api/v1/plans/latest')).json, { route: 'exact' });
    assert.deepEqual((await call(port, 'GET', '/api/other/thing')).json, { route: 'wild' });
    assert.equal((await call(port, 'POST', '/api/v1/plans/x/execute')).status, 202);
    const notFound = await call(port, 'GET', '/nope');
    assert.equal(notFound.status, 404);
    assert.equal(notFound.json.error.code, 'NOT_FOUND');
    const wrong = await call(port, 'DELETE', '/api/v1/plans/x/execute');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers['allow'], 'GET, POST'); // GET through the /api/* wildcard
  });

  it('renders thrown errors as {error:{code,message}}: HttpError with its status, anything else as 500 without details', async () => {
    const port = await serve((s) => {
      s.route('GET', '/boom', () => {
        throw new Error('secret internals');
      });
      s.route('POST', '/echo', async ({ req, res }) => sendJson(res, 200, { size: (await readBody(req, 10)).length }));
    });
    const boom = await call(port, 'GET', '/boom');
    assert.equal(boom.status, 500);
    assert.equal(boom.json.error.code, 'INTERNAL');
    assert.ok(!boom.text.includes('secret internals'));
    assert.equal((await call(port, 'POST', '/echo', { body: '12345' })).json.size, 5);
    const big = await call(port, 'POST', '/echo', { body: 'x'.repeat(100) });
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, 'BODY_TOO_LARGE');
  });
});

/** A one-replica group elects itself; fast timings keep the test short. */
async function singleReplica(adminToken: string) {
  const net = new MemoryNetwork(['solo']);
  const metrics = createMetrics({ nodeId: 'solo', cluster: 't' });
  const driver = new ElectionDriver({
    id: 'solo',
    members: ['solo'],
    timing: { heartbeatIntervalMs: 10, electionTimeoutMs: 50 },
    store: new MemoryHardStateStore(),
    transport: net.transportFor('solo'),
    logger: silentLogger,
    metrics,
  });
  const hooks = defaultStatusHooks();
  const port = await serve((s) =>
    registerStatusRoutes(s, { nodeId: 'solo', cluster: 't', driver, metrics, adminToken, peerUrls: new Map([['solo', 'http://x']]), hooks, startedAtMs: performance.now() }),
  );
  driver.start();
  stops.push(() => driver.stop());
  return { port, driver, hooks };
}

describe('status routes', () => {
  it('healthz, readyz (in a quorum, whatever Kafka says), metrics and status with kafka/redis hooks', async () => {
    const { port, driver, hooks } = await singleReplica('admin-token-0123456789');
    assert.equal((await call(port, 'GET', '/healthz')).status, 200);
    await waitFor(() => driver.isLeader(), { timeoutMs: 5000, intervalMs: 10, what: 'the single replica to lead' });
    const ready = await call(port, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json, { ready: true, nodeId: 'solo', role: 'leader' });
    // Kafka's state is reported by /api/v1/status, not by readiness (issue 8 defect 12)
    hooks.kafkaStatus = () => ({ state: 'down', error: 'could not reach any Kafka broker' });
    assert.equal((await call(port, 'GET', '/readyz')).status, 200);
    assert.equal((await call(port, 'GET', '/api/v1/status')).json.kafka.state, 'down');
    hooks.kafkaStatus = () => ({ state: 'unknown' });

    const status = (await call(port, 'GET', '/api/v1/status')).json;
    for (const key of ['nodeId', 'role', 'term', 'leaderId', 'leaseValid', 'peers', 'kafka', 'redis']) assert.ok(key in status, key);
    assert.equal(status.role, 'leader');
    // the URL people open (the status page links it when this replica stops answering)
    assert.equal(status.publicUrl, 'http://x');
    assert.deepEqual(status.kafka, { state: 'unknown' });
    hooks.redisStatus = () => ({ state: 'up' });
    assert.deepEqual((await call(port, 'GET', '/api/v1/status')).json.redis, { state: 'up' });

    const metrics = await call(port, 'GET', '/metrics');
    assert.match(metrics.text, /vigil_election_term\{[^}]*\} [1-9]/);
    assert.match(metrics.text, /vigil_election_is_leader\{[^}]*\} 1/);
  });

  it('leadership transfer needs the bearer token; an empty adminToken disables it with a 403 that says how to enable it', async () => {
    const off = await singleReplica('');
    const disabled = await call(off.port, 'POST', '/api/v1/leadership/transfer');
    assert.equal(disabled.status, 403);
    assert.match(disabled.json.error.message, /http\.adminToken/);

    const on = await singleReplica('admin-token-0123456789');
    assert.equal((await call(on.port, 'POST', '/api/v1/leadership/transfer')).status, 401);
    assert.equal((await call(on.port, 'POST', '/api/v1/leadership/transfer', { headers: { authorization: 'Bearer wrong-token' } })).status, 401);
    await waitFor(() => on.driver.isLeader(), { timeoutMs: 5000, intervalMs: 10, what: 'the single replica to lead' });
    // Alone, there is nobody to hand over to.
    const alone = await call(on.port, 'POST', '/api/v1/leadership/transfer', { headers: { authorization: 'Bearer admin-token-0123456789' } });
    assert.equal(alone.status, 409);
    assert.equal(alone.json.error.code, 'TARGET_NOT_RESPONSIVE');
    const bad = await call(on.port, 'POST', '/api/v1/leadership/transfer', { headers: { authorization: 'Bearer admin-token-0123456789' }, body: '{"to":"nobody"}' });
    assert.equal(bad.status, 400);
  });
});

describe('forwardToLeader', () => {
  it('a follower forwards to the leader and returns its answer; a forwarded request is never forwarded again', async () => {
    const leaderPort = await serve((s) => s.route('GET', '/api/v1/lag', ({ res, url }) => sendJson(res, 200, { from: 'leader', q: url.searchParams.get('group') })));
    const followerPort = await serve((s) =>
      s.route('GET', '/api/v1/lag', ({ req, res }) => forwardToLeader(req, res, { selfId: 'f', leader: { id: 'l', url: `http://127.0.0.1:${leaderPort}` } })),
    );
    const r = await call(followerPort, 'GET', '/api/v1/lag?group=g1');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { from: 'leader', q: 'g1' });
    assert.equal(r.headers['x-vigil-served-by'], 'l');
    const loop = await call(followerPort, 'GET', '/api/v1/lag', { headers: { [FORWARDED_BY_HEADER]: 'other' } });
    assert.equal(loop.status, 503);
    assert.equal(loop.json.error.code, 'NO_LEADER');
  });

  it('answers 503 NO_LEADER without a known leader and 502 when the leader does not answer', async () => {
    const none = await serve((s) => s.route('GET', '/x', ({ req, res }) => forwardToLeader(req, res, { selfId: 'f', leader: null })));
    assert.equal((await call(none, 'GET', '/x')).status, 503);
    const gone = await serve((s) => s.route('GET', '/x', ({ req, res }) => forwardToLeader(req, res, { selfId: 'f', leader: { id: 'l', url: 'http://127.0.0.1:1' } })));
    const r = await call(gone, 'GET', '/x');
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, 'LEADER_UNREACHABLE');
  });
});

/** Writes `raw` on a fresh socket and resolves with everything the server answered (until it closes or answers once). */
function rawRequest(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const done = (): void => {
      socket.destroy();
      resolve(text);
    };
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      text += c;
      // One complete answer is enough: the status line and the end of its headers.
      if (/\r\n\r\n/.test(text)) {
        const m = /content-length: (\d+)/i.exec(text);
        const bodyAt = text.indexOf('\r\n\r\n') + 4;
        if (m === null || text.length - bodyAt >= Number(m[1])) done();
      }
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', reject);
    socket.write(raw);
  });
}

/** A TCP listener that records every byte sent to it: the host an SSRF would reach. */
async function bystander(): Promise<{ port: number; connections: () => number; received: () => string }> {
  let connections = 0;
  let received = '';
  const server = net.createServer((socket) => {
    connections++;
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stops.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, received: () => received };
}

describe('forwarding goes to the configured leader only (issue 8, defect 2: SSRF through followers)', () => {
  it('refuses scheme-relative, absolute-form and authority-form targets with 400; the other host receives nothing, the Authorization header never reaches it', async () => {
    const other = await bystander();
    const leaderPort = await serve((s) => s.route('GET', '/api/v1/alerts', ({ res }) => sendJson(res, 200, { from: 'leader' })));
    const followerPort = await serve((s) =>
      s.route('GET', '/api/v1/alerts', ({ req, res }) => forwardToLeader(req, res, { selfId: 'f', leader: { id: 'l', url: `http://127.0.0.1:${leaderPort}` } })),
    );
    const auth = 'Authorization: Bearer admin-token-0123456789\r\n';
    const targets = [
      `//127.0.0.1:${other.port}/api/v1/alerts`,
      `http://127.0.0.1:${other.port}/api/v1/alerts`,
      `HTTP://127.0.0.1:${other.port}/api/v1/alerts?x=1`,
      `http://user:pw@127.0.0.1:${other.port}/api/v1/alerts`,
      `/\\127.0.0.1:${other.port}/api/v1/alerts`,
    ];
    for (const target of targets) {
      const answer = await rawRequest(followerPort, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Connection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 400 /, `target ${target}: ${answer.slice(0, 200)}`);
      assert.match(answer, /"code":"BAD_REQUEST_TARGET"/);
    }
    // Authority-form (CONNECT) is no route at all.
    await rawRequest(followerPort, `CONNECT 127.0.0.1:${other.port} HTTP/1.1\r\nHost: 127.0.0.1:${other.port}\r\n${auth}\r\n`);
    // The ordinary origin-form request still works and proves the follower is live.
    const ok = await call(followerPort, 'GET', '/api/v1/alerts');
    assert.equal(ok.status, 200);
    assert.equal(other.connections(), 0, 'the follower connected to a host that is not the leader');
    assert.equal(other.received(), '');
  });

  it('forwardToLeader itself keeps to the leader origin when handed a non-origin target (defence in depth)', async () => {
    const other = await bystander();
    let leaderSaw = '';
    const leaderPort = await serve((s) =>
      s.route('GET', '/api/*', ({ req, res }) => {
        leaderSaw = req.url ?? '';
        sendJson(res, 200, { from: 'leader' });
      }),
    );
    // A bare node:http server: no router in front of forwardToLeader.
    const bare = http.createServer((req, res) => void forwardToLeader(req, res, { selfId: 'f', leader: { id: 'l', url: `http://127.0.0.1:${leaderPort}` } }));
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => bare.close(() => resolve())));
    const port = (bare.address() as net.AddressInfo).port;
    const scheme = await rawRequest(port, `GET //127.0.0.1:${other.port}/api/v1/alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n`);
    assert.match(scheme, /^HTTP\/1\.1 400 /);
    const absolute = await rawRequest(port, `GET http://127.0.0.1:${other.port}/api/v1/alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n`);
    assert.match(absolute, /^HTTP\/1\.1 400 /);
    const fine = await rawRequest(port, `GET /api/v1/alerts?since=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(fine, /^HTTP\/1\.1 200 /);
    assert.equal(leaderSaw, '/api/v1/alerts?since=1');
    assert.equal(other.connections(), 0);
  });

  it('never echoes why the leader could not be reached: a fixed message with a stable code', async () => {
    const follower = await serve((s) => s.route('GET', '/x', ({ req, res }) => forwardToLeader(req, res, { selfId: 'f', leader: { id: 'l', url: `http://127.0.0.1:1` } })));
    const r = await call(follower, 'GET', '/x');
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, 'LEADER_UNREACHABLE');
    assert.doesNotMatch(r.json.error.message, /ECONNREFUSED|127\.0\.0\.1|:1\b/);
  });
});
