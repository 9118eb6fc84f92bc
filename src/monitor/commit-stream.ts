/**
 * Commits as a stream (issue 9, docs/design.md §3.6): every replica tails `__consumer_offsets`
 * and folds it into each group's committed offsets, current within a Fetch round trip of the
 * commit, instead of asking each group's coordinator every cycle (OffsetFetch per group).
 *
 * One long-poll Fetch loop per broker that leads some of the topic's partitions: a Fetch
 * waits at the broker up to `maxWaitMs` and answers as soon as a record arrives; the next is
 * sent no sooner than `minFetchIntervalMs` after it (at most 50 a second per broker, however
 * many groups commit). The log is
 * read from its start (the coordinator's log is compacted: the latest commit of every
 * group/partition is there) and folded as the coordinator itself does:
 *   - an offset commit sets the group's offset for the partition; its tombstone (OffsetDelete,
 *     a deleted group, expiry) removes it;
 *   - a transactional commit counts at its producer's COMMIT marker and is dropped at ABORT
 *     (what read_committed gives a consumer; reading read_uncommitted and holding a
 *     transaction's commits until its marker keeps the other groups' commits current while
 *     a transaction is open, where read_committed would stop at the open transaction);
 *   - group metadata records (classic and new-protocol groups) change no offset;
 *   - a record that cannot be decoded makes its group (when the key names it) unvouched:
 *     that group is polled, as is every group of a partition the stream cannot read.
 *
 * Freshness: a partition is fresh as of the send time of the latest Fetch whose answer
 * reached its high watermark — every commit the coordinator had acknowledged by then has
 * been folded. A group's offsets are vouched for (committed() answers) only while its
 * partition has been read to the end since the stream started and is fresh within
 * `staleAfterMs`; otherwise the caller polls the group (OffsetFetch), so the stream never
 * makes a reading older than polling would.
 */
import { describeError } from '../errors';
import type { Logger } from '../log';
import type { OffsetsLogAnswer, OffsetsLogEntry, OffsetsLogReader } from '../kafka/offsets-log';
import { OFFSETS_TOPIC, offsetsPartitionFor } from '../kafka/offsets-log';
import type { OffsetsRecord } from '../kafka/consumer-offsets';
import type { BrokerInfo, GroupOffsets } from '../kafka/types';
import type { Clock } from '../util/clock';

export interface CommitStreamOptions {
  /** how long a Fetch waits at the broker for a commit to arrive */
  readonly maxWaitMs?: number;
  /**
   * a broker's next Fetch is sent at least this long after the one before: under a steady
   * stream of commits a long poll answers at once, and the loop would otherwise send as
   * many Fetches as there are commits (its cost, not the folding, then dominates)
   */
  readonly minFetchIntervalMs?: number;
  /** a partition not fresh for this long stops vouching for its groups */
  readonly staleAfterMs?: number;
  /** pause after a failed layout or Fetch before trying again */
  readonly retryMs?: number;
  /** the layout is read again this often even without errors (new leaders, more partitions) */
  readonly relayoutMs?: number;
  /** while the principal may not read the topic, ask again this often (an ACL may be granted) */
  readonly deniedRetryMs?: number;
}

/** What the stream says about itself (/api/v1/status, metrics, the observer's fallback). */
export type CommitStreamStatus =
  | { readonly state: 'starting' }
  /** the topic does not exist yet (no group has committed) */
  | { readonly state: 'absent' }
  | { readonly state: 'denied'; readonly reason: string }
  | { readonly state: 'failing'; readonly error: string }
  | {
      readonly state: 'tailing';
      readonly partitions: number;
      /** partitions read to the end since the stream started, and fresh */
      readonly vouched: number;
      /** partitions whose reading failed, with why (a few named) */
      readonly errors: readonly { readonly partition: number; readonly error: string }[];
      /** the oldest freshness among vouched partitions, ms before now (null when none) */
      readonly maxStalenessMs: number | null;
    };

const DEFAULTS = { maxWaitMs: 500, minFetchIntervalMs: 20, staleAfterMs: 5_000, retryMs: 1_000, relayoutMs: 60_000, deniedRetryMs: 60_000 } as const;

interface PartitionState {
  /** the next offset to read */
  position: number;
  /** send time of the latest Fetch whose answer reached the high watermark (wall ms) */
  freshAtMs: number;
  /** read to the end at least once */
  caughtUp: boolean;
  error: string | null;
  leader: BrokerInfo | null;
  /** open transactions: producer id → their offset commits, applied at COMMIT */
  pending: Map<number, OffsetsRecord[]>;
}

type Offsets = Map<string, Map<number, number>>;

/** A group's committed offsets as folded, and whether committed() lent them out. */
interface GroupEntry {
  offsets: Offsets;
  /**
   * committed() has handed the maps out: the next fold into them copies them first (copy
   * on write), so a caller's view never changes under it and a cycle over 10,000 groups
   * copies only the groups that committed since it last asked
   */
  lent: boolean;
  /** the group's offsets partition (its hash modulo the partition count, which clears every entry when it changes) */
  readonly partition: number;
}

const NO_OFFSETS: GroupOffsets = new Map();

export class CommitStream {
  private readonly opts: Required<CommitStreamOptions>;
  private readonly parts = new Map<number, PartitionState>();
  private partitionCount = 0;
  private readonly groups = new Map<string, GroupEntry>();
  /** groups with a record the stream could not decode: polled until the process restarts */
  private readonly unvouched = new Map<string, string>();
  private state: CommitStreamStatus['state'] = 'starting';
  private reason = '';
  private running = false;
  /** bumped to end the current layout's fetch loops */
  private generation = 0;
  private loop: Promise<void> | null = null;
  /** wakes every pause (stop) */
  private readonly wakers = new Set<() => void>();
  private readonly log: Logger;

  constructor(
    private readonly reader: OffsetsLogReader,
    private readonly clock: Clock,
    logger: Logger,
    opts: CommitStreamOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    this.log = logger.child({ component: 'commit-stream' });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    for (const wake of [...this.wakers]) wake();
    // closing the connections ends the Fetches waiting at the brokers
    await this.reader.close();
    await this.loop;
  }

  /**
   * The group's committed offsets (topic → partition → offset) when the stream vouches for
   * them (see the module comment), else null: poll the group. A group the stream has never
   * seen a commit of has none (an empty map) once its partition is vouched for. The answer
   * never changes afterwards (the stream copies a lent group before folding into it): the
   * stream folds on while the caller's cycle awaits its other requests.
   */
  committed(groupId: string): GroupOffsets | null {
    // called for every group every cycle (20,000 calls a cycle at 10,000 groups): one map
    // lookup on the common path
    if (this.partitionCount === 0 || (this.unvouched.size > 0 && this.unvouched.has(groupId))) return null;
    const entry = this.groups.get(groupId);
    const p = this.parts.get(entry !== undefined ? entry.partition : offsetsPartitionFor(groupId, this.partitionCount));
    if (!p || !this.vouches(p, this.clock.wallMs())) return null;
    if (entry === undefined) return NO_OFFSETS;
    entry.lent = true;
    return entry.offsets;
  }

  /**
   * Makes the group's partition fresh as of now or later: one Fetch that does not wait,
   * unless it already is fresh at `atMs`. True when the partition is fresh at `atMs` after
   * it (its commits up to then are folded); false when it could not be read.
   */
  async freshen(groupId: string, atMs: number): Promise<boolean> {
    if (this.partitionCount === 0) return false;
    const partition = offsetsPartitionFor(groupId, this.partitionCount);
    const p = this.parts.get(partition);
    if (!p || !p.caughtUp) return false;
    if (p.freshAtMs >= atMs) return true;
    if (p.leader === null) return false;
    const sentMs = this.clock.wallMs();
    try {
      const answers = await this.reader.fetch(p.leader, new Map([[partition, p.position]]), 0);
      for (const a of answers) this.apply(a, sentMs);
    } catch (err) {
      this.log.debug({ partition, err: describeError(err) }, 'freshening fetch failed');
      return false;
    }
    return p.freshAtMs >= atMs;
  }

  /** Why the stream may not read the topic, while it may not (the OffsetsStreamDenied finding); else null. */
  denied(): string | null {
    return this.state === 'denied' ? this.reason : null;
  }

  status(): CommitStreamStatus {
    switch (this.state) {
      case 'starting':
      case 'absent':
        return { state: this.state };
      case 'denied':
      case 'failing':
        return this.state === 'denied' ? { state: 'denied', reason: this.reason } : { state: 'failing', error: this.reason };
    }
    const nowMs = this.clock.wallMs();
    let vouched = 0;
    let oldest: number | null = null;
    const errors: { partition: number; error: string }[] = [];
    for (const [partition, p] of this.parts) {
      if (p.error !== null) errors.push({ partition, error: p.error });
      if (!this.vouches(p, nowMs)) continue;
      vouched++;
      oldest = oldest === null ? p.freshAtMs : Math.min(oldest, p.freshAtMs);
    }
    return { state: 'tailing', partitions: this.partitionCount, vouched, errors: errors.slice(0, 5), maxStalenessMs: oldest === null ? null : Math.max(0, nowMs - oldest) };
  }

  private vouches(p: PartitionState, nowMs: number): boolean {
    return p.caughtUp && p.error === null && nowMs - p.freshAtMs <= this.opts.staleAfterMs;
  }

  // ---- the loops -----------------------------------------------------------------------

  private async run(): Promise<void> {
    while (this.running) {
      let pauseMs = this.opts.retryMs;
      try {
        const layout = await this.reader.layout();
        if (layout.state === 'ok') {
          this.adopt(layout.leaders, layout.partitions);
          // a denied read stays 'denied' until a Fetch answers (apply)
          if (this.state !== 'denied') this.setState('tailing', '');
          if ((await this.tailAll()) !== 'denied') continue;
          pauseMs = this.opts.deniedRetryMs;
        }
        else if (layout.state === 'denied') {
          this.setState('denied', layout.reason);
          pauseMs = this.opts.deniedRetryMs;
        } else {
          this.setState('absent', '');
        }
      } catch (err) {
        this.setState('failing', describeError(err));
      }
      await this.pause(pauseMs);
    }
  }

  private setState(state: CommitStreamStatus['state'], reason: string): void {
    // once per change of state (a failing stream's error text varies with the broker tried)
    if (state !== this.state) {
      const level = state === 'denied' || state === 'failing' ? 'warn' : 'info';
      this.log[level]({ state, reason: reason || undefined }, state === 'denied' ? `cannot read ${OFFSETS_TOPIC}: groups' offsets are polled (OffsetFetch); grant READ on the topic to stream them` : `${OFFSETS_TOPIC} stream: ${state}`);
    }
    this.state = state;
    this.reason = reason;
  }

  /** A new layout: partitions keep what they have read; a grown topic starts over (groups moved partitions). */
  private adopt(leaders: ReadonlyMap<number, BrokerInfo | null>, count: number): void {
    if (count !== this.partitionCount) {
      this.parts.clear();
      this.groups.clear();
      this.partitionCount = count;
    }
    for (const [partition, leader] of leaders) {
      let p = this.parts.get(partition);
      if (!p) this.parts.set(partition, (p = { position: 0, freshAtMs: Number.NEGATIVE_INFINITY, caughtUp: false, error: null, leader, pending: new Map() }));
      p.leader = leader;
    }
  }

  /** One fetch loop per leader until one of them needs a new layout (or relayoutMs passes). */
  private async tailAll(): Promise<'ok' | 'denied'> {
    const gen = ++this.generation;
    const byLeader = new Map<number, { broker: BrokerInfo; partitions: number[] }>();
    for (const [partition, p] of this.parts) {
      if (p.leader === null) {
        p.error = 'no leader';
        continue;
      }
      let entry = byLeader.get(p.leader.nodeId);
      if (!entry) byLeader.set(p.leader.nodeId, (entry = { broker: p.leader, partitions: [] }));
      entry.partitions.push(partition);
    }
    const deadlineMs = this.clock.monotonicMs() + this.opts.relayoutMs;
    let ended!: () => void;
    const anyEnded = new Promise<void>((resolve) => (ended = resolve));
    const loops = [...byLeader.values()].map((l) => this.tail(gen, l.broker, l.partitions, deadlineMs).finally(ended));
    if (loops.length === 0) await this.pause(this.opts.retryMs);
    else await anyEnded;
    if (this.generation === gen) this.generation++;
    const ends = await Promise.all(loops);
    return ends.includes('denied') ? 'denied' : 'ok';
  }

  /** Fetches `partitions` from `broker` until the generation ends, an answer needs a new layout, or the deadline. */
  private async tail(gen: number, broker: BrokerInfo, partitions: readonly number[], deadlineMs: number): Promise<'ok' | 'denied'> {
    while (this.running && this.generation === gen && this.clock.monotonicMs() < deadlineMs) {
      const positions = new Map<number, number>();
      for (const partition of partitions) positions.set(partition, (this.parts.get(partition) as PartitionState).position);
      const sentMs = this.clock.wallMs();
      let answers: OffsetsLogAnswer[];
      try {
        answers = await this.reader.fetch(broker, positions, this.opts.maxWaitMs);
      } catch (err) {
        const error = `broker ${broker.nodeId}: ${describeError(err)}`;
        for (const partition of partitions) (this.parts.get(partition) as PartitionState).error = error;
        this.log.debug({ broker: broker.nodeId, err: describeError(err) }, 'offsets fetch failed');
        await this.pause(this.opts.retryMs);
        return 'ok';
      }
      const outcomes = new Set(answers.map((a) => this.apply(a, sentMs)));
      if (outcomes.has('denied')) return 'denied';
      if (outcomes.has('relayout')) {
        await this.pause(this.opts.retryMs);
        return 'ok';
      }
      const sinceMs = this.clock.wallMs() - sentMs;
      if (sinceMs < this.opts.minFetchIntervalMs) await this.pause(this.opts.minFetchIntervalMs - sinceMs);
    }
    return 'ok';
  }

  /** Folds one partition's answer in; 'relayout' when its leader must be found again. */
  private apply(a: OffsetsLogAnswer, sentMs: number): 'ok' | 'relayout' | 'denied' {
    const p = this.parts.get(a.partition);
    if (!p) return 'ok';
    if (a.kind === 'out-of-range') {
      // Below the log start: whatever was compacted away was superseded by later records.
      if (a.logStartOffset > p.position) p.position = a.logStartOffset;
      return 'ok';
    }
    if (a.kind === 'error') {
      p.error = a.error;
      if (!a.denied) return 'relayout';
      this.setState('denied', `${a.error}: vigil's principal may not Read ${OFFSETS_TOPIC}`);
      return 'denied';
    }
    p.error = null;
    if (this.state === 'denied') this.setState('tailing', '');
    for (const e of a.entries) if (e.offset >= p.position) this.fold(p, e);
    if (a.nextOffset > p.position) p.position = a.nextOffset;
    if (p.position >= a.highWatermark) {
      p.caughtUp = true;
      if (sentMs > p.freshAtMs) p.freshAtMs = sentMs;
    }
    return 'ok';
  }

  private fold(p: PartitionState, e: OffsetsLogEntry): void {
    if (e.kind === 'marker') {
      const commits = p.pending.get(e.producerId);
      p.pending.delete(e.producerId);
      if (e.commit && commits) for (const r of commits) this.foldRecord(r);
      return;
    }
    if (e.transactional && e.record.kind === 'offset-commit') {
      let commits = p.pending.get(e.producerId);
      if (!commits) p.pending.set(e.producerId, (commits = []));
      commits.push(e.record);
      return;
    }
    this.foldRecord(e.record);
  }

  private foldRecord(r: OffsetsRecord): void {
    if (r.kind === 'undecodable') {
      if (r.group !== undefined && !this.unvouched.has(r.group)) {
        this.unvouched.set(r.group, r.reason);
        this.log.warn({ group: r.group, reason: r.reason }, `a ${OFFSETS_TOPIC} record of this group cannot be read: its offsets are polled`);
      }
      return;
    }
    if (r.kind !== 'offset-commit') return;
    let topics = this.owned(r.group);
    if (r.value === null) {
      const parts = topics?.get(r.topic);
      if (!topics || !parts) return;
      parts.delete(r.partition);
      if (parts.size === 0) topics.delete(r.topic);
      if (topics.size === 0) this.groups.delete(r.group);
      return;
    }
    if (!topics) {
      topics = new Map();
      this.groups.set(r.group, { offsets: topics, lent: false, partition: offsetsPartitionFor(r.group, this.partitionCount) });
    }
    let parts = topics.get(r.topic);
    if (!parts) topics.set(r.topic, (parts = new Map()));
    parts.set(r.partition, r.value.offset);
  }

  /** The group's maps, copied first when committed() lent them out. */
  private owned(group: string): Offsets | undefined {
    const entry = this.groups.get(group);
    if (entry === undefined || !entry.lent) return entry?.offsets;
    const copy: Offsets = new Map();
    for (const [topic, parts] of entry.offsets) copy.set(topic, new Map(parts));
    entry.offsets = copy;
    entry.lent = false;
    return copy;
  }

  private pause(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
