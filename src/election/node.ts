/**
 * The election core: Raft leader election without a log (docs/design.md §2), as a deterministic
 * state machine in the style of etcd-io/raft. One input at a time enters through `step`;
 * effects come out as data (`Output`). No I/O, no clock, no randomness of its own: time
 * arrives in every input, randomness through the injected `random`.
 *
 * Invariants (the simulator in test/sim checks them on every step):
 *  I1  At most one leader per term: a vote is granted at most once per term and persisted
 *      before the grant is sent (thesis §3.4, §3.8).
 *  I2  Terms never decrease; `votedFor` is cleared only when the term rises.
 *  I3  A node never votes — for a peer or for itself — while it honours a lease: it is a
 *      leader (not transferring), or it heard a heartbeat of a leader within T, or it
 *      started within T (it may have acknowledged a heartbeat just before it crashed).
 *      Exceptions: TimeoutNow campaigns (the leader gave its lease up first) and
 *      connection-lost (docs/design.md §2; the Redis fence covers a wrongly suspected leader).
 *  I4  A leader's lease ends L after the send time of the newest heartbeat a majority has
 *      acknowledged, L ≤ T(1 − ρ)/(1 + ρ) (timing.ts); by I3 no other node can be elected
 *      before it ends. The leader steps down when it ends (check-quorum, thesis §6.2).
 */
import type {
  ElectionEvent,
  ElectionStatus,
  Envelope,
  HardState,
  Input,
  Message,
  NodeId,
  Output,
  Role,
  RoleChange,
  RoleChangeReason,
  TransferRejectReason,
} from './types';
import { resolveTiming, type ElectionTiming, type ElectionTimingOptions } from './timing';
import { VigilError } from '../errors';

export interface ElectionNodeOptions extends ElectionTimingOptions {
  readonly id: NodeId;
  /** Every replica, this one included (static membership, docs/design.md §2). */
  readonly members: readonly NodeId[];
  /** Uniform in [0, 1). Injected so tests and the simulator are reproducible. */
  readonly random: () => number;
  /** The last persisted state; { term: 0, votedFor: null } for a brand-new node. */
  readonly hardState: HardState;
  /** The monotonic clock at start-up. */
  readonly nowMs: number;
}

export class ElectionNode {
  readonly id: NodeId;
  readonly timing: ElectionTiming;
  private readonly peers: readonly NodeId[];
  private readonly quorum: number;
  private readonly random: () => number;

  // Durable (I2). `persisted` is what the driver was last asked to write.
  private term: number;
  private votedFor: NodeId | null;
  private persisted: HardState;

  private role: Role = 'follower';
  private leaderId: NodeId | null = null;
  private nowMs: number;
  /** Followers and (pre-)candidates: when to campaign next. */
  private electionDeadlineMs: number;
  /** I3: refuse (pre-)votes while nowMs < holdUntilMs; `holdFor` is the leader heard from (null: start-up hold). */
  private holdUntilMs: number;
  private holdFor: NodeId | null = null;
  /** Consecutive campaigns that did not win; widens the randomized timeout (split votes). */
  private failedCampaigns = 0;
  /** Set when the leader's connection dropped: campaign after a short delay, not a full timeout. */
  private fastElection = false;
  /**
   * Peers whose connection the driver reported lost, with our term at that moment, until it
   * reports them restored. Their heartbeats of that term or older are ignored: one sent just
   * before the crash may arrive after the report and must not revive the dead leader's
   * lease. In a campaign they count as unreachable only once another peer rejected (see
   * tally): a report can be stale — a restarted peer is up and answering while our link
   * to it still waits to reconnect (issue 8, defect 13).
   */
  private readonly lostPeers = new Map<NodeId, number>();

  // (Pre-)candidate: answers received in the current round, self included.
  private readonly votes = new Map<NodeId, boolean>();
  /** Candidate: the round was started by TimeoutNow (its requests carry `transfer`). */
  private campaignTransfer = false;

  // Leader.
  private leaderSinceMs = 0;
  private heartbeatDueMs = 0;
  private lastHeartbeatSentMs = -Infinity;
  /** Newest heartbeat send stamp each peer acknowledged in this term. */
  private readonly ackedSentMs = new Map<NodeId, number>();
  private transfer: { readonly to: NodeId; readonly deadlineMs: number } | null = null;

  // Output of the step in progress.
  private messages: Envelope[] = [];
  private roleChanges: RoleChange[] = [];
  private events: ElectionEvent[] = [];

  constructor(opts: ElectionNodeOptions) {
    this.timing = resolveTiming(opts);
    const members = [...new Set(opts.members)];
    if (!members.includes(opts.id)) {
      throw new VigilError('CONFIG_INVALID', `peers must include this node (node.id "${opts.id}")`, { context: { members } });
    }
    if (!(Number.isSafeInteger(opts.hardState.term) && opts.hardState.term >= 0)) {
      throw new VigilError('STATE_PERSIST_FAILED', `persisted term ${String(opts.hardState.term)} is not a non-negative integer; the state file is damaged`);
    }
    this.id = opts.id;
    this.peers = members.filter((m) => m !== opts.id).sort();
    this.quorum = Math.floor(members.length / 2) + 1;
    this.random = opts.random;
    this.term = opts.hardState.term;
    this.votedFor = opts.hardState.votedFor;
    this.persisted = { term: this.term, votedFor: this.votedFor };
    this.nowMs = opts.nowMs;
    // I3: a (re)started node may have acknowledged a heartbeat just before it went down.
    this.holdUntilMs = opts.nowMs + this.timing.electionTimeoutMs;
    this.electionDeadlineMs = opts.nowMs + this.randomizedTimeoutMs();
  }

  // ---------------------------------------------------------------- queries

  /**
   * True while this node may act as leader: it leads, is not handing over, and a majority
   * acknowledged a heartbeat sent less than L ago (I4). Callers check it immediately
   * before every side effect, with a fresh clock reading.
   */
  leaseValid(nowMs: number): boolean {
    const expiresAtMs = this.leaseExpiresAtMs();
    return expiresAtMs !== null && nowMs < expiresAtMs;
  }

  /** The earliest clock reading at which `step` has something to do; tick then. */
  nextDeadlineMs(): number {
    if (this.role !== 'leader') return this.electionDeadlineMs;
    if (this.transfer !== null) return Math.min(this.transfer.deadlineMs, this.heartbeatDueMs);
    return Math.min(this.heartbeatDueMs, this.stepDownAtMs());
  }

  status(nowMs: number): ElectionStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      leaseValid: this.leaseValid(nowMs),
      leaseExpiresAtMs: this.leaseExpiresAtMs(),
      transferringTo: this.transfer?.to ?? null,
    };
  }

  /** Send time of the heartbeat the lease rests on, or null (for the simulator's exception rule). */
  leaseStartMs(): number | null {
    if (this.role !== 'leader' || this.transfer !== null) return null;
    const basis = this.quorumAckedSentMs();
    return basis === -Infinity ? null : basis;
  }

  // ---------------------------------------------------------------- the one entry point

  step(input: Input): Output {
    this.messages = [];
    this.roleChanges = [];
    this.events = [];
    // Monotonic input is the driver's contract; a reading from the past changes nothing.
    if (input.nowMs > this.nowMs) this.nowMs = input.nowMs;
    this.onTimeElapsed();

    switch (input.type) {
      case 'tick':
        break;
      case 'message':
        if (input.from === this.id || !this.peers.includes(input.from)) {
          this.emit({ type: 'message-ignored', from: input.from, messageType: input.message.type, reason: 'unknown-peer' });
        } else {
          this.onMessage(input.from, input.message);
        }
        break;
      case 'connection-lost':
        if (this.peers.includes(input.peer)) this.onConnectionLost(input.peer);
        break;
      case 'connection-restored':
        if (this.peers.includes(input.peer)) this.onConnectionRestored(input.peer);
        break;
      case 'transfer-leadership':
        this.onTransferRequest(input.to ?? null);
        break;
      default:
        assertNever(input);
    }

    let persist: HardState | null = null;
    if (this.term !== this.persisted.term || this.votedFor !== this.persisted.votedFor) {
      persist = { term: this.term, votedFor: this.votedFor };
      this.persisted = persist;
    }
    return { persist, messages: this.messages, roleChanges: this.roleChanges, events: this.events };
  }

  // ---------------------------------------------------------------- time

  private onTimeElapsed(): void {
    const now = this.nowMs;
    if (this.role === 'leader') {
      if (this.transfer !== null) {
        // Thesis §3.10: abort a transfer that did not complete within an election timeout.
        // The old leader does not resume in this term: TimeoutNow-forced vote requests of
        // the failed transfer may still be in flight, and voters grant them regardless of
        // leases, so a lease in this term could no longer be trusted. It steps down and the
        // group elects normally (it may well win again).
        if (now >= this.transfer.deadlineMs) {
          this.emit({ type: 'transfer-aborted', to: this.transfer.to });
          this.becomeFollower(this.term, null, 'transfer-timeout');
        } else if (now >= this.heartbeatDueMs) {
          // Resend TimeoutNow in case it was lost; duplicates are harmless (stale term).
          this.heartbeatDueMs = now + this.timing.heartbeatIntervalMs;
          this.send(this.transfer.to, { type: 'timeout-now', term: this.term });
        }
        return;
      }
      if (now >= this.stepDownAtMs()) {
        this.becomeFollower(this.term, null, 'check-quorum');
        return;
      }
      if (now >= this.heartbeatDueMs) this.broadcastHeartbeat();
      return;
    }
    if (now >= this.electionDeadlineMs) {
      if (this.role !== 'follower') this.failedCampaigns++; // the round timed out without a result
      this.campaign(this.fastElection ? 'connection-lost' : 'election-timeout');
    }
  }

  /**
   * Randomized election timeout in [T, T + 2^k·T), k = failed campaigns in a row (capped).
   * k = 0 gives Raft's [T, 2T) (thesis §3.4); widening after split votes makes repeated
   * collisions unlikely.
   */
  private randomizedTimeoutMs(): number {
    const T = this.timing.electionTimeoutMs;
    return T + this.randomUnit() * T * 2 ** Math.min(this.failedCampaigns, this.timing.maxBackoffExponent);
  }

  private fastElectionDelayMs(): number {
    return this.randomUnit() * this.timing.fastElectionMaxDelayMs * 2 ** Math.min(this.failedCampaigns, this.timing.maxBackoffExponent);
  }

  private randomUnit(): number {
    const r = this.random();
    return Number.isFinite(r) && r > 0 ? Math.min(r, 1 - Number.EPSILON) : 0;
  }

  // ---------------------------------------------------------------- messages

  private onMessage(from: NodeId, m: Message): void {
    switch (m.type) {
      case 'vote-request':
        return m.preVote ? this.onPreVoteRequest(from, m.term) : this.onVoteRequest(from, m.term, m.transfer);
      case 'vote-response':
        return this.onVoteResponse(from, m.term, m.preVote, m.granted, m.voterTerm);
      case 'heartbeat':
        return this.onHeartbeat(from, m.term, m.sentMs);
      case 'heartbeat-response':
        return this.onHeartbeatResponse(from, m.term, m.sentMs);
      case 'timeout-now':
        return this.onTimeoutNow(from, m.term);
      default:
        assertNever(m);
    }
  }

  /** I3: true while this node must not vote for `term`'s candidate. */
  private honoursLease(term: number, transfer: boolean): boolean {
    // A TimeoutNow campaign for the term right after ours was started by our leader, which
    // stopped acting when it began the transfer (thesis §3.10, docs/design.md §2).
    if (transfer && term === this.term + 1) return false;
    if (this.role === 'leader') return this.transfer === null;
    return this.nowMs < this.holdUntilMs;
  }

  /**
   * Thesis §9.6: would we vote for `from` in `term`? Answering changes neither term nor
   * vote. After a leader's crash (fast election), the followers all campaign within
   * F = T/8 of each other; to keep them from splitting the vote (thesis §3.4):
   *  - a follower that backs a candidate stands back for at least F before campaigning;
   *  - two pre-candidates for the same term settle it by id: the higher yields to the lower.
   */
  private onPreVoteRequest(from: NodeId, term: number): void {
    let granted = false;
    const rivals = this.fastElection && this.role === 'pre-candidate' && term === this.term + 1;
    if (term <= this.term) this.emit({ type: 'vote-rejected', candidate: from, term, preVote: true, reason: 'stale-term' });
    else if (this.honoursLease(term, false)) this.emit({ type: 'vote-rejected', candidate: from, term, preVote: true, reason: 'leader-lease' });
    else if (rivals && from > this.id) this.emit({ type: 'vote-rejected', candidate: from, term, preVote: true, reason: 'own-campaign' });
    else granted = true;
    if (granted) {
      this.emit({ type: 'vote-granted', candidate: from, term, preVote: true });
      if (rivals) this.becomeFollower(this.term, null, 'yielded');
      if (this.fastElection && this.role === 'follower') {
        this.electionDeadlineMs = Math.max(this.electionDeadlineMs, this.nowMs + this.timing.fastElectionMaxDelayMs + this.fastElectionDelayMs());
      }
    }
    this.send(from, { type: 'vote-response', term, preVote: true, granted, voterTerm: this.term });
  }

  private onVoteRequest(from: NodeId, term: number, transfer: boolean): void {
    const reject = (reason: 'stale-term' | 'leader-lease' | 'already-voted'): void => {
      this.emit({ type: 'vote-rejected', candidate: from, term, preVote: false, reason });
      this.send(from, { type: 'vote-response', term, preVote: false, granted: false, voterTerm: this.term });
    };
    if (term < this.term) return reject('stale-term');
    // Checked before adopting the term: a candidate we refuse must not raise our term
    // either, or it could depose the leader through us (thesis §9.6).
    if (this.honoursLease(term, transfer)) return reject('leader-lease');
    if (term > this.term) this.becomeFollower(term, null, 'higher-term');
    if (this.votedFor !== null && this.votedFor !== from) return reject('already-voted');
    // I1: the vote is persisted (Output.persist) before this grant is sent.
    this.votedFor = from;
    this.electionDeadlineMs = this.nowMs + this.randomizedTimeoutMs();
    this.emit({ type: 'vote-granted', candidate: from, term, preVote: false });
    this.send(from, { type: 'vote-response', term, preVote: false, granted: true, voterTerm: this.term });
  }

  private onVoteResponse(from: NodeId, term: number, preVote: boolean, granted: boolean, voterTerm: number): void {
    if (voterTerm > this.term) {
      this.becomeFollower(voterTerm, null, 'higher-term');
      return;
    }
    const expectedRole: Role = preVote ? 'pre-candidate' : 'candidate';
    const roundTerm = preVote ? this.term + 1 : this.term;
    if (this.role !== expectedRole || term !== roundTerm) {
      this.emit({ type: 'message-ignored', from, messageType: 'vote-response', reason: term < roundTerm ? 'stale-term' : 'unexpected' });
      return;
    }
    this.votes.set(from, granted);
    this.tally();
  }

  private onHeartbeat(from: NodeId, term: number, sentMs: number): void {
    if (term < this.term) {
      // Answer with our term so a stale leader steps down (etcd does the same under
      // check-quorum: without it a node with a higher term could be shut out forever).
      this.emit({ type: 'message-ignored', from, messageType: 'heartbeat', reason: 'stale-term' });
      this.send(from, { type: 'heartbeat-response', term: this.term, sentMs });
      return;
    }
    if (term <= (this.lostPeers.get(from) ?? -1)) {
      // Sent before the crash we were told of (or the report was false): until the driver
      // reports the connection restored, treat it as lost — no acknowledgement, no lease.
      this.emit({ type: 'message-ignored', from, messageType: 'heartbeat', reason: 'connection-lost' });
      return;
    }
    if (term > this.term) this.becomeFollower(term, from, 'higher-term');
    else if (this.role === 'leader') {
      // Impossible while I1 holds; never follow a second leader of our own term.
      this.emit({ type: 'message-ignored', from, messageType: 'heartbeat', reason: 'unexpected' });
      return;
    } else if (this.role !== 'follower') this.becomeFollower(term, from, 'leader-heartbeat');
    this.leaderId = from;
    // I3: from now on, refuse votes for T on our own clock; the leader's lease counts on it.
    this.holdUntilMs = this.nowMs + this.timing.electionTimeoutMs;
    this.holdFor = from;
    this.failedCampaigns = 0;
    this.fastElection = false;
    this.electionDeadlineMs = this.nowMs + this.randomizedTimeoutMs();
    this.send(from, { type: 'heartbeat-response', term: this.term, sentMs });
  }

  private onHeartbeatResponse(from: NodeId, term: number, sentMs: number): void {
    if (term > this.term) {
      this.becomeFollower(term, null, 'higher-term');
      return;
    }
    // Only stamps this leadership sent count (a forged or stale stamp must not extend the lease).
    if (this.role !== 'leader' || term < this.term || !(sentMs >= this.leaderSinceMs && sentMs <= this.lastHeartbeatSentMs)) {
      this.emit({ type: 'message-ignored', from, messageType: 'heartbeat-response', reason: term < this.term ? 'stale-term' : 'unexpected' });
      return;
    }
    if (sentMs > (this.ackedSentMs.get(from) ?? -Infinity)) this.ackedSentMs.set(from, sentMs);
  }

  private onTimeoutNow(from: NodeId, term: number): void {
    if (term !== this.term || this.role === 'leader') {
      this.emit({ type: 'message-ignored', from, messageType: 'timeout-now', reason: term < this.term ? 'stale-term' : 'unexpected' });
      return;
    }
    this.becomeCandidate('timeout-now', true);
  }

  // ---------------------------------------------------------------- other inputs

  /**
   * docs/design.md §2 fast crash detection: the driver saw `peer`'s process die. If it was our
   * leader, stop honouring its lease (I3 exception) and campaign after a short random
   * delay instead of a full election timeout.
   */
  private onConnectionLost(peer: NodeId): void {
    this.lostPeers.set(peer, this.term);
    const wasLeader = this.leaderId === peer || this.holdFor === peer;
    if (this.holdFor === peer) {
      this.holdUntilMs = -Infinity;
      this.holdFor = null;
    }
    if (this.role === 'follower' && wasLeader) {
      this.emit({ type: 'leader-connection-lost', leaderId: peer });
      this.leaderId = null;
      this.fastElection = true;
      this.electionDeadlineMs = Math.min(this.electionDeadlineMs, this.nowMs + this.fastElectionDelayMs());
    } else if (this.role === 'pre-candidate' || this.role === 'candidate') {
      this.tally(); // with a rejection in hand, the round may now be out of reach
    }
  }

  /**
   * The driver reconnected to `peer`. A (pre-)candidate still waiting for its answer sends
   * the request again: the first may have been lost while the link was down, and the
   * round stays open for it (duplicates are harmless: a voter answers the same candidate
   * the same way twice).
   */
  private onConnectionRestored(peer: NodeId): void {
    this.lostPeers.delete(peer);
    if (this.votes.has(peer)) return;
    if (this.role === 'pre-candidate') this.send(peer, { type: 'vote-request', term: this.term + 1, preVote: true, transfer: false });
    else if (this.role === 'candidate') this.send(peer, { type: 'vote-request', term: this.term, preVote: false, transfer: this.campaignTransfer });
  }

  private onTransferRequest(to: NodeId | null): void {
    const reject = (reason: TransferRejectReason): void => this.emit({ type: 'transfer-rejected', to, reason });
    if (this.role !== 'leader') return reject('not-leader');
    if (this.transfer !== null) return reject('transfer-in-progress');
    // Without a log every follower is up to date; "up to date" here means responsive: it
    // acknowledged a heartbeat sent within the lease and its connection is not known lost.
    const responsive = (p: NodeId): boolean =>
      !this.lostPeers.has(p) && (this.ackedSentMs.get(p) ?? -Infinity) + this.timing.leaseMs > this.nowMs;
    let target = to;
    if (target === null) {
      for (const p of this.peers) {
        if (responsive(p) && (target === null || this.ackedSentMs.get(p)! > this.ackedSentMs.get(target)!)) target = p;
      }
      if (target === null) return reject('target-not-responsive');
    }
    if (!this.peers.includes(target)) return reject('unknown-target');
    if (!responsive(target)) return reject('target-not-responsive');
    // From here the lease is void (leaseValid is false) and no heartbeats go out.
    this.transfer = { to: target, deadlineMs: this.nowMs + this.timing.electionTimeoutMs };
    this.heartbeatDueMs = this.nowMs + this.timing.heartbeatIntervalMs;
    this.emit({ type: 'transfer-started', to: target });
    this.send(target, { type: 'timeout-now', term: this.term });
  }

  // ---------------------------------------------------------------- campaigns

  /** Start a pre-vote round (thesis §9.6): ask for term + 1 without raising our term. */
  private campaign(reason: 'election-timeout' | 'connection-lost'): void {
    if (this.honoursLease(this.term + 1, false)) {
      // I3 applies to our own vote too; try again when the hold ends.
      this.electionDeadlineMs = this.holdUntilMs;
      return;
    }
    if (this.quorum === 1) {
      this.becomeCandidate(reason, false);
      return;
    }
    this.setRole('pre-candidate', reason);
    this.leaderId = null;
    this.votes.clear();
    this.votes.set(this.id, true);
    this.electionDeadlineMs = this.nowMs + this.randomizedTimeoutMs();
    this.emit({ type: 'campaign-started', term: this.term + 1, preVote: true });
    for (const p of this.peers) this.send(p, { type: 'vote-request', term: this.term + 1, preVote: true, transfer: false });
  }

  private becomeCandidate(reason: RoleChangeReason, transfer: boolean): void {
    this.term += 1;
    this.votedFor = this.id; // I1: persisted before the requests below are sent
    this.setRole('candidate', reason);
    this.leaderId = null;
    this.votes.clear();
    this.votes.set(this.id, true);
    this.campaignTransfer = transfer;
    this.electionDeadlineMs = this.nowMs + this.randomizedTimeoutMs();
    this.emit({ type: 'campaign-started', term: this.term, preVote: false });
    for (const p of this.peers) this.send(p, { type: 'vote-request', term: this.term, preVote: false, transfer });
    this.tally();
  }

  private tally(): void {
    let granted = 0;
    let rejected = 0;
    for (const v of this.votes.values()) v ? granted++ : rejected++;
    if (granted >= this.quorum) {
      if (this.role === 'pre-candidate') this.becomeCandidate('won-pre-vote', false);
      else this.becomeLeader();
      return;
    }
    // A round ends early only on evidence: rejections. Once some peer said no, peers
    // reported lost count as unreachable, and a round that needs them ends now so the
    // retry (after the short fast-election delay) asks everyone again. Silence alone never
    // ends a round: a peer reported lost may be back already — its answer can arrive
    // before the driver's link to it reconnects (issue 8, defect 13) — and with no
    // rejection a retry could only ask the same peers the same question.
    const members = this.peers.length + 1;
    let unreachable = 0;
    if (rejected > 0) for (const p of this.lostPeers.keys()) if (!this.votes.has(p)) unreachable++;
    if (members - rejected - unreachable >= this.quorum) return; // still winnable
    const preVote = this.role === 'pre-candidate';
    this.emit({ type: 'campaign-lost', term: preVote ? this.term + 1 : this.term, preVote, granted, rejected });
    this.failedCampaigns++;
    this.becomeFollower(this.term, null, 'campaign-lost');
    if (this.fastElection) this.electionDeadlineMs = this.nowMs + this.fastElectionDelayMs();
  }

  private becomeLeader(): void {
    this.setRole('leader', 'won-election');
    this.leaderId = this.id;
    this.leaderSinceMs = this.nowMs;
    this.ackedSentMs.clear();
    this.transfer = null;
    this.failedCampaigns = 0;
    this.fastElection = false;
    this.broadcastHeartbeat();
  }

  private becomeFollower(term: number, leaderId: NodeId | null, reason: RoleChangeReason): void {
    if (term > this.term) {
      this.term = term;
      this.votedFor = null; // I2: only a new term frees the vote
    }
    this.setRole('follower', reason);
    this.leaderId = leaderId;
    this.transfer = null;
    this.votes.clear();
    this.electionDeadlineMs = this.nowMs + this.randomizedTimeoutMs();
  }

  // ---------------------------------------------------------------- leader

  private broadcastHeartbeat(): void {
    this.lastHeartbeatSentMs = this.nowMs;
    this.heartbeatDueMs = this.nowMs + this.timing.heartbeatIntervalMs;
    for (const p of this.peers) this.send(p, { type: 'heartbeat', term: this.term, sentMs: this.nowMs });
  }

  /** I4: the send stamp acknowledged by a majority, the leader's own newest send included. */
  private quorumAckedSentMs(): number {
    const stamps = [this.lastHeartbeatSentMs];
    for (const p of this.peers) stamps.push(this.ackedSentMs.get(p) ?? -Infinity);
    stamps.sort((a, b) => b - a);
    return stamps[this.quorum - 1] as number;
  }

  private leaseExpiresAtMs(): number | null {
    const basis = this.leaseStartMs();
    return basis === null ? null : basis + this.timing.leaseMs;
  }

  /** Check-quorum: a leader with no majority acknowledgement within L of its lease start (or of taking office) steps down. */
  private stepDownAtMs(): number {
    return Math.max(this.quorumAckedSentMs(), this.leaderSinceMs) + this.timing.leaseMs;
  }

  // ---------------------------------------------------------------- output helpers

  private setRole(role: Role, reason: RoleChangeReason): void {
    if (this.role !== role) this.roleChanges.push({ from: this.role, to: role, term: this.term, reason });
    this.role = role;
  }

  private send(to: NodeId, message: Message): void {
    this.messages.push({ to, message });
  }

  private emit(event: ElectionEvent): void {
    this.events.push(event);
  }
}

function assertNever(x: never): never {
  throw new VigilError('INTERNAL', `unhandled election input ${JSON.stringify(x)}`);
}
