/**
 * GET /runbook: docs/operations.md rendered as one HTML page, served by every replica
 * (followers too: it is static, nothing to forward). It is the default target of the
 * runbook links pages carry (alerting.runbookUrl, src/alerting/runbook.ts), so on-call
 * can open `http://<replica>/runbook#<alert>` from a page without a docs site.
 *
 * The file ships beside the compiled code: in the npm package ("files" in package.json)
 * and the image (deploy/Dockerfile), at <package root>/docs/operations.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { escapeHtml, renderMarkdown } from './markdown';
import { sendError, sendText } from './respond';
import type { HttpServer } from './server';

/** <package root>/docs/operations.md, from dist/src/http/. */
export const DEFAULT_RUNBOOK_FILE = path.resolve(__dirname, '..', '..', '..', 'docs', 'operations.md');

export interface RunbookRouteOptions {
  /** The Markdown file to serve (default DEFAULT_RUNBOOK_FILE). */
  readonly file?: string;
}

/** The whole page: no scripts, no external assets; the styles are inline. */
export function runbookPage(markdown: string): string {
  const title = /^#\s+(.*)$/m.exec(markdown)?.[1] ?? 'vigil runbook';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title.replace(/`/g, ''))}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:980px;margin:0 auto;padding:16px 24px 64px}
h1,h2,h3,h4{line-height:1.25;margin:1.6em 0 .5em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em}
code{font:13px ui-monospace,monospace;background:#f6f8fa;padding:.1em .3em;border-radius:4px}
pre{background:#f6f8fa;padding:12px;overflow:auto;border-radius:6px}pre code{padding:0;background:none}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
blockquote{margin:0;padding:0 1em;color:#57606a;border-left:4px solid #d0d7de}
:target+h2,:target+h3,:target+h4{background:#fff8c5}
</style></head>
<body><main>
${renderMarkdown(markdown)}
</main></body></html>
`;
}

export function registerRunbookRoute(server: HttpServer, opts: RunbookRouteOptions = {}): void {
  const file = opts.file ?? DEFAULT_RUNBOOK_FILE;
  // Rendered once, on first request: the file does not change under a running replica.
  // A failed read is not cached, so a file put in place later is picked up.
  let page: string | undefined;
  server.route('GET', '/runbook', ({ res }) => {
    if (page === undefined) {
      let markdown: string;
      try {
        markdown = fs.readFileSync(file, 'utf8');
      } catch {
        sendError(
          res,
          404,
          'RUNBOOK_MISSING',
          'docs/operations.md is not installed beside this vigil build; reinstall the package or image, or set alerting.runbookUrl to where the runbook is published',
        );
        return;
      }
      page = runbookPage(markdown);
    }
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    sendText(res, 200, page, 'text/html; charset=utf-8');
  });
}
