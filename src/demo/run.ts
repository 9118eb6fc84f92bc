/**
 * `vigil demo` (docs/design.md §9): a real 3-broker Kafka, a Redis, three vigil replicas paging
 * into a console webhook receiver, and a workload with a healthy and a slow consumer
 * group — all on loopback, all under one directory, all stopped on Ctrl-C. Without a
 * scenario it prints a one-line summary every second until stopped; with one it plays the
 * incident, prints the timeline and exits 0, or 1 with the reason the incident did not go
 * as expected. Exit 2: a prerequisite is missing or the stack could not start.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeError } from '../errors';
import { startLocalKafka, type LocalKafka } from '../local/kafka';
import { handleStopSignals, onExitCleanup, processState } from '../local/procs';
import { startLocalRedis, type LocalRedis } from '../local/redis';
import { startLocalReplicas, type LocalReplicas } from '../local/replicas';
import { waitFor } from '../local/wait';
import type { StoredEvent } from '../state/types';
import type { Clock } from '../util/clock';
import { DEMO_BROKERS, DEMO_REPLICAS, DEMO_TOPICS, HEALTHY_GROUP, SLOW_GROUP, demoReplicaInput } from './config';
import { missingPrerequisites, prerequisitesMessage, type MachineFacts } from './prerequisites';
import { startDemoAlertmanager, startDemoPrometheus, type DemoMonitorServer } from './prometheus';
import { runScenario, type ScenarioName, type ScenarioResult } from './scenarios';
import { formatPageLine, formatSummaryLine, formatTimeline, timelineEntries, type DemoAction, type SummaryGroup } from './timeline';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver';
import { whereEverythingIs, type WhereInput } from './where';
import { createDemoWorkload, type DemoWorkload } from './workload';

export interface DemoOptions {
  readonly scenario?: ScenarioName;
  /** where configs, logs and data go; default a new temp directory */
  readonly dir?: string;
  /** keep the directory when the demo ends */
  readonly keep: boolean;
  /** also run Prometheus (the shipped rules, scraping the replicas) and Alertmanager */
  readonly withPrometheus?: boolean;
  readonly facts: MachineFacts;
  readonly clock: Clock;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** ms between summary lines (default 1000) */
  readonly summaryIntervalMs?: number;
}

/** The file that marks a directory as the demo's, so a rerun with the same --dir may empty it. */
export const DEMO_MARKER = '.vigil-demo';

/**
 * The demo's directory: `dir` (created; emptied when an earlier demo made it) or a new
 * temp directory. Refuses a non-empty directory the demo did not make.
 */
export function prepareDemoDir(dir: string | undefined): string {
  if (dir === undefined) {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-demo-'));
    fs.writeFileSync(path.join(made, DEMO_MARKER), '');
    return made;
  }
  const abs = path.resolve(dir);
  if (fs.existsSync(abs)) {
    const entries = fs.readdirSync(abs);
    if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
      throw new Error(`--dir ${abs} is not empty and was not made by vigil demo; give a new or empty directory (the demo deletes what it puts there)`);
    }
    for (const entry of entries) fs.rmSync(path.join(abs, entry), { recursive: true, force: true });
  }
  fs.mkdirSync(abs, { recursive: true });
  fs.writeFileSync(path.join(abs, DEMO_MARKER), '');
  return abs;
}

interface Stack {
  kafka?: LocalKafka;
  redis?: LocalRedis;
  receiver?: WebhookReceiver;
  replicas?: LocalReplicas;
  workload?: DemoWorkload;
  alertmanager?: DemoMonitorServer;
  prometheus?: DemoMonitorServer;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const { out, err, clock } = opts;
  const withPrometheus = opts.withPrometheus === true;
  const missing = missingPrerequisites(opts.facts, withPrometheus);
  if (missing.length > 0) {
    err(prerequisitesMessage(missing));
    return 2;
  }
  let dir: string;
  try {
    dir = prepareDemoDir(opts.dir);
  } catch (e) {
    err(`vigil demo: ${describeError(e)}`);
    return 2;
  }
  const originMs = clock.wallMs();
  const stack: Stack = {};
  const actions: DemoAction[] = [];
  let summaryTimer: NodeJS.Timeout | undefined;
  const unregisterDirCleanup = onExitCleanup(() => {
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  });

  let tornDown: Promise<void> | undefined;
  /** Stops everything; keeps the directory with --keep, or when `failed` (its logs say why). */
  const teardown = (failed = false): Promise<void> => {
    const keepDir = opts.keep || failed;
    tornDown ??= (async () => {
      if (summaryTimer) clearInterval(summaryTimer);
      out(`stopping: workload, ${withPrometheus ? 'Prometheus, ' : ''}replicas, ${withPrometheus ? 'Alertmanager, ' : ''}webhook receiver, Kafka, Redis ...`);
      const pids = childPids(stack);
      await stack.workload?.stop(3000);
      await stack.prometheus?.stop();
      await stack.replicas?.shutdown({ keep: keepDir });
      await stack.alertmanager?.stop();
      await stack.receiver?.close();
      await Promise.all([stack.kafka?.shutdown({ keepLogs: keepDir }), stack.redis?.shutdown({ keep: keepDir })]);
      // Ask the OS, not our bookkeeping: each pid must be gone.
      const left = pids.filter((pid) => processState(pid) !== undefined);
      if (left.length > 0) err(`vigil demo: still running after the stop: pids ${left.join(' ')}`);
      unregisterDirCleanup();
      if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
      const stopped = pids.length === 0 ? 'stopped; no process was running' : `stopped ${pids.length} processes (pids ${pids.join(' ')})${left.length === 0 ? '; none left running' : ''}`;
      out(`${stopped}${keepDir ? `; logs and configs kept in ${dir}` : ''}`);
    })();
    return tornDown;
  };
  // Ctrl-C: an orderly stop (children run in their own process groups, so the terminal's
  // SIGINT reaches only this process); a second Ctrl-C kills everything at once.
  const releaseSignals = handleStopSignals((sig) => {
    out(`\n${sig}: stopping (Ctrl-C again to kill everything at once)`);
    void teardown().finally(() => process.exit(128 + (os.constants.signals[sig] ?? 0)));
  });

  const step = async <T>(what: string, run: () => Promise<T>, done?: (value: T) => string): Promise<T> => {
    const startedMs = clock.monotonicMs();
    out(`${what} ...`);
    const value = await run();
    const seconds = ((clock.monotonicMs() - startedMs) / 1000).toFixed(1);
    out(`  ${done ? done(value) : 'done'} (${seconds} s)`);
    return value;
  };

  try {
    out(`vigil demo: everything runs on 127.0.0.1; configs, logs and data in ${dir}`);
    const [kafka, redis] = await step(
      `starting ${DEMO_BROKERS} Kafka ${opts.facts.kafkaVersion} brokers (KRaft, one JVM each) and Redis`,
      async () => {
        // Both settle before a failure is reported, so the stop that follows has both.
        const [k, r] = await Promise.allSettled([
          startLocalKafka({ kafkaVersion: opts.facts.kafkaVersion, brokers: DEMO_BROKERS, dir: path.join(dir, 'kafka'), keepAll: opts.keep, ownProcessGroup: true }).then((c) => (stack.kafka = c)),
          startLocalRedis({ dir: path.join(dir, 'redis'), keepAll: opts.keep, ownProcessGroup: true }).then((c) => (stack.redis = c)),
        ]);
        if (k.status === 'rejected') throw k.reason;
        if (r.status === 'rejected') throw r.reason;
        return [k.value, r.value] as const;
      },
      ([k]) => `brokers ${k.bootstrap.join(', ')} serve`,
    );
    await step(`creating topics ${DEMO_TOPICS.map((t) => `${t.topic} (${t.partitions} partitions)`).join(' and ')}, replication factor 3`, async () => {
      for (const t of DEMO_TOPICS) await kafka.createTopic(t.topic, { partitions: t.partitions, replicationFactor: 3 });
    });
    const receiver = await startWebhookReceiver({
      clock,
      onPage: (p) => {
        if (tornDown === undefined) out(formatPageLine(p.body, p.receivedAtMs, originMs));
      },
    });
    stack.receiver = receiver;
    if (withPrometheus) {
      stack.alertmanager = await step(
        'starting Alertmanager (prometheus-alertmanager; every alert goes to a receiver that sends nothing)',
        () => startDemoAlertmanager({ dir: path.join(dir, 'alertmanager'), ownProcessGroup: true }),
        (am) => `serves ${am.url}`,
      );
    }
    const endpoints = { brokers: kafka.bootstrap, redisUrl: redis.url, webhookUrl: receiver.url, ...(stack.alertmanager ? { alertmanagerUrl: stack.alertmanager.url } : {}) };
    const secret = crypto.randomBytes(24).toString('base64url');
    const adminToken = crypto.randomBytes(24).toString('base64url');
    const replicas = await step(
      `starting ${DEMO_REPLICAS} vigil replicas (vigil run) and waiting for a leader`,
      async () => {
        const group = await startLocalReplicas({ count: DEMO_REPLICAS, ...demoReplicaInput(endpoints, secret, adminToken), dir: path.join(dir, 'replicas'), keepAll: opts.keep, ownProcessGroup: true });
        stack.replicas = group;
        return { group, leader: await group.waitForLeader({ timeoutMs: 60_000 }) };
      },
      ({ leader }) => `${leader.nodeId} leads in term ${leader.term}`,
    ).then((r) => r.group);
    if (withPrometheus) {
      const alertmanager = stack.alertmanager as DemoMonitorServer;
      stack.prometheus = await step(
        `starting Prometheus: scraping the ${DEMO_REPLICAS} replicas' /metrics with deploy/prometheus/vigil-rules.yml, alerting to Alertmanager`,
        () => startDemoPrometheus({ dir: path.join(dir, 'prometheus'), replicaUrls: replicas.replicas.map((r) => r.url), alertmanager, ownProcessGroup: true }),
        (p) => `serves ${p.url}`,
      );
    }
    const workload = createDemoWorkload({ brokers: kafka.bootstrap, clock, note: (text) => out(`  note: ${text}`) });
    stack.workload = workload;
    await step(`starting the workload: a producer and the consumer groups ${HEALTHY_GROUP} (healthy) and ${SLOW_GROUP} (slow)`, () => workload.start());

    // Who leads now (the replicas' own statuses): the API and "try" lines use its URL.
    const leader = await replicas.waitForLeader({ timeoutMs: 30_000 });
    const where: WhereInput = {
      dir,
      brokers: kafka.brokerIds.map((id) => ({ id, address: kafka.brokerAddress(id) })),
      redisUrl: redis.url,
      webhookUrl: receiver.url,
      replicas: replicas.replicas.map((r) => ({ id: r.id, url: r.url })),
      leader: { nodeId: leader.nodeId, term: leader.term, ...pidOf(replicas, leader.nodeId) },
      statusPage: await statusPageOf(replicas, leader.nodeId),
      adminToken,
      ...(stack.prometheus && stack.alertmanager ? { prometheus: { prometheusUrl: stack.prometheus.url, alertmanagerUrl: stack.alertmanager.url } } : {}),
    };
    for (const line of whereEverythingIs(where)) out(line);

    const api = apiClient(replicas);
    const summary = async (): Promise<void> => {
      out(formatSummaryLine({ atMs: clock.wallMs(), originMs, ...(await api.summary()) }));
    };
    let summarizing = false;
    summaryTimer = setInterval(() => {
      if (summarizing) return;
      summarizing = true;
      void summary().finally(() => (summarizing = false));
    }, opts.summaryIntervalMs ?? 1000);

    if (opts.scenario === undefined) {
      out('live summary every second below; Ctrl-C stops everything');
      await new Promise<never>(() => undefined); // until a signal: handleStopSignals exits
    }

    out(`scenario ${opts.scenario}:`);
    const result: ScenarioResult = await runScenario(opts.scenario as ScenarioName, {
      kafka,
      replicas,
      workload,
      clock,
      pages: () => receiver.pages(),
      lag: () => api.lag(),
      act: (text) => {
        actions.push({ atMs: clock.wallMs(), text });
        out(`  >> ${text}`);
      },
      say: (text) => out(`  ${text}`),
    });
    if (summaryTimer) clearInterval(summaryTimer);

    const events = await api.eventsCovering(originMs, receiver.pages().map((p) => p.body));
    out('');
    for (const line of formatTimeline(timelineEntries(events, receiver.pages(), actions), originMs)) out(line);
    out('');
    if (result.ok) out(`scenario ${opts.scenario}: OK: ${result.conclusion}`);
    else err(`scenario ${opts.scenario}: FAILED: ${result.reason}`);
    await teardown();
    releaseSignals();
    return result.ok ? 0 : 1;
  } catch (e) {
    err(`vigil demo: ${e instanceof Error ? e.message : String(e)}`);
    await teardown(true).catch((te: unknown) => err(`vigil demo: stopping failed: ${describeError(te)}`));
    releaseSignals();
    return 2;
  }
}

/** The pids of every process the demo runs now: brokers, Redis, replicas, Prometheus and Alertmanager. */
function childPids(stack: Stack): number[] {
  const pids = [
    ...(stack.kafka ? stack.kafka.brokerIds.map((id) => stack.kafka?.pid(id)) : []),
    stack.redis?.pid(),
    ...(stack.replicas ? stack.replicas.replicas.map((r) => r.pid()) : []),
    stack.prometheus?.pid(),
    stack.alertmanager?.pid(),
  ];
  return pids.filter((pid): pid is number => pid !== undefined);
}

function pidOf(replicas: LocalReplicas, id: string): { pid?: number } {
  const pid = replicas.get(id).pid();
  return pid === undefined ? {} : { pid };
}

/** The status page (GET / on the leader) once it answers 200, or why it did not within 30 s. */
async function statusPageOf(replicas: LocalReplicas, id: string): Promise<WhereInput['statusPage']> {
  try {
    await waitFor(async () => (await replicas.request(id, 'GET', '/', { timeoutMs: 2000 })).status === 200, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `GET / on ${id} to answer 200`,
    });
    return { url: `${replicas.get(id).url}/` };
  } catch (e) {
    return { notServed: `${describeError(e)} (see ${replicas.get(id).logFile})` };
  }
}

/** The replicas' HTTP API as the demo reads it: through any running replica. */
function apiClient(replicas: LocalReplicas) {
  const getJson = async (pathname: string): Promise<unknown> => {
    const running = replicas.replicas.filter((r) => r.isRunning());
    let last: unknown = new Error('no replica is running');
    for (const r of running) {
      try {
        const res = await replicas.request(r.id, 'GET', pathname, { timeoutMs: 2000 });
        if (res.status === 200) return JSON.parse(res.text) as unknown;
        last = new Error(`GET ${pathname} on ${r.id}: HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      } catch (e) {
        last = e;
      }
    }
    throw last;
  };
  type LagDoc = { groups: SummaryGroup[] };
  const lag = async (): Promise<LagDoc> => getJson('/api/v1/lag') as Promise<LagDoc>;
  return {
    lag,
    async summary() {
      const statuses = await replicas.statuses();
      const leaderDoc = statuses.find((s) => s.role === 'leader');
      const [groups, alerts] = await Promise.all([
        lag().then((d) => d.groups.map((g) => ({ group: g.group, lagSeconds: g.lagSeconds, breach: g.breach })), () => null),
        (getJson('/api/v1/alerts') as Promise<{ alerts: unknown[] }>).then((d) => d.alerts.length, () => null),
      ]);
      return { leader: leaderDoc ? { nodeId: leaderDoc.nodeId, term: leaderDoc.term } : null, groups, alertsOpen: alerts };
    },
    /**
     * The events since `sinceMs`, once they include an alert event for every page received
     * (a page can arrive before its event is written), or whatever is there after 10 s.
     */
    async eventsCovering(sinceMs: number, pages: ReadonlyArray<{ key: string; status: string }>): Promise<StoredEvent[]> {
      const read = async (): Promise<StoredEvent[]> => ((await getJson(`/api/v1/events?since=${sinceMs}&limit=10000`)) as { events: StoredEvent[] }).events;
      const covers = (events: StoredEvent[]): boolean =>
        pages.every((p) => events.some((e) => e.type === `alert-${p.status}` && (e.data as { key?: string } | null)?.key === p.key));
      try {
        return await waitFor(async () => {
          const events = await read();
          return covers(events) ? events : null;
        }, { timeoutMs: 10_000, intervalMs: 200, what: 'the events stream to hold every page received' });
      } catch {
        return read().catch(() => []);
      }
    },
  };
}
