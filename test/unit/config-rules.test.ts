/**
 * Every validation rule of the config (docs/design.md §7, issue 2 point 5): a failing input
 * yields a problem at the key path that is wrong, with a message naming the expected
 * form. Each case changes one thing in an otherwise valid config.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { checkConfig, compileConfig, ConfigProblem, configProblemsOf, Env } from '../../src/config';
import { isVigilError } from '../../src/errors';
import { PEER_SECRET, Raw, validRaw } from './config-fixture';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-config-rules-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function problemsOf(raw: unknown, env: Env = {}): readonly ConfigProblem[] {
  const result = checkConfig(raw, env, { baseDir: tmp });
  return result.ok ? [] : result.problems;
}

function problemsAfter(change: (raw: Raw) => void, env: Env = {}): readonly ConfigProblem[] {
  const raw = validRaw();
  change(raw);
  return problemsOf(raw, env);
}

function show(problems: readonly ConfigProblem[]): string {
  return problems.length === 0 ? '(no problems)' : problems.map((p) => `${p.path}: ${p.message}`).join('\n');
}

interface Case {
  name: string;
  change: (raw: Raw) => void;
  /** The key path the problem must name. */
  path: string;
  /** A fragment the message must contain (the expected form, usually). */
  says?: RegExp;
  env?: Env;
}

function check(c: Case): void {
  it(c.name, () => {
    const problems = problemsAfter(c.change, c.env);
    const at = problems.filter((p) => p.path === c.path);
    assert.ok(at.length > 0, `expected a problem at "${c.path}", got:\n${show(problems)}`);
    if (c.says) {
      assert.ok(at.some((p) => c.says!.test(p.message)), `expected ${c.says} at "${c.path}", got:\n${show(problems)}`);
    }
  });
}

describe('the valid base config', () => {
  it('has no problems, so every case below fails for its own change only', () => {
    assert.equal(show(problemsOf(validRaw())), '(no problems)');
  });
});

const DURATION = /expected a duration such as "250ms", "10s"/;
const PUBLIC_SECRET = /is a published demo value or a placeholder, so anyone could forge it; expected a random string of your own/;

describe('unknown keys are problems, with a suggestion when one is close', () => {
  const cases: Case[] = [
    { name: 'a top-level typo suggests the key it resembles', change: (r) => { r.clustr = 'x'; }, path: 'clustr', says: /did you mean "cluster"/ },
    {
      name: 'a snake_case key suggests the camelCase one',
      change: (r) => { r.election.heartbeat_interval = '100ms'; },
      path: 'election.heartbeat_interval',
      says: /did you mean "heartbeatInterval"/,
    },
    {
      name: 'a unit-suffixed duration key suggests the key without the unit',
      change: (r) => { r.election.electionTimeoutMs = 400; },
      path: 'election.electionTimeoutMs',
      says: /did you mean "electionTimeout"/,
    },
    {
      name: 'a key with nothing close lists the keys that are allowed',
      change: (r) => { r.remediation.frobnicate = true; },
      path: 'remediation.frobnicate',
      says: /expected one of mode, brokerDownGrace/,
    },
    { name: 'an unknown key inside a list item is named by its index', change: (r) => { r.peers[2].port = 1; }, path: 'peers[2].port' },
    {
      name: 'a key of another channel type is unknown for this one',
      change: (r) => { r.alerting.channels[0].routingKey = 'abc'; },
      path: 'alerting.channels[0].routingKey',
    },
    { name: 'an unknown key in an override', change: (r) => { r.lag.overrides[0].treshold = '5s'; }, path: 'lag.overrides[0].treshold', says: /did you mean "threshold"/ },
  ];
  cases.forEach(check);
});

describe('cluster and node', () => {
  const cases: Case[] = [
    { name: 'cluster is required', change: (r) => { delete r.cluster; }, path: 'cluster', says: /is required/ },
    { name: 'cluster must be a plain name (it goes into Redis hash tags)', change: (r) => { r.cluster = 'a{b}'; }, path: 'cluster', says: /expected a name of letters, digits/ },
    { name: 'node is required', change: (r) => { delete r.node; }, path: 'node', says: /expected a mapping with keys id, listen, peerListen, dataDir, tls/ },
    { name: 'node must be a mapping', change: (r) => { r.node = 'vigil-1'; }, path: 'node', says: /expected a mapping/ },
    { name: 'node.id is required', change: (r) => { delete r.node.id; }, path: 'node.id', says: /is required/ },
    { name: 'node.id must be among the peers', change: (r) => { r.node.id = 'vigil-9'; }, path: 'node.id', says: /not among the peers \("vigil-1", "vigil-2", "vigil-3"\)/ },
    { name: 'node.listen is required', change: (r) => { delete r.node.listen; }, path: 'node.listen', says: /expected host:port/ },
    { name: 'node.listen must be host:port', change: (r) => { r.node.listen = '9464'; }, path: 'node.listen', says: /expected host:port such as "127.0.0.1:9092"/ },
    { name: 'node.listen port must be 1..65535', change: (r) => { r.node.listen = '127.0.0.1:70000'; }, path: 'node.listen', says: /expected host:port/ },
    {
      name: "node.listen's port must match this node's own peer url",
      change: (r) => { r.node.listen = '0.0.0.0:9999'; },
      path: 'node.listen',
      says: /port 9999 differs from this node's url port 9464 \(peers\[0\]\.url\)/,
    },
    {
      name: 'a peer url without a port means port 80 for that match',
      change: (r) => { r.peers[0].url = 'http://vigil-1.internal'; },
      path: 'node.listen',
      says: /url port 80/,
    },
    { name: 'node.dataDir must not be empty', change: (r) => { r.node.dataDir = ''; }, path: 'node.dataDir', says: /must not be empty/ },
  ];
  cases.forEach(check);
});

describe('peers', () => {
  const cases: Case[] = [
    { name: 'peers is required', change: (r) => { delete r.peers; }, path: 'peers', says: /is required; expected a list of \{ id, url, peerUrl \}/ },
    { name: 'peers must be a list', change: (r) => { r.peers = { id: 'vigil-1' }; }, path: 'peers', says: /expected a list/ },
    { name: 'peers must not be empty', change: (r) => { r.peers = []; }, path: 'peers', says: /must not be empty/ },
    { name: 'a peer must be a mapping', change: (r) => { r.peers[1] = 'vigil-2'; }, path: 'peers[1]', says: /expected a mapping with keys id, url/ },
    { name: 'peer ids are unique', change: (r) => { r.peers[2].id = 'vigil-2'; }, path: 'peers[2].id', says: /duplicate peer id "vigil-2" \(also peers\[1\]\.id\)/ },
    { name: 'a peer id is required', change: (r) => { delete r.peers[1].id; }, path: 'peers[1].id', says: /is required/ },
    { name: 'a peer url is required', change: (r) => { delete r.peers[1].url; }, path: 'peers[1].url', says: /expected an http or https URL/ },
    { name: 'a peer url must be http(s)', change: (r) => { r.peers[1].url = 'tcp://127.0.0.1:9465'; }, path: 'peers[1].url', says: /expected an http or https URL such as/ },
    { name: 'a peer url must be a URL', change: (r) => { r.peers[1].url = '127.0.0.1:9465'; }, path: 'peers[1].url', says: /expected an http or https URL/ },
    { name: 'peer urls are unique', change: (r) => { r.peers[2].url = 'http://127.0.0.1:9465'; }, path: 'peers[2].url', says: /duplicate url \(also peers\[1\]\.url\)/ },
  ];
  cases.forEach(check);
});

describe('the peer listener (issue 8, defect 9: the election has a listener of its own)', () => {
  const cases: Case[] = [
    { name: 'node.peerListen is required with more than one peer', change: (r) => { delete r.node.peerListen; }, path: 'node.peerListen', says: /is required with more than one peer.*e\.g\. "0\.0\.0\.0:9474"/ },
    { name: 'every peers[].peerUrl is required with more than one peer', change: (r) => { delete r.peers[2].peerUrl; }, path: 'peers[2].peerUrl', says: /is required with more than one peer/ },
    { name: 'node.peerListen must be host:port', change: (r) => { r.node.peerListen = '9474'; }, path: 'node.peerListen', says: /expected host:port/ },
    { name: 'node.peerListen needs a port apart from node.listen', change: (r) => { r.node.peerListen = '0.0.0.0:9464'; }, path: 'node.peerListen', says: /uses port 9464 like node.listen/ },
    {
      name: "node.peerListen's port must match this node's own peerUrl",
      change: (r) => { r.node.peerListen = '0.0.0.0:9999'; },
      path: 'node.peerListen',
      says: /port 9999 differs from this node's peerUrl port 9474 \(peers\[0\]\.peerUrl\)/,
    },
    { name: 'a peerUrl must be http(s)', change: (r) => { r.peers[1].peerUrl = 'tcp://127.0.0.1:9475'; }, path: 'peers[1].peerUrl', says: /expected an http or https URL/ },
    { name: 'a peerUrl is not another listener\'s url', change: (r) => { r.peers[1].peerUrl = 'http://127.0.0.1:9466'; }, path: 'peers[2].url', says: /duplicate url \(also peers\[1\]\.peerUrl\)/ },
    { name: 'http.maxConnections is an integer of at least 16', change: (r) => { r.http.maxConnections = 3; }, path: 'http.maxConnections', says: /from 16 to 65536/ },
  ];
  cases.forEach(check);

  it('a single replica needs neither (no peers, no peer listener)', () => {
    const raw = validRaw();
    raw.peers = [{ id: 'vigil-1', url: 'http://127.0.0.1:9464' }];
    delete raw.node.peerListen;
    assert.equal(show(problemsOf(raw)), '(no problems)');
  });
});

describe('peer TLS (issue 8, defect 6: https:// means TLS, never a plaintext fallback)', () => {
  const pem = (name: string): string => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n`);
    return file;
  };
  const https = (r: Raw): void => {
    for (const peer of r.peers) {
      peer.url = peer.url.replace('http:', 'https:');
      peer.peerUrl = peer.peerUrl.replace('http:', 'https:');
    }
  };
  const cases: Case[] = [
    { name: 'https peer urls need node.tls', change: (r) => https(r), path: 'node.tls', says: /is required when the peer urls are https:\/\/ \(vigil does not fall back to plaintext\)/ },
    { name: 'node.tls with http peer urls is refused (it would protect nothing)', change: (r) => { r.node.tls = { cert: pem('c.pem'), key: pem('k.pem') }; }, path: 'node.tls', says: /peer urls are http:\/\/; use https:\/\/ peer urls/ },
    {
      name: 'mixed schemes across peers are refused',
      change: (r) => { https(r); r.peers[1].url = 'http://127.0.0.1:9465'; r.node.tls = { cert: pem('c.pem'), key: pem('k.pem') }; },
      path: 'peers[1].url',
      says: /is http:\/\/ but peers\[0\]\.url is https:\/\/; every peer url and peerUrl uses the same scheme/,
    },
    {
      name: 'url and peerUrl of one peer share the scheme too',
      change: (r) => { https(r); r.peers[2].peerUrl = 'http://127.0.0.1:9476'; r.node.tls = { cert: pem('c.pem'), key: pem('k.pem') }; },
      path: 'peers[2].peerUrl',
      says: /same scheme/,
    },
    { name: 'node.tls.key is required with node.tls', change: (r) => { https(r); r.node.tls = { cert: pem('c.pem') }; }, path: 'node.tls.key', says: /is required.*PEM/ },
    { name: 'node.tls.cert is required with node.tls', change: (r) => { https(r); r.node.tls = { key: pem('k.pem') }; }, path: 'node.tls.cert', says: /is required.*PEM/ },
    { name: 'an unreadable node.tls file is named by its key path', change: (r) => { https(r); r.node.tls = { ca: 'missing-ca.pem', cert: pem('c.pem'), key: pem('k.pem') }; }, path: 'node.tls.ca', says: /cannot read file ".*missing-ca\.pem" \(ENOENT\)/ },
    { name: 'node.tls accepts only ca, cert, key', change: (r) => { https(r); r.node.tls = { cert: pem('c.pem'), key: pem('k.pem'), insecure: true }; }, path: 'node.tls.insecure' },
  ];
  cases.forEach(check);

  it('https everywhere with cert and key (ca optional) compiles, PEM text read from the files', () => {
    const raw = validRaw();
    https(raw);
    raw.node.tls = { ca: pem('ca.pem'), cert: pem('c.pem'), key: pem('k.pem') };
    const result = checkConfig(raw, {}, { baseDir: tmp });
    assert.ok(result.ok, result.ok ? '' : show(result.problems));
    assert.match(result.config.node.tls?.cert ?? '', /BEGIN CERTIFICATE/);
    assert.match(result.config.node.tls?.ca ?? '', /BEGIN CERTIFICATE/);
  });
});

describe('election', () => {
  const cases: Case[] = [
    // issue 8 defect 12: public demo values and placeholders passed validation
    { name: 'the published compose demo peer secret is refused', change: (r) => { r.election.secret = 'demo-only-peer-secret-do-not-use'; }, path: 'election.secret', says: PUBLIC_SECRET },
    { name: 'the k8s placeholder peer secret is refused, also through ${ENV}', change: (r) => { r.election.secret = '${S}'; }, env: { S: 'REPLACE-ME-peer-secret-at-least-16-chars' }, path: 'election.secret', says: PUBLIC_SECRET },
    { name: 'heartbeatInterval must be a duration', change: (r) => { r.election.heartbeatInterval = 'fast'; }, path: 'election.heartbeatInterval', says: DURATION },
    { name: 'electionTimeout must be a duration', change: (r) => { r.election.electionTimeout = '400 millis'; }, path: 'election.electionTimeout', says: DURATION },
    { name: 'durations must be positive', change: (r) => { r.election.heartbeatInterval = 0; }, path: 'election.heartbeatInterval', says: /at least 1ms/ },
    {
      name: 'electionTimeout must exceed 2 × heartbeatInterval',
      change: (r) => { r.election.electionTimeout = '200ms'; },
      path: 'election.electionTimeout',
      says: /must be more than 2 × election.heartbeatInterval \(100ms\)/,
    },
    {
      name: 'a secret is required with more than one peer',
      change: (r) => { delete r.election.secret; },
      path: 'election.secret',
      says: /is required with more than one peer.*at least 16 characters/,
    },
    { name: 'an empty secret counts as none', change: (r) => { r.election.secret = ''; }, path: 'election.secret', says: /is required with more than one peer/ },
    { name: 'a short secret is rejected', change: (r) => { r.election.secret = 'hunter2'; }, path: 'election.secret', says: /at least 16 characters/ },
    { name: 'a secret must be text', change: (r) => { r.election.secret = 1234567890123456789; }, path: 'election.secret', says: /expected a string/ },
    { name: 'maxClockSkew must be a duration', change: (r) => { r.election.maxClockSkew = 'a bit'; }, path: 'election.maxClockSkew', says: DURATION },
    { name: 'election must be a mapping', change: (r) => { r.election = ['100ms']; }, path: 'election', says: /expected a mapping/ },
  ];
  cases.forEach(check);

  it('a single replica needs no secret', () => {
    const problems = problemsAfter((r) => {
      r.peers = [r.peers[0]];
      delete r.election.secret;
    });
    assert.equal(show(problems), '(no problems)');
  });

  it('a bad heartbeatInterval is reported once, not again by the timeout rule that reads it', () => {
    const problems = problemsAfter((r) => { r.election.heartbeatInterval = 'fast'; });
    assert.deepEqual(problems.map((p) => p.path), ['election.heartbeatInterval']);
  });

  it('never echoes the secret in a message', () => {
    const problems = problemsAfter((r) => { r.election.secret = 'hunter2'; });
    assert.ok(!show(problems).includes('hunter2'), show(problems));
  });
});

const pemFile = path.join(tmp, 'ca.pem');
fs.writeFileSync(pemFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const notPem = path.join(tmp, 'not.pem');
fs.writeFileSync(notPem, 'hello');

describe('kafka', () => {

  const cases: Case[] = [
    { name: 'kafka is required', change: (r) => { delete r.kafka; }, path: 'kafka', says: /is required/ },
    { name: 'brokers are required', change: (r) => { delete r.kafka.brokers; }, path: 'kafka.brokers', says: /expected a list of host:port/ },
    { name: 'brokers must not be empty', change: (r) => { r.kafka.brokers = []; }, path: 'kafka.brokers', says: /must not be empty/ },
    { name: 'a broker must be host:port', change: (r) => { r.kafka.brokers = ['127.0.0.1:9092', 'kafka-2']; }, path: 'kafka.brokers[1]', says: /expected host:port such as/ },
    { name: 'a broker must be text', change: (r) => { r.kafka.brokers = [9092]; }, path: 'kafka.brokers[0]', says: /expected host:port/ },
    { name: 'a comma-separated broker string is checked too', change: (r) => { r.kafka.brokers = 'a:9092,b'; }, path: 'kafka.brokers', says: /got "b"/ },
    { name: 'a controller must be host:port', change: (r) => { r.kafka.controllers = ['127.0.0.1:9093', 'ctl-2']; }, path: 'kafka.controllers[1]', says: /expected host:port such as/ },
    { name: 'controllers must not be empty when given', change: (r) => { r.kafka.controllers = []; }, path: 'kafka.controllers', says: /must not be empty/ },
    { name: 'clientId must not be empty', change: (r) => { r.kafka.clientId = ''; }, path: 'kafka.clientId', says: /must not be empty/ },
    { name: 'requestTimeout must be a duration', change: (r) => { r.kafka.requestTimeout = 'long'; }, path: 'kafka.requestTimeout', says: DURATION },
    { name: 'connectionTimeout must be a duration', change: (r) => { r.kafka.connectionTimeout = []; }, path: 'kafka.connectionTimeout', says: DURATION },
    { name: 'ssl must be a boolean or a mapping', change: (r) => { r.kafka.ssl = 'yes'; }, path: 'kafka.ssl', says: /expected true, false or a mapping/ },
    { name: 'an ssl file that cannot be read names the file', change: (r) => { r.kafka.ssl = { ca: 'missing.pem' }; }, path: 'kafka.ssl.ca', says: /cannot read file ".*missing\.pem" \(ENOENT\); expected PEM text/ },
    { name: 'an ssl file without PEM is rejected', change: (r) => { r.kafka.ssl = { ca: notPem }; }, path: 'kafka.ssl.ca', says: /holds no PEM block/ },
    { name: 'a client cert needs its key', change: (r) => { r.kafka.ssl = { cert: pemFile }; }, path: 'kafka.ssl.key', says: /is required when kafka.ssl.cert is set/ },
    { name: 'a client key needs its cert', change: (r) => { r.kafka.ssl = { key: pemFile }; }, path: 'kafka.ssl.cert', says: /is required when kafka.ssl.key is set/ },
    { name: 'rejectUnauthorized must be a boolean', change: (r) => { r.kafka.ssl = { rejectUnauthorized: 'no' }; }, path: 'kafka.ssl.rejectUnauthorized', says: /expected true or false/ },
    { name: 'an unknown ssl key', change: (r) => { r.kafka.ssl = { cafile: pemFile }; }, path: 'kafka.ssl.cafile', says: /unknown key/ },
    { name: 'sasl mechanism must be a known one', change: (r) => { r.kafka.sasl = { mechanism: 'gssapi', username: 'u', password: 'p' }; }, path: 'kafka.sasl.mechanism', says: /expected one of "plain", "scram-sha-256", "scram-sha-512"/ },
    { name: 'sasl mechanism is required', change: (r) => { r.kafka.sasl = { username: 'u', password: 'p' }; }, path: 'kafka.sasl.mechanism', says: /is required/ },
    { name: 'sasl username is required', change: (r) => { r.kafka.sasl = { mechanism: 'plain', password: 'p' }; }, path: 'kafka.sasl.username', says: /is required/ },
    { name: 'sasl password is required', change: (r) => { r.kafka.sasl = { mechanism: 'plain', username: 'u' }; }, path: 'kafka.sasl.password', says: /is required/ },
    { name: 'sasl must be a mapping', change: (r) => { r.kafka.sasl = 'plain'; }, path: 'kafka.sasl', says: /expected a mapping with keys mechanism, username, password/ },
  ];
  cases.forEach(check);
});

describe('redis', () => {
  const cases: Case[] = [
    { name: 'redis is required', change: (r) => { delete r.redis; }, path: 'redis', says: /is required/ },
    { name: 'redis needs url or sentinel', change: (r) => { r.redis = {}; }, path: 'redis', says: /expected url .* or sentinel/ },
    { name: 'redis takes url or sentinel, not both', change: (r) => { r.redis.sentinel = { name: 'm', sentinels: ['s:26379'] }; }, path: 'redis', says: /exactly one of url or sentinel; got both/ },
    { name: 'redis.url must be redis:// or rediss://', change: (r) => { r.redis.url = 'http://127.0.0.1:6379'; }, path: 'redis.url', says: /expected a redis or rediss URL such as "redis:\/\/127.0.0.1:6379"/ },
    { name: 'sentinel needs a master name', change: (r) => { r.redis = { sentinel: { sentinels: ['s:26379'] } }; }, path: 'redis.sentinel.name', says: /is required/ },
    { name: 'sentinel needs sentinels', change: (r) => { r.redis = { sentinel: { name: 'm' } }; }, path: 'redis.sentinel.sentinels', says: /is required; expected a list of host:port/ },
    { name: 'each sentinel is host:port', change: (r) => { r.redis = { sentinel: { name: 'm', sentinels: ['s:26379', 's2'] } }; }, path: 'redis.sentinel.sentinels[1]', says: /expected host:port/ },
    // issue 8, defect 10: TLS files and ACL users, for a URL and for Sentinel
    { name: 'a redis CA file that cannot be read names the file', change: (r) => { r.redis = { url: 'rediss://r:6380', tls: { ca: 'missing-ca.pem' } }; }, path: 'redis.tls.ca', says: /cannot read file ".*missing-ca\.pem" \(ENOENT\); expected PEM text/ },
    { name: 'a redis client cert needs its key', change: (r) => { r.redis = { url: 'rediss://r:6380', tls: { cert: pemFile } }; }, path: 'redis.tls.key', says: /is required when redis.tls.cert is set/ },
    { name: 'a sentinel key file without PEM is rejected', change: (r) => { r.redis = { sentinel: { name: 'm', sentinels: ['s:26379'], sentinelTls: { cert: pemFile, key: notPem } } }; }, path: 'redis.sentinel.sentinelTls.key', says: /holds no PEM block/ },
    { name: 'a sentinel client key needs its cert', change: (r) => { r.redis = { sentinel: { name: 'm', sentinels: ['s:26379'], sentinelTls: { key: pemFile } } }; }, path: 'redis.sentinel.sentinelTls.cert', says: /is required when redis.sentinel.sentinelTls.key is set/ },
    { name: 'redis.tls must be a boolean or a mapping', change: (r) => { r.redis = { url: 'rediss://r:6380', tls: 'yes' }; }, path: 'redis.tls', says: /expected true, false or a mapping/ },
    { name: 'redis.tls with a redis:// URL is a contradiction', change: (r) => { r.redis = { url: 'redis://r:6379', tls: { ca: pemFile } }; }, path: 'redis.tls', says: /applies to rediss:\/\/ URLs only/ },
    { name: 'redis.tls: false with a rediss:// URL is a contradiction', change: (r) => { r.redis = { url: 'rediss://r:6380', tls: false }; }, path: 'redis.tls', says: /is false but redis.url is rediss:\/\// },
    { name: 'an ACL user needs a password', change: (r) => { r.redis = { url: 'redis://r:6379', username: 'vigil' }; }, path: 'redis.password', says: /is required when redis.username is set/ },
    { name: 'credentials in the URL and in redis.password', change: (r) => { r.redis = { url: 'redis://:a@r:6379', password: 'b' }; }, path: 'redis.password', says: /is also given in redis.url/ },
    { name: 'redis.password and its old name redis.sentinel.password', change: (r) => { r.redis = { password: 'a', sentinel: { name: 'm', sentinels: ['s:26379'], password: 'b' } }; }, path: 'redis.sentinel.password', says: /same setting as redis.password/ },
    { name: 'a sentinel ACL user needs a password', change: (r) => { r.redis = { sentinel: { name: 'm', sentinels: ['s:26379'], sentinelUsername: 'u' } }; }, path: 'redis.sentinel.sentinelPassword', says: /is required when redis.sentinel.sentinelUsername is set/ },
    { name: 'an unknown redis.tls key', change: (r) => { r.redis = { url: 'rediss://r:6380', tls: { cafile: pemFile } }; }, path: 'redis.tls.cafile', says: /unknown key/ },
  ];
  cases.forEach(check);

  it('never echoes Redis or Sentinel passwords', () => {
    const problems = problemsAfter((r) => {
      r.redis = { url: 'redis://:urlpass123@r:6379', password: 'keypass123', tls: 'x', sentinel: { name: 'm', sentinels: ['s'], password: 'oldpass123', sentinelPassword: 'sentpass123' } };
    });
    assert.ok(problems.length > 0);
    for (const secret of ['urlpass123', 'keypass123', 'oldpass123', 'sentpass123']) assert.ok(!show(problems).includes(secret), show(problems));
  });

  it('never echoes a Redis URL, which may carry a password', () => {
    const problems = problemsAfter((r) => { r.redis.url = 'http://:s3cretpass@127.0.0.1:6379'; });
    assert.ok(problems.length > 0);
    assert.ok(!show(problems).includes('s3cretpass'), show(problems));
  });
});

describe('monitor', () => {
  const cases: Case[] = [
    { name: 'pollInterval must be a duration', change: (r) => { r.monitor.pollInterval = '1 second'; }, path: 'monitor.pollInterval', says: DURATION },
    {
      name: 'incidentPollInterval must not exceed pollInterval',
      change: (r) => { r.monitor.incidentPollInterval = '2s'; },
      path: 'monitor.incidentPollInterval',
      says: /must not exceed monitor.pollInterval \(1s\)/,
    },
    { name: 'group globs must be a list', change: (r) => { r.monitor.groups.include = 'orders-*'; }, path: 'monitor.groups.include', says: /expected a list of name globs/ },
    { name: 'a glob must not be empty', change: (r) => { r.monitor.groups.exclude = ['']; }, path: 'monitor.groups.exclude[0]', says: /must not be empty/ },
    { name: 'a glob must be text', change: (r) => { r.monitor.topics = { include: [{ name: 'x' }] }; }, path: 'monitor.topics.include[0]', says: /expected a name glob/ },
  ];
  cases.forEach(check);
});

describe('lag', () => {
  const cases: Case[] = [
    { name: 'threshold must be a duration', change: (r) => { r.lag.threshold = 'ten seconds'; }, path: 'lag.threshold', says: DURATION },
    // issue 8 defect 12: `threshold: 10` used to mean 10 ms and paged on any lag
    { name: 'a bare-number threshold is refused, with both readings spelled out', change: (r) => { r.lag.threshold = 10; }, path: 'lag.threshold', says: /write "10s" for seconds or "10ms" for milliseconds/ },
    { name: 'a bare number from ${ENV} is refused too', change: (r) => { r.lag.threshold = '${LAG_THRESHOLD}'; }, env: { LAG_THRESHOLD: '10' }, path: 'lag.threshold', says: /write "10s"/ },
    { name: 'a bare-number override threshold is refused', change: (r) => { r.lag.overrides[0].threshold = 5; }, path: 'lag.overrides[0].threshold', says: /write "5s"/ },
    { name: 'units out of order are refused', change: (r) => { r.lag.resolveFor = '30s1m'; }, path: 'lag.resolveFor', says: DURATION },
    { name: 'resolveBelow must be below threshold', change: (r) => { r.lag.resolveBelow = '10s'; }, path: 'lag.resolveBelow', says: /must be below lag.threshold \(10s\)/ },
    { name: 'resolveFor must be a duration', change: (r) => { r.lag.resolveFor = '-1s'; }, path: 'lag.resolveFor', says: DURATION },
    { name: 'severity must be known', change: (r) => { r.lag.severity = 'high'; }, path: 'lag.severity', says: /expected one of "critical", "warning", "info"/ },
    { name: 'overrides must be a list', change: (r) => { r.lag.overrides = { group: 'x' }; }, path: 'lag.overrides', says: /expected a list/ },
    { name: 'an override must be a mapping', change: (r) => { r.lag.overrides = ['payments-*']; }, path: 'lag.overrides[0]', says: /expected a mapping/ },
    { name: 'an override severity must be known', change: (r) => { r.lag.overrides[0].severity = 'page'; }, path: 'lag.overrides[0].severity', says: /expected one of "critical"/ },
    { name: 'an override glob must not be empty', change: (r) => { r.lag.overrides[0].group = ''; }, path: 'lag.overrides[0].group', says: /must not be empty/ },
    { name: 'an override glob must be text', change: (r) => { r.lag.overrides[0].topic = ['a']; }, path: 'lag.overrides[0].topic', says: /expected a name glob/ },
    { name: 'an override threshold must be a duration', change: (r) => { r.lag.overrides[0].threshold = 'soon'; }, path: 'lag.overrides[0].threshold', says: DURATION },
    {
      name: "an override's resolveBelow must be below its own threshold",
      change: (r) => { r.lag.overrides[0].resolveBelow = '6s'; },
      path: 'lag.overrides[0].resolveBelow',
      says: /must be below lag.overrides\[0\].threshold \(5s\)/,
    },
    {
      name: "an override's resolveBelow must be below the inherited threshold",
      change: (r) => { r.lag.overrides = [{ topic: 'audit', resolveBelow: '12s' }]; },
      path: 'lag.overrides[0].resolveBelow',
      says: /must be below lag.threshold \(10s\)/,
    },
    { name: 'an override needs a group or topic glob', change: (r) => { r.lag.overrides = [{ threshold: '5s' }]; }, path: 'lag.overrides[0]', says: /expected group and\/or topic/ },
    { name: 'an override must change something', change: (r) => { r.lag.overrides = [{ group: 'a' }]; }, path: 'lag.overrides[0]', says: /changes nothing/ },
    { name: 'warnAhead must be a duration', change: (r) => { r.lag.warnAhead = 'early'; }, path: 'lag.warnAhead', says: DURATION },
    { name: 'warnAhead must be below threshold', change: (r) => { r.lag.warnAhead = '10s'; }, path: 'lag.warnAhead', says: /must be below lag.threshold \(10s\), else every group one message behind is warned about/ },
    {
      name: "an override's warnAhead must be below its own threshold",
      change: (r) => { r.lag.overrides[0].warnAhead = '5s'; },
      path: 'lag.overrides[0].warnAhead',
      says: /must be below lag.overrides\[0\].threshold \(5s\)/,
    },
    {
      name: 'an inherited warnAhead must be below an override\'s threshold',
      change: (r) => { r.lag.warnAhead = '6s'; },
      path: 'lag.overrides[0].threshold',
      says: /must be below lag.overrides\[0\].threshold \(5s\)/,
    },
  ];
  cases.forEach(check);
});

describe('canary', () => {
  const cases: Case[] = [
    { name: 'enabled must be a boolean', change: (r) => { r.canary.enabled = 'maybe'; }, path: 'canary.enabled', says: /expected true or false/ },
    { name: 'topic must be a Kafka topic name', change: (r) => { r.canary.topic = 'vigil canary'; }, path: 'canary.topic', says: /expected a Kafka topic name/ },
    { name: 'interval must be positive', change: (r) => { r.canary.interval = '0s'; }, path: 'canary.interval', says: /at least 1ms/ },
  ];
  cases.forEach(check);
});

describe('alerting channels', () => {
  const cases: Case[] = [
    { name: 'channels must be a list', change: (r) => { r.alerting.channels = { type: 'webhook' }; }, path: 'alerting.channels', says: /expected a list of channels/ },
    { name: 'a channel must be a mapping', change: (r) => { r.alerting.channels = ['webhook']; }, path: 'alerting.channels[0]', says: /expected a mapping with a type/ },
    { name: 'a channel type is required', change: (r) => { delete r.alerting.channels[0].type; }, path: 'alerting.channels[0].type', says: /is required; expected one of "webhook", "slack", "pagerduty", "alertmanager"/ },
    { name: 'a channel type must be known', change: (r) => { r.alerting.channels[0].type = 'email'; }, path: 'alerting.channels[0].type', says: /expected one of "webhook"/ },
    { name: 'a webhook needs a url', change: (r) => { delete r.alerting.channels[0].url; }, path: 'alerting.channels[0].url', says: /is required; expected an http or https URL/ },
    { name: 'a webhook url must be a URL', change: (r) => { r.alerting.channels[0].url = 'hooks.example.com'; }, path: 'alerting.channels[0].url', says: /expected an http or https URL/ },
    { name: 'a slack url must be http(s)', change: (r) => { r.alerting.channels.push({ type: 'slack', url: 'ftp://x' }); }, path: 'alerting.channels[1].url', says: /expected an http or https URL such as "https:\/\/hooks.slack.com/ },
    { name: 'an alertmanager needs a url', change: (r) => { r.alerting.channels.push({ type: 'alertmanager' }); }, path: 'alerting.channels[1].url', says: /is required/ },
    { name: 'a pagerduty channel needs a routing key', change: (r) => { r.alerting.channels.push({ type: 'pagerduty' }); }, path: 'alerting.channels[1].routingKey', says: /is required; expected the integration key/ },
    { name: 'a pagerduty url must be a URL', change: (r) => { r.alerting.channels.push({ type: 'pagerduty', routingKey: 'k', url: 'x' }); }, path: 'alerting.channels[1].url', says: /expected an http or https URL/ },
    {
      name: 'channel names are unique, the defaults included',
      change: (r) => { r.alerting.channels.push({ type: 'slack', name: 'webhook-0', url: 'https://hooks.slack.com/x' }); },
      path: 'alerting.channels[1].name',
      says: /duplicate channel name "webhook-0" \(also alerting.channels\[0\]\)/,
    },
    { name: 'a channel name is a plain name', change: (r) => { r.alerting.channels[0].name = 'on call'; }, path: 'alerting.channels[0].name', says: /expected a name of letters/ },
    { name: 'webhook headers must be a mapping', change: (r) => { r.alerting.channels[0].headers = ['X-A: b']; }, path: 'alerting.channels[0].headers', says: /expected a mapping of header name to value/ },
    { name: 'a header name must be a valid token', change: (r) => { r.alerting.channels[0].headers = { 'X Token': 'a' }; }, path: 'alerting.channels[0].headers.X Token', says: /not a valid HTTP header name/ },
    { name: 'a header value must be one line', change: (r) => { r.alerting.channels[0].headers = { 'X-Token': 'a\r\nX-Evil: 1' }; }, path: 'alerting.channels[0].headers.X-Token', says: /on one line/ },
    { name: 'the runbook base must be an http(s) URL', change: (r) => { r.alerting.runbookUrl = 'wiki/vigil'; }, path: 'alerting.runbookUrl', says: /expected an http or https URL such as "https:\/\/vigil.example.com\/runbook"/ },
    { name: 'the runbook base has no fragment: vigil appends the anchor', change: (r) => { r.alerting.runbookUrl = 'https://wiki.example.com/ops#alerts'; }, path: 'alerting.runbookUrl', says: /must not carry a "#" fragment/ },
  ];
  cases.forEach(check);

  it('never echoes a channel url, which may be a secret (Slack)', () => {
    const problems = problemsAfter((r) => { r.alerting.channels = [{ type: 'slack', url: 'ftp://hooks.slack.com/T0/B0/supersecretpath' }]; });
    assert.ok(problems.length > 0);
    assert.ok(!show(problems).includes('supersecretpath'), show(problems));
  });
});

describe('remediation, http, log', () => {
  const cases: Case[] = [
    { name: 'mode must be off, dry-run or auto', change: (r) => { r.remediation.mode = 'on'; }, path: 'remediation.mode', says: /expected one of "off", "dry-run", "auto"/ },
    { name: 'mode must be text (YAML 1.1 "off" as a boolean is not accepted)', change: (r) => { r.remediation.mode = false; }, path: 'remediation.mode', says: /expected one of "off"/ },
    { name: 'brokerDownGrace must be a duration', change: (r) => { r.remediation.brokerDownGrace = 'a while'; }, path: 'remediation.brokerDownGrace', says: DURATION },
    { name: 'maxPartitionMovesPerBroker must be a positive integer', change: (r) => { r.remediation.maxPartitionMovesPerBroker = 0; }, path: 'remediation.maxPartitionMovesPerBroker', says: /expected a whole number >= 1/ },
    { name: 'maxPartitionMovesPerBroker must be whole', change: (r) => { r.remediation.maxPartitionMovesPerBroker = 2.5; }, path: 'remediation.maxPartitionMovesPerBroker', says: /expected a whole number/ },
    { name: 'maxPlanSize must be a positive integer', change: (r) => { r.remediation.maxPlanSize = -1; }, path: 'remediation.maxPlanSize', says: /expected a whole number >= 1/ },
    { name: 'maxBrokersDownFraction must be in (0, 1]', change: (r) => { r.remediation.maxBrokersDownFraction = 0; }, path: 'remediation.maxBrokersDownFraction', says: /expected a fraction/ },
    { name: 'allowUncleanElection must be a boolean', change: (r) => { r.remediation.allowUncleanElection = 'sometimes'; }, path: 'remediation.allowUncleanElection', says: /expected true or false/ },
    { name: 'cooldown must be a duration', change: (r) => { r.remediation.cooldown = 'later'; }, path: 'remediation.cooldown', says: DURATION },
    { name: 'throttle must be a byte rate', change: (r) => { r.remediation.throttle = 'fast'; }, path: 'remediation.throttle', says: /expected a rate in bytes per second such as "50MiB"/ },
    { name: 'a set adminToken must be long enough', change: (r) => { r.http.adminToken = 'letmein'; }, path: 'http.adminToken', says: /at least 16 characters/ },
    // issue 8 defect 12: public demo values and placeholders passed validation
    { name: 'the published compose demo admin token is refused', change: (r) => { r.http.adminToken = 'demo-only-admin-token-do-not-use'; }, path: 'http.adminToken', says: PUBLIC_SECRET },
    { name: 'the k8s placeholder admin token is refused', change: (r) => { r.http.adminToken = 'REPLACE-ME-admin-token-at-least-16-chars'; }, path: 'http.adminToken', says: PUBLIC_SECRET },
    { name: 'log.level must be a pino level', change: (r) => { r.log.level = 'verbose'; }, path: 'log.level', says: /expected one of "trace", "debug", "info"/ },
  ];
  cases.forEach(check);
});

describe('environment variables', () => {
  const cases: Case[] = [
    {
      name: 'an unset variable without a default names the key and the variable',
      change: (r) => { r.election.secret = '${VIGIL_PEER_SECRET}'; },
      path: 'election.secret',
      says: /environment variable VIGIL_PEER_SECRET is not set/,
    },
    {
      name: 'an unset variable inside a list names the item',
      change: (r) => { r.kafka.brokers = ['${KAFKA_1}:9092']; },
      path: 'kafka.brokers[0]',
      says: /KAFKA_1 is not set/,
    },
    { name: 'an unterminated reference is a problem', change: (r) => { r.cluster = '${CLUSTER'; }, path: 'cluster', says: /unterminated/ },
    { name: 'a malformed variable name is a problem', change: (r) => { r.cluster = '${1BAD}'; }, path: 'cluster', says: /not a variable reference/ },
    {
      name: 'an expanded value is validated like a written one',
      change: (r) => { r.monitor.pollInterval = '${POLL}'; },
      env: { POLL: 'often' },
      path: 'monitor.pollInterval',
      says: DURATION,
    },
  ];
  cases.forEach(check);

  it('an unset secret is reported once: as unset, not also as empty', () => {
    const problems = problemsAfter((r) => { r.election.secret = '${VIGIL_PEER_SECRET}'; });
    assert.deepEqual(problems.map((p) => p.path), ['election.secret']);
  });

  it('every unset variable of one value is named', () => {
    const problems = problemsAfter((r) => { r.election.secret = '${A}${B}'; });
    assert.deepEqual(problems.map((p) => p.message.split(' ')[2]), ['A', 'B']);
  });
});

describe('the file as a whole', () => {
  it('must be a mapping, and one that is not gets that one problem only', () => {
    const problems = problemsOf(['cluster: x']);
    assert.equal(problems.length, 1, show(problems));
    assert.equal(problems[0]?.path, '');
    assert.match(problems[0]?.message ?? '', /expected a YAML mapping with the sections cluster, node, peers.*; got a list/);
  });

  it('an empty file lists the required sections once each, not their keys', () => {
    const paths = problemsOf(null).map((p) => p.path);
    assert.deepEqual(paths, ['', 'cluster', 'peers', 'node', 'kafka', 'redis']);
  });

  it('collects every problem in one pass instead of stopping at the first', () => {
    const raw = validRaw();
    raw.peers[1].id = 'vigil-1';
    raw.election.electionTimeout = '150ms';
    raw.election.secret = 'short';
    raw.kafka.brokers = ['nohost'];
    raw.redis = { url: 'redis://x:6379', sentinel: { name: 'm', sentinels: ['s:1'] } };
    raw.lag.resolveBelow = '11s';
    raw.canary.interval = 'often';
    raw.alerting.channels[0].type = 'sms';
    raw.remediation.mode = 'yolo';
    raw.log.level = 'loud';
    raw.extra = 1;
    const paths = problemsOf(raw).map((p) => p.path).sort();
    assert.deepEqual(paths, [
      'alerting.channels[0].type',
      'canary.interval',
      'election.electionTimeout',
      'election.secret',
      'extra',
      'kafka.brokers[0]',
      'lag.resolveBelow',
      'log.level',
      'peers[1].id',
      'redis',
      'remediation.mode',
    ]);
  });

  it('compileConfig throws one CONFIG_INVALID carrying every problem', () => {
    const raw = validRaw();
    raw.log.level = 'loud';
    raw.canary.topic = 'a b';
    let caught: unknown;
    try {
      compileConfig(raw, {}, { baseDir: tmp });
    } catch (err) {
      caught = err;
    }
    assert.ok(isVigilError(caught) && caught.code === 'CONFIG_INVALID');
    assert.deepEqual(configProblemsOf(caught)?.map((p) => p.path), ['canary.topic', 'log.level']);
    assert.match(caught.message.split('\n')[0] ?? '', /config is invalid: canary.topic: .* \(and 1 more/);
  });

  it('accepts the shared secret given through the environment', () => {
    const problems = problemsAfter((r) => { r.election.secret = '${S}'; }, { S: PEER_SECRET });
    assert.equal(show(problems), '(no problems)');
  });
});
