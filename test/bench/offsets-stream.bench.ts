/**
 * Commits as a stream at scale (issue 9, docs/design.md §3.6): N groups × P partitions, each
 * group committing every period, read by the commit stream and, in the same run, by polling
 * (OffsetFetch per group per cycle) for comparison. Targets (issue 9, 10,000 × 10 every 5 s):
 * offsets current within p99 ≤ 50 ms of the commit, leader CPU ≤ 25 % of one core,
 * requests/s to the cluster independent of the number of groups, ≤ 200 MB RSS.
 *
 *   npm run build && node scripts/run-bench.js offsets-stream [--groups 10000] [--partitions 10]
 *     [--period-s 5] [--seconds 60] [--mode stream|poll|both] [--brokers 1] [--connections 4]
 *     [--sample-groups 200] [--pace-ms N] [--leader-prof DIR] [--leader-trace-gc] [--heap-default]
 *
 * One cluster (1 broker by default; `offsets.topic.num.partitions` at Kafka's default 50),
 * one topic of P partitions. The load (test/harness/offsets-load.ts) commits for N simple
 * groups without consumers, spread evenly over the period; it runs in this process, whose
 * CPU is reported apart. The vigil side runs in a child process (this file with `--leader`),
 * so that its CPU (process.cpuUsage) and RSS are its own. Windows of `--seconds` each:
 *
 *   stream         the CommitStream alone, over KafkajsOffsetsLog (every replica runs this)
 *   stream-leader  the same process also runs the leader's cycle every second (KafkaObserver
 *                  with `commits` from the stream, then detect, decide and the cycle's
 *                  metrics — what the leader's settle does, without Redis and the channels)
 *   poll           a fresh process running the leader's cycle without the stream
 *
 * "Current within": for the commits of `--sample-groups` groups (partition 0), the time from
 * the OffsetCommit answer reaching the load to the stream's committed(group) showing the
 * offset: the time just after the stream folded the Fetch answer that brought it (a tick
 * queued as the answer returns runs after the fold; committed(group) is then checked to
 * show it — the reader is wrapped, no hook in the stream), or in poll mode the end of the
 * first cycle whose snapshot shows it.
 * Requests are counted at the client (every request through kafkajs's connection pools of
 * the child). At the end of the stream windows the load pauses and every group's offsets
 * in the stream are compared with the last commit the load saw acknowledged (mismatches
 * must be 0). Broker CPU is read from /proc. One JSON line per window, then a summary.
 *
 *   --pace-ms N       an experiment, not what vigil does: the stream's Fetches to a broker
 *                     sent at least N ms apart (the bench's reader waits), to show what a
 *                     paced fetch loop would cost and give
 *   --leader-prof DIR V8 CPU profiles of the leader children (--cpu-prof) into DIR
 *   --leader-trace-gc the leader children's garbage collections on stdout (--trace-gc)
 *   --heap-default    the leader children keep V8's default heap growth instead of the
 *                     bound `vigil run` sets (src/util/heap.ts), for comparison
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { emptyAlertState, type AlertState } from '../../src/alerting/alert-state';
import { decide } from '../../src/alerting/decide';
import type { KafkaConfig } from '../../src/config/types';
import { addressOf, KafkajsAdmin } from '../../src/kafka/kafkajs-admin';
import { KafkajsOffsetsLog } from '../../src/kafka/kafkajs-offsets-log';
import { OFFSETS_TOPIC, offsetsPartitionFor, type OffsetsLogAnswer, type OffsetsLogEntry, type OffsetsLogReader } from '../../src/kafka/offsets-log';
import type { BrokerInfo } from '../../src/kafka/types';
import { silentLogger } from '../../src/log';
import { CommitStream } from '../../src/monitor/commit-stream';
import { detectOptionsFor, detectSliced, emptyDetectMemory } from '../../src/monitor/detect';
import { LagSeries } from '../../src/monitor/lag-metrics';
import { KafkaObserver } from '../../src/monitor/observe';
import { createMetrics } from '../../src/metrics';
import { recordCycleMetricsSliced } from '../../src/reconcile/cycle-metrics';
import { boundHeapGrowth } from '../../src/util/heap';
import { TimeSlices } from '../../src/util/slices';
import { systemClock } from '../../src/util/clock';
import { OffsetCommitter } from '../harness/commit-offsets';
import { startKafka } from '../harness/kafka';
import { OffsetsLoad, wallMs } from '../harness/offsets-load';
import { waitFor } from '../harness/wait';
import { arg, count, procCpuMs, stringArg, summarizeMs } from './util';

const GROUPS = arg('groups', 10_000);
const PARTITIONS = arg('partitions', 10);
const PERIOD_MS = arg('period-s', 5) * 1000;
const SECONDS = arg('seconds', 60);
const MODE = stringArg('mode', 'both', ['stream', 'poll', 'both']);
const BROKERS = arg('brokers', 1);
const CONNECTIONS = arg('connections', 4);
const SAMPLE_GROUPS = Math.min(GROUPS, arg('sample-groups', 200));
const PACE_MS = count('pace-ms', 0);
const TOPIC = 'bench-commits';
const PREFIX = 'bench-g-';
const CYCLE_MS = 1000; // monitor.pollInterval's default
const lag = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning' as const, overrides: [] };

/** `--name <value>` as given, or null. */
const stringValue = (name: string): string | null => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
};
const progress = (what: string) => console.error(`# ${new Date().toISOString()} ${what}`);
const groupName = (i: number) => `${PREFIX}${i}`;
/** Whether `entries` hold the group's commit of `offset` on the bench topic's partition 0. */
const broughtBy = (entries: readonly OffsetsLogEntry[], group: string, offset: number): boolean =>
  entries.some((e) => e.kind === 'record' && e.record.kind === 'offset-commit' && e.record.group === group && e.record.topic === TOPIC && e.record.partition === 0 && e.record.value?.offset === offset);
const sampleStep = Math.max(1, Math.floor(GROUPS / SAMPLE_GROUPS));
const isSampled = (i: number) => i % sampleStep === 0;
const kafkaConfig = (bootstrap: readonly string[], clientId: string): KafkaConfig => ({ brokers: bootstrap, clientId, ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 });
const round1 = (x: number) => Math.round(x * 10) / 10;
const mb = (bytes: number) => round1(bytes / 1024 / 1024);

// ---- messages between this process and the leader child -------------------------------

type ToLeader =
  | { type: 'init'; mode: 'stream' | 'poll'; bootstrap: string[] }
  | { type: 'observer' }
  | { type: 'measure' }
  | { type: 'stop' }
  | { type: 'verify'; lastAcked: number[]; freshAfterMs: number }
  | { type: 'exit' };

interface WindowResult {
  type: 'result';
  wallMs: number;
  cpuMs: number;
  rssMaxMb: number;
  rssEndMb: number;
  heapUsedAfterGcMb: number;
  /** process.memoryUsage() when RSS peaked (MB): V8's heap, its used part, memory outside it */
  atRssMax: { heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  requests: Record<string, number>;
  fetchesByStream: number;
  cycles: number[];
  cycleRequests: Record<string, number>;
  /** ms per measured cycle, summed by phase (the observer's lastPhasesMs, plus detect and decide) */
  cyclePhases: Record<string, number>;
  /** the event loop's delays in the window (ms): what holds up the stream's folding */
  loopDelayMs: { p50: number; p99: number; max: number };
  offsetsRead: { streamed: number; polled: number } | null;
  /** [group index, offset, wall ms seen] for the sampled groups' partition 0 */
  seen: [number, number, number][];
  streamStatus: unknown;
}

type FromLeader = { type: 'ready' } | { type: 'observing' } | { type: 'measuring' } | WindowResult | { type: 'verified'; checked: number; mismatches: number; examples: string[]; waitedMs: number };

// ---- the leader child -------------------------------------------------------------------

/** Counts every request sent through kafkajs's connection pools of this process, by API. */
function countRequests(): Record<string, number> {
  const counts: Record<string, number> = {};
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ConnectionPool = require('kafkajs/src/network/connectionPool');
  const send = ConnectionPool.prototype.send;
  ConnectionPool.prototype.send = function (this: unknown, req: { request: { apiName: string } }) {
    const name = req.request.apiName;
    counts[name] = (counts[name] ?? 0) + 1;
    return send.call(this, req);
  };
  return counts;
}

/** The offsets log as the stream reads it, with the fetches counted and each answer handed on after the stream has folded it. */
class WatchedLog implements OffsetsLogReader {
  fetches = 0;
  private lastSentMs = Number.NEGATIVE_INFINITY;
  constructor(
    private readonly inner: OffsetsLogReader,
    /** the answers, and a time just after the stream folded them (the check itself runs later, in an immediate) */
    private readonly folded: (answers: OffsetsLogAnswer[], foldedAtMs: number) => void,
    /** --pace-ms: the experiment of a paced loop, each Fetch sent at least this long after the one before (0: as the stream sends them) */
    private readonly paceMs = 0,
  ) {}
  layout() {
    return this.inner.layout();
  }
  async fetch(broker: BrokerInfo, positions: ReadonlyMap<number, number>, maxWaitMs: number): Promise<OffsetsLogAnswer[]> {
    const waitMs = this.lastSentMs + this.paceMs - performance.now();
    if (this.paceMs > 0 && waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    this.lastSentMs = performance.now();
    const answers = await this.inner.fetch(broker, positions, maxWaitMs);
    this.fetches++;
    // The stream folds the answer in the continuation of this await, in the same run of
    // microtasks; a tick queued now runs after that run, so its time is just after the fold.
    process.nextTick(() => {
      const foldedAtMs = wallMs();
      setImmediate(() => this.folded(answers, foldedAtMs));
    });
    return answers;
  }
  close() {
    return this.inner.close();
  }
}

async function leader(): Promise<void> {
  // the heap policy `vigil run` sets for every replica (src/util/heap.ts), unless asked to measure V8's default
  if (!process.argv.includes('--heap-default')) boundHeapGrowth();
  const counts = countRequests();
  const send = (m: FromLeader) => (process.send as (m: unknown) => void)(m);
  const init = await new Promise<ToLeader & { type: 'init' }>((resolve) => process.once('message', (m) => resolve(m as ToLeader & { type: 'init' })));
  const config = kafkaConfig(init.bootstrap, 'bench-leader');
  const sampled = Array.from({ length: GROUPS }, (_, i) => i).filter(isSampled);
  const names = Array.from({ length: GROUPS }, (_, i) => groupName(i));
  const lastSeen = new Map<number, number>(sampled.map((i) => [i, 0]));
  let seen: [number, number, number][] = [];

  let stream: CommitStream | null = null;
  let log: WatchedLog | null = null;
  if (init.mode === 'stream') {
    // sampled groups by their offsets partition: an answer is checked only for the groups it can move
    let byPartition: Map<number, number[]> | null = null;
    log = new WatchedLog(new KafkajsOffsetsLog(config, silentLogger), (answers, foldedAtMs) => {
      if (!stream) return;
      const now = wallMs();
      if (byPartition === null) {
        const st = stream.status();
        if (st.state !== 'tailing') return;
        byPartition = new Map();
        for (const i of sampled) {
          const p = offsetsPartitionFor(groupName(i), st.partitions);
          byPartition.set(p, [...(byPartition.get(p) ?? []), i]);
        }
      }
      for (const a of answers) {
        if (a.kind !== 'entries' || a.entries.length === 0) continue;
        const sampledHere = byPartition.get(a.partition) ?? [];
        if (sampledHere.length === 0) continue;
        for (const i of sampledHere) {
          const offset = stream.committed(names[i] as string)?.get(TOPIC)?.get(0);
          if (offset !== undefined && offset > (lastSeen.get(i) as number)) {
            // seen when it was folded if this answer brought it (partition 0 of the bench
            // topic); the answer is searched only then (this runs in the measured process)
            const at = broughtBy(a.entries, names[i] as string, offset) ? foldedAtMs : now;
            lastSeen.set(i, offset);
            seen.push([i, offset, at]);
          }
        }
      }
    }, PACE_MS);
    stream = new CommitStream(log, systemClock, silentLogger);
    stream.start();
    await waitFor(
      () => {
        const st = (stream as CommitStream).status();
        return st.state === 'tailing' && st.vouched === st.partitions;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: `the stream tailing every ${OFFSETS_TOPIC} partition` },
    );
  }
  send({ type: 'ready' });

  const admin = new KafkajsAdmin(config, silentLogger);
  const observer = new KafkaObserver(
    admin,
    { lag, groups: { include: [`${PREFIX}*`], exclude: [] }, topics: { include: [TOPIC], exclude: [] }, brokerPingTimeoutMs: 800, ...(stream ? { commits: stream } : {}) },
    systemClock,
  );
  const opts = detectOptionsFor(lag);
  const metrics = createMetrics({ nodeId: 'bench-leader', cluster: 'bench' });
  const lagSeries = new LagSeries();
  let memory = emptyDetectMemory();
  let state: AlertState = emptyAlertState();
  let cycles: number[] = [];
  let cycleCount = 0;
  let observing = false;
  let measuring = false;
  const cycleRequests: Record<string, number> = {};
  const cyclePhases: Record<string, number> = {};
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  const cycleLoop = async () => {
    while (observing) {
      const started = performance.now();
      const before = { ...counts };
      const fetchesBefore = log?.fetches ?? 0;
      const snap = await observer.observe();
      const at = wallMs();
      // as the leader's settle does (src/reconcile/loop.ts): detect, decide, the metrics,
      // with the event loop let through between them
      const observed = performance.now();
      const slices = new TimeSlices(systemClock);
      const d = await detectSliced(snap, memory, opts, slices);
      await slices.breathe();
      const dd = decide(d.findings, state, Date.now(), { cluster: 'bench', lag: d.lag });
      memory = d.memory;
      state = dd.state;
      const decided = performance.now();
      await slices.breathe();
      const metricsFrom = performance.now();
      await recordCycleMetricsSliced(metrics, lagSeries, snap, d.findings, [], slices);
      const ms = performance.now() - started;
      const phases = { ...observer.lastPhasesMs, 'detect+decide': decided - observed, metrics: performance.now() - metricsFrom };
      if (!snap.ok) progress(`leader: cycle failed: ${snap.error}`);
      else if (!stream) {
        // poll mode: a commit is visible to the leader when a cycle's snapshot shows it
        for (const g of snap.groups) {
          const i = Number(g.group.slice(PREFIX.length));
          const last = lastSeen.get(i);
          if (last === undefined) continue;
          const offset = g.partitions.find((p) => p.topic === TOPIC && p.partition === 0)?.committed;
          if (offset !== undefined && offset > last) {
            lastSeen.set(i, offset);
            seen.push([i, offset, at]);
          }
        }
      }
      cycleCount++;
      if (measuring) {
        cycles.push(ms);
        for (const [k, v] of Object.entries(phases)) cyclePhases[k] = (cyclePhases[k] ?? 0) + v;
        for (const [k, v] of Object.entries(counts)) cycleRequests[k] = (cycleRequests[k] ?? 0) + v - (before[k] ?? 0);
        // the stream's own Fetches during the cycle are not the cycle's
        cycleRequests['Fetch'] = (cycleRequests['Fetch'] ?? 0) - ((log?.fetches ?? 0) - fetchesBefore);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, CYCLE_MS - (performance.now() - started))));
    }
  };

  let rssMax = 0;
  let atRssMax = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sampleRss = () => {
    const m = process.memoryUsage();
    if (m.rss < rssMax) return;
    rssMax = m.rss;
    atRssMax = { heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
  };
  const rssTimer = setInterval(sampleRss, 1000);
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  let counts0: Record<string, number> = {};
  let fetches0 = 0;
  let loop: Promise<void> | null = null;

  process.on('message', (raw) => {
    const m = raw as ToLeader;
    void (async () => {
      switch (m.type) {
        case 'observer': {
          observing = true;
          const target = cycleCount + 3;
          loop = cycleLoop();
          await waitFor(() => cycleCount >= target, { timeoutMs: 300_000, intervalMs: 100, what: 'three leader cycles' });
          send({ type: 'observing' });
          return;
        }
        case 'measure':
          seen = [];
          cycles = [];
          for (const k of Object.keys(cycleRequests)) delete cycleRequests[k];
          for (const k of Object.keys(cyclePhases)) delete cyclePhases[k];
          loopDelay.reset();
          loopDelay.enable();
          rssMax = 0;
          sampleRss();
          counts0 = { ...counts };
          fetches0 = log?.fetches ?? 0;
          wall0 = performance.now();
          cpu0 = process.cpuUsage();
          measuring = true;
          send({ type: 'measuring' });
          return;
        case 'stop': {
          const cpu = process.cpuUsage(cpu0);
          const wall = performance.now() - wall0;
          measuring = false;
          loopDelay.disable();
          const ns = (x: number) => round1(x / 1e6);
          const requests: Record<string, number> = {};
          for (const [k, v] of Object.entries(counts)) if (v - (counts0[k] ?? 0) > 0) requests[k] = v - (counts0[k] ?? 0);
          sampleRss();
          const rssEnd = process.memoryUsage.rss();
          (globalThis as { gc?: () => void }).gc?.();
          send({
            type: 'result',
            wallMs: wall,
            cpuMs: (cpu.user + cpu.system) / 1000,
            rssMaxMb: mb(Math.max(rssMax, rssEnd)),
            rssEndMb: mb(rssEnd),
            heapUsedAfterGcMb: mb(process.memoryUsage().heapUsed),
            atRssMax,
            requests,
            fetchesByStream: (log?.fetches ?? 0) - fetches0,
            cycles,
            cycleRequests,
            cyclePhases,
            loopDelayMs: { p50: ns(loopDelay.percentile(50)), p99: ns(loopDelay.percentile(99)), max: ns(loopDelay.max) },
            offsetsRead: cycles.length > 0 ? observer.lastOffsetsRead : null,
            seen,
            streamStatus: stream?.status() ?? null,
          });
          return;
        }
        case 'verify': {
          const s = stream as CommitStream;
          const t0 = performance.now();
          // every partition fresh as of a Fetch sent after the last acknowledged commit
          // (freshen sends one Fetch per partition not yet fresh at that instant, then answers at once)
          await waitFor(
            async () => {
              for (let i = 0; i < GROUPS; i++) if (!(await s.freshen(groupName(i), m.freshAfterMs))) return false;
              return true;
            },
            { timeoutMs: 30_000, intervalMs: 50, what: 'the stream fresh past the last commit' },
          );
          let mismatches = 0;
          const examples: string[] = [];
          for (let i = 0; i < GROUPS; i++) {
            const want = m.lastAcked[i] as number;
            const got = s.committed(groupName(i))?.get(TOPIC);
            for (let p = 0; p < PARTITIONS; p++) {
              const o = got?.get(p);
              if (o === want) continue;
              mismatches++;
              if (examples.length < 5) examples.push(`${groupName(i)}/${p}: stream ${o ?? 'none'}, acknowledged ${want}`);
            }
          }
          send({ type: 'verified', checked: GROUPS * PARTITIONS, mismatches, examples, waitedMs: Math.round(performance.now() - t0) });
          return;
        }
        case 'exit':
          observing = false;
          await loop;
          clearInterval(rssTimer);
          await stream?.stop();
          await admin.close();
          process.exit(0);
      }
    })().catch((err) => {
      console.error(err);
      process.exit(1);
    });
  });
}

// ---- the bench --------------------------------------------------------------------------

class Leader {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, (m: FromLeader) => void>();
  private exited: Promise<void>;

  constructor(mode: 'stream' | 'poll', bootstrap: string[]) {
    const prof = stringValue('leader-prof');
    const execArgv = [...process.execArgv, ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=leader-${mode}.cpuprofile`] : []), ...(process.argv.includes('--leader-trace-gc') ? ['--trace-gc'] : [])];
    this.child = fork(__filename, ['--leader', ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('message', (raw) => {
      const m = raw as FromLeader;
      const w = this.waiting.get(m.type);
      this.waiting.delete(m.type);
      w?.(m);
    });
    this.child.send({ type: 'init', mode, bootstrap } satisfies ToLeader);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  ask<T extends FromLeader['type']>(msg: ToLeader | null, reply: T, timeoutMs = 120_000): Promise<FromLeader & { type: T }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the leader child did not answer ${reply} within ${timeoutMs} ms`)), timeoutMs);
      this.child.once('exit', (code) => reject(new Error(`the leader child exited (${code}) before ${reply}`)));
      this.waiting.set(reply, (m) => {
        clearTimeout(timer);
        resolve(m as FromLeader & { type: T });
      });
      if (msg) this.child.send(msg);
    });
  }

  async exit(): Promise<void> {
    if (this.child.exitCode === null) this.child.send({ type: 'exit' } satisfies ToLeader);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

interface WindowOut {
  window: string;
  [k: string]: unknown;
}

async function main(): Promise<void> {
  progress(`starting ${BROKERS} broker(s); ${GROUPS} groups × ${PARTITIONS} partitions every ${PERIOD_MS / 1000} s, windows of ${SECONDS} s, mode ${MODE}`);
  const cluster = await startKafka({ brokers: BROKERS, name: 'bench-offsets-stream', brokerOverrides: { 'offsets.topic.num.partitions': 50 } });
  const leaders: Leader[] = [];
  let load: OffsetsLoad | null = null;
  const out: WindowOut[] = [];
  try {
    const bootstrap = [...cluster.bootstrap];
    await cluster.createTopic(TOPIC, { partitions: PARTITIONS, replicationFactor: Math.min(3, BROKERS) });
    // the first commit creates __consumer_offsets
    const committer = new OffsetCommitter(bootstrap);
    await committer.commit('bench-init', [{ topic: TOPIC, partition: 0, offset: 0 }]);
    await committer.close();
    const reader = new KafkajsOffsetsLog(kafkaConfig(bootstrap, 'bench-layout'));
    const layout = await waitFor(
      async () => {
        const l = await reader.layout();
        return l.state === 'ok' && [...l.leaders.values()].every((b) => b !== null) ? l : null;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `every ${OFFSETS_TOPIC} partition led` },
    );
    await reader.close();
    if (layout.state !== 'ok') throw new Error('unreachable');
    progress(`${OFFSETS_TOPIC}: ${layout.partitions} partitions`);
    const groups = Array.from({ length: GROUPS }, (_, i) => groupName(i));
    load = new OffsetsLoad({
      groups,
      coordinatorOf: (g) => addressOf(layout.leaders.get(offsetsPartitionFor(g, layout.partitions)) as BrokerInfo),
      topic: TOPIC,
      partitions: PARTITIONS,
      periodMs: PERIOD_MS,
      connectionsPerBroker: CONNECTIONS,
      sampled: isSampled,
    });
    const brokerPids = cluster.brokerIds.map((id) => cluster.pid(id)).filter((p): p is number => typeof p === 'number');
    const brokerCpuMs = () => brokerPids.reduce((s, p) => s + procCpuMs(p), 0);

    /** One measurement window: the load's figures, the broker's CPU and the leader child's. */
    const measure = async (window: string, child: Leader): Promise<WindowOut> => {
      const l = load as OffsetsLoad;
      // the child first: a commit it saw before its reset must not be a sample
      await child.ask({ type: 'measure' }, 'measuring');
      l.resetCounters();
      const cpu0 = process.cpuUsage();
      const broker0 = brokerCpuMs();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, SECONDS * 1000));
      const r = (await child.ask({ type: 'stop' }, 'result')) as WindowResult;
      const wall = performance.now() - t0;
      const stoppedAt = wallMs();
      const cpu = process.cpuUsage(cpu0);
      const brokerMs = brokerCpuMs() - broker0;
      // join the sampled acknowledgements with when the leader first saw each offset
      // (the first offset seen at or past the commit's: a slow poll cycle may skip one)
      const seenOf = new Map<number, [number, number][]>();
      for (const [g, o, at] of r.seen) {
        let list = seenOf.get(g);
        if (!list) seenOf.set(g, (list = []));
        list.push([o, at]);
      }
      const current: number[] = [];
      let unseen = 0;
      for (const s of l.samples) {
        const at = seenOf.get(s.group)?.find(([o]) => o >= s.offset)?.[1];
        if (at !== undefined) current.push(at - s.ackAtMs);
        // a commit acknowledged in the last 10 s of the window may be seen only after it
        else if (s.ackAtMs < stoppedAt - 10_000) unseen++;
      }
      const perSec = (n: number) => round1(n / (r.wallMs / 1000));
      const requestsPerSec: Record<string, number> = {};
      let total = 0;
      for (const [k, v] of Object.entries(r.requests)) {
        requestsPerSec[k] = perSec(v);
        total += v;
      }
      const phases: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.cyclePhases)) phases[k] = round1(v / Math.max(1, r.cycles.length));
      const perCycle: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.cycleRequests)) if (v > 0) perCycle[k] = round1(v / Math.max(1, r.cycles.length));
      const w: WindowOut = {
        window,
        groups: GROUPS,
        partitions: PARTITIONS,
        periodS: PERIOD_MS / 1000,
        ...(PACE_MS > 0 ? { paceMs: PACE_MS } : {}),
        seconds: round1(r.wallMs / 1000),
        currentWithinMs: summarizeMs(current),
        samplesUnseen: unseen,
        leaderCpuPct: round1((r.cpuMs / r.wallMs) * 100),
        leaderRssMaxMb: r.rssMaxMb,
        leaderRssEndMb: r.rssEndMb,
        leaderHeapUsedAfterGcMb: r.heapUsedAfterGcMb,
        leaderAtRssMaxMb: r.atRssMax,
        requestsPerSec: { total: perSec(total), ...requestsPerSec },
        streamFetchesPerSec: perSec(r.fetchesByStream),
        leaderLoopDelayMs: r.loopDelayMs,
        ...(r.cycles.length > 0 ? { cycles: r.cycles.length, cycleMs: summarizeMs(r.cycles), cyclePhasesMeanMs: phases, requestsPerCycle: perCycle, offsetsRead: r.offsetsRead } : {}),
        ...(r.streamStatus ? { streamStatus: r.streamStatus } : {}),
        load: {
          commitsPerSec: round1(l.acked / (wall / 1000)),
          sent: l.sent,
          acked: l.acked,
          errors: Object.fromEntries(l.errors),
          ackMs: summarizeMs(l.samples.map((s) => s.ackAtMs - s.sentAtMs)),
          maxInFlight: l.maxInFlight,
          maxSendLagMs: round1(l.maxSendLagMs),
          cpuPct: round1(((cpu.user + cpu.system) / 1000 / wall) * 100),
        },
        brokerCpuPct: round1((brokerMs / wall) * 100),
      };
      console.log(JSON.stringify({ bench: 'offsets-stream', ...w }));
      out.push(w);
      return w;
    };

    /** Starts the load (or resumes it) and waits until every group has committed since. */
    const loadRunning = async (first: boolean) => {
      const l = load as OffsetsLoad;
      const before = Int32Array.from(l.lastAcked);
      if (first) await l.start();
      else l.resume();
      await waitFor(() => l.lastAcked.every((o, i) => o > (before[i] as number)), { timeoutMs: PERIOD_MS * 6 + 60_000, intervalMs: 200, what: 'every group committing' });
    };

    let verified: FromLeader | null = null;
    let started = false;
    if (MODE !== 'poll') {
      progress('stream: starting the leader child');
      const child = new Leader('stream', bootstrap);
      leaders.push(child);
      await child.ask(null, 'ready');
      progress('stream: tailing; starting the load');
      await loadRunning(true);
      started = true;
      // one more period so that every group's coordinator state and the JIT have settled
      await new Promise((r) => setTimeout(r, PERIOD_MS));
      progress('stream: measuring the stream alone');
      await measure('stream', child);
      progress('stream: starting the leader cycle');
      await child.ask({ type: 'observer' }, 'observing', 600_000);
      progress('stream: measuring the leader in stream mode');
      await measure('stream-leader', child);
      progress('stream: pausing the load; comparing every offset');
      await load.pause();
      const freshAfterMs = Math.ceil(Math.max(...load.lastAckAtMs)) + 1;
      verified = await child.ask({ type: 'verify', lastAcked: [...load.lastAcked], freshAfterMs }, 'verified', 60_000);
      console.log(JSON.stringify({ bench: 'offsets-stream', window: 'verify', ...verified, type: undefined }));
      await child.exit();
    }
    if (MODE !== 'stream') {
      progress('poll: starting the leader child');
      const child = new Leader('poll', bootstrap);
      leaders.push(child);
      await child.ask(null, 'ready');
      await loadRunning(!started);
      if (!started) await new Promise((r) => setTimeout(r, PERIOD_MS));
      progress('poll: starting the leader cycle');
      await child.ask({ type: 'observer' }, 'observing', 600_000);
      progress('poll: measuring the leader in poll mode');
      await measure('poll', child);
      await child.exit();
    }
    const by = new Map(out.map((w) => [w.window, w]));
    const figure = (w: string | undefined, f: (x: WindowOut) => unknown) => (w && by.has(w) ? f(by.get(w) as WindowOut) : null);
    console.log(
      JSON.stringify({
        bench: 'offsets-stream',
        summary: true,
        groups: GROUPS,
        partitions: PARTITIONS,
        rows: GROUPS * PARTITIONS,
        periodS: PERIOD_MS / 1000,
        brokers: BROKERS,
        kafka: cluster.kafkaVersion,
        currentWithinP99Ms: { stream: figure('stream', (x) => (x.currentWithinMs as { p99: number }).p99), streamLeader: figure('stream-leader', (x) => (x.currentWithinMs as { p99: number }).p99), poll: figure('poll', (x) => (x.currentWithinMs as { p99: number }).p99) },
        leaderCpuPct: { stream: figure('stream', (x) => x.leaderCpuPct), streamLeader: figure('stream-leader', (x) => x.leaderCpuPct), poll: figure('poll', (x) => x.leaderCpuPct) },
        requestsPerSec: { stream: figure('stream', (x) => (x.requestsPerSec as { total: number }).total), streamLeader: figure('stream-leader', (x) => (x.requestsPerSec as { total: number }).total), poll: figure('poll', (x) => (x.requestsPerSec as { total: number }).total) },
        rssMaxMb: { stream: figure('stream', (x) => x.leaderRssMaxMb), streamLeader: figure('stream-leader', (x) => x.leaderRssMaxMb), poll: figure('poll', (x) => x.leaderRssMaxMb) },
        mismatches: verified && verified.type === 'verified' ? verified.mismatches : null,
      }),
    );
    if (verified && verified.type === 'verified' && verified.mismatches > 0) process.exitCode = 1;
  } finally {
    await Promise.allSettled(leaders.map((l) => l.exit()));
    await load?.stop();
    await cluster.shutdown();
  }
}

if (process.argv.includes('--leader')) {
  leader().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
