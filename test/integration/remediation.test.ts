/**
 * Remediation against a real 3-broker Kafka and a real Redis, driven by a real vigil
 * replica (issue 7; docs/remediation.md):
 * - auto: a hung broker (SIGSTOP, still in the metadata) is evicted from its in-sync
 *   replica sets, and acks=all writes to every partition succeed while it is still
 *   paused; resumed, it gets back exactly the original replica order and preferred leaders
 *   after recoverGrace, and the throttles vigil set meanwhile are gone;
 * - dry-run: the plan is proposed and nothing moves; a person executes it through the
 *   API (admin token) and then it moves;
 * - a broker stopped for longer than brokerDownGrace: every partition that had a replica on
 *   it is back at its replication factor on live brokers, and
 *   `kafka-reassign-partitions --verify` agrees.
 * Timings are not asserted here (test/bench/remediation-hung.bench.ts measures them, with
 * Kafka's default session timeout).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { PlanRecord } from '../../src/remediation/record';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { describeConfigs } from '../harness/kafka-configs';
import { KAFKA_TOOLS, runKafkaTool } from '../harness/kafka-tools';
import { type RedisServer, startRedis } from '../harness/redis';
import { type ReplicaGroup, TEST_ADMIN_TOKEN, startReplicas } from '../harness/replicas';
import { waitFor } from '../harness/wait';

const WAIT_MS = 90_000;
const TOPIC = 'rem-orders';
const RF2 = 'rem-rf2';
let kafka: KafkaCluster;
let redis: RedisServer;
let group: ReplicaGroup | undefined;

before(async () => {
  // Kafka fences a silent broker after broker.session.timeout.ms; here 30 s instead of 9 s,
  // so that what is tested (vigil acts on a broker still in the metadata) does not race
  // Kafka's own fencing on a loaded machine. The benchmarks run Kafka's defaults.
  [kafka, redis] = await Promise.all([
    startKafka({ brokers: 3, name: 'remediation', brokerOverrides: { 'broker.session.timeout.ms': 30_000 } }),
    startRedis(),
  ]);
  await kafka.createTopic(TOPIC, { partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  await kafka.createTopic(RF2, { partitions: 4, replicaAssignment: [[1, 2], [2, 3], [3, 1], [1, 3]] });
});

after(async () => {
  await group?.shutdown();
  await Promise.allSettled([kafka?.shutdown(), redis?.shutdown()]);
});

async function startVigil(remediation: Record<string, unknown>): Promise<ReplicaGroup> {
  await group?.shutdown();
  group = await startReplicas({
    count: 1,
    name: 'remediation',
    config: {
      kafka: { brokers: kafka.bootstrap },
      redis: { url: redis.url },
      monitor: { pollInterval: '500ms' },
      alerting: { channels: [] },
      remediation,
    },
  });
  await group.waitForLeader({ timeoutMs: 30_000 });
  return group;
}

const vigilLogs = { logReport: (lines?: number) => group?.logReport(lines) ?? '', markFailed: () => group?.markFailed() };
const leaderId = (g: ReplicaGroup) => g.replicas[0]!.id;

async function plans(g: ReplicaGroup): Promise<PlanRecord[]> {
  const res = await g.request(leaderId(g), 'GET', '/api/v1/plans');
  assert.equal(res.status, 200, res.text);
  return (JSON.parse(res.text) as { plans: PlanRecord[] }).plans;
}

/** topic → "partition:replicas@leader" as broker `via` sees it */
async function assignment(topic: string, via = 1): Promise<string[]> {
  const md = await kafka.metadata(via, [topic]);
  const t = md.topics.find((x) => x.name === topic);
  assert.ok(t, `${topic} in the metadata`);
  return t.partitions.map((p) => `${p.partition}:${p.replicas.join(',')}@${p.leader}`).sort();
}

const partitionsOf = async (topic: string, via = 1) => (await kafka.metadata(via, [topic])).topics.find((x) => x.name === topic)?.partitions ?? [];

/** Sends one acks=all record to every partition of `topic` through the live brokers; resolves when all are acknowledged. */
async function produceToEveryPartition(topic: string, partitions: number, brokers: string[]): Promise<void> {
  const producer = new Kafka({ brokers, clientId: 'vigil-rem-test', logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, timeout: 10_000, messages: Array.from({ length: partitions }, (_, partition) => ({ partition, value: 'x' })) });
  } finally {
    await producer.disconnect();
  }
}

async function noThrottles(topics: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const t of topics) {
    const cfg = await describeConfigs(kafka.bootstrap, 'topic', t);
    for (const name of ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas']) {
      const v = cfg.get(name);
      if (v && v.value !== '') left.push(`${t} ${name}=${v.value}`);
    }
  }
  for (const b of [1, 2, 3]) {
    if (!kafka.isRunning(b)) continue;
    const cfg = await describeConfigs(kafka.bootstrap, 'broker', String(b), ['leader.replication.throttled.rate', 'follower.replication.throttled.rate']);
    for (const [name, v] of cfg) if (!v.isDefault) left.push(`broker ${b} ${name}=${v.value}`);
  }
  return left;
}

describe('remediation against real Kafka and Redis (issue 7)', () => {
  it('auto: a hung broker is evicted while Kafka still counts it alive, acks=all writes go on, and it gets its partitions back after recoverGrace', () =>
    withLogsOnFailure([kafka, redis, vigilLogs], async () => {
      const g = await startVigil({ mode: 'auto', hungAfter: '2s', recoverGrace: '5s', cooldown: '0s' });
      const original = await assignment(TOPIC);
      try {
        kafka.pause(3);
        await waitFor(async () => (await partitionsOf(TOPIC)).every((p) => !p.replicas.includes(3) && p.leader !== 3), { timeoutMs: WAIT_MS, what: 'broker 3 out of every replica set of the topic' });
        const evict = (await plans(g)).find((r) => r.plan.kind === 'evict' && r.plan.broker === 3);
        assert.ok(evict, 'an evict plan for broker 3');
        assert.match(evict.plan.cause, /^broker:3 hung \(no answer for \d+\.\d s, still in the metadata\)$/);
        assert.equal(evict.approvedBy, 'auto');
        await waitFor(async () => (await plans(g)).find((r) => r.plan.id === evict.plan.id)?.status === 'done', { timeoutMs: WAIT_MS, what: 'the evict plan done' });
        // acks=all needs every ISR member: with 3 evicted, every partition takes writes while it is still stopped
        await produceToEveryPartition(TOPIC, 6, [kafka.brokerAddress(1), kafka.brokerAddress(2)]);
      } finally {
        kafka.resume(3);
      }
      await waitFor(async () => JSON.stringify(await assignment(TOPIC)) === JSON.stringify(original), { timeoutMs: WAIT_MS, what: `the original assignment back (${original.join(' ')})` });
      const giveBack = await waitFor(async () => (await plans(g)).find((r) => r.plan.kind === 'give-back' && r.plan.broker === 3 && r.status === 'done'), { timeoutMs: WAIT_MS, what: 'the give-back plan done' });
      assert.deepEqual(giveBack.undoes, [(await plans(g)).find((r) => r.plan.kind === 'evict')?.plan.id]);
      // config changes reach every broker through the metadata log, a moment later
      await waitFor(async () => (await noThrottles([TOPIC])).length === 0, { timeoutMs: WAIT_MS, what: 'every throttle vigil set removed' });
      // only the topic vigil moved was touched
      assert.deepEqual(await assignment(RF2), ['0:1,2@1', '1:2,3@2', '2:3,1@3', '3:1,3@1']);
    }));

  it('dry-run: the plan is proposed and nothing moves until a person executes it through the API', () =>
    withLogsOnFailure([kafka, redis, vigilLogs], async () => {
      await kafka.waitForBrokers([1, 2, 3], { timeoutMs: WAIT_MS });
      const g = await startVigil({ mode: 'dry-run', hungAfter: '2s', recoverGrace: '5s', cooldown: '0s' });
      const original = await assignment(TOPIC);
      let id: string;
      try {
        kafka.pause(2);
        const proposed = await waitFor(async () => (await plans(g)).find((r) => r.plan.kind === 'evict' && r.plan.broker === 2 && r.status === 'proposed'), { timeoutMs: WAIT_MS, what: 'a proposed evict plan for broker 2' });
        id = proposed.plan.id;
        assert.deepEqual(await assignment(TOPIC), original, 'nothing moved in dry-run');
        const denied = await g.request(leaderId(g), 'POST', `/api/v1/plans/${id}/execute`);
        assert.equal(denied.status, 401, denied.text);
        const res = await g.request(leaderId(g), 'POST', `/api/v1/plans/${id}/execute`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
        assert.equal(res.status, 202, res.text);
        await waitFor(async () => (await partitionsOf(TOPIC)).every((p) => !p.replicas.includes(2)), { timeoutMs: WAIT_MS, what: 'broker 2 out of every replica set after the person executed the plan' });
        const done = (await plans(g)).find((r) => r.plan.id === id);
        assert.equal(done?.approvedBy, 'operator');
      } finally {
        kafka.resume(2);
      }
      // give-back is proposed too, and a person runs it
      const back = await waitFor(async () => (await plans(g)).find((r) => r.plan.kind === 'give-back' && r.plan.broker === 2 && r.status === 'proposed'), { timeoutMs: WAIT_MS, what: 'a proposed give-back for broker 2' });
      const res = await g.request(leaderId(g), 'POST', `/api/v1/plans/${back.plan.id}/execute`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
      assert.equal(res.status, 202, res.text);
      await waitFor(async () => JSON.stringify(await assignment(TOPIC)) === JSON.stringify(original), { timeoutMs: WAIT_MS, what: 'the original assignment back' });
    }));

  it('a broker gone longer than brokerDownGrace: every partition back at its replication factor on live brokers, as kafka-reassign-partitions --verify agrees', () =>
    withLogsOnFailure([kafka, redis, vigilLogs], async () => {
      await kafka.waitForBrokers([1, 2, 3], { timeoutMs: WAIT_MS });
      const g = await startVigil({ mode: 'auto', hungAfter: '2s', brokerDownGrace: '3s', recoverGrace: '1h', cooldown: '0s' });
      // stopped (SIGTERM): Kafka fences it at once, where a SIGKILLed broker would stay in
      // the metadata for this cluster's 30 s session; vigil's part starts when it is gone
      await kafka.stop(3);
      await waitFor(
        async () => (await partitionsOf(RF2)).every((p) => p.replicas.length === 2 && !p.replicas.includes(3) && p.isr.length === 2),
        { timeoutMs: WAIT_MS, what: `every partition of ${RF2} on 2 live, in-sync replicas` },
      );
      await waitFor(async () => (await plans(g)).some((r) => r.plan.kind === 'restore-rf' && r.plan.broker === 3 && r.status === 'done'), { timeoutMs: WAIT_MS, what: 'the restore-rf plan done' });
      const parts = await partitionsOf(RF2);
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-rem-')), 'now.json');
      fs.writeFileSync(file, JSON.stringify({ version: 1, partitions: parts.map((p) => ({ topic: RF2, partition: p.partition, replicas: p.replicas })) }));
      const verify = await runKafkaTool(KAFKA_TOOLS.reassignPartitions, ['--bootstrap-server', kafka.brokerAddress(1), '--verify', '--reassignment-json-file', file]);
      assert.equal(verify.code, 0, `${verify.stdout}\n${verify.stderr}`);
      assert.doesNotMatch(verify.stdout, /still in progress|failed/i, verify.stdout);
      await waitFor(async () => (await noThrottles([RF2, TOPIC])).length === 0, { timeoutMs: WAIT_MS, what: 'every throttle vigil set removed' });
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }));
});
