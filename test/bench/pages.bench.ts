/**
 * Paging benchmarks on the whole stack (issue 4, docs/design.md §10): real Kafka, Redis, three
 * vigil replicas as processes, a webhook sink, simulated consumer groups with known
 * delivery latency.
 *
 *   npm run build && node dist/test/bench/pages.bench.js <scenario> [--trials N] [--minutes M] [--rt 1] [--poll]
 *
 * The replicas stream committed offsets (monitor.offsetsSource: stream, the default: breaches
 * are scheduled and paged at their instant, docs/design.md §3.7); `--poll` runs them in poll
 * mode, for the side-by-side figures.
 *
 * Scenarios (each prints one JSON line):
 *   page-latency   a group stops; time from the moment its true delivery latency crosses
 *                  10 s to the page arriving at the sink (target p99 <= 1.5 s); also the
 *                  reported seconds against the truth (target within max(0.5 s, 5 %))
 *   broker-kill    SIGKILL a broker; time to the page naming it (target <= 2 s)
 *   failovers      20 vigil-leader SIGKILLs while incidents open and resolve: duplicate
 *                  and lost pages (target 0 / 0)
 *   oscillation    delivery latency oscillating between 8 and 9.5 s for 10 minutes:
 *                  pages (target 0), and reported seconds against the truth
 */
import type { WebhookBodyV1 } from '../../src/alerting/types';
import { schedulingFromArgv } from '../harness/replicas';
import { type LagDoc, type Stack, startStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import type { SimulatedGroup, Workload } from '../harness/workload';
import { arg, flag, summarizeMs } from './util';



const progress = (what: string) => console.error(`# ${new Date().toISOString()} ${what}`);

/** Compares every reported partition's seconds with the truth from the workload. */
class AccuracyMeter {
  readonly ratios: number[] = [];
  private worstRatio = -1;
  worst = { reported: 0, truth: 0 };

  check(doc: LagDoc, workloads: ReadonlyMap<string, Workload>): void {
    const at = Date.parse(doc.generatedAt);
    for (const g of doc.groups) {
      for (const t of g.topics) {
        const w = workloads.get(t.topic);
        if (!w) continue;
        for (const p of t.partitions) {
          if (p.lagSeconds === null || p.end === null) continue;
          const truth = w.trueLatencyMs(p.partition, p.committed, at) / 1000;
          if (!Number.isFinite(truth)) continue;
          const ratio = Math.abs(p.lagSeconds - truth) / Math.max(0.5, 0.05 * truth);
          if (ratio > this.worstRatio) {
            this.worstRatio = ratio;
            this.worst = { reported: p.lagSeconds, truth: Number(truth.toFixed(3)) };
          }
          this.ratios.push(ratio);
        }
      }
    }
  }

  result() {
    const within = this.ratios.filter((r) => r <= 1).length;
    return { samples: this.ratios.length, withinTarget: within, worstErrorOverTolerance: Number(Math.max(0, this.worstRatio).toFixed(3)), worst: this.worst };
  }
}

async function pageLatency(stack: Stack, trials: number) {
  const w = await stack.workload('bench-page', 2, 20);
  const delays: number[] = [];
  const openAlertsAtCrossing: number[] = [];
  const accuracy = new AccuracyMeter();
  const workloads = new Map([['bench-page', w]]);
  await waitFor(() => w.end(1) > 300, { timeoutMs: 60_000, what: '15 s of records' });
  // One group, one incident per trial: it consumes 1 s behind, stops, pages, catches up,
  // resolves. Nothing else is open between trials, so the leader polls at the normal 1 s.
  const name = 'bench-page-svc';
  const key = stack.lagKey(name, 'bench-page');
  const g = stack.group(w, name, 'bench-page', 2, () => ({ latencyMs: 1000 }));
  g.start();
  await waitFor(async () => (await stack.leaderLag()).groups.some((x) => x.group === name), { timeoutMs: 30_000, what: `${name} reported` });
  for (let i = 0; i < trials; i++) {
    g.setBehaviour(() => ({ latencyMs: 1000 }));
    await waitFor(async () => (await stack.leaderAlerts()).length === 0, { timeoutMs: 60_000, what: 'no open alert before the trial' });
    const trialStart = Date.now();
    g.setBehaviour(() => 'stopped');
    // let the last commit land, then read where the group froze
    await new Promise((r) => setTimeout(r, 300));
    const frozen = [...g.committed];
    const oldest = Math.min(...frozen.map((c, p) => (c < w.end(p) ? (w.timestampAt(p, c) ?? Infinity) : Infinity)));
    const crossMs = oldest + 10_000;
    const sampler = setInterval(() => {
      stack.leaderLag().then((doc) => accuracy.check({ ...doc, groups: doc.groups.filter((x) => x.group === name) }, workloads), () => undefined);
    }, 1000);
    const crossing = setTimeout(() => {
      stack.leaderAlerts().then((a) => openAlertsAtCrossing.push(a.length), () => undefined);
    }, Math.max(0, crossMs - 50 - Date.now()));
    const page = await stack.waitForPage(`trial ${i} firing`, (b) => b.key === key && b.status === 'firing' && Date.parse(b.startsAt) >= trialStart, 60_000);
    clearInterval(sampler);
    clearTimeout(crossing);
    delays.push(page.receivedAtMs - crossMs);
    progress(`trial ${i}: page ${page.receivedAtMs - crossMs} ms after the true latency crossed 10 s`);
    g.setBehaviour(() => 'caught-up');
    await stack.waitForPage(`trial ${i} resolved`, (b) => b.key === key && b.status === 'resolved' && Date.parse(b.startsAt) >= trialStart, 60_000);
  }
  return {
    scenario: 'page-latency',
    pageDelayMs: summarizeMs(delays),
    target: flag('poll') ? 'p99 <= 1500 ms (poll mode)' : 'p99 <= 100 ms (stream mode, breaches scheduled)',
    openAlertsAtCrossing: Math.max(0, ...openAlertsAtCrossing),
    reportedSeconds: accuracy.result(),
  };
}

async function brokerKill(stack: Stack, trials: number) {
  const delays: number[] = [];
  for (let i = 0; i < trials; i++) {
    const victim = stack.kafka.brokerIds[i % stack.kafka.brokerIds.length] as number;
    const before = stack.pages().length;
    const killedAt = Date.now();
    await stack.kafka.kill(victim);
    const page = await stack.waitForPage(`BrokerUnreachable ${victim}`, (b) => b.alert === 'BrokerUnreachable' && b.broker === victim && b.status === 'firing' && stack.pages().length > before && Date.parse(b.startsAt) >= killedAt - 1000, 30_000);
    delays.push(page.receivedAtMs - killedAt);
    progress(`trial ${i}: broker ${victim} paged ${page.receivedAtMs - killedAt} ms after SIGKILL`);
    await stack.kafka.start(victim);
    await stack.kafka.waitForBrokers(stack.kafka.brokerIds);
    await stack.waitForPage(`broker ${victim} resolved`, (b) => b.alert === 'BrokerUnreachable' && b.broker === victim && b.status === 'resolved' && Date.parse(b.startsAt) >= killedAt - 1000, 60_000);
  }
  return { scenario: 'broker-kill', pageDelayMs: summarizeMs(delays), target: '<= 2000 ms' };
}

async function failovers(stack: Stack, count: number) {
  const w = await stack.workload('bench-failover', 2, 20);
  await waitFor(() => w.end(1) > 300, { timeoutMs: 60_000, what: '15 s of records' });
  // Four groups, each stopping for 15 s then catching up for 8 s, out of phase: incidents
  // open and resolve all through the failovers. Every stop that lasts well past the 10 s
  // threshold must page once (firing and resolved); a cut-short one may or may not.
  const periodMs = 23_000;
  const stopMs = 15_000;
  const groups: SimulatedGroup[] = [];
  const stops = new Map<string, { startMs: number; endMs: number | null }[]>();
  for (let i = 0; i < 4; i++) {
    const name = `bench-failover-${i}`;
    stops.set(name, []);
    const g = stack.group(w, name, 'bench-failover', 2, () => ({ latencyMs: 500 }));
    g.start();
    groups.push(g);
  }
  // every group visible to the leader before the first stop
  await waitFor(async () => {
    const doc = await stack.leaderLag();
    return groups.every((g) => doc.groups.some((x) => x.group === g.group));
  }, { timeoutMs: 30_000, what: 'every group reported' });
  const t0 = Date.now();
  groups.forEach((g, i) => {
    const offset = (i * periodMs) / 4;
    const list = stops.get(g.group) as { startMs: number; endMs: number | null }[];
    g.setBehaviour((now) => {
      const phase = (now - t0 + offset) % periodMs;
      const open = list.at(-1);
      if (phase < stopMs) {
        if (!open || open.endMs !== null) list.push({ startMs: now, endMs: null });
        return 'stopped';
      }
      if (open && open.endMs === null) open.endMs = now;
      return { latencyMs: 500 };
    });
  });
  for (let i = 0; i < count; i++) {
    const leader = await stack.replicas.waitForLeader({ timeoutMs: 30_000 });
    await stack.replicas.kill(leader.nodeId);
    await stack.replicas.waitForLeader({ excluding: [leader.nodeId], minTerm: leader.term + 1, timeoutMs: 30_000 });
    await stack.replicas.start(leader.nodeId);
    await stack.replicas.waitForConnected(30_000);
    progress(`failover ${i + 1}/${count} (was ${leader.nodeId}, term ${leader.term})`);
    // spread the failovers over several incident periods
    await new Promise((r) => setTimeout(r, 4000));
  }
  // end every incident and let the last resolves go out
  const endedAt = Date.now();
  for (const g of groups) {
    g.setBehaviour(() => 'caught-up');
    const open = stops.get(g.group)?.at(-1);
    if (open && open.endMs === null) open.endMs = endedAt;
  }
  await waitFor(
    async () => {
      const doc = await stack.leaderLag();
      // caught up: within one commit tick of the producer
      return groups.every((g) => (doc.groups.find((x) => x.group === g.group)?.lagSeconds ?? Infinity) < 2);
    },
    { timeoutMs: 60_000, what: 'every group caught up' },
  );
  await new Promise((r) => setTimeout(r, 8000));

  let duplicates = 0;
  let lost = 0;
  let incidents = 0;
  const detail: Record<string, unknown> = {};
  for (const g of groups) {
    const bodies = stack.pages((b) => b.group === g.group && b.alert === 'ConsumerDeliveryLag').map((p) => p.body);
    const byIncident = new Map<string, WebhookBodyV1[]>();
    for (const b of bodies) byIncident.set(b.startsAt, [...(byIncident.get(b.startsAt) ?? []), b]);
    for (const [, list] of byIncident) {
      incidents++;
      const firing = list.filter((b) => b.status === 'firing').length;
      const resolved = list.filter((b) => b.status === 'resolved').length;
      duplicates += Math.max(0, firing - 1) + Math.max(0, resolved - 1);
      if (resolved === 0) lost++; // a resolve that never came
      if (firing === 0) lost++;
    }
    // every stop that lasted 12 s or more (10 s threshold + a poll and some) has an incident
    const long = (stops.get(g.group) ?? []).filter((s) => (s.endMs ?? endedAt) - s.startMs >= 12_000);
    let missed = 0;
    for (const s of long) {
      const paged = [...byIncident.keys()].some((at) => {
        const t = Date.parse(at);
        return t >= s.startMs + 9_000 && t <= (s.endMs ?? endedAt) + 5_000;
      });
      if (!paged) missed++;
    }
    lost += missed;
    detail[g.group] = { longStops: long.length, incidentsPaged: byIncident.size, missed, pages: bodies.length };
  }
  return { scenario: 'failovers', failovers: count, incidents, duplicatePages: duplicates, lostPages: lost, target: '0 / 0', detail };
}

async function oscillation(stack: Stack, minutes: number) {
  const w = await stack.workload('bench-osc', 2, 20);
  await waitFor(() => w.end(1) > 300, { timeoutMs: 60_000, what: '15 s of records' });
  const g = stack.group(w, 'bench-osc-svc', 'bench-osc', 2, (now) => ({ latencyMs: 8_750 + 750 * Math.sin((2 * Math.PI * now) / 30_000) }));
  g.start();
  // the truth is measured from the group's first commit on (before it, nothing is committed)
  await waitFor(() => g.committed.every((c) => c > 0), { timeoutMs: 30_000, what: 'the first commit' });
  const accuracy = new AccuracyMeter();
  const workloads = new Map([['bench-osc', w]]);
  const end = Date.now() + minutes * 60_000;
  let maxTrueMs = 0;
  // the premise: the group stays under the threshold. A stalled commit (this process busy)
  // can push it over for a moment; those samples are counted so the result says so.
  let samples = 0;
  let samplesOver = 0;
  while (Date.now() < end) {
    const trueMs = g.trueLatencyMs();
    maxTrueMs = Math.max(maxTrueMs, trueMs);
    samples++;
    if (trueMs > 10_000) samplesOver++;
    try {
      accuracy.check(await stack.leaderLag(), workloads);
    } catch {
      // a sample missed during a slow moment is not a result
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const pages = stack.pages((b) => b.group === 'bench-osc-svc').length;
  return { scenario: 'oscillation', minutes, pages, target: '0 pages', maxTrueLatencySeconds: maxTrueMs / 1000, truthSamples: samples, truthSamplesOver10s: samplesOver, reportedSeconds: accuracy.result() };
}

const SCENARIOS = ['page-latency', 'broker-kill', 'failovers', 'oscillation'];

async function main(): Promise<void> {
  const named = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : undefined;
  // without a scenario (npm run bench): every one, each on a fresh stack
  for (const scenario of named ? [named] : SCENARIOS) await run(scenario);
}

async function run(scenario: string): Promise<void> {
  progress(`scenario ${scenario}: starting the stack`);
  const offsetsSource = flag('poll') ? 'poll' : 'stream';
  const stack = await startStack({
    name: `bench-${scenario}`,
    lag: { resolveFor: '1s' },
    monitor: { offsetsSource },
    scheduling: schedulingFromArgv(),
  });
  try {
    let result: unknown;
    switch (scenario) {
      case 'page-latency':
        result = await pageLatency(stack, arg('trials', 20));
        break;
      case 'broker-kill':
        result = await brokerKill(stack, arg('trials', 6));
        break;
      case 'failovers':
        result = await failovers(stack, arg('trials', 20));
        break;
      case 'oscillation':
        result = await oscillation(stack, arg('minutes', 10));
        break;
      default:
        throw new Error(`unknown scenario ${scenario}: page-latency | broker-kill | failovers | oscillation`);
    }
    console.log(JSON.stringify({ bench: 'pages', offsetsSource, ...(result as object) }));
  } finally {
    await stack.shutdown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
