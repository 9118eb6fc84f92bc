/**
 * vigil's HTTP server (node:http, no framework) and its small router. Every replica serves
 * on node.listen: the peer protocol under /internal/, /metrics, /healthz, /readyz, the
 * /api/v1 routes and the status page (DESIGN §7). Components add routes through
 * `route(method, path, handler)`; nothing else touches the node:http server.
 *
 * Paths are matched segment by segment: `:name` captures one segment into `params`, a
 * final `*` matches any rest (including nothing). Exact segments win over `:name`, which
 * wins over `*`. A path that exists with another method answers 405 with `Allow`.
 * Handlers may throw HttpError (rendered as `{error:{code,message}}` with its status);
 * anything else thrown is a 500 whose message is logged, not sent.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log';
import { HttpError, sendError } from './respond';
import { BAD_TARGET_CODE, BAD_TARGET_MESSAGE, originFormTarget } from './target';

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

export interface HttpServerOptions {
  readonly logger: Logger;
}

export class HttpServer {
  readonly server: http.Server;
  private readonly routes: Route[] = [];
  private readonly log: Logger;

  constructor(opts: HttpServerOptions) {
    this.log = opts.logger.child({ component: 'http' });
    this.server = http.createServer({ noDelay: true }, (req, res) => this.dispatch(req, res));
    // Peers keep connections open between messages sent every heartbeat interval; a long
    // idle timeout (longer than the clients' own, 30 s) keeps the server from closing a
    // socket a client is just about to reuse.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 10_000;
    // Bounds how long a client may take to send its request; long-lived responses (peer
    // streams) are not affected once the request is in.
    this.server.requestTimeout = 10_000;
  }

  /** Registers a handler. Registering the same method and path twice is a programming error. */
  route(method: Method, pattern: string, handler: Handler): void {
    if (!pattern.startsWith('/')) throw new Error(`route path must start with "/": ${pattern}`);
    if (this.routes.some((r) => r.method === method && r.pattern === pattern)) throw new Error(`route ${method} ${pattern} is already registered`);
    this.routes.push({ method, pattern, segments: splitPath(pattern), handler });
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
