#!/usr/bin/env node
'use strict';
/**
 * Runs the benchmarks (dist/test/bench/*.bench.js) one after another, each in its own
 * process, and prints what each printed. Usage: node scripts/run-bench.js [name ...] [--flag value ...]
 * where a name matches a file's base name (e.g. `lag-cli` for lag-cli.bench.js); everything
 * from the first `--flag` on is passed to every benchmark run
 * (`npm run bench -- soak --minutes 3`).
 * Each benchmark prints one JSON line per figure it measures; docs/benchmarks.md records them.
 * Like the test runner, it kills every process a benchmark left behind.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { killRunProcesses } = require('./run-procs');
const { requireSupportedNode, childEnv } = require('./node-check');

requireSupportedNode('run-bench');

const dir = path.resolve(__dirname, '..', 'dist', 'test', 'bench');
const argv = process.argv.slice(2);
const firstFlag = argv.findIndex((a) => a.startsWith('--'));
const wanted = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
const flags = firstFlag < 0 ? [] : argv.slice(firstFlag);
const files = fs.existsSync(dir)
  ? fs.readdirSync(dir).filter((f) => f.endsWith('.bench.js')).filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w))).sort()
  : [];
if (files.length === 0) {
  console.error(`no benchmarks found in ${dir}${wanted.length ? ` matching ${wanted.join(', ')}` : ''} (did the build run?)`);
  process.exit(1);
}

let failed = 0;
for (const file of files) {
  const runId = `bench-${process.pid}-${file}`;
  console.log(`\n== ${file}`);
  const res = spawnSync(process.execPath, ['--expose-gc', path.join(dir, file), ...flags], { stdio: 'inherit', env: childEnv({ VIGIL_TEST_RUN: runId }) });
  killRunProcesses(runId);
  if (res.status !== 0) {
    failed++;
    console.error(`== ${file} failed (exit ${res.status ?? res.signal})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
