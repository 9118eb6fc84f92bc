/**
 * The document (Redis key "core") a successor continues from (docs/design.md §1 act step 1,
 * §6.2): the alert state and the notifications it owes, written together in one fenced
 * write, so a successor sees either an incident *and* the page it owes, or neither.
 */
import { parseAlertState, serializeAlertState, type AlertState } from '../alerting/alert-state';
import type { Notification } from '../alerting/types';

export const CORE_KEY = 'core';
/** owed notifications are kept this long; by then they are claimed in Redis or delivered */
export const OWED_RETENTION_MS = 10 * 60_000;

export interface OwedNotification {
  readonly atMs: number;
  readonly notification: Notification;
}

/** As stored. */
interface PersistedCore {
  readonly alertState: string;
  /** notifications decided recently: a successor re-submits them (the outbox dedups) */
  readonly owed: readonly OwedNotification[];
}

export function coreDocument(alertState: AlertState, owed: readonly OwedNotification[]): unknown {
  const core: PersistedCore = { alertState: serializeAlertState(alertState), owed };
  return core;
}

/** Throws when the stored alert state cannot be read. */
export function parseCoreDocument(data: unknown): { alertState: AlertState; owed: OwedNotification[] } {
  const core = data as PersistedCore;
  const alertState = parseAlertState(core.alertState);
  const owed = Array.isArray(core.owed) ? core.owed.map((o) => ({ atMs: o.atMs, notification: o.notification })) : [];
  return { alertState, owed };
}

/** The owed list after a cycle at `nowMs`: the recent ones kept, this cycle's added. */
export function nextOwed(owed: readonly OwedNotification[], decided: readonly Notification[], nowMs: number): OwedNotification[] {
  return [...owed.filter((o) => nowMs - o.atMs < OWED_RETENTION_MS), ...decided.map((notification) => ({ atMs: nowMs, notification }))];
}
