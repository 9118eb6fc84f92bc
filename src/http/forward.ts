/**
 * Forwarding of leader-only reads (docs/design.md §7: "a follower forwards these to the leader":
 * /api/v1/lag, /alerts, /events, /plans). The request goes to the same path and query on
 * the leader; the leader's status, content type and body come back unchanged. A forwarded
 * request carries `X-Vigil-Forwarded-By`, and a replica never forwards such a request
 * again: during an election two followers must not bounce it between them.
 */
import type * as http from 'node:http';
import type { NodeTlsConfig } from '../config/types';
import type { Logger } from '../log';
import { readBody, sendError } from './respond';
import { BAD_TARGET_CODE, BAD_TARGET_MESSAGE, originFormTarget } from './target';
import { clientScheme } from './tls';

export const FORWARDED_BY_HEADER = 'x-vigil-forwarded-by';
export const SERVED_BY_HEADER = 'x-vigil-served-by';

export interface ForwardTarget {
  readonly id: string;
  /** Base URL, e.g. http://127.0.0.1:9465 (config peers[].url). */
  readonly url: string;
}

export interface ForwardOptions {
  /** This replica's id, sent in X-Vigil-Forwarded-By. */
  readonly selfId: string;
  /** The leader as this replica knows it; null = none known (answers 503 NO_LEADER). */
  readonly leader: ForwardTarget | null;
  /** Trust for https leader URLs (node.tls); system CAs when absent. */
  readonly tls?: NodeTlsConfig;
  /** Where the reason a leader could not be reached goes (never to the client). */
  readonly logger?: Logger;
  /** Whole exchange with the leader (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Cap on a forwarded request body (default 1 MiB). */
  readonly maxBodyBytes?: number;
}

/** One keep-alive pool per scheme and trust setting, shared by every forwarded request. */
const agents = new Map<string, http.Agent>();

function agentFor(leaderUrl: URL, tls: NodeTlsConfig | undefined): { request: ReturnType<typeof clientScheme>['request']; agent: http.Agent } {
  const scheme = clientScheme(leaderUrl, tls);
  const key = `${leaderUrl.protocol}|${scheme.secure ? (tls?.ca ?? '') : ''}`;
  let agent = agents.get(key);
  if (agent === undefined) {
    // Idle sockets closed by us before the leader's public keep-alive timeout (5 s) closes them.
    agent = scheme.agent({ keepAlive: true, timeout: 4_000 });
    agents.set(key, agent);
  }
  return { request: scheme.request, agent };
}

export async function forwardToLeader(req: http.IncomingMessage, res: http.ServerResponse, opts: ForwardOptions): Promise<void> {
  // The router refuses these already; checked again here because this function decides
  // where the request and its Authorization header go (issue 8, defect 2).
  const target = originFormTarget(req.url);
  if (target === null) {
    res.setHeader('Connection', 'close');
    sendError(res, 400, BAD_TARGET_CODE, BAD_TARGET_MESSAGE);
    return;
  }
  if (req.headers[FORWARDED_BY_HEADER] !== undefined) {
    sendError(res, 503, 'NO_LEADER', `replica ${opts.selfId} is not the leader either (an election may be under way); retry in a second`);
    return;
  }
  if (opts.leader === null || opts.leader.id === opts.selfId) {
    sendError(res, 503, 'NO_LEADER', `replica ${opts.selfId} knows no leader right now (an election may be under way); retry in a second`);
    return;
  }
  const body = req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(req, opts.maxBodyBytes);
  // Only the path and query come from the client; scheme, host and port are the leader's
  // configured origin (a base path in peers[].url is kept in front).
  const leaderUrl = new URL(opts.leader.url);
  const upstreamUrl = new URL(leaderUrl.origin);
  upstreamUrl.pathname = `${leaderUrl.pathname.replace(/\/+$/, '')}${target.pathname}`;
  upstreamUrl.search = target.search;
  const headers: http.OutgoingHttpHeaders = { [FORWARDED_BY_HEADER]: opts.selfId, 'content-length': body.length };
  for (const name of ['accept', 'content-type', 'authorization']) {
    const v = req.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  const timeoutMs = opts.timeoutMs ?? 5000;
  const leader = opts.leader;
  const { request, agent } = agentFor(leaderUrl, opts.tls);
  await new Promise<void>((resolve) => {
    const upstream = request({
      protocol: upstreamUrl.protocol,
      hostname: upstreamUrl.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: upstreamUrl.port,
      path: `${upstreamUrl.pathname}${upstreamUrl.search}`,
      method: req.method,
      headers,
      agent,
    });
    upstream.on('response', (up) => {
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
      // The reason stays in the log: echoed to the client, connection errors for chosen
      // addresses would make this endpoint a port scanner.
      opts.logger?.warn({ leader: leader.id, err: err.message }, 'forwarding to the leader failed');
      if (!res.headersSent) sendError(res, 502, 'LEADER_UNREACHABLE', `the leader ${leader.id} did not answer; retry in a second`);
      else res.destroy();
      resolve();
    });
    upstream.end(body);
  });
}
