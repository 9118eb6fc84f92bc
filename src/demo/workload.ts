/**
 * The demo's traffic, with real kafkajs clients: one producer writing `orders` and
 * `payments` at steady rates, the consumer group `orders-svc` keeping up with `orders`,
 * and the group `payments-slow` falling behind on `payments` and then catching up (its pace
 * is the pure `slowConsumerStep` below). The demo stalls `orders-svc` by pausing its
 * consumer: the group stays alive, its committed offsets freeze, its delivery latency grows.
 */
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { describeError } from '../errors';
import type { Clock } from '../util/clock';
import { DEMO_TOPICS, HEALTHY_GROUP, ORDERS, PAYMENTS, SLOW_GROUP, SLOW_PACE, slowDelayMs } from './config';

export type Pace = 'slow' | 'fast';

export interface PaceState {
  readonly pace: Pace;
  /** while fast: when the consumer first held a fresh record (caught up), else null */
  readonly caughtUpAtMs: number | null;
}

export interface PaceRules {
  readonly slowDelayMs: number;
  readonly speedUpAtMs: number;
  readonly fastForMs: number;
  /** a record younger than this counts as caught up */
  readonly caughtUpBelowMs: number;
}

export const DEFAULT_PACE_RULES: PaceRules = {
  slowDelayMs: slowDelayMs(),
  speedUpAtMs: SLOW_PACE.speedUpAtSeconds * 1000,
  fastForMs: SLOW_PACE.fastForSeconds * 1000,
  caughtUpBelowMs: 1000,
};

export const INITIAL_PACE: PaceState = { pace: 'slow', caughtUpAtMs: null };

export interface PaceStep {
  readonly state: PaceState;
  /** how long to spend on the record in hand */
  readonly delayMs: number;
  readonly change?: 'sped-up' | 'slowed-down';
}

/**
 * The slow consumer's pace for the record in hand, `recordAgeMs` old at `nowMs` (pure).
 * Slow until a record is `speedUpAtMs` old; then fast until caught up and for `fastForMs`
 * after that; then slow again.
 */
export function slowConsumerStep(state: PaceState, nowMs: number, recordAgeMs: number, rules: PaceRules = DEFAULT_PACE_RULES): PaceStep {
  switch (state.pace) {
    case 'slow':
      if (recordAgeMs >= rules.speedUpAtMs) return { state: { pace: 'fast', caughtUpAtMs: null }, delayMs: 0, change: 'sped-up' };
      return { state, delayMs: rules.slowDelayMs };
    case 'fast': {
      const caughtUpAtMs = state.caughtUpAtMs ?? (recordAgeMs < rules.caughtUpBelowMs ? nowMs : null);
      if (caughtUpAtMs !== null && nowMs - caughtUpAtMs >= rules.fastForMs) {
        return { state: INITIAL_PACE, delayMs: rules.slowDelayMs, change: 'slowed-down' };
      }
      return { state: caughtUpAtMs === state.caughtUpAtMs ? state : { pace: 'fast', caughtUpAtMs }, delayMs: 0 };
    }
    default:
      return unreachable(state.pace);
  }
}

export interface DemoWorkloadOptions {
  readonly brokers: readonly string[];
  readonly clock: Clock;
  /** one-line notes for the console (the slow group sped up, a send failed) */
  readonly note: (text: string) => void;
  readonly paceRules?: PaceRules;
}

export interface DemoWorkload {
  /** Connects the producer and both consumers and starts producing. */
  start(): Promise<void>;
  /** Stops `orders-svc` consuming (its offsets freeze) / lets it go on. */
  stallHealthy(): void;
  resumeHealthy(): void;
  /** records acknowledged per topic, and failed produce requests */
  stats(): { produced: Record<string, number>; failedSends: number; slowPace: Pace };
  /** Stops producing and disconnects every client, each within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

const TICK_MS = 100;

export function createDemoWorkload(opts: DemoWorkloadOptions): DemoWorkload {
  const rules = opts.paceRules ?? DEFAULT_PACE_RULES;
  const kafka = new Kafka({ clientId: 'vigil-demo-workload', brokers: [...opts.brokers], logLevel: logLevel.NOTHING });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 2 } });
  const consumerOptions = { sessionTimeout: 10_000, heartbeatInterval: 1000, maxBytesPerPartition: 4096, retry: { retries: 10 } };
  const healthy: Consumer = kafka.consumer({ groupId: HEALTHY_GROUP, ...consumerOptions });
  const slow: Consumer = kafka.consumer({ groupId: SLOW_GROUP, ...consumerOptions });
  const produced: Record<string, number> = Object.fromEntries(DEMO_TOPICS.map((t) => [t.topic, 0]));
  let failedSends = 0;
  let lastFailureNoteMs = -Infinity;
  let pace: PaceState = INITIAL_PACE;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  /** Per topic: records owed by the rate, the next partition, and whether a send is in flight. */
  const lanes = DEMO_TOPICS.map((t) => ({ topic: t, owed: 0, next: 0, inFlight: false }));

  const sendLane = (lane: (typeof lanes)[number]): void => {
    const n = Math.floor(lane.owed);
    if (n === 0 || lane.inFlight) return;
    lane.owed -= n;
    lane.inFlight = true;
    const byPartition = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const p = lane.next;
      lane.next = (lane.next + 1) % lane.topic.partitions;
      byPartition.set(p, (byPartition.get(p) ?? 0) + 1);
    }
    const now = opts.clock.wallMs();
    // One request per partition: a partition whose leader is down fails alone.
    void Promise.allSettled(
      [...byPartition].map(async ([partition, count]) => {
        await producer.send({
          topic: lane.topic.topic,
          acks: -1,
          timeout: 5000,
          messages: Array.from({ length: count }, () => ({ partition, value: JSON.stringify({ at: now }) })),
        });
        produced[lane.topic.topic] = (produced[lane.topic.topic] ?? 0) + count;
      }),
    ).then((results) => {
      lane.inFlight = false;
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failures.length === 0) return;
      failedSends += failures.length;
      // One note every 10 s at most: a dead partition leader fails every tick.
      const t = opts.clock.wallMs();
      if (t - lastFailureNoteMs >= 10_000 && !stopped) {
        lastFailureNoteMs = t;
        opts.note(`producer: ${failures.length} send(s) to ${lane.topic.topic} failed (${describeError(failures[0]?.reason)}); retrying`);
      }
    });
  };

  const tick = (): void => {
    for (const lane of lanes) {
      // Owe at most 10 s of records: after an outage the producer catches up in a burst,
      // as a real one with a buffer would, but not without bound.
      lane.owed = Math.min(lane.owed + (lane.topic.ratePerSec * TICK_MS) / 1000, lane.topic.ratePerSec * 10);
      sendLane(lane);
    }
  };

  return {
    async start() {
      await producer.connect();
      timer = setInterval(tick, TICK_MS);
      await Promise.all([healthy.connect(), slow.connect()]);
      await healthy.subscribe({ topic: ORDERS.topic, fromBeginning: true });
      await slow.subscribe({ topic: PAYMENTS.topic, fromBeginning: true });
      await healthy.run({ autoCommitInterval: 500, eachMessage: async () => undefined });
      await slow.run({
        autoCommitInterval: 500,
        eachMessage: async ({ message }) => {
          const now = opts.clock.wallMs();
          const step = slowConsumerStep(pace, now, now - Number(message.timestamp), rules);
          pace = step.state;
          if (step.change === 'sped-up') opts.note(`${SLOW_GROUP}: the record in hand is ${((now - Number(message.timestamp)) / 1000).toFixed(1)} s old; the consumer speeds up`);
          if (step.change === 'slowed-down') opts.note(`${SLOW_GROUP}: caught up for ${Math.round(rules.fastForMs / 1000)} s; the consumer slows down again`);
          // Simulated processing time: this is the consumer's work, not a wait for anything.
          if (step.delayMs > 0 && !stopped) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
        },
      });
    },
    stallHealthy() {
      healthy.pause([{ topic: ORDERS.topic }]);
    },
    resumeHealthy() {
      healthy.resume([{ topic: ORDERS.topic }]);
    },
    stats: () => ({ produced: { ...produced }, failedSends, slowPace: pace.pace }),
    async stop(timeoutMs = 5000) {
      stopped = true;
      if (timer) clearInterval(timer);
      await Promise.all([healthy, slow, producer].map((client) => withTimeout(client.disconnect(), timeoutMs)));
    },
  };
}

async function withTimeout(p: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}

function unreachable(x: never): never {
  throw new Error(`unexpected pace ${String(x)}`);
}
