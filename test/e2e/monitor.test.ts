/**
 * The leader watches Kafka and pages (issue 4; DESIGN §3, §4, §6): a real 3-broker Kafka,
 * a real Redis, three vigil replicas as processes and a webhook sink. Consumer groups are
 * simulated by committing offsets whose records have a known age (test/harness/workload.ts),
 * so the true delivery latency is known exactly.
 *
 * The tests share one stack and run in order; each uses its own topic and group, and
 * counts pages by alert key, so one test's pages never satisfy another's assertions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WebhookBodyV1 } from '../../src/alerting/types';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { type RedisServer, startRedis } from '../harness/redis';
import { type ReplicaGroup, startReplicas } from '../harness/replicas';
import { waitFor } from '../harness/wait';
import { type WebhookSink, startWebhookSink } from '../harness/webhook-sink';
import { type GroupBehaviour, SimulatedGroup, Workload } from '../harness/workload';

let kafka: KafkaCluster;
let redis: RedisServer;
let sink: WebhookSink;
let replicas: ReplicaGroup;
const workloads: Workload[] = [];
const groups: SimulatedGroup[] = [];

const STEADY_HOLD_MS = 120_000;
let steadyStartedAtMs = 0;

before(async () => {
  [kafka, redis, sink] = await Promise.all([
    // A dead broker stays in the metadata (as leader of its partitions) for 20 s, long
    // enough for the lag it causes to be attributed to it; followers drop out of the ISR
    // after 5 s, so under-replication shows quickly.
    startKafka({ brokers: 3, name: 'e2e-monitor', brokerOverrides: { 'broker.session.timeout.ms': 20_000, 'replica.lag.time.max.ms': 5_000 } }),
    startRedis(),
    startWebhookSink(),
  ]);
  replicas = await startReplicas({
    count: 3,
    name: 'e2e-monitor',
    config: {
      kafka: { brokers: kafka.bootstrap },
      redis: { url: redis.url },
      monitor: { pollInterval: '1s', groups: { include: ['e2e-*'] } },
      lag: { threshold: '10s', resolveBelow: '8s', resolveFor: '3s' },
      alerting: { channels: [{ type: 'webhook', url: sink.url('/hook') }] },
    },
  });
  await replicas.waitForLeader({ timeoutMs: 30_000 });

  // The steady group runs through the first tests: delivery latency between 8 and 9 s,
  // below the 10 s threshold (a little margin for commit delays on a loaded machine).
  await kafka.createTopic('e2e-steady', { partitions: 2, replicationFactor: 3 });
  const steady = await workload('e2e-steady', 2);
  const group = simulated(steady, 'e2e-steady-svc', 'e2e-steady', 2, (now) => ({ latencyMs: 8_500 + 500 * Math.sin((2 * Math.PI * now) / 20_000) }));
  await waitFor(() => steady.end(0) > 120, { timeoutMs: 60_000, what: '12 s of records on e2e-steady' });
  group.start();
  steadyStartedAtMs = Date.now();
});

after(async () => {
  await Promise.allSettled(groups.map((g) => g.stop()));
  await Promise.allSettled(workloads.map((w) => w.stop()));
  await Promise.allSettled([replicas?.shutdown(), sink?.close()]);
  await Promise.allSettled([kafka?.shutdown(), redis?.shutdown()]);
});

async function workload(topic: string, partitions: number): Promise<Workload> {
  const w = new Workload({ bootstrap: kafka.bootstrap, topic, partitions, ratePerSec: 10 });
  await w.start();
  workloads.push(w);
  return w;
}

function simulated(w: Workload, group: string, topic: string, partitions: number, behaviour: (nowMs: number, partition: number) => GroupBehaviour): SimulatedGroup {
  const g = new SimulatedGroup(w, group, topic, partitions, behaviour, 100);
  groups.push(g);
  return g;
}

function pages(filter: (b: WebhookBodyV1) => boolean = () => true): WebhookBodyV1[] {
  return sink
    .requests({ path: '/hook' })
    .filter((r) => r.answer === 200)
    .map((r) => r.body as WebhookBodyV1)
    .filter(filter);
}

async function waitForPage(what: string, filter: (b: WebhookBodyV1) => boolean, timeoutMs = 60_000): Promise<WebhookBodyV1> {
  return waitFor(() => pages(filter)[0], { timeoutMs, intervalMs: 100, what });
}

/** the replica harness names the cluster "test" */
const lagKey = (group: string, topic: string) => `test/ConsumerDeliveryLag/${group}/${topic}`;

/** The leader's /api/v1/lag (through any replica: followers forward). */
async function leaderLag(): Promise<{ groups: { group: string; lagSeconds: number | null; topics: unknown[] }[] }> {
  const running = replicas.replicas.find((r) => r.isRunning());
  if (!running) throw new Error('no replica running');
  const res = await replicas.request(running.id, 'GET', '/api/v1/lag');
  if (res.status !== 200) throw new Error(`/api/v1/lag answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text);
}

const sources = () => [kafka, redis, replicas];

describe('the leader watches consumer delivery latency and pages (DESIGN §3, §4)', () => {
  it('a group that stops consuming pages once, cause consumer; when it catches up, one resolved page', () =>
    withLogsOnFailure(sources(), async () => {
      await kafka.createTopic('e2e-orders', { partitions: 2, replicationFactor: 3 });
      const w = await workload('e2e-orders', 2);
      const g = simulated(w, 'e2e-orders-svc', 'e2e-orders', 2, () => ({ latencyMs: 1000 }));
      await waitFor(() => w.end(1) > 20, { timeoutMs: 30_000, what: 'records on e2e-orders' });
      g.start();
      await waitFor(async () => (await leaderLag()).groups.some((x) => x.group === 'e2e-orders-svc'), { timeoutMs: 30_000, what: 'the leader to report e2e-orders-svc' });

      g.setBehaviour(() => 'stopped');
      const key = lagKey('e2e-orders-svc', 'e2e-orders');
      const firing = await waitForPage('the firing page', (b) => b.key === key && b.status === 'firing');
      assert.equal(firing.version, 1);
      assert.equal(firing.alert, 'ConsumerDeliveryLag');
      assert.equal(firing.cause, 'consumer');
      assert.equal(firing.group, 'e2e-orders-svc');
      assert.equal(firing.topic, 'e2e-orders');
      assert.equal(firing.threshold, 10);
      assert.ok((firing.lagSeconds ?? 0) >= 10, `lagSeconds ${firing.lagSeconds}`);
      assert.match(firing.summary, /^e2e-orders-svc is [\d.]+ s behind on e2e-orders \(threshold 10 s\); brokers healthy$/);
      assert.equal(firing.endsAt, null);
      assert.ok(firing.sentBy.term > 0);

      g.setBehaviour(() => 'caught-up');
      const resolved = await waitForPage('the resolved page', (b) => b.key === key && b.status === 'resolved');
      assert.equal(resolved.startsAt, firing.startsAt, 'the resolve belongs to the same incident');
      assert.ok(resolved.endsAt !== null);
      // a few more cycles: still exactly one page of each
      await waitFor(async () => (await leaderLag()).groups.find((x) => x.group === 'e2e-orders-svc')?.lagSeconds === 0, { timeoutMs: 10_000, what: 'caught up' });
      assert.deepEqual(pages((b) => b.key === key).map((b) => b.status), ['firing', 'resolved']);
    }));

  it('delivery latency held between 8 and 9 s (threshold 10 s) for two minutes never pages', () =>
    withLogsOnFailure(sources(), async () => {
      await waitFor(() => Date.now() - steadyStartedAtMs >= STEADY_HOLD_MS, { timeoutMs: STEADY_HOLD_MS + 10_000, intervalMs: 1000, what: 'two minutes of steady latency' });
      const report = await leaderLag();
      const steady = report.groups.find((x) => x.group === 'e2e-steady-svc');
      assert.ok(steady && steady.lagSeconds !== null && steady.lagSeconds > 7 && steady.lagSeconds < 10, `reported ${JSON.stringify(steady)}`);
      assert.deepEqual(pages((b) => b.group === 'e2e-steady-svc'), []);
      const g = groups.find((x) => x.group === 'e2e-steady-svc');
      g?.setBehaviour(() => 'caught-up');
    }));

  it('the vigil leader SIGKILLed repeatedly while an alert fires and while it resolves: no duplicate, no lost page', () =>
    withLogsOnFailure(sources(), async () => {
      await kafka.createTopic('e2e-payments', { partitions: 2, replicationFactor: 3 });
      const w = await workload('e2e-payments', 2);
      const g = simulated(w, 'e2e-payments-svc', 'e2e-payments', 2, () => ({ latencyMs: 1000 }));
      await waitFor(() => w.end(1) > 20, { timeoutMs: 30_000, what: 'records on e2e-payments' });
      g.start();
      await waitFor(async () => (await leaderLag()).groups.some((x) => x.group === 'e2e-payments-svc'), { timeoutMs: 30_000, what: 'the leader to report e2e-payments-svc' });
      const key = lagKey('e2e-payments-svc', 'e2e-payments');

      g.setBehaviour(() => 'stopped');
      await waitForPage('the firing page', (b) => b.key === key && b.status === 'firing');
      for (let i = 0; i < 3; i++) {
        const leader = await replicas.waitForLeader({ timeoutMs: 30_000 });
        await replicas.kill(leader.nodeId);
        await replicas.waitForLeader({ excluding: [leader.nodeId], minTerm: leader.term + 1, timeoutMs: 30_000 });
        await replicas.start(leader.nodeId);
        await replicas.waitForConnected(30_000);
      }
      g.setBehaviour(() => 'caught-up');
      // kill the leader while the resolve is pending (resolveFor 3 s)
      const leader = await replicas.waitForLeader({ timeoutMs: 30_000 });
      await replicas.kill(leader.nodeId);
      await replicas.waitForLeader({ excluding: [leader.nodeId], minTerm: leader.term + 1, timeoutMs: 30_000 });
      await replicas.start(leader.nodeId);
      await waitForPage('the resolved page', (b) => b.key === key && b.status === 'resolved');
      // and once more after the resolve: nothing is sent again
      const last = await replicas.waitForLeader({ timeoutMs: 30_000 });
      await replicas.kill(last.nodeId);
      const next = await replicas.waitForLeader({ excluding: [last.nodeId], minTerm: last.term + 1, timeoutMs: 30_000 });
      await replicas.start(last.nodeId);
      await waitFor(async () => ((await replicas.status(next.nodeId)) as { term: number }).term >= next.term, { timeoutMs: 10_000, what: 'the new leader settled' });
      await waitFor(async () => (await leaderLag()).groups.find((x) => x.group === 'e2e-payments-svc')?.lagSeconds === 0, { timeoutMs: 15_000, what: 'a cycle of the last leader' });
      assert.deepEqual(pages((b) => b.key === key).map((b) => b.status), ['firing', 'resolved']);
    }));

  it('Redis stopped for 30 s during an incident: pages still go out, no crash, and the state is consistent after Redis returns', () =>
    withLogsOnFailure(sources(), async () => {
      await kafka.createTopic('e2e-audit', { partitions: 1, replicationFactor: 3 });
      const w = await workload('e2e-audit', 1);
      const g = simulated(w, 'e2e-audit-svc', 'e2e-audit', 1, () => ({ latencyMs: 1000 }));
      await waitFor(() => w.end(0) > 20, { timeoutMs: 30_000, what: 'records on e2e-audit' });
      g.start();
      await waitFor(async () => (await leaderLag()).groups.some((x) => x.group === 'e2e-audit-svc'), { timeoutMs: 30_000, what: 'the leader to report e2e-audit-svc' });
      const key = lagKey('e2e-audit-svc', 'e2e-audit');
      await replicas.waitForConnected(30_000);

      await redis.stop();
      const stoppedAt = Date.now();
      g.setBehaviour(() => 'stopped');
      await waitForPage('the firing page with Redis down', (b) => b.key === key && b.status === 'firing');
      const leader = await replicas.waitForLeader({ timeoutMs: 30_000 });
      assert.equal((leader.redis as { state: string }).state, 'down');
      await waitFor(() => Date.now() - stoppedAt >= 30_000, { timeoutMs: 40_000, intervalMs: 500, what: '30 s of Redis down' });
      for (const r of replicas.replicas) assert.ok(r.isRunning(), `${r.id} still running`);

      await redis.start();
      await waitFor(async () => ((await replicas.status(leader.nodeId)).redis as { state: string }).state === 'up', { timeoutMs: 30_000, what: 'the leader to see Redis up' });
      g.setBehaviour(() => 'caught-up');
      await waitForPage('the resolved page', (b) => b.key === key && b.status === 'resolved');

      // A new leader reads the state written after Redis returned: it pages nothing again.
      const current = await replicas.waitForLeader({ timeoutMs: 30_000 });
      await replicas.kill(current.nodeId);
      await replicas.waitForLeader({ excluding: [current.nodeId], minTerm: current.term + 1, timeoutMs: 30_000 });
      await replicas.start(current.nodeId);
      await waitFor(async () => (await leaderLag()).groups.find((x) => x.group === 'e2e-audit-svc')?.lagSeconds === 0, { timeoutMs: 15_000, what: 'a cycle of the new leader' });
      assert.deepEqual(pages((b) => b.key === key).map((b) => b.status), ['firing', 'resolved']);
    }));
});

describe('the leader watches the brokers (DESIGN §4)', () => {
  it('a SIGKILLed broker is paged by id; partitions it led and now under-replicated are reported; lag it causes names it', () =>
    withLogsOnFailure(sources(), async () => {
      await kafka.createTopic('e2e-broker', { partitions: 3, replicationFactor: 3 });
      const md = await kafka.metadata(kafka.brokerIds[0] as number, ['e2e-broker']);
      const parts = md.topics[0]?.partitions ?? [];
      const victim = parts[0]?.leader as number;
      const ledByVictim = new Set(parts.filter((p) => p.leader === victim).map((p) => p.partition));
      const w = await workload('e2e-broker', 3);
      let victimDown = false;
      // a consumer cannot fetch from a dead leader: those partitions stop advancing
      const g = simulated(w, 'e2e-broker-svc', 'e2e-broker', 3, (_now, p) => (victimDown && ledByVictim.has(p) ? 'stopped' : { latencyMs: 1000 }));
      await waitFor(() => w.end(2) > 30, { timeoutMs: 30_000, what: 'records on e2e-broker' });
      g.start();
      await waitFor(async () => (await leaderLag()).groups.some((x) => x.group === 'e2e-broker-svc'), { timeoutMs: 30_000, what: 'the leader to report e2e-broker-svc' });

      victimDown = true;
      await kafka.kill(victim);
      const down = await waitForPage(`BrokerUnreachable for broker ${victim}`, (b) => b.alert === 'BrokerUnreachable' && b.status === 'firing');
      assert.equal(down.broker, victim);
      assert.equal(down.severity, 'critical');
      assert.match(down.summary, new RegExp(`broker ${victim}\\b`));

      const lag = await waitForPage('the lag page naming the broker', (b) => b.key === lagKey('e2e-broker-svc', 'e2e-broker') && b.status === 'firing');
      assert.equal(lag.cause, `broker:${victim}`);
      assert.deepEqual([...(lag.partitions ?? [])].sort(), [...ledByVictim].sort());

      const under = await waitForPage('under-replicated partitions', (b) => b.alert === 'PartitionUnderReplicated' && b.topic === 'e2e-broker' && b.status === 'firing');
      assert.ok((under.partitions ?? []).length > 0);

      await kafka.start(victim);
      victimDown = false;
      g.setBehaviour(() => 'caught-up');
      await waitForPage('the broker alert resolved', (b) => b.alert === 'BrokerUnreachable' && b.broker === victim && b.status === 'resolved');
      await waitForPage('the lag alert resolved', (b) => b.key === lagKey('e2e-broker-svc', 'e2e-broker') && b.status === 'resolved');
    }));

  it('all brokers down pages KafkaUnreachable; vigil recovers when they return, without a restart', () =>
    withLogsOnFailure(sources(), async () => {
      const pids = replicas.replicas.map((r) => r.pid());
      await Promise.all(kafka.brokerIds.map((id) => kafka.kill(id)));
      const down = await waitForPage('KafkaUnreachable', (b) => b.alert === 'KafkaUnreachable' && b.status === 'firing');
      assert.equal(down.severity, 'critical');
      await Promise.all(kafka.brokerIds.map((id) => kafka.start(id)));
      await waitForPage('KafkaUnreachable resolved', (b) => b.alert === 'KafkaUnreachable' && b.status === 'resolved', 90_000);
      const leader = await replicas.waitForLeader({ timeoutMs: 30_000 });
      assert.equal((leader.kafka as { state: string }).state, 'up');
      assert.deepEqual(replicas.replicas.map((r) => r.pid()), pids, 'no replica restarted');
    }));
});
