/**
 * The events a cycle appends to the timeline (docs/design.md §1 act step 2): one per alert
 * transition, and the partitions whose leader moved, bounded per cycle.
 */
import type { Notification } from '../alerting/types';
import type { Finding } from '../monitor/findings';

export interface CycleEvent {
  readonly type: string;
  readonly data: unknown;
}

/** at most this many LeaderChanged events per cycle go to the events stream */
export const MAX_LEADER_EVENTS_PER_CYCLE = 20;

export function cycleEvents(notifications: readonly Notification[], findings: readonly Finding[]): CycleEvent[] {
  const events: CycleEvent[] = [];
  for (const n of notifications) {
    events.push({ type: n.alert.status === 'firing' ? 'alert-firing' : 'alert-resolved', data: { key: n.alert.key, alert: n.alert.alert, severity: n.alert.severity, summary: n.alert.summary } });
  }
  const moves = findings.filter((f): f is Extract<Finding, { kind: 'LeaderChanged' }> => f.kind === 'LeaderChanged');
  for (const f of moves.slice(0, MAX_LEADER_EVENTS_PER_CYCLE)) events.push({ type: 'partition-leader-changed', data: { topic: f.topic, partition: f.partition, from: f.from, to: f.to } });
  if (moves.length > MAX_LEADER_EVENTS_PER_CYCLE) events.push({ type: 'partition-leaders-changed', data: { count: moves.length, shown: MAX_LEADER_EVENTS_PER_CYCLE } });
  return events;
}
