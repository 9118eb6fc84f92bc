/**
 * `vigil doctor --config <file> [--send-test-page] [--json]`: checks the config against the
 * Kafka, Redis, peers and channels it names (src/doctor, docs/doctor.md), one line per
 * check. Exit 0: nothing failed (warnings allowed); 1: a check failed; 2: the config cannot
 * be loaded (every problem listed, as by `vigil check-config`) or a usage error.
 */
import type { Command } from 'commander';
import { doctorExitCode, doctorJson, renderDoctorReport, runDoctor } from '../doctor';
import { loadConfigOrReport } from './check-config';

interface DoctorCliOptions {
  config: string;
  sendTestPage?: boolean;
  json?: boolean;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check a config against the real Kafka (reachability, TLS/SASL, ACLs), Redis, peers, clocks and channels; exit 0 ok, 1 a check failed, 2 bad config')
    .requiredOption('-c, --config <file>', 'YAML config file of the replica to check')
    .option('--send-test-page', 'send one page marked "TEST — vigil doctor, no action needed" through every channel')
    .option('--json', 'print one JSON object instead of lines')
    .action(async (opts: DoctorCliOptions) => {
      process.exitCode = await runDoctorCli(opts, process.stdout);
    });
}

export async function runDoctorCli(opts: DoctorCliOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const config = loadConfigOrReport(opts.config, err);
  if (config === undefined) return 2;
  const report = await runDoctor(config, { configFile: opts.config, sendTestPage: opts.sendTestPage === true });
  out.write(opts.json ? doctorJson(report) : renderDoctorReport(report));
  return doctorExitCode(report.checks);
}
