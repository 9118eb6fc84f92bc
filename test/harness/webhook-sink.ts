/**
 * A real HTTP receiver for notification tests (docs/design.md §4): listens on a free loopback
 * port, records every request, and answers 200 unless told otherwise.
 *
 *   const sink = await startWebhookSink();
 *   channel url: sink.url('/hook')
 *   sink.respondNext(2, { status: 503 });          // the next two requests get 503
 *   sink.respondNext(1, { delayMs: 3000 });        // then one slow answer
 *   const [req] = await sink.waitForRequests(1, { timeoutMs: 5000, path: '/hook' });
 *   await sink.close();
 *
 * Requests are recorded when they arrive (before any delay), in arrival order, with the
 * answer they were given, so a test can count attempts and pages alike. Scripted answers
 * are consumed in arrival order by every request, whatever its path.
 */
import http from 'node:http';
import { listenOnFreePort } from '../../src/local/ports';
import { waitFor } from './wait';

export interface RecordedRequest {
  /** 1, 2, ... in arrival order. */
  readonly seq: number;
  readonly method: string;
  /** Path and query, e.g. "/hook?x=1". */
  readonly path: string;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly rawBody: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  readonly body: unknown;
  /** Wall-clock ms when the request (with its body) had arrived. */
  readonly receivedAtMs: number;
  /** What it was answered with (or 'reset' when the connection was dropped). */
  readonly answer: number | 'reset';
}

export interface SinkResponse {
  /** Default 200. */
  status?: number;
  /** Wait this long before answering (the client may time out meanwhile). */
  delayMs?: number;
  /** A string is sent as is; anything else as JSON. Default: {"ok":true} on 2xx, else an error object. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Destroy the connection instead of answering: a crashed receiver. */
  reset?: boolean;
}

export interface WaitForRequestsOptions {
  timeoutMs: number;
  /** Count only requests whose path (query excluded) is this. */
  path?: string;
  /** Count only requests this accepts. */
  filter?: (req: RecordedRequest) => boolean;
}

export interface WebhookSink {
  /** "http://127.0.0.1:<port>" */
  readonly baseUrl: string;
  readonly port: number;
  /** baseUrl + path ("/hook" by default). */
  url(path?: string): string;
  /** Every request so far, in arrival order (a copy). */
  requests(opts?: { path?: string }): RecordedRequest[];
  /** Script the answers to the next `count` requests (queued after earlier scripts). */
  respondNext(count: number, response: SinkResponse): void;
  /** The answer when nothing is scripted (default 200). */
  setDefaultResponse(response: SinkResponse): void;
  /** Resolves with the first `n` matching requests once at least `n` have arrived. */
  waitForRequests(n: number, opts: WaitForRequestsOptions): Promise<RecordedRequest[]>;
  /** Forget recorded requests and scripted answers (the default answer stays). */
  reset(): void;
  /** Stop listening, drop open connections and pending delayed answers. Idempotent. */
  close(): Promise<void>;
}

export async function startWebhookSink(opts: { host?: string } = {}): Promise<WebhookSink> {
  const host = opts.host ?? '127.0.0.1';
  const recorded: RecordedRequest[] = [];
  const script: SinkResponse[] = [];
  let defaultResponse: SinkResponse = {};
  let seq = 0;
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const response = script.shift() ?? defaultResponse;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      recorded.push({
        seq: ++seq,
        method: req.method ?? '',
        path: req.url ?? '',
        headers,
        rawBody,
        body: parseJson(rawBody),
        receivedAtMs: Date.now(),
        answer: response.reset ? 'reset' : (response.status ?? 200),
      });
      const answer = (): void => {
        if (closed || res.destroyed) return;
        if (response.reset) {
          req.socket.destroy();
          return;
        }
        const status = response.status ?? 200;
        const body = response.body ?? (status < 300 ? { ok: true } : { error: `sink answered ${status} as scripted` });
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, {
          'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
          ...response.headers,
        });
        res.end(text);
      };
      if (response.delayMs !== undefined && response.delayMs > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, response.delayMs);
        timers.add(timer);
      } else {
        answer();
      }
    });
  });
  const { port, close: closeServer } = await listenOnFreePort(server, host);
  const baseUrl = `http://${host}:${port}`;

  const matches = (r: RecordedRequest, o: { path?: string; filter?: (req: RecordedRequest) => boolean }): boolean =>
    (o.path === undefined || r.path.split('?')[0] === o.path) && (o.filter === undefined || o.filter(r));

  return {
    baseUrl,
    port,
    url: (path = '/hook') => `${baseUrl}${path.startsWith('/') ? path : `/${path}`}`,
    requests: (o = {}) => recorded.filter((r) => matches(r, o)),
    respondNext(count, response) {
      for (let i = 0; i < count; i++) script.push(response);
    },
    setDefaultResponse(response) {
      defaultResponse = response;
    },
    async waitForRequests(n, o) {
      const what = `${n} request(s) at the webhook sink${o.path === undefined ? '' : ` on ${o.path}`}`;
      return waitFor(
        () => {
          const found = recorded.filter((r) => matches(r, o));
          return found.length >= n ? found.slice(0, n) : undefined;
        },
        { timeoutMs: o.timeoutMs, intervalMs: 20, what },
      ).catch((err: unknown) => {
        if (err instanceof Error) {
          const seen = recorded.map((r) => `${r.method} ${r.path} → ${r.answer}`).join('; ');
          err.message += ` (received ${recorded.length}: ${seen === '' ? 'none' : seen})`;
        }
        throw err;
      });
    },
    reset() {
      recorded.length = 0;
      script.length = 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await closeServer();
    },
  };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
