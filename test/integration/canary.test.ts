/**
 * The canary on a real Kafka cluster (docs/design.md §3 "Canary", §4 CanaryDegraded, §7
 * vigil_canary_latency_seconds): the CanaryPort contract on the kafkajs adapter, the topic
 * laid out with one partition led by each broker, per-broker latency, a hung (SIGSTOPped)
 * broker failing its own canary while the others are measured (a broker that is not the
 * KRaft quorum's leader: see brokerToPause), and a broker that joins getting its partition.
 *
 * Four brokers are started and broker 4 is stopped and unregistered (kafka-cluster.sh
 * unregister) before the canary runs, so that it can join later as a new broker: Kafka 4.x
 * would otherwise refuse its registration until its old session expires (60 s here). Cluster settings: replica.lag.time.max.ms 3 s, so that a hung follower leaves
 * the ISR quickly (until it does, acks=all on every partition it follows waits for it —
 * real Kafka behaviour the canary reports); broker.session.timeout.ms 60 s, so that the
 * paused broker stays in the metadata (is not fenced) for the length of the test.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { KafkaConfig } from '../../src/config/types';
import { KafkajsAdmin } from '../../src/kafka/kafkajs-admin';
import { KafkajsCanaryPort } from '../../src/kafka/kafkajs-canary';
import { createLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { Canary, type CanaryBrokerState } from '../../src/monitor/canary';
import { systemClock } from '../../src/util/clock';
import { canaryPortContract } from '../fakes/memory-canary';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { KAFKA_TOOLS, runKafkaTool } from '../harness/kafka-tools';
import { waitFor } from '../harness/wait';

const TOPIC = '__vigil_canary';
const INTERVAL_MS = 300;
const WAIT_MS = 60_000;

let cluster: KafkaCluster;

function kafkaConfig(): KafkaConfig {
  return { brokers: cluster.bootstrap, clientId: 'vigil-canary-test', ssl: false, connectionTimeoutMs: 1000, requestTimeoutMs: 5000 };
}

before(async () => {
  cluster = await startKafka({
    brokers: 4,
    name: 'canary',
    brokerOverrides: { 'replica.lag.time.max.ms': 3000, 'broker.session.timeout.ms': 60_000 },
  });
  await cluster.stop(4);
  await waitFor(async () => (await cluster.metadata(1)).brokers.map((b) => b.nodeId).join(',') === '1,2,3', {
    timeoutMs: WAIT_MS,
    what: 'broker 4 to leave the metadata after its controlled shutdown',
  });
  const unregister = await runKafkaTool(KAFKA_TOOLS.cluster, ['unregister', '--bootstrap-server', cluster.brokerAddress(1), '--id', '4']);
  assert.equal(unregister.code, 0, `kafka-cluster.sh unregister --id 4: ${unregister.stdout}${unregister.stderr}`);
});

after(async () => {
  await cluster?.shutdown();
});

canaryPortContract('kafkajs adapter on real Kafka', async () => {
  const port = new KafkajsCanaryPort(kafkaConfig());
  return { port, brokerIds: [1, 2, 3], teardown: () => port.close() };
});

/**
 * The broker the SIGSTOP test pauses: one with a canary partition that is not the KRaft
 * quorum's leader. Pausing the active controller also fails the other brokers' canaries for
 * about controller.socket.timeout.ms (30 s): their ISR shrinks (AlterPartition) wait that
 * long on the hung controller before going to the newly elected one, and until then
 * acks=all on the partitions the hung broker follows times out (docs/canary.md). That is
 * Kafka's behaviour, reported as it is; this test is about the hung broker's own canary.
 */
async function brokerToPause(): Promise<number> {
  const admin = new KafkajsAdmin(kafkaConfig());
  try {
    const md = await admin.metadata();
    const quorum = await admin.describeQuorum(md.brokers, WAIT_MS);
    assert.equal(quorum.state, 'described', `DescribeQuorum: ${JSON.stringify(quorum)}`);
    const leader = quorum.state === 'described' ? quorum.leaderId : null;
    return [2, 3, 1].find((b) => b !== leader) as number;
  } finally {
    await admin.close();
  }
}

/** The canary's log lines, printed when a test fails. */
class LogLines extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: unknown, _enc: string, done: () => void): void {
    this.lines.push(String(chunk));
    done();
  }
  logReport(lines = 80): string {
    return `--- canary log (last ${lines} lines) ---\n${this.lines.slice(-lines).join('')}`;
  }
  markFailed(): void {}
}

function startCanary(topic: string, log: LogLines) {
  const port = new KafkajsCanaryPort(kafkaConfig());
  const metrics = createMetrics({ nodeId: 'vigil-it', cluster: 'it' });
  const canary = new Canary({
    port,
    config: { topic, intervalMs: INTERVAL_MS },
    nodeId: 'vigil-it',
    clock: systemClock,
    logger: createLogger({ level: 'info', destination: log }),
    metrics,
    mayAct: () => true,
  });
  canary.start();
  return { port, metrics, canary };
}

describe('canary on a real cluster', () => {
  const log = new LogLines();
  let port: KafkajsCanaryPort;
  let canary: Canary;
  let metrics: ReturnType<typeof createMetrics>;
  const state = (broker: number): CanaryBrokerState | undefined => canary.states().find((s) => s.broker === broker);
  const sources = () => [cluster, log];

  before(() => {
    ({ port, canary, metrics } = startCanary(TOPIC, log));
  });
  after(async () => {
    await canary?.stop();
    await port?.close();
  });

  it('creates the topic with one partition led by each broker and measures every broker', () =>
    withLogsOnFailure(sources(), async () => {
      await waitFor(() => [1, 2, 3].every((b) => state(b)?.ok === true), { timeoutMs: WAIT_MS, what: 'an ok canary for brokers 1, 2 and 3' });
      const md = await cluster.metadata(1, [TOPIC]);
      const parts = md.topics[0]?.partitions.sort((a, b) => a.partition - b.partition) ?? [];
      assert.deepEqual(parts.map((p) => p.replicas), [[1, 2, 3], [2, 3, 1], [3, 1, 2]]);
      for (const b of [1, 2, 3]) {
        const s = state(b) as CanaryBrokerState;
        assert.equal(s.partition, b - 1);
        assert.equal(s.leader, b, 'measured through the broker itself');
        assert.equal(typeof s.latencyMs, 'number');
      }
      const series = (await metrics.canaryLatencySeconds.get()).values.map((v) => String(v.labels.broker)).sort();
      assert.deepEqual(series, ['1', '2', '3']);
    }));

  it('a paused (SIGSTOP) broker fails its canary with a timeout while the others are measured ok; after SIGCONT all are ok', () =>
    withLogsOnFailure(sources(), async () => {
      const victim = await brokerToPause();
      const others = [1, 2, 3].filter((b) => b !== victim);
      cluster.pause(victim);
      let resumed = false;
      try {
        const failedAtMs = await waitFor(
          () => {
            const s = state(victim);
            return s && !s.ok && /^timeout: /.test(s.error ?? '') ? s.probedAtMs : null;
          },
          { timeoutMs: WAIT_MS, what: `broker ${victim}'s canary to fail with a timeout` },
        );
        // The others wait for their hung follower until it leaves the ISR, then answer.
        await waitFor(
          () => state(victim)?.ok === false && others.every((b) => state(b)?.ok === true && (state(b)?.probedAtMs ?? 0) > failedAtMs),
          { timeoutMs: WAIT_MS, what: `brokers ${others.join(' and ')} measured ok while broker ${victim} fails` },
        );
        cluster.resume(victim);
        resumed = true;
        const resumedAtMs = Date.now();
        await waitFor(() => [1, 2, 3].every((b) => state(b)?.ok === true && (state(b)?.probedAtMs ?? 0) > resumedAtMs), {
          timeoutMs: WAIT_MS,
          what: 'every canary ok again after SIGCONT',
        });
        assert.ok(log.lines.some((l) => l.includes(`canary via broker ${victim} failing`)));
        assert.ok(log.lines.some((l) => l.includes(`canary via broker ${victim} healthy again`)));
      } finally {
        if (!resumed) cluster.resume(victim);
      }
    }));

  it('a broker that joins gets a new partition led by it; existing partitions stay as they were', () =>
    withLogsOnFailure(sources(), async () => {
      await cluster.start(4);
      await waitFor(() => state(4)?.ok === true, { timeoutMs: WAIT_MS, what: 'an ok canary for the new broker 4' });
      const md = await cluster.metadata(1, [TOPIC]);
      const parts = md.topics[0]?.partitions.sort((a, b) => a.partition - b.partition) ?? [];
      assert.deepEqual(parts.map((p) => p.replicas[0]), [1, 2, 3, 4]);
      assert.deepEqual(parts.slice(0, 3).map((p) => p.replicas), [[1, 2, 3], [2, 3, 1], [3, 1, 2]]);
      assert.equal(parts[3]?.replicas.length, 3);
      assert.equal(state(4)?.partition, 3);
      assert.deepEqual(canary.states().map((s) => s.broker), [1, 2, 3, 4]);
    }));

  it('a topic laid out by someone else is used as it is: never altered, uncovered brokers logged', () =>
    withLogsOnFailure(sources(), async () => {
      const topic = 'foreign-canary';
      await cluster.createTopic(topic, { replicaAssignment: [[2, 3, 1], [2, 1, 3]] });
      const foreignLog = new LogLines();
      const other = startCanary(topic, foreignLog);
      try {
        await waitFor(() => other.canary.states().some((s) => s.broker === 2 && s.ok), { timeoutMs: WAIT_MS, what: 'an ok canary for broker 2 on the foreign topic' });
        const rounds = other.canary.roundsCompleted;
        await waitFor(() => other.canary.roundsCompleted >= rounds + 3, { timeoutMs: WAIT_MS, what: 'three more canary rounds' });
        assert.deepEqual(other.canary.states().map((s) => s.broker), [2]);
        assert.equal((await cluster.metadata(1, [topic])).topics[0]?.partitions.length, 2);
        const warning = foreignLog.lines.find((l) => l.includes('brokers without a canary partition'));
        assert.ok(warning, foreignLog.logReport());
        assert.deepEqual(JSON.parse(warning).brokers, [1, 3, 4]);
      } finally {
        await other.canary.stop();
        await other.port.close();
      }
    }));
});
