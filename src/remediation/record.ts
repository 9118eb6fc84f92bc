/**
 * Plans as vigil keeps them in Redis (docs/design.md §5.3): one document, written only with
 * the term fence, that holds every plan vigil made recently with its status and progress,
 * and when each partition was last moved (the cooldown). A new leader reads it and carries
 * on with the plan in progress at the step it had reached; every step is idempotent, so a
 * step whose intent was recorded but whose outcome was not is simply run again.
 */
import type { Plan, PartitionMove } from './plan';

/** The key of the document in the fenced document store (beside the alert state's "core"). */
export const REMEDIATION_KEY = 'remediation';

export type PlanStatus =
  /** dry-run: computed, shown, waiting for a person (`POST /api/v1/plans/:id/execute`) */
  | 'proposed'
  | 'executing'
  | 'done'
  /** a step failed for good (its error says why); what earlier steps did stays done */
  | 'failed'
  /** a guard refused it (`reason` says which); never sent anything */
  | 'refused'
  /** the condition that called for it is gone before it ran (proposed or refused) */
  | 'dropped';

/** A plan's steps, in order; a plan runs only those it needs. */
export type StepKind = 'throttle' | 'reassign' | 'await-reassign' | 'elect' | 'unthrottle';

export interface StepOutcome {
  readonly step: StepKind;
  readonly atMs: number;
  readonly term: number;
  readonly nodeId: string;
  /** what was sent (partition or resource count) or why nothing was */
  readonly detail: string;
  /** per partition or resource errors, when any */
  readonly errors?: readonly string[];
}

export interface PlanRecord {
  readonly plan: Plan;
  status: PlanStatus;
  /** 'auto', or 'operator' when a person executed it through the API */
  approvedBy?: 'auto' | 'operator';
  /** refusal or failure reason */
  reason?: string;
  /** the steps this plan runs, and the index of the next one */
  readonly steps: readonly StepKind[];
  next: number;
  /**
   * The step that may have been sent, recorded with a fenced write before it is sent
   * (`term` and `nodeId` of the sender). Cleared when its outcome is recorded.
   */
  intent?: { readonly step: StepKind; readonly term: number; readonly nodeId: string; readonly atMs: number };
  /** last outcomes, oldest first (bounded) */
  outcomes: StepOutcome[];
  /** partitions (`topic/partition`) whose move Kafka refused: not sent again by this plan */
  failed?: string[];
  /** partitions whose move Kafka accepted: not sent again, waited for until the metadata shows them moved */
  sent?: string[];
  /** when the last reassign batch was accepted */
  reassignSentAtMs?: number;
  /** for plans that moved partitions off a broker: the give-back plan that undid them */
  givenBackBy?: string;
  /** for give-back plans: the plans it undoes */
  readonly undoes?: readonly string[];
  readonly createdAtMs: number;
  updatedAtMs: number;
  finishedAtMs?: number;
}

export interface RemediationDoc {
  /** newest first */
  plans: PlanRecord[];
  /** partition key (`topic/partition`) → wall ms of vigil's last move of it: the cooldown */
  moved: Record<string, number>;
}

export const emptyRemediationDoc = (): RemediationDoc => ({ plans: [], moved: {} });

/** Finished plans kept for the API and for give-back bookkeeping. */
export const FINISHED_PLANS_KEPT = 50;
export const OUTCOMES_KEPT = 20;

export const isActive = (r: PlanRecord): boolean => r.status === 'proposed' || r.status === 'executing';

export const movedKey = (topic: string, partition: number): string => `${topic}/${partition}`;

/** The steps of a plan: throttles around copies, the moves, then preferred elections. */
export function stepsFor(plan: Plan): StepKind[] {
  const steps: StepKind[] = [];
  if (plan.throttle) steps.push('throttle');
  if (plan.moves.length > 0) steps.push('reassign', 'await-reassign');
  if (plan.elections.length > 0) steps.push('elect');
  if (plan.throttle) steps.push('unthrottle');
  return steps;
}

/** Moves of finished plans about `broker` that nothing gave back yet: what give-back undoes. */
export function changedOffBroker(doc: RemediationDoc, broker: number): { planIds: string[]; moves: PartitionMove[] } {
  const planIds: string[] = [];
  const moves: PartitionMove[] = [];
  // oldest first, so a later move of the same partition wins
  for (const r of [...doc.plans].reverse()) {
    if (r.plan.broker !== broker || r.givenBackBy !== undefined || r.status !== 'done') continue;
    if (r.plan.kind !== 'evict' && r.plan.kind !== 'lead-elsewhere') continue;
    planIds.push(r.plan.id);
    for (const m of r.plan.moves) {
      const i = moves.findIndex((x) => x.topic === m.topic && x.partition === m.partition);
      // moved twice: give back to where it was before the first move, from where it is now
      if (i >= 0) moves[i] = { ...m, from: (moves[i] as PartitionMove).from };
      else moves.push(m);
    }
  }
  return { planIds, moves };
}

/** Reads a stored document; throws on a shape vigil did not write. */
export function parseRemediationDoc(data: unknown): RemediationDoc {
  const d = data as Partial<RemediationDoc> | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.plans) || typeof d.moved !== 'object' || d.moved === null) {
    throw new Error('not a remediation document (expected {plans: [...], moved: {...}})');
  }
  return { plans: d.plans as PlanRecord[], moved: { ...(d.moved as Record<string, number>) } };
}

/** Keeps the active plans and the newest finished ones; forgets cooldowns that ended. */
export function pruneDoc(doc: RemediationDoc, nowMs: number, cooldownMs: number): void {
  let finished = 0;
  doc.plans = doc.plans.filter((r) => {
    if (isActive(r)) return true;
    // a finished move-off not yet given back is kept: give-back needs it
    if (r.status === 'done' && r.givenBackBy === undefined && (r.plan.kind === 'evict' || r.plan.kind === 'lead-elsewhere')) return true;
    return ++finished <= FINISHED_PLANS_KEPT;
  });
  for (const [k, at] of Object.entries(doc.moved)) if (nowMs - at >= cooldownMs) delete doc.moved[k];
}
