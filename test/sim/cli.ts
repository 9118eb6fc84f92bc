/**
 * Runs the election simulator from the command line.
 *
 *   npm run sim -- --seeds 100000            seeds 1..100000 (even: 3 replicas, odd: 5)
 *   npm run sim -- --seeds 5000 --start 7 --nodes 5
 *   npm run sim -- --seed 4242 --verbose     replay one seed and print its event log
 *   npm run sim -- --failover 1000           measure failover in virtual time (see measure.ts)
 *
 * Exit code 0 when no invariant was violated, 1 otherwise, 2 on bad usage.
 */
import { runSeed, nodesForSeed, type SimResult } from './simulator';
import { measureFailover, formatMeasurements } from './measure';

interface Args {
  seeds: number;
  start: number;
  seed: number | null;
  nodes: number | undefined;
  verbose: boolean;
  failover: number | null;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: sim [--seeds N] [--start S] [--nodes 3|5] | --seed N [--verbose] [--nodes K] | --failover TRIALS\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seeds: 1000, start: 1, seed: null, nodes: undefined, verbose: false, failover: null };
  const num = (i: number, name: string): number => {
    const v = Number(argv[i + 1]);
    if (!Number.isSafeInteger(v) || v < 0) usage(`${name} needs a non-negative integer`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--seeds': args.seeds = num(i++, '--seeds'); break;
      case '--start': args.start = num(i++, '--start'); break;
      case '--seed': args.seed = num(i++, '--seed'); break;
      case '--nodes': args.nodes = num(i++, '--nodes'); if (args.nodes < 1) usage('--nodes must be at least 1'); break;
      case '--verbose': case '-v': args.verbose = true; break;
      case '--failover': args.failover = num(i++, '--failover'); break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  return args;
}

export function replayCommand(r: Pick<SimResult, 'seed' | 'nodes'>): string {
  return `npm run sim -- --seed ${r.seed} --nodes ${r.nodes} --verbose`;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (args.failover !== null) {
    process.stdout.write(formatMeasurements(measureFailover(args.failover)));
    return;
  }
  if (args.seed !== null) {
    const r = runSeed(args.seed, { nodes: args.nodes, trace: args.verbose });
    if (args.verbose) process.stdout.write(r.trace.join('\n') + '\n');
    process.stdout.write(`seed ${r.seed} (${r.nodes} replicas): ${r.violation === null ? 'ok' : `VIOLATION ${r.violation.invariant} at ${r.violation.atMs.toFixed(3)} ms: ${r.violation.detail}`}\n`);
    process.stdout.write(`stats ${JSON.stringify(r.stats)}\n`);
    process.exitCode = r.violation === null ? 0 : 1;
    return;
  }
  const t0 = process.hrtime.bigint();
  let violations = 0;
  let excused = 0;
  let falseSuspicions = 0;
  let crashes = 0;
  let maxStable = 0;
  const stable: number[] = [];
  for (let seed = args.start; seed < args.start + args.seeds; seed++) {
    const r = runSeed(seed, { nodes: args.nodes });
    excused += r.stats.excusedOverlaps;
    falseSuspicions += r.stats.falseSuspicions;
    crashes += r.stats.crashes;
    if (r.stats.timeToStableMs !== null) {
      stable.push(r.stats.timeToStableMs);
      maxStable = Math.max(maxStable, r.stats.timeToStableMs);
    }
    if (r.violation !== null) {
      violations++;
      if (violations <= 20) {
        process.stdout.write(`seed ${seed} (${r.nodes} replicas): VIOLATION ${r.violation.invariant} at ${r.violation.atMs.toFixed(3)} ms: ${r.violation.detail}\n  replay: ${replayCommand(r)}\n`);
      }
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  stable.sort((a, b) => a - b);
  const p = (q: number): string => (stable.length === 0 ? '-' : stable[Math.min(stable.length - 1, Math.floor(q * stable.length))]!.toFixed(0));
  const nodes = args.nodes === undefined ? `${nodesForSeed(0)} and ${nodesForSeed(1)} replicas alternating` : `${args.nodes} replicas`;
  process.stdout.write(
    `seeds ${args.start}..${args.start + args.seeds - 1} (${nodes}): ${violations} violation(s) in ${seconds.toFixed(1)} s\n` +
      `  crashes ${crashes}, false connection-lost notices processed ${falseSuspicions}, excused lease overlaps ${excused}\n` +
      `  virtual time from healing to a stable leader: p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${maxStable.toFixed(0)} ms\n`,
  );
  process.exitCode = violations === 0 ? 0 : 1;
}

if (require.main === module) {
  // `npm run sim -- --seed N --verbose | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main();
}
