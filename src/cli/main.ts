#!/usr/bin/env node
/**
 * The `vigil` command. A thin shell: each subcommand lives in its own module under
 * src/cli/ and calls the same functions the service uses (STYLE habit 10).
 * Exit codes: 0 ok, 1 the answer is "bad" (e.g. a lag breach), 2 usage, config or
 * connection error with a one-line reason on stderr.
 */
import { Command, CommanderError } from 'commander';
import { describeError, isVigilError } from '../errors';
import { silenceKafkajsNegativeTimeoutWarning } from '../kafka/kafkajs-warnings';
import { registerCheckConfig } from './check-config';
import { registerDemo } from './demo';
import { registerDoctor } from './doctor';
import { VERSION } from '../version';
import { registerLag } from './lag';
import { registerPlan } from './plan';
import { registerRun } from './run';
import { registerStatus } from './status';

export function buildProgram(): Command {
  const program = new Command('vigil')
    .description('Failover controller and delivery-lag monitor for Apache Kafka')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // Subcommands register themselves here, one line each.
  registerLag(program);
  registerCheckConfig(program);
  registerDoctor(program);
  registerRun(program);
  registerStatus(program);
  registerDemo(program);
  registerPlan(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; every other commander error is a usage error
      return err.exitCode === 0 ? 0 : 2;
    }
    const prefix = isVigilError(err) ? `vigil: ${err.code}: ` : 'vigil: ';
    process.stderr.write(`${prefix}${describeError(err)}\n`);
    return 2;
  }
}

if (require.main === module) {
  silenceKafkajsNegativeTimeoutWarning();
  // `vigil lag | head`: the reader went away; that is not an error of ours.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw err;
    });
  }
  main(process.argv).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`vigil: ${describeError(err)}\n`);
      process.exit(2);
    },
  );
}
