/**
 * Loading and compiling the config (docs/design.md §7, STYLE "raw → defaults → compiled once,
 * durations to milliseconds, then frozen"): the compiled values, defaults, `${ENV}`
 * expansion, file handling, and that the shipped example and docs stay in step.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import {
  checkConfig,
  compileConfig,
  CONFIG_KEYS,
  configProblemsOf,
  lagRuleFor,
  loadConfig,
  summarizeConfig,
  VigilConfig,
} from '../../src/config';
import { isVigilError, VigilError } from '../../src/errors';
import { ADMIN_TOKEN, minimalRaw, PEER_SECRET, validRaw } from './config-fixture';

const root = path.resolve(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-config-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function compile(raw: unknown, env: Record<string, string> = {}, baseDir = tmp): VigilConfig {
  return compileConfig(raw, env, { baseDir });
}

function thrown(fn: () => unknown): VigilError {
  try {
    fn();
  } catch (err) {
    if (isVigilError(err)) return err;
    throw err;
  }
  assert.fail('expected a VigilError');
}

function writeFile(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function isDeepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen);
}

describe('a full config (the docs/design.md §7 example) compiles', () => {
  const config = compile(validRaw());

  it('to the expected values, durations in milliseconds, relative paths made absolute', () => {
    assert.deepEqual(config, {
      cluster: 'local',
      node: { id: 'vigil-1', listen: { host: '127.0.0.1', port: 9464 }, peerListen: { host: '127.0.0.1', port: 9474 }, dataDir: path.join(tmp, 'data', 'vigil-1') },
      peers: [
        { id: 'vigil-1', url: 'http://127.0.0.1:9464', peerUrl: 'http://127.0.0.1:9474' },
        { id: 'vigil-2', url: 'http://127.0.0.1:9465', peerUrl: 'http://127.0.0.1:9475' },
        { id: 'vigil-3', url: 'http://127.0.0.1:9466', peerUrl: 'http://127.0.0.1:9476' },
      ],
      election: { heartbeatIntervalMs: 100, electionTimeoutMs: 400, secret: PEER_SECRET, maxClockSkewMs: 5_000 },
      kafka: { brokers: ['127.0.0.1:9092'], clientId: 'vigil', ssl: false, connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 },
      redis: { url: 'redis://127.0.0.1:6379' },
      monitor: {
        pollIntervalMs: 1_000,
        incidentPollIntervalMs: 250,
        groups: { include: ['*'], exclude: [] },
        topics: { include: ['*'], exclude: [] },
        offsetsSource: 'stream',
      },
      lag: {
        thresholdMs: 10_000,
        resolveBelowMs: 8_000,
        resolveForMs: 30_000,
        severity: 'warning',
        warnAheadMs: 0,
        // resolveBelow keeps the global 8/10 ratio: 4 s for a 5 s threshold
        overrides: [{ group: 'payments-*', topic: '*', thresholdMs: 5_000, resolveBelowMs: 4_000, severity: 'critical', warnAheadMs: 0 }],
      },
      canary: { enabled: false, topic: '__vigil_canary', intervalMs: 1_000 },
      alerting: {
        channels: [{ type: 'webhook', name: 'webhook-0', url: 'http://127.0.0.1:9000/hook', headers: {}, runbookUrl: 'http://127.0.0.1:9464/runbook' }],
        runbookUrl: 'http://127.0.0.1:9464/runbook',
      },
      remediation: {
        mode: 'dry-run',
        brokerDownGraceMs: 600_000,
        hungAfterMs: 2_000,
        recoverGraceMs: 300_000,
        maxPartitionMovesPerBroker: 5,
        allowUncleanElection: false,
        maxBrokersDownFraction: 0.5,
        cooldownMs: 300_000,
        maxPlanSize: 100,
        throttleBytesPerSec: 50 * 1024 * 1024,
      },
      http: { adminToken: ADMIN_TOKEN, maxConnections: 512 },
      log: { level: 'info' },
    });
  });

  it('deeply frozen, so nothing can change the config it was started with', () => {
    assert.ok(isDeepFrozen(config));
    assert.throws(() => {
      (config.peers as unknown as { id: string }[]).push({ id: 'x' });
    }, TypeError);
  });

  it('without changing the raw object it was given', () => {
    const raw = validRaw();
    compile(raw);
    assert.deepEqual(raw, validRaw());
  });
});

describe('defaults', () => {
  it('fill everything a minimal single-replica config leaves out', () => {
    const c = compile(minimalRaw());
    assert.equal(c.node.dataDir, path.join(tmp, 'data', 'solo'));
    assert.deepEqual(c.election, { heartbeatIntervalMs: 100, electionTimeoutMs: 400, secret: '', maxClockSkewMs: 5_000 });
    assert.deepEqual(c.kafka, { brokers: ['127.0.0.1:9092'], clientId: 'vigil', ssl: false, connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 });
    assert.equal(c.monitor.pollIntervalMs, 1_000);
    assert.equal(c.monitor.incidentPollIntervalMs, 250);
    assert.deepEqual(c.monitor.groups, { include: ['*'], exclude: [] });
    assert.deepEqual(c.lag, { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning', warnAheadMs: 0, overrides: [] }, 'no early warning unless asked for');
    assert.deepEqual(c.canary, { enabled: false, topic: '__vigil_canary', intervalMs: 1_000 });
    // the runbook this replica serves itself, at its own peer url
    assert.deepEqual(c.alerting, { channels: [], runbookUrl: 'http://127.0.0.1:9464/runbook' });
    assert.equal(c.remediation.mode, 'dry-run');
    assert.equal(c.remediation.brokerDownGraceMs, 600_000);
    assert.equal(c.remediation.maxPartitionMovesPerBroker, 5);
    assert.equal(c.remediation.allowUncleanElection, false);
    assert.deepEqual(c.http, { adminToken: '', maxConnections: 512 });
    assert.deepEqual(c.log, { level: 'info' });
  });

  it('keep the incident poll interval no slower than a fast configured poll interval', () => {
    const raw = minimalRaw();
    raw.monitor = { pollInterval: '100ms' };
    assert.equal(compile(raw).monitor.incidentPollIntervalMs, 100);
  });

  it('a key written with no value takes its default', () => {
    const raw = minimalRaw();
    raw.lag = { threshold: null };
    assert.equal(compile(raw).lag.thresholdMs, 10_000);
  });

  it('name channels <type>-<index> and give PagerDuty its Events v2 endpoint', () => {
    const raw = minimalRaw();
    raw.alerting = {
      channels: [
        { type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' },
        { type: 'pagerduty', routingKey: 'R0UT1NGKEY' },
        { type: 'alertmanager', name: 'am', url: 'http://alertmanager:9093/' },
        { type: 'webhook', url: 'https://hooks.example.com/vigil/', headers: { Authorization: 'Bearer t', 'X-Retry': 3 } },
      ],
    };
    const runbookUrl = 'http://127.0.0.1:9464/runbook';
    assert.deepEqual(compile(raw).alerting.channels, [
      { type: 'slack', name: 'slack-0', url: 'https://hooks.slack.com/services/T/B/X', runbookUrl },
      { type: 'pagerduty', name: 'pagerduty-1', routingKey: 'R0UT1NGKEY', url: 'https://events.pagerduty.com/v2/enqueue', runbookUrl },
      // a base URL loses its trailing slash; a webhook URL is kept exactly as written
      { type: 'alertmanager', name: 'am', url: 'http://alertmanager:9093', runbookUrl },
      { type: 'webhook', name: 'webhook-3', url: 'https://hooks.example.com/vigil/', headers: { Authorization: 'Bearer t', 'X-Retry': '3' }, runbookUrl },
    ]);
  });

  it("alerting.runbookUrl: a configured base replaces this replica's /runbook on every channel, without a trailing slash", () => {
    const raw = minimalRaw();
    raw.alerting = { runbookUrl: 'https://wiki.example.com/vigil/operations/', channels: [{ type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' }] };
    const c = compile(raw);
    assert.equal(c.alerting.runbookUrl, 'https://wiki.example.com/vigil/operations');
    assert.equal(c.alerting.channels[0]?.runbookUrl, 'https://wiki.example.com/vigil/operations');
  });
});

describe('value forms', () => {
  it('durations: units ms, s, m, h, compound forms largest unit first, and 0 without a unit', () => {
    const raw = minimalRaw();
    raw.election = { heartbeatInterval: '50ms', electionTimeout: '1.5s', maxClockSkew: '2m' };
    raw.lag = { threshold: '1m30s', resolveBelow: '1m15s', resolveFor: '1h2m3s' };
    raw.remediation = { brokerDownGrace: '1h', cooldown: 0 };
    const c = compile(raw);
    assert.equal(c.election.heartbeatIntervalMs, 50);
    assert.equal(c.election.electionTimeoutMs, 1_500);
    assert.equal(c.election.maxClockSkewMs, 120_000);
    assert.equal(c.lag.thresholdMs, 90_000);
    assert.equal(c.lag.resolveBelowMs, 75_000);
    assert.equal(c.lag.resolveForMs, 3_723_000);
    assert.equal(c.remediation.brokerDownGraceMs, 3_600_000);
    assert.equal(c.remediation.cooldownMs, 0);
  });

  it('durations: a bare number other than 0 is refused (issue 8 defect 12: `lag.threshold: 10` meant 10 ms)', () => {
    const raw = minimalRaw();
    raw.election = { heartbeatInterval: 50 };
    raw.lag = { threshold: 10 };
    const problems = configProblemsOf(thrown(() => compile(raw))) ?? [];
    assert.deepEqual(
      problems.map((p) => p.path).sort(),
      ['election.heartbeatInterval', 'lag.threshold'],
    );
    assert.ok(problems.every((p) => /a bare number is ambiguous/.test(p.message)), JSON.stringify(problems));
  });

  it('byte rates in decimal and binary units', () => {
    const rate = (throttle: unknown) => {
      const raw = minimalRaw();
      raw.remediation = { throttle };
      return compile(raw).remediation.throttleBytesPerSec;
    };
    assert.equal(rate('10MB'), 10_000_000);
    assert.equal(rate('10MiB/s'), 10 * 1024 * 1024);
    assert.equal(rate(1234), 1234);
  });

  it('host:port forms, IPv6 in brackets', () => {
    const raw = minimalRaw();
    raw.node.listen = '[::1]:9464';
    raw.redis = { sentinel: { name: 'mymaster', sentinels: ['10.0.0.5:26379', '[fd00::6]:26379'], password: 'p' } };
    const c = compile(raw);
    assert.deepEqual(c.node.listen, { host: '::1', port: 9464 });
    assert.deepEqual(c.redis, {
      sentinel: { name: 'mymaster', sentinels: [{ host: '10.0.0.5', port: 26379 }, { host: 'fd00::6', port: 26379 }] },
      // redis.sentinel.password predates redis.password and means the same
      password: 'p',
    });
  });

  it('kafka sasl passes through', () => {
    const raw = minimalRaw();
    raw.kafka.sasl = { mechanism: 'scram-sha-512', username: 'vigil', password: 'pw' };
    assert.deepEqual(compile(raw).kafka.sasl, { mechanism: 'scram-sha-512', username: 'vigil', password: 'pw' });
  });

  it('kafka ssl: true means TLS with verification', () => {
    const raw = minimalRaw();
    raw.kafka.ssl = true;
    assert.deepEqual(compile(raw).kafka.ssl, { rejectUnauthorized: true });
  });

  it('kafka ssl files are read relative to the config directory; inline PEM is kept', () => {
    const dir = path.join(tmp, 'tls-conf');
    const caPem = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';
    const keyPem = '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n';
    writeFile('tls-conf/certs/ca.pem', caPem);
    writeFile('tls-conf/certs/client.key', keyPem);
    const raw = minimalRaw();
    const certPem = '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----';
    raw.kafka.ssl = { ca: 'certs/ca.pem', cert: certPem, key: './certs/client.key', rejectUnauthorized: false, servername: 'kafka.internal' };
    assert.deepEqual(compile(raw, {}, dir).kafka.ssl, {
      ca: caPem,
      cert: certPem,
      key: keyPem,
      rejectUnauthorized: false,
      servername: 'kafka.internal',
    });
  });
});

describe('redis security (issue 8, defect 10): ACL user, password from ${ENV}, TLS with CA and client certificate', () => {
  const caPem = '-----BEGIN CERTIFICATE-----\nREDIS-CA\n-----END CERTIFICATE-----\n';
  const certPem = '-----BEGIN CERTIFICATE-----\nVIGIL\n-----END CERTIFICATE-----\n';
  const keyPem = '-----BEGIN PRIVATE KEY-----\nVIGIL-KEY\n-----END PRIVATE KEY-----\n';
  const dir = path.join(tmp, 'redis-tls');
  writeFile('redis-tls/certs/ca.pem', caPem);
  writeFile('redis-tls/certs/vigil.pem', certPem);
  writeFile('redis-tls/certs/vigil.key', keyPem);
  const tls = { ca: 'certs/ca.pem', cert: 'certs/vigil.pem', key: 'certs/vigil.key' };
  const readTls = { ca: caPem, cert: certPem, key: keyPem, rejectUnauthorized: true };

  it('standalone: rediss:// with a CA file, client certificate and an ACL user is accepted, the files read at start-up', () => {
    const raw = minimalRaw();
    raw.redis = { url: 'rediss://redis.internal:6380/0', username: 'vigil', password: '${VIGIL_REDIS_PASSWORD}', tls: { ...tls, servername: 'redis.internal' } };
    const c = compile(raw, { VIGIL_REDIS_PASSWORD: 'acl-pass-123' }, dir);
    assert.deepEqual(c.redis, {
      url: 'rediss://redis.internal:6380/0',
      username: 'vigil',
      password: 'acl-pass-123',
      tls: { ...readTls, servername: 'redis.internal' },
    });
  });

  it('standalone: a bare rediss:// URL still means TLS with the system CAs', () => {
    const raw = minimalRaw();
    raw.redis = { url: 'rediss://redis.internal:6380' };
    assert.deepEqual(compile(raw).redis, { url: 'rediss://redis.internal:6380', tls: { rejectUnauthorized: true } });
  });

  it('Sentinel: TLS and an ACL user both for the sentinels and for the master they name', () => {
    const raw = minimalRaw();
    raw.redis = {
      username: 'vigil',
      password: '${VIGIL_REDIS_PASSWORD}',
      tls,
      sentinel: {
        name: 'mymaster',
        sentinels: ['10.0.0.5:26379'],
        sentinelUsername: 'vigil-sentinel',
        sentinelPassword: '${VIGIL_SENTINEL_PASSWORD}',
        sentinelTls: { ca: 'certs/ca.pem', cert: 'certs/vigil.pem', key: 'certs/vigil.key', rejectUnauthorized: false },
      },
    };
    const c = compile(raw, { VIGIL_REDIS_PASSWORD: 'redis-pass-1', VIGIL_SENTINEL_PASSWORD: 'sentinel-pass-1' }, dir);
    assert.deepEqual(c.redis, {
      username: 'vigil',
      password: 'redis-pass-1',
      tls: readTls,
      sentinel: {
        name: 'mymaster',
        sentinels: [{ host: '10.0.0.5', port: 26379 }],
        sentinelUsername: 'vigil-sentinel',
        sentinelPassword: 'sentinel-pass-1',
        sentinelTls: { ...readTls, rejectUnauthorized: false },
      },
    });
  });

  it('the summary names the Redis user and TLS, never a password', () => {
    const raw = minimalRaw();
    raw.redis = { url: 'rediss://redis.internal:6380', username: 'vigil', password: 'acl-pass-123', tls };
    const text = summarizeConfig(compile(raw, {}, dir)).map(([k, v]) => `${k} ${v}`).join('\n');
    assert.match(text, /redis rediss:\/\/redis.internal:6380 \(TLS, client certificate, user vigil\)/);
    assert.ok(!text.includes('acl-pass-123'), text);
  });
});

describe('${ENV} expansion', () => {
  it('replaces variables anywhere in string values, before validation', () => {
    const raw = minimalRaw();
    raw.cluster = '${CLUSTER}';
    raw.kafka.brokers = '${KAFKA_BROKERS}';
    raw.kafka.controllers = '${KAFKA_CONTROLLERS}';
    raw.redis.url = 'redis://:${REDIS_PASSWORD}@${REDIS_HOST}:6379';
    raw.monitor = { pollInterval: '${POLL}' };
    raw.canary = { enabled: '${CANARY}' };
    raw.remediation = { maxPlanSize: '${PLAN}' };
    const env = { CLUSTER: 'prod-eu', KAFKA_BROKERS: 'k1:9092, k2:9092', KAFKA_CONTROLLERS: 'c1:9093,c2:9093', REDIS_PASSWORD: 'pw', REDIS_HOST: 'redis', POLL: '2s', CANARY: 'true', PLAN: '7' };
    const c = compile(raw, env);
    assert.equal(c.cluster, 'prod-eu');
    assert.deepEqual(c.kafka.brokers, ['k1:9092', 'k2:9092']);
    assert.deepEqual(c.kafka.controllers, ['c1:9093', 'c2:9093']);
    assert.equal(c.redis.url, 'redis://:pw@redis:6379');
    assert.equal(c.monitor.pollIntervalMs, 2_000);
    assert.equal(c.canary.enabled, true);
    assert.equal(c.remediation.maxPlanSize, 7);
  });

  it('${VAR:-default} uses the default when the variable is unset or empty', () => {
    const raw = minimalRaw();
    raw.cluster = '${CLUSTER:-fallback}';
    raw.kafka.clientId = '${CLIENT_ID:-vigil-x}';
    raw.log = { level: '${LOG_LEVEL:-warn}' };
    const c = compile(raw, { CLIENT_ID: '', LOG_LEVEL: 'debug' });
    assert.equal(c.cluster, 'fallback');
    assert.equal(c.kafka.clientId, 'vigil-x');
    assert.equal(c.log.level, 'debug');
  });

  it('an unset variable without a default is a problem naming the key path and the variable', () => {
    const raw = minimalRaw();
    raw.http = { adminToken: '${VIGIL_ADMIN_TOKEN}' };
    const result = checkConfig(raw, {}, { baseDir: tmp });
    assert.equal(result.ok, false);
    assert.deepEqual(!result.ok && result.problems, [
      {
        path: 'http.adminToken',
        message: 'environment variable VIGIL_ADMIN_TOKEN is not set; set it, or write ${VIGIL_ADMIN_TOKEN:-default} to give a default',
      },
    ]);
  });

  it('a set but empty variable expands to the empty string', () => {
    const raw = minimalRaw();
    raw.http = { adminToken: '${VIGIL_ADMIN_TOKEN}' };
    assert.equal(compile(raw, { VIGIL_ADMIN_TOKEN: '' }).http.adminToken, '');
  });

  it('$${ is a literal ${, and keys are never expanded', () => {
    const raw = minimalRaw();
    raw.alerting = { channels: [{ type: 'webhook', url: 'http://h/x', headers: { 'X-Template': '$${not_a_var}' } }] };
    const c = compile(raw, {});
    assert.deepEqual(c.alerting.channels[0], {
      type: 'webhook',
      name: 'webhook-0',
      url: 'http://h/x',
      headers: { 'X-Template': '${not_a_var}' },
      runbookUrl: 'http://127.0.0.1:9464/runbook',
    });
  });
});

describe('loadConfig', () => {
  it('reads a YAML file and resolves relative paths against its directory', () => {
    const file = writeFile('etc/vigil.yaml', stringify(validRaw()));
    const c = loadConfig(file, {});
    assert.equal(c.node.dataDir, path.join(tmp, 'etc', 'data', 'vigil-1'));
    assert.equal(c.election.electionTimeoutMs, 400);
  });

  it('an unreadable file is CONFIG_READ_FAILED naming the path', () => {
    const missing = path.join(tmp, 'nope', 'vigil.yaml');
    const err = thrown(() => loadConfig(missing, {}));
    assert.equal(err.code, 'CONFIG_READ_FAILED');
    assert.match(err.message, new RegExp(`cannot read config file "${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": no such file`));
  });

  it('a YAML syntax error is CONFIG_INVALID with the line and column', () => {
    const file = writeFile('syntax.yaml', 'cluster: local\npeers: [ { id: a }\nnode: x\n');
    const err = thrown(() => loadConfig(file, {}));
    assert.equal(err.code, 'CONFIG_INVALID');
    const problems = configProblemsOf(err) ?? [];
    assert.ok(problems.length > 0);
    assert.match(problems[0]?.message ?? '', /^YAML syntax error at line \d+, column \d+: /);
  });

  it('a duplicate key is a YAML error at its line, not a silent override', () => {
    const file = writeFile('dup.yaml', 'cluster: a\ncluster: b\n');
    const problems = configProblemsOf(thrown(() => loadConfig(file, {}))) ?? [];
    assert.match(problems[0]?.message ?? '', /^YAML syntax error at line 2, column 1: Map keys must be unique/);
  });

  it('names the file in the one-line reason of CONFIG_INVALID', () => {
    const file = writeFile('bad.yaml', stringify({ ...validRaw(), log: { level: 'loud' } }));
    const err = thrown(() => loadConfig(file, {}));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message.split('\n')[0] ?? '', /^config file ".*bad\.yaml" is invalid: log\.level: expected one of/);
  });

  it('a "__proto__" key is reported as unknown, not merged into the prototype', () => {
    const file = writeFile('proto.yaml', `${stringify(validRaw())}__proto__: { polluted: true }\n`);
    const problems = configProblemsOf(thrown(() => loadConfig(file, {}))) ?? [];
    assert.deepEqual(problems.map((p) => p.path), ['__proto__']);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

describe('lagRuleFor', () => {
  const raw = validRaw();
  raw.lag.warnAhead = '3s';
  raw.lag.overrides = [
    { group: 'payments-*', threshold: '5s', severity: 'critical', warnAhead: '1s' },
    { topic: 'audit.*', resolveBelow: '2s', warnAhead: '0s' },
    { group: 'payments-batch', threshold: '1m' },
    { group: 'reports', threshold: '30s' },
  ];
  const lag = compile(raw).lag;

  it('applies the first override whose globs match', () => {
    assert.deepEqual(lagRuleFor(lag, 'payments-batch', 'orders'), {
      thresholdMs: 5_000, resolveBelowMs: 4_000, resolveForMs: 30_000, severity: 'critical', warnAheadMs: 1_000, overrideIndex: 0,
    });
    assert.deepEqual(lagRuleFor(lag, 'reporting', 'audit.log'), {
      thresholdMs: 10_000, resolveBelowMs: 2_000, resolveForMs: 30_000, severity: 'warning', warnAheadMs: 0, overrideIndex: 1,
    }, '"0s" turns the early warning off for the override');
    assert.equal(lagRuleFor(lag, 'reports', 'orders').warnAheadMs, 3_000, 'an override without warnAhead inherits lag.warnAhead');
  });

  it('falls back to lag.* when nothing matches', () => {
    assert.deepEqual(lagRuleFor(lag, 'orders-svc', 'orders'), {
      thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning', warnAheadMs: 3_000, overrideIndex: -1,
    });
  });
});

describe('summarizeConfig', () => {
  it('never shows a secret: peer secret, admin token, passwords, routing keys, headers, URL paths', () => {
    const raw = validRaw();
    raw.redis = { url: 'redis://:redispass123@redis.internal:6379/0' };
    raw.kafka.sasl = { mechanism: 'plain', username: 'vigil', password: 'kafkapass123' };
    raw.alerting.channels = [
      { type: 'slack', url: 'https://hooks.slack.com/services/T0/B0/slacksecret123' },
      { type: 'pagerduty', routingKey: 'routingkey123' },
      { type: 'webhook', url: 'https://h.example.com/hook', headers: { Authorization: 'Bearer headertoken123' } },
    ];
    const text = summarizeConfig(compile(raw)).map(([k, v]) => `${k} ${v}`).join('\n');
    for (const secret of [PEER_SECRET, ADMIN_TOKEN, 'redispass123', 'kafkapass123', 'slacksecret123', 'routingkey123', 'headertoken123']) {
      assert.ok(!text.includes(secret), `summary shows ${secret}:\n${text}`);
    }
    assert.match(text, /redis redis:\/\/redis.internal:6379/);
    assert.match(text, /slack-0 \(slack → https:\/\/hooks.slack.com\)/);
  });
});

describe('the shipped example and docs', () => {
  it('deploy/vigil.example.yaml is valid once its two variables are set', () => {
    const env = { VIGIL_PEER_SECRET: PEER_SECRET, VIGIL_ADMIN_TOKEN: ADMIN_TOKEN };
    const c = loadConfig(path.join(root, 'deploy', 'vigil.example.yaml'), env);
    // the same values as the docs/design.md §7 example compiled here
    assert.deepEqual({ ...c, node: { ...c.node, dataDir: '' } }, { ...compile(validRaw()), node: { ...c.node, dataDir: '' } });
  });

  it('docs/configuration.md describes every key vigil accepts', () => {
    const docs = fs.readFileSync(path.join(root, 'docs', 'configuration.md'), 'utf8');
    const missing: string[] = [];
    for (const [section, keys] of Object.entries(CONFIG_KEYS)) {
      const prefix = section.split(' ')[0] as string;
      for (const key of keys) {
        const full = prefix === '' ? key : `${prefix}.${key}`;
        if (!docs.includes(`\`${full}\``)) missing.push(full);
      }
    }
    assert.deepEqual(missing, []);
  });
});
