/**
 * The query of GET /api/v1/events (docs/design.md §7 `?since=`), parsed strictly before anything
 * reaches Redis: a value Redis would refuse must be the client's 400, not a 503
 * REDIS_UNAVAILABLE that sends operators to check a healthy Redis (issue 8, defect 11).
 */
import { HttpError } from './respond';

export interface EventsQuery {
  readonly limit: number;
  /** Events after this stream id (exclusive). */
  readonly afterId?: string;
  /** Events at or after this wall time (epoch ms). */
  readonly sinceMs?: number;
}

export const DEFAULT_EVENTS_LIMIT = 1000;
export const MAX_EVENTS_LIMIT = 10_000;
/** The largest time a JavaScript Date holds; later "times" are typos. */
const MAX_TIME_MS = 8.64e15;
/** Redis stream id parts are unsigned 64-bit integers. */
const MAX_SEQ = (1n << 64n) - 1n;

export const SINCE_FORM =
  'an event id "<ms>-<seq>" (e.g. "1767225600000-0"), epoch milliseconds (e.g. "1767225600000") or an ISO 8601 time (e.g. "2026-01-01T00:00:00Z")';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Throws HttpError 400 BAD_REQUEST naming the accepted form. */
export function parseEventsQuery(params: URLSearchParams): EventsQuery {
  const limitText = params.get('limit');
  const limit = limitText === null ? DEFAULT_EVENTS_LIMIT : /^\d{1,6}$/.test(limitText) ? Number(limitText) : NaN;
  if (!Number.isInteger(limit) || limit <= 0 || limit > MAX_EVENTS_LIMIT) {
    throw new HttpError(400, 'BAD_REQUEST', `limit must be an integer from 1 to ${MAX_EVENTS_LIMIT}`);
  }
  const since = params.get('since');
  if (since === null) return { limit };
  const bad = (): HttpError => new HttpError(400, 'BAD_REQUEST', `since must be ${SINCE_FORM}; got ${JSON.stringify(since.slice(0, 64))}`);
  const id = /^(\d{1,16})-(\d{1,20})$/.exec(since);
  if (id !== null) {
    if (Number(id[1]) > MAX_TIME_MS || BigInt(id[2] as string) > MAX_SEQ) throw bad();
    return { limit, afterId: `${Number(id[1])}-${BigInt(id[2] as string)}` };
  }
  if (/^\d{1,16}$/.test(since)) {
    const ms = Number(since);
    if (ms > MAX_TIME_MS) throw bad();
    return { limit, sinceMs: ms };
  }
  if (ISO_TIME.test(since)) {
    const ms = Date.parse(since);
    if (Number.isFinite(ms) && ms >= 0) return { limit, sinceMs: ms };
  }
  throw bad();
}
