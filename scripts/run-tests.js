#!/usr/bin/env node
'use strict';
/**
 * Runs vigil's tests with Node's built-in runner, in one invocation so there is one
 * summary line. Usage:
 *
 *   node scripts/run-tests.js [--kafka-version <v>] [--list] [suite ...]
 *
 * Suites: unit sim integration e2e (default all), and `kafka`: the integration files that
 * start Kafka (they import test/harness/kafka, directly or through another harness
 * module), which `npm run test:compat` runs against the compatibility version. Test files
 * are the compiled dist/test/<suite>/**\/*.test.js. --kafka-version sets
 * VIGIL_KAFKA_VERSION for the tests (test/harness/kafka.ts; default the local stack's);
 * --list prints the files instead of running them.
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
const args = process.argv.slice(2);
const versionAt = args.indexOf('--kafka-version');
let kafkaVersion;
if (versionAt >= 0) {
  kafkaVersion = args[versionAt + 1];
  if (!kafkaVersion || kafkaVersion.startsWith('--')) {
    console.error('run-tests: --kafka-version needs a version, e.g. --kafka-version 3.9.1');
    process.exit(1);
  }
  args.splice(versionAt, 2);
}
const listOnly = args.includes('--list');
if (listOnly) args.splice(args.indexOf('--list'), 1);
const suites = args.length > 0 ? args : ['unit', 'sim', 'integration', 'e2e'];

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

/** The relative modules a compiled file requires, as absolute paths of .js files. */
function relativeRequires(file) {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)].map((m) => path.resolve(path.dirname(file), `${m[1]}.js`));
}

/** True when `file` imports the Kafka harness, directly or through other modules. */
function startsKafka(file, kafkaHarness, seen = new Set()) {
  if (file === kafkaHarness) return true;
  if (seen.has(file) || !fs.existsSync(file)) return false;
  seen.add(file);
  return relativeRequires(file).some((dep) => startsKafka(dep, kafkaHarness, seen));
}

const files = suites.flatMap((s) => {
  if (s !== 'kafka') return findTests(path.join(root, 'dist', 'test', s));
  const kafkaHarness = path.join(root, 'dist', 'test', 'harness', 'kafka.js');
  return findTests(path.join(root, 'dist', 'test', 'integration')).filter((f) => startsKafka(f, kafkaHarness));
});
if (files.length === 0) {
  console.error(`no test files found for suites: ${suites.join(', ')} (did the build run?)`);
  process.exit(1);
}
if (listOnly) {
  for (const f of files) console.log(path.relative(root, f));
  process.exit(0);
}

const runId = process.env.VIGIL_TEST_RUN || `${process.pid}-${Date.now().toString(36)}`;
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-timeout=900000', ...files],
  { stdio: 'inherit', env: childEnv({ VIGIL_TEST_RUN: runId, ...(kafkaVersion ? { VIGIL_KAFKA_VERSION: kafkaVersion } : {}) }) },
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
