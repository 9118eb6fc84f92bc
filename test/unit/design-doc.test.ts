/**
 * docs/design.md is the design contract in the repository (issue 11). Code and docs cite its
 * sections by number — "docs/design.md §N" (the numbering it kept from the founding contract) or
 * "design.md §N" — so a citation must always lead to a numbered section that exists: a
 * section renumbered or removed, or a citation of one that never existed, fails here.
 * The top-level headings are fixed (`## 2. Election` …), so anchors such as
 * `design.md#2-election` stay valid too.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');
const DESIGN = 'docs/design.md';

/** The founding contract's numbering, which design.md keeps. */
const TOP_LEVEL = [
  'Data flow',
  'Election',
  'Delivery latency',
  'Findings, alerts, notifications',
  'Remediation',
  'Redis (shared state, fencing)',
  'Interfaces',
  'Layout',
  'Real components',
  'Targets',
];

/** Where citations live: every text file under these (README.md is a file). */
const CITING = ['src', 'test', 'docs', 'README.md'];
const TEXT_EXT = new Set(['.ts', '.js', '.md', '.json', '.yaml', '.yml', '.sh']);

/** Numbered sections of a design document: "1" … "10" from `## N. Title`, "2.1" from `### 2.1 Title`. */
export function numberedSections(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const m = /^(#{2,4}) (\d+(?:\.\d+)*)\.? (.+)$/.exec(line);
    if (!m) continue;
    const [, hashes, num, title] = m as unknown as [string, string, string, string];
    // depth follows the number: "## 2." top level, "### 2.1" below it
    if (hashes.length !== num.split('.').length + 1) continue;
    out.set(num, title.trim());
  }
  return out;
}

export interface Citation {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly section: string;
}

/**
 * Every section a text cites: "docs/design.md §N", "docs/design.md §N and §M", "docs/design.md §N, §M",
 * "design.md §N.M", "docs/design.md §§N–M" (a range counts each end).
 */
export function citations(file: string, text: string): Citation[] {
  const out: Citation[] = [];
  // after the first number: ", §4", " and §10", " / §6" need their §; a range is written tight ("§§5–6", "§5–§6")
  const re = /(?:DESIGN|design\.md)\s*(§{1,2}\s*\d+(?:\.\d+)*(?:\s*(?:,|and|or|&|\/)\s*§{1,2}\s*\d+(?:\.\d+)*|[–-](?:§{1,2})?\d+(?:\.\d+)*)*)/g;
  const lines = text.split('\n');
  lines.forEach((lineText, i) => {
    for (const m of lineText.matchAll(re)) {
      for (const n of (m[1] as string).matchAll(/\d+(?:\.\d+)*/g)) {
        out.push({ file, line: i + 1, text: m[0], section: n[0] });
      }
    }
  });
  return out;
}

function textFiles(rel: string): string[] {
  const abs = path.join(root, rel);
  const st = fs.statSync(abs);
  if (st.isFile()) return [rel];
  const out: string[] = [];
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const child = path.join(rel, entry.name);
    if (entry.isDirectory()) out.push(...textFiles(child));
    else if (entry.isFile() && TEXT_EXT.has(path.extname(entry.name))) out.push(child);
  }
  return out;
}

const design = fs.readFileSync(path.join(root, DESIGN), 'utf8');
const sections = numberedSections(design);

describe('docs/design.md keeps the numbered sections that code and docs cite (issue 11)', () => {
  it('has §1–§10 as `## N. Title` headings, in order, with the founding titles', () => {
    const top = [...sections.entries()].filter(([n]) => !n.includes('.'));
    assert.deepEqual(
      top.map(([n, title]) => `${n}. ${title}`),
      TOP_LEVEL.map((title, i) => `${i + 1}. ${title}`),
    );
    for (const [n] of sections) {
      if (n.includes('.')) assert.ok(sections.has(n.split('.')[0] as string), `§${n} has no parent section`);
    }
  });

  it('every "docs/design.md §N" / "design.md §N" in src/, test/, docs/ and README.md names an existing section', () => {
    const all = CITING.flatMap(textFiles).flatMap((f) => citations(f, fs.readFileSync(path.join(root, f), 'utf8')));
    // the citations are many today; finding none would mean the pattern broke, not that all is well
    assert.ok(all.length >= 100, `found only ${all.length} citations`);
    const dangling = all.filter((c) => !sections.has(c.section)).map((c) => `${c.file}:${c.line}: ${c.text} (§${c.section})`);
    assert.deepEqual(dangling, [], `these cite sections ${DESIGN} does not have`);
  });

  it('the finder reads every citation form and the check catches a missing section', () => {
    // built by concatenation so that this file holds no citation of its own
    const D = 'DESIGN ';
    const M = 'design' + '.md ';
    const text = [`see ${D}§4 "retries"`, `(${D}§2 and §10)`, `${D}§1, §4`, `docs/${M}§3.2 and ${D}§§5–6`, `${D}§7 - 3 attempts`, `${D}§11`].join('\n');
    const found = citations('x.ts', text).map((c) => c.section);
    assert.deepEqual(found, ['4', '2', '10', '1', '4', '3.2', '5', '6', '7', '11']);
    const missing = found.filter((n) => !sections.has(n));
    assert.deepEqual(missing, ['11']);
    assert.deepEqual(
      [...numberedSections('## 1. One\n```\n## 2. Not a heading\n```\n### 1.1 Sub\n## 3 Three\n#### 1.1.1 Deep\n### 4 Wrong depth\n').keys()],
      ['1', '1.1', '3', '1.1.1'],
    );
  });

  it('README links the design document', () => {
    assert.match(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), /\]\(docs\/design\.md\)/);
  });
});
