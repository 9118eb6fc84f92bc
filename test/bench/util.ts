/**
 * What every benchmark needs: its numeric command-line options and percentile summaries
 * (nearest rank, in the unit given).
 */
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
