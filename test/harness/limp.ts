/**
 * A limping broker's workload (issue 7; docs/benchmarks.md "Limping broker"), shared by
 * test/bench/remediation-limp.bench.ts and test/integration/remediation.test.ts:
 * - `groupCoordinatedOff`: a consumer group id whose coordinator's offsets partition has no
 *   replica on a given broker, so the limping broker never holds the group's joins,
 *   heartbeats or commits;
 * - `ScheduledTraffic`: a producer sending one record to every partition every 100 ms with
 *   acks=all, each send awaited (as a scheduled job does), the record's timestamp its
 *   scheduled send time; a real consumer recording each record's end-to-end latency
 *   (consumed at − record timestamp);
 * - `DutyCycle`: SIGSTOP `stopMs` out of every `cycleMs`, each cycle's instants recorded.
 *
 *   const traffic = new ScheduledTraffic(producer, consumer, 'orders', 8);
 *   await traffic.start();
 *   const duty = new DutyCycle(kafka, 4, 5_000, 7_000);
 *   const cycles = await duty.run((done) => done.length < 2, 2);   // duty.abort() in finally
 *   traffic.consumedIn(cycles[0].pausedAtMs, cycles[0].endAtMs).maxMs
 */
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { KafkaCluster } from './kafka';
import { waitFor } from './wait';

/**
 * A topic of 8 partitions, RF 3, for a limping broker 4: it leads 0 and 1 and follows in
 * 2–5; 6 and 7 are without it.
 */
export const LIMP_ASSIGNMENT: number[][] = [
  [4, 1, 2],
  [4, 2, 3],
  [1, 4, 2],
  [2, 4, 3],
  [3, 1, 4],
  [1, 2, 4],
  [1, 2, 3],
  [2, 3, 1],
];

/** Java's String.hashCode, as Kafka maps a group to its offsets partition. */
export function javaHash(s: string): number {
  let h = 0;
  for (const c of s) h = (Math.imul(31, h) + (c.codePointAt(0) as number)) | 0;
  return h;
}

/**
 * A group id `<prefix>-<i>` whose offsets partition has no replica on `broker`. Creates
 * __consumer_offsets first when needed (a probe consumer of `topic` joins `probeGroup`).
 */
export async function groupCoordinatedOff(kafka: KafkaCluster, client: Kafka, topic: string, broker: number, prefix: string, probeGroup = 'limp-probe'): Promise<string> {
  const probe = client.consumer({ groupId: probeGroup });
  await probe.connect();
  await probe.subscribe({ topic });
  await probe.run({ eachMessage: async () => undefined });
  const offsets = await waitFor(
    async () => {
      const md = await kafka.metadata(1, ['__consumer_offsets']);
      const parts = md.topics.find((t) => t.name === '__consumer_offsets')?.partitions ?? [];
      return parts.length > 0 && parts.every((p) => p.leader >= 0) ? parts : undefined;
    },
    { timeoutMs: 60_000, what: '__consumer_offsets created' },
  );
  await probe.disconnect();
  for (let i = 0; ; i++) {
    const g = `${prefix}-${i}`;
    const p = offsets.find((x) => x.partition === Math.abs(javaHash(g)) % offsets.length);
    if (p && !p.replicas.includes(broker)) return g;
  }
}

/** A scheduled acks=all producer and a consumer that records each record's end-to-end latency. */
export class ScheduledTraffic {
  private stopped = false;
  private sending: Promise<void> = Promise.resolve();
  /** [consumed at, end-to-end ms] */
  readonly seen: [number, number][] = [];

  constructor(
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly intervalMs = 100,
  ) {}

  async start(): Promise<void> {
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const now = Date.now();
        this.seen.push([now, now - Number(message.timestamp)]);
      },
    });
    this.sending = (async () => {
      let next = Date.now();
      while (!this.stopped) {
        if (Date.now() < next) {
          await new Promise((r) => setTimeout(r, next - Date.now()));
          continue;
        }
        // a send held by a stopped broker: the records scheduled meanwhile go in the next one, with their scheduled times
        const messages: { partition: number; value: string; timestamp: string }[] = [];
        while (next <= Date.now()) {
          for (let partition = 0; partition < this.partitions; partition++) messages.push({ partition, value: 'x', timestamp: String(next) });
          next += this.intervalMs;
        }
        await this.producer.send({ topic: this.topic, acks: -1, messages }).catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.sending;
  }

  /** Records consumed in [fromMs, toMs): how many, and their largest end-to-end latency (0 when none). */
  consumedIn(fromMs: number, toMs: number): { count: number; maxMs: number } {
    let count = 0;
    let maxMs = 0;
    for (const [at, e] of this.seen) {
      if (at < fromMs || at >= toMs) continue;
      count++;
      if (e > maxMs) maxMs = e;
    }
    return { count, maxMs };
  }

  windows(fromMs: number, toMs: number, windowMs: number): number[] {
    const out: number[] = [];
    for (let t = fromMs; t < toMs; t += windowMs) out.push(Math.max(0, ...this.seen.filter(([at]) => at >= t && at < t + windowMs).map(([, e]) => e)));
    return out;
  }

  /** from `fromMs`, when end-to-end latency went under `limitMs` for good (null: never) */
  settledUnder(limitMs: number, fromMs: number, toMs: number): number | null {
    const after = this.seen.filter(([at]) => at >= fromMs && at < toMs);
    let lastOver = -1;
    after.forEach(([, e], i) => {
      if (e >= limitMs) lastOver = i;
    });
    const settle = after[lastOver + 1];
    return settle === undefined ? null : settle[0] - fromMs;
  }
}

export interface DutyCycleRecord {
  readonly pausedAtMs: number;
  readonly resumedAtMs: number;
  /** when the next pause was due (the end of this cycle) */
  readonly endAtMs: number;
}

/**
 * SIGSTOP `broker` for `stopMs` out of every `cycleMs` (a fault schedule, not a wait: tests
 * wait for conditions, and read the cycles' instants from `cycles`).
 */
export class DutyCycle {
  /** the completed cycles, in order */
  readonly cycles: DutyCycleRecord[] = [];
  private aborted = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly kafka: Pick<KafkaCluster, 'pause' | 'resume'>,
    readonly broker: number,
    readonly stopMs: number,
    readonly cycleMs: number,
  ) {}

  /**
   * Runs whole cycles while `more(cycles so far)` says so before each, at most `maxCycles`;
   * resolves with the cycles it ran, the broker running.
   */
  async run(more: (done: readonly DutyCycleRecord[]) => boolean, maxCycles: number): Promise<DutyCycleRecord[]> {
    const ran: DutyCycleRecord[] = [];
    while (!this.aborted && ran.length < maxCycles && more(ran)) {
      const pausedAtMs = Date.now();
      this.kafka.pause(this.broker);
      try {
        await this.sleep(this.stopMs);
      } finally {
        this.kafka.resume(this.broker);
      }
      const resumedAtMs = Date.now();
      await this.sleep(pausedAtMs + this.cycleMs - Date.now());
      if (this.aborted) break;
      const c = { pausedAtMs, resumedAtMs, endAtMs: Date.now() };
      ran.push(c);
      this.cycles.push(c);
    }
    return ran;
  }

  /** Ends a running cycle at once (the broker resumed) and every later run. */
  abort(): void {
    this.aborted = true;
    this.wake?.();
    this.kafka.resume(this.broker);
  }

  private sleep(ms: number): Promise<void> {
    if (this.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }
}
