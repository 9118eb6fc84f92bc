/**
 * The fault soak (issue 8, "Prove it"; docs/benchmarks.md): for `--minutes` a real
 * 3-broker Kafka, Redis with AOF, three vigil replicas each in its own network namespace,
 * a webhook and a PagerDuty-shaped receiver, and simulated consumer groups stalled and
 * resumed on a seeded schedule — under seeded random faults of every kind, then a quiet
 * drain, then the oracle (test/harness/soak-oracle.ts) judges every page.
 *
 *   npm run bench -- soak --minutes 3 [--seed N] [--out report.json] [--redis sentinel]
 *   npm run bench -- soak --rejudge report.json     (the oracle again on a saved run)
 *
 * Needs root (network namespaces, test/harness/netns.ts). The process builds the lab, runs
 * itself again inside the lab's service namespace (`--in-lab <tag>`), where Kafka, Redis,
 * the receivers and this driver live on 127.100.0.1, and removes the lab afterwards (also
 * on failure or a signal; a lab left by a SIGKILLed run is removed by the next one).
 * Prints one JSON line; exits non-zero when a target is missed. `--out` writes the report
 * with every finding (keys, terms, times) and the fault log.
 *
 * Faults (about one every 12 s, 300/hour; each kind drawn from a shuffled bag so every
 * kind recurs): vigil leader SIGKILL (restart after 2–5 s), SIGSTOP (SIGCONT after 1–5 s),
 * SIGTERM (restart after 1–3 s); a replica cut from its peers but not from Kafka/Redis
 * (5–20 s); broker SIGKILL (restart after 3–8 s) and SIGSTOP (SIGCONT after 2–5 s); Redis
 * restarted with its AOF and without it (files removed); a receiver down, black-holed or
 * slow (1–4 s answers) for 5–30 s. At most one fault per resource (replicas, brokers,
 * Redis, each receiver) at a time: two replicas down at once is an outage, not a fault.
 *
 * `--redis sentinel` runs Redis as a master and a replica (both with AOF) behind a pair of
 * sentinels, which vigil finds the master through; the Redis faults then hit the current
 * master (each restart is an unplanned failover) and a `sentinel-failover` kind (a planned
 * SENTINEL FAILOVER) joins the bag (test/harness/soak-redis.ts).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { type LocalKafka, startLocalKafka } from '../../src/local/kafka';
import { type LocalReplicas, startLocalReplicas } from '../../src/local/replicas';
import { type FaultReceiver, startFaultReceiver } from '../harness/fault-receiver';
import { type NetLab, createNetLab, labFor, netLabSupported } from '../harness/netns';
import { TEST_ADMIN_TOKEN, TEST_PEER_SECRET } from '../harness/replicas';
import { type FaultKind, type FaultRecord, type ReplicaExit, type SoakTimeline, judgeSoak } from '../harness/soak-oracle';
import { type SoakRedis, type SoakRedisMode, startSoakRedis } from '../harness/soak-redis';
import { waitFor } from '../harness/wait';
import { SimulatedGroup, Workload } from '../harness/workload';
import { Rng } from '../sim/prng';
import { arg } from './util';

const CLUSTER = 'soak';
const THRESHOLD_MS = 10_000;
const RESOLVE_BELOW_MS = 8_000;
const RESOLVE_FOR_MS = 3_000;
const BASE_KINDS: readonly FaultKind[] = [
  'leader-kill',
  'leader-stop',
  'leader-term',
  'peer-partition',
  'broker-kill',
  'broker-pause',
  'redis-restart-aof',
  'redis-restart-wiped',
  'receiver-down',
  'receiver-blackhole',
  'receiver-slow',
];

const progress = (what: string) => console.error(`# ${new Date().toISOString()} ${what}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Fisher–Yates with the seeded stream. */
function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

// ---------------------------------------------------------------- outside the lab

/** Builds the lab, runs the driver inside its service namespace, removes the lab. */
async function outer(): Promise<number> {
  const ok = netLabSupported();
  if (!ok.ok) {
    console.error(`soak: cannot build the network lab: ${ok.reason}`);
    return 2;
  }
  const lab = createNetLab({ replicas: 3 });
  process.on('exit', () => lab.destroy());
  progress(`lab ${lab.tag} built (namespaces ${lab.svcNs}, ${lab.replicas.map((r) => r.ns).join(', ')})`);
  const child = spawn('ip', ['netns', 'exec', lab.svcNs, process.execPath, __filename, '--in-lab', lab.tag, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  lab.destroy();
  return code;
}

// ---------------------------------------------------------------- inside the lab

interface Running {
  readonly kafka: LocalKafka;
  readonly redis: SoakRedis;
  readonly replicas: LocalReplicas;
  readonly receivers: readonly FaultReceiver[];
}

/** The seeded stall schedule of one group: stopped in [startMs, endMs), else 500 ms behind. */
function stallSchedule(rng: Rng, t0: number, untilMs: number): Array<{ startMs: number; endMs: number }> {
  const out: Array<{ startMs: number; endMs: number }> = [];
  let t = t0 + rng.uniform(5_000, 20_000);
  while (t < untilMs) {
    // long stalls page (the breach lasts 6–18 s), short ones must not
    const lengthMs = rng.chance(0.7) ? rng.uniform(16_000, 28_000) : rng.uniform(3_000, 6_000);
    out.push({ startMs: t, endMs: t + lengthMs });
    t += lengthMs + rng.uniform(8_000, 25_000);
  }
  return out;
}

async function inLab(tag: string): Promise<number> {
  const lab: NetLab = labFor(tag, 3);
  const minutes = arg('minutes', 60);
  const seedArg = flag('seed');
  const seed = seedArg !== undefined && Number.isFinite(Number(seedArg)) ? Number(seedArg) >>> 0 : Math.floor(Math.random() * 2 ** 31);
  const outFile = flag('out');
  const redisMode = (flag('redis') ?? 'standalone') as SoakRedisMode;
  if (redisMode !== 'standalone' && redisMode !== 'sentinel') {
    console.error(`soak: --redis expects standalone or sentinel; got ${String(redisMode)}`);
    return 2;
  }
  progress(`soak: ${minutes} min, seed ${seed}, redis ${redisMode} (repeat with --seed ${seed}${redisMode === 'sentinel' ? ' --redis sentinel' : ''})`);
  const rng = Rng.seeded(seed);
  const host = lab.svcAddr;

  const [kafka, redis, webhook, pagerduty] = await Promise.all([
    startLocalKafka({
      brokers: 3,
      name: 'soak',
      host,
      // leadership back to the preferred replicas soon after a broker returns, so the drain
      // does not wait out Kafka's 5-minute default with PreferredLeaderImbalance open
      brokerOverrides: { 'leader.imbalance.check.interval.seconds': 5 },
    }),
    startSoakRedis(redisMode, host),
    startFaultReceiver({ name: 'webhook', format: 'webhook', host }),
    startFaultReceiver({ name: 'pagerduty', format: 'pagerduty', host }),
  ]);
  const receivers = [webhook, pagerduty];
  progress(`kafka ${kafka.bootstrap.join(',')}, redis ${JSON.stringify(redis.config)}, receivers ${webhook.port} ${pagerduty.port}`);

  const replicas = await startLocalReplicas({
    count: 3,
    cluster: CLUSTER,
    secret: TEST_PEER_SECRET,
    adminToken: TEST_ADMIN_TOKEN,
    name: 'soak',
    // a restart on a loaded machine (three JVMs, Redis, this driver on 2 cores) can be slow
    startTimeoutMs: 60_000,
    wrap: (i, command, args) => lab.wrap(i, command, args),
    hostOf: (i) => (lab.replicas[i] as { svcAddr: string }).svcAddr,
    config: (id, self, all) => ({
      // the public API (and follower → leader forwarding) on the service net, the peer
      // protocol on the peer net: a peer-net cut is a split brain that still reaches Kafka
      node: { id, listen: `${self.host}:${self.port}`, peerListen: `${(lab.replicas[all.indexOf(self)] as { peerAddr: string }).peerAddr}:${self.peerPort}`, dataDir: self.dataDir },
      peers: all.map((r, i) => ({ id: r.id, url: r.url, peerUrl: `http://${(lab.replicas[i] as { peerAddr: string }).peerAddr}:${r.peerPort}` })),
      kafka: { brokers: kafka.bootstrap },
      redis: redis.config,
      monitor: { pollInterval: '1s' },
      lag: { threshold: '10s', resolveBelow: '8s', resolveFor: '3s' },
      alerting: {
        channels: [
          { type: 'webhook', name: 'webhook', url: webhook.url('/hook') },
          { type: 'pagerduty', name: 'pagerduty', routingKey: 'soak-routing-key-0123456789abcdef', url: pagerduty.url('/v2/enqueue') },
        ],
      },
    }),
  });
  const running: Running = { kafka, redis, replicas, receivers };
  let report: ReturnType<typeof judgeSoak> | undefined;
  let failed = true;
  try {
    report = await soak(running, lab, rng, seed, minutes, outFile);
    failed = missedTargets(report).length > 0;
  } finally {
    await shutdown(running, failed);
  }
  return report !== undefined && missedTargets(report).length === 0 ? 0 : 1;
}

function missedTargets(r: ReturnType<typeof judgeSoak>): string[] {
  const missed: string[] = [];
  if (r.lost > 0) missed.push(`lost ${r.lost}`);
  if (r.duplicates > 0) missed.push(`duplicates ${r.duplicates}`);
  if (r.falsePages > 0) missed.push(`false pages ${r.falsePages}`);
  if (r.crashes > 0) missed.push(`crashes ${r.crashes}`);
  if (r.termConflicts > 0) missed.push(`term conflicts ${r.termConflicts}`);
  if (r.staleTermPages > 0) missed.push(`stale-term pages ${r.staleTermPages}`);
  if (r.lateAfterBack > 0) missed.push(`late after a receiver came back ${r.lateAfterBack}`);
  return missed;
}

async function shutdown(r: Running, keep: boolean): Promise<void> {
  shuttingDown = true;
  await Promise.allSettled([r.replicas.shutdown({ keep }), ...r.receivers.map((x) => x.close())]);
  await Promise.allSettled([r.kafka.shutdown({ keepLogs: keep }), r.redis.shutdown({ keep })]);
  if (keep) progress(`logs kept: replicas ${r.replicas.dir}, kafka ${r.kafka.dir}, redis ${r.redis.dirs.join(' ')}`);
}

let shuttingDown = false;

async function soak(r: Running, lab: NetLab, rng: Rng, seed: number, minutes: number, outFile: string | undefined): Promise<ReturnType<typeof judgeSoak>> {
  const { kafka, redis, replicas, receivers } = r;
  const KINDS: readonly FaultKind[] = redis.mode === 'sentinel' ? [...BASE_KINDS, 'sentinel-failover'] : BASE_KINDS;
  const exits: ReplicaExit[] = [];
  const expectedPids = new Set<number>();
  const watch = (id: string) => {
    const p = replicas.get(id).process();
    if (!p) return;
    void p.exited.then((s) => {
      const expected = shuttingDown || expectedPids.has(p.pid);
      exits.push({ replica: id, atMs: Date.now(), code: s.code, signal: s.signal, expected });
      if (!expected) progress(`CRASH: replica ${id} (pid ${p.pid}) exited ${s.signal ?? `code ${s.code}`} on its own\n${replicas.logTail(id, 20)}`);
    });
  };
  for (const h of replicas.replicas) watch(h.id);
  const startReplica = async (id: string) => {
    await replicas.start(id);
    watch(id);
  };
  await replicas.waitForLeader({ timeoutMs: 60_000 });

  // workload: two topics, two groups each
  const workloads: Workload[] = [];
  const groups: Array<{ g: SimulatedGroup; key: string }> = [];
  for (const topic of ['soak-a', 'soak-b']) {
    await kafka.createTopic(topic, { partitions: 2, replicationFactor: 3 });
    const w = new Workload({ bootstrap: kafka.bootstrap, topic, partitions: 2, ratePerSec: 10 });
    await w.start();
    workloads.push(w);
    for (const name of [`${topic}-g1`, `${topic}-g2`]) {
      const g = new SimulatedGroup(w, name, topic, 2, () => ({ latencyMs: 500 }));
      g.start();
      groups.push({ g, key: `${CLUSTER}/ConsumerDeliveryLag/${name}/${topic}` });
    }
  }
  await waitFor(() => groups.every(({ g }) => g.committed.every((c) => c > 0)), { timeoutMs: 60_000, what: 'every group committed once' });
  await waitFor(
    async () => {
      const doc = JSON.parse((await replicas.request(replicas.replicas[0]!.id, 'GET', '/api/v1/lag')).text) as { groups?: Array<{ group: string }> };
      return groups.every(({ g }) => doc.groups?.some((x) => x.group === g.group));
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'every group reported by the leader' },
  );

  const t0 = Date.now();
  const faultsEndMs = t0 + minutes * 60_000;
  // the stall schedule the oracle's truth follows
  for (const { g } of groups) {
    const stalls = stallSchedule(rng.fork(), t0, faultsEndMs - 30_000);
    g.setBehaviour((now) => (stalls.some((s) => now >= s.startMs && now < s.endMs) ? 'stopped' : { latencyMs: 500 }));
  }
  const truth = new Map<string, Array<readonly [number, number]>>(groups.map(({ key }) => [key, []]));
  const sampler = setInterval(() => {
    const now = Date.now();
    for (const { g, key } of groups) truth.get(key)?.push([now, g.trueLatencyMs(now)]);
  }, 250);

  // faults
  const faults: FaultRecord[] = [];
  const busy = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const faultRng = rng.fork();
  let bag: FaultKind[] = [];
  let nextId = 1;
  const resourceOf = (k: FaultKind): string =>
    k.startsWith('leader') || k === 'peer-partition' ? 'replicas' : k.startsWith('broker') ? 'brokers' : k.startsWith('redis') || k.startsWith('sentinel') ? 'redis' : 'receiver';
  const leaderId = async (): Promise<string> => {
    const docs = await replicas.statuses();
    const leader = docs.find((d) => d.role === 'leader' && d.leaseValid);
    return leader?.nodeId ?? (replicas.replicas[faultRng.int(0, 3)] as { id: string }).id;
  };
  const receiverFree = () => receivers.filter((x) => !busy.has(`receiver:${x.name}`));
  /** The Sentinel lab back to a master with its replica before the next Redis fault. */
  const settled = async (): Promise<string> => {
    try {
      await redis.settle(60_000);
      return '';
    } catch (err) {
      return ` (not settled: ${(err as Error).message})`;
    }
  };

  const inject = async (kind: FaultKind): Promise<void> => {
    const id = nextId++;
    const startMs = Date.now();
    let target = '';
    const done = (extra = '') => {
      faults.push({ id, kind, target, startMs, endMs: Date.now() });
      progress(`fault ${id} ${kind} ${target} over (${Date.now() - startMs} ms)${extra}`);
    };
    switch (kind) {
      case 'leader-kill': {
        target = await leaderId();
        const pid = replicas.get(target).pid();
        if (pid !== undefined) expectedPids.add(pid);
        await replicas.kill(target);
        await sleep(faultRng.uniform(2000, 5000));
        await startReplica(target);
        return done();
      }
      case 'leader-stop': {
        target = await leaderId();
        replicas.pause(target);
        await sleep(faultRng.uniform(1000, 5000));
        replicas.resume(target);
        return done();
      }
      case 'leader-term': {
        target = await leaderId();
        const pid = replicas.get(target).pid();
        if (pid !== undefined) expectedPids.add(pid);
        await replicas.stop(target, 30_000);
        await sleep(faultRng.uniform(1000, 3000));
        await startReplica(target);
        return done();
      }
      case 'peer-partition': {
        target = faultRng.chance(0.5) ? await leaderId() : (replicas.replicas[faultRng.int(0, 3)] as { id: string }).id;
        const i = replicas.replicas.findIndex((h) => h.id === target);
        lab.cutPeers(i);
        await sleep(faultRng.uniform(5000, 20_000));
        lab.healPeers(i);
        return done();
      }
      case 'broker-kill': {
        const b = kafka.brokerIds[faultRng.int(0, kafka.brokerIds.length)] as number;
        target = String(b);
        await kafka.kill(b);
        await sleep(faultRng.uniform(3000, 8000));
        await kafka.start(b, { timeoutMs: 120_000 });
        return done();
      }
      case 'broker-pause': {
        const b = kafka.brokerIds[faultRng.int(0, kafka.brokerIds.length)] as number;
        target = String(b);
        kafka.pause(b);
        await sleep(faultRng.uniform(2000, 5000));
        kafka.resume(b);
        return done();
      }
      case 'redis-restart-aof':
      case 'redis-restart-wiped': {
        target = await redis.restartMaster({ wipe: kind === 'redis-restart-wiped', downMs: faultRng.uniform(1000, 3000) });
        return done(await settled());
      }
      case 'sentinel-failover': {
        target = await redis.failover();
        return done(await settled());
      }
      case 'receiver-down':
      case 'receiver-blackhole':
      case 'receiver-slow': {
        const free = receiverFree();
        const rcv = free[faultRng.int(0, free.length)] as FaultReceiver;
        target = rcv.name;
        busy.add(`receiver:${rcv.name}`);
        const slowMs = Math.round(faultRng.uniform(1000, 4000));
        await rcv.setMode(kind === 'receiver-down' ? 'down' : kind === 'receiver-blackhole' ? 'blackhole' : 'slow', { slowMs });
        await sleep(faultRng.uniform(5000, 30_000));
        await rcv.setMode('up');
        busy.delete(`receiver:${rcv.name}`);
        return done(kind === 'receiver-slow' ? ` (answers after ${slowMs} ms)` : '');
      }
      default: {
        const unreachable: never = kind;
        throw new Error(`unknown fault ${String(unreachable)}`);
      }
    }
  };

  progress(`faults from now until ${new Date(faultsEndMs).toISOString()}`);
  let faultError: unknown;
  while (Date.now() < faultsEndMs && faultError === undefined) {
    await sleep(faultRng.uniform(8000, 16_000));
    if (Date.now() >= faultsEndMs) break;
    if (bag.length === 0) bag = shuffled(faultRng, KINDS);
    // the first kind in the bag whose resource is free
    const i = bag.findIndex((k) => (resourceOf(k) === 'receiver' ? receiverFree().length > 0 : !busy.has(resourceOf(k))));
    if (i < 0) continue;
    const kind = bag.splice(i, 1)[0] as FaultKind;
    const res = resourceOf(kind);
    if (res !== 'receiver') busy.add(res);
    progress(`fault ${nextId} ${kind}`);
    const p = inject(kind)
      .catch((err: unknown) => {
        faultError = err;
        progress(`fault ${kind} could not be carried out: ${(err as Error).stack ?? String(err)}`);
      })
      .finally(() => {
        if (res !== 'receiver') busy.delete(res);
        inFlight.delete(p);
      });
    inFlight.add(p);
  }
  await Promise.allSettled([...inFlight]);
  if (faultError !== undefined) throw faultError;
  progress(`faults over (${faults.length}); draining`);

  // quiet drain: every incident resolves, every owed page goes out
  const leaderGet = async <T>(pathname: string): Promise<T> => {
    const id = await leaderId();
    const res = await replicas.request(id, 'GET', pathname, { timeoutMs: 3000 });
    if (res.status !== 200) throw new Error(`${pathname}: ${res.status}`);
    return JSON.parse(res.text) as T;
  };
  let openAtEnd: string[] = [];
  try {
    await waitFor(
      async () => {
        const alerts = (await leaderGet<{ alerts: Array<{ key: string }> }>('/api/v1/alerts')).alerts;
        const status = await leaderGet<{ redis?: { outbox?: { queued?: number } } }>('/api/v1/status');
        openAtEnd = alerts.map((a) => a.key);
        return alerts.length === 0 && (status.redis?.outbox?.queued ?? 0) === 0 && groups.every(({ g }) => g.trueLatencyMs() < 2000);
      },
      { timeoutMs: 180_000, intervalMs: 1000, what: 'no open alert and nothing owed' },
    );
  } catch (err) {
    progress(`drain: ${(err as Error).message}; still open: ${openAtEnd.join(', ')}`);
  }
  // pages already claimed may still be in their last attempt
  await sleep(8000);
  try {
    openAtEnd = (await leaderGet<{ alerts: Array<{ key: string }> }>('/api/v1/alerts')).alerts.map((a) => a.key);
  } catch {
    // keep the last answer
  }
  clearInterval(sampler);
  await Promise.allSettled(groups.map(({ g }) => g.stop()));
  await Promise.allSettled(workloads.map((w) => w.stop()));

  const timeline: SoakTimeline = {
    thresholdMs: THRESHOLD_MS,
    resolveBelowMs: RESOLVE_BELOW_MS,
    resolveForMs: RESOLVE_FOR_MS,
    receivers: receivers.map((x) => x.name),
    truth: [...truth].map(([key, samples]) => ({ key, samples })),
    pages: receivers.flatMap((x) => x.pages()),
    faults,
    exits: [...exits],
    openAtEnd,
  };
  const verdict = judgeSoak(timeline);
  const byKind: Record<string, number> = {};
  for (const k of KINDS) byKind[k] = faults.filter((f) => f.kind === k).length;
  const missed = missedTargets(verdict);
  const line = {
    bench: 'soak',
    minutes,
    redis: redis.mode,
    seed,
    faults: faults.length,
    faultsPerHour: Math.round((faults.length * 60) / minutes),
    faultsByKind: byKind,
    incidents: verdict.incidents,
    incidentsThatMustPage: verdict.requiredIncidents,
    pagesByReceiver: verdict.pagesByReceiver,
    duplicates: verdict.duplicates,
    atLeastOnceEdge: verdict.atLeastOnceEdge,
    lost: verdict.lost,
    falsePages: verdict.falsePages,
    unjudgedLagPages: verdict.unjudgedPages,
    worstDelayAfterReceiverBackMs: verdict.worstDelayAfterBackMs,
    worstDelayAfterBlackholeBackMs: verdict.worstDelayAfterBlackholeMs,
    lateAfterBack: verdict.lateAfterBack,
    termConflicts: verdict.termConflicts,
    staleTermPages: verdict.staleTermPages,
    staleTermInFlight: verdict.staleTermInFlight,
    crashes: verdict.crashes,
    targets: '0 lost, 0 duplicates (at-least-once edge apart), 0 false pages, 0 crashes, one node per term, no stale term, owed pages <= 2 s after a receiver is back (black-holed: <= 6 s)',
    missed,
  };
  for (const f of verdict.findings) progress(`FINDING ${JSON.stringify(f)}`);
  for (const e of verdict.edges) progress(`edge ${JSON.stringify(e)}`);
  // the timeline too, so a report can be judged again (`--rejudge <file>`) after an oracle fix
  if (outFile !== undefined) fs.writeFileSync(outFile, JSON.stringify({ ...line, findings: verdict.findings, edges: verdict.edges, faultLog: faults, exits, openAtEnd, timeline }));
  console.log(JSON.stringify(line));
  return verdict;
}

/** `--rejudge <report.json>`: the oracle's verdict on a saved run's timeline, nothing started. */
function rejudge(file: string): number {
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { timeline?: SoakTimeline };
  if (saved.timeline === undefined) {
    console.error(`soak: ${file} holds no timeline (written by an older soak); only reports of --out runs since can be judged again`);
    return 2;
  }
  const v = judgeSoak(saved.timeline);
  for (const f of v.findings) progress(`FINDING ${JSON.stringify(f)}`);
  const { findings: _f, edges: _e, ...counts } = v;
  console.log(JSON.stringify({ bench: 'soak', rejudged: file, ...counts, missed: missedTargets(v) }));
  return missedTargets(v).length === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const again = flag('rejudge');
  if (again !== undefined) return rejudge(again);
  const tag = flag('in-lab');
  if (tag !== undefined) return inLab(tag);
  return outer();
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
