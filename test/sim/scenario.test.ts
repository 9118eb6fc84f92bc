/**
 * Golden scenario scripts (test/sim/scenarios/*.txt), in the style of etcd-io/raft's
 * testdata. The scripts are read from the source tree, not dist/. Each names the DESIGN /
 * Raft thesis section it checks. VIGIL_REWRITE=1 regenerates the expected blocks — review
 * the diff before committing it: a golden file is only as good as its reading.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rewriteScript, runScript } from './scenario';

// dist/test/sim → repository root
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const scenarioDir = path.join(repoRoot, 'test', 'sim', 'scenarios');
const files = fs.readdirSync(scenarioDir).filter((f) => f.endsWith('.txt')).sort();

test('scenario scripts exist', () => {
  assert.ok(files.length >= 6, `expected scenario scripts in ${scenarioDir}`);
});

for (const file of files) {
  const full = path.join(scenarioDir, file);
  const title = (fs.readFileSync(full, 'utf8').split('\n')[0] ?? '').replace(/^#\s*/, '');
  test(`scenario ${file}: ${title}`, () => {
    const text = fs.readFileSync(full, 'utf8');
    if (process.env['VIGIL_REWRITE'] === '1') {
      fs.writeFileSync(full, rewriteScript(text));
      return;
    }
    for (const block of runScript(text)) {
      assert.deepEqual(block.actual, block.expected, `${file}:${block.line}: output of "${block.command}" differs`);
    }
  });
}
