/**
 * One reconcile cycle (observe + detect + decide) on a real 3-broker cluster with 2,000
 * partitions and 50 consumer groups, every group committed on every partition (100,000
 * group-partition rows), under a steady produce load and moving consumers (issue 4,
 * docs/design.md §10: <= 300 ms). Also reports the accuracy of the reported seconds against the
 * true latency of the simulated groups.
 *
 *   npm run build && node dist/test/bench/reconcile-cycle.bench.js [--cycles N] [--quiet-after N] [--trace] [--max-probes N]
 *
 *   --quiet-after N  stop the load before cycle N: later cycles run against the idle cluster
 *                    (every group still lagging) and are summarised apart
 *   --trace          one line per cycle on stderr: phases, CPU, rows out of tolerance
 *   --max-probes N   the observer's record-probe budget per cycle (default 2,000)
 */
import { emptyAlertState, type AlertState } from '../../src/alerting/alert-state';
import { decide } from '../../src/alerting/decide';
import { KafkajsAdmin } from '../../src/kafka/kafkajs-admin';
import { detect, detectOptionsFor, emptyDetectMemory } from '../../src/monitor/detect';
import { KafkaObserver } from '../../src/monitor/observe';
import { systemClock } from '../../src/util/clock';
import { OffsetCommitter } from '../harness/commit-offsets';
import { startKafka } from '../harness/kafka';
import { waitFor } from '../harness/wait';
import { SimulatedGroup, Workload } from '../harness/workload';
import { arg, summarizeMs } from './util';

const TOPICS = 4;
const PARTITIONS = 500; // per topic: 2,000 in all
const GROUPS = 50;
const CYCLES = arg('cycles', 40);
const lag = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning' as const, overrides: [] };


const progress = (what: string) => console.error(`# ${new Date().toISOString()} ${what}`);

async function main(): Promise<void> {
  progress('starting 3 brokers');
  const cluster = await startKafka({ brokers: 3, name: 'bench-reconcile' });
  const workloads: Workload[] = [];
  const groups: SimulatedGroup[] = [];
  const closers: (() => Promise<void>)[] = [];
  const admin = new KafkajsAdmin({ brokers: cluster.bootstrap, clientId: 'bench', ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 });
  try {
    const topics = Array.from({ length: TOPICS }, (_, i) => `cycle-${i}`);
    for (const topic of topics) await cluster.createTopic(topic, { partitions: PARTITIONS, replicationFactor: 3 });
    progress(`${TOPICS} topics × ${PARTITIONS} partitions created`);
    for (const topic of topics) {
      const w = new Workload({ bootstrap: cluster.bootstrap, topic, partitions: PARTITIONS, ratePerSec: 1 });
      await w.start();
      workloads.push(w);
    }
    await waitFor(() => workloads.every((w) => w.end(PARTITIONS - 1) >= 15), { timeoutMs: 120_000, intervalMs: 500, what: '15 s of records' });
    progress('producing; starting the groups');
    // Every group on every topic, each (group, topic) at its own latency between 0 (caught
    // up) and 12 s, committing every 5 s like a consumer with the default auto-commit.
    const committer = new OffsetCommitter(cluster.bootstrap);
    closers.push(() => committer.close());
    for (let g = 0; g < GROUPS; g++) {
      for (let t = 0; t < TOPICS; t++) {
        const latencyMs = ((g * 7 + t * 3) % 13) * 1000;
        const sg = new SimulatedGroup(workloads[t] as Workload, `cycle-group-${g}`, topics[t] as string, PARTITIONS, () => (latencyMs === 0 ? 'caught-up' : { latencyMs }), 5000, committer);
        groups.push(sg);
        sg.start();
      }
    }
    // vigil's followers keep the end-offset history warm (observer.warm()), so a leader
    // starts with one: so does this observer, from before the groups start
    const observer = new KafkaObserver(admin, { lag, groups: { include: ['cycle-group-*'], exclude: [] }, topics: { include: ['cycle-*'], exclude: [] }, brokerPingTimeoutMs: 800, ...(process.argv.includes('--max-probes') ? { maxProbesPerCycle: arg('max-probes', 2000) } : {}) }, systemClock);
    const startWarming = () => {
      let warming = true;
      let samples = 0;
      let widestGapMs = 0;
      const loop = (async () => {
        let last = performance.now();
        while (warming) {
          const t = performance.now();
          await observer.warm();
          samples++;
          widestGapMs = Math.max(widestGapMs, performance.now() - last);
          last = performance.now();
          await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - t))));
        }
      })();
      return async () => {
        warming = false;
        await loop;
        progress(`history kept warm: ${samples} samples, widest gap ${Math.round(widestGapMs)} ms`);
      };
    };
    let stopWarming = startWarming();
    await waitFor(
      () => {
        const waiting = groups.filter((g) => !g.committed.some((c) => c > 0));
        if (waiting.length > 0 && waiting[0]?.lastError) throw waiting[0].lastError;
        return waiting.length === 0;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'every group committed' },
    );
    // the largest latency simulated (12 s) plus a commit interval, so the history covers it
    await new Promise((r) => setTimeout(r, 20_000));
    await stopWarming();
    progress('every group committed, history warm; measuring cycles');

    const opts = detectOptionsFor(lag);
    let memory = emptyDetectMemory();
    let state: AlertState = emptyAlertState();
    const observeMs: number[] = [];
    const cycleMs: number[] = [];
    // with --quiet-after, cycles under load and against the idle cluster are summarised apart
    const loadedMs: number[] = [];
    const quietMs: number[] = [];
    let rows = 0;
    const errors: number[] = [];
    const nearErrors: number[] = [];
    let noFigure = 0; // lagging rows reported without seconds
    const quietAfter = arg('quiet-after', Number.POSITIVE_INFINITY);
    for (let i = 0; i < CYCLES; i++) {
      if (i === quietAfter) {
        // stop the load: the rest of the cycles measure vigil against an idle cluster. That
        // takes a while; the history goes on meanwhile, as it would on a follower.
        stopWarming = startWarming();
        await Promise.all(groups.map((g) => g.stop()));
        await Promise.all(workloads.map((w) => w.stop()));
        await stopWarming();
      }
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const snap = await observer.observe();
      const observed = performance.now();
      const d = detect(snap, memory, opts);
      const dd = decide(d.findings, state, Date.now(), { cluster: 'bench', lag: d.lag });
      memory = d.memory;
      state = dd.state;
      const done = performance.now();
      if (i >= 5) {
        observeMs.push(observed - started);
        cycleMs.push(done - started);
        if (i < quietAfter) loadedMs.push(done - started);
        else if (i >= quietAfter + 2) quietMs.push(done - started);
      }
      if (!snap.ok) throw new Error(`snapshot failed: ${snap.error}`);
      rows = snap.groups.reduce((s, g) => s + g.partitions.length, 0);
      let cycleOut = 0;
      let cycleWorst = 0;
      // accuracy: reported seconds vs the truth, for every lagging row of this cycle
      if (i >= 5) {
        const wl = new Map(topics.map((t, k) => [t, workloads[k] as Workload]));
        for (const g of snap.groups) {
          for (const p of g.partitions) {
            if (p.end === null || p.committed >= p.end) continue;
            if (p.lagSeconds === null) {
              noFigure++;
              continue;
            }
            const w = wl.get(p.topic) as Workload;
            const truth = w.trueLatencyMs(p.partition, p.committed, snap.takenAtMs) / 1000;
            if (!Number.isFinite(truth)) continue;
            const err = Math.abs(p.lagSeconds - truth);
            const ratio = err / Math.max(0.5, 0.05 * truth);
            errors.push(ratio);
            if (ratio > 1) cycleOut++;
            cycleWorst = Math.max(cycleWorst, ratio);
            // docs/design.md §3 refines the seconds of partitions in or near breach (>= half the threshold)
            if (truth >= lag.thresholdMs / 2000) nearErrors.push(ratio);
          }
        }
      }
      if (process.argv.includes('--trace')) {
        const cpu = process.cpuUsage(cpu0);
        const accuracy = { outOfTolerance: cycleOut, worstOverTolerance: Number(cycleWorst.toFixed(2)) };
        console.error(JSON.stringify({ cycle: i, ms: Math.round(done - started), cpuMs: Math.round((cpu.user + cpu.system) / 1000), phases: observer.lastPhasesMs, accuracy }));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - started))));
    }
    for (const xs of [observeMs, cycleMs, loadedMs, quietMs]) xs.sort((a, b) => a - b);
    errors.sort((a, b) => a - b);
    nearErrors.sort((a, b) => a - b);
    const within = errors.filter((e) => e <= 1).length;
    console.log(
      JSON.stringify({
        bench: 'reconcile-cycle',
        partitions: TOPICS * PARTITIONS,
        groups: GROUPS,
        groupPartitionRows: rows,
        cycles: cycleMs.length,
        cycleMs: summarizeMs(cycleMs),
        observeMs: summarizeMs(observeMs),
        ...(quietMs.length > 0 ? { underLoadCycleMs: summarizeMs(loadedMs), idleClusterCycleMs: summarizeMs(quietMs) } : {}),
        reportedSeconds: {
          rowsChecked: errors.length,
          rowsWithoutSeconds: noFigure,
          withinTarget: within,
          worstErrorOverTolerance: Number((errors.at(-1) ?? 0).toFixed(3)),
          nearOrInBreach: {
            rowsChecked: nearErrors.length,
            withinTarget: nearErrors.filter((e) => e <= 1).length,
            worstErrorOverTolerance: Number((nearErrors.at(-1) ?? 0).toFixed(3)),
          },
        },
      }),
    );
  } finally {
    await Promise.allSettled(groups.map((g) => g.stop()));
    await Promise.allSettled(workloads.map((w) => w.stop()));
    await Promise.allSettled(closers.map((c) => c()));
    await admin.close();
    await cluster.shutdown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
