/**
 * Issue 7 benchmark "fenced execution under 10 vigil-leader kills: 0 steps by a deposed
 * leader, 0 double moves", counted at the brokers.
 *
 *   npm run build && node scripts/run-bench.js remediation-fencing [--trials 10]
 *
 * A real 3-broker Kafka whose nodes log every completed request with its client id
 * (`kafka.request.logger` at DEBUG) and fence a silent broker after 30 s (so that vigil,
 * not Kafka, moves the paused broker's partitions), a real Redis, three vigil replicas with
 * `remediation.mode: auto` (hungAfter 2 s, recoverGrace 3 s, throttle 200 KB/s, so a
 * give-back that copies data runs for seconds), a topic of 12 partitions with a producer.
 * vigil's mutations carry the client id `vigil-<node id>`.
 *
 * Each trial: SIGSTOP broker b → vigil evicts it (one step); SIGCONT → after recoverGrace
 * vigil gives its partitions back (throttle, reassign, wait for the copies, elect,
 * unthrottle). During one of the two plans (chosen at random) the vigil leader is hit
 * while the plan is executing — SIGKILL in odd trials, SIGSTOP for 2 s in even ones (it
 * wakes up deposed) — and then restarted or resumed. The trial ends when the original
 * assignment is back.
 *
 * Judged from the brokers' request logs (each AlterPartitionReassignments, ElectLeaders
 * and IncrementalAlterConfigs vigil sent, when the broker received it and from which
 * replica) against the replicas' own election logs (who held the lease when):
 *   deposedSteps  mutations received from a replica that did not hold the newest lease at
 *                 that moment (another replica had acquired a lease since, or its own had
 *                 ended);
 *   doubleMoves   a partition sent the same target replicas more than once within a trial;
 *   plans         every plan of the trial done exactly once (one record per kind).
 * Exit 0 when deposedSteps = 0 and doubleMoves = 0 and every plan completed once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { startRedis } from '../harness/redis';
import { type ReplicaGroup, startReplicas } from '../harness/replicas';
import { waitFor } from '../harness/wait';
import { Workload } from '../harness/workload';
import type { PlanRecord } from '../../src/remediation/record';
import { arg, plansOf } from './util';

const TOPIC = 'bench-fence';
const PARTITIONS = 12;
const MUTATIONS = new Set(['ALTER_PARTITION_REASSIGNMENTS', 'ELECT_LEADERS', 'INCREMENTAL_ALTER_CONFIGS']);

interface Mutation {
  readonly receivedAtMs: number;
  readonly api: string;
  readonly clientId: string;
  /** AlterPartitionReassignments: `topic/partition=r1,r2,…` per partition */
  readonly moves: readonly string[];
}

interface LeaseLine {
  readonly atMs: number;
  readonly nodeId: string;
  readonly term: number;
  readonly acquired: boolean;
}

interface TrialResult {
  readonly broker: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly hit: 'evict' | 'give-back';
  readonly how: 'SIGKILL' | 'SIGSTOP';
  /** whether the hit plan was still executing right after the hit */
  readonly midPlan: boolean;
  readonly plans: Record<string, number>;
}

/** Every mutation a broker logged, with when it was received (completion minus its total time). */
export function parseRequestLog(text: string): Mutation[] {
  const out: Mutation[] = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf('Completed request:');
    if (at < 0) continue;
    const stamp = /^\[(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),(\d{3})\]/.exec(line);
    const end = line.lastIndexOf('} (kafka.request.logger)');
    if (!stamp || end < 0) continue;
    let doc: Record<string, any>;
    try {
      doc = JSON.parse(line.slice(at + 'Completed request:'.length, end + 1));
    } catch {
      continue;
    }
    const header = doc['requestHeader'] ?? {};
    const api = String(header['requestApiKeyName'] ?? '');
    if (!MUTATIONS.has(api) || doc['isForwarded'] === true) continue;
    const completedMs = Date.parse(`${stamp[1]}T${stamp[2]}.${stamp[3]}Z`);
    const moves: string[] = [];
    if (api === 'ALTER_PARTITION_REASSIGNMENTS') {
      for (const t of doc['request']?.['topics'] ?? []) {
        for (const p of t['partitions'] ?? []) moves.push(`${t['name']}/${p['partitionIndex']}=${(p['replicas'] ?? []).join(',')}`);
      }
    }
    out.push({ receivedAtMs: completedMs - Number(doc['totalTimeMs'] ?? 0), api, clientId: String(header['clientId'] ?? ''), moves });
  }
  return out;
}

function leaseLines(group: ReplicaGroup): LeaseLine[] {
  const out: LeaseLine[] = [];
  for (const r of group.replicas) {
    for (const l of group.logLines(r.id)) {
      const msg = String(l['msg'] ?? '');
      if (!msg.startsWith('lease acquired') && !msg.startsWith('lease ended')) continue;
      out.push({ atMs: Date.parse(String(l['time'])), nodeId: r.id, term: Number(l['term'] ?? 0), acquired: msg.startsWith('lease acquired') });
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** Whether `nodeId` held the newest lease at `atMs`: its last lease line is an acquisition and nobody acquired one after it. */
function heldLease(lines: readonly LeaseLine[], nodeId: string, atMs: number): boolean {
  let newest: LeaseLine | undefined;
  let own: LeaseLine | undefined;
  for (const l of lines) {
    if (l.atMs > atMs) break;
    if (l.acquired) newest = l;
    if (l.nodeId === nodeId) own = l;
  }
  return own?.acquired === true && newest?.nodeId === nodeId && newest.term === own.term;
}


async function assignment(kafka: KafkaCluster, via: number): Promise<string> {
  const md = await kafka.metadata(via, [TOPIC]);
  return (md.topics.find((x) => x.name === TOPIC)?.partitions ?? []).map((p) => `${p.partition}:${p.replicas.join(',')}@${p.leader}`).sort().join(' ');
}

async function hitLeader(group: ReplicaGroup, how: 'SIGKILL' | 'SIGSTOP'): Promise<void> {
  const leader = await group.waitForLeader({ timeoutMs: 30_000, intervalMs: 20 });
  if (how === 'SIGKILL') {
    await group.kill(leader.nodeId);
    await group.waitForLeader({ excluding: [leader.nodeId], timeoutMs: 30_000 });
    await group.start(leader.nodeId);
  } else {
    group.pause(leader.nodeId);
    await group.waitForLeader({ excluding: [leader.nodeId], timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // the fault: a 2 s stop-the-world
    group.resume(leader.nodeId);
  }
}

async function trial(kafka: KafkaCluster, group: ReplicaGroup, i: number, original: string): Promise<TrialResult> {
  const broker = (i % 3) + 1;
  const hit: 'evict' | 'give-back' = Math.random() < 0.5 ? 'evict' : 'give-back';
  const how: 'SIGKILL' | 'SIGSTOP' = i % 2 === 0 ? 'SIGKILL' : 'SIGSTOP';
  const startMs = Date.now();
  const mine = (r: PlanRecord, kind: string) => r.plan.kind === kind && r.plan.broker === broker && r.createdAtMs >= startMs - 1_000;
  const executing = (kind: string) => async () => (await plansOf(group)).some((r) => mine(r, kind) && r.status === 'executing');
  let midPlan = false;
  kafka.pause(broker);
  try {
    if (hit === 'evict') {
      await waitFor(executing('evict'), { timeoutMs: 60_000, intervalMs: 20, what: `an evict plan for broker ${broker} executing` });
      await hitLeader(group, how);
      midPlan = await executing('evict')();
    }
    await waitFor(async () => (await plansOf(group)).some((r) => mine(r, 'evict') && r.status === 'done'), { timeoutMs: 60_000, intervalMs: 100, what: 'the evict plan done' });
  } finally {
    kafka.resume(broker);
  }
  if (hit === 'give-back') {
    await waitFor(executing('give-back'), { timeoutMs: 90_000, intervalMs: 20, what: `a give-back plan for broker ${broker} executing` });
    await hitLeader(group, how);
    midPlan = await executing('give-back')();
  }
  await waitFor(async () => (await assignment(kafka, broker === 1 ? 2 : 1)) === original, { timeoutMs: 120_000, intervalMs: 250, what: 'the original assignment given back' });
  await waitFor(async () => (await plansOf(group)).some((r) => mine(r, 'give-back') && r.status === 'done'), { timeoutMs: 60_000, intervalMs: 100, what: 'the give-back plan done' });
  const counts: Record<string, number> = {};
  for (const r of await plansOf(group)) if (r.plan.broker === broker && r.createdAtMs >= startMs - 1_000) counts[`${r.plan.kind} ${r.status}`] = (counts[`${r.plan.kind} ${r.status}`] ?? 0) + 1;
  await group.waitForConnected();
  return { broker, startMs, endMs: Date.now(), hit, how, midPlan, plans: counts };
}

async function main(): Promise<void> {
  const trials = arg('trials', 10);
  const load0 = os.loadavg()[0] as number;
  // Kafka's own fencing after 30 s, not 9: this benchmark is about vigil's fencing, and each
  // trial needs vigil (not Kafka) to move the paused broker's partitions.
  const [kafka, redis] = await Promise.all([
    startKafka({ brokers: 3, name: 'bench-fence', requestLog: true, brokerOverrides: { 'broker.session.timeout.ms': 30_000 } }),
    startRedis(),
  ]);
  let group: ReplicaGroup | undefined;
  let workload: Workload | undefined;
  const results: TrialResult[] = [];
  let leases: LeaseLine[] = [];
  try {
    await kafka.createTopic(TOPIC, { partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    workload = new Workload({ bootstrap: kafka.bootstrap, topic: TOPIC, partitions: PARTITIONS, ratePerSec: 5 });
    await workload.start();
    group = await startReplicas({
      count: 3,
      name: 'bench-fence',
      config: {
        kafka: { brokers: kafka.bootstrap },
        redis: { url: redis.url },
        alerting: { channels: [] },
        remediation: { mode: 'auto', hungAfter: '2s', recoverGrace: '3s', cooldown: '0s', throttle: '200KB' },
      },
    });
    await group.waitForLeader({ timeoutMs: 30_000 });
    const original = await assignment(kafka, 1);
    for (let i = 0; i < trials; i++) results.push(await trial(kafka, group, i, original));
    leases = leaseLines(group);
  } catch (err) {
    group?.markFailed();
    kafka.markFailed();
    console.error(group?.logReport(40) ?? '');
    await workload?.stop();
    await group?.shutdown();
    await Promise.allSettled([kafka.shutdown(), redis.shutdown()]);
    throw err;
  }
  await workload?.stop();
  await group.shutdown();
  await redis.shutdown();

  const mutations = kafka.brokerIds.flatMap((id) => parseRequestLog(fs.readFileSync(kafka.logFile(id), 'utf8'))).filter((m) => m.clientId.startsWith('vigil-'));
  await kafka.shutdown();
  const deposed = mutations.filter((m) => !heldLease(leases, m.clientId.slice('vigil-'.length), m.receivedAtMs));
  let doubleMoves = 0;
  for (const t of results) {
    const seen = new Map<string, number>();
    for (const m of mutations) if (m.receivedAtMs >= t.startMs && m.receivedAtMs <= t.endMs) for (const mv of m.moves) seen.set(mv, (seen.get(mv) ?? 0) + 1);
    for (const n of seen.values()) doubleMoves += Math.max(0, n - 1);
  }
  const onceEach = results.every((t) => t.plans['evict done'] === 1 && t.plans['give-back done'] === 1 && Object.keys(t.plans).every((k) => k.endsWith('done')));
  const pass = deposed.length === 0 && doubleMoves === 0 && onceEach && mutations.length > 0;
  console.log(
    JSON.stringify({
      bench: 'remediation-fencing',
      trials: results.length,
      hits: results.map((t) => `${t.how} during ${t.hit}${t.midPlan ? ' (mid-plan)' : ''}`),
      midPlanHits: results.filter((t) => t.midPlan).length,
      mutationsAtBrokers: mutations.length,
      byApi: Object.fromEntries([...MUTATIONS].map((api) => [api, mutations.filter((m) => m.api === api).length])),
      senders: [...new Set(mutations.map((m) => m.clientId))].sort(),
      deposedSteps: deposed.length,
      deposedDetail: deposed.slice(0, 5),
      doubleMoves,
      plansPerTrial: results.map((t) => t.plans),
      pass,
      loadavg: { before: load0, after: os.loadavg()[0] },
    }),
  );
  if (!pass) process.exitCode = 1;
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
