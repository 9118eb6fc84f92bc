/**
 * `vigil run --config <file>`: run one replica until SIGTERM or SIGINT (docs/design.md §7).
 * Exit 2 with every config problem by key path (as check-config prints them), or with a
 * one-line reason when the replica cannot start (damaged state file, port in use). On
 * SIGTERM/SIGINT a leader hands leadership over first (docs/design.md §2), then the process
 * exits 0. A second signal during shutdown exits at once with code 1.
 */
import { Option, type Command } from 'commander';
import { configProblemsOf, formatProblem, loadConfig, type VigilConfig } from '../config';
import { describeError, isVigilError } from '../errors';
import { attachMonitor } from '../service/monitor';
import { Replica } from '../service/replica';
import { boundHeapGrowth, type HeapPolicy } from '../util/heap';

export interface RunOptions {
  config: string;
  guardedNoopIntervalMs?: string;
}

/** Loads the config or prints why not; returns the config or an exit code. */
export function loadConfigForCli(file: string, stderr: NodeJS.WritableStream): VigilConfig | number {
  try {
    return loadConfig(file);
  } catch (err) {
    const problems = configProblemsOf(err);
    if (problems !== undefined) {
      stderr.write(`vigil: config file "${file}" has ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}:\n`);
      for (const p of problems) stderr.write(`${formatProblem(p)}\n`);
      return 2;
    }
    stderr.write(`${isVigilError(err) ? `vigil: ${err.code}: ` : 'vigil: '}${describeError(err)}\n`);
    return 2;
  }
}

export async function runReplica(opts: RunOptions): Promise<number> {
  const config = loadConfigForCli(opts.config, process.stderr);
  if (typeof config === 'number') return config;
  let heap: HeapPolicy;
  try {
    heap = boundHeapGrowth();
  } catch (err) {
    process.stderr.write(`vigil: ${describeError(err)}\n`);
    return 2;
  }
  let replica: Replica;
  try {
    const interval = opts.guardedNoopIntervalMs === undefined ? undefined : Number(opts.guardedNoopIntervalMs);
    replica = await Replica.start(config, interval !== undefined && Number.isFinite(interval) ? { guardedNoopIntervalMs: interval } : {});
    attachMonitor(replica);
    replica.logger.debug({ heapGrowingPercent: heap.growingPercent, source: heap.source }, 'heap growth between full collections');
  } catch (err) {
    process.stderr.write(`${isVigilError(err) ? `vigil: ${err.code}: ` : 'vigil: '}${describeError(err)}\n`);
    return 2;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        replica.logger.warn({ signal: sig }, 'second signal during shutdown: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      replica.logger.info({ signal: sig }, 'shutting down');
      replica.shutdown().then(
        () => resolve(0),
        (err: unknown) => {
          replica.logger.error({ err: describeError(err) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run one replica: election, HTTP API, metrics (until SIGTERM/SIGINT)')
    .requiredOption('-c, --config <file>', 'YAML config file')
    // For benchmarks: a no-op run through the lease check every N ms, logged per leadership.
    .addOption(new Option('--guarded-noop-interval-ms <ms>').hideHelp())
    .action(async (opts: RunOptions) => {
      process.exitCode = await runReplica(opts);
    });
}
