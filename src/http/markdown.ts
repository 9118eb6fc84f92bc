/**
 * Markdown → HTML for the runbook page (GET /runbook), with no dependency: the subset
 * docs/operations.md is written in, nothing more. Blocks: ATX headings, paragraphs, flat
 * "-" and "1." lists (continuation lines indented), fenced code, pipe tables, "> " quotes,
 * and explicit anchors — a line that is exactly `<a id="name"></a>`. Inline: `code`,
 * **bold**, [links](url). Everything else is text: all input is HTML-escaped before any
 * markup is added, so the page can show only what these rules produce.
 *
 * Ids: each explicit anchor becomes an element with that id (the stable link targets of
 * pages and rules); a heading gets a GitHub-style slug id unless an explicit anchor stands
 * right before it, so the same fragments work on GitHub and on /runbook.
 */

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** GitHub's heading slug: lower case, punctuation dropped, spaces to "-". */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

export const ANCHOR_LINE = /^<a id="([a-z0-9][a-z0-9-]*)"><\/a>$/;

/** The explicit anchors of a document, in order (what the runbook tests check). */
export function explicitAnchors(md: string): string[] {
  return md.split('\n').flatMap((line) => {
    const m = ANCHOR_LINE.exec(line.trim());
    return m === null ? [] : [m[1] as string];
  });
}

/** Inline markup of one (already joined) text: code spans first, so nothing inside them is markup. */
export function renderInline(text: string): string {
  const codes: string[] = [];
  let out = text.replace(/`([^`]+)`/g, (_m, code: string) => {
    codes.push(`<code>${escapeHtml(code)}</code>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  out = escapeHtml(out);
  out = out.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, label: string, href: string) => {
    // Other docs are not served next to /runbook: name the file instead of a dead link.
    if (/^[\w.-]+\.md(#.*)?$/.test(href)) return `${label} (docs/${href.replace(/#.*$/, '')})`;
    if (!/^(https?:\/\/|#)/.test(href)) return label;
    return `<a href="${href}">${label}</a>`;
  });
  out = out.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  return out.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => codes[Number(i)] as string);
}

function splitRow(line: string): string[] {
  const cells = line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/);
  return cells.map((c) => c.trim().replace(/\\\|/g, '|'));
}

const LIST_ITEM = /^(?:[-*]|(\d+)\.)\s+(.*)$/;

export function renderMarkdown(md: string): string {
  const lines = md.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  let anchorPending = false;
  while (i < lines.length) {
    const line = lines[i] as string;
    const trimmed = line.trim();
    if (trimmed === '') {
      i++;
      continue;
    }
    const anchor = ANCHOR_LINE.exec(trimmed);
    if (anchor !== null) {
      out.push(`<a id="${anchor[1]}"></a>`);
      anchorPending = true;
      i++;
      continue;
    }
    const afterAnchor = anchorPending;
    anchorPending = false;

    if (trimmed.startsWith('```')) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !(lines[i] as string).trim().startsWith('```')) code.push(lines[i++] as string);
      i++; // the closing fence
      out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*$/.exec(trimmed);
    if (heading !== null) {
      const level = (heading[1] as string).length;
      const text = heading[2] as string;
      const id = afterAnchor ? '' : ` id="${escapeHtml(slugify(text.replace(/`/g, '')))}"`;
      out.push(`<h${level}${id}>${renderInline(text)}</h${level}>`);
      i++;
      continue;
    }
    if (trimmed.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && (lines[i] as string).trim().startsWith('|')) rows.push(splitRow(lines[i++] as string));
      const [head, sep, ...body] = rows;
      const isTable = head !== undefined && sep !== undefined && sep.every((c) => /^:?-+:?$/.test(c));
      if (!isTable) {
        out.push(`<p>${renderInline(rows.map((r) => r.join(' | ')).join(' '))}</p>`);
        continue;
      }
      const th = head.map((c) => `<th>${renderInline(c)}</th>`).join('');
      const trs = body.map((r) => `<tr>${r.map((c) => `<td>${renderInline(c)}</td>`).join('')}</tr>`).join('\n');
      out.push(`<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`);
      continue;
    }
    if (trimmed.startsWith('>')) {
      const quoted: string[] = [];
      while (i < lines.length && (lines[i] as string).trim().startsWith('>')) quoted.push((lines[i++] as string).trim().replace(/^>\s?/, ''));
      out.push(`<blockquote><p>${renderInline(quoted.join(' '))}</p></blockquote>`);
      continue;
    }
    const first = LIST_ITEM.exec(trimmed);
    if (first !== null && !/^\s/.test(line)) {
      const ordered = first[1] !== undefined;
      const items: string[][] = [];
      while (i < lines.length) {
        const l = lines[i] as string;
        const m = /^\s/.test(l) ? null : LIST_ITEM.exec(l.trim());
        if (m !== null && (m[1] !== undefined) === ordered) items.push([m[2] as string]);
        else if (l.trim() !== '' && /^\s/.test(l) && items.length > 0) (items[items.length - 1] as string[]).push(l.trim());
        else break;
        i++;
      }
      const tag = ordered ? 'ol' : 'ul';
      out.push(`<${tag}>\n${items.map((parts) => `<li>${renderInline(parts.join(' '))}</li>`).join('\n')}\n</${tag}>`);
      continue;
    }
    const para: string[] = [];
    while (i < lines.length) {
      const l = (lines[i] as string).trim();
      if (l === '' || l.startsWith('```') || l.startsWith('#') || l.startsWith('|') || l.startsWith('>') || ANCHOR_LINE.test(l)) break;
      if (para.length > 0 && LIST_ITEM.test(l) && !/^\s/.test(lines[i] as string)) break;
      para.push(l);
      i++;
    }
    out.push(`<p>${renderInline(para.join(' '))}</p>`);
  }
  return out.join('\n');
}
