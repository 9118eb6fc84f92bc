/**
 * A steady producer and consumer groups whose delivery latency follows a script — the
 * ground truth for the monitor's tests and benchmarks (docs/design.md §3, §10).
 *
 * The producer appends records at a fixed rate with CreateTime = now and remembers every
 * record's timestamp by offset (from the produce acks), so the true delivery latency of
 * any committed offset is known exactly. A simulated group commits, every tick, the offset
 * whose record is `targetLatencyMs(now)` old — as a consumer that far behind would.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { OffsetCommitter } from './commit-offsets';

export interface WorkloadOptions {
  readonly bootstrap: readonly string[];
  readonly topic: string;
  readonly partitions: number;
  /** records per second per partition */
  readonly ratePerSec: number;
  /**
   * One produce request per partition instead of one for all (default: when there are at
   * most 32 partitions). With one request, a partition whose leader is down fails the
   * whole send and the records written to the other partitions go unrecorded.
   */
  readonly perPartitionSends?: boolean;
  /**
   * History written at start(), before the steady rate: `ratePerSec × historyMs / 1000`
   * records per partition whose CreateTimes are spread evenly over the last historyMs,
   * oldest first, as if the producer had been running that long. A group can then be that
   * far behind at once, instead of a test waiting for records that old. Default 0.
   */
  readonly historyMs?: number;
}

export class Workload {
  private producer: Producer | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** per partition: timestamps of offsets base..base+n-1 (the topic is new: base is 0) */
  private readonly stamps: number[][];
  /**
   * per partition: a send failed since the last acknowledged one. Its records may still
   * be in the log (a produce that timed out waiting for the ISR is appended all the same),
   * at offsets past the known end that no acknowledgement told us.
   */
  private readonly unacked: boolean[];
  private sending: Promise<void> = Promise.resolve();
  private stopped = false;
  lastError: unknown;

  constructor(private readonly opts: WorkloadOptions) {
    this.stamps = Array.from({ length: opts.partitions }, () => []);
    this.unacked = Array.from({ length: opts.partitions }, () => false);
  }

  get bootstrap(): readonly string[] {
    return this.opts.bootstrap;
  }

  async start(): Promise<void> {
    const kafka = new Kafka({ brokers: [...this.opts.bootstrap], clientId: 'workload', logLevel: logLevel.NOTHING });
    this.producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 2 } });
    await this.producer.connect();
    await this.writeHistory(this.producer, this.opts.historyMs ?? 0);
    const tickMs = Math.max(10, Math.min(200, Math.round(1000 / this.opts.ratePerSec)));
    const perTick = (this.opts.ratePerSec * tickMs) / 1000;
    let owed = 0;
    const tick = () => {
      if (this.stopped) return;
      owed += perTick;
      const n = Math.floor(owed);
      owed -= n;
      if (n > 0) this.sending = this.sending.then(() => this.send(n)).catch((err) => (this.lastError = err));
      this.timer = setTimeout(tick, tickMs);
    };
    tick();
  }

  /** The records of `historyMs` (see WorkloadOptions), one send per partition; a failed send fails start(). */
  private async writeHistory(producer: Producer, historyMs: number): Promise<void> {
    const n = Math.floor((this.opts.ratePerSec * historyMs) / 1000);
    if (n <= 0) return;
    const now = Date.now();
    const stampAt = (i: number) => now - historyMs + Math.floor((i * historyMs) / n);
    await Promise.all(
      Array.from({ length: this.opts.partitions }, async (_, p) => {
        const messages = Array.from({ length: n }, (_, i) => ({ partition: p, value: `${stampAt(i)}`, timestamp: String(stampAt(i)) }));
        const [ack] = await producer.send({ topic: this.opts.topic, acks: -1, messages });
        const base = Number(ack?.baseOffset);
        if (!Number.isInteger(base)) throw new Error(`workload ${this.opts.topic}: the history written to partition ${p} got no offset`);
        const list = this.stamps[p] as number[];
        for (let i = 0; i < n; i++) list[base + i] = stampAt(i);
      }),
    );
  }

  /** Sends n records to every partition; records each record's timestamp at its offset. */
  private async send(n: number): Promise<void> {
    const producer = this.producer;
    if (!producer) return;
    const now = Date.now();
    const messagesFor = (p: number) => Array.from({ length: n }, () => ({ partition: p, value: `${now}`, timestamp: String(now) }));
    const record = (acks: { partition: number; baseOffset?: string; offset?: string }[]) => {
      for (const a of acks) {
        const base = Number(a.baseOffset ?? a.offset);
        const list = this.stamps[a.partition] as number[];
        for (let i = 0; i < n; i++) list[base + i] = now;
        this.unacked[a.partition] = false;
      }
    };
    if (this.opts.perPartitionSends ?? this.opts.partitions <= 32) {
      const results = await Promise.allSettled(
        Array.from({ length: this.opts.partitions }, (_, p) => producer.send({ topic: this.opts.topic, acks: -1, timeout: 2000, messages: messagesFor(p) })),
      );
      results.forEach((r, p) => {
        if (r.status === 'fulfilled') {
          record(r.value);
        } else {
          this.lastError = r.reason;
          this.unacked[p] = true;
        }
      });
      return;
    }
    const messages = Array.from({ length: this.opts.partitions }, (_, p) => messagesFor(p)).flat();
    record(await producer.send({ topic: this.opts.topic, acks: -1, messages }));
  }

  /** The number of records known on a partition (its end offset as far as we know). */
  end(partition: number): number {
    return (this.stamps[partition] as number[]).length;
  }

  timestampAt(partition: number, offset: number): number | undefined {
    return (this.stamps[partition] as number[])[offset];
  }

  /** The first offset whose record is at most `ageMs` old at `nowMs` (end when none). */
  offsetAtAge(partition: number, ageMs: number, nowMs: number): number {
    const list = this.stamps[partition] as number[];
    const cutoff = nowMs - ageMs;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = list[mid];
      if (t !== undefined && t >= cutoff) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * True delivery latency (ms) of a group committed at `offset` on `partition`, at nowMs;
   * NaN when unknown: the offset's record was never acknowledged (a hole), or the group is
   * at the known end while a failed send may have left records past it.
   */
  trueLatencyMs(partition: number, offset: number, nowMs: number): number {
    if (offset >= this.end(partition)) return this.unacked[partition] ? Number.NaN : 0;
    const t = this.timestampAt(partition, offset);
    return t === undefined ? Number.NaN : Math.max(0, nowMs - t);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.sending.catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }
}

/** What a simulated group should do at a moment (on one partition). */
export type GroupBehaviour = { readonly latencyMs: number } | 'caught-up' | 'stopped';

/**
 * A consumer group that commits, every tick, the offset matching its scripted latency on
 * every partition. 'stopped' commits nothing (the committed offsets freeze, the latency
 * grows by itself); 'caught-up' commits the end.
 */
export class SimulatedGroup {
  private readonly committer: OffsetCommitter;
  private readonly ownsCommitter: boolean;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private committing: Promise<void> = Promise.resolve();
  private inFlight = false;
  /** last committed offset per partition */
  readonly committed: number[];
  lastError: unknown;

  constructor(
    private readonly workload: Workload,
    readonly group: string,
    private readonly topic: string,
    private readonly partitions: number,
    private behaviour: (nowMs: number, partition: number) => GroupBehaviour,
    private readonly tickMs = 100,
    /** share one committer (one set of connections) between many simulated groups */
    committer?: OffsetCommitter,
  ) {
    this.ownsCommitter = committer === undefined;
    this.committer = committer ?? new OffsetCommitter(workload.bootstrap);
    this.committed = Array.from({ length: partitions }, () => 0);
  }

  setBehaviour(fn: (nowMs: number, partition: number) => GroupBehaviour): void {
    this.behaviour = fn;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      // one commit at a time: a tick that finds the last one still running is skipped,
      // as a real consumer's auto-commit would be (no queue building up under load)
      if (!this.inFlight) {
        this.inFlight = true;
        this.committing = this.commitOnce()
          .catch((err) => {
            this.lastError = err;
          })
          .finally(() => {
            this.inFlight = false;
          });
      }
      this.timer = setTimeout(tick, this.tickMs);
    };
    tick();
  }

  /** Commits once now according to the behaviour (also usable without start()). */
  async commitOnce(): Promise<void> {
    const now = Date.now();
    const offsets = [];
    for (let p = 0; p < this.partitions; p++) {
      const b = this.behaviour(now, p);
      if (b === 'stopped') continue;
      const offset = b === 'caught-up' ? this.workload.end(p) : this.workload.offsetAtAge(p, b.latencyMs, now);
      // a real consumer never goes backwards
      if (offset > (this.committed[p] as number)) offsets.push({ topic: this.topic, partition: p, offset });
    }
    if (offsets.length === 0) return;
    await this.committer.commit(this.group, offsets);
    for (const o of offsets) this.committed[o.partition] = o.offset;
  }

  /** True delivery latency (ms) of this group now: max over partitions. */
  trueLatencyMs(nowMs = Date.now()): number {
    let max = 0;
    for (let p = 0; p < this.partitions; p++) max = Math.max(max, this.workload.trueLatencyMs(p, this.committed[p] as number, nowMs));
    return max;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.committing.catch(() => undefined);
    if (this.ownsCommitter) await this.committer.close();
  }
}
