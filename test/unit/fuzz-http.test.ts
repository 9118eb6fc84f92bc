/**
 * Fuzzing the replica's HTTP surface (docs/design.md §7; issue 8, fuzzers): random and mutated
 * request lines, headers and bodies written on raw sockets to a real in-process replica
 * on loopback, for a few seconds, seeded (the seed is printed). The replica must keep
 * answering /healthz between batches, never answer 500 (a handler that threw), and never
 * crash (an uncaught error would end this test process).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../../src/config';
import { MemoryHardStateStore } from '../../src/election/storage';
import { freePort } from '../../src/local/ports';
import { readJson, sendJson } from '../../src/http/respond';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { Replica } from '../../src/service/replica';
import { fuzzFor, fuzzRun, mutate, randomBuffer } from '../harness/fuzz';
import { waitFor } from '../harness/wait';
import type { Rng } from '../sim/prng';

const BUDGET_MS = 3000;
const TOKEN = 'admin-token-0123456789abcdef';

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'BREW', 'G ET', ''];
const PATHS = ['/healthz', '/readyz', '/metrics', '/api/v1/status', '/api/v1/leadership/transfer', '/api/v1/probe', '/api/v1/echo', '/internal/message', '/', '/api/v1/plans/x/execute'];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'http/1.1', 'HTTP/1.1 extra', ''];

function target(rng: Rng): string {
  switch (rng.int(0, 10)) {
    case 0:
      return `//127.0.0.1:9/${rng.pick(PATHS).slice(1)}`;
    case 1:
      return `http://127.0.0.1:9${rng.pick(PATHS)}`;
    case 2:
      return '*';
    case 3:
      return `/${randomBuffer(rng, 40).toString('latin1').replace(/[\r\n ]/g, '')}`;
    case 4:
      return `/${'a/'.repeat(rng.int(1, 5000))}`;
    case 5:
      return `${rng.pick(PATHS)}?${['since=', 'limit=', 'x=%', '%%', 'a=%ZZ&b'][rng.int(0, 5)]}${randomBuffer(rng, 12).toString('hex')}`;
    case 6:
      return `/api/v1/plans/${encodeURIComponent(randomBuffer(rng, 10).toString('latin1'))}%/execute`;
    default:
      return rng.pick(PATHS);
  }
}

function headers(rng: Rng, bodyLength: number): string[] {
  const out: string[] = [];
  if (rng.chance(0.9)) out.push('Host: 127.0.0.1');
  const n = rng.int(0, 6);
  for (let i = 0; i < n; i++) {
    switch (rng.int(0, 9)) {
      case 0:
        out.push(`Content-Length: ${rng.pick([String(bodyLength), '-1', '99999999999999999999', '1e3', ' 5', `${bodyLength}, ${bodyLength + 1}`])}`);
        break;
      case 1:
        out.push(`Transfer-Encoding: ${rng.pick(['chunked', 'gzip, chunked', 'identity', 'chunked, chunked'])}`);
        break;
      case 2:
        out.push(`Authorization: ${rng.pick([`Bearer ${TOKEN}`, 'Bearer ', 'Basic xx', `Bearer ${randomBuffer(rng, 20).toString('hex')}`])}`);
        break;
      case 3:
        out.push(`Content-Type: ${rng.pick(['application/json', 'text/plain', 'multipart/form-data; boundary=x', ''])}`);
        break;
      case 4:
        out.push(`Connection: ${rng.pick(['close', 'keep-alive', 'upgrade', 'Upgrade, HTTP2-Settings'])}`);
        break;
      case 5:
        out.push(`X-${randomBuffer(rng, 6).toString('hex')}: ${'v'.repeat(rng.int(0, 20_000))}`);
        break;
      case 6:
        out.push(`${randomBuffer(rng, 8).toString('latin1').replace(/[\r\n]/g, '')}: ${randomBuffer(rng, 8).toString('latin1').replace(/[\r\n]/g, '')}`);
        break;
      case 7:
        out.push(`X-Vigil-Forwarded-By: ${rng.pick(['vigil-2', '', 'x'.repeat(300)])}`);
        break;
      default:
        out.push(rng.pick(['Expect: 100-continue', 'Upgrade: websocket', ' folded: header', 'NoColon', 'Accept: */*']));
    }
  }
  return out;
}

function body(rng: Rng): Buffer {
  switch (rng.int(0, 4)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return randomBuffer(rng, 512);
    case 2:
      return mutate(rng, Buffer.from(JSON.stringify({ to: rng.pick(['solo', 'nobody', '', null, 5]) })));
    default:
      return Buffer.from(`${rng.int(0, 40).toString(16)}\r\n${randomBuffer(rng, 40).toString('hex')}\r\n0\r\n\r\n`);
  }
}

/** One raw request; resolves with the status code of the first answer (0 if none came). */
function send(port: number, raw: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve(m === null ? 0 : Number(m[1]));
    };
    // A request that promises more body than it sends is left hanging by design; the
    // server's own timeouts handle it. The client stops waiting early.
    const timer = setTimeout(done, 300);
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      text += c;
      if (text.includes('\r\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => socket.write(raw));
  });
}

function healthz(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('/healthz: no answer within 2 s')));
    req.on('error', reject);
  });
}

describe('HTTP request fuzzing against a real replica (issue 8)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-fuzz-http-'));
  let replica: Replica;
  let port = 0;

  before(async () => {
    const listenPort = await freePort();
    const config = compileConfig(
      {
        cluster: 'fuzz',
        node: { id: 'solo', listen: `127.0.0.1:${listenPort}`, dataDir: dir },
        peers: [{ id: 'solo', url: `http://127.0.0.1:${listenPort}` }],
        kafka: { brokers: ['127.0.0.1:9'] },
        redis: { url: 'redis://127.0.0.1:9' },
        http: { adminToken: TOKEN },
        log: { level: 'silent' },
      },
      {},
      { baseDir: dir },
    );
    replica = await Replica.start(config, { logger: silentLogger, metrics: createMetrics({ nodeId: 'solo', cluster: 'fuzz' }), store: new MemoryHardStateStore() });
    replica.leaderRoute('GET', '/api/v1/probe', ({ res, url }) => sendJson(res, 200, { q: url.search }));
    replica.leaderRoute('POST', '/api/v1/echo', async ({ req, res }) => sendJson(res, 200, { body: (await readJson(req, 4096)) ?? null }));
    port = replica.http.address().port;
    await waitFor(() => replica.driver.isLeader(), { timeoutMs: 5000, intervalMs: 10, what: 'the single replica to lead' });
  });

  after(async () => {
    await replica.shutdown({ transferLeadership: false });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('random and mutated request lines, headers and bodies: /healthz keeps answering, no 500, no crash', async () => {
    const { rng } = fuzzRun('http requests');
    const valid = Buffer.from(`POST /api/v1/leadership/transfer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"to":"other"}`);
    const statuses = new Map<number, number>();
    let requests = 0;
    await fuzzFor(BUDGET_MS, 30, async () => {
      const batch: Array<Promise<number>> = [];
      for (let k = 0; k < 16; k++) {
        let raw: Buffer;
        if (rng.chance(0.3)) {
          raw = valid;
          for (let m = rng.int(1, 6); m > 0; m--) raw = mutate(rng, raw);
        } else {
          const b = body(rng);
          const line = `${rng.pick(METHODS)} ${target(rng)} ${rng.pick(VERSIONS)}`;
          raw = Buffer.concat([Buffer.from(`${[line, ...headers(rng, b.length)].join('\r\n')}\r\n\r\n`, 'latin1'), b]);
        }
        batch.push(send(port, raw));
        requests++;
      }
      for (const status of await Promise.all(batch)) {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        assert.notEqual(status, 500, 'a handler threw on a fuzzed request (see the replica log)');
      }
      assert.equal(await healthz(port), 200);
    });
    process.stderr.write(`[fuzz] http requests: ${requests} sent, answers by status ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    assert.ok(replica.driver.isLeader(), 'the replica still leads');
  });
});
