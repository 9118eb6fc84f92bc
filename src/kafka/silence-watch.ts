/**
 * The requests in flight to each broker, watched for a broker that stops answering under
 * them (docs/design.md §1): a hung broker (SIGSTOP, a frozen host) that answered its ping a
 * moment ago holds every request sent to it until kafka.requestTimeout. Once a request has
 * waited longer than the ping deadline, its broker is pinged (on a connection of its own, so
 * the ping does not queue behind the request); if the ping fails too, every request in
 * flight to that broker is abandoned at once — it fails with KAFKA_UNREACHABLE — and the
 * broker is reported silent. If the ping answers, the broker is slow, not silent: its
 * requests go on, and it is pinged again after another deadline while one still waits.
 *
 * An abandoned request's answer, if one ever comes, is dropped here: the caller already
 * has its failure, and nothing it wrote depends on the late answer (callers write their
 * state only after the request returns).
 */
import { VigilError } from '../errors';

interface Waiting {
  readonly sentAtMs: number;
  readonly abandon: (err: Error) => void;
}

interface BrokerWatch {
  readonly waiting: Set<Waiting>;
  timer?: NodeJS.Timeout;
  pinging: boolean;
}

/** Pings `address` within `timeoutMs`: null when it answered, else why not. */
export type SilencePing = (address: string, timeoutMs: number) => Promise<string | null>;

export class SilenceWatch {
  private readonly brokers = new Map<string, BrokerWatch>();
  /** the ping deadline; null until one is set: then requests are not watched */
  deadlineMs: number | null = null;
  /** requests abandoned because their broker fell silent under them, since start */
  abandoned = 0;

  constructor(
    private readonly ping: SilencePing,
    /** the broker at `address` fell silent: it has answered nothing sent since `sinceMs` (wall clock) */
    private readonly onSilent: (address: string, why: string, sinceMs: number) => void,
  ) {}

  /** `request()`, sent to the broker at `address`, failing at once if that broker falls silent. */
  async run<T>(address: string, request: () => Promise<T>): Promise<T> {
    if (this.deadlineMs === null) return request();
    let watch = this.brokers.get(address);
    if (!watch) this.brokers.set(address, (watch = { waiting: new Set(), pinging: false }));
    let waiting: Waiting | undefined;
    const abandoned = new Promise<never>((_, reject) => {
      waiting = { sentAtMs: Date.now(), abandon: reject };
    });
    watch.waiting.add(waiting as Waiting);
    this.arm(address, watch, this.deadlineMs);
    const answer = request();
    answer.catch(() => undefined); // an abandoned request's late failure is nobody's
    try {
      return await Promise.race([answer, abandoned]);
    } finally {
      watch.waiting.delete(waiting as Waiting);
      if (watch.waiting.size === 0 && !watch.pinging) this.forget(address, watch);
    }
  }

  close(): void {
    for (const [address, watch] of this.brokers) this.forget(address, watch);
  }

  private forget(address: string, watch: BrokerWatch): void {
    clearTimeout(watch.timer);
    watch.timer = undefined;
    if (this.brokers.get(address) === watch) this.brokers.delete(address);
  }

  /** A timer for when the oldest waiting request has waited `deadlineMs`. */
  private arm(address: string, watch: BrokerWatch, deadlineMs: number): void {
    if (watch.timer !== undefined || watch.pinging || watch.waiting.size === 0) return;
    const oldest = Math.min(...[...watch.waiting].map((w) => w.sentAtMs));
    watch.timer = setTimeout(() => {
      watch.timer = undefined;
      void this.check(address, watch, deadlineMs);
    }, Math.max(0, oldest + deadlineMs - Date.now()));
    watch.timer.unref();
  }

  private async check(address: string, watch: BrokerWatch, deadlineMs: number): Promise<void> {
    if (watch.waiting.size === 0) return this.forget(address, watch);
    watch.pinging = true;
    const why = await this.ping(address, deadlineMs).catch((err: unknown) => String(err));
    watch.pinging = false;
    if (why === null) {
      // slow, not silent: look again once the requests still waiting have waited another deadline
      if (watch.waiting.size === 0) return this.forget(address, watch);
      watch.timer = setTimeout(() => {
        watch.timer = undefined;
        void this.check(address, watch, deadlineMs);
      }, deadlineMs);
      watch.timer.unref();
      return;
    }
    const all = [...watch.waiting];
    this.forget(address, watch);
    const sinceMs = Math.min(...all.map((w) => w.sentAtMs));
    this.onSilent(address, why, sinceMs);
    const waitedMs = Date.now() - sinceMs;
    for (const w of all) {
      this.abandoned++;
      w.abandon(
        new VigilError('KAFKA_UNREACHABLE', `not answered: the broker at ${address} answered neither this request nor a ping within ${deadlineMs} ms (${why}; its oldest request waited ${waitedMs} ms); it is asked again once it answers a ping`, { retriable: true }),
      );
    }
  }
}
