/**
 * The signed envelope of every peer request (docs/design.md §2 "peer authentication").
 *
 * Body (JSON, the exact bytes are signed):
 *   {"v":1,"kind":"message"|"stream","from":<id>,"to":<id>,"ts":<wall ms>,"nonce":<string>,"message":{...}}
 * Header: `X-Vigil-Signature: <hex HMAC-SHA256(election.secret, body bytes)>`.
 *
 * Checks, in this order, each rejection with its own reason: signature present, MAC
 * matches (constant time) — before the body is even parsed —, envelope well-formed, sender
 * a known peer, recipient this node, timestamp within ±maxClockSkewMs of our wall clock,
 * nonce not seen (replay), then the message itself well-formed (core's parseMessage).
 * `to` stops a message meant for one replica from being replayed to another; `kind` stops
 * a stream request from being replayed as a message and vice versa.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseMessage } from '../messages';
import type { Message, NodeId } from '../types';
import type { RejectReason } from './types';

export const SIGNATURE_HEADER = 'x-vigil-signature';
/** Peer bodies are tiny (< 300 bytes); anything near this cap is not from a peer. */
export const MAX_PEER_BODY_BYTES = 64 * 1024;
const ENVELOPE_VERSION = 1;
const MAX_NONCE_LENGTH = 64;

export type EnvelopeKind = 'message' | 'stream';

export interface Signer {
  /** The body bytes and the signature header value for one request. */
  sign(kind: EnvelopeKind, to: NodeId, message?: Message): { body: Buffer; signature: string };
}

export function hmacHex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * Nonces are a random per-process prefix plus a counter: unique across restarts (96 random
 * bits) without a random draw per message.
 */
export function createSigner(opts: { selfId: NodeId; secret: string; wallMs: () => number }): Signer {
  const prefix = randomBytes(12).toString('base64url');
  let counter = 0;
  return {
    sign(kind, to, message) {
      counter += 1;
      const envelope: Record<string, unknown> = { v: ENVELOPE_VERSION, kind, from: opts.selfId, to, ts: opts.wallMs(), nonce: `${prefix}.${counter.toString(36)}` };
      if (message !== undefined) envelope['message'] = message;
      const body = Buffer.from(JSON.stringify(envelope), 'utf8');
      return { body, signature: hmacHex(opts.secret, body) };
    },
  };
}

/**
 * Seen nonces, kept while a replay could still pass the timestamp check: an entry expires
 * at its message's ts + maxClockSkewMs, after which the message is stale anyway. Only
 * MAC-verified messages get here, so the size is bounded by the peers' own send rate.
 */
export class NonceCache {
  private readonly expiresAt = new Map<string, number>();
  private nextPruneMs = 0;

  constructor(private readonly maxClockSkewMs: number) {}

  /** Records the nonce; false when it was already seen (a replay). */
  remember(key: string, tsMs: number, nowWallMs: number): boolean {
    if (nowWallMs >= this.nextPruneMs) this.prune(nowWallMs);
    if (this.expiresAt.has(key)) return false;
    this.expiresAt.set(key, tsMs + this.maxClockSkewMs);
    return true;
  }

  get size(): number {
    return this.expiresAt.size;
  }

  private prune(nowWallMs: number): void {
    for (const [key, exp] of this.expiresAt) if (exp < nowWallMs) this.expiresAt.delete(key);
    this.nextPruneMs = nowWallMs + Math.max(100, Math.min(1000, this.maxClockSkewMs));
  }
}

export interface VerifyContext {
  readonly selfId: NodeId;
  readonly secret: string;
  readonly peerIds: ReadonlySet<NodeId>;
  readonly maxClockSkewMs: number;
  readonly nowWallMs: number;
  readonly nonces: NonceCache;
}

export type Verified =
  | { readonly ok: true; readonly from: NodeId; readonly message: Message | null }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

/** HTTP status for each rejection. */
export function rejectStatus(reason: RejectReason): number {
  switch (reason) {
    case 'oversized':
      return 413;
    case 'unsigned':
    case 'bad-signature':
    case 'stale-timestamp':
      return 401;
    case 'unknown-sender':
    case 'wrong-recipient':
      return 403;
    case 'replay':
      return 409;
    case 'malformed':
      return 400;
    case 'not-found':
      return 404;
    default: {
      const never: never = reason;
      return never;
    }
  }
}

const HEX_SIGNATURE = /^[0-9a-f]{64}$/i;

export function verifyEnvelope(kind: EnvelopeKind, body: Buffer, signature: string | undefined, ctx: VerifyContext): Verified {
  if (signature === undefined || signature === '') return { ok: false, reason: 'unsigned', detail: `missing ${SIGNATURE_HEADER} header` };
  if (!HEX_SIGNATURE.test(signature)) return { ok: false, reason: 'bad-signature', detail: 'the signature is not 64 hex digits' };
  const expected = createHmac('sha256', ctx.secret).update(body).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return { ok: false, reason: 'bad-signature', detail: 'the signature does not match (is election.secret the same on every replica?)' };

  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed', detail: 'the body is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'malformed', detail: 'the body is not a JSON object' };
  const e = value as Record<string, unknown>;
  const { from, to, ts, nonce } = e;
  if (e['v'] !== ENVELOPE_VERSION || e['kind'] !== kind || typeof from !== 'string' || typeof to !== 'string' || typeof ts !== 'number' || !Number.isFinite(ts)) {
    return { ok: false, reason: 'malformed', detail: `not a version ${ENVELOPE_VERSION} ${kind} envelope` };
  }
  if (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > MAX_NONCE_LENGTH) return { ok: false, reason: 'malformed', detail: 'bad nonce' };
  if (from === ctx.selfId || !ctx.peerIds.has(from)) return { ok: false, reason: 'unknown-sender', detail: `sender ${JSON.stringify(from.slice(0, 64))} is not a peer` };
  if (to !== ctx.selfId) return { ok: false, reason: 'wrong-recipient', detail: `addressed to ${JSON.stringify(to.slice(0, 64))}` };
  if (Math.abs(ctx.nowWallMs - ts) > ctx.maxClockSkewMs) {
    return { ok: false, reason: 'stale-timestamp', detail: `timestamp is ${Math.round(ctx.nowWallMs - ts)} ms off this replica's clock (limit ${ctx.maxClockSkewMs} ms)` };
  }
  if (!ctx.nonces.remember(`${from}\u0000${nonce}`, ts, ctx.nowWallMs)) return { ok: false, reason: 'replay', detail: 'this nonce was already used' };
  if (kind === 'stream') return { ok: true, from, message: null };
  const message = parseMessage(e['message']);
  if (message === null) return { ok: false, reason: 'malformed', detail: 'not a well-formed election message' };
  return { ok: true, from, message };
}
