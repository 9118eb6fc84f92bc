/**
 * Benchmark of issue 7's "plan for a broker holding 2,000 partition replicas: computed
 * <= 50 ms" (src/remediation/plan.ts). A plain script:
 *
 *   npm run build && node dist/test/bench/remediation-plan.bench.js [--runs 50] [--warmup 10]
 *
 * Cluster: 12 brokers in 3 racks, topics of 10 partitions, RF 3, replicas placed
 * round-robin, as many partitions as it takes for broker 1 to hold 2,000 replicas (8,000).
 * Every kind is planned for broker 1 (lead elsewhere, evict, give back of the evict's moves,
 * restore the replication factor with broker 1 gone), timed separately.
 *
 * Prints one JSON line per kind: wall-clock p50/p99/max in ms over the measured runs and
 * the plan's size. Exit code 0 when every kind's p99 meets the target, 1 otherwise.
 */
import type { ClusterMetadata, PartitionInfo } from '../../src/kafka/types';
import { type Plan, type PlanContext, planEvict, planGiveBack, planLeadElsewhere, planRestoreReplicationFactor } from '../../src/remediation/plan';
import { arg, percentile } from './util';

const TARGET_P99_MS = 50;
const BROKERS = 12;
const REPLICAS_ON_BROKER_1 = 2000;

function cluster(): ClusterMetadata {
  const brokers = Array.from({ length: BROKERS }, (_, i) => ({ nodeId: i + 1, host: `b${i + 1}`, port: 9092, rack: `rack-${i % 3}` }));
  const topics: ClusterMetadata['topics'][number][] = [];
  let onBroker1 = 0;
  let n = 0;
  // round-robin RF 3 placement until broker 1 holds the wanted number of replicas
  for (let t = 0; onBroker1 < REPLICAS_ON_BROKER_1; t++) {
    const partitions: PartitionInfo[] = [];
    for (let p = 0; p < 10 && onBroker1 < REPLICAS_ON_BROKER_1; p++, n++) {
      const replicas = [0, 1, 2].map((k) => ((n + k * 4) % BROKERS) + 1);
      if (replicas.includes(1)) onBroker1++;
      partitions.push({ partition: p, leader: replicas[0] as number, replicas, isr: replicas, offlineReplicas: [] });
    }
    topics.push({ topic: `topic-${t}`, isInternal: false, partitions });
  }
  return { clusterId: 'bench', controllerId: 2, brokers, topics };
}

function time(runs: number, warmup: number, fn: () => Plan): { p50: number; p99: number; max: number; plan: Plan } {
  const ms: number[] = [];
  let plan: Plan | undefined;
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    plan = fn();
    const t1 = performance.now();
    if (i >= warmup) ms.push(t1 - t0);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), max: ms[ms.length - 1] as number, plan: plan as Plan };
}

function main(): number {
  const runs = arg('runs', 50);
  const warmup = arg('warmup', 10);
  const md = cluster();
  const partitions = md.topics.reduce((s, t) => s + t.partitions.length, 0);
  const base: PlanContext = { metadata: md, maxPlanSize: 100_000, throttleBytesPerSec: 50 * 1024 * 1024, cause: 'broker:1 slow', nowMs: Date.now(), term: 1 };
  const evict = planEvict(base, 1);
  const gone: ClusterMetadata = { ...md, brokers: md.brokers.filter((b) => b.nodeId !== 1) };
  const kinds: Array<[string, () => Plan]> = [
    ['lead-elsewhere', () => planLeadElsewhere(base, 1)],
    ['evict', () => planEvict(base, 1)],
    ['give-back', () => planGiveBack({ ...base, metadata: applied(md, evict) }, 1, evict.moves)],
    ['restore-rf', () => planRestoreReplicationFactor({ ...base, metadata: gone }, 1)],
  ];
  let missed = 0;
  for (const [kind, fn] of kinds) {
    const r = time(runs, warmup, fn);
    const ok = r.p99 <= TARGET_P99_MS;
    if (!ok) missed++;
    console.log(
      JSON.stringify({
        bench: 'remediation-plan',
        kind,
        partitions,
        replicasOnBroker: REPLICAS_ON_BROKER_1,
        moves: r.plan.moves.length,
        elections: r.plan.elections.length,
        skipped: r.plan.skipped.length,
        p50Ms: +r.p50.toFixed(2),
        p99Ms: +r.p99.toFixed(2),
        maxMs: +r.max.toFixed(2),
        targetP99Ms: TARGET_P99_MS,
        ok,
      }),
    );
  }
  return missed === 0 ? 0 : 1;
}

/** The metadata after a plan's moves (ISR = the new replicas), for give-back. */
function applied(md: ClusterMetadata, plan: Plan): ClusterMetadata {
  const to = new Map(plan.moves.map((m) => [`${m.topic}\u0000${m.partition}`, m.to]));
  return {
    ...md,
    topics: md.topics.map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => {
        const r = to.get(`${t.topic}\u0000${p.partition}`);
        return r ? { ...p, replicas: r, isr: r, leader: r[0] as number } : p;
      }),
    })),
  };
}

process.exit(main());
