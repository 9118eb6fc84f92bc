/**
 * `vigil demo` as a user runs it: the real command as a child process (its output in a
 * file), and the checks that it left nothing behind. Used by test/e2e/demo.test.ts and
 * test/integration/demo-prometheus.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { processState, processesMentioning, spawnTracked, type ExitStatus, type TrackedProcess } from './procs';
import { testKafka } from './kafka';
import { CLI_PATH } from './replicas';
import { waitFor } from './wait';

export interface DemoRun {
  readonly proc: TrackedProcess;
  /** the demo's --dir */
  readonly dir: string;
  readonly outFile: string;
  /** everything it printed so far (stdout and stderr) */
  output(): string;
}

/**
 * Starts `vigil demo --dir <base>/<name> --kafka-version <the harness's> ...args`, printing
 * into <base>/<name>.out.
 */
export function startDemo(base: string, name: string, args: string[], env?: Record<string, string>): DemoRun {
  const dir = path.join(base, name);
  const outFile = path.join(base, `${name}.out`);
  const proc = spawnTracked({ name: `vigil demo (${name})`, command: process.execPath, args: [CLI_PATH, 'demo', '--dir', dir, '--kafka-version', testKafka.version, ...args], logFile: outFile, ...(env ? { env } : {}) });
  return { proc, dir, outFile, output: () => (fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : '') };
}

export async function demoExit(run: DemoRun, timeoutMs: number): Promise<ExitStatus> {
  return waitFor(() => run.proc.exitStatus(), { timeoutMs, intervalMs: 200, what: `${run.proc.name} to exit` });
}

/**
 * Every process the demo reported stopping (`expected` of them) is gone, none names its
 * directory, and the directory is removed.
 */
export function assertDemoLeftNothing(run: DemoRun, expected: { count: number; what: string }): void {
  const out = run.output();
  const stopped = /stopped (\d+) processes \(pids ([\d ]+)\); none left running/.exec(out);
  assert.ok(stopped, `the demo reports the processes it stopped:\n${out.slice(-3000)}`);
  const pids = (stopped[2] as string).trim().split(' ').map(Number);
  assert.equal(pids.length, expected.count, expected.what);
  assert.deepEqual(pids.filter((pid) => processState(pid) !== undefined), [], 'no process of the demo still runs');
  assert.deepEqual(processesMentioning(run.dir), [], 'no process names the demo directory');
  assert.equal(fs.existsSync(run.dir), false, 'the demo directory is removed (no --keep)');
}

/**
 * After a failure: give the demo its orderly stop, then kill it and whatever it left (its
 * children run in process groups of their own, so they would not die with it).
 */
export async function cleanUpDemo(run: DemoRun): Promise<void> {
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
