/**
 * Issue 7's limping broker, measured: a broker SIGSTOPped `--stop` ms out of every
 * `--cycle` ms — short enough to keep its controller session (Kafka's default 9 s), so
 * Kafka itself moves nothing — leading and following partitions of a consumed topic.
 *
 *   npm run build && node scripts/run-bench.js remediation-limp [--stop 5000] [--cycle 7000] [--seconds 60]
 *
 * A real Kafka of 4 nodes (1–3 broker+controller, 4 a broker only: the limping one, so the
 * controller quorum is not involved) with Kafka's default session and replica-lag
 * timeouts, a real Redis; a topic of 8 partitions, RF 3, min.insync.replicas 2, broker 4
 * leading 2 of them and following in 4 more; a producer sending one record to every
 * partition every 100 ms with acks=all (each send awaited, as a scheduled job does; the
 * record's timestamp is its scheduled time) and a real consumer group (kafkajs) whose
 * coordinator is not on broker 4. Three phases in one run, each with the same duty cycle
 * for `--seconds`: vigil `off` (the baseline), `dry-run`, `auto`. Per phase:
 * - end-to-end latency (consumed at − record timestamp), the max per duty cycle: what the
 *   limping broker does to the group;
 * - the group's delivery latency as vigil measures it (/api/v1/lag: the age of the oldest
 *   record the group has not consumed, among the records Kafka lets it read);
 * - plans: dry-run — proposed, nothing moved; auto — SIGSTOP → first corrective request
 *   sent (the plan's reassign step), and when end-to-end latency stayed under 1 s after.
 * Prints one JSON line. Exit 0 when the baseline's end-to-end latency stays above 80 % of
 * the stop time to its end, dry-run moved nothing, and auto's end-to-end latency is back
 * under 1 s within 15 s of its first pause.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { LIMP_ASSIGNMENT, ScheduledTraffic, groupCoordinatedOff } from '../harness/limp';
import { type RedisServer, startRedis } from '../harness/redis';
import { startReplicas } from '../harness/replicas';
import { waitFor } from '../harness/wait';
import { arg, plansOf } from './util';

const TOPIC = 'orders';
const LIMPING = 4;
/** broker 4 leads 0 and 1, follows in 2–5; 6 and 7 without it */
const ASSIGNMENT = LIMP_ASSIGNMENT;

interface Phase {
  readonly mode: 'off' | 'dry-run' | 'auto';
  /** max end-to-end latency per duty cycle, in ms, from the first pause */
  readonly e2eMaxMs: number[];
  /** max of vigil's measured delivery latency for the group, in s */
  readonly vigilMaxS: number;
  readonly plans: { kind: string; status: string; firstRequestMs?: number }[];
  /** auto: first pause → end-to-end latency under 1 s from then on (null: never) */
  readonly e2eBackUnder1sMs?: number | null;
  readonly moved: boolean;
}

async function assignment(kafka: KafkaCluster): Promise<string> {
  const md = await kafka.metadata(1, [TOPIC]);
  return (md.topics.find((t) => t.name === TOPIC)?.partitions ?? []).map((p) => `${p.partition}:${p.replicas.join(',')}`).sort().join(' ');
}

async function phase(kafka: KafkaCluster, redis: RedisServer, traffic: ScheduledTraffic, gid: string, mode: Phase['mode'], stopMs: number, cycleMs: number, seconds: number): Promise<Phase> {
  const before = await assignment(kafka);
  const group = await startReplicas({
    count: 1,
    name: `bench-limp-${mode}`,
    config: {
      kafka: { brokers: kafka.bootstrap, controllers: kafka.controllerBootstrap },
      redis: { url: redis.url },
      alerting: { channels: [] },
      remediation: { mode, hungAfter: '2s', recoverGrace: '10s', cooldown: '0s' },
    },
  });
  try {
    await group.waitForLeader({ timeoutMs: 30_000 });
    await waitFor(async () => (await group.request(group.replicas[0]!.id, 'GET', '/api/v1/lag')).status === 200, { timeoutMs: 30_000, what: "vigil's first lag snapshot" });
    const t0 = Date.now();
    let vigilMaxS = 0;
    let cycling = true;
    const cycle = (async () => {
      while (Date.now() - t0 < seconds * 1000) {
        kafka.pause(LIMPING);
        await new Promise((r) => setTimeout(r, stopMs));
        kafka.resume(LIMPING);
        await new Promise((r) => setTimeout(r, cycleMs - stopMs));
      }
      cycling = false;
    })();
    while (cycling) {
      const res = await group.request(group.replicas[0]!.id, 'GET', '/api/v1/lag').catch(() => undefined);
      if (res?.status === 200) {
        const g = (JSON.parse(res.text) as { groups: { group: string; lagSeconds: number | null }[] }).groups.find((x) => x.group === gid);
        vigilMaxS = Math.max(vigilMaxS, g?.lagSeconds ?? 0);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await cycle;
    kafka.resume(LIMPING);
    const t1 = Date.now();
    const records = (await plansOf(group)).filter((r) => r.createdAtMs >= t0);
    const moved = (await assignment(kafka)) !== before;
    const out: Phase = {
      mode,
      e2eMaxMs: traffic.windows(t0, t1, cycleMs),
      vigilMaxS,
      plans: records.map((r) => {
        const first = r.outcomes.find((o) => o.step === 'reassign' || o.step === 'elect');
        return { kind: r.plan.kind, status: r.status, ...(first ? { firstRequestMs: first.atMs - t0 } : {}) };
      }),
      moved,
      ...(mode === 'auto' ? { e2eBackUnder1sMs: traffic.settledUnder(1_000, t0, t1) } : {}),
    };
    if (mode === 'auto') {
      // the broker answers again: vigil gives its partitions back after recoverGrace
      await waitFor(async () => (await assignment(kafka)) === before, { timeoutMs: 120_000, intervalMs: 500, what: 'vigil giving broker 4 its partitions back' });
      await waitFor(async () => (await plansOf(group)).every((r) => r.status !== 'executing'), { timeoutMs: 60_000, intervalMs: 250, what: "vigil's plans finished" });
    }
    return out;
  } catch (err) {
    group.markFailed();
    console.error(group.logReport(60));
    throw err;
  } finally {
    await group.shutdown();
  }
}

async function main(): Promise<void> {
  const stopMs = arg('stop', 5_000);
  const cycleMs = arg('cycle', 7_000);
  const seconds = arg('seconds', 60);
  const [kafka, redis] = await Promise.all([startKafka({ brokers: 4, name: 'bench-limp' }), startRedis()]);
  const client = new Kafka({ brokers: kafka.bootstrap, clientId: 'bench-limp', logLevel: logLevel.NOTHING });
  const producer = client.producer({ allowAutoTopicCreation: false });
  let consumer: Consumer | undefined;
  let traffic: ScheduledTraffic | undefined;
  const phases: Phase[] = [];
  try {
    await kafka.createTopic(TOPIC, { replicaAssignment: ASSIGNMENT, configs: { 'min.insync.replicas': '2' } });
    const gid = await groupCoordinatedOff(kafka, client, TOPIC, LIMPING, 'orders-svc');
    await producer.connect();
    consumer = client.consumer({ groupId: gid });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    traffic = new ScheduledTraffic(producer, consumer, TOPIC, ASSIGNMENT.length);
    await traffic.start();
    for (const mode of ['off', 'dry-run', 'auto'] as const) phases.push(await phase(kafka, redis, traffic, gid, mode, stopMs, cycleMs, seconds));
  } catch (err) {
    kafka.markFailed();
    console.error(kafka.logReport(40));
    throw err;
  } finally {
    await traffic?.stop();
    await consumer?.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await Promise.allSettled([kafka.shutdown(), redis.shutdown()]);
  }
  const [off, dry, auto] = phases as [Phase, Phase, Phase];
  const steady = (p: Phase) => p.e2eMaxMs.slice(1, -1); // whole cycles after the first
  const pass =
    steady(off).every((e) => e >= 0.8 * stopMs) && !dry.moved && dry.plans.some((p) => p.status === 'proposed') && auto.e2eBackUnder1sMs !== null && (auto.e2eBackUnder1sMs ?? Infinity) <= 15_000;
  console.log(JSON.stringify({ bench: 'remediation-limp', stopMs, cycleMs, seconds, phases, pass }));
  if (!pass) process.exitCode = 1;
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
