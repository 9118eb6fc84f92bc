/**
 * What every benchmark needs: its numeric command-line options and percentile summaries
 * (nearest rank, in the unit given).
 */
import * as fs from 'node:fs';
import { silenceKafkajsNegativeTimeoutWarning } from '../../src/kafka/kafkajs-warnings';
import type { PlanRecord } from '../../src/remediation/record';
import type { ReplicaGroup } from '../harness/replicas';

export { percentile, summarizeMs } from '../harness/replicas';

// kafkajs' harmless negative-timeout warning (src/kafka/kafkajs-warnings.ts) would open
// every benchmark's output, as it does not the CLI's
silenceKafkajsNegativeTimeoutWarning();

/** `--name <number>` from the command line, or `fallback` when absent or not a positive number. */
export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** `--name <number>` allowing 0 (e.g. `--baseline 0` to skip a part), or `fallback`. */
export function count(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isInteger(v) && v >= 0 ? v : fallback;
}

/** `--name` present on the command line. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** The remediation plans (GET /api/v1/plans) from the first running replica that answers; [] if none does. */
export async function plansOf(group: ReplicaGroup): Promise<PlanRecord[]> {
  for (const r of group.replicas) {
    if (!r.isRunning()) continue;
    try {
      const res = await group.request(r.id, 'GET', '/api/v1/plans', { timeoutMs: 2_000 });
      if (res.status === 200) return (JSON.parse(res.text) as { plans: PlanRecord[] }).plans;
    } catch {
      // paused or restarting: ask the next
    }
  }
  return [];
}

/** `--name <word>` from the command line, one of `allowed`, or `fallback` when absent; any other word fails. */
export function stringArg<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1] as T;
  if (!allowed.includes(v)) throw new Error(`--${name} must be one of ${allowed.join(', ')}; got ${v ?? 'nothing'}`);
  return v;
}

/** CPU time (user + system, ms) a process of this host has used so far, from /proc; 0 once it has exited. */
export function procCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name, which may hold spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (USER_HZ: 100 on Linux)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}
