/**
 * The runbook (issue 8: docs/operations.md has an entry for every alert vigil pages and
 * every Vigil* Prometheus rule, linked from each page and rule). A new alert kind, lag
 * cause or rule without an entry fails here; so does a rule without its runbook_url, a
 * link inside the runbook that leads nowhere, and a build that would not serve the page.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { ALERT_NAMES, runbookAnchor, runbookAnchors } from '../../src/alerting/runbook';
import { explicitAnchors, renderMarkdown, slugify } from '../../src/http/markdown';
import { DEFAULT_RUNBOOK_FILE, registerRunbookRoute } from '../../src/http/runbook';
import { HttpServer } from '../../src/http/server';
import { silentLogger } from '../../src/log';

const root = path.resolve(__dirname, '..', '..', '..');
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');
const RUNBOOK = 'docs/operations.md';

/** The base every rule's runbook_url uses (docs/operations.md says how to change it). */
const RULES_BASE = 'http://localhost:9464/runbook';

interface Rule {
  alert?: string;
  annotations?: Record<string, string>;
}

function alertRules(): Rule[] {
  const groups = (parse(read('deploy/prometheus/vigil-rules.yml')) as { groups: Array<{ rules: Rule[] }> }).groups;
  return groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
}

const anchors = explicitAnchors(read(RUNBOOK));

describe('docs/operations.md has an entry for every alert (issue 8)', () => {
  it('every alert kind vigil pages, and every ConsumerDeliveryLag cause', () => {
    const missing = runbookAnchors().filter((a) => !anchors.includes(a));
    assert.deepEqual(missing, [], `add <a id="…"></a> entries to ${RUNBOOK} for these`);
    // every kind resolves to an anchor of its own
    for (const name of ALERT_NAMES) assert.ok(anchors.includes(runbookAnchor({ alert: name })), name);
  });

  it('every Vigil* rule, linked by a runbook_url annotation on the same base', () => {
    const rules = alertRules();
    assert.ok(rules.length > 0);
    for (const rule of rules) {
      const name = rule.alert as string;
      assert.match(name, /^Vigil/, `${name}: vigil's own rules are named Vigil*`);
      const anchor = name.toLowerCase();
      assert.equal(rule.annotations?.['runbook_url'], `${RULES_BASE}#${anchor}`, `${name}: runbook_url`);
      assert.ok(anchors.includes(anchor), `${name}: no <a id="${anchor}"></a> entry in ${RUNBOOK}`);
    }
  });

  it('anchors are unique, and every in-page link leads to an anchor or a heading', () => {
    const md = read(RUNBOOK);
    assert.deepEqual(anchors.filter((a, i) => anchors.indexOf(a) !== i), [], 'duplicate anchors');
    const headings = [...md.matchAll(/^#{1,6}\s+(.*)$/gm)].map((m) => slugify((m[1] as string).replace(/`/g, '')));
    const targets = new Set([...anchors, ...headings]);
    const broken = [...md.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string).filter((t) => !targets.has(t));
    assert.deepEqual(broken, []);
  });

  it('every entry says what it means, what to check and what to do', () => {
    const md = read(RUNBOOK);
    const wanted = [...runbookAnchors(), ...alertRules().map((r) => (r.alert as string).toLowerCase())];
    for (const anchor of wanted) {
      const start = md.indexOf(`<a id="${anchor}"></a>`);
      const next = md.indexOf('<a id="', start + 1);
      const entry = md.slice(start, next === -1 ? undefined : next);
      assert.match(entry, /\*\*Means\.\*\*/, `${anchor}: no **Means.**`);
      assert.match(entry, /\*\*Check/, `${anchor}: no **Check**`);
      assert.match(entry, /\*\*(Do|Check and do)\.\*\*/, `${anchor}: no **Do.**`);
    }
  });
});

describe('GET /runbook: every replica serves the runbook', () => {
  const servers: HttpServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  async function get(file?: string): Promise<{ status: number; type: string; body: string; headers: http.IncomingHttpHeaders }> {
    const server = new HttpServer({ logger: silentLogger });
    servers.push(server);
    registerRunbookRoute(server, file === undefined ? {} : { file });
    const { port } = await server.listen('127.0.0.1', 0);
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/runbook' }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body, headers: res.headers }));
        })
        .on('error', reject);
    });
  }

  it('renders docs/operations.md as HTML with an element for every anchor pages and rules link to', async () => {
    const r = await get();
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/html/);
    assert.match(String(r.headers['content-security-policy'] ?? ''), /default-src 'none'/);
    for (const anchor of [...runbookAnchors(), ...alertRules().map((x) => (x.alert as string).toLowerCase())]) {
      assert.ok(r.body.includes(`<a id="${anchor}"></a>`), anchor);
    }
    assert.match(r.body, /<h3>ConsumerDeliveryLag<\/h3>/);
  });

  it('the file it serves is the one in the repository, where the package and the image put it', () => {
    assert.equal(DEFAULT_RUNBOOK_FILE, path.join(root, RUNBOOK));
    const pkg = JSON.parse(read('package.json')) as { files: string[] };
    assert.ok(pkg.files.includes(RUNBOOK), 'package.json "files" must ship docs/operations.md');
    // dist/src/http/runbook.js in /app reads /app/docs/operations.md
    assert.match(read('deploy/Dockerfile'), /^COPY docs\/operations\.md \.\/docs\/operations\.md$/m);
  });

  it('answers 404 RUNBOOK_MISSING, saying what to do, when the file is not installed', async () => {
    const r = await get(path.join(os.tmpdir(), 'vigil-no-such-runbook', 'operations.md'));
    assert.equal(r.status, 404);
    const err = (JSON.parse(r.body) as { error: { code: string; message: string } }).error;
    assert.equal(err.code, 'RUNBOOK_MISSING');
    assert.match(err.message, /alerting\.runbookUrl/);
  });
});

describe('the Markdown renderer of /runbook', () => {
  it('escapes HTML in text, code and links: the page shows only markup it makes itself', () => {
    const html = renderMarkdown('# T <script>\n\npara <img src=x onerror=alert(1)> `<b>` [x](javascript:alert(1)) **b**\n\n```\n<script>\n```\n');
    assert.doesNotMatch(html, /<script|<img|<b>|href="javascript/);
    assert.match(html, /<strong>b<\/strong>/);
  });

  it('headings after an explicit anchor take no id of their own; others get the GitHub slug', () => {
    const html = renderMarkdown('<a id="x1"></a>\n### Alert One\n\n## Before you start\n');
    assert.match(html, /<a id="x1"><\/a>\n<h3>Alert One<\/h3>/);
    assert.match(html, /<h2 id="before-you-start">/);
  });

  it('tables, lists with continuation lines, and links', () => {
    const html = renderMarkdown('| a | b |\n|---|---|\n| `x` | [y](#y) |\n\n1. one\n   more\n2. two\n');
    assert.match(html, /<td><code>x<\/code><\/td><td><a href="#y">y<\/a><\/td>/);
    assert.match(html, /<ol>\n<li>one more<\/li>\n<li>two<\/li>\n<\/ol>/);
  });
});
