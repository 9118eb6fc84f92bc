/**
 * The validators scripts/setup.sh installs (promtool, amtool, docker-compose), run by the
 * tests that check configuration files with them. A missing one is a failure that says how
 * to get it, never a skip: these tests are the only check those files get.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');

export function runTool(tool: string, debianPackage: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(tool, args, { encoding: 'utf8', cwd: opts.cwd ?? root, env: opts.env ?? process.env, timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail(`${tool} is not installed; run scripts/setup.sh (or apt-get install ${debianPackage}) — the file cannot be validated without it`);
  }
  if (r.error) throw r.error;
  return r;
}

export function assertOk(r: SpawnSyncReturns<string>, what: string): void {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}
