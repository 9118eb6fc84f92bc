/**
 * `vigil lag` and the service measure delivery latency with one pipeline
 * (src/monitor/delivery-latency.ts, docs/design.md §3): on the same cluster at the same
 * instant, each path runs the pipeline once, reports exactly what it returned, and both get
 * the same answer for every partition — a breach, one exactly at the threshold (no breach),
 * one under it, one caught up, and ones whose leader is down.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VigilConfig } from '../../src/config/types';
import { DeliveryLatency, type LaggingRow, type RowLatency } from '../../src/monitor/delivery-latency';
import type { PartitionLag } from '../../src/monitor/latency';
import { collectLagReport, type LagReport, lagReportFromSnapshot } from '../../src/monitor/lag-report';
import { KafkaObserver } from '../../src/monitor/observe';
import type { Clock } from '../../src/util/clock';
import { nameFilter } from '../../src/util/glob';
import { MemoryKafka } from '../fakes/memory-kafka';

const NOW = 1_764_150_000_000;
const THRESHOLD_MS = 10_000;
const lag: VigilConfig['lag'] = { thresholdMs: THRESHOLD_MS, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning', overrides: [] };
const at: Clock = { monotonicMs: () => 0, wallMs: () => NOW };

/** orders (3 partitions) and audit (2), one record a second for the last 30 s; broker 2 answers nothing. */
function cluster(): MemoryKafka {
  const k = new MemoryKafka();
  k.createTopic('orders', 3);
  k.createTopic('audit', 2);
  const stamps = Array.from({ length: 30 }, (_, i) => NOW - 30_000 + i * 1000);
  for (const p of [0, 1, 2]) k.produce('orders', p, stamps);
  for (const p of [0, 1]) k.produce('audit', p, stamps);
  k.commit('slow', 'orders', 0, 5); // 25 s: breach
  k.commit('slow', 'orders', 2, 30); // caught up
  k.commit('edge', 'orders', 0, 20); // exactly 10 s: not a breach
  k.commit('edge', 'orders', 2, 19); // 11 s: breach
  k.commit('calm', 'orders', 0, 24); // 6 s
  k.commit('calm', 'orders', 1, 3); // led by broker 2, which is down: unknown
  k.commit('auditor', 'audit', 0, 22); // 8 s
  k.commit('auditor', 'audit', 1, 10); // led by broker 2: unknown
  k.down.add(2);
  return k;
}

type Row = [group: string, topic: string, partition: number, committed: number, end: number | null, lagMessages: number | null, lagSeconds: number | null, breach: boolean | null];

function rowsOf(report: LagReport): Row[] {
  return report.groups
    .flatMap((g) => g.topics.flatMap((t) => t.partitions.map((p: PartitionLag): Row => [g.group, t.topic, p.partition, p.committed, p.end, p.lagMessages, p.lagSeconds, p.breach])))
    .sort((a, b) => `${a[0]}/${a[1]}/${a[2]}`.localeCompare(`${b[0]}/${b[1]}/${b[2]}`));
}

/** What one measure() call was given and said, per row: "group/topic/partition@committed" → [breach, seconds]. */
function verdicts(call: { rows: readonly LaggingRow[]; results: readonly RowLatency[] }): Map<string, [boolean | null, number | null]> {
  return new Map(call.rows.map((r, i) => [`${r.group}/${r.topic}/${r.partition}@${r.committed}`, [call.results[i]?.breach ?? null, call.results[i]?.lagSeconds ?? null]]));
}

describe('one delivery-latency pipeline for `vigil lag` and the service (docs/design.md §3)', () => {
  it('both paths run the pipeline once on the same rows, report what it returned, and agree partition by partition', async () => {
    const calls: { path: string; rows: readonly LaggingRow[]; results: RowLatency[] }[] = [];
    const measure = DeliveryLatency.prototype.measure;
    let path = '';
    DeliveryLatency.prototype.measure = async function (this: DeliveryLatency, ...args: Parameters<typeof measure>) {
      const results = await measure.apply(this, args);
      calls.push({ path, rows: args[0], results });
      return results;
    };
    let cli: LagReport;
    let service: LagReport | null;
    try {
      path = 'vigil lag';
      cli = await collectLagReport(cluster(), { thresholdMs: THRESHOLD_MS, groups: nameFilter([]), topics: nameFilter([]), nowMs: () => NOW });
      path = 'service';
      const observer = new KafkaObserver(cluster(), { lag, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500 }, at);
      const snapshot = await observer.observe();
      assert.ok(snapshot.ok);
      service = lagReportFromSnapshot(snapshot.groups, snapshot.takenAtMs, THRESHOLD_MS);
    } finally {
      DeliveryLatency.prototype.measure = measure;
    }

    assert.deepEqual(calls.map((c) => c.path), ['vigil lag', 'service'], 'each path measures through the pipeline, once');
    const [byCli, byService] = calls.map(verdicts) as [ReturnType<typeof verdicts>, ReturnType<typeof verdicts>];
    assert.deepEqual([...byService].sort(), [...byCli].sort(), 'the same rows in, the same breach flags and seconds out');

    // Each report says exactly what the pipeline returned for its rows behind.
    for (const [report, measured] of [[cli, byCli], [service, byService]] as const) {
      for (const [group, topic, partition, committed, , , seconds, breach] of rowsOf(report)) {
        const m = measured.get(`${group}/${topic}/${partition}@${committed}`);
        if (m) assert.deepEqual([breach, seconds], m, `${group}/${topic}/${partition}`);
      }
    }

    assert.deepEqual(rowsOf(service), rowsOf(cli));
    // The cluster holds every case the test claims to cover.
    assert.deepEqual(rowsOf(cli), [
      ['auditor', 'audit', 0, 22, 30, 8, 8, false],
      ['auditor', 'audit', 1, 10, null, null, null, null],
      ['calm', 'orders', 0, 24, 30, 6, 6, false],
      ['calm', 'orders', 1, 3, null, null, null, null],
      ['edge', 'orders', 0, 20, 30, 10, 10, false],
      ['edge', 'orders', 2, 19, 30, 11, 11, true],
      ['slow', 'orders', 0, 5, 30, 25, 25, true],
      ['slow', 'orders', 2, 30, 30, 0, 0, false],
    ]);
  });
});
