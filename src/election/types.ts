/**
 * The election core's vocabulary: what goes into `ElectionNode.step` and what comes out.
 * Everything here is plain data. Messages are JSON-serialisable so a driver can send them
 * as HTTP bodies (docs/design.md §2: sender id, timestamp and HMAC live in the transport envelope,
 * not here). Times are the node's own monotonic clock in milliseconds; they are never
 * compared across nodes except as opaque stamps that a peer echoes back unchanged.
 */

export type NodeId = string;

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/**
 * The durable state (Raft thesis §3.8, without a log). A driver writes it atomically and
 * fsyncs it before sending any message of the step that produced it, and restarts a node
 * from the last value written.
 */
export interface HardState {
  readonly term: number;
  readonly votedFor: NodeId | null;
}

/** Peer messages. `term` is the sender's term, except in pre-vote requests (see below). */
export type Message =
  /**
   * RequestVote. For a pre-vote (thesis §9.6) `term` is the term the sender *would*
   * campaign in (its term + 1); the sender's own term is not raised. `transfer` marks a
   * campaign started by TimeoutNow: voters then disregard the old leader's lease, which
   * that leader gave up when it started the transfer.
   */
  | { readonly type: 'vote-request'; readonly term: number; readonly preVote: boolean; readonly transfer: boolean }
  /** `term` repeats the request's term (so a stale answer is recognisable); `voterTerm` is the voter's own term. */
  | { readonly type: 'vote-response'; readonly term: number; readonly preVote: boolean; readonly granted: boolean; readonly voterTerm: number }
  /** Leader → follower. `sentMs` is the leader's monotonic send time, echoed back unchanged. */
  | { readonly type: 'heartbeat'; readonly term: number; readonly sentMs: number }
  /** `term` is the responder's term after handling the heartbeat: equal = acknowledged, higher = the leader is stale. */
  | { readonly type: 'heartbeat-response'; readonly term: number; readonly sentMs: number }
  /** Leadership transfer (thesis §3.10): campaign now, without pre-vote, and tell voters it is a transfer. */
  | { readonly type: 'timeout-now'; readonly term: number };

export type MessageType = Message['type'];

/**
 * Every input carries the node's monotonic clock reading `nowMs`. The core first lets the
 * elapsed time take effect (timeouts, lease expiry), then handles the input, so a node
 * resuming from a pause acts on what its clock says before anything else.
 */
export type Input =
  /** Time passed; drivers send one when `nextDeadlineMs()` is reached (or on any schedule). */
  | { readonly type: 'tick'; readonly nowMs: number }
  /** A message from peer `from`, already authenticated by the transport. */
  | { readonly type: 'message'; readonly nowMs: number; readonly from: NodeId; readonly message: Message }
  /**
   * The driver saw the connection to `peer` drop in a way that means its process died
   * (connection refused / reset while its host answers). docs/design.md §2 "fast crash detection".
   * Never send this for a mere timeout: timeouts are the core's business.
   */
  | { readonly type: 'connection-lost'; readonly nowMs: number; readonly peer: NodeId }
  /**
   * A connection to `peer` works again after a `connection-lost`; until then its heartbeats
   * are ignored. A (pre-)candidate still waiting for `peer`'s answer re-sends its request.
   */
  | { readonly type: 'connection-restored'; readonly nowMs: number; readonly peer: NodeId }
  /** Hand leadership over (SIGTERM, admin API). `to` omitted: the most responsive follower. */
  | { readonly type: 'transfer-leadership'; readonly nowMs: number; readonly to?: NodeId };

export interface Envelope {
  readonly to: NodeId;
  readonly message: Message;
}

export type RoleChangeReason =
  | 'election-timeout' // follower → pre-candidate; also a candidate whose round timed out
  | 'connection-lost' // follower → pre-candidate after the leader's connection dropped
  | 'won-pre-vote' // pre-candidate → candidate
  | 'timeout-now' // follower → candidate on a leadership transfer
  | 'won-election' // candidate → leader
  | 'campaign-lost' // (pre-)candidate → follower: rejections put a majority out of reach
  | 'yielded' // pre-candidate → follower: a peer with a lower id campaigns for the same term (fast election)
  | 'leader-heartbeat' // (pre-)candidate → follower: a leader of this term exists
  | 'higher-term' // any → follower
  | 'check-quorum' // leader → follower: no majority acknowledged a heartbeat within the lease
  | 'transfer-timeout'; // leader → follower: the transfer target did not take over in time

export interface RoleChange {
  readonly from: Role;
  readonly to: Role;
  readonly term: number;
  readonly reason: RoleChangeReason;
}

export type VoteRejectReason =
  /** The request's term is below ours (or, for a pre-vote, not above it). */
  | 'stale-term'
  /** We heard from a live leader within the election timeout, or we are that leader (check-quorum, docs/design.md §2). */
  | 'leader-lease'
  | 'already-voted'
  /** Fast election only: we are a pre-candidate for the same term and our id is lower. */
  | 'own-campaign';

export type TransferRejectReason = 'not-leader' | 'transfer-in-progress' | 'unknown-target' | 'target-not-responsive';

/** Things worth a log line or a counter. Role changes and persisted state are reported separately. */
export type ElectionEvent =
  | { readonly type: 'campaign-started'; readonly term: number; readonly preVote: boolean }
  | { readonly type: 'campaign-lost'; readonly term: number; readonly preVote: boolean; readonly granted: number; readonly rejected: number }
  | { readonly type: 'vote-granted'; readonly candidate: NodeId; readonly term: number; readonly preVote: boolean }
  | { readonly type: 'vote-rejected'; readonly candidate: NodeId; readonly term: number; readonly preVote: boolean; readonly reason: VoteRejectReason }
  | {
      readonly type: 'message-ignored';
      readonly from: NodeId;
      readonly messageType: MessageType;
      /** connection-lost: a heartbeat from a peer reported dead, before it was reported restored. */
      readonly reason: 'stale-term' | 'unknown-peer' | 'unexpected' | 'connection-lost';
    }
  /** A follower stopped honouring `leaderId`'s lease because its connection dropped. */
  | { readonly type: 'leader-connection-lost'; readonly leaderId: NodeId }
  | { readonly type: 'transfer-started'; readonly to: NodeId }
  | { readonly type: 'transfer-rejected'; readonly to: NodeId | null; readonly reason: TransferRejectReason }
  | { readonly type: 'transfer-aborted'; readonly to: NodeId };

/**
 * What one step asks the driver to do, in this order:
 *   1. if `persist` is not null, write it durably (temp file + fsync + rename) and wait;
 *   2. then send `messages` (order within the list does not matter; loss is tolerated);
 *   3. report `roleChanges` and `events` (logs, metrics) at any time.
 * If the write fails, the driver must not send the messages: it should stop the process
 * (a node that cannot persist its vote must not vote).
 */
export interface Output {
  readonly persist: HardState | null;
  readonly messages: readonly Envelope[];
  readonly roleChanges: readonly RoleChange[];
  readonly events: readonly ElectionEvent[];
}

/** A read-only view for status pages and metrics. */
export interface ElectionStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  /** Whether this node may act as leader at `nowMs` (see `ElectionNode.leaseValid`). */
  readonly leaseValid: boolean;
  /** Monotonic time at which the current lease ends; null when not leading or no lease yet. */
  readonly leaseExpiresAtMs: number | null;
  /** Target of an ongoing leadership transfer, if any. */
  readonly transferringTo: NodeId | null;
}
