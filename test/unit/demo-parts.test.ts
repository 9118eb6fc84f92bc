/**
 * The pure parts of `vigil demo` besides configs and the timeline (docs/design.md §9): the slow
 * consumer's pace (falls behind, pages, catches up, slows again — "so the demo is not just
 * an alarm"), the prerequisite check and its advice, the webhook receiver's body check
 * (docs/design.md §4 version 1), the demo directory's safety rule, and the "where everything
 * is" block with its "try" lines.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { missingPrerequisites, prerequisitesMessage } from '../../src/demo/prerequisites';
import { DEMO_MARKER, prepareDemoDir } from '../../src/demo/run';
import { isScenarioName, SCENARIOS } from '../../src/demo/scenarios';
import { parsePage } from '../../src/demo/webhook-receiver';
import { whereEverythingIs, type WhereInput } from '../../src/demo/where';
import { INITIAL_PACE, slowConsumerStep, type PaceRules } from '../../src/demo/workload';

const RULES: PaceRules = { slowDelayMs: 625, speedUpAtMs: 15_000, fastForMs: 60_000, caughtUpBelowMs: 1000 };

describe('the slow consumer pace', () => {
  it('spends slowDelayMs on each record until one is speedUpAtMs old, then speeds up at once', () => {
    const slow = slowConsumerStep(INITIAL_PACE, 0, 14_999, RULES);
    assert.deepEqual(slow, { state: INITIAL_PACE, delayMs: 625 });
    const fast = slowConsumerStep(INITIAL_PACE, 0, 15_000, RULES);
    assert.deepEqual(fast, { state: { pace: 'fast', caughtUpAtMs: null }, delayMs: 0, change: 'sped-up' });
  });

  it('stays fast while catching up and for fastForMs after it first holds a fresh record, then slows down again', () => {
    let step = slowConsumerStep({ pace: 'fast', caughtUpAtMs: null }, 1_000, 9_000, RULES);
    assert.deepEqual(step, { state: { pace: 'fast', caughtUpAtMs: null }, delayMs: 0 }, 'still behind: not caught up');
    step = slowConsumerStep(step.state, 2_000, 300, RULES);
    assert.deepEqual(step, { state: { pace: 'fast', caughtUpAtMs: 2_000 }, delayMs: 0 }, 'caught up at 2 s');
    step = slowConsumerStep(step.state, 61_999, 5_000, RULES);
    assert.equal(step.state.pace, 'fast', 'an older record later does not reset the hold');
    step = slowConsumerStep(step.state, 62_000, 200, RULES);
    assert.deepEqual(step, { state: INITIAL_PACE, delayMs: 625, change: 'slowed-down' });
  });
});

describe('demo prerequisites', () => {
  const all = { kafkaVersion: '4.4.0', kafkaJars: true, kafkaLibsDir: '/repo/.cache/kafka/4.4.0/libs', java: true, redisServer: true, prometheus: true, alertmanager: true };

  it('finds nothing missing when the jars, java and redis-server are there', () => {
    assert.deepEqual(missingPrerequisites(all), []);
  });

  it('names each missing piece and what it is for, and says to run scripts/setup.sh', () => {
    const missing = missingPrerequisites({ ...all, kafkaJars: false, redisServer: false });
    assert.equal(missing.length, 2);
    assert.match(missing[0] as string, /Kafka 4\.4\.0 jars \(not found in \/repo\/\.cache\/kafka\/4\.4\.0\/libs\)/);
    assert.match(missing[1] as string, /^redis-server \(not on PATH\)/);
    const message = prerequisitesMessage(missing);
    assert.match(message, /missing 2 prerequisites/);
    assert.match(message, /Run `bash scripts\/setup\.sh`/);
    assert.match(missingPrerequisites({ ...all, java: false })[0] as string, /^java \(not on PATH\)/);
  });

  it('asks for prometheus and prometheus-alertmanager only with --with-prometheus, naming each and its Debian package', () => {
    const without = { ...all, prometheus: false, alertmanager: false };
    assert.deepEqual(missingPrerequisites(without), [], 'the plain demo does not need them');
    const missing = missingPrerequisites(without, true);
    assert.equal(missing.length, 2);
    assert.match(missing[0] as string, /^prometheus \(not on PATH\): --with-prometheus .*\(Debian package prometheus\)/);
    assert.match(missing[1] as string, /^prometheus-alertmanager \(not on PATH\): .*\(Debian package prometheus-alertmanager\)/);
    assert.deepEqual(missingPrerequisites({ ...all, alertmanager: false }, true).length, 1);
    assert.match(prerequisitesMessage(missing), /Run `bash scripts\/setup\.sh`.*prometheus-alertmanager/);
  });
});

describe('demo webhook receiver: the body it accepts (docs/design.md §4)', () => {
  const body = {
    version: 1, status: 'firing', alert: 'BrokerUnreachable', severity: 'critical', key: 'demo/BrokerUnreachable/3', cluster: 'demo', broker: 3,
    startsAt: '2026-11-26T10:00:00.000Z', endsAt: null, summary: 'broker 3 unreachable', sentBy: { nodeId: 'vigil-1', term: 2 },
  };

  it('accepts a version-1 page', () => {
    assert.deepEqual(parsePage(JSON.stringify(body)), body);
  });

  it('rejects what is not one: other versions, statuses, missing sender, not JSON', () => {
    assert.equal(parsePage(JSON.stringify({ ...body, version: 2 })), undefined);
    assert.equal(parsePage(JSON.stringify({ ...body, status: 'pending' })), undefined);
    assert.equal(parsePage(JSON.stringify({ ...body, sentBy: { nodeId: 'vigil-1' } })), undefined);
    assert.equal(parsePage('{"version":1'), undefined);
    assert.equal(parsePage('null'), undefined);
  });
});

describe('demo scenarios', () => {
  it('knows the three scenarios of docs/design.md §9 by name, and nothing else', () => {
    assert.deepEqual([...SCENARIOS], ['stall-a-consumer', 'kill-a-broker', 'kill-the-vigil-leader']);
    assert.equal(isScenarioName('kill-a-broker'), true);
    assert.equal(isScenarioName('kill-everything'), false);
  });
});

describe('demo directory', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-demo-dir-test-'));
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  it('creates a new directory and marks it as the demo\'s', () => {
    const dir = prepareDemoDir(path.join(base, 'new'));
    assert.deepEqual(fs.readdirSync(dir), [DEMO_MARKER]);
  });

  it('empties a directory an earlier demo made, so a rerun starts clean', () => {
    const dir = prepareDemoDir(path.join(base, 'again'));
    fs.mkdirSync(path.join(dir, 'kafka'));
    fs.writeFileSync(path.join(dir, 'kafka', 'old.log'), 'x');
    prepareDemoDir(dir);
    assert.deepEqual(fs.readdirSync(dir), [DEMO_MARKER]);
  });

  it('refuses a non-empty directory it did not make, and leaves it alone', () => {
    const dir = path.join(base, 'someone-elses');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'precious.txt'), 'keep me');
    assert.throws(() => prepareDemoDir(dir), /is not empty and was not made by vigil demo/);
    assert.deepEqual(fs.readdirSync(dir), ['precious.txt']);
  });
});

describe('demo "where everything is" and "try" lines (docs/demo.md)', () => {
  const base: WhereInput = {
    dir: '/tmp/vigil-demo-x',
    brokers: [{ id: 1, address: '127.0.0.1:41001' }, { id: 2, address: '127.0.0.1:41002' }, { id: 3, address: '127.0.0.1:41003' }],
    redisUrl: 'redis://127.0.0.1:42001',
    webhookUrl: 'http://127.0.0.1:43001/hook',
    replicas: [{ id: 'vigil-1', url: 'http://127.0.0.1:44001' }, { id: 'vigil-2', url: 'http://127.0.0.1:44002' }, { id: 'vigil-3', url: 'http://127.0.0.1:44003' }],
    // vigil-2 leads: the lines must not fall back on vigil-1's URL
    leader: { nodeId: 'vigil-2', term: 3, pid: 4567 },
    statusPage: { url: 'http://127.0.0.1:44002/' },
    adminToken: 'token',
  };
  const tryBlock = (lines: string[]): string[] => lines.slice(lines.findIndex((l) => l.startsWith('  try ')));

  it('points the API, status page and try lines at the current leader, not the first replica', () => {
    const lines = whereEverythingIs(base);
    assert.ok(lines.includes('    vigil-2 (leader, term 3)  http://127.0.0.1:44002'), lines.join('\n'));
    const text = lines.join('\n');
    assert.match(text, /^ {4}http:\/\/127\.0\.0\.1:44002\/api\/v1\/status {3}http:\/\/127\.0\.0\.1:44002\/api\/v1\/lag/m);
    assert.match(text, /^ {2}status page {5}http:\/\/127\.0\.0\.1:44002\/$/m);
    const tries = tryBlock(lines).join('\n');
    assert.match(tries, /open http:\/\/127\.0\.0\.1:44002\/ in a browser/);
    assert.match(tries, /status --url http:\/\/127\.0\.0\.1:44002$/m);
    assert.match(tries, /lag --brokers 127\.0\.0\.1:41001,127\.0\.0\.1:41002,127\.0\.0\.1:41003$/m);
    assert.match(tries, /kill -9 4567 .*vigil-2/);
    assert.doesNotMatch(lines.filter((l) => !l.startsWith('    vigil-1')).join('\n'), /:44001/, "vigil-1's URL appears only in the replica list");
  });

  it('says why the status page is not shown when GET / did not answer, and offers no link to it', () => {
    const lines = whereEverythingIs({ ...base, statusPage: { notServed: 'timed out after 30000 ms' } });
    assert.ok(lines.includes('  status page     not answering: timed out after 30000 ms'));
    assert.doesNotMatch(tryBlock(lines).join('\n'), /in a browser/);
  });

  it('with --with-prometheus, prints Prometheus and Alertmanager and what to try on them; without, neither', () => {
    const plain = whereEverythingIs(base).join('\n');
    assert.doesNotMatch(plain, /prometheus|alertmanager|amtool/i);
    const lines = whereEverythingIs({ ...base, prometheus: { prometheusUrl: 'http://127.0.0.1:45001', alertmanagerUrl: 'http://127.0.0.1:45002' } });
    const text = lines.join('\n');
    assert.match(text, /^ {2}prometheus {6}http:\/\/127\.0\.0\.1:45001\/ .*vigil-rules\.yml/m);
    assert.match(text, /^ {2}alertmanager {4}http:\/\/127\.0\.0\.1:45002 /m);
    const tries = tryBlock(lines).join('\n');
    assert.match(tries, /http:\/\/127\.0\.0\.1:45001\/classic\/alerts/);
    assert.match(tries, /http:\/\/127\.0\.0\.1:45001\/api\/v1\/targets/);
    assert.match(tries, /amtool alert query --alertmanager\.url=http:\/\/127\.0\.0\.1:45002/);
    assert.match(text, /prometheus\/prometheus\.log, .*alertmanager\/alertmanager\.log/);
  });
});
