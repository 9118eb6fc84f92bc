/**
 * `vigil check-config --config <file>`: validate the file exactly as `vigil run` would.
 * Exit 0 with a short summary (no secrets) on stdout, or exit 2 with every problem on
 * its own line on stderr, as `<key path>: <message>`.
 */
import type { Command } from 'commander';
import { configProblemsOf, formatProblem, loadConfig, summarizeConfig } from '../config';
import { describeError, isVigilError } from '../errors';

export interface CheckConfigOutput {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Returns the exit code. */
export function runCheckConfig(file: string, out: CheckConfigOutput): number {
  let config;
  try {
    config = loadConfig(file);
  } catch (err) {
    const problems = configProblemsOf(err);
    if (problems !== undefined) {
      const noun = problems.length === 1 ? 'problem' : 'problems';
      out.stderr.write(`vigil: config file "${file}" has ${problems.length} ${noun}:\n`);
      for (const p of problems) out.stderr.write(`${formatProblem(p)}\n`);
      return 2;
    }
    const prefix = isVigilError(err) ? `vigil: ${err.code}: ` : 'vigil: ';
    out.stderr.write(`${prefix}${describeError(err)}\n`);
    return 2;
  }
  const rows = summarizeConfig(config);
  const width = Math.max(...rows.map(([label]) => label.length));
  out.stdout.write(`config OK: ${file}\n`);
  for (const [label, text] of rows) out.stdout.write(`  ${label.padEnd(width)}  ${text}\n`);
  return 0;
}

/** Adds the subcommand through program.command(), so it inherits exitOverride. */
export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('validate a config file; exit 0, or 2 listing every problem by key path')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .action((opts: { config: string }) => {
      process.exitCode = runCheckConfig(opts.config, { stdout: process.stdout, stderr: process.stderr });
    });
}
