/**
 * The pure parts of `vigil demo` besides configs and the timeline (docs/design.md §9): the slow
 * consumer's pace (falls behind, pages, catches up, slows again — "so the demo is not just
 * an alarm"), the prerequisite check and its advice, the webhook receiver's body check
 * (docs/design.md §4 version 1), and the demo directory's safety rule.
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
  const all = { kafkaJars: true, kafkaLibsDir: '/repo/.cache/kafka/libs', java: true, redisServer: true };

  it('finds nothing missing when the jars, java and redis-server are there', () => {
    assert.deepEqual(missingPrerequisites(all), []);
  });

  it('names each missing piece and what it is for, and says to run scripts/setup.sh', () => {
    const missing = missingPrerequisites({ ...all, kafkaJars: false, redisServer: false });
    assert.equal(missing.length, 2);
    assert.match(missing[0] as string, /Kafka jars \(not found in \/repo\/\.cache\/kafka\/libs\)/);
    assert.match(missing[1] as string, /^redis-server \(not on PATH\)/);
    const message = prerequisitesMessage(missing);
    assert.match(message, /missing 2 prerequisites/);
    assert.match(message, /Run `bash scripts\/setup\.sh`/);
    assert.match(missingPrerequisites({ ...all, java: false })[0] as string, /^java \(not on PATH\)/);
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
