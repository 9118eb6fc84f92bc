/**
 * GET / (issue 11): the status page is one self-contained HTML document under a strict
 * Content-Security-Policy: the only script and style allowed are the page's own inline
 * ones, by hash, and nothing is loaded from anywhere else. Behaviour in a browser:
 * test/e2e/status-page-render.test.ts and status-page.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { after, describe, it } from 'node:test';
import { HttpServer } from '../../src/http/server';
import { registerStatusPage, STATUS_PAGE_CSP, STATUS_PAGE_HTML } from '../../src/http/status-page';
import { silentLogger } from '../../src/log';

const server = new HttpServer({ logger: silentLogger });
registerStatusPage(server);
const listening = server.listen('127.0.0.1', 0);
after(() => server.close());

function get(method: 'GET' | 'HEAD', path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return listening.then(
    (addr) =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: addr.port, method, path }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        });
        req.on('error', reject);
        req.end();
      }),
  );
}

const directives = (csp: string): Map<string, string[]> => new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name as string, values]));
const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const inline = (html: string, tag: 'script' | 'style'): string[] => [...html.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] as string);

describe('GET / serves the status page (issue 11)', () => {
  it('is HTML, not cached, with nosniff and the CSP', async () => {
    const res = await get('GET', '/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['content-security-policy'], STATUS_PAGE_CSP);
    assert.equal(res.text, STATUS_PAGE_HTML);
    assert.match(res.text, /^<!doctype html>/);
    assert.equal((await get('HEAD', '/')).status, 200);
  });

  it('the CSP allows exactly the inline script and style served, by hash, and requests to this origin only', async () => {
    const res = await get('GET', '/');
    const csp = directives(String(res.headers['content-security-policy']));
    assert.deepEqual(csp.get('default-src'), ["'none'"]);
    assert.deepEqual(csp.get('connect-src'), ["'self'"]);
    assert.deepEqual(csp.get('base-uri'), ["'none'"]);
    assert.deepEqual(csp.get('frame-ancestors'), ["'none'"]);
    const scripts = inline(res.text, 'script');
    const styles = inline(res.text, 'style');
    assert.equal(scripts.length, 1);
    assert.equal(styles.length, 1);
    assert.deepEqual(csp.get('script-src'), [sha256(scripts[0] as string)]);
    assert.deepEqual(csp.get('style-src'), [sha256(styles[0] as string)]);
    assert.ok(!String(res.headers['content-security-policy']).includes('unsafe'), 'no unsafe-inline, no unsafe-eval');
    assert.doesNotMatch(res.text, /\sstyle="/, 'no style attributes (the CSP would block them)');
    assert.doesNotMatch(res.text, /\son[a-z]+=/i, 'no inline event handlers (the CSP would block them)');
  });

  it('loads nothing from elsewhere: no external URL, no src attribute, no stylesheet link, no CSS url()', async () => {
    const { text } = await get('GET', '/');
    assert.doesNotMatch(text, /https?:\/\//i);
    assert.doesNotMatch(text, /(?:href|src|action)\s*=\s*["']?\/\//i, 'no protocol-relative URL');
    assert.doesNotMatch(text, /\ssrc\s*=/i);
    assert.doesNotMatch(text, /<link\b/i);
    assert.doesNotMatch(text, /@import|url\(/i);
    // the script fetches only this origin's API, by absolute path
    const fetched = [...text.matchAll(/getJson\('([^']*)'\)/g)].map((m) => m[1]);
    assert.deepEqual(fetched, ['/api/v1/status', '/api/v1/lag', '/api/v1/alerts', '/api/v1/events?limit=200', '/api/v1/lag/history', '/api/v1/monitor']);
  });

  it('shows nothing for what does not exist yet: no remediation plans, no failover timeline', async () => {
    const { text } = await get('GET', '/');
    assert.doesNotMatch(text, /plan|failover|timeline|execute/i);
  });
});
