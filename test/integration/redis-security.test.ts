/**
 * Redis connection security on real servers (issue 8, defect 10; DESIGN §6 "a plain URL
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
});

describe('Redis behind Sentinel, TLS and ACL users everywhere, through a failover (issue 8, defect 10)', () => {
  let master: RedisServer;
  let replica: RedisServer;
  const sentinels: RedisServer[] = [];
  const all = (): RedisServer[] => [master, replica, ...sentinels];

  before(async () => {
    master = await startRedis({ tls: serverTls, users: [VIGIL_USER, OPS_USER] });
    servers.push(master);
    replica = await startRedis({ tls: serverTls, users: [VIGIL_USER, OPS_USER], replicaOf: { host: master.host, port: master.port, user: OPS_USER } });
    servers.push(replica);
    for (let i = 0; i < 3; i++) {
      const s = await startSentinel({
        masterName: MASTER_NAME,
        master: { host: master.host, port: master.port },
        quorum: 2,
        downAfterMs: 1000,
        tls: serverTls,
        instanceUser: OPS_USER,
        users: [SENTINEL_USER],
      });
      servers.push(s);
      sentinels.push(s);
    }
    // A failover needs sentinels that know the replica and each other.
    const views = sentinels.map((s) => opsClient(s, SENTINEL_USER));
    await waitFor(
      async () => {
        for (const view of views) {
          const info = (await view.call('SENTINEL', 'MASTER', MASTER_NAME)) as string[];
          const field = (k: string): string | undefined => info[info.indexOf(k) + 1];
          if (field('num-slaves') !== '1' || field('num-other-sentinels') !== '2') return false;
        }
        return true;
      },
      { timeoutMs: 20_000, what: 'every sentinel to know the replica and the two other sentinels' },
    );
  });

  it('the store finds the master through TLS sentinels, follows a failover after the master is killed, and the term fence holds there', () =>
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
      const store = openStore(config);
      await waitFor(() => store.isUp(), { timeoutMs: 20_000, what: 'the store to reach the master through the sentinels' });
      assert.deepEqual(await store.raiseFence(7), { status: 'ok', fenceTerm: 7 });
      assert.equal(await opsClient(master).get(fenceKey), '7', 'the store writes to the master');
      const replicaView = opsClient(replica);
      await waitFor(async () => (await replicaView.get(fenceKey)) === '7', { timeoutMs: 10_000, what: 'the fence to reach the replica' });

      await master.kill();
      const sentinelView = opsClient(sentinels[0] as RedisServer, SENTINEL_USER);
      await waitFor(
        async () => ((await sentinelView.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[])[1] === String(replica.port),
        { timeoutMs: 20_000, what: 'the sentinels to promote the replica' },
      );

      // The store is back once a fenced write at the current term lands on the new master.
      await waitFor(async () => (await store.raiseFence(7).catch(() => undefined))?.status === 'ok', {
        timeoutMs: 20_000,
        what: 'the store to write to the promoted replica',
      });
      assert.ok(store.isUp());
      assert.deepEqual(await store.raiseFence(6), { status: 'fenced', fenceTerm: 7 }, 'a deposed term is still fenced after the failover');
      assert.deepEqual(await store.raiseFence(8), { status: 'ok', fenceTerm: 8 });
      assert.equal(await replicaView.get(fenceKey), '8', 'the write went to the new master');
    }));
});
