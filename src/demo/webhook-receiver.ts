/**
 * The demo's on-call pager: a webhook channel receiver on a loopback port that accepts the
 * generic JSON body (docs/design.md §4, version 1), keeps every page, and hands each one to
 * `onPage` (which prints it as one line). Anything else is answered 400 and not kept.
 */
import http from 'node:http';
import type { WebhookBodyV1 } from '../alerting/types';
import { listenOnFreePort } from '../local/ports';
import type { Clock } from '../util/clock';
import type { ReceivedPage } from './timeline';

export interface WebhookReceiver {
  /** e.g. http://127.0.0.1:40001/hook */
  readonly url: string;
  /** every page accepted so far, in arrival order (a copy) */
  pages(): ReceivedPage[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startWebhookReceiver(opts: { clock: Clock; onPage: (page: ReceivedPage) => void }): Promise<WebhookReceiver> {
  const pages: ReceivedPage[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      const answer = (status: number, body: Record<string, unknown>): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/hook') {
        answer(404, { error: 'the demo receiver takes POST /hook' });
        return;
      }
      const page = parsePage(Buffer.concat(chunks).toString('utf8'));
      if (page === undefined || size > MAX_BODY_BYTES) {
        answer(400, { error: 'expected a vigil webhook body, version 1 (docs/design.md §4)' });
        return;
      }
      const received: ReceivedPage = { receivedAtMs: opts.clock.wallMs(), body: page };
      pages.push(received);
      answer(200, { ok: true });
      opts.onPage(received);
    });
  });
  const listening = await listenOnFreePort(server);
  return {
    url: `http://127.0.0.1:${listening.port}/hook`,
    pages: () => [...pages],
    close: () => listening.close(),
  };
}

/** The body as a version-1 page, or undefined when it is not one. */
export function parsePage(text: string): WebhookBodyV1 | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const sentBy = v['sentBy'] as Record<string, unknown> | undefined;
  const ok =
    v['version'] === 1 &&
    (v['status'] === 'firing' || v['status'] === 'resolved') &&
    typeof v['alert'] === 'string' &&
    typeof v['key'] === 'string' &&
    typeof v['summary'] === 'string' &&
    typeof sentBy === 'object' &&
    sentBy !== null &&
    typeof sentBy['nodeId'] === 'string' &&
    typeof sentBy['term'] === 'number';
  return ok ? (value as WebhookBodyV1) : undefined;
}
