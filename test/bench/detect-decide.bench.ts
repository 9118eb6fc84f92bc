/**
 * Benchmark of docs/design.md §10 "detect + decide, synthetic 100,000 partitions × 500 groups:
 * <= 100 ms, RSS <= 300 MB". A plain script:
 *
 *   npm run build && node dist/test/bench/detect-decide.bench.js [--cycles 50] [--warmup 10]
 *
 * Cluster: 30 brokers, 500 topics of 200 partitions (RF 3, min ISR 2), 500 groups each
 * consuming one topic (100,000 group-partition rows). Broker 30 is down: still the leader
 * of its partitions in the metadata (not yet fenced), out of every ISR, its partitions'
 * end offsets unreadable (unknown rows). 3 % of the groups lag past the threshold and get
 * fresh rows every cycle (lag growing); the other rows are shared between cycles, so the
 * garbage collected during the run is detect's and decide's own. Cycles are 1 s apart in
 * snapshot time and back to back in real time; only detect + decide are timed.
 *
 * Prints one JSON line: per-cycle wall-clock p50/p99/max and process CPU p50/p99 in ms
 * over the measured cycles, peak RSS, and the load average around the run (on a shared
 * machine wall time includes waiting for a core; CPU time does not).
 * Exit code 0 when both targets are met (wall-clock p99 and peak RSS), 1 otherwise.
 */
import * as os from 'node:os';
import { emptyAlertState } from '../../src/alerting/alert-state';
import { decide } from '../../src/alerting/decide';
import { DEFAULT_DETECT_OPTIONS, detect, emptyDetectMemory } from '../../src/monitor/detect';
import { syntheticCluster } from '../fakes/snapshots';
import { arg, percentile } from './util';

const TARGET_P99_MS = 100;
const TARGET_RSS_MB = 300;



function main(): void {
  const cycles = arg('cycles', 50);
  const warmup = arg('warmup', 10);
  const shape = { brokers: 30, topics: 500, partitionsPerTopic: 200, laggingGroupFraction: 0.03, downBroker: 30 };
  const cluster = syntheticCluster(shape);

  const loadBefore = os.loadavg()[0] as number;
  let memory = emptyDetectMemory();
  let state = emptyAlertState();
  const timesMs: number[] = [];
  const cpuMs: number[] = [];
  let findings = 0;
  let notificationsFirstCycle = 0;
  let notificationsAfter = 0;
  for (let cycle = 0; cycle < warmup + cycles; cycle++) {
    const snap = cluster.snapshotAt(cycle);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const d = detect(snap, memory, DEFAULT_DETECT_OPTIONS);
    const r = decide(d.findings, state, snap.takenAtMs, { cluster: 'bench', lag: d.lag });
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    memory = d.memory;
    state = r.state;
    if (cycle === 0) notificationsFirstCycle = r.notifications.length;
    else notificationsAfter += r.notifications.length;
    if (cycle >= warmup) {
      timesMs.push(t1 - t0);
      cpuMs.push((c1.user + c1.system) / 1000);
      findings = d.findings.length;
    }
  }
  const sorted = [...timesMs].sort((a, b) => a - b);
  const cpuSorted = [...cpuMs].sort((a, b) => a - b);
  const p50Ms = percentile(sorted, 0.5);
  const p99Ms = percentile(sorted, 0.99);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const pass = p99Ms <= TARGET_P99_MS && peakRssMb <= TARGET_RSS_MB;
  const round = (x: number) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({
    bench: 'detect-decide',
    partitions: shape.topics * shape.partitionsPerTopic,
    groups: shape.topics,
    groupPartitionRows: shape.topics * shape.partitionsPerTopic,
    brokers: shape.brokers,
    warmupCycles: warmup,
    cycles,
    p50Ms: round(p50Ms),
    p99Ms: round(p99Ms),
    maxMs: round(sorted[sorted.length - 1] as number),
    cpuP50Ms: round(percentile(cpuSorted, 0.5)),
    cpuP99Ms: round(percentile(cpuSorted, 0.99)),
    peakRssMb: round(peakRssMb),
    findingsPerCycle: findings,
    openAlerts: Object.keys(state.alerts).length,
    notificationsFirstCycle,
    notificationsAfterFirstCycle: notificationsAfter,
    loadAverage1m: [round(loadBefore), round(os.loadavg()[0] as number)],
    cpus: os.cpus().length,
    targets: { p99Ms: TARGET_P99_MS, peakRssMb: TARGET_RSS_MB },
    pass,
  }));
  process.exitCode = pass ? 0 : 1;
}

main();
