/**
 * The peer checks of `vigil doctor` (pure): whether each other replica accepted a signed
 * peer request from this one (docs/design.md §2.7) — and if not, why, in the words of the
 * config keys that cause it — and how far its clock is from this host's.
 */
import type { VigilConfig } from '../config/types';
import { check, type Check } from './check';
import { type ClockSample, clockCheck } from './clock';

/** What one peer answered to a signed `POST /internal/stream`. */
export type PeerAnswer =
  | { readonly kind: 'accepted'; readonly roundTripMs: number; readonly clock?: ClockSample }
  /** A 4xx/5xx; `reason` is the rejection reason of §2.7 when the body names one. */
  | { readonly kind: 'rejected'; readonly status: number; readonly reason?: string; readonly detail: string; readonly clock?: ClockSample }
  /** No HTTP answer: `code` is the socket or TLS error code. */
  | { readonly kind: 'unreachable'; readonly code?: string; readonly message: string };

export interface PublicAnswer {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * "bad-signature: the signature does not match …" → reason and detail, from the
 * `{"error":{"code":"PEER_REJECTED","message":…}}` body of a rejection.
 */
export function parseRejection(body: string): { reason?: string; detail: string } {
  let message = body.trim();
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    // not JSON: not a vigil peer listener; the text is the detail
  }
  const m = /^([a-z-]+): (.*)$/s.exec(message);
  return m ? { reason: m[1] as string, detail: m[2] as string } : { detail: message.slice(0, 200) };
}

/** "timestamp is 6012 ms off this replica's clock (limit 5000 ms)" → 6012. */
export function staleOffsetMs(detail: string): number | undefined {
  const m = /timestamp is (-?\d+) ms off/.exec(detail);
  return m ? Number(m[1]) : undefined;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|SSL|TLS/;

export function peerCheck(config: Pick<VigilConfig, 'node' | 'election'>, peer: { readonly id: string; readonly url: string; readonly peerUrl?: string }, answer: PeerAnswer, publicAnswer: PublicAnswer | undefined): Check {
  const id = `peer.${peer.id}`;
  const self = config.node.id;
  const at = peer.peerUrl ?? peer.url;
  switch (answer.kind) {
    case 'accepted': {
      const found = `${peer.id} at ${at} accepted a request signed by ${self} (${Math.round(answer.roundTripMs)} ms)`;
      if (publicAnswer === undefined || publicAnswer.ok) return check(id, 'ok', `${found}; its public listener ${peer.url} answers /healthz`);
      return check(id, 'warn', `${found}, but its public listener ${peer.url} did not answer /healthz (${publicAnswer.detail}): followers cannot forward to it while it leads`, `peers[].url of ${peer.id} must be the address of its node.listen, reachable from the other replicas`);
    }
    case 'rejected':
      return rejectedCheck(id, self, peer.id, at, answer);
    case 'unreachable': {
      if (answer.code === 'ECONNREFUSED') {
        return check(id, 'warn', `nothing listens at ${at} (connection refused): ${peer.id} is not running, or its peerUrl names the wrong port`, `start ${peer.id} (its node.peerListen must match peers[].peerUrl) and run vigil doctor again to check its secret and clock`);
      }
      if (answer.code !== undefined && TLS_CODES.test(answer.code)) {
        return check(id, 'fail', `TLS to ${peer.id} at ${at} failed: ${answer.message}`, `node.tls.ca must hold the CA that signed ${peer.id}'s certificate, and that certificate must name the host of its peerUrl`);
      }
      if (answer.code === 'ENOTFOUND' || answer.code === 'EAI_AGAIN') {
        return check(id, 'fail', `the host of ${peer.id}'s peerUrl ${at} does not resolve (${answer.message})`, `check peers[].peerUrl of ${peer.id}`);
      }
      return check(id, 'fail', `${peer.id} at ${at} did not answer: ${answer.message}`, `check that ${peer.id} runs and that ${at} is reachable from this host (firewall, routing)`);
    }
    default: {
      const never: never = answer;
      return never;
    }
  }
}

function rejectedCheck(id: string, self: string, peerId: string, at: string, answer: Extract<PeerAnswer, { kind: 'rejected' }>): Check {
  const refused = `${peerId} at ${at} refused a request signed by ${self}`;
  switch (answer.reason) {
    case 'bad-signature':
    case 'unsigned':
      return check(id, 'fail', `secret mismatch: ${refused} (${answer.reason}: ${answer.detail})`, `election.secret must be the same on every replica: compare this config's with ${peerId}'s (e.g. the VIGIL_PEER_SECRET each one is given)`);
    case 'unknown-sender':
      return check(id, 'fail', `${refused}: it does not list ${self} among its peers (${answer.detail})`, `every replica's peers must list all replicas with the same ids: add ${self} to ${peerId}'s peers, or fix node.id here`);
    case 'wrong-recipient':
      return check(id, 'fail', `the replica at ${at} is not ${peerId} (${answer.detail})`, `peers[].peerUrl of ${peerId} must be ${peerId}'s own node.peerListen`);
    case 'stale-timestamp':
      return check(id, 'fail', `${refused} as stale: ${answer.detail}`, "the clocks of this host and the peer's differ by more than election.maxClockSkew: run NTP on both");
    default:
      if (answer.status === 404) {
        return check(id, 'fail', `${at} is not ${peerId}'s peer listener (HTTP 404 for /internal/stream: ${answer.detail})`, `peers[].peerUrl of ${peerId} must point at its node.peerListen (not node.listen)`);
      }
      return check(id, 'fail', `${refused}: HTTP ${answer.status} ${answer.reason ?? ''}${answer.reason ? ': ' : ''}${answer.detail}`, `look at ${peerId}'s log (component transport)`);
  }
}

/** The clock line of a peer that answered; undefined when it did not (its peer line says why). */
export function peerClockCheck(peerId: string, answer: PeerAnswer, maxClockSkewMs: number): Check | undefined {
  if (answer.kind === 'unreachable' || answer.clock === undefined) return undefined;
  return clockCheck(`clock.${peerId}`, `${peerId}'s`, answer.clock, maxClockSkewMs, true);
}

/**
 * The replica count against the election's majority rule (docs/design.md §2.1): one
 * replica has no failover, and neither has two, since a majority of 2 is 2.
 */
export function quorumCheck(config: Pick<VigilConfig, 'peers'>): Check {
  const n = config.peers.length;
  const majority = Math.floor(n / 2) + 1;
  const survives = n - majority;
  if (n === 1) {
    return check('election.replicas', 'warn', '1 replica: no failover — while it is down or restarting nothing watches Kafka and nobody is paged', 'fine for a trial; run 3 replicas (or 5) in production (README "Point it at your cluster")');
  }
  if (survives === 0) {
    return check('election.replicas', 'warn', `${n} replicas: a leader needs ${majority} of ${n}, so losing any one stops all monitoring — no failover, and twice the chance of an outage of one replica`, 'run 3 replicas (or 5)');
  }
  if (n % 2 === 0) {
    return check('election.replicas', 'warn', `${n} replicas survive ${survives} failure(s), as ${n - 1} would: the extra replica adds no tolerance`, `run ${n - 1} or ${n + 1} replicas`);
  }
  return check('election.replicas', 'ok', `${n} replicas: a leader needs ${majority}; monitoring survives ${survives} replica failure(s)`);
}

