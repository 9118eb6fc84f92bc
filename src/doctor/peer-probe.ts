/**
 * `vigil doctor`'s peer probe (an adapter): one signed `POST /internal/stream` to each other
 * replica's peerUrl, as this replica's links open it (src/election/transport/http.ts),
 * closed as soon as the peer's first line arrives. The stream carries no election message,
 * so the probe cannot disturb an election; the peer only counts a rejection. A peer that
 * accepts says its wall clock in that first line; one that refuses says why, and its
 * HTTP Date header still dates the answer. Then `GET /healthz` on its public url.
 */
import type * as http from 'node:http';
import type { PeerConfig, VigilConfig } from '../config/types';
import { createSigner, SIGNATURE_HEADER } from '../election/transport/envelope';
import { describeError } from '../errors';
import { clientScheme, defaultPort } from '../http/tls';
import type { Check } from './check';
import type { ClockSample } from './clock';
import { type PeerAnswer, type PublicAnswer, parseRejection, peerCheck, peerClockCheck, staleOffsetMs } from './peer-checks';

const TIMEOUT_MS = 3000;
const MAX_BODY_CHARS = 2000;

/** The peer and clock checks of every replica but this one. */
export async function probePeers(config: VigilConfig, wallMs: () => number = Date.now): Promise<Check[]> {
  const signer = createSigner({ selfId: config.node.id, secret: config.election.secret, wallMs });
  const others = config.peers.filter((p) => p.id !== config.node.id);
  const results = await Promise.all(
    others.map(async (peer) => {
      const [answer, publicAnswer] = await Promise.all([
        streamProbe(config, peer, () => signer.sign('stream', peer.id), wallMs),
        healthProbe(config, peer),
      ]);
      const clock = peerClockCheck(peer.id, answer, config.election.maxClockSkewMs);
      return [peerCheck(config, peer, answer, publicAnswer), ...(clock ? [clock] : [])];
    }),
  );
  return results.flat();
}

interface Target {
  readonly scheme: ReturnType<typeof clientScheme>;
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

function target(config: VigilConfig, base: string, pathname: string): Target {
  const u = new URL(base);
  return {
    scheme: clientScheme(u, config.node.tls),
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? defaultPort(u) : Number(u.port),
    path: `${u.pathname.replace(/\/+$/, '')}${pathname}`,
  };
}

function streamProbe(config: VigilConfig, peer: PeerConfig, sign: () => { body: Buffer; signature: string }, wallMs: () => number): Promise<PeerAnswer> {
  const t = target(config, peer.peerUrl ?? peer.url, '/internal/stream');
  return new Promise((resolve) => {
    const { body, signature } = sign();
    const sentMs = wallMs();
    const started = performance.now();
    let settled = false;
    const settle = (answer: PeerAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(answer);
    };
    const req = t.scheme.request({
      host: t.host,
      port: t.port,
      method: 'POST',
      path: t.path,
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, [SIGNATURE_HEADER]: signature },
    });
    const timer = setTimeout(() => settle({ kind: 'unreachable', code: 'ETIMEDOUT', message: `no answer within ${TIMEOUT_MS} ms` }), TIMEOUT_MS);
    req.on('error', (err: NodeJS.ErrnoException) => settle({ kind: 'unreachable', ...(err.code !== undefined ? { code: err.code } : {}), message: describeError(err) }));
    req.on('response', (res: http.IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      const dated = (): ClockSample | undefined => {
        const date = Date.parse(res.headers.date ?? '');
        return Number.isNaN(date) ? undefined : { sentMs, receivedMs: wallMs(), remoteMs: date, resolutionMs: 1000 };
      };
      res.on('data', (chunk: string) => {
        text += chunk;
        if (res.statusCode === 200 && text.includes('\n')) {
          const receivedMs = wallMs();
          const roundTripMs = performance.now() - started;
          const ts = firstLineTs(text);
          const clock = ts === undefined ? dated() : { sentMs, receivedMs, remoteMs: ts, resolutionMs: 0 };
          settle({ kind: 'accepted', roundTripMs, ...(clock ? { clock } : {}) });
        } else if (text.length > MAX_BODY_CHARS) {
          res.destroy();
        }
      });
      res.on('close', () => {
        if (res.statusCode === 200) {
          settle({ kind: 'rejected', status: 200, detail: 'the stream closed before its first line: not a vigil peer listener?' });
          return;
        }
        const { reason, detail } = parseRejection(text);
        const receivedMs = wallMs();
        // A stale-timestamp refusal says the offset in milliseconds: better than the Date header.
        const stale = reason === 'stale-timestamp' ? staleOffsetMs(detail) : undefined;
        const clock = stale === undefined ? dated() : { sentMs, receivedMs, remoteMs: sentMs + stale, resolutionMs: 0 };
        settle({ kind: 'rejected', status: res.statusCode ?? 0, ...(reason !== undefined ? { reason } : {}), detail, ...(clock ? { clock } : {}) });
      });
    });
    req.end(body);
  });
}

/** `{"id":"vigil-2","ts":1764…}` → ts; undefined from a replica that does not send it. */
function firstLineTs(text: string): number | undefined {
  try {
    const line = JSON.parse(text.slice(0, text.indexOf('\n'))) as { ts?: unknown };
    return typeof line.ts === 'number' && Number.isFinite(line.ts) ? line.ts : undefined;
  } catch {
    return undefined;
  }
}

function healthProbe(config: VigilConfig, peer: PeerConfig): Promise<PublicAnswer> {
  const t = target(config, peer.url, '/healthz');
  return new Promise((resolve) => {
    const req = t.scheme.request({ host: t.host, port: t.port, method: 'GET', path: t.path, agent: false });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    req.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: describeError(err) });
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve(res.statusCode === 200 ? { ok: true, detail: 'HTTP 200' } : { ok: false, detail: `HTTP ${res.statusCode ?? '?'}` });
    });
    req.end();
  });
}
