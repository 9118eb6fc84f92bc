/**
 * Offset commits for many groups without their consumers (the commit-stream benchmark,
 * issue 9): each of N simple groups commits all its partitions of one topic every period,
 * the groups spread evenly over the period, as raw OffsetCommit v2 requests (generation -1,
 * no member id: Kafka accepts them for a group without live members) on a few plain
 * sockets per coordinator, pipelined. kafkajs's request machinery costs far more CPU per
 * request than the broker's work for one: at 2,000 commits a second it would be the
 * machine's biggest load, so the requests are written from a template per group and the
 * answers read by hand (plaintext listeners only; no ApiVersions handshake, which Kafka
 * does not require).
 *
 * Group i's k-th commit (k = 0, 1, …) sets every partition to offset k + 1 and is due at
 * start + k·period + i·period/N. `lastAcked[i]` is the offset of its latest acknowledged
 * commit (0: none yet) and `lastAckAtMs[i]` when that answer arrived (wall ms, sub-ms).
 */
import * as net from 'node:net';
import { kafkaErrorName } from '../../src/kafka/kafkajs-wire';

const OFFSET_COMMIT = 8;
const VERSION = 2;
const CLIENT_ID = 'bench-load';

export interface OffsetsLoadOptions {
  readonly groups: readonly string[];
  /** each group's coordinator, host:port */
  readonly coordinatorOf: (group: string) => string;
  readonly topic: string;
  readonly partitions: number;
  readonly periodMs: number;
  /** sockets per coordinator (a broker answers one connection's requests one at a time) */
  readonly connectionsPerBroker?: number;
  /** groups whose every acknowledged commit is kept (`samples`) */
  readonly sampled?: (index: number) => boolean;
}

/** An acknowledged commit of a sampled group. */
export interface CommitSample {
  readonly group: number;
  readonly offset: number;
  readonly sentAtMs: number;
  readonly ackAtMs: number;
}

interface Template {
  readonly bytes: Buffer;
  /** where each partition's int64 offset starts */
  readonly offsetAt: readonly number[];
}

interface InFlight {
  readonly group: number;
  readonly offset: number;
  readonly sentAtMs: number;
}

/** Wall-clock ms with sub-ms resolution, comparable across processes of the host. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

class Link {
  private readonly socket: net.Socket;
  private pending: Buffer = Buffer.alloc(0);
  readonly inFlight = new Map<number, InFlight>();
  error: Error | null = null;

  constructor(address: string, private readonly onAnswer: (f: InFlight, errorCodes: number[]) => void) {
    const i = address.lastIndexOf(':');
    this.socket = net.connect(Number(address.slice(i + 1)), address.slice(0, i));
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', (err) => (this.error = err));
    this.socket.on('close', () => (this.error ??= new Error(`connection to ${address} closed`)));
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState === 'open') return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  send(correlationId: number, bytes: Buffer, f: InFlight): void {
    if (this.error) throw this.error;
    this.inFlight.set(correlationId, f);
    this.socket.write(bytes);
  }

  private read(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const size = buf.readInt32BE(at);
      if (buf.length - at - 4 < size) break;
      const end = at + 4 + size;
      const correlationId = buf.readInt32BE(at + 4);
      // OffsetCommit v2 answer: [topic: name, [partition, error code]]
      const codes: number[] = [];
      const topics = buf.readInt32BE(at + 8);
      let p = at + 12;
      for (let t = 0; t < topics; t++) {
        p += 2 + buf.readInt16BE(p);
        const parts = buf.readInt32BE(p);
        p += 4;
        for (let k = 0; k < parts; k++, p += 6) {
          const code = buf.readInt16BE(p + 4);
          if (code !== 0) codes.push(code);
        }
      }
      const f = this.inFlight.get(correlationId);
      if (f) {
        this.inFlight.delete(correlationId);
        this.onAnswer(f, codes);
      }
      at = end;
    }
    buf = buf.subarray(at);
    this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }

  close(): void {
    this.socket.destroy();
  }
}

export class OffsetsLoad {
  readonly lastAcked: Int32Array;
  readonly lastAckAtMs: Float64Array;
  readonly samples: CommitSample[] = [];
  /** commits answered with an error, by error name */
  readonly errors = new Map<string, number>();
  sent = 0;
  acked = 0;
  /** the most requests unanswered at once */
  maxInFlight = 0;
  /** how far behind its due time the latest send went out (ms): the generator keeping up */
  maxSendLagMs = 0;
  private readonly templates: Template[];
  private readonly links = new Map<string, Link[]>();
  private readonly linkOf: Link[] = [];
  private correlationId = 0;
  private startMs = 0;
  /** the next commit to send: group next % N, its (next / N)-th */
  private next = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: OffsetsLoadOptions) {
    const n = opts.groups.length;
    this.lastAcked = new Int32Array(n);
    this.lastAckAtMs = new Float64Array(n);
    this.templates = opts.groups.map((g) => template(g, opts.topic, opts.partitions));
  }

  async start(): Promise<void> {
    const per = this.opts.connectionsPerBroker ?? 4;
    const answer = (f: InFlight, codes: number[]) => this.answered(f, codes);
    this.opts.groups.forEach((g, i) => {
      const address = this.opts.coordinatorOf(g);
      let links = this.links.get(address);
      if (!links) this.links.set(address, (links = Array.from({ length: per }, () => new Link(address, answer))));
      this.linkOf[i] = links[i % per] as Link;
    });
    await Promise.all([...this.links.values()].flat().map((l) => l.ready()));
    this.resume();
  }

  /** Stops sending (the schedule resumes where it stopped); waits until every commit sent is answered. */
  async pause(timeoutMs = 30_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const deadline = Date.now() + timeoutMs;
    while (this.unanswered() > 0) {
      if (Date.now() > deadline) throw new Error(`${this.unanswered()} offset commits still unanswered ${timeoutMs} ms after the load paused`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  resume(): void {
    const n = this.opts.groups.length;
    // the next commit is due now
    this.startMs = wallMs() - (this.next / n) * this.opts.periodMs;
    this.timer = setInterval(() => this.tick(), 2);
  }

  unanswered(): number {
    let sum = 0;
    for (const links of this.links.values()) for (const l of links) sum += l.inFlight.size;
    return sum;
  }

  async stop(): Promise<void> {
    await this.pause().catch(() => undefined);
    for (const links of this.links.values()) for (const l of links) l.close();
  }

  private tick(): void {
    const n = this.opts.groups.length;
    const now = wallMs();
    const due = Math.floor(((now - this.startMs) / this.opts.periodMs) * n) + 1;
    if (due <= this.next) return;
    for (const links of this.links.values()) for (const l of links) l.cork();
    try {
      for (; this.next < due; this.next++) {
        const group = this.next % n;
        const offset = Math.floor(this.next / n) + 1;
        const t = this.templates[group] as Template;
        const bytes = Buffer.from(t.bytes);
        const correlationId = (this.correlationId = (this.correlationId + 1) | 0);
        bytes.writeInt32BE(correlationId, 8);
        for (const at of t.offsetAt) {
          bytes.writeUInt32BE(0, at);
          bytes.writeUInt32BE(offset, at + 4);
        }
        (this.linkOf[group] as Link).send(correlationId, bytes, { group, offset, sentAtMs: now });
        this.sent++;
      }
      const dueAtMs = this.startMs + ((this.next - 1) / n) * this.opts.periodMs;
      this.maxSendLagMs = Math.max(this.maxSendLagMs, now - dueAtMs);
    } finally {
      for (const links of this.links.values()) for (const l of links) l.uncork();
    }
    this.maxInFlight = Math.max(this.maxInFlight, this.unanswered());
  }

  private answered(f: InFlight, codes: number[]): void {
    if (codes.length > 0) {
      for (const c of new Set(codes)) {
        const name = kafkaErrorName(c);
        this.errors.set(name, (this.errors.get(name) ?? 0) + 1);
      }
      return;
    }
    const at = wallMs();
    this.acked++;
    if (f.offset > (this.lastAcked[f.group] as number)) {
      this.lastAcked[f.group] = f.offset;
      this.lastAckAtMs[f.group] = at;
    }
    if (this.opts.sampled?.(f.group)) this.samples.push({ group: f.group, offset: f.offset, sentAtMs: f.sentAtMs, ackAtMs: at });
  }

  /** Resets the counters a measurement window reports (not the acknowledged offsets). */
  resetCounters(): void {
    this.errors.clear();
    this.samples.length = 0;
    this.sent = 0;
    this.acked = 0;
    this.maxInFlight = 0;
    this.maxSendLagMs = 0;
  }
}

/** OffsetCommit v2 (request header v1) for `group`, every partition of `topic`; correlation id at byte 8. */
function template(group: string, topic: string, partitions: number): Template {
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const i16 = (v: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return b;
  };
  const i32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  };
  const head = Buffer.concat([
    i16(OFFSET_COMMIT),
    i16(VERSION),
    i32(0), // correlation id, written per send
    str(CLIENT_ID),
    str(group),
    i32(-1), // generation: none
    str(''), // member id: none
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // retention: the broker's
    i32(1),
    str(topic),
    i32(partitions),
  ]);
  const parts: Buffer[] = [];
  const offsetAt: number[] = [];
  let at = 4 + head.length;
  for (let p = 0; p < partitions; p++) {
    parts.push(i32(p), Buffer.alloc(8), i16(-1)); // partition, offset, metadata: null
    offsetAt.push(at + 4);
    at += 14;
  }
  const body = Buffer.concat([head, ...parts]);
  return { bytes: Buffer.concat([i32(body.length), body]), offsetAt };
}
