/**
 * Child processes of a test (brokers, Redis, replicas), tracked so that none outlives the
 * test process: all are killed synchronously when it exits, is interrupted or crashes.
 * The implementation is the local stack's (src/local/procs.ts), shared with `vigil demo`.
 * Each child's stdout and stderr go straight to a log file. Children inherit
 * VIGIL_TEST_RUN from the test process's environment, by which scripts/run-tests.js kills
 * whatever is left if this process itself is SIGKILLed.
 */
export {
  onExitCleanup,
  processState,
  processesMentioning,
  spawnTracked,
  tailFile,
  type ExitStatus,
  type SpawnOptions,
  type TrackedProcess,
} from '../../src/local/procs';
