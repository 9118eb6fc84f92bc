/**
 * `vigil demo` as a user runs it (docs/design.md §9 "vigil demo / npm start"): the real command as
 * a process, with its real brokers, Redis and replicas. It must tell what is missing
 * before starting anything, play a scenario to its timeline and exit 0, and stop on Ctrl-C
 * — each time leaving no process behind. Waits are deadlines, never timing assertions.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { assertDemoLeftNothing, cleanUpDemo, demoExit, startDemo } from '../harness/demo';
import { waitFor } from '../harness/wait';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-e2e-demo-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));

const DEMO_PROCESSES = { count: 7, what: '3 brokers, Redis and 3 replicas' };

describe('vigil demo (docs/design.md §9)', () => {
  it('without java and redis-server on PATH, says what is missing and to run scripts/setup.sh, exits 2 and starts nothing', async () => {
    const run = startDemo(base, 'no-prereqs', ['--scenario', 'stall-a-consumer'], { PATH: path.join(base, 'empty-path') });
    try {
      const status = await demoExit(run, 60_000);
      assert.equal(status.code, 2, run.output());
      assert.match(run.output(), /java \(not on PATH\)/);
      assert.match(run.output(), /redis-server \(not on PATH\)/);
      assert.match(run.output(), /bash scripts\/setup\.sh/);
      assert.equal(fs.existsSync(run.dir), false, 'nothing was created');
    } finally {
      await cleanUpDemo(run);
    }
  });

  it('--scenario stall-a-consumer: pages for orders-svc, resolves, prints both in the timeline, exits 0, leaves nothing running', async () => {
    const run = startDemo(base, 'stall', ['--scenario', 'stall-a-consumer']);
    try {
      const status = await demoExit(run, 170_000);
      const out = run.output();
      assert.equal(status.code, 0, `exit ${status.code ?? status.signal}; output:\n${out}`);
      const timeline = out.slice(out.indexOf('\ntimeline'));
      assert.ok(timeline.length > 1, `a timeline is printed:\n${out}`);
      const lines = timeline.split('\n');
      assert.ok(lines.some((l) => /\balert-firing\b/.test(l) && l.includes('orders-svc')), `an alert-firing line for orders-svc:\n${timeline}`);
      assert.ok(lines.some((l) => /\balert-resolved\b/.test(l) && l.includes('orders-svc')), `an alert-resolved line for orders-svc:\n${timeline}`);
      assert.match(out, /scenario stall-a-consumer: OK/);
      assertDemoLeftNothing(run, DEMO_PROCESSES);
    } finally {
      await cleanUpDemo(run);
    }
  });

  it('without a scenario: prints where everything is and a live summary until SIGINT, then stops everything', async () => {
    const run = startDemo(base, 'live', []);
    try {
      // Two summary lines naming the leader: the stack is up and the loop runs.
      await waitFor(() => (run.output().match(/^\+\s*[\d.]+s {2}leader vigil-\d \(term \d+\)/gm) ?? []).length >= 2, {
        timeoutMs: 150_000,
        intervalMs: 200,
        what: `two live summary lines (output so far:\n${run.output().slice(-2000)})`,
      });
      const out = run.output();
      assert.match(out, /kafka brokers {3}1: 127\.0\.0\.1:\d+ {3}2: 127\.0\.0\.1:\d+ {3}3: 127\.0\.0\.1:\d+/);
      assert.match(out, /redis {11}redis:\/\/127\.0\.0\.1:\d+/);
      for (const route of ['/api/v1/status', '/api/v1/lag', '/api/v1/alerts', '/api/v1/events', '/metrics']) {
        assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:\\d+${route.replace(/\//g, '\\/')}`), `the ${route} URL is printed`);
      }
      // the try lines and the status page name the replica that leads, whichever it is
      const leaderUrl = /^ {4}vigil-\d \(leader, term \d+\) {2}(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1];
      assert.ok(leaderUrl, `the leader is marked in the replica list:\n${out}`);
      assert.ok(out.includes(`status --url ${leaderUrl}\n`), `the try lines use the leader's URL ${leaderUrl}:\n${out}`);
      assert.ok(out.includes(`  status page     ${leaderUrl}/\n`), `the status page line is the leader's GET /:\n${out}`);
      run.proc.signal('SIGINT');
      const status = await demoExit(run, 60_000);
      assert.equal(status.code, 130, run.output().slice(-3000));
      assertDemoLeftNothing(run, DEMO_PROCESSES);
    } finally {
      await cleanUpDemo(run);
    }
  });
});
