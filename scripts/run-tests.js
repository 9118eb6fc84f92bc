#!/usr/bin/env node
'use strict';
/**
 * Runs vigil's tests with Node's built-in runner, in one invocation so there is one
 * summary line. Usage: node scripts/run-tests.js [suite ...]   (suites: unit sim
 * integration e2e; default all). Test files are the compiled dist/test/<suite>/**\/*.test.js.
 *
 * Files run one at a time: integration tests start real Kafka clusters, and two of those
 * at once on a 2-core machine only make both slow. Every process a test starts carries
 * VIGIL_TEST_RUN=<id> in its environment; whatever is still alive when the run ends
 * (also on Ctrl-C) is killed here, so no broker or Redis outlives the run.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { killRunProcesses } = require('./run-procs');
const { requireSupportedNode, childEnv } = require('./node-check');

requireSupportedNode('run-tests');

const root = path.resolve(__dirname, '..');
const suites = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['unit', 'sim', 'integration', 'e2e'];

function findTests(dir) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(p));
    else if (entry.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const files = suites.flatMap((s) => findTests(path.join(root, 'dist', 'test', s)));
if (files.length === 0) {
  console.error(`no test files found for suites: ${suites.join(', ')} (did the build run?)`);
  process.exit(1);
}

const runId = process.env.VIGIL_TEST_RUN || `${process.pid}-${Date.now().toString(36)}`;
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-timeout=900000', ...files],
  { stdio: 'inherit', env: childEnv({ VIGIL_TEST_RUN: runId }) },
);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    child.kill(sig);
  });
}

child.on('exit', (code, signal) => {
  const killed = killRunProcesses(runId);
  if (killed > 0) console.error(`run-tests: killed ${killed} leftover process(es) of test run ${runId}`);
  process.exit(code ?? (signal ? 1 : 0));
});
