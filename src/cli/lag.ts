/**
 * `vigil lag` — a one-shot delivery-latency report; no replicas needed (DESIGN §7).
 * Exit 0: no partition in breach; 1: at least one in breach; 2: usage or connection error,
 * or partitions that could not be assessed (so "no breach" cannot be claimed).
 */
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { KafkajsAdmin } from '../kafka/kafkajs-admin';
import { type LagReport, collectLagReport, reportVerdict } from '../monitor/lag-report';
import { nameFilter } from '../util/glob';
import { durationFlagMs } from './duration-flag';
import { type KafkaCliOptions, addKafkaOptions, kafkaConfigFromOptions } from './kafka-options';

interface LagOptions extends KafkaCliOptions {
  group: string[];
  topic: string[];
  threshold?: string;
  json?: boolean;
}

export function registerLag(program: Command): void {
  const cmd = program
    .command('lag')
    .description('report consumer delivery latency (age of the oldest unconsumed message) per group, topic and partition')
    .option('--group <glob>', 'only groups matching this glob (repeatable)', collect, [])
    .option('--topic <glob>', 'only topics matching this glob (repeatable)', collect, [])
    .option('--threshold <duration>', 'delivery latency that counts as a breach (default 10s, or lag.threshold of --config)')
    .option('--json', 'print one JSON object instead of a table');
  addKafkaOptions(cmd).action(async (opts: LagOptions) => {
    process.exitCode = await runLag(opts, process.stdout);
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function runLag(opts: LagOptions, out: NodeJS.WritableStream): Promise<number> {
  const config = opts.config === undefined ? undefined : loadConfig(opts.config);
  const thresholdMs = opts.threshold === undefined ? (config?.lag.thresholdMs ?? 10_000) : durationFlagMs('--threshold', opts.threshold);
  const kafka = kafkaConfigFromOptions(opts, config?.kafka);
  const admin = new KafkajsAdmin(kafka);
  let report: LagReport;
  try {
    report = await collectLagReport(admin, {
      thresholdMs,
      groups: nameFilter(opts.group),
      topics: nameFilter(opts.topic),
      nowMs: () => Date.now(),
    });
  } finally {
    await admin.close();
  }

  out.write(opts.json ? `${JSON.stringify(report)}\n` : renderLagTable(report));
  const verdict = reportVerdict(report);
  if (verdict.breach) return 1;
  if (verdict.unknownPartitions > 0 || verdict.failedGroups.length > 0) {
    const what = [
      verdict.unknownPartitions > 0 ? `${verdict.unknownPartitions} partition(s)` : '',
      verdict.failedGroups.length > 0 ? `group(s) ${verdict.failedGroups.join(', ')}` : '',
    ].filter(Boolean).join(' and ');
    process.stderr.write(`vigil: could not assess ${what}: ${verdict.reasons.slice(0, 3).join('; ')}\n`);
    return 2;
  }
  return 0;
}

const HEADERS = ['GROUP', 'TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'LATENCY', 'BREACH'];

/** A plain table, worst group first; one line per partition, then a summary line. */
export function renderLagTable(report: LagReport): string {
  const rows: string[][] = [];
  let partitions = 0;
  let breachedGroups = 0;
  for (const g of report.groups) {
    if (g.breach) breachedGroups++;
    if (g.error) rows.push([g.group, '-', '-', '-', '-', '-', '-', `? (${g.error})`]);
    for (const t of g.topics) {
      for (const p of t.partitions) {
        partitions++;
        rows.push([
          g.group,
          t.topic,
          String(p.partition),
          String(p.committed),
          p.end === null ? '?' : String(p.end),
          p.lagMessages === null ? '?' : String(p.lagMessages),
          p.lagSeconds === null ? '?' : `${p.lagSeconds.toFixed(1)}s${p.exact === false ? '~' : ''}`,
          p.breach === null ? `? (${p.error ?? 'unknown'})` : p.breach ? 'yes' : 'no',
        ]);
      }
    }
  }
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 2 && i <= 6 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  const body = rows.length > 0 ? [line(HEADERS), ...rows.map(line)].join('\n') + '\n' : 'no consumer groups with committed offsets matched\n';
  const summary =
    `${report.groups.length} group(s), ${partitions} partition(s); ` +
    `${breachedGroups} group(s) over the ${report.thresholdSeconds}s threshold (as of ${report.generatedAt})` +
    (rows.some((r) => (r[6] as string).endsWith('~')) ? '; ~ = interpolated within a compressed record batch' : '');
  return `${body}\n${summary}\n`;
}
