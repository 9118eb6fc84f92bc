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
import { processState, processesMentioning, spawnTracked, type ExitStatus, type TrackedProcess } from '../harness/procs';
import { CLI_PATH } from '../harness/replicas';
import { waitFor } from '../harness/wait';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-e2e-demo-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));

interface DemoRun {
  readonly proc: TrackedProcess;
  readonly dir: string;
  readonly outFile: string;
  output(): string;
}

function startDemo(name: string, args: string[], env?: Record<string, string>): DemoRun {
  const dir = path.join(base, name);
  const outFile = path.join(base, `${name}.out`);
  const proc = spawnTracked({ name: `vigil demo (${name})`, command: process.execPath, args: [CLI_PATH, 'demo', '--dir', dir, ...args], logFile: outFile, ...(env ? { env } : {}) });
  return { proc, dir, outFile, output: () => (fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : '') };
}

async function exitOf(run: DemoRun, timeoutMs: number): Promise<ExitStatus> {
  return waitFor(() => run.proc.exitStatus(), { timeoutMs, intervalMs: 200, what: `${run.proc.name} to exit` });
}

/** Every process the demo reported stopping is gone, and none names its directory. */
function assertNothingLeft(run: DemoRun): void {
  const out = run.output();
  const stopped = /stopped (\d+) processes \(pids ([\d ]+)\); none left running/.exec(out);
  assert.ok(stopped, `the demo reports the processes it stopped:\n${out.slice(-3000)}`);
  const pids = (stopped[2] as string).trim().split(' ').map(Number);
  assert.equal(pids.length, 7, '3 brokers, Redis and 3 replicas');
  assert.deepEqual(pids.filter((pid) => processState(pid) !== undefined), [], 'no process of the demo still runs');
  assert.deepEqual(processesMentioning(run.dir), [], 'no process names the demo directory');
  assert.equal(fs.existsSync(run.dir), false, 'the demo directory is removed (no --keep)');
}

/**
 * After a failure: give the demo its orderly stop, then kill it and whatever it left (its
 * children run in process groups of their own, so they would not die with it).
 */
async function cleanUp(run: DemoRun): Promise<void> {
  if (run.proc.isRunning()) await run.proc.terminate({ sig: 'SIGTERM', timeoutMs: 30_000 }).catch(() => undefined);
  const redisPort = /redis\s+redis:\/\/127\.0\.0\.1:(\d+)/.exec(run.output())?.[1];
  const orphans = [...processesMentioning(run.dir), ...(redisPort ? processesMentioning(`127.0.0.1:${redisPort}`).filter((p) => p.cmdline.startsWith('redis-server')) : [])];
  for (const p of orphans) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('vigil demo (docs/design.md §9)', () => {
  it('without java and redis-server on PATH, says what is missing and to run scripts/setup.sh, exits 2 and starts nothing', async () => {
    const run = startDemo('no-prereqs', ['--scenario', 'stall-a-consumer'], { PATH: path.join(base, 'empty-path') });
    try {
      const status = await exitOf(run, 60_000);
      assert.equal(status.code, 2, run.output());
      assert.match(run.output(), /java \(not on PATH\)/);
      assert.match(run.output(), /redis-server \(not on PATH\)/);
      assert.match(run.output(), /bash scripts\/setup\.sh/);
      assert.equal(fs.existsSync(run.dir), false, 'nothing was created');
    } finally {
      await cleanUp(run);
    }
  });

  it('--scenario stall-a-consumer: pages for orders-svc, resolves, prints both in the timeline, exits 0, leaves nothing running', async () => {
    const run = startDemo('stall', ['--scenario', 'stall-a-consumer']);
    try {
      const status = await exitOf(run, 170_000);
      const out = run.output();
      assert.equal(status.code, 0, `exit ${status.code ?? status.signal}; output:\n${out}`);
      const timeline = out.slice(out.indexOf('\ntimeline'));
      assert.ok(timeline.length > 1, `a timeline is printed:\n${out}`);
      const lines = timeline.split('\n');
      assert.ok(lines.some((l) => /\balert-firing\b/.test(l) && l.includes('orders-svc')), `an alert-firing line for orders-svc:\n${timeline}`);
      assert.ok(lines.some((l) => /\balert-resolved\b/.test(l) && l.includes('orders-svc')), `an alert-resolved line for orders-svc:\n${timeline}`);
      assert.match(out, /scenario stall-a-consumer: OK/);
      assertNothingLeft(run);
    } finally {
      await cleanUp(run);
    }
  });

  it('without a scenario: prints where everything is and a live summary until SIGINT, then stops everything', async () => {
    const run = startDemo('live', []);
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
      run.proc.signal('SIGINT');
      const status = await exitOf(run, 60_000);
      assert.equal(status.code, 130, run.output().slice(-3000));
      assertNothingLeft(run);
    } finally {
      await cleanUp(run);
    }
  });
});
