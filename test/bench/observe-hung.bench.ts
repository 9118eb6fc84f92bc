/**
 * The leader's observe cycle while one broker hangs (issue 7 item 2): SIGSTOP keeps the
 * broker's sockets open and answers nothing, so every request the cycle sends it waits out
 * `kafka.requestTimeout` unless the cycle avoids it. The figure is the cycle time before,
 * during and after the pause, with the observer's phases.
 *
 *   npm run build && node scripts/run-bench.js observe-hung [--broker 1 | --quorum-leader] [--in-flight] [--pause-s 7] [--trace]
 *
 * One real 3-broker Kafka; a topic of 6 partitions (replication factor 3, so the paused
 * broker leads two), produced to 5 records a second per partition, and 6 consumer groups
 * committing every 200 ms (some coordinated by the paused broker). vigil's production
 * settings: kafka.requestTimeout 5 s, kafka.connectionTimeout 1 s, the ping deadline of a
 * 1 s poll (800 ms), one cycle a second. The pause lasts `--pause-s` (default 7 s, under
 * Kafka's 9 s broker session timeout: the broker still leads its partitions and coordinates
 * its groups throughout, as in the window vigil's remediation acts in). Broker 1 is the
 * default: the first bootstrap address and the first in the Metadata order;
 * `--quorum-leader` pauses the active KRaft controller instead, through which DescribeQuorum
 * then goes unanswered until its own deadline (the ping deadline). Prints one JSON line;
 * `--in-flight` lands the pause inside a cycle, right after its pings answered, so that
 * the cycle's requests to the broker are in flight when it stops answering (the first paused
 * cycle's time is then the figure). Prints one JSON line; `--trace` prints every cycle on
 * stderr.
 */
import * as os from 'node:os';
import { KafkajsAdmin } from '../../src/kafka/kafkajs-admin';
import type { KafkaSnapshot } from '../../src/monitor/snapshot';
import { KafkaObserver } from '../../src/monitor/observe';
import { systemClock } from '../../src/util/clock';
import { OffsetCommitter } from '../harness/commit-offsets';
import { startKafka } from '../harness/kafka';
import { waitFor } from '../harness/wait';
import { SimulatedGroup, Workload } from '../harness/workload';
import { arg, summarizeMs } from './util';

const TOPIC = 'hung-orders';
const PARTITIONS = 6;
const GROUPS = 6;
const POLL_MS = 1_000;
const PING_TIMEOUT_MS = 800;
const lag = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning' as const, overrides: [] };

interface Cycle {
  readonly stage: 'before' | 'paused' | 'resumed';
  /** since the SIGSTOP (negative before it) */
  readonly startedAfterPauseMs: number;
  readonly ms: number;
  readonly phases: Record<string, number>;
  readonly pausedReachable: boolean | null;
  /** partitions the paused broker leads per this snapshot's metadata */
  readonly pausedLeads: number;
  /** groups whose offsets this cycle read from their coordinator (not as last seen) */
  readonly groupsRead: number;
  /** the controller quorum's answer: `unanswered` costs the cycle the quorum deadline */
  readonly quorum: string | null;
}

const progress = (what: string) => console.error(`# ${new Date().toISOString()} ${what}`);

function summarize(stage: Cycle['stage'], snap: KafkaSnapshot, paused: number, ms: number, startedAfterPauseMs: number, phases: Record<string, number>): Cycle {
  if (!snap.ok) return { stage, startedAfterPauseMs, ms, phases, pausedReachable: null, pausedLeads: 0, groupsRead: 0, quorum: null };
  return {
    stage,
    startedAfterPauseMs,
    ms,
    phases,
    pausedReachable: snap.brokers.find((b) => b.nodeId === paused)?.reachable ?? null,
    pausedLeads: snap.partitions.filter((p) => p.leader === paused).length,
    groupsRead: snap.groups.filter((g) => g.error === undefined && !/as last seen/.test(g.state)).length,
    quorum: snap.quorum.state === 'described' ? `described, leader ${snap.quorum.leaderId}` : snap.quorum.state,
  };
}

async function main(): Promise<void> {
  let paused = arg('broker', 1);
  const pauseMs = arg('pause-s', 7) * 1000;
  const trace = process.argv.includes('--trace');
  const inFlight = process.argv.includes('--in-flight');
  const load0 = os.loadavg()[0] as number;
  progress('starting 3 brokers');
  const cluster = await startKafka({ brokers: 3, name: 'bench-observe-hung' });
  const admin = new KafkajsAdmin({ brokers: cluster.bootstrap, clientId: 'bench-observe-hung', ssl: false, connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 });
  const workload = new Workload({ bootstrap: cluster.bootstrap, topic: TOPIC, partitions: PARTITIONS, ratePerSec: 5 });
  const committer = new OffsetCommitter(cluster.bootstrap);
  const groups: SimulatedGroup[] = [];
  let resumed = true;
  const cycles: Cycle[] = [];
  try {
    await cluster.createTopic(TOPIC, { partitions: PARTITIONS, replicationFactor: 3 });
    await workload.start();
    for (let g = 0; g < GROUPS; g++) {
      const sg = new SimulatedGroup(workload, `hung-group-${g}`, TOPIC, PARTITIONS, () => ({ latencyMs: 1_000 }), 200, committer);
      groups.push(sg);
      sg.start();
    }
    await waitFor(() => groups.every((g) => g.committed.some((c) => c > 0)), { timeoutMs: 120_000, intervalMs: 200, what: 'every group committed' });
    const observer = new KafkaObserver(admin, { lag, groups: { include: ['hung-group-*'], exclude: [] }, topics: { include: [TOPIC], exclude: [] }, brokerPingTimeoutMs: PING_TIMEOUT_MS }, systemClock);

    let pausedAt = Number.NaN;
    const cycle = async (stage: Cycle['stage']) => {
      const started = performance.now();
      const snap = await observer.observe();
      const ms = Math.round(performance.now() - started);
      const c = summarize(stage, snap, paused, ms, Number.isNaN(pausedAt) ? -1 : Math.round(started - pausedAt), observer.lastPhasesMs);
      cycles.push(c);
      if (trace) console.error(JSON.stringify(c));
      await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (performance.now() - started))));
      return snap;
    };

    // every group described with its coordinator, then a few steady cycles
    await waitFor(
      async () => {
        const snap = await cycle('before');
        return snap.ok && snap.groups.length === GROUPS && snap.groups.every((g) => g.coordinator !== undefined);
      },
      { timeoutMs: 60_000, intervalMs: 0, what: 'every group described with its coordinator' },
    );
    let last: KafkaSnapshot | undefined;
    for (let i = 0; i < 4; i++) last = await cycle('before');
    if (!last?.ok) throw new Error(`the last cycle before the pause failed: ${last && !last.ok ? last.error : ''}`);
    if (process.argv.includes('--quorum-leader')) {
      if (last.quorum.state !== 'described' || last.quorum.leaderId === null) throw new Error(`no quorum leader to pause: ${JSON.stringify(last.quorum)}`);
      paused = last.quorum.leaderId;
    }
    const coordinated = last.groups.filter((g) => g.coordinator === paused).map((g) => g.group);
    progress(`pausing broker ${paused} (coordinator of ${coordinated.length} group(s): ${coordinated.join(', ') || 'none'})`);

    const pause = () => {
      pausedAt = performance.now();
      cluster.pause(paused);
      resumed = false;
    };
    if (inFlight) {
      // the next cycle pings every broker, then finds the paused one stopped under its requests
      const ping = admin.pingBrokers.bind(admin);
      admin.pingBrokers = async (brokers, timeoutMs) => {
        const pings = await ping(brokers, timeoutMs);
        if (Number.isNaN(pausedAt)) pause();
        return pings;
      };
    } else {
      pause();
    }
    do await cycle('paused');
    while (performance.now() - pausedAt < pauseMs);
    cluster.resume(paused);
    resumed = true;
    progress(`broker ${paused} resumed`);
    for (let i = 0; i < 4; i++) await cycle('resumed');

    const of = (stage: Cycle['stage']) => cycles.filter((c) => c.stage === stage);
    const before = of('before').slice(-4);
    const during = of('paused');
    const after = of('resumed');
    const phaseMax = (cs: readonly Cycle[]) => {
      const out: Record<string, number> = {};
      for (const c of cs) for (const [k, v] of Object.entries(c.phases)) out[k] = Math.max(out[k] ?? 0, v);
      return out;
    };
    console.log(
      JSON.stringify({
        bench: 'observe-hung',
        pausedBroker: paused,
        pauseMs,
        pauseLands: inFlight ? 'in flight' : 'between cycles',
        groupsCoordinatedByPaused: coordinated.length,
        requestTimeoutMs: 5_000,
        pingTimeoutMs: PING_TIMEOUT_MS,
        before: { cycles: before.length, cycleMs: summarizeMs(before.map((c) => c.ms)), phaseMaxMs: phaseMax(before) },
        paused: {
          cycles: during.length,
          cycleMs: during.map((c) => c.ms),
          phaseMaxMs: phaseMax(during),
          pausedSeenUnreachable: during.map((c) => c.pausedReachable === false),
          pausedLeads: during.map((c) => c.pausedLeads),
          groupsRead: during.map((c) => c.groupsRead),
          quorum: during.map((c) => c.quorum),
        },
        resumed: { cycles: after.length, cycleMs: after.map((c) => c.ms) },
        loadavg: { before: load0, after: os.loadavg()[0] },
      }),
    );
  } catch (err) {
    cluster.markFailed();
    console.error(cluster.logReport(40));
    throw err;
  } finally {
    if (!resumed) cluster.resume(paused);
    await Promise.allSettled(groups.map((g) => g.stop()));
    await Promise.allSettled([workload.stop(), committer.close(), admin.close()]);
    await cluster.shutdown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
