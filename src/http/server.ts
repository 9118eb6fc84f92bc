/**
 * vigil's HTTP server (node:http, no framework) and its small router. Every replica runs
 * two (issue 8, defect 9): the public one on node.listen (/metrics, /healthz, /readyz,
 * the /api/v1 routes and the status page, docs/design.md §7) and the peer one on node.peerListen
 * (the peer protocol under /internal/), so public traffic cannot starve the election.
 * Components add routes through `route(method, path, handler)`; nothing else touches the
 * node:http server.
 *
 * Connections are bounded (`ListenerLimits`): past maxConnections a new connection
 * closes the oldest one that has no request in progress (idle keep-alive, or still
 * sending its headers), so held or slow connections cannot lock out a health probe; only
 * when every connection is busy is the new one refused. Header, request and keep-alive
 * timeouts cut slow clients within seconds.
 *
 * Paths are matched segment by segment: `:name` captures one segment into `params`, a
 * final `*` matches any rest (including nothing). Exact segments win over `:name`, which
 * wins over `*`. A path that exists with another method answers 405 with `Allow`.
 * Handlers may throw HttpError (rendered as `{error:{code,message}}` with its status);
 * anything else thrown is a 500 whose message is logged, not sent.
 */
import type * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { NodeTlsConfig } from '../config/types';
import type { Logger } from '../log';
import { HttpError, sendError } from './respond';
import { BAD_TARGET_CODE, BAD_TARGET_MESSAGE, originFormTarget } from './target';
import { createListenerServer } from './tls';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD';

export interface RequestContext {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** Captured `:name` segments, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** Parsed request URL (base http://localhost; use pathname and searchParams). */
  readonly url: URL;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

interface Route {
  readonly method: Method;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly handler: Handler;
}

/** How much one listener accepts, and how long a client may take. */
export interface ListenerLimits {
  /** Open connections at most (see the file comment for what happens past it). */
  readonly maxConnections: number;
  /** From connect (or the end of the previous request) to the end of the request headers. */
  readonly headersTimeoutMs: number;
  /** From connect to the whole request received; answered 408. Not the response: streams stay open. */
  readonly requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** TLS only: the handshake must finish within this. */
  readonly handshakeTimeoutMs: number;
}

/**
 * The public listener: clients send one small request and read the answer, so a few
 * seconds is plenty, and idle keep-alive connections are not worth a file descriptor.
 * maxConnections is config http.maxConnections.
 */
export const PUBLIC_LIMITS: Omit<ListenerLimits, 'maxConnections'> = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  handshakeTimeoutMs: 5_000,
};

/**
 * The peer listener: a handful of replicas, each with one stream and a small keep-alive
 * pool (transport maxInFlightPerPeer). Peers reuse sockets between heartbeats, so idle
 * sockets are kept longer than the clients' own 30 s; their requests are tiny, so header
 * and request timeouts are short.
 */
export const PEER_LIMITS: ListenerLimits = {
  maxConnections: 256,
  headersTimeoutMs: 2_000,
  requestTimeoutMs: 5_000,
  keepAliveTimeoutMs: 65_000,
  handshakeTimeoutMs: 2_000,
};

export interface HttpServerOptions {
  readonly logger: Logger;
  /** Serve TLS with this certificate and key; plain HTTP when absent. */
  readonly tls?: NodeTlsConfig;
  /** Default: PUBLIC_LIMITS with 512 connections. */
  readonly limits?: ListenerLimits;
  /** Names the listener in logs ("public", "peer"). */
  readonly name?: string;
}

export const DEFAULT_MAX_CONNECTIONS = 512;

/** A connection of this server: busy while a request is in progress. */
interface Tracked {
  busy: number;
}

export class HttpServer {
  readonly server: http.Server;
  private readonly routes: Route[] = [];
  private readonly log: Logger;
  readonly limits: ListenerLimits;
  /** Open connections, oldest first (Map keeps insertion order). */
  private readonly connections = new Map<Socket, Tracked>();
  private evicted = 0;
  private refused = 0;
  private lastLimitWarnMs = -Infinity;

  constructor(opts: HttpServerOptions) {
    this.log = opts.logger.child({ component: 'http', listener: opts.name ?? 'public' });
    this.limits = opts.limits ?? { ...PUBLIC_LIMITS, maxConnections: DEFAULT_MAX_CONNECTIONS };
    this.server = createListenerServer(opts.tls, this.limits.handshakeTimeoutMs, (req, res) => {
      this.markBusy(req, res);
      this.dispatch(req, res);
    });
    this.server.keepAliveTimeout = this.limits.keepAliveTimeoutMs;
    this.server.headersTimeout = this.limits.headersTimeoutMs;
    // Bounds how long a client may take to send its request; long-lived responses (peer
    // streams) are not affected once the request is in.
    this.server.requestTimeout = this.limits.requestTimeoutMs;
    // On a TLS server this is the TCP socket, before the handshake: counted from the start.
    this.server.on('connection', (socket: Socket) => this.admit(socket));
  }

  /** Connections now open, and how many were closed or refused at the bound since start. */
  connectionStats(): { open: number; evicted: number; refused: number } {
    return { open: this.connections.size, evicted: this.evicted, refused: this.refused };
  }

  private admit(socket: Socket): void {
    if (this.connections.size >= this.limits.maxConnections) {
      let victim: Socket | undefined;
      for (const [s, t] of this.connections) {
        if (t.busy === 0) {
          victim = s;
          break;
        }
      }
      if (victim === undefined) {
        this.refused++;
        this.warnLimit();
        socket.destroy();
        return;
      }
      this.connections.delete(victim);
      this.evicted++;
      this.warnLimit();
      victim.destroy();
    }
    this.connections.set(socket, { busy: 0 });
    socket.on('close', () => this.connections.delete(socket));
  }

  private markBusy(req: http.IncomingMessage, res: http.ServerResponse): void {
    // On a TLS server req.socket wraps the TCP socket admit() tracked (its _parent).
    const raw = ((req.socket as Socket & { _parent?: Socket })._parent ?? req.socket) as Socket;
    const t = this.connections.get(raw);
    if (t === undefined) return;
    t.busy++;
    let done = false;
    const idle = (): void => {
      if (done) return;
      done = true;
      t.busy--;
    };
    res.on('finish', idle);
    res.on('close', idle);
  }

  private warnLimit(): void {
    const nowMs = performance.now();
    if (nowMs - this.lastLimitWarnMs < 10_000) return;
    this.lastLimitWarnMs = nowMs;
    this.log.warn(
      { maxConnections: this.limits.maxConnections, evicted: this.evicted, refused: this.refused },
      'connection limit reached: closing the oldest idle connections (refusing new ones when every connection is busy); further warnings suppressed for 10 s',
    );
  }

  /** Registers a handler. Registering the same method and path twice is a programming error. */
  route(method: Method, pattern: string, handler: Handler): void {
    if (!pattern.startsWith('/')) throw new Error(`route path must start with "/": ${pattern}`);
    if (this.routes.some((r) => r.method === method && r.pattern === pattern)) throw new Error(`route ${method} ${pattern} is already registered`);
    this.routes.push({ method, pattern, segments: splitPath(pattern), handler });
  }

  /** The registered routes (method and pattern, in registration order): what this server answers. */
  routeTable(): Array<{ method: Method; pattern: string }> {
    return this.routes.map((r) => ({ method: r.method, pattern: r.pattern }));
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, exclusive: true }, () => {
        this.server.removeListener('error', onError);
        resolve();
      });
    });
    return this.address();
  }

  address(): AddressInfo {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('the HTTP server is not listening');
    return a;
  }

  /**
   * Stops accepting connections (new connects are refused from here on), then closes
   * every open one, streams included, and resolves when the server is closed.
   */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    // node:http only knows connections that reached HTTP; on a TLS listener one still in
    // its handshake would become a held-open peer stream after closeAllConnections and
    // keep close() waiting forever. Every TCP socket admit() saw goes.
    for (const socket of this.connections.keys()) socket.destroy();
    this.connections.clear();
    await closed;
  }

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = originFormTarget(req.url);
    if (target === null) {
      res.setHeader('Connection', 'close');
      sendError(res, 400, BAD_TARGET_CODE, BAD_TARGET_MESSAGE);
      return;
    }
    const url = new URL(`${target.pathname}${target.search}`, 'http://localhost');
    const match = this.match(req.method ?? 'GET', url.pathname);
    if (match.kind === 'not-found') {
      sendError(res, 404, 'NOT_FOUND', `no route for ${url.pathname}`);
      return;
    }
    if (match.kind === 'wrong-method') {
      res.setHeader('Allow', match.allow.join(', '));
      sendError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on ${url.pathname}; use ${match.allow.join(' or ')}`);
      return;
    }
    const ctx: RequestContext = { req, res, params: match.params, url };
    let result: void | Promise<void>;
    try {
      result = match.route.handler(ctx);
    } catch (err) {
      this.fail(ctx, err);
      return;
    }
    if (result && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).catch((err: unknown) => this.fail(ctx, err));
    }
  }

  private fail(ctx: RequestContext, err: unknown): void {
    if (err instanceof HttpError) {
      if (err.closeConnection) ctx.res.setHeader('Connection', 'close');
      sendError(ctx.res, err.status, err.code, err.message);
      return;
    }
    this.log.error({ err, method: ctx.req.method, path: ctx.url.pathname }, 'request handler failed');
    sendError(ctx.res, 500, 'INTERNAL', 'internal error; see the replica log');
  }

  private match(
    method: string,
    pathname: string,
  ):
    | { kind: 'found'; route: Route; params: Record<string, string> }
    | { kind: 'wrong-method'; allow: Method[] }
    | { kind: 'not-found' } {
    const segments = splitPath(pathname);
    let best: { route: Route; params: Record<string, string>; score: number } | null = null;
    const allow = new Set<Method>();
    // HEAD is served by the GET handler; node:http drops the body of a HEAD response.
    const wanted = method === 'HEAD' ? 'GET' : method;
    for (const route of this.routes) {
      const m = matchSegments(route.segments, segments);
      if (m === null) continue;
      allow.add(route.method);
      if (route.method !== wanted) continue;
      if (best === null || m.score > best.score) best = { route, params: m.params, score: m.score };
    }
    if (best !== null) return { kind: 'found', route: best.route, params: best.params };
    if (allow.size > 0) return { kind: 'wrong-method', allow: [...allow] };
    return { kind: 'not-found' };
  }
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '');
}

/** Higher score = more specific: exact segments count most, then params; a wildcard least. */
function matchSegments(pattern: readonly string[], path: readonly string[]): { params: Record<string, string>; score: number } | null {
  const params: Record<string, string> = {};
  let score = 0;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p === '*' && i === pattern.length - 1) return { params, score };
    const s = path[i];
    if (s === undefined) return null;
    if (p.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(s);
      } catch {
        return null;
      }
      params[p.slice(1)] = value;
      score += 1;
    } else if (p === s) score += 3;
    else return null;
  }
  return path.length === pattern.length ? { params, score: score + 1 } : null;
}
