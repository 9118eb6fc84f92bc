/**
 * Redis connection security on real servers (issue 8, defect 10; docs/design.md §6 "a plain URL
 * and Sentinel"): TLS with a private CA and client certificates, and ACL users, for a
 * standalone redis-server and for Sentinel — both vigil's connections to the sentinels and
 * to the master they name — with a Sentinel failover that the store follows, keeping the
 * term fence. Configs go through loadConfig from a YAML file, as a replica reads them:
 * PEM paths relative to the file, passwords from ${ENV}.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { loadConfig, type VigilConfig } from '../../src/config';
import { stateKeys } from '../../src/state/keys';
import { RedisStateStore } from '../../src/state/redis-store';
import { makeTestCerts, type TestCerts } from '../harness/certs';
import { withLogsOnFailure } from '../harness/failure';
import { startRedis, startSentinel, type LocalRedisTls, type LocalRedisUser, type RedisServer } from '../harness/redis';
import { waitFor } from '../harness/wait';

/** Generous: a loaded 2-core machine runs Kafka clusters beside this test. */
const COMMAND_TIMEOUT_MS = 3000;
const MASTER_NAME = 'vigil-master';

/** What vigil logs in as: its own keys only, no admin commands (INFO for the ready check). */
const VIGIL_USER: LocalRedisUser = { name: 'vigil', password: 'vigil-acl-pass-1234', rules: '~vigil:* &* +@all -@dangerous +info' };
/** Replication and the sentinels' links to the instances. */
const OPS_USER: LocalRedisUser = { name: 'ops', password: 'ops-acl-pass-1234' };
/** The sentinels' own user (vigil and the sentinels themselves log in to sentinels as it). */
const SENTINEL_USER: LocalRedisUser = { name: 'watcher', password: 'watcher-acl-pass-1234' };

const ENV = { VIGIL_REDIS_PASSWORD: VIGIL_USER.password, VIGIL_SENTINEL_PASSWORD: SENTINEL_USER.password };

let certs: TestCerts;
let serverTls: LocalRedisTls;
const servers: RedisServer[] = [];
const stores: RedisStateStore[] = [];
const clients: Redis[] = [];

before(() => {
  certs = makeTestCerts();
  serverTls = { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile };
});

after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map((s) => s.shutdown()));
  certs?.remove();
});

/** A replica's config file next to copies of the PEM files, named relative to it. */
function loadYaml(name: string, redisYaml: string): VigilConfig {
  const dir = path.join(certs.dir, name);
  fs.mkdirSync(path.join(dir, 'tls'), { recursive: true });
  fs.copyFileSync(certs.caFile, path.join(dir, 'tls', 'ca.pem'));
  fs.copyFileSync(certs.clientCertFile, path.join(dir, 'tls', 'vigil.pem'));
  fs.copyFileSync(certs.clientKeyFile, path.join(dir, 'tls', 'vigil.key'));
  const file = path.join(dir, 'vigil.yaml');
  fs.writeFileSync(
    file,
    [
      `cluster: ${name}`,
      'node: { id: solo, listen: "127.0.0.1:9464" }',
      'peers: [ { id: solo, url: "http://127.0.0.1:9464" } ]',
      'kafka: { brokers: ["127.0.0.1:9092"] }',
      redisYaml,
    ].join('\n'),
  );
  return loadConfig(file, ENV);
}

function openStore(config: VigilConfig): RedisStateStore {
  const store = new RedisStateStore({
    cluster: config.cluster,
    redis: config.redis,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    reconnectMaxDelayMs: 200,
    probeIntervalMs: 200,
  });
  stores.push(store);
  return store;
}

/** The test's own view of a server, as the ops user over TLS with the client certificate. */
function opsClient(server: RedisServer, user: LocalRedisUser = OPS_USER): Redis {
  const client = new Redis({
    host: server.host,
    port: server.port,
    username: user.name,
    password: user.password,
    tls: { ca: fs.readFileSync(certs.caFile), cert: fs.readFileSync(certs.clientCertFile), key: fs.readFileSync(certs.clientKeyFile) },
    maxRetriesPerRequest: 1,
    retryStrategy: () => 200,
  });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

/** Resolves to the server's first reply line, or to the error that ended the connection. */
function tlsPingWithoutClientCert(server: RedisServer): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: server.host, port: server.port, ca: fs.readFileSync(certs.caFile) });
    let reply = '';
    const done = (text: string): void => {
      socket.destroy();
      resolve(text);
    };
    socket.on('secureConnect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.trim());
    });
    socket.on('error', (err) => done(`error: ${err.message}`));
    socket.on('close', () => done(reply === '' ? 'closed' : reply.trim()));
  });
}

describe('Redis over TLS with a client certificate and an ACL user (issue 8, defect 10)', () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedis({ tls: serverTls, users: [VIGIL_USER, OPS_USER] });
    servers.push(redis);
  });

  it('the server demands a client certificate: a TLS client without one gets no answer', () =>
    withLogsOnFailure(redis, async () => {
      const reply = await tlsPingWithoutClientCert(redis);
      assert.ok(!reply.startsWith('+PONG') && !reply.startsWith('-NOAUTH'), `got ${reply}`);
    }));

  it('standalone: rediss:// with the CA, client certificate and key from files and the ACL user from ${ENV}; the fence works', () =>
    withLogsOnFailure(redis, async () => {
      const config = loadYaml(
        'tls-standalone',
        [
          'redis:',
          `  url: "rediss://127.0.0.1:${redis.port}"`,
          '  username: vigil',
          '  password: "${VIGIL_REDIS_PASSWORD}"',
          '  tls: { ca: tls/ca.pem, cert: tls/vigil.pem, key: tls/vigil.key }',
        ].join('\n'),
      );
      const store = openStore(config);
      await waitFor(() => store.isUp(), { timeoutMs: 20_000, what: 'the store to log in over TLS' });
      assert.deepEqual(await store.raiseFence(5), { status: 'ok', fenceTerm: 5 });
      assert.deepEqual(await store.raiseFence(4), { status: 'fenced', fenceTerm: 5 });
      // logged in as the ACL user, not as default
      const fence = await opsClient(redis).get(stateKeys(config.cluster).fence);
      assert.equal(fence, '5');
      const who = (await opsClient(redis).call('CLIENT', 'LIST')) as string;
      assert.match(who, /name=vigil .*user=vigil /);
    }));

  it('a client that ioredis ended for good (as its Sentinel failover detector can, mid-reconnect) is started again', () =>
    withLogsOnFailure(redis, async () => {
      const config = loadYaml(
        'tls-ended',
        ['redis:', `  url: "rediss://vigil:\${VIGIL_REDIS_PASSWORD}@127.0.0.1:${redis.port}"`, '  tls: { ca: tls/ca.pem, cert: tls/vigil.pem, key: tls/vigil.key }'].join('\n'),
      );
      const store = openStore(config);
      await waitFor(() => store.isUp(), { timeoutMs: 20_000, what: 'the store to log in over TLS' });
      const seen: boolean[] = [];
      store.onStatus((st) => seen.push(st.up));
      const client = (store as unknown as { client: Redis }).client;
      client.disconnect(); // ioredis' way of ending a client: no reconnect of its own
      await waitFor(() => seen.join() === 'false,true', { timeoutMs: 20_000, what: 'the store to go down and connect again' });
      assert.deepEqual(await store.raiseFence(3), { status: 'ok', fenceTerm: 3 });
    }));
});

describe('Redis behind Sentinel, TLS and ACL users everywhere, through failovers (issue 8, defect 10)', () => {
  let master: RedisServer;
  const replicas: RedisServer[] = [];
  const sentinels: RedisServer[] = [];
  const all = (): RedisServer[] => [master, ...replicas, ...sentinels];
  const sentinelViews: Redis[] = [];

  before(async () => {
    // masterUser everywhere: after a failover, any of them may be a replica.
    const data = { tls: serverTls, users: [VIGIL_USER, OPS_USER], masterUser: OPS_USER };
    master = await startRedis(data);
    servers.push(master);
    for (let i = 0; i < 2; i++) {
      const r = await startRedis({ ...data, replicaOf: { host: master.host, port: master.port } });
      servers.push(r);
      replicas.push(r);
    }
    for (let i = 0; i < 3; i++) {
      const s = await startSentinel({
        masterName: MASTER_NAME,
        master: { host: master.host, port: master.port },
        quorum: 2,
        // 1 s made a loaded machine's just-promoted master look down to two sentinels,
        // which failed it over again (CI, 2026-12-07); 3 s still notices the killed one fast
        downAfterMs: 3000,
        tls: serverTls,
        instanceUser: OPS_USER,
        users: [SENTINEL_USER],
      });
      servers.push(s);
      sentinels.push(s);
      sentinelViews.push(opsClient(s, SENTINEL_USER));
    }
    // A failover needs sentinels that know the replicas and each other.
    await waitFor(
      async () => {
        for (const view of sentinelViews) {
          const info = (await view.call('SENTINEL', 'MASTER', MASTER_NAME)) as string[];
          const field = (k: string): string | undefined => info[info.indexOf(k) + 1];
          if (field('num-slaves') !== '2' || field('num-other-sentinels') !== '2') return false;
        }
        return true;
      },
      { timeoutMs: 20_000, what: 'every sentinel to know both replicas and the two other sentinels' },
    );
  });

  const masterPort = async (): Promise<number> =>
    Number(((await (sentinelViews[0] as Redis).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[])[1]);

  /** Every sentinel names `port` as the master and has finished its failover work. */
  /** 2 × the harness's failover-timeout (src/local/redis.ts) plus room for a loaded machine */
  const SENTINEL_SETTLE_MS = 45_000;
  const settledOn = async (port: number): Promise<boolean> => {
    for (const view of sentinelViews) {
      const info = (await view.call('SENTINEL', 'MASTER', MASTER_NAME)) as string[];
      const field = (k: string): string | undefined => info[info.indexOf(k) + 1];
      if (field('port') !== String(port) || field('flags') !== 'master') return false;
    }
    return true;
  };

  it('the store finds the master through TLS sentinels, follows a failover after the master is killed and a SENTINEL FAILOVER of a live master, and the term fence holds', () =>
    withLogsOnFailure(all(), async () => {
      const config = loadYaml(
        'tls-sentinel',
        [
          'redis:',
          '  username: vigil',
          '  password: "${VIGIL_REDIS_PASSWORD}"',
          '  tls: { ca: tls/ca.pem, cert: tls/vigil.pem, key: tls/vigil.key }',
          '  sentinel:',
          `    name: ${MASTER_NAME}`,
          `    sentinels: [${sentinels.map((s) => `"127.0.0.1:${s.port}"`).join(', ')}]`,
          '    sentinelUsername: watcher',
          '    sentinelPassword: "${VIGIL_SENTINEL_PASSWORD}"',
          '    sentinelTls: { ca: tls/ca.pem, cert: tls/vigil.pem, key: tls/vigil.key }',
        ].join('\n'),
      );
      const fenceKey = stateKeys(config.cluster).fence;
      const views = new Map(replicas.map((r) => [r.port, opsClient(r)]));
      const store = openStore(config);
      await waitFor(() => store.isUp(), { timeoutMs: 20_000, what: 'the store to reach the master through the sentinels' });
      assert.deepEqual(await store.raiseFence(7), { status: 'ok', fenceTerm: 7 });
      assert.equal(await opsClient(master).get(fenceKey), '7', 'the store writes to the master');
      for (const [port, view] of views) {
        await waitFor(async () => (await view.get(fenceKey)) === '7', { timeoutMs: 10_000, what: `the fence to reach the replica on port ${port}` });
      }

      // 1. The master is killed: the sentinels promote a replica.
      await master.kill();
      await waitFor(async () => views.has(await masterPort()), { timeoutMs: 20_000, what: 'the sentinels to promote a replica' });
      const first = await masterPort();
      const firstView = views.get(first) as Redis;
      // The store is back once a fenced write lands on the new master.
      await waitFor(async () => (await store.raiseFence(8).catch(() => undefined))?.status === 'ok' && (await firstView.get(fenceKey)) === '8', {
        timeoutMs: 20_000,
        what: `the store to write to the promoted replica on port ${first}`,
      });
      assert.deepEqual(await store.raiseFence(6), { status: 'fenced', fenceTerm: 8 }, 'a deposed term is still fenced after the failover');

      // 2. SENTINEL FAILOVER demotes a master that is alive and answering.
      const [second, secondView] = [...views].find(([port]) => port !== first) as [number, Redis];
      await waitFor(async () => (await secondView.get(fenceKey)) === '8', { timeoutMs: 20_000, what: 'the other replica to follow the new master' });
      // A sentinel keeps the failover in progress until every reachable replica follows the
      // new master, up to failover-timeout (10 s) — twice that when a split vote makes
      // it start over; a loaded machine needs the margin (20 s timed out in a CI run).
      await waitFor(() => settledOn(first), { timeoutMs: SENTINEL_SETTLE_MS, what: 'every sentinel to finish the first failover' });
      await (sentinelViews[0] as Redis).call('SENTINEL', 'FAILOVER', MASTER_NAME);
      await waitFor(async () => (await masterPort()) === second, { timeoutMs: 20_000, what: `the sentinels to promote the replica on port ${second}` });
      // A write may still land on the demoted master before Sentinel turns it into a
      // replica (and is lost then); the store's restore puts the fence back on reconnect.
      await waitFor(async () => (await store.raiseFence(9).catch(() => undefined))?.status === 'ok' && (await secondView.get(fenceKey)) === '9', {
        timeoutMs: 20_000,
        what: `the store to leave the demoted master for the one on port ${second}`,
      });
      assert.deepEqual(await store.raiseFence(8), { status: 'fenced', fenceTerm: 9 }, 'a deposed term is still fenced after the second failover');
    }));
});
