/**
 * `vigil demo` as a user runs it (docs/design.md §9 "vigil demo / npm start"): the real command as
 * a process, with its real brokers, Redis and replicas. It must tell what is missing
 * before starting anything, and play a scenario to its timeline and exit 0, each time
 * leaving no process behind. The demo without a scenario (its "where everything is" block,
 * the live summary, Ctrl-C) runs once, with Prometheus: test/integration/demo-prometheus.test.ts,
 * so that npm test starts one demo stack fewer. Waits are deadlines, never timing assertions.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { assertDemoLeftNothing, cleanUpDemo, demoExit, startDemo } from '../harness/demo';

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
});
