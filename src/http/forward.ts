/**
 * Forwarding of leader-only reads (DESIGN §7: "a follower forwards these to the leader":
 * /api/v1/lag, /alerts, /events, /plans). The request goes to the same path and query on
 * the leader; the leader's status, content type and body come back unchanged. A forwarded
 * request carries `X-Vigil-Forwarded-By`, and a replica never forwards such a request
 * again: during an election two followers must not bounce it between them.
 */
import * as http from 'node:http';
import { readBody, sendError } from './respond';

export const FORWARDED_BY_HEADER = 'x-vigil-forwarded-by';
export const SERVED_BY_HEADER = 'x-vigil-served-by';

export interface ForwardTarget {
  readonly id: string;
  /** Base URL, e.g. http://127.0.0.1:9465 */
  readonly url: string;
}

export interface ForwardOptions {
  /** This replica's id, sent in X-Vigil-Forwarded-By. */
  readonly selfId: string;
  /** The leader as this replica knows it; null = none known (answers 503 NO_LEADER). */
  readonly leader: ForwardTarget | null;
  /** Whole exchange with the leader (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Cap on a forwarded request body (default 1 MiB). */
  readonly maxBodyBytes?: number;
}

const agent = new http.Agent({ keepAlive: true, timeout: 30_000 });

export async function forwardToLeader(req: http.IncomingMessage, res: http.ServerResponse, opts: ForwardOptions): Promise<void> {
  if (req.headers[FORWARDED_BY_HEADER] !== undefined) {
    sendError(res, 503, 'NO_LEADER', `replica ${opts.selfId} is not the leader either (an election may be under way); retry in a second`);
    return;
  }
  if (opts.leader === null || opts.leader.id === opts.selfId) {
    sendError(res, 503, 'NO_LEADER', `replica ${opts.selfId} knows no leader right now (an election may be under way); retry in a second`);
    return;
  }
  const body = req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(req, opts.maxBodyBytes);
  const target = new URL(req.url ?? '/', `${opts.leader.url.replace(/\/+$/, '')}/`);
  const headers: http.OutgoingHttpHeaders = { [FORWARDED_BY_HEADER]: opts.selfId, 'content-length': body.length };
  for (const name of ['accept', 'content-type', 'authorization']) {
    const v = req.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  const timeoutMs = opts.timeoutMs ?? 5000;
  const leader = opts.leader;
  await new Promise<void>((resolve) => {
    const upstream = http.request(target, { method: req.method, headers, agent }, (up) => {
      const out: http.OutgoingHttpHeaders = { [SERVED_BY_HEADER]: up.headers[SERVED_BY_HEADER] ?? leader.id };
      for (const name of ['content-type', 'content-length', 'cache-control']) {
        const v = up.headers[name];
        if (v !== undefined) out[name] = v;
      }
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
      up.on('end', () => resolve());
      up.on('error', () => {
        res.destroy();
        resolve();
      });
    });
    upstream.setTimeout(timeoutMs, () => upstream.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    upstream.on('error', (err) => {
      if (!res.headersSent) sendError(res, 502, 'LEADER_UNREACHABLE', `the leader ${leader.id} (${leader.url}) did not answer: ${err.message}; retry in a second`);
      else res.destroy();
      resolve();
    });
    upstream.end(body);
  });
}
