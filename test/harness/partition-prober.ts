/**
 * The ground truth of a partition's leaderless window (issue 10 item 4): a producer writes
 * one record at a time to each partition of a topic and keeps the time of every
 * acknowledged write, so each partition's outage is known as the producer saw it — the last
 * write acknowledged before it and the first after. Its resolution is the pacing between
 * writes plus the client's retry backoff and a round trip.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';

export interface ProbeGap {
  readonly partition: number;
  /** wall ms of the last acknowledged write before the gap */
  readonly lastOkMs: number;
  /** wall ms of the first acknowledged write after it */
  readonly firstOkMs: number;
}

export class PartitionProber {
  private producer: Producer | undefined;
  private stopped = false;
  private readonly loops: Array<Promise<void>> = [];
  /** per partition: the longest gap between two acknowledged writes so far */
  private readonly gaps: Array<ProbeGap | null>;
  private readonly lastOk: Array<number | null>;
  /** writes acknowledged, per partition */
  readonly acked: number[];

  /** Resolution: pacing between writes and the client's retry backoff cap. */
  static readonly PACE_MS = 20;
  static readonly MAX_RETRY_MS = 100;

  constructor(
    private readonly bootstrap: readonly string[],
    private readonly topic: string,
    private readonly partitions: number,
  ) {
    this.gaps = Array.from({ length: partitions }, () => null);
    this.lastOk = Array.from({ length: partitions }, () => null);
    this.acked = Array.from({ length: partitions }, () => 0);
  }

  async start(): Promise<void> {
    const kafka = new Kafka({ brokers: [...this.bootstrap], clientId: 'partition-prober', logLevel: logLevel.NOTHING, connectionTimeout: 500, requestTimeout: 1000 });
    this.producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 4, initialRetryTime: 30, maxRetryTime: PartitionProber.MAX_RETRY_MS } });
    await this.producer.connect();
    for (let p = 0; p < this.partitions; p++) this.loops.push(this.loop(p));
  }

  /** The longest gap each partition has had between acknowledged writes. */
  gap(partition: number): ProbeGap | null {
    return this.gaps[partition] ?? null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.loops);
    await this.producer?.disconnect().catch(() => undefined);
  }

  private async loop(partition: number): Promise<void> {
    const producer = this.producer as Producer;
    while (!this.stopped) {
      try {
        await producer.send({ topic: this.topic, acks: 1, timeout: 1000, messages: [{ partition, value: String(Date.now()) }] });
        const now = Date.now();
        const last = this.lastOk[partition];
        const worst = this.gaps[partition];
        if (last !== null && last !== undefined && (worst === null || worst === undefined || now - last > worst.firstOkMs - worst.lastOkMs)) {
          this.gaps[partition] = { partition, lastOkMs: last, firstOkMs: now };
        }
        this.lastOk[partition] = now;
        this.acked[partition] = (this.acked[partition] ?? 0) + 1;
        // pacing of the load, not synchronisation
        await new Promise((resolve) => setTimeout(resolve, PartitionProber.PACE_MS));
      } catch {
        // the leader is gone: the client refreshed its metadata; try again at once
      }
    }
  }
}
