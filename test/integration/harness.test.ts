/**
 * Self-test of the test harness against real servers (docs/design.md §9): every other integration
 * and end-to-end test trusts that startKafka() and startRedis() give a working cluster
 * and that kill / pause / stop / restart do to a broker what their names say.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { Kafka, Partitioners, logLevel, type Admin } from 'kafkajs';
import { withLogsOnFailure } from '../harness/failure';
import { startKafka, type KafkaCluster } from '../harness/kafka';
import { processState, processesMentioning } from '../harness/procs';
import { startRedis, type RedisServer } from '../harness/redis';
import { waitFor } from '../harness/wait';

// Fencing a dead broker waits out the session timeout; shorter than Kafka's 9 s keeps the
// failover tests quick without making a busy 2-core machine fence healthy brokers.
const SESSION_TIMEOUT_MS = 6000;

function client(bootstrap: string[]): Kafka {
  return new Kafka({ clientId: 'harness-test', brokers: bootstrap, logLevel: logLevel.NOTHING });
}

/** The partition as broker `via` sees it. */
async function partitionState(kafka: KafkaCluster, via: number, topic: string, partition: number) {
  const meta = await kafka.metadata(via, [topic]);
  const p = meta.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partition === partition);
  assert.ok(p, `partition ${topic}/${partition} is in broker ${via}'s metadata`);
  return p;
}

describe('Kafka harness: a real 3-broker KRaft cluster', () => {
  let kafka: KafkaCluster;
  let admin: Admin;

  before(async () => {
    kafka = await startKafka({
      brokers: 3,
      name: 'harness-test',
      brokerOverrides: { 'broker.session.timeout.ms': SESSION_TIMEOUT_MS, 'broker.heartbeat.interval.ms': 1000 },
    });
    admin = client(kafka.bootstrap).admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
    await kafka?.shutdown();
  });

  it('starts three brokers that are all live in the cluster metadata', () =>
    withLogsOnFailure(kafka, async () => {
      const cluster = await admin.describeCluster();
      assert.deepEqual(cluster.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      assert.equal(cluster.clusterId, kafka.clusterId);
      assert.deepEqual(kafka.bootstrap, [1, 2, 3].map((id) => kafka.brokerAddress(id)));
    }));

  it('carries records from a kafkajs producer to a consumer group on a topic with replication factor 3', () =>
    withLogsOnFailure(kafka, async () => {
      const topic = 'harness-roundtrip';
      await kafka.createTopic(topic, { partitions: 3, replicationFactor: 3 });
      for (const id of kafka.brokerIds) {
        const meta = await kafka.metadata(id, [topic]);
        const partitions = meta.topics[0]!.partitions;
        assert.equal(partitions.length, 3, `broker ${id} knows all 3 partitions`);
        for (const p of partitions) assert.equal(p.replicas.length, 3, `partition ${p.partition} has 3 replicas`);
      }

      const kafkaClient = client(kafka.bootstrap);
      const producer = kafkaClient.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      const sent = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
      await producer.send({ topic, acks: -1, messages: sent });
      await producer.disconnect();

      const consumer = kafkaClient.consumer({ groupId: 'harness-roundtrip-group' });
      const received = new Map<string, string>();
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            received.set(message.key!.toString(), message.value!.toString());
          },
        });
        await waitFor(() => received.size >= sent.length, {
          timeoutMs: 60_000,
          what: `the consumer group to receive ${sent.length} records (has ${received.size})`,
        });
      } finally {
        await consumer.disconnect();
      }
      assert.deepEqual(
        [...received.entries()].sort(),
        sent.map((m) => [m.key, m.value]).sort(),
      );
    }));

  it('moves partition leadership off a SIGKILLed leader, and the restarted broker rejoins the ISR', () =>
    withLogsOnFailure(kafka, async () => {
      const topic = 'harness-failover';
      await kafka.createTopic(topic, { partitions: 1, replicationFactor: 3 });
      await waitFor(async () => (await partitionState(kafka, 1, topic, 0)).isr.length === 3, {
        timeoutMs: 30_000,
        what: `${topic}/0 to have 3 in-sync replicas`,
      });
      const oldLeader = (await partitionState(kafka, 1, topic, 0)).leader;
      const witness = kafka.brokerIds.find((id) => id !== oldLeader)!;
      const oldPid = kafka.pid(oldLeader)!;

      await kafka.kill(oldLeader);
      assert.equal(kafka.isRunning(oldLeader), false);
      assert.equal(processState(oldPid), undefined, 'the killed JVM is gone');

      const moved = await waitFor(
        async () => {
          const p = await partitionState(kafka, witness, topic, 0);
          return p.leader >= 0 && p.leader !== oldLeader ? p : undefined;
        },
        { timeoutMs: 60_000, what: `leadership of ${topic}/0 to move off killed broker ${oldLeader}` },
      );
      assert.ok(kafka.brokerIds.includes(moved.leader));
      assert.ok(!moved.isr.includes(oldLeader), 'the killed broker is out of the ISR');

      await kafka.restart(oldLeader);
      await waitFor(async () => (await partitionState(kafka, witness, topic, 0)).isr.includes(oldLeader), {
        timeoutMs: 60_000,
        what: `restarted broker ${oldLeader} to rejoin the ISR of ${topic}/0`,
      });
    }));

  it('pause() hangs a broker until it is fenced out of the metadata; resume() brings it back', () =>
    withLogsOnFailure(kafka, async () => {
      const paused = 2;
      // Ask another broker: a request to a stopped one just hangs.
      const witness = 1;
      try {
        kafka.pause(paused);
        const pid = kafka.pid(paused)!;
        // The stop takes effect once every JVM thread has taken the signal.
        await waitFor(() => processState(pid) === 'T', { timeoutMs: 10_000, what: `broker ${paused}'s JVM to be stopped` });
        await waitFor(async () => !(await kafka.metadata(witness)).brokers.some((b) => b.nodeId === paused), {
          timeoutMs: 60_000,
          what: `paused broker ${paused} to be fenced out of the metadata`,
        });
        kafka.resume(paused);
        assert.notEqual(processState(pid), 'T', 'the JVM runs again');
        await kafka.waitForBrokers(kafka.brokerIds);
      } finally {
        kafka.resume(paused);
      }
    }));

  it('stop() ends a broker with a controlled shutdown and start() brings it back on the same port', () =>
    withLogsOnFailure(kafka, async () => {
      const id = 3;
      await kafka.stop(id);
      assert.equal(kafka.isRunning(id), false);
      assert.match(kafka.logTail(id, 400), /shut down completed/i, 'the broker logged a completed shutdown');
      await kafka.start(id);
      await kafka.waitForBrokers(kafka.brokerIds);
      const cluster = await admin.describeCluster();
      assert.equal(cluster.brokers.find((b) => b.nodeId === id)?.port, Number(kafka.brokerAddress(id).split(':')[1]));
    }));
});

describe('Kafka harness: shutdown', () => {
  it('leaves no JVM of the cluster alive and removes its temp directory', async () => {
    const kafka = await startKafka({ brokers: 1, name: 'harness-shutdown' });
    try {
      assert.equal(processesMentioning(kafka.dir).length, 1, 'one JVM runs for the one broker');
    } finally {
      await kafka.shutdown();
    }
    assert.deepEqual(processesMentioning(kafka.dir), []);
    assert.equal(fs.existsSync(kafka.dir), false);
  });
});

describe('Redis harness: a private redis-server', () => {
  let redis: RedisServer;
  let conn: Redis;

  before(async () => {
    redis = await startRedis();
    // Reconnect quickly and keep commands queued while the server is down.
    conn = new Redis(redis.url, { retryStrategy: () => 100, maxRetriesPerRequest: null, lazyConnect: true });
    conn.on('error', () => undefined);
    await conn.connect();
  });

  after(async () => {
    conn?.disconnect();
    await redis?.shutdown();
  });

  it('serves a client, and the client reconnects after stop() and start() on the same port', () =>
    withLogsOnFailure(redis, async () => {
      await conn.set('harness:key', 'v1');
      assert.equal(await conn.get('harness:key'), 'v1');

      await redis.stop();
      assert.equal(redis.isRunning(), false);
      await waitFor(() => conn.status !== 'ready', { timeoutMs: 10_000, what: 'the client to notice the server is gone' });

      await redis.start();
      await waitFor(async () => (await conn.ping()) === 'PONG', { timeoutMs: 30_000, what: 'the client to reconnect' });
      assert.equal(await conn.get('harness:key'), null, 'without persistence a restart starts empty');
    }));

  it('restart() replaces the process and kill() ends it', () =>
    withLogsOnFailure(redis, async () => {
      const pidBefore = redis.pid();
      await redis.restart();
      assert.notEqual(redis.pid(), pidBefore);
      assert.equal(await conn.ping(), 'PONG');
      const pid = redis.pid()!;
      await redis.kill();
      assert.equal(processState(pid), undefined);
      await redis.start();
    }));
});

describe('Redis harness: AOF persistence', () => {
  it('keeps data across a SIGKILL and start()', async () => {
    const redis = await startRedis({ persistence: 'aof' });
    const conn = new Redis(redis.url, { retryStrategy: () => 100, maxRetriesPerRequest: null });
    conn.on('error', () => undefined);
    try {
      await withLogsOnFailure(redis, async () => {
        await conn.set('harness:durable', 'kept');
        await redis.kill();
        await redis.start();
        await waitFor(async () => (await conn.get('harness:durable')) === 'kept', {
          timeoutMs: 30_000,
          what: 'the written key to be there after the restart',
        });
      });
    } finally {
      conn.disconnect();
      await redis.shutdown();
    }
  });
});

describe('waitFor: the only way tests wait', () => {
  it('returns the first truthy value of the condition', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { timeoutMs: 10_000, intervalMs: 1, what: 'three calls' });
    assert.deepEqual(value, { calls: 3 });
  });

  it('fails naming what it waited for and the last error of the condition', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('broker 2 not in the ISR');
        },
        { timeoutMs: 50, intervalMs: 5, what: 'broker 2 to rejoin' },
      ),
      (err: Error) => /waiting for broker 2 to rejoin; last error: Error: broker 2 not in the ISR/.test(err.message),
    );
  });

  it('fails on time even when a single check never returns', async () => {
    await assert.rejects(
      waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 50, what: 'a hung check' }),
      /waiting for a hung check; last error: Error: the last check was still running at the deadline/,
    );
  });
});
