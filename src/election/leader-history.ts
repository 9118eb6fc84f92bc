/**
 * What a replica knows of vigil's own leader changes (docs/design.md §2; the failover
 * timeline, docs/monitoring.md): pure, fed by the driver after every step with the step's
 * role changes, the status after it and when each peer was last heard from. When this
 * replica wins an election it returns the election as the timeline records it:
 *
 *   term, from (the leader it last knew, or null), to (itself), reason, leaderless ms.
 *
 * The reason is why its campaign began (the first role change out of following a leader):
 *   connection-lost   the leader's connection dropped: its process died while its host is up;
 *   election-timeout  no heartbeat within the election timeout: the leader hung, paused, was
 *                     cut off, or its host died;
 *   timeout-now       the leader handed over (SIGTERM, POST /api/v1/leadership/transfer);
 *   check-quorum / transfer-timeout
 *                     this replica led, lost its lease and won again;
 *   start             no leader was known (the replica started, or never heard one).
 *
 * Leaderless ms: from the last message this replica had from the previous leader (or, when
 * that leader was itself, the moment it stopped leading) to its own election. The previous
 * leader was alive at that message and a heartbeat later could have been dead, so this is
 * the gap to within one heartbeat interval (longer, never shorter); a handover's gap starts
 * at the TimeoutNow the old leader sent when it gave its lease up, so it is exact to the
 * transport's latency. Times are this replica's monotonic clock.
 */
import type { NodeId, Role, RoleChange, RoleChangeReason } from './types';

export type CampaignReason = RoleChangeReason | 'start';

/** One election won by this replica. */
export interface VigilElection {
  readonly term: number;
  /** the leader this replica last knew (null: none known) and its term */
  readonly from: NodeId | null;
  readonly fromTerm: number | null;
  readonly to: NodeId;
  readonly reason: CampaignReason;
  /** last sign of life of the previous leader → this election (null when no leader was known) */
  readonly leaderlessMs: number | null;
  /** campaigns (pre-votes and votes) this replica ran before winning, this one included */
  readonly campaigns: number;
  /** monotonic ms of the election */
  readonly electedAtMs: number;
}

interface Status {
  readonly role: Role;
  readonly term: number;
  readonly leaderId: NodeId | null;
}

const CAMPAIGNING: ReadonlySet<Role> = new Set(['pre-candidate', 'candidate']);

export class LeaderHistory {
  /** the leader last known (any term), and when it was last seen alive */
  private known: { id: NodeId; term: number; seenMs: number | null } | null = null;
  /** the campaign since the known leader was lost */
  private campaign: { reason: CampaignReason; count: number } | null = null;

  constructor(private readonly selfId: NodeId) {}

  /**
   * After every step: its role changes, the status after it, and when each peer was last
   * heard from (monotonic ms, undefined: never). Returns the election when this step won one.
   */
  step(nowMs: number, status: Status, roleChanges: readonly RoleChange[], lastContactMs: (peer: NodeId) => number | undefined): VigilElection | null {
    // While following, the known leader was alive at its last message. Once a campaign has
    // begun, later messages from it (a vote for us, after a handover) are not its leading.
    if (this.known !== null && this.known.id !== this.selfId && this.campaign === null) {
      const seen = lastContactMs(this.known.id);
      if (seen !== undefined) this.known = { ...this.known, seenMs: seen };
    }
    let won: VigilElection | null = null;
    for (const change of roleChanges) {
      if (change.from === 'leader' && this.known?.id === this.selfId) this.known = { ...this.known, seenMs: nowMs };
      if (CAMPAIGNING.has(change.to)) {
        if (this.campaign === null) this.campaign = { reason: this.known === null ? 'start' : change.reason, count: 0 };
        // a pre-vote won goes on to the vote in the same round; anything else starts a round
        if (!(change.from === 'pre-candidate' && change.to === 'candidate')) this.campaign.count++;
      }
      if (change.to === 'leader') {
        const prev = this.known;
        won = {
          term: change.term,
          from: prev?.id ?? null,
          fromTerm: prev?.term ?? null,
          to: this.selfId,
          reason: this.campaign?.reason ?? 'start',
          leaderlessMs: prev === null || prev.seenMs === null ? null : Math.max(0, nowMs - prev.seenMs),
          campaigns: Math.max(1, this.campaign?.count ?? 1),
          electedAtMs: nowMs,
        };
        this.campaign = null;
        this.known = { id: this.selfId, term: change.term, seenMs: nowMs };
      }
    }
    if (status.leaderId !== null && (this.known === null || this.known.id !== status.leaderId || this.known.term !== status.term)) {
      // Following a leader (again): any campaign is over.
      this.known = { id: status.leaderId, term: status.term, seenMs: status.leaderId === this.selfId ? nowMs : (lastContactMs(status.leaderId) ?? nowMs) };
      if (status.role === 'follower') this.campaign = null;
    }
    if (status.role === 'leader' && this.known?.id === this.selfId) this.known = { ...this.known, seenMs: nowMs };
    return won;
  }
}
