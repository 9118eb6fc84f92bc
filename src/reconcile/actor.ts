/**
 * Actors run the side effects of the act step (docs/design.md §1, step 3): the outbox with
 * its Alertmanager refresher (./paging.ts) and the remediation executor
 * (src/remediation/executor.ts).
 * The loop hands each one its work after the state that owes the work is stored, and never
 * waits for it: an actor's sends run off the cycle's path, so a slow receiver or a slow
 * Kafka request never stalls monitoring.
 *
 * Fencing. Everything an actor does is done for one term: it checks `fence.mayAct()` (this
 * node still leads in `fence.term` and no write of that term was refused) right before each
 * side effect, and a side effect a successor must know of (a page; a remediation step) is
 * first recorded with a write fenced by that term in Redis (docs/design.md §6.1): the
 * outbox claims before it sends. So a deposed leader's actor neither acts on its lease
 * alone nor records anything after its successor raised the fence.
 */
import type { Alert, Notification } from '../alerting/types';
import type { Finding } from '../monitor/findings';
import type { KafkaSnapshot } from '../monitor/snapshot';

/** The term an actor acts in, and whether it still may. */
export interface TermFence {
  readonly term: number;
  /** Answered from the lease on a fresh clock reading: ask right before each side effect. */
  mayAct(): boolean;
}

/** What a new leader owes from the stored state (docs/design.md §6.2). */
export interface Owed {
  /** notifications decided recently, by this node or a predecessor; the outbox deduplicates */
  readonly notifications: readonly Notification[];
}

/** One cycle's decision, stored before the actors get it. */
export interface Decision {
  /** the transitions decided this cycle */
  readonly notifications: readonly Notification[];
  /** every alert firing after decide */
  readonly firing: readonly Alert[];
  /** what detect found this cycle, and the snapshot it found it in (the remediation policy reads both) */
  readonly findings: readonly Finding[];
  readonly snapshot: KafkaSnapshot;
  /**
   * 'cycle': the snapshot was just observed. 'schedule': it is the last cycle's, with breaches
   * the commit stream confirmed since (docs/design.md §3.7) — actors that follow Kafka's
   * state over time (the failover timeline, remediation) skip it; paging acts on it.
   */
  readonly source?: 'cycle' | 'schedule';
}

export interface Actor {
  /** This node leads in `fence.term` and has raised the fence: finish what is owed. */
  takeOver(fence: TermFence, owed: Owed): void;
  /** One cycle's decision, after the fenced writes of the act step succeeded. */
  act(fence: TermFence, decision: Decision): void;
  /** A term is starting or leadership is gone: drop whatever was kept for an earlier term. */
  reset(): void;
  /** The loop is stopping: settle the work in flight. */
  stop(): Promise<void>;
  /**
   * A follower's poll: keep a copy of what the actor keeps in Redis, for the day Redis loses
   * it and the leader stops before writing it again (docs/design.md §6.2). Never throws.
   */
  follow?(): Promise<void>;
  /**
   * Findings about the actor's own work, decided with detect's in the next cycle (the
   * remediation executor's proposed and refused plans), so they page and resolve like any
   * other alert.
   */
  findings?(): readonly Finding[];
}
