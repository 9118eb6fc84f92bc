/**
 * `vigil doctor` (docs/doctor.md): the report's lines and exit status, the peer checks (a
 * signature refused is a secret mismatch, a peer not running a warning), clock offsets
 * against election.maxClockSkew, the replica count, the Redis checks, and the test page.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { buildRequest } from '../../src/alerting/channels';
import type { ChannelConfig } from '../../src/config/types';
import { type Check, check, doctorExitCode, doctorJson, renderDoctorReport, shellWord } from '../../src/doctor/check';
import { clockCheck, clockOffset } from '../../src/doctor/clock';
import { MONITOR_ACLS, aclCheckId, canaryAcls } from '../../src/doctor/kafka-acl';
import { parseRejection, peerCheck, peerClockCheck, quorumCheck, staleOffsetMs } from '../../src/doctor/peer-checks';
import { evictionCheck, infoField, persistenceCheck, redisFailure, redisFix } from '../../src/doctor/redis-checks';
import { TEST_PAGE_TEXT, channelsCheck, testPageChannel, testPageNotification } from '../../src/doctor/test-page';

const report = (checks: Check[]) => ({ config: 'vigil.yaml', nodeId: 'vigil-1', checkedAt: '2026-12-01T00:00:00.000Z', checks });

describe('the report', () => {
  const checks = [
    check('kafka.bootstrap', 'ok', '3 of 3 answered'),
    check('redis.persistence', 'warn', 'AOF is off', 'set appendonly yes'),
    check('peer.vigil-2', 'fail', 'secret mismatch:\nline two', 'election.secret must be the same'),
  ];

  it('one line per check — status, id, what was found, the fix — then a summary', () => {
    const text = renderDoctorReport(report(checks));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, checks.length + 2);
    assert.equal(lines[0], 'ok    kafka.bootstrap    3 of 3 answered');
    assert.equal(lines[1], 'WARN  redis.persistence  AOF is off — fix: set appendonly yes');
    assert.equal(lines[2], 'FAIL  peer.vigil-2       secret mismatch: line two — fix: election.secret must be the same');
    assert.equal(lines[4], 'vigil doctor (vigil-1, vigil.yaml): 1 ok, 1 warning(s), 1 failed — vigil cannot run as configured');
  });

  it('exit 1 when a check failed; warnings alone exit 0', () => {
    assert.equal(doctorExitCode(checks), 1);
    assert.equal(doctorExitCode(checks.slice(0, 2)), 0);
    assert.equal(doctorExitCode([]), 0);
    const json = JSON.parse(doctorJson(report(checks.slice(0, 2)))) as { exitCode: number; checks: Check[] };
    assert.equal(json.exitCode, 0);
    assert.deepEqual(json.checks[1], { id: 'redis.persistence', status: 'warn', found: 'AOF is off', fix: 'set appendonly yes' });
  });

  it('quotes shell words only when needed', () => {
    assert.equal(shellWord('User:vigil'), 'User:vigil');
    assert.equal(shellWord('a b'), "'a b'");
    assert.equal(shellWord("o'neil"), "'o'\\''neil'");
    assert.equal(shellWord('*'), "'*'");
  });
});

describe('clocks', () => {
  it('the other clock was read between send and receipt: the offset is known within half the round trip', () => {
    assert.deepEqual(clockOffset({ sentMs: 1000, receivedMs: 1010, remoteMs: 1505, resolutionMs: 0 }), { offsetMs: 500, errorMs: 5 });
    // an HTTP Date is whole seconds: the remote clock read anywhere in the next second
    assert.deepEqual(clockOffset({ sentMs: 1000, receivedMs: 1000, remoteMs: 1000, resolutionMs: 1000 }), { offsetMs: 500, errorMs: 500 });
  });

  it('ok within half the limit, a warning past half, FAIL only when surely beyond (a warning where it may not fail)', () => {
    const at = (offset: number, rtt = 2) => ({ sentMs: 0, receivedMs: rtt, remoteMs: offset + rtt / 2, resolutionMs: 0 });
    assert.equal(clockCheck('clock.vigil-2', "vigil-2's", at(100), 5000, true).status, 'ok');
    assert.equal(clockCheck('clock.vigil-2', "vigil-2's", at(-3000), 5000, true).status, 'warn');
    const beyond = clockCheck('clock.vigil-2', "vigil-2's", at(6000), 5000, true);
    assert.equal(beyond.status, 'fail');
    assert.match(beyond.found, /^vigil-2's clock is \+6000 ms \(±1 ms\) from this host's: beyond election\.maxClockSkew \(5s\)/);
    assert.match(beyond.fix ?? '', /NTP/);
    assert.equal(clockCheck('clock.redis', "Redis's", at(6000), 5000, false).status, 'warn');
    // uncertain whether beyond: not a failure
    assert.equal(clockCheck('clock.vigil-2', "vigil-2's", at(5400, 1000), 5000, true).status, 'warn');
  });
});

describe('peers', () => {
  const config = { node: { id: 'vigil-1' }, election: { maxClockSkewMs: 5000 } } as Parameters<typeof peerCheck>[0];
  const peer = { id: 'vigil-2', url: 'http://10.0.0.2:9464', peerUrl: 'http://10.0.0.2:9474' };
  const rejected = (status: number, body: string) => ({ kind: 'rejected' as const, status, ...parseRejection(body) });

  it('reads the reason of a rejection from the peer listener\'s error body', () => {
    const body = JSON.stringify({ error: { code: 'PEER_REJECTED', message: 'bad-signature: the signature does not match (is election.secret the same on every replica?)' } });
    assert.deepEqual(parseRejection(body), { reason: 'bad-signature', detail: 'the signature does not match (is election.secret the same on every replica?)' });
    assert.deepEqual(parseRejection('<html>nope</html>'), { detail: '<html>nope</html>' });
    assert.equal(staleOffsetMs("timestamp is -6012 ms off this replica's clock (limit 5000 ms)"), -6012);
  });

  it('a signature refused is a secret mismatch; unknown sender, wrong recipient, stale and 404 each name their key', () => {
    const mismatch = peerCheck(config, peer, rejected(401, JSON.stringify({ error: { message: 'bad-signature: the signature does not match' } })), undefined);
    assert.equal(mismatch.status, 'fail');
    assert.match(mismatch.found, /^secret mismatch: vigil-2 at http:\/\/10\.0\.0\.2:9474 refused a request signed by vigil-1/);
    assert.match(mismatch.fix ?? '', /^election\.secret must be the same on every replica/);
    assert.match(peerCheck(config, peer, rejected(403, JSON.stringify({ error: { message: 'unknown-sender: sender "vigil-1" is not a peer' } })), undefined).found, /does not list vigil-1 among its peers/);
    assert.match(peerCheck(config, peer, rejected(403, JSON.stringify({ error: { message: 'wrong-recipient: addressed to "vigil-2"' } })), undefined).found, /^the replica at http:\/\/10\.0\.0\.2:9474 is not vigil-2/);
    assert.match(peerCheck(config, peer, rejected(401, JSON.stringify({ error: { message: "stale-timestamp: timestamp is 6012 ms off this replica's clock (limit 5000 ms)" } })), undefined).fix ?? '', /NTP/);
    assert.match(peerCheck(config, peer, rejected(404, JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no route' } })), undefined).fix ?? '', /must point at its node\.peerListen \(not node\.listen\)/);
  });

  it('connection refused is a warning (not running yet); a timeout, DNS or TLS failure is a FAIL', () => {
    const refused = peerCheck(config, peer, { kind: 'unreachable', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, undefined);
    assert.equal(refused.status, 'warn');
    assert.match(refused.found, /^nothing listens at http:\/\/10\.0\.0\.2:9474 \(connection refused\): vigil-2 is not running/);
    assert.equal(peerCheck(config, peer, { kind: 'unreachable', code: 'ETIMEDOUT', message: 'no answer within 3000 ms' }, undefined).status, 'fail');
    assert.match(peerCheck(config, peer, { kind: 'unreachable', code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND' }, undefined).found, /does not resolve/);
    assert.match(peerCheck(config, peer, { kind: 'unreachable', code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }, undefined).fix ?? '', /node\.tls\.ca/);
  });

  it('accepted: ok, or a warning when the public listener does not answer /healthz', () => {
    const accepted = { kind: 'accepted' as const, roundTripMs: 2.4, clock: { sentMs: 0, receivedMs: 2, remoteMs: 1, resolutionMs: 0 } };
    assert.equal(peerCheck(config, peer, accepted, { ok: true, detail: 'HTTP 200' }).status, 'ok');
    const noPublic = peerCheck(config, peer, accepted, { ok: false, detail: 'connect ECONNREFUSED' });
    assert.equal(noPublic.status, 'warn');
    assert.match(noPublic.fix ?? '', /peers\[\]\.url of vigil-2 must be the address of its node\.listen/);
    assert.equal(peerClockCheck('vigil-2', accepted, 5000)?.id, 'clock.vigil-2');
    assert.equal(peerClockCheck('vigil-2', { kind: 'unreachable', message: 'x' }, 5000), undefined);
  });

  it('the replica count: 1 and 2 have no failover (a majority of 2 is 2), 4 adds nothing over 3', () => {
    const n = (count: number) => quorumCheck({ peers: Array.from({ length: count }, (_, i) => ({ id: `v${i}`, url: `http://h${i}` })) });
    assert.equal(n(1).status, 'warn');
    assert.match(n(1).found, /^1 replica: no failover/);
    assert.equal(n(2).status, 'warn');
    assert.match(n(2).found, /a leader needs 2 of 2, so losing any one stops all monitoring/);
    assert.deepEqual([n(3).status, n(4).status, n(5).status], ['ok', 'warn', 'ok']);
    assert.match(n(5).found, /survives 2 replica failure/);
  });
});

describe('Redis', () => {
  it('tells authentication, ACL, replica, TLS and Sentinel problems apart, each with its fix', () => {
    assert.equal(redisFailure('WRONGPASS invalid username-password pair or user is disabled.'), 'auth');
    assert.equal(redisFailure('NOAUTH Authentication required.'), 'auth');
    assert.equal(redisFailure("NOPERM User vigil has no permissions to run the 'eval' command"), 'noperm');
    assert.equal(redisFailure("READONLY You can't write against a read only replica."), 'readonly');
    assert.equal(redisFailure('self-signed certificate in certificate chain'), 'tls');
    assert.equal(redisFailure('All sentinels are unreachable and retry is disabled.'), 'sentinel');
    assert.equal(redisFailure('connect ECONNREFUSED 127.0.0.1:6379'), 'unreachable');
    assert.match(redisFix('noperm'), /~vigil:\* &\* \+@all -@dangerous \+info/);
    assert.match(redisFix('readonly'), /names a replica/);
  });

  it('AOF off is a warning; eviction matters only with a memory limit and an evicting policy', () => {
    assert.equal(persistenceCheck(true, 'CONFIG GET').status, 'ok');
    const off = persistenceCheck(false, 'INFO; CONFIG GET is denied by the ACL');
    assert.equal(off.status, 'warn');
    assert.match(off.found, /^AOF is off \(appendonly no, from INFO; CONFIG GET is denied by the ACL\)/);
    assert.equal(persistenceCheck(undefined, 'x').status, 'warn');
    assert.equal(evictionCheck(0, 'allkeys-lru', 'CONFIG GET').status, 'ok');
    assert.equal(evictionCheck(1 << 30, 'noeviction', 'CONFIG GET').status, 'ok');
    assert.equal(evictionCheck(1 << 30, 'allkeys-lru', 'CONFIG GET').status, 'warn');
    const info = '# Persistence\r\naof_enabled:0\r\nrdb_changes_since_last_save:3\r\n';
    assert.equal(infoField(info, 'aof_enabled'), '0');
    assert.equal(infoField(info, 'maxmemory_policy'), undefined);
  });
});

describe('the test page', () => {
  const config = { cluster: 'prod', node: { id: 'vigil-2' } } as Parameters<typeof testPageNotification>[0];
  const page = testPageNotification(config, Date.parse('2026-12-01T10:00:00Z'), 'host-a');

  it('is marked as a test in its summary, severity info, keyed per replica', () => {
    assert.equal(page.alert.severity, 'info');
    assert.equal(page.alert.key, 'prod/VigilDoctorTest/vigil-2');
    assert.equal(page.alert.summary, `${TEST_PAGE_TEXT} (sent by vigil doctor for vigil-2 on host-a at 2026-12-01T10:00:00.000Z)`);
    assert.equal(page.id, 'prod/VigilDoctorTest/vigil-2@2026-12-01T10:00:00.000Z#firing');
  });

  it('goes out in every channel format with the TEST text and no runbook link', () => {
    const channels: ChannelConfig[] = [
      { type: 'webhook', name: 'w', url: 'http://x/hook', headers: {} },
      { type: 'slack', name: 's', url: 'https://hooks.slack.com/services/T/B/X' },
      { type: 'pagerduty', name: 'p', routingKey: 'k', url: 'https://events.pagerduty.com/v2/enqueue' },
      { type: 'alertmanager', name: 'a', url: 'http://am:9093' },
    ];
    const ctx = { sentBy: { nodeId: 'vigil-2', term: 0 }, nowMs: Date.parse('2026-12-01T10:00:00Z') };
    for (const configured of channels) {
      // every compiled channel carries alerting.runbookUrl; the test page drops it
      const channel = { ...configured, runbookUrl: 'http://vigil-2:9464/runbook' };
      assert.ok(JSON.stringify(buildRequest(channel, page, ctx).body).includes('/runbook'));
      const req = buildRequest(testPageChannel(channel), page, ctx);
      const text = JSON.stringify(req.body);
      assert.ok(text.includes(TEST_PAGE_TEXT), `${channel.type}: ${text}`);
      assert.ok(!text.includes('runbook'), `${channel.type}: ${text}`);
    }
  });

  it('without --send-test-page the channels are listed; none at all is a warning', () => {
    assert.equal(channelsCheck({ alerting: { channels: [], runbookUrl: 'x' } }).status, 'warn');
    const listed = channelsCheck({ alerting: { channels: [{ type: 'webhook', name: 'w', url: 'http://x/secret-path', headers: {} }], runbookUrl: 'x' } });
    assert.equal(listed.status, 'ok');
    assert.match(listed.found, /w \(webhook → http:\/\/x\)/);
    assert.ok(!listed.found.includes('secret-path'));
  });
});

describe('docs/doctor.md', () => {
  const root = path.resolve(__dirname, '..', '..', '..');
  const doc = fs.readFileSync(path.join(root, 'docs', 'doctor.md'), 'utf8');
  const srcDir = path.join(root, 'src', 'doctor');
  const source = fs.readdirSync(srcDir).filter((f) => f.endsWith('.ts')).map((f) => fs.readFileSync(path.join(srcDir, f), 'utf8')).join('\n');

  /** The ids the code can report: literals, and per-peer / per-channel templates as the docs write them. */
  const codeIds = new Set<string>([
    ...[...source.matchAll(/'((?:election|kafka|redis|clock|alerting)\.[a-z-]+)'/g)].map((m) => m[1] as string),
    ...[...source.matchAll(/`(peer|clock|alerting)\.\$\{/g)].map((m) => ({ peer: 'peer.<id>', clock: 'clock.<id>', alerting: 'alerting.<channel>' })[m[1] as 'peer' | 'clock' | 'alerting']),
  ]);
  /** The first column of the table under "## The checks". */
  const section = doc.slice(doc.indexOf('## The checks'), doc.indexOf('## Kafka ACLs'));
  const documented = new Set([...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] as string));

  it('documents every check the code reports, and no check it does not', () => {
    assert.ok(codeIds.size >= 12, `found only ${[...codeIds].join(', ')}`);
    const acl = [...codeIds].filter((id) => id.startsWith('kafka.acl.'));
    assert.deepEqual(acl, [], 'ACL ids are built by aclCheckId, not written out');
    assert.deepEqual([...codeIds].filter((id) => !documented.has(id)).sort(), [], 'reported but not in the table');
    assert.deepEqual([...documented].filter((id) => id !== 'kafka.acl.*' && !codeIds.has(id)).sort(), [], 'in the table but never reported');
  });

  it('names every ACL check and the ACL behind it', () => {
    for (const req of [...MONITOR_ACLS, ...canaryAcls(false)]) {
      assert.ok(doc.includes(`\`${aclCheckId(req)}\``), `docs/doctor.md does not name ${aclCheckId(req)}`);
      assert.ok(doc.includes(`\`${req.operation}\``), `docs/doctor.md does not name ${req.operation}`);
    }
  });
});
