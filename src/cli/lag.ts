/**
 * `vigil lag` — a one-shot delivery-latency report; no replicas needed (docs/design.md §7).
 * Exit 0: no partition in breach; 1: at least one in breach; 2: usage or connection error,
 * or partitions that could not be assessed (so "no breach" cannot be claimed).
 * With --watch: a report every interval until Ctrl-C (SIGINT) or SIGTERM, then exit 0;
 * errors while watching are shown and retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { describeError, isVigilError } from '../errors';
import { KafkajsAdmin } from '../kafka/kafkajs-admin';
import { type LagReport, type LagReportOptions, collectLagReport, reportVerdict } from '../monitor/lag-report';
import { formatDurationMs } from '../util/duration';
import { nameFilter } from '../util/glob';
import { durationFlagMs } from './duration-flag';
import { type KafkaCliOptions, addKafkaOptions, kafkaConfigFromOptions } from './kafka-options';

interface LagOptions extends KafkaCliOptions {
  group: string[];
  topic: string[];
  threshold?: string;
  json?: boolean;
  /** true: --watch without an interval. */
  watch?: string | true;
}

export const DEFAULT_WATCH_INTERVAL_MS = 2000;

export function registerLag(program: Command): void {
  const cmd = program
    .command('lag')
    .description(
      'report consumer delivery latency (age of the oldest unconsumed message) per group, topic and partition, with each group\'s type and state and the client id and host of the member assigned each partition',
    )
    .option('--group <glob>', 'only groups matching this glob (repeatable)', collect, [])
    .option('--topic <glob>', 'only topics matching this glob (repeatable)', collect, [])
    .option('--threshold <duration>', 'delivery latency that counts as a breach (default 10s, or lag.threshold of --config)')
    .option('--json', 'print one JSON object instead of a table (with --watch: one per line)')
    .option('--watch [interval]', 'redraw the report every interval (default 2s) until Ctrl-C, then exit 0');
  addKafkaOptions(cmd).action(async (opts: LagOptions) => {
    process.exitCode = await runLag(opts, process.stdout);
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function runLag(opts: LagOptions, out: NodeJS.WritableStream & { isTTY?: boolean }): Promise<number> {
  const config = opts.config === undefined ? undefined : loadConfig(opts.config);
  const thresholdMs = opts.threshold === undefined ? (config?.lag.thresholdMs ?? 10_000) : durationFlagMs('--threshold', opts.threshold);
  const watchMs = opts.watch === undefined ? undefined : opts.watch === true ? DEFAULT_WATCH_INTERVAL_MS : durationFlagMs('--watch', opts.watch);
  const kafka = kafkaConfigFromOptions(opts, config?.kafka);
  const query: LagReportOptions = {
    thresholdMs,
    groups: nameFilter(opts.group),
    topics: nameFilter(opts.topic),
    nowMs: () => Date.now(),
  };

  if (watchMs !== undefined) {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let admin: KafkajsAdmin | undefined;
    try {
      return await watchLag({
        collect: () => collectLagReport((admin ??= new KafkajsAdmin(kafka)), query),
        // After an error, start again with fresh connections: a broker may have moved.
        reset: async () => {
          const old = admin;
          admin = undefined;
          await old?.close().catch(() => undefined);
        },
        out,
        err: process.stderr,
        tty: out.isTTY === true,
        json: opts.json === true,
        intervalMs: watchMs,
        signal: stop.signal,
        nowMs: () => Date.now(),
      });
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await admin?.close().catch(() => undefined);
    }
  }

  const admin = new KafkajsAdmin(kafka);
  let report: LagReport;
  try {
    report = await collectLagReport(admin, query);
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

export interface WatchLagDeps {
  /** One report; throws when Kafka cannot be reached or refuses. */
  collect(): Promise<LagReport>;
  /** Called after collect threw, before the next try. */
  reset(): Promise<void>;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Redraw in place (clear screen, cursor home); otherwise append, one report after another. */
  tty: boolean;
  json: boolean;
  intervalMs: number;
  /** Aborted by Ctrl-C: the loop ends without waiting for a report in progress. */
  signal: AbortSignal;
  nowMs(): number;
  /** Waits between reports; ends early when the signal aborts. Tests pass their own. */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Clear the screen and put the cursor top left (ECMA-48 ED 2, CUP). */
export const CLEAR_SCREEN = '\x1b[2J\x1b[H';

/**
 * The --watch loop: a report, then wait intervalMs, until the signal. A failed report is
 * shown (on the screen when redrawing, on stderr otherwise, so a piped stdout holds only
 * reports) and tried again next interval. Returns the exit code: 0.
 */
export async function watchLag(d: WatchLagDeps): Promise<number> {
  const every = formatDurationMs(d.intervalMs);
  const aborted = new Promise<'aborted'>((resolve) => {
    if (d.signal.aborted) resolve('aborted');
    d.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  const redraw = d.tty && !d.json; // NDJSON stays a clean stream even on a terminal
  let lastTable: string | undefined;
  let printed = 0;
  while (!d.signal.aborted) {
    let outcome: { report: LagReport } | { error: unknown } | 'aborted';
    try {
      outcome = await Promise.race([d.collect().then((report) => ({ report })), aborted]);
    } catch (error) {
      outcome = { error };
    }
    if (outcome === 'aborted') break;
    if ('report' in outcome) {
      const { report } = outcome;
      if (d.json) {
        d.out.write(`${JSON.stringify(report)}\n`);
      } else {
        lastTable = renderLagTable(report);
        const header = watchHeader(every, report.generatedAt);
        d.out.write(redraw ? `${CLEAR_SCREEN}${header}\n\n${lastTable}` : `${printed > 0 ? '\n' : ''}${header}\n${lastTable}`);
        printed++;
      }
    } else {
      const at = new Date(d.nowMs()).toISOString();
      const reason = `${isVigilError(outcome.error) ? `${outcome.error.code}: ` : ''}${describeError(outcome.error)}`;
      if (redraw) {
        const stale = lastTable === undefined ? '' : `\nlast report:\n${lastTable}`;
        d.out.write(`${CLEAR_SCREEN}${watchHeader(every, at)}\n\nerror: ${reason}; retrying every ${every}\n${stale}`);
      } else {
        d.err.write(`vigil: ${at}: ${reason}; retrying every ${every}\n`);
      }
      await d.reset();
    }
    await (d.wait ?? waitAbortable)(d.intervalMs, d.signal);
  }
  return 0;
}

function waitAbortable(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

function watchHeader(every: string, atIso: string): string {
  return `vigil lag, every ${every} (Ctrl-C to stop): ${atIso}`;
}

const HEADERS = ['GROUP', 'TYPE', 'STATE', 'TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'LATENCY', 'BREACH', 'BREACH IN', 'CLIENT-ID', 'HOST'];
const LATENCY = 8;
const BREACH_IN = 10;
/** the columns of numbers, aligned right */
const NUMBERS = new Set([4, 5, 6, 7, LATENCY, BREACH_IN]);

/**
 * A plain table, worst group first; one line per partition, then a summary line. TYPE and
 * STATE are the group's; BREACH IN the time to breach if the group commits nothing more
 * ('now' in breach, '-' when not behind or unknown); CLIENT-ID and HOST the members
 * assigned the partition (several, comma-separated, in a share group; '-' when none is or
 * the group cannot say). '~' marks a value interpolated within a compressed record batch.
 */
export function renderLagTable(report: LagReport): string {
  const rows: string[][] = [];
  let partitions = 0;
  let breachedGroups = 0;
  for (const g of report.groups) {
    if (g.breach) breachedGroups++;
    const type = g.type ?? '?';
    const state = g.state || '?';
    if (g.error) rows.push([g.group, type, state, '-', '-', '-', '-', '-', '-', `? (${g.error})`, '-', '-', '-']);
    for (const t of g.topics) {
      for (const p of t.partitions) {
        partitions++;
        const consumers = p.consumers ?? [];
        rows.push([
          g.group,
          type,
          state,
          t.topic,
          String(p.partition),
          String(p.committed),
          p.end === null ? '?' : String(p.end),
          p.lagMessages === null ? '?' : String(p.lagMessages),
          p.lagSeconds === null ? '?' : `${p.lagSeconds.toFixed(1)}s${p.exact === false ? '~' : ''}`,
          p.breach === null ? `? (${p.error ?? 'unknown'})` : p.breach ? 'yes' : 'no',
          p.breach === true ? 'now' : p.breachInSeconds === null ? '-' : `${p.breachInSeconds.toFixed(1)}s${p.breachInExact === false ? '~' : ''}`,
          consumers.length === 0 ? '-' : [...new Set(consumers.map((c) => c.clientId))].join(','),
          consumers.length === 0 ? '-' : [...new Set(consumers.map((c) => c.host))].join(','),
        ]);
      }
    }
  }
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (NUMBERS.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  const body = rows.length > 0 ? [line(HEADERS), ...rows.map(line)].join('\n') + '\n' : 'no consumer groups with committed offsets matched\n';
  const summary =
    `${report.groups.length} group(s), ${partitions} partition(s); ` +
    `${breachedGroups} group(s) over the ${report.thresholdSeconds}s threshold (as of ${report.generatedAt})` +
    (rows.some((r) => (r[LATENCY] as string).endsWith('~') || (r[BREACH_IN] as string).endsWith('~')) ? '; ~ = interpolated within a compressed record batch' : '');
  return `${body}\n${summary}\n`;
}
