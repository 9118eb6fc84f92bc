/**
 * `vigil check-config --config <file>`: validate the file exactly as `vigil run` would.
 * Exit 0 with a short summary (no secrets) on stdout, or exit 2 with every problem on
 * its own line on stderr, as `<key path>: <message>`.
 */
import type { Command } from 'commander';
import { type VigilConfig, configProblemsOf, formatProblem, loadConfig, summarizeConfig } from '../config';
import { describeError, isVigilError } from '../errors';

export interface CheckConfigOutput {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Loads the file as `vigil run` would; on failure writes every problem (or why the file
 * cannot be read) to stderr and returns undefined: the caller exits 2.
 */
export function loadConfigOrReport(file: string, stderr: NodeJS.WritableStream): VigilConfig | undefined {
  try {
    return loadConfig(file);
  } catch (err) {
    const problems = configProblemsOf(err);
    if (problems !== undefined) {
      const noun = problems.length === 1 ? 'problem' : 'problems';
      stderr.write(`vigil: config file "${file}" has ${problems.length} ${noun}:\n`);
      for (const p of problems) stderr.write(`${formatProblem(p)}\n`);
      return undefined;
    }
    const prefix = isVigilError(err) ? `vigil: ${err.code}: ` : 'vigil: ';
    stderr.write(`${prefix}${describeError(err)}\n`);
    return undefined;
  }
}

/** Returns the exit code. */
export function runCheckConfig(file: string, out: CheckConfigOutput): number {
  const config = loadConfigOrReport(file, out.stderr);
  if (config === undefined) return 2;
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
