/**
 * Deterministic simulator for the election core (docs/design.md §2, issue 3 "Deterministic
 * simulator"). N replicas run the real `ElectionNode` on a seeded virtual clock; a network
 * drops, delays, duplicates and reorders messages, has slow links, and suffers symmetric
 * and one-way partitions; replicas crash (sometimes between persisting and sending, or
 * right after granting a vote), restart from what they persisted, pause (SIGSTOP), run
 * their clocks at rates within [1 − ρ, 1 + ρ], ρ = 1 %, and receive connection-lost
 * notifications, true and false, and connection-restored ones that may come late (a
 * restarted replica answers while a peer's link to it still waits to reconnect). Each seed draws its own weather (loss, duplication,
 * delays, fault rate); node randomness favours the extremes (timeouts of exactly T).
 * One seed fixes every choice, so a failing seed replays exactly.
 *
 * Invariants, checked after every event (the first violation stops the run):
 *  one-leader-per-term  no two replicas are ever leader in the same term.
 *  lease-overlap        no two replicas hold a valid lease at the same virtual instant,
 *                       judged on each replica's own drifting clock. The single exception
 *                       (LEASE EXCEPTION) is docs/design.md §2's: the older-term holder X was the
 *                       subject of a *false* connection-lost — some replica processed a
 *                       connection-lost about X while X was running or paused (not crashed)
 *                       — at or after the real instant X sent the heartbeat its current
 *                       lease rests on. Excused overlaps are counted, not hidden; the
 *                       Redis fence (§6) is what makes them harmless in production.
 *  double-vote          no replica grants its vote to two candidates in one term, across
 *                       restarts.
 *  vote-not-persisted   a vote grant leaves a replica only after the same step's persist
 *                       recorded that vote (persist-before-send, as the driver must do).
 *  term-decreased       a replica's term never goes down, across restarts included.
 * Liveness: after `faultEndMs` everything heals (partitions gone, no drops or long delays,
 * every replica running). Within `livenessBoundMs` one replica must lead with a valid
 * lease and every replica must follow it in its term (stable leader); from then until the
 * end of the run no replica may change role (no spurious elections).
 */
import { ElectionNode, type ElectionNodeOptions, type HardState, type Input, type Message, type NodeId, type Output } from '../../src/election';
import { LeaderHistory, type VigilElection } from '../../src/election/leader-history';
import { EventQueue } from './heap';
import { Rng } from './prng';

/** ρ, the clock-rate drift bound the simulated clocks obey and the core's lease assumes. */
export const SIM_MAX_CLOCK_DRIFT_RATIO = 0.01;
export const SIM_ELECTION_TIMEOUT_MS = 400;
export const SIM_HEARTBEAT_INTERVAL_MS = 100;

export type InvariantName =
  | 'one-leader-per-term'
  | 'lease-overlap'
  | 'double-vote'
  | 'vote-not-persisted'
  | 'term-decreased'
  | 'liveness'
  | 'stability';

export interface Violation {
  readonly atMs: number;
  readonly invariant: InvariantName;
  readonly detail: string;
}

export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Record a readable event log (slower). */
  readonly trace?: boolean;
  /** Random faults until this virtual time, then heal. Default 8000. */
  readonly faultEndMs?: number;
  /** A stable leader must exist this long after healing. Default 6000. */
  readonly livenessBoundMs?: number;
  /** Then keep running this long, checking stability. Default 2000. */
  readonly stableForMs?: number;
  /** false: no random faults (for measurements that inject their own). */
  readonly randomFaults?: boolean;
  /** Override the seed's network: one-way delay range in ms. */
  readonly delayMs?: readonly [number, number];
  /** false: nodes draw plain uniform randomness instead of the boundary-heavy default (for measurements). */
  readonly adversarialRandom?: boolean;
  /** Builds each replica's core; tests substitute deliberately broken ones to prove the checks bite. */
  readonly nodeFactory?: (opts: ElectionNodeOptions) => ElectionNode;
  /** Feed each replica's LeaderHistory as the driver does (the failover timeline's vigil elections). */
  readonly recordElections?: boolean;
}

export interface SimStats {
  steps: number;
  messages: number;
  maxTerm: number;
  /** Distinct (older holder, term, newer holder, term) overlaps covered by the LEASE EXCEPTION. */
  excusedOverlaps: number;
  /** Virtual ms from healing to a stable leader; null if none. */
  timeToStableMs: number | null;
  crashes: number;
  falseSuspicions: number;
}

export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly violation: Violation | null;
  readonly stats: SimStats;
  readonly trace: readonly string[];
}

interface NetworkParams {
  pDrop: number;
  pDup: number;
  minDelayMs: number;
  maxDelayMs: number;
  pLongDelay: number;
  longDelayMaxMs: number;
  meanFaultIntervalMs: number;
  pSilentCrash: number;
  pCrashMidStep: number;
  /** A voter crashes right after its grant left and restarts within 5 ms: the persisted vote must hold. */
  pCrashAfterVote: number;
  /** A peer's connection-restored about a restarted replica comes 5–1500 ms late (reconnect backoff). */
  pLateRestore: number;
}

type InboxItem =
  | { readonly type: 'message'; readonly from: NodeId; readonly message: Message }
  | { readonly type: 'connection-lost' | 'connection-restored'; readonly peer: NodeId };

type SimEvent =
  | { readonly kind: 'timer'; readonly node: number; readonly gen: number; readonly deadlineLocalMs: number }
  | { readonly kind: 'deliver'; readonly from: number; readonly to: number; readonly message: Message }
  | { readonly kind: 'notify'; readonly to: number; readonly about: number; readonly lost: boolean; readonly createdAtMs: number }
  | { readonly kind: 'fault' }
  | { readonly kind: 'restart'; readonly node: number }
  | { readonly kind: 'crash-restart'; readonly node: number }
  | { readonly kind: 'resume'; readonly node: number }
  | { readonly kind: 'heal-partition'; readonly id: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'end' };

interface SimNode {
  readonly index: number;
  readonly id: NodeId;
  readonly rng: Rng;
  /**
   * The core must be safe for any values in [0, 1); the extremes (timeouts of exactly T,
   * simultaneous candidates) are where boundary bugs live, so they come up often.
   */
  readonly random: () => number;
  state: 'running' | 'paused' | 'crashed';
  core: ElectionNode | null;
  /** What is on disk: only `Output.persist` changes it. */
  durable: HardState;
  maxTerm: number;
  /** local = localBase + rate · (real − realBase); `lastLocalMs` keeps readings monotonic. */
  rate: number;
  localBase: number;
  realBase: number;
  lastLocalMs: number;
  timerGen: number;
  inbox: InboxItem[];
  /** Heartbeat send stamps (local) → real send time, for the LEASE EXCEPTION. */
  readonly sendRealMs: Map<number, number>;
  /** The newest heartbeat this replica received (for the stable-leader check). */
  lastHeartbeat: { readonly from: NodeId; readonly term: number; readonly atMs: number } | null;
  /** With `recordElections`: the driver's leader history of this process, and what it fed it. */
  history: LeaderHistory | null;
  readonly lastContactLocalMs: Map<NodeId, number>;
  /** Elections this replica won (local clock of the process that won each), with the real time. */
  readonly won: Array<VigilElection & { readonly realMs: number }>;
}

export class Simulation {
  readonly seed: number;
  private readonly rng: Rng;
  private readonly net: NetworkParams;
  private readonly nodes: SimNode[] = [];
  private readonly queue = new EventQueue<SimEvent>();
  private readonly partitions = new Map<number, Set<string>>();
  /** Links that are slow for a while (congestion, a GC-paused proxy): extra one-way delay. */
  private readonly slowLinks = new Map<string, { extraMs: number; untilMs: number }>();
  private nextPartitionId = 1;
  private readonly trace: string[] | null;
  private readonly faultEndMs: number;
  private readonly livenessBoundMs: number;
  private readonly endMs: number;
  private readonly randomFaults: boolean;
  private readonly nodeFactory: (opts: ElectionNodeOptions) => ElectionNode;
  private readonly recordElections: boolean;

  nowMs = 0;
  private healed = false;
  private violation: Violation | null = null;
  private stableSinceMs: number | null = null;
  private readonly leaders = new Map<number, NodeId>();
  private readonly grants = new Map<string, NodeId>();
  /** Latest real time a replica processed a connection-lost about X while X was not crashed. */
  private readonly falseSuspicionAtMs = new Map<NodeId, number>();
  private readonly excused = new Set<string>();
  /** Per (recipient, subject): connection reports arrive in the order the driver saw them. */
  private readonly lastNotifyAtMs = new Map<string, number>();
  readonly stats: SimStats = { steps: 0, messages: 0, maxTerm: 0, excusedOverlaps: 0, timeToStableMs: null, crashes: 0, falseSuspicions: 0 };

  constructor(opts: SimOptions) {
    this.seed = opts.seed;
    this.rng = Rng.seeded(opts.seed);
    this.trace = opts.trace ? [] : null;
    this.randomFaults = opts.randomFaults ?? true;
    this.nodeFactory = opts.nodeFactory ?? ((o) => new ElectionNode(o));
    this.recordElections = opts.recordElections ?? false;
    this.faultEndMs = this.randomFaults ? (opts.faultEndMs ?? 8000) : 0;
    this.livenessBoundMs = opts.livenessBoundMs ?? 6000;
    this.endMs = this.faultEndMs + this.livenessBoundMs + (opts.stableForMs ?? 2000);
    // Each seed draws its own weather, so the seeds cover calm and hostile networks.
    const r = this.rng;
    const maxDelayMs = r.pick([1, 5, 30]);
    this.net = {
      pDrop: r.pick([0, 0.01, 0.05, 0.2]),
      pDup: r.pick([0, 0.02, 0.1]),
      minDelayMs: opts.delayMs?.[0] ?? 0.05,
      maxDelayMs: opts.delayMs?.[1] ?? maxDelayMs,
      pLongDelay: r.pick([0, 0.005, 0.02]),
      longDelayMaxMs: 1500,
      meanFaultIntervalMs: r.pick([150, 600, 2000]),
      pSilentCrash: 0.25,
      pCrashMidStep: r.pick([0, 0.002]),
      pCrashAfterVote: r.pick([0, 0.1]),
      pLateRestore: r.pick([0, 0.3, 0.8]),
    };
    if (!this.randomFaults) Object.assign(this.net, { pDrop: 0, pDup: 0, pLongDelay: 0, pCrashMidStep: 0, pCrashAfterVote: 0, pLateRestore: 0 });
    for (let i = 0; i < opts.nodes; i++) {
      const nodeRng = this.rng.fork();
      const adversarial = opts.adversarialRandom ?? true;
      this.nodes.push({
        index: i,
        id: `n${i + 1}`,
        rng: nodeRng,
        random: adversarial
          ? () => {
              const r = nodeRng.next();
              return r < 0.2 ? 0 : r < 0.25 ? 1 - Number.EPSILON : nodeRng.next();
            }
          : nodeRng.next,
        state: 'crashed',
        core: null,
        durable: { term: 0, votedFor: null },
        maxTerm: 0,
        rate: 1,
        localBase: 0,
        realBase: 0,
        lastLocalMs: 0,
        timerGen: 0,
        inbox: [],
        sendRealMs: new Map(),
        lastHeartbeat: null,
        history: null,
        lastContactLocalMs: new Map(),
        won: [],
      });
    }
    this.log(`seed=${opts.seed} nodes=${opts.nodes} net=${JSON.stringify(this.net)}`);
    // Replicas start at staggered times, each with its own clock offset and rate.
    for (const n of this.nodes) this.queue.push(this.rng.uniform(0, 200), { kind: 'restart', node: n.index });
    if (this.randomFaults) {
      this.queue.push(this.rng.uniform(0, 2 * this.net.meanFaultIntervalMs), { kind: 'fault' });
      this.queue.push(this.faultEndMs, { kind: 'heal' });
      this.healed = false;
    } else {
      this.healed = true;
    }
    this.queue.push(this.endMs, { kind: 'end' });
  }

  /** Runs the whole schedule and the final liveness checks. */
  run(): SimResult {
    this.runUntil(() => false, Infinity);
    if (this.violation === null && this.randomFaults) {
      if (this.stableSinceMs === null) this.fail('liveness', `no stable leader within ${this.livenessBoundMs} ms of healing at ${this.faultEndMs} ms`);
    }
    return this.result();
  }

  result(): SimResult {
    return { seed: this.seed, nodes: this.nodes.length, violation: this.violation, stats: this.stats, trace: this.trace ?? [] };
  }

  /** Processes events until `done()` holds after an event, the queue runs dry, time passes `untilMs`, or a violation. */
  runUntil(done: () => boolean, untilMs: number): boolean {
    for (;;) {
      if (this.violation !== null) return false;
      const next = this.queue.pop();
      if (next === undefined) return false;
      if (next.atMs > untilMs) {
        this.queue.push(next.atMs, next.value);
        this.nowMs = untilMs;
        return false;
      }
      this.nowMs = next.atMs;
      if (next.value.kind === 'end') return false;
      this.handle(next.value);
      this.checkLeases();
      this.checkStable();
      if (done()) return true;
    }
  }

  // ------------------------------------------------------------ queries for measurements

  /** The running replica that leads with a valid lease, if any. */
  leaseHolder(): { id: NodeId; term: number } | null {
    for (const n of this.nodes) {
      if (n.state === 'running' && n.core !== null && n.core.leaseValid(this.localNow(n))) {
        return { id: n.id, term: n.core.status(this.localNow(n)).term };
      }
    }
    return null;
  }

  /** Replicas in the leader role (lease or not) with a term above `term`. */
  leaderAbove(term: number): NodeId | null {
    for (const n of this.nodes) {
      if (n.core === null) continue;
      const s = n.core.status(this.localNow(n));
      if (s.role === 'leader' && s.term > term) return n.id;
    }
    return null;
  }

  /** The elections `id` won, as its driver would have recorded them (needs `recordElections`). */
  elections(id: NodeId): ReadonlyArray<VigilElection & { readonly realMs: number }> {
    return this.byId(id).won;
  }

  crashNode(id: NodeId, silent: boolean): void {
    this.crash(this.byId(id), silent, 'injected');
  }

  /** Starts a crashed replica; each peer named in `restoredAfterMs` learns of it only that late. */
  restartNode(id: NodeId, restoredAfterMs?: ReadonlyMap<NodeId, number>): void {
    this.restart(this.byId(id), restoredAfterMs);
  }

  /** Whether `id` runs and follows `leaderId` in `term` (the restarted replica is "back"). */
  follows(id: NodeId, leaderId: NodeId, term: number): boolean {
    const n = this.byId(id);
    if (n.state !== 'running' || n.core === null) return false;
    const s = n.core.status(this.localNow(n));
    return s.role === 'follower' && s.leaderId === leaderId && s.term === term;
  }

  pauseNode(id: NodeId, durationMs: number): void {
    this.pause(this.byId(id), durationMs);
  }

  transfer(fromId: NodeId, to?: NodeId): void {
    const n = this.byId(fromId);
    if (n.state === 'running') this.stepNode(n, { type: 'transfer-leadership', nowMs: this.localNow(n), ...(to === undefined ? {} : { to }) });
  }

  // ------------------------------------------------------------ events

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'timer': {
        const n = this.nodes[ev.node]!;
        if (n.state !== 'running' || n.timerGen !== ev.gen) return;
        // The timer was set from the deadline; rounding in the clock conversion must not leave us a hair early.
        n.lastLocalMs = Math.max(n.lastLocalMs, ev.deadlineLocalMs);
        this.stepNode(n, { type: 'tick', nowMs: this.localNow(n) });
        return;
      }
      case 'deliver': {
        const n = this.nodes[ev.to]!;
        const from = this.nodes[ev.from]!;
        if (n.state === 'crashed') return;
        if (this.blocked(ev.from, ev.to)) {
          this.log(`drop ${from.id}->${n.id} ${describe(ev.message)} (partition)`);
          return;
        }
        this.receive(n, { type: 'message', from: from.id, message: ev.message });
        return;
      }
      case 'notify': {
        // Loss reports about fault-time events do not outlive the heal (restorations do).
        if (ev.lost && this.healed && ev.createdAtMs < this.faultEndMs && this.randomFaults) return;
        const n = this.nodes[ev.to]!;
        if (n.state === 'crashed') return;
        this.receive(n, { type: ev.lost ? 'connection-lost' : 'connection-restored', peer: this.nodes[ev.about]!.id });
        return;
      }
      case 'fault':
        if (this.healed) return;
        this.randomFault();
        this.queue.push(this.nowMs + this.rng.uniform(0, 2 * this.net.meanFaultIntervalMs), { kind: 'fault' });
        return;
      case 'restart':
        this.restart(this.nodes[ev.node]!);
        return;
      case 'crash-restart':
        if (!this.healed) this.crash(this.nodes[ev.node]!, this.rng.chance(this.net.pSilentCrash), 'acker-restart', this.rng.uniform(0, 5));
        return;
      case 'resume':
        this.resume(this.nodes[ev.node]!);
        return;
      case 'heal-partition':
        if (this.partitions.delete(ev.id)) this.log(`heal partition #${ev.id}`);
        return;
      case 'heal':
        this.heal();
        return;
      case 'end':
        return;
      default: {
        const never: never = ev;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }

  private receive(n: SimNode, item: InboxItem): void {
    if (n.state === 'paused') {
      n.inbox.push(item); // SIGSTOP: the socket buffers it; the process reads it on resume
      return;
    }
    this.process(n, item);
  }

  private process(n: SimNode, item: InboxItem): void {
    const nowMs = this.localNow(n);
    if (item.type === 'message') {
      if (item.message.type === 'heartbeat') n.lastHeartbeat = { from: item.from, term: item.message.term, atMs: this.nowMs };
      if (this.recordElections) n.lastContactLocalMs.set(item.from, nowMs);
      this.stepNode(n, { type: 'message', nowMs, from: item.from, message: item.message });
      return;
    }
    if (item.type === 'connection-lost') {
      const about = this.byId(item.peer);
      if (about.state !== 'crashed') {
        this.falseSuspicionAtMs.set(about.id, this.nowMs);
        this.stats.falseSuspicions++;
      }
    }
    this.stepNode(n, { type: item.type, nowMs, peer: item.peer });
  }

  // ------------------------------------------------------------ one replica step, as a driver would run it

  private stepNode(n: SimNode, input: Input): void {
    const core = n.core!;
    const out: Output = core.step(input);
    this.stats.steps++;
    if (this.trace !== null) this.traceStep(n, input, out);
    // Driver contract: persist (durably) first ...
    if (out.persist !== null) {
      if (out.persist.term < n.durable.term) this.fail('term-decreased', `${n.id} persisted term ${out.persist.term} after ${n.durable.term}`);
      n.durable = out.persist;
    }
    // ... a crash here loses the messages but nothing persisted ...
    if (!this.healed && out.messages.length > 0 && this.rng.chance(this.net.pCrashMidStep)) {
      this.crash(n, this.rng.chance(this.net.pSilentCrash), 'after persisting, before sending');
      return;
    }
    // ... then send.
    for (const e of out.messages) this.send(n, this.byId(e.to), e.message);
    if (!this.healed && this.rng.chance(this.net.pCrashAfterVote) && out.messages.some((e) => e.message.type === 'vote-response' && e.message.granted && !e.message.preVote)) {
      this.crash(n, this.rng.chance(this.net.pSilentCrash), 'right after granting a vote', this.rng.uniform(0, 5));
      return;
    }
    if (n.history !== null) {
      const won = n.history.step(input.nowMs, core.status(input.nowMs), out.roleChanges, (peer) => n.lastContactLocalMs.get(peer));
      if (won !== null) n.won.push({ ...won, realMs: this.nowMs });
    }
    if (this.stableSinceMs !== null && out.roleChanges.length > 0) {
      const rc = out.roleChanges[0]!;
      this.fail('stability', `${n.id} ${rc.from} -> ${rc.to} (${rc.reason}) after a stable leader since ${fmt(this.stableSinceMs)}`);
    }
    this.checkNode(n);
    this.scheduleTimer(n);
  }

  private send(from: SimNode, to: SimNode, message: Message): void {
    this.stats.messages++;
    if (message.type === 'vote-response' && message.granted && !message.preVote) {
      if (from.durable.term !== message.term || from.durable.votedFor !== to.id) {
        this.fail('vote-not-persisted', `${from.id} granted ${to.id} term ${message.term} but disk holds ${JSON.stringify(from.durable)}`);
      }
      const key = `${from.id}@${message.term}`;
      const prev = this.grants.get(key);
      if (prev !== undefined && prev !== to.id) this.fail('double-vote', `${from.id} voted for ${prev} and ${to.id} in term ${message.term}`);
      this.grants.set(key, to.id);
    }
    if (message.type === 'heartbeat' && !from.sendRealMs.has(message.sentMs)) from.sendRealMs.set(message.sentMs, this.nowMs);
    if (this.blocked(from.index, to.index)) {
      this.log(`drop ${from.id}->${to.id} ${describe(message)} (partition)`);
      return;
    }
    if (this.rng.chance(this.net.pDrop)) {
      this.log(`drop ${from.id}->${to.id} ${describe(message)} (loss)`);
      return;
    }
    const slow = this.slowLinks.get(link(from.index, to.index));
    const extraMs = slow !== undefined && slow.untilMs > this.nowMs ? slow.extraMs : 0;
    this.queue.push(this.nowMs + extraMs + this.delayMs(), { kind: 'deliver', from: from.index, to: to.index, message });
    if (this.rng.chance(this.net.pDup)) this.queue.push(this.nowMs + extraMs + this.delayMs(), { kind: 'deliver', from: from.index, to: to.index, message });
  }

  private delayMs(): number {
    if (this.rng.chance(this.net.pLongDelay)) return this.rng.uniform(0, this.net.longDelayMaxMs);
    return this.rng.uniform(this.net.minDelayMs, this.net.maxDelayMs);
  }

  // ------------------------------------------------------------ clocks and timers

  private localNow(n: SimNode): number {
    const local = n.localBase + n.rate * (this.nowMs - n.realBase);
    if (local > n.lastLocalMs) n.lastLocalMs = local;
    return n.lastLocalMs;
  }

  private setRate(n: SimNode, rate: number): void {
    n.localBase = this.localNow(n);
    n.realBase = this.nowMs;
    n.rate = rate;
    if (n.state === 'running') this.scheduleTimer(n);
  }

  private pickRate(): number {
    const rho = SIM_MAX_CLOCK_DRIFT_RATIO;
    return this.rng.weighted<number>([
      [1 - rho, 1],
      [1 + rho, 1],
      [this.rng.uniform(1 - rho, 1 + rho), 1],
    ]);
  }

  private scheduleTimer(n: SimNode): void {
    if (n.state !== 'running' || n.core === null) return;
    n.timerGen++;
    const deadlineLocalMs = n.core.nextDeadlineMs();
    const atMs = Math.max(this.nowMs, n.realBase + (deadlineLocalMs - n.localBase) / n.rate);
    this.queue.push(atMs, { kind: 'timer', node: n.index, gen: n.timerGen, deadlineLocalMs });
  }

  // ------------------------------------------------------------ faults

  private randomFault(): void {
    const kind = this.rng.weighted<string>([
      ['crash', 3],
      ['pause', 2],
      ['partition', 2],
      ['one-way', 1],
      ['false-suspicion', 2],
      ['transfer', 1],
      ['drift', 1],
      ['slow-link', 1],
      ['acker-restart', 1],
    ]);
    const target = this.pickTarget();
    switch (kind) {
      case 'crash':
        if (target.state === 'crashed') return;
        this.crash(target, this.rng.chance(this.net.pSilentCrash), 'fault');
        return;
      case 'pause':
        this.pause(target, this.rng.chance(0.5) ? this.rng.uniform(1, 300) : this.rng.uniform(300, 2000));
        return;
      case 'partition': {
        const side = this.rng.chance(0.4) ? [target.index] : this.randomProperSubset();
        const links = new Set<string>();
        for (const a of side) for (const b of this.others(side)) links.add(link(a, b)).add(link(b, a));
        this.addPartition(links, `symmetric {${side.map((i) => this.nodes[i]!.id)}} | rest`);
        return;
      }
      case 'one-way': {
        const side = this.rng.chance(0.4) ? [target.index] : this.randomProperSubset();
        const outbound = this.rng.chance(0.5);
        const links = new Set<string>();
        for (const a of side) for (const b of this.others(side)) links.add(outbound ? link(a, b) : link(b, a));
        this.addPartition(links, `one-way {${side.map((i) => this.nodes[i]!.id)}} ${outbound ? '-/->' : '<-/-'} rest`);
        return;
      }
      case 'false-suspicion': {
        if (target.state === 'crashed') return;
        const recipients = this.nodes.filter((n) => n !== target && this.rng.chance(0.6));
        if (recipients.length === 0) recipients.push(this.rng.pick(this.nodes.filter((n) => n !== target)));
        this.log(`fault: false connection-lost about ${target.id} to ${recipients.map((n) => n.id).join(',')}`);
        for (const r of recipients) {
          this.notify(r, target, true, this.rng.uniform(0.2, 5));
          this.notify(r, target, false, this.rng.uniform(5, 300));
        }
        return;
      }
      case 'transfer': {
        const leader = this.nodes.find((n) => n.state === 'running' && n.core?.status(this.localNow(n)).role === 'leader');
        if (leader === undefined) return;
        const target = this.rng.pick(this.nodes.filter((n) => n !== leader));
        const to = this.rng.chance(0.5) ? undefined : target.id;
        this.log(`fault: transfer request to ${leader.id} (to ${to ?? 'any'})`);
        this.transfer(leader.id, to);
        // Half the time TimeoutNow crawls: the transfer times out and arrives late.
        if (this.rng.chance(0.5)) this.slowLink(leader, target, this.rng.uniform(300, 900), this.rng.uniform(400, 1200));
        return;
      }
      case 'slow-link': {
        const other = this.rng.pick(this.nodes.filter((n) => n !== target));
        const [from, to] = this.rng.chance(0.5) ? [target, other] : [other, target];
        this.slowLink(from, to, this.rng.uniform(20, 1000), this.rng.uniform(100, 3000));
        return;
      }
      case 'acker-restart': {
        // Aimed at the start-up hold: the leader stops reaching one follower, and just as
        // that follower times out, another follower (whose acknowledgements carry the
        // leader's lease) restarts — it must not vote while that lease may still hold.
        const leader = this.nodes.find((n) => n.state === 'running' && n.core?.status(this.localNow(n)).role === 'leader');
        if (leader === undefined) return;
        const [cut, acker] = this.shuffled(this.nodes.filter((n) => n !== leader));
        if (cut === undefined || acker === undefined) return;
        this.addPartition(new Set([link(leader.index, cut.index)]), `one-way ${leader.id} -/-> ${cut.id} (acker-restart)`);
        const atMs = this.nowMs + this.rng.uniform(350, 800);
        this.queue.push(atMs, { kind: 'crash-restart', node: acker.index });
        return;
      }
      case 'drift': {
        const rate = this.pickRate();
        this.log(`fault: ${target.id} clock rate ${rate.toFixed(4)}`);
        this.setRate(target, rate);
        return;
      }
    }
  }

  /** Half the time the current leader: that is where the interesting faults are. */
  private pickTarget(): SimNode {
    if (this.rng.chance(0.5)) {
      const leader = this.nodes.find((n) => n.core !== null && n.core.status(this.localNow(n)).role === 'leader');
      if (leader !== undefined) return leader;
    }
    return this.rng.pick(this.nodes);
  }

  private randomProperSubset(): number[] {
    const all = this.nodes.map((n) => n.index);
    const size = this.rng.int(1, all.length);
    const out: number[] = [];
    const pool = [...all];
    for (let i = 0; i < size; i++) out.push(pool.splice(this.rng.int(0, pool.length), 1)[0]!);
    return out.sort((a, b) => a - b);
  }

  private others(side: readonly number[]): number[] {
    return this.nodes.map((n) => n.index).filter((i) => !side.includes(i));
  }

  private slowLink(from: SimNode, to: SimNode, extraMs: number, forMs: number): void {
    this.log(`fault: link ${from.id}->${to.id} slow by ${extraMs.toFixed(1)} ms for ${forMs.toFixed(0)} ms`);
    this.slowLinks.set(link(from.index, to.index), { extraMs, untilMs: this.nowMs + forMs });
  }

  private shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.int(0, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  private addPartition(links: Set<string>, what: string): void {
    const id = this.nextPartitionId++;
    this.partitions.set(id, links);
    this.log(`fault: partition #${id} ${what}`);
    this.queue.push(this.nowMs + this.rng.uniform(50, 3000), { kind: 'heal-partition', id });
  }

  private blocked(from: number, to: number): boolean {
    if (this.partitions.size === 0) return false;
    const l = link(from, to);
    for (const links of this.partitions.values()) if (links.has(l)) return true;
    return false;
  }

  private crash(n: SimNode, silent: boolean, why: string, restartAfterMs?: number): void {
    if (n.state === 'crashed') return;
    this.log(`${n.id} CRASH (${why}${silent ? ', silent' : ''}); disk ${JSON.stringify(n.durable)}`);
    this.stats.crashes++;
    n.state = 'crashed';
    n.core = null;
    n.timerGen++;
    n.inbox = [];
    n.sendRealMs.clear();
    n.lastHeartbeat = null;
    n.history = null;
    n.lastContactLocalMs.clear();
    if (!silent) {
      // The process died but its host answers: peers see the connection drop (docs/design.md §2).
      for (const p of this.nodes) if (p !== n) this.notify(p, n, true, this.rng.uniform(0.2, 5));
    }
    if (!this.healed) {
      const downMs = restartAfterMs ?? this.rng.weighted<() => number>([
        [() => this.rng.uniform(0, 5), 1],
        [() => this.rng.uniform(5, 500), 1],
        [() => this.rng.uniform(500, 2000), 1],
      ])();
      this.queue.push(this.nowMs + downMs, { kind: 'restart', node: n.index });
    }
  }

  /** Tells `to` that its connection to `about` was lost or restored, `delayMs` from now, in order per pair. */
  private notify(to: SimNode, about: SimNode, lost: boolean, delayMs: number): void {
    const key = `${to.index}>${about.index}`;
    const atMs = Math.max(this.nowMs + delayMs, this.lastNotifyAtMs.get(key) ?? 0);
    this.lastNotifyAtMs.set(key, atMs);
    this.queue.push(atMs, { kind: 'notify', to: to.index, about: about.index, lost, createdAtMs: this.nowMs });
  }

  /** `restoredAfterMs`: per peer, when its connection-restored about `n` arrives (default: soon, or late at random). */
  private restart(n: SimNode, restoredAfterMs?: ReadonlyMap<NodeId, number>): void {
    if (n.state !== 'crashed') return;
    // A new process: its monotonic clock reading is unrelated to the old one.
    n.rate = this.pickRate();
    n.localBase = this.rng.uniform(0, 1e6);
    n.realBase = this.nowMs;
    n.lastLocalMs = n.localBase;
    n.state = 'running';
    n.core = this.nodeFactory({
      id: n.id,
      members: this.nodes.map((m) => m.id),
      electionTimeoutMs: SIM_ELECTION_TIMEOUT_MS,
      heartbeatIntervalMs: SIM_HEARTBEAT_INTERVAL_MS,
      maxClockDriftRatio: SIM_MAX_CLOCK_DRIFT_RATIO,
      random: n.random,
      hardState: n.durable,
      nowMs: this.localNow(n),
    });
    if (this.recordElections) n.history = new LeaderHistory(n.id);
    this.log(`${n.id} START from disk ${JSON.stringify(n.durable)} rate=${n.rate.toFixed(4)}`);
    for (const p of this.nodes) {
      if (p === n) continue;
      // Peers learn of the restart when their link reconnects — sometimes only after a
      // reconnect backoff, while the restarted replica already answers (issue 8, defect 13).
      const late = restoredAfterMs?.get(p.id) ?? (!this.healed && this.rng.chance(this.net.pLateRestore) ? this.rng.uniform(5, 1500) : undefined);
      if (late !== undefined) this.log(`${p.id} learns of ${n.id}'s restart only after ${late.toFixed(1)} ms`);
      this.notify(p, n, false, late ?? this.rng.uniform(0.2, 5));
    }
    this.checkNode(n);
    this.scheduleTimer(n);
  }

  private pause(n: SimNode, durationMs: number): void {
    if (n.state !== 'running') return;
    this.log(`${n.id} PAUSE for ${durationMs.toFixed(1)} ms`);
    n.state = 'paused';
    n.timerGen++;
    this.queue.push(this.nowMs + durationMs, { kind: 'resume', node: n.index });
  }

  private resume(n: SimNode): void {
    if (n.state !== 'paused') return;
    this.log(`${n.id} RESUME with ${n.inbox.length} buffered input(s)`);
    n.state = 'running';
    // Elapsed time first: a resumed leader must see its lease is over before acting.
    this.stepNode(n, { type: 'tick', nowMs: this.localNow(n) });
    while (n.inbox.length > 0 && n.state === 'running') this.process(n, n.inbox.shift()!);
  }

  private heal(): void {
    this.log('HEAL: partitions gone, no loss or long delays, every replica running');
    this.healed = true;
    this.partitions.clear();
    this.slowLinks.clear();
    this.net.pDrop = 0;
    this.net.pLongDelay = 0;
    for (const n of this.nodes) {
      if (n.state === 'crashed') this.restart(n);
      else if (n.state === 'paused') this.resume(n);
    }
    // Drivers reconnect once the network is back.
    for (const a of this.nodes) for (const b of this.nodes) if (a !== b) this.notify(a, b, false, this.rng.uniform(0.2, 5));
  }

  // ------------------------------------------------------------ invariants

  private checkNode(n: SimNode): void {
    if (n.core === null) return;
    const s = n.core.status(this.localNow(n));
    if (s.term < n.maxTerm) this.fail('term-decreased', `${n.id} term ${s.term} after ${n.maxTerm}`);
    n.maxTerm = Math.max(n.maxTerm, s.term);
    this.stats.maxTerm = Math.max(this.stats.maxTerm, s.term);
    if (s.role === 'leader') {
      const prev = this.leaders.get(s.term);
      if (prev !== undefined && prev !== n.id) this.fail('one-leader-per-term', `${prev} and ${n.id} both lead term ${s.term}`);
      this.leaders.set(s.term, n.id);
    }
  }

  /**
   * Lease validity only starts at a replica's own step, so an overlap, if any, is visible
   * right after the event that starts the later lease: checking after every event finds all.
   */
  private checkLeases(): void {
    let holders: SimNode[] | null = null;
    for (const n of this.nodes) {
      if (n.core !== null && n.core.leaseValid(this.localNow(n))) (holders ??= []).push(n);
    }
    if (holders === null || holders.length < 2) return;
    for (let i = 0; i < holders.length; i++) {
      for (let j = i + 1; j < holders.length; j++) {
        const a = holders[i]!;
        const b = holders[j]!;
        const ta = a.core!.status(this.localNow(a)).term;
        const tb = b.core!.status(this.localNow(b)).term;
        const [older, olderTerm, newer, newerTerm] = ta <= tb ? [a, ta, b, tb] : [b, tb, a, ta];
        const basisLocal = older.core!.leaseStartMs();
        const basisRealMs = basisLocal === null ? undefined : older.sendRealMs.get(basisLocal);
        const suspectedAtMs = this.falseSuspicionAtMs.get(older.id);
        if (olderTerm !== newerTerm && basisRealMs !== undefined && suspectedAtMs !== undefined && suspectedAtMs >= basisRealMs) {
          const key = `${older.id}@${olderTerm}/${newer.id}@${newerTerm}`;
          if (!this.excused.has(key)) {
            this.excused.add(key);
            this.stats.excusedOverlaps++;
            this.log(`EXCUSED lease overlap ${key}: ${older.id} was falsely reported dead at ${fmt(suspectedAtMs)} (lease basis sent ${fmt(basisRealMs)})`);
          }
          continue;
        }
        this.fail('lease-overlap', `${older.id} (term ${olderTerm}) and ${newer.id} (term ${newerTerm}) both hold a valid lease`);
      }
    }
  }

  private checkStable(): void {
    if (!this.healed || this.stableSinceMs !== null || !this.randomFaults) return;
    const leader = this.nodes.find((n) => n.state === 'running' && n.core !== null && n.core.leaseValid(this.localNow(n)));
    if (leader === undefined) return;
    // A lease from before the heal may still run out; stable means renewed by the healed group.
    const basisRealMs = leader.sendRealMs.get(leader.core!.leaseStartMs()!);
    if (basisRealMs === undefined || basisRealMs < this.faultEndMs) return;
    const term = leader.core!.status(this.localNow(leader)).term;
    for (const n of this.nodes) {
      if (n.state !== 'running' || n.core === null) return;
      const s = n.core.status(this.localNow(n));
      if (s.term !== term || s.leaderId !== leader.id) return;
      // A follower that has not heard the leader since the heal may still time out.
      const hb = n.lastHeartbeat;
      if (n !== leader && (hb === null || hb.from !== leader.id || hb.term !== term || hb.atMs < this.faultEndMs)) return;
    }
    this.stableSinceMs = this.nowMs;
    this.stats.timeToStableMs = this.nowMs - this.faultEndMs;
    this.log(`STABLE: ${leader.id} leads term ${term}, followed by all, ${this.stats.timeToStableMs.toFixed(1)} ms after healing`);
    if (this.stats.timeToStableMs > this.livenessBoundMs) {
      this.fail('liveness', `stable leader only ${this.stats.timeToStableMs.toFixed(1)} ms after healing (bound ${this.livenessBoundMs} ms)`);
    }
  }

  private fail(invariant: InvariantName, detail: string): void {
    if (this.violation !== null) return;
    this.violation = { atMs: this.nowMs, invariant, detail };
    this.log(`VIOLATION ${invariant}: ${detail}`);
  }

  // ------------------------------------------------------------ trace

  private byId(id: NodeId): SimNode {
    const n = this.nodes.find((m) => m.id === id);
    if (n === undefined) throw new Error(`unknown node ${id}`);
    return n;
  }

  private log(line: string): void {
    if (this.trace !== null) this.trace.push(`${fmt(this.nowMs)} ${line}`);
  }

  private traceStep(n: SimNode, input: Input, out: Output): void {
    const what =
      input.type === 'message'
        ? `recv ${describe(input.message)} from ${input.from}`
        : input.type === 'tick'
          ? 'tick'
          : input.type === 'transfer-leadership'
            ? `transfer-leadership to=${input.to ?? 'any'}`
            : `${input.type} ${input.peer}`;
    const parts = [`${n.id}@${input.nowMs.toFixed(3)} ${what}`];
    for (const rc of out.roleChanges) parts.push(`  role ${rc.from} -> ${rc.to} term=${rc.term} (${rc.reason})`);
    if (out.persist !== null) parts.push(`  persist term=${out.persist.term} vote=${out.persist.votedFor ?? '-'}`);
    for (const e of out.events) parts.push(`  event ${JSON.stringify(e)}`);
    for (const m of out.messages) parts.push(`  send ->${m.to} ${describe(m.message)}`);
    if (parts.length === 1 && input.type === 'tick') return;
    const s = n.core!.status(input.nowMs);
    parts.push(`  => ${s.role} term=${s.term} leader=${s.leaderId ?? '-'} lease=${s.leaseValid ? `until ${s.leaseExpiresAtMs!.toFixed(3)}` : 'no'}`);
    this.log(parts.join('\n'));
  }
}

function link(from: number, to: number): string {
  return `${from}>${to}`;
}

function fmt(ms: number): string {
  return `[${ms.toFixed(3).padStart(10)}]`;
}

export function describe(m: Message): string {
  switch (m.type) {
    case 'vote-request':
      return `${m.preVote ? 'pre-vote' : 'vote'}-request term=${m.term}${m.transfer ? ' transfer' : ''}`;
    case 'vote-response':
      return `${m.preVote ? 'pre-vote' : 'vote'}-response term=${m.term} ${m.granted ? 'granted' : 'rejected'} voterTerm=${m.voterTerm}`;
    case 'heartbeat':
    case 'heartbeat-response':
      return `${m.type} term=${m.term} sent=${m.sentMs.toFixed(3)}`;
    case 'timeout-now':
      return `timeout-now term=${m.term}`;
  }
}

/** Seeds alternate between 3 and 5 replicas unless a count is given. */
export function nodesForSeed(seed: number, nodes?: number): number {
  return nodes ?? (seed % 2 === 0 ? 3 : 5);
}

export function runSeed(
  seed: number,
  opts: { nodes?: number; trace?: boolean; nodeFactory?: (o: ElectionNodeOptions) => ElectionNode } = {},
): SimResult {
  return new Simulation({ seed, nodes: nodesForSeed(seed, opts.nodes), trace: opts.trace ?? false, nodeFactory: opts.nodeFactory }).run();
}
