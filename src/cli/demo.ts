/**
 * `vigil demo [--scenario <name>] [--dir <dir>] [--keep] [--with-prometheus] [--kafka-version <v>]` (docs/design.md
 * §7, §9): a local 3-broker Kafka, Redis, three replicas and a workload, and with
 * --with-prometheus Prometheus and Alertmanager; `npm start` runs it. A thin shell
 * over src/demo/run.ts. Exit 0: the scenario went as expected; 1: it did not (the reason is
 * on stderr); 2: a prerequisite is missing, the directory is refused or the stack could not
 * start; 130: stopped by Ctrl-C.
 */
import { Option, type Command } from 'commander';
import { machineFacts } from '../demo/prerequisites';
import { runDemo } from '../demo/run';
import { DEFAULT_KAFKA_VERSION, KAFKA_VERSIONS } from '../local/kafka';
import { SCENARIOS, type ScenarioName } from '../demo/scenarios';
import { systemClock } from '../util/clock';

interface DemoCliOptions {
  scenario?: ScenarioName;
  dir?: string;
  keep?: boolean;
  withPrometheus?: boolean;
  kafkaVersion: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run a local 3-broker Kafka, Redis, 3 vigil replicas and a workload (Ctrl-C stops all); --scenario plays an incident and prints the timeline')
    .addOption(new Option('--scenario <name>', 'play an incident, print the timeline and exit').choices(SCENARIOS))
    .option('--dir <dir>', 'directory for configs, logs and data (default: a new temp directory)')
    .option('--keep', 'keep the directory (logs, configs, data) when the demo ends')
    .option('--with-prometheus', "also run Debian's prometheus (the shipped rules, scraping the replicas) and prometheus-alertmanager; no Docker")
    .addOption(
      new Option('--kafka-version <version>', 'the Kafka the brokers run (scripts/setup.sh fetches each)')
        .choices(KAFKA_VERSIONS.map((v) => v.version))
        .default(DEFAULT_KAFKA_VERSION),
    )
    .action(async (opts: DemoCliOptions) => {
      process.exitCode = await runDemo({
        ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}),
        ...(opts.dir !== undefined ? { dir: opts.dir } : {}),
        keep: opts.keep === true,
        withPrometheus: opts.withPrometheus === true,
        facts: machineFacts(process.env.PATH, opts.kafkaVersion),
        clock: systemClock,
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
      });
    });
}
