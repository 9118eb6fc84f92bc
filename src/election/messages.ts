/**
 * Shape checks for peer messages arriving from the network. The transport authenticates
 * the sender (docs/design.md §2: HMAC) and then calls `parseMessage` on the decoded JSON body; a
 * null result is a malformed message, to be rejected and counted, never stepped.
 */
import type { Message } from './types';

function isTerm(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isStamp(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Returns a fresh, well-formed Message (unknown fields dropped), or null. */
export function parseMessage(value: unknown): Message | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  switch (v['type']) {
    case 'vote-request':
      if (!isTerm(v['term']) || typeof v['preVote'] !== 'boolean' || typeof v['transfer'] !== 'boolean') return null;
      return { type: 'vote-request', term: v['term'], preVote: v['preVote'], transfer: v['transfer'] };
    case 'vote-response':
      if (!isTerm(v['term']) || typeof v['preVote'] !== 'boolean' || typeof v['granted'] !== 'boolean' || !isTerm(v['voterTerm'])) return null;
      return { type: 'vote-response', term: v['term'], preVote: v['preVote'], granted: v['granted'], voterTerm: v['voterTerm'] };
    case 'heartbeat':
    case 'heartbeat-response':
      if (!isTerm(v['term']) || !isStamp(v['sentMs'])) return null;
      return { type: v['type'], term: v['term'], sentMs: v['sentMs'] };
    case 'timeout-now':
      if (!isTerm(v['term'])) return null;
      return { type: 'timeout-now', term: v['term'] };
    default:
      return null;
  }
}
