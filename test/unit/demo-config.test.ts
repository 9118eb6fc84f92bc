/**
 * `vigil demo` writes one config per replica (docs/design.md §7 config, §9 demo): every file must
 * pass the same validation `vigil run` applies, keep everything on loopback, and carry the
 * demo's brokers, Redis, webhook receiver, secret and lag rules. The same generator
 * (src/local/replicas.ts) writes the test harness's replica configs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { compileConfig, parseConfigYaml } from '../../src/config';
import { DEMO_CLUSTER, DEMO_LAG, demoReplicaDoc, slowDelayMs, PAYMENTS, SLOW_PACE } from '../../src/demo/config';
import { replicaConfigDoc, replicaLayouts } from '../../src/local/replicas';

const DIR = '/tmp/vigil-demo-unit/replicas';
const ENDPOINTS = {
  brokers: ['127.0.0.1:41001', '127.0.0.1:41002', '127.0.0.1:41003'],
  redisUrl: 'redis://127.0.0.1:42001',
  webhookUrl: 'http://127.0.0.1:43001/hook',
};
const SECRET = 'a-random-peer-secret-for-this-test';
const TOKEN = 'a-random-admin-token-for-this-test';

describe('demo replica configs (docs/design.md §7, §9)', () => {
  const layouts = replicaLayouts(DIR, [9464, 9465, 9466], [9474, 9475, 9476]);

  it('lays out three replicas with their own public and peer port, data dir, config and log under the demo dir', () => {
    assert.deepEqual(layouts.map((l) => l.id), ['vigil-1', 'vigil-2', 'vigil-3']);
    assert.deepEqual(layouts.map((l) => l.url), ['http://127.0.0.1:9464', 'http://127.0.0.1:9465', 'http://127.0.0.1:9466']);
    assert.deepEqual(layouts.map((l) => l.peerUrl), ['http://127.0.0.1:9474', 'http://127.0.0.1:9475', 'http://127.0.0.1:9476']);
    assert.equal(layouts[1]?.dataDir, `${DIR}/vigil-2/data`);
    assert.equal(layouts[1]?.configFile, `${DIR}/vigil-2/vigil.yaml`);
    assert.equal(layouts[1]?.logFile, `${DIR}/vigil-2/replica.log`);
  });

  it('writes a file per replica that compiles as vigil run would read it, on loopback, with the demo endpoints and lag rules', () => {
    for (const self of layouts) {
      const text = stringify(demoReplicaDoc(self, layouts, ENDPOINTS, SECRET, TOKEN));
      const config = compileConfig(parseConfigYaml(text, self.configFile), {}, { baseDir: DIR });
      assert.equal(config.cluster, DEMO_CLUSTER);
      assert.equal(config.node.id, self.id);
      assert.equal(config.node.listen.host, '127.0.0.1');
      assert.equal(config.node.listen.port, self.port);
      assert.deepEqual(config.peers.map((p) => p.url), layouts.map((l) => l.url));
      assert.deepEqual(config.peers.map((p) => p.peerUrl), layouts.map((l) => l.peerUrl));
      assert.deepEqual(config.node.peerListen, { host: '127.0.0.1', port: self.peerPort });
      assert.equal(config.election.secret, SECRET);
      assert.equal(config.http.adminToken, TOKEN);
      assert.deepEqual([...config.kafka.brokers], ENDPOINTS.brokers);
      assert.equal(config.redis.url, ENDPOINTS.redisUrl);
      assert.equal(config.lag.thresholdMs, DEMO_LAG.thresholdSeconds * 1000);
      assert.equal(config.lag.resolveBelowMs, DEMO_LAG.resolveBelowSeconds * 1000);
      assert.equal(config.lag.resolveForMs, DEMO_LAG.resolveForSeconds * 1000);
      assert.equal(config.alerting.channels.length, 1);
      const channel = config.alerting.channels[0] as { type: string; url: string };
      assert.equal(channel.type, 'webhook');
      assert.equal(channel.url, ENDPOINTS.webhookUrl);
    }
  });

  it('with --with-prometheus, adds an alertmanager channel to the demo\'s Alertmanager beside the webhook', () => {
    const self = layouts[0] as (typeof layouts)[number];
    const text = stringify(demoReplicaDoc(self, layouts, { ...ENDPOINTS, alertmanagerUrl: 'http://127.0.0.1:44001' }, SECRET, TOKEN));
    const config = compileConfig(parseConfigYaml(text, self.configFile), {}, { baseDir: DIR });
    assert.deepEqual(config.alerting.channels.map((c) => [c.type, c.url]), [['webhook', ENDPOINTS.webhookUrl], ['alertmanager', 'http://127.0.0.1:44001']]);
  });

  it('lets extra sections replace the placeholders, so a group without them elects without Kafka or Redis', () => {
    const self = layouts[0] as (typeof layouts)[number];
    const bare = replicaConfigDoc(self, layouts, { cluster: 'test', secret: SECRET, adminToken: TOKEN });
    assert.deepEqual(bare['kafka'], { brokers: ['127.0.0.1:9'] });
    const withKafka = replicaConfigDoc(self, layouts, { cluster: 'test', secret: SECRET, adminToken: TOKEN, config: (id) => ({ kafka: { brokers: [`${id}.example:9092`] } }) });
    assert.deepEqual(withKafka['kafka'], { brokers: ['vigil-1.example:9092'] });
    const election = replicaConfigDoc(self, layouts, { cluster: 'test', secret: SECRET, adminToken: TOKEN, election: { electionTimeout: '2s' } })['election'];
    assert.deepEqual(election, { heartbeatInterval: '100ms', electionTimeout: '2s', secret: SECRET });
  });

  it("paces the slow consumer below the produce rate, so its latency grows past the threshold", () => {
    const consumedPerSec = 1000 / slowDelayMs();
    assert.ok(consumedPerSec < PAYMENTS.ratePerSec, `${consumedPerSec}/s consumed vs ${PAYMENTS.ratePerSec}/s produced`);
    assert.ok(SLOW_PACE.speedUpAtSeconds > DEMO_LAG.thresholdSeconds, 'it speeds up only after it has paged');
  });
});
