/**
 * TLS between replicas (issue 8, defect 6: `https://` peer URLs were accepted and then
 * spoken to in plaintext). Three in-process replicas with https:// url and peerUrl and
 * node.tls from a CA made here with the openssl CLI: they elect over TLS, a follower
 * forwards over TLS, both listeners refuse plaintext, and a client that does not trust
 * the CA is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../../src/config';
import { MemoryHardStateStore } from '../../src/election/storage';
import { sendJson } from '../../src/http/respond';
import { clientScheme } from '../../src/http/tls';
import { freePorts } from '../../src/local/ports';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { Replica } from '../../src/service/replica';
import { waitFor } from '../harness/wait';

const SECRET = 'peer-secret-0123456789abcdef';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A CA and a certificate for 127.0.0.1 signed by it, as files in `dir`. */
function makeCerts(dir: string, name: string): { ca: string; cert: string; key: string } {
  const f = (n: string): string => path.join(dir, `${name}-${n}`);
  const run = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}-ca`, '-keyout', f('ca-key.pem'), '-out', f('ca.pem'));
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=vigil', '-keyout', f('key.pem'), '-out', f('csr.pem'));
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', f('csr.pem'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('cert.pem'));
  return { ca: f('ca.pem'), cert: f('cert.pem'), key: f('key.pem') };
}

function get(url: string, opts: https.RequestOptions = {}): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { agent: false, timeout: 5000, ...opts }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('peer TLS (issue 8, defect 6)', { skip: hasOpenssl() ? false : 'the openssl CLI is not installed (apt-get install openssl)' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-peer-tls-'));
  const replicas: Replica[] = [];
  let certs: { ca: string; cert: string; key: string };
  let ports: number[] = [];
  const ids = ['vigil-1', 'vigil-2', 'vigil-3'];

  before(async () => {
    certs = makeCerts(dir, 'good');
    ports = await freePorts(6);
    const peers = ids.map((id, i) => ({ id, url: `https://127.0.0.1:${ports[i]}`, peerUrl: `https://127.0.0.1:${ports[i + 3]}` }));
    for (const [i, id] of ids.entries()) {
      const config = compileConfig(
        {
          cluster: 'tls',
          node: { id, listen: `127.0.0.1:${ports[i]}`, peerListen: `127.0.0.1:${ports[i + 3]}`, tls: certs },
          peers,
          election: { heartbeatInterval: '50ms', electionTimeout: '300ms', secret: SECRET },
          kafka: { brokers: ['127.0.0.1:9'] },
          redis: { url: 'redis://127.0.0.1:9' },
          log: { level: 'silent' },
        },
        {},
        { baseDir: dir },
      );
      const replica = await Replica.start(config, { logger: silentLogger, metrics: createMetrics({ nodeId: id, cluster: 'tls' }), store: new MemoryHardStateStore() });
      replica.leaderRoute('GET', '/api/v1/probe', ({ res }) => sendJson(res, 200, { servedBy: id }));
      replicas.push(replica);
    }
  });

  after(async () => {
    for (const r of replicas) await r.shutdown({ transferLeadership: false });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the replicas elect a leader over TLS and every peer stream connects', async () => {
    await waitFor(
      () => {
        const leaders = replicas.filter((r) => r.driver.isLeader());
        if (leaders.length !== 1) return false;
        const leader = leaders[0]?.config.node.id;
        return replicas.every((r) => r.driver.leaderId() === leader && r.driver.status().peers.every((p) => p.connected));
      },
      { timeoutMs: 15_000, intervalMs: 20, what: 'one leader over TLS, every peer stream connected' },
    );
  });

  it('a follower forwards a leader-only read to the leader over TLS', async () => {
    const follower = replicas.find((r) => !r.driver.isLeader()) as Replica;
    const leaderId = replicas.find((r) => r.driver.isLeader())?.config.node.id;
    const r = await get(`https://127.0.0.1:${follower.config.node.listen.port}/api/v1/probe`, { ca: fs.readFileSync(certs.ca) });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(r.text), { servedBy: leaderId });
  });

  it('both listeners speak TLS only: a plaintext request gets no HTTP answer', async () => {
    for (const port of [ports[0], ports[3]]) {
      await assert.rejects(get(`http://127.0.0.1:${port}/healthz`), `port ${port} answered plaintext HTTP`);
    }
    // The peer listener over TLS: the peer protocol answers (unsigned → 401).
    const peer = await get(`https://127.0.0.1:${ports[3]}/internal/message`, { method: 'POST', ca: fs.readFileSync(certs.ca) });
    assert.equal(peer.status, 401);
  });

  it("a client that does not trust the CA is refused, the transport's own client included (certificates are verified)", async () => {
    const other = makeCerts(dir, 'other');
    await assert.rejects(get(`https://127.0.0.1:${ports[0]}/healthz`, { ca: fs.readFileSync(other.ca) }), /self-signed|unable to verify|certificate/i);
    // The transport's own client: same verification through node.tls.ca.
    const scheme = clientScheme(`https://127.0.0.1:${ports[3]}`, { ca: fs.readFileSync(other.ca, 'utf8'), cert: '', key: '' });
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = scheme.request({ host: '127.0.0.1', port: ports[3], path: '/internal/message', method: 'POST', agent: false });
        req.on('response', resolve);
        req.on('error', reject);
        req.end();
      }),
      /self-signed|unable to verify|certificate/i,
    );
  });
});
