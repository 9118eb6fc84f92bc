/**
 * kafkajs 2.2.4's request queue set a timer for `throttledUntil - Date.now()` ms after every
 * answer, minus the epoch on a connection that is not throttled (tulios/kafkajs#1751): a
 * TimeoutNegativeWarning on Node >= 24 and a 1 ms timer loop per open connection.
 * kafkajs-wire.ts fixes the scheduling when it loads (fixKafkajsRequestQueueSchedule); these
 * tests drive kafkajs's own RequestQueue.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const wireModule = path.resolve(__dirname, '..', '..', 'src', 'kafka', 'kafkajs-wire.js');

/**
 * Runs `body` in a fresh Node with a kafkajs RequestQueue `q` (with or without the fix
 * loaded) and returns its stdout and stderr; `body` prints its findings as JSON.
 */
function inQueueProcess(fixed: boolean, body: string): { out: string; err: string } {
  const script = `
    ${fixed ? `require(${JSON.stringify(wireModule)});` : ''}
    const RequestQueue = require('kafkajs/src/network/requestQueue');
    const { createLogger, LEVELS } = require('kafkajs/src/loggers');
    const logger = createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} });
    const q = new RequestQueue({ maxInFlightRequests: null, requestTimeout: 30000, enforceRequestTimeout: false, clientId: 't', broker: 'b', logger, isConnected: () => true });
    let checks = 0;
    const check = q.checkPendingRequests.bind(q);
    q.checkPendingRequests = () => { checks++; check(); };
    ${body}
  `;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '..', '..'), encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return { out: r.stdout, err: r.stderr };
}

// what kafkajs does after an answer: look at the queue, with nothing waiting in it
const AFTER_AN_ANSWER = `
  q.checkPendingRequests();
  setTimeout(() => { console.log(JSON.stringify({ checks, timer: q.throttleCheckTimeoutId !== null })); q.destroy(); }, 200);
`;

describe("kafkajs's request queue timer", () => {
  it('without the fix: a negative delay, a warning, and a timer that re-arms itself with nothing queued', () => {
    const { out, err } = inQueueProcess(false, AFTER_AN_ANSWER);
    assert.match(err, /TimeoutNegativeWarning/);
    const seen = JSON.parse(out);
    assert.equal(seen.timer, true, out);
    assert.ok(seen.checks > 1, out);
  });

  it('with the fix: no warning and no timer while nothing waits in the queue', () => {
    const { out, err } = inQueueProcess(true, AFTER_AN_ANSWER);
    assert.equal(err, '');
    assert.deepEqual(JSON.parse(out), { checks: 1, timer: false });
  });

  it('with the fix: a request held back by a throttle is sent when the throttle ends', () => {
    const { out, err } = inQueueProcess(
      true,
      `
      const sent = [];
      q.maybeThrottle(150);
      q.push({ entry: { correlationId: 1 }, expectResponse: true, sendRequest: () => sent.push(Date.now()), requestTimeout: 30000 });
      const held = { sent: sent.length, timer: q.throttleCheckTimeoutId !== null };
      const timer = setInterval(() => {
        if (sent.length === 0) return;
        clearInterval(timer);
        console.log(JSON.stringify({ held, sent: sent.length, timerAfter: q.throttleCheckTimeoutId !== null }));
        q.destroy();
      }, 20);
    `,
    );
    assert.equal(err, '');
    assert.deepEqual(JSON.parse(out), { held: { sent: 0, timer: true }, sent: 1, timerAfter: false });
  });
});
