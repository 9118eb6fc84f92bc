/**
 * How long each broker takes to answer the requests vigil already sends it every cycle —
 * the ping, Metadata, ListGroups, DescribeGroups, FindCoordinator, OffsetFetch, ListOffsets,
 * Fetch, DescribeConfigs — measured from the send to the answer (connecting is not counted).
 * The slow-broker evidence of docs/design.md §4.3 ("answer times"): a broker that keeps its
 * controller session and answers pings, but answers everything late (disk trouble, GC, a
 * limping host), is much slower here than the other brokers.
 *
 * Per broker, each cycle's slowest answer (exact) and median (from a histogram of
 * log-spaced buckets, each about 19 % wide, so a broker answering thousands of OffsetFetch
 * a cycle costs the same memory as one answering a ping), and over a rolling window of the
 * last ANSWER_WINDOW_CYCLES cycles the median of the cycles' slowest answers: how slow the
 * slowest answer of a typical cycle is. That is the figure compared across brokers. The
 * slowest answer, because a cycle's requests go out in phases (pings, Metadata, groups,
 * offsets): a broker that stalls once a cycle holds one phase's requests — often a single
 * request — and the rest go out after it answers. The median over cycles, because a
 * broker slow in most cycles is slow, one slow in a single cycle (a GC pause, a stall of
 * vigil's own event loop) is not. A cycle without an answer (the broker unreachable) still
 * takes its place in the window, so old answers age out.
 *
 * What counts as an answer: a response (an error code in it is an answer too) and a request
 * that timed out (its time is a lower bound). A refused or broken connection, or a request
 * abandoned because the broker fell silent (silence-watch.ts), is not: that broker is
 * unreachable, which says more.
 */

/** Cycles in the window: at the default 1 s poll, about the last 10 s. */
export const ANSWER_WINDOW_CYCLES = 10;

/** One broker's answer times: this cycle's, and the window's. All in milliseconds. */
export interface AnswerTimes {
  /** answers this cycle */
  readonly count: number;
  /** this cycle's median answer (to within a bucket); null without an answer this cycle */
  readonly p50Ms: number | null;
  /** this cycle's slowest answer (exact); null without an answer this cycle */
  readonly maxMs: number | null;
  /** the median, over the window's cycles with answers, of each cycle's slowest answer; null without any */
  readonly windowSlowestMs: number | null;
  /** cycles in the window (at most ANSWER_WINDOW_CYCLES) with at least one answer */
  readonly windowCycles: number;
}

/** Bucket k holds answers in (LOWEST·2^((k−1)/4), LOWEST·2^(k/4)] ms; bucket 0 everything up to LOWEST. */
const LOWEST_MS = 0.125;
const PER_OCTAVE = 4;
/** 0.125 ms · 2^(79/4) ≈ 116 s: past any request timeout; the last bucket takes the rest */
const BUCKETS = 80;

function bucketOf(ms: number): number {
  if (!(ms > LOWEST_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(PER_OCTAVE * Math.log2(ms / LOWEST_MS)));
}

function upperEdge(k: number): number {
  return LOWEST_MS * 2 ** (k / PER_OCTAVE);
}

/** One cycle's answers to one broker. */
class CycleAnswers {
  count = 0;
  maxMs = 0;
  readonly buckets = new Uint32Array(BUCKETS);
  add(ms: number): void {
    this.count++;
    if (ms > this.maxMs) this.maxMs = ms;
    this.buckets[bucketOf(ms)]++;
  }
}

/** A cycle's median answer: the upper edge of the bucket it falls in, never above the slowest answer. */
function median(c: CycleAnswers): number {
  const rank = Math.ceil(c.count / 2);
  let seen = 0;
  for (let k = 0; k < BUCKETS; k++) {
    seen += c.buckets[k] as number;
    if (seen >= rank) return Math.min(upperEdge(k), c.maxMs);
  }
  return c.maxMs;
}

/** A broker's window: the closed cycles' slowest answers, newest last (NaN: no answer), and the cycle under way. */
interface Window {
  readonly slowest: number[];
  current: CycleAnswers;
}

/**
 * Answer times per broker address. `time` wraps a request; `cycle` closes the cycle (the
 * observer calls it once per cycle, through KafkaAdmin.takeAnswerTimes) and reports every
 * broker's figures. Process-local and cheap: a histogram and ANSWER_WINDOW_CYCLES numbers.
 */
export class AnswerClock {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly cycles: number = ANSWER_WINDOW_CYCLES,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** `send()`, its answer time counted for the broker at `address`. */
  async time<T>(address: string, send: () => Promise<T>): Promise<T> {
    const sentAtMs = this.nowMs();
    try {
      const answer = await send();
      this.record(address, this.nowMs() - sentAtMs);
      return answer;
    } catch (err) {
      if (isAnswerOrTimeout(err)) this.record(address, this.nowMs() - sentAtMs);
      throw err;
    }
  }

  record(address: string, ms: number): void {
    let w = this.windows.get(address);
    if (w === undefined) this.windows.set(address, (w = { slowest: [], current: new CycleAnswers() }));
    w.current.add(Math.max(0, ms));
  }

  /**
   * Closes the cycle under way for every broker: each address's figures (the cycle just
   * closed, and the window ending with it). The answers that come after count for the next
   * cycle. An address without an answer in the whole window is forgotten.
   */
  cycle(): Map<string, AnswerTimes> {
    const out = new Map<string, AnswerTimes>();
    for (const [address, w] of this.windows) {
      const c = w.current;
      w.slowest.push(c.count > 0 ? c.maxMs : NaN);
      if (w.slowest.length > this.cycles) w.slowest.shift();
      w.current = new CycleAnswers();
      const answered = w.slowest.filter((ms) => !Number.isNaN(ms)).sort((a, b) => a - b);
      if (answered.length === 0) {
        this.windows.delete(address);
        continue;
      }
      const mid = answered.length >> 1;
      out.set(address, {
        count: c.count,
        p50Ms: c.count > 0 ? median(c) : null,
        maxMs: c.count > 0 ? c.maxMs : null,
        windowSlowestMs: answered.length % 2 === 1 ? (answered[mid] as number) : ((answered[mid - 1] as number) + (answered[mid] as number)) / 2,
        windowCycles: answered.length,
      });
    }
    return out;
  }
}

/** A broker's answer, even with an error code in it, or a request timeout (kafkajs's error names). */
function isAnswerOrTimeout(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name ?? '';
  return name === 'KafkaJSProtocolError' || name === 'KafkaJSRequestTimeoutError';
}
