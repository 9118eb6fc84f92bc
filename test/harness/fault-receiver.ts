/**
 * A page receiver that can fail the way real ones do, for the fault soak: the generic
 * webhook or a PagerDuty-Events-v2-shaped endpoint, switched between
 *
 *   up         answers at once (200 for the webhook, 202 {"status":"success"} as PagerDuty)
 *   down       listener closed: connection refused
 *   blackhole  accepts and reads, never answers (a request caught in it stays unanswered
 *              even after the receiver is back, as on a real path that dropped packets:
 *              the sender's attempt must time out)
 *   slow       answers after `slowMs`
 *
 *   const r = await startFaultReceiver({ name: 'pd', format: 'pagerduty', host: '127.100.0.1' });
 *   channel url: r.url('/v2/enqueue')
 *   await r.setMode('down'); ... await r.setMode('up');
 *
 * Every request is recorded with the mode it met and whether it was answered 2xx with the
 * sender still listening — what the sender learns, and so what the soak oracle judges.
 */
import http from 'node:http';
import type net from 'node:net';
import type { ReadPage, ReceiverMode } from './soak-oracle';

export interface FaultReceiver {
  readonly name: string;
  readonly port: number;
  url(path: string): string;
  mode(): ReceiverMode;
  setMode(mode: ReceiverMode, opts?: { slowMs?: number }): Promise<void>;
  /** every request so far, in arrival order (copies) */
  pages(): ReadPage[];
  close(): Promise<void>;
}

export async function startFaultReceiver(opts: { name: string; format: ReadPage['format']; host: string }): Promise<FaultReceiver> {
  const { name, format, host } = opts;
  const recorded: Array<{ -readonly [K in keyof ReadPage]: ReadPage[K] }> = [];
  let mode: ReceiverMode = 'up';
  let slowMs = 2000;
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      const page: { -readonly [K in keyof ReadPage]: ReadPage[K] } = { receiver: name, format, body, receivedAtMs: Date.now(), answered: false, mode };
      recorded.push(page);
      if (mode === 'blackhole') return; // read, never answered
      const answer = (): void => {
        if (closed || res.destroyed || req.socket.destroyed) return;
        const status = format === 'pagerduty' ? 202 : 200;
        const text = JSON.stringify(format === 'pagerduty' ? { status: 'success', message: 'Event processed', dedup_key: (body as { dedup_key?: string })?.dedup_key } : { ok: true });
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
        res.end(text, () => {
          // handed to the kernel on a connection the sender still holds open
          if (!req.socket.destroyed) {
            page.answered = true;
            page.answeredAtMs = Date.now();
          }
        });
      };
      if (mode === 'slow') {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, slowMs);
        timers.add(timer);
      } else {
        answer();
      }
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_e, s: net.Socket) => s.destroy());

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host }, () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // a crashed receiver drops what it held too
      for (const s of sockets) s.destroy();
    });

  const port = await listen(0);
  return {
    name,
    port,
    url: (path) => `http://${host}:${port}${path}`,
    mode: () => mode,
    async setMode(next, o = {}) {
      if (closed) return;
      if (o.slowMs !== undefined) slowMs = o.slowMs;
      const wasListening = mode !== 'down';
      mode = next;
      if (next === 'down' && wasListening) await stopListening();
      if (next !== 'down' && !wasListening) {
        // the port can be held by nothing else in the lab's namespace; retry briefly all the same
        for (let attempt = 0; ; attempt++) {
          try {
            await listen(port);
            break;
          } catch (err) {
            if (attempt >= 20) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
    },
    pages: () => recorded.map((p) => ({ ...p })),
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      if (mode !== 'down') await stopListening();
    },
  };
}
