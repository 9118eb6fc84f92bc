/**
 * Redis key layout and the small rules both StateStore implementations share.
 *
 * Every key starts with `vigil:{<cluster>}:`: the braces are a Redis Cluster hash tag, so
 * all of a cluster's keys live in one slot and a Lua script may touch any of them.
 *
 *   fence                 string   highest term seen
 *   epoch                 string   random id written when the data set is created; a
 *                                  client that finds it changed or gone (on reconnect, or
 *                                  its check every probe interval) knows Redis lost its data
 *   alerts                hash     alert-state key → {"version","term","updatedAtMs","data"}
 *   alerts:ver            hash     alert-state key → version
 *   outbox                zset     notification id → first claim time (ms): the index
 *   outbox:pending        zset     "<channel> <notification id>" → claim time (ms)
 *   outbox:n:<id>         hash     one notification: its JSON and one record per channel
 *   journals              zset     plan id → last append time (ms)
 *   journal:<plan id>     list     journal entries of one plan, oldest first
 *   events                stream   capped (XADD MAXLEN ~)
 *   failovers             list     failover journal entries, newest first, capped (LTRIM)
 *   failovers:seq         string   count of failover appends: the seq part of entry ids
 *   warm                  string   {"version","term","updatedAtMs","data"}
 */
import { VigilError } from '../errors';
import type { FailoverRecord } from './types';

export interface StateKeys {
  readonly prefix: string;
  readonly fence: string;
  readonly epoch: string;
  readonly alerts: string;
  readonly alertVersions: string;
  readonly outboxIndex: string;
  readonly outboxPending: string;
  /** prefix of the per-notification hashes (scripts that prune append the id) */
  readonly outboxEntryPrefix: string;
  outboxEntry(notificationId: string): string;
  readonly journalIndex: string;
  readonly journalPrefix: string;
  journal(planId: string): string;
  readonly events: string;
  readonly failovers: string;
  readonly failoverSeq: string;
  readonly warm: string;
}

export function stateKeys(cluster: string): StateKeys {
  const prefix = `vigil:{${cluster}}:`;
  const outboxEntryPrefix = `${prefix}outbox:n:`;
  const journalPrefix = `${prefix}journal:`;
  return {
    prefix,
    fence: `${prefix}fence`,
    epoch: `${prefix}epoch`,
    alerts: `${prefix}alerts`,
    alertVersions: `${prefix}alerts:ver`,
    outboxIndex: `${prefix}outbox`,
    outboxPending: `${prefix}outbox:pending`,
    outboxEntryPrefix,
    outboxEntry: (id) => `${outboxEntryPrefix}${id}`,
    journalIndex: `${prefix}journals`,
    journalPrefix,
    journal: (planId) => `${journalPrefix}${planId}`,
    events: `${prefix}events`,
    failovers: `${prefix}failovers`,
    failoverSeq: `${prefix}failovers:seq`,
    warm: `${prefix}warm`,
  };
}

/**
 * A pending-set member names the channel first: channel names never contain a space
 * (config NAME_RE, checked again by `checkChannel`), notification ids may.
 */
export function pendingMember(channel: string, notificationId: string): string {
  return `${channel} ${notificationId}`;
}

export function parsePendingMember(member: string): { channel: string; notificationId: string } {
  const at = member.indexOf(' ');
  return { channel: member.slice(0, at), notificationId: member.slice(at + 1) };
}

/** The error every StateStore method throws while Redis cannot be used. */
export function redisUnavailable(operation: string, cause?: unknown): VigilError {
  const why = cause instanceof Error ? `: ${cause.message.split('\n')[0]}` : '';
  return new VigilError(
    'REDIS_UNAVAILABLE',
    `Redis is unavailable (${operation}${why}). vigil keeps monitoring and paging with local ` +
      'deduplication and pauses remediation until it returns; check that Redis is running and ' +
      'reachable at the address in redis.url / redis.sentinel, and that it accepts the credentials and ' +
      'TLS settings in redis.username/password/tls (and the sentinels\' sentinelUsername/Password/Tls).',
    { retriable: true, cause, context: { operation } },
  );
}

function invalid(what: string, value: unknown, expected: string): VigilError {
  return new VigilError('INTERNAL', `state store called with an invalid ${what} ${JSON.stringify(value)}: expected ${expected}`, {
    context: { what },
  });
}

/** Terms are non-negative safe integers (Lua compares them as doubles: exact below 2^53). */
export function checkTerm(term: number): void {
  if (!Number.isSafeInteger(term) || term < 0) throw invalid('term', term, 'a non-negative integer');
}

export function checkTimeMs(what: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) throw invalid(what, ms, 'epoch milliseconds as a non-negative integer');
}

/** Channel names and node ids: non-empty, no whitespace (they are parts of members and fields). */
export function checkName(what: string, value: string): void {
  if (typeof value !== 'string' || !/^[^\s:]+$/.test(value)) throw invalid(what, value, 'a non-empty name without spaces or ":"');
}

export function checkKey(what: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw invalid(what, value, 'a non-empty string');
}

/** JSON text of an opaque document; `undefined` is refused rather than stored as nothing. */
export function toJson(what: string, data: unknown): string {
  const text = JSON.stringify(data);
  if (text === undefined) throw invalid(what, data, 'a JSON-serialisable value');
  return text;
}

/**
 * The JSON text of a failover entry after its id, as the append script completes it:
 * `"kind":…,"timeMs":…,"nodeId":…,"term":…,"data":…}`. Validates the record first.
 */
export function failoverJson(f: FailoverRecord): string {
  checkKey('failover kind', f.kind);
  checkName('node id', f.nodeId);
  checkTerm(f.term);
  checkTimeMs('timeMs', f.timeMs);
  const data = JSON.parse(toJson('failover data', f.data ?? null)) as unknown;
  return JSON.stringify({ kind: f.kind, timeMs: f.timeMs, nodeId: f.nodeId, term: f.term, data }).slice(1);
}

/** Whether failover id `id` was appended after `afterId` (ids "<ms>-<seq>": the seq decides). */
export function failoverIdAfter(id: string, afterId: string): boolean {
  const seq = (x: string): number => Number(x.slice(x.indexOf('-') + 1));
  return seq(id) > seq(afterId);
}
