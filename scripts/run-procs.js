'use strict';
/**
 * Finds and kills processes by the VIGIL_TEST_RUN marker in their environment
 * (/proc/<pid>/environ). Used by the test and bench runners so that brokers, Redis and
 * replicas started by a test never outlive the run, even if the test process was killed.
 */
const fs = require('node:fs');

function runProcesses(runId) {
  const needle = `VIGIL_TEST_RUN=${runId}\0`;
  const pids = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (env.includes(needle)) pids.push(pid);
    } catch {
      // gone already, or not ours to read
    }
  }
  return pids;
}

function killRunProcesses(runId) {
  const pids = runProcesses(runId);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT'); // a paused process must not linger in the stopped state
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids.length;
}

module.exports = { runProcesses, killRunProcesses };
