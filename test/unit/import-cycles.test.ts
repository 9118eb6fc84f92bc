/**
 * No folder under src/ imports a folder that imports it back (issue 7 §0, docs/architecture.md).
 * Every import of every src/**\/*.ts is read from its syntax tree — `import`, `import type`,
 * `export … from`, `import x = require()`, `require()`, `import()` and `import('…').T` in
 * types — and counted as an edge between the top-level entries of src/ it joins
 * (src/monitor/observe.ts → src/kafka/types.ts is monitor → kafka; a file directly under
 * src/, such as src/metrics.ts, is an entry of its own). A cycle of any length among those
 * entries fails the test with the file that makes each edge.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..', '..');
const SRC = path.join(root, 'src');

/** Module specifiers a TypeScript file imports, in the order they appear. */
export function importSpecifiers(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const literal = (node: ts.Node | undefined): void => {
    if (node && ts.isStringLiteralLike(node)) out.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) literal(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) literal(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The top-level entry of src/ a path (relative to src/, '/'-separated) belongs to: its folder, or the file's name without `.ts`. */
function unitOf(relPath: string): string {
  const [first, ...rest] = relPath.split('/');
  return rest.length > 0 ? (first as string) : (first as string).replace(/\.ts$/, '');
}

export interface Edge {
  readonly from: string;
  readonly to: string;
  /** the import that makes it: "monitor/observe.ts → kafka/types" */
  readonly via: string;
}

/** Edges between top-level entries, from files given relative to src/ ('/'-separated). Imports leaving src/ (packages, package.json) are not edges. */
export function unitEdges(files: ReadonlyMap<string, string>): Edge[] {
  const edges: Edge[] = [];
  for (const [rel, text] of files) {
    for (const spec of importSpecifiers(rel, text)) {
      if (!spec.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
      if (target.startsWith('..')) continue;
      const from = unitOf(rel);
      const to = unitOf(target);
      if (from !== to) edges.push({ from, to, via: `${rel} → ${target}` });
    }
  }
  return edges;
}

/** Every strongly connected group of two or more entries (Tarjan), each as one cycle through them. */
export function cycles(edges: readonly Edge[]): Edge[][] {
  const next = new Map<string, Edge[]>();
  for (const e of edges) {
    const list = next.get(e.from) ?? [];
    if (!list.some((x) => x.to === e.to)) list.push(e);
    next.set(e.from, list);
    if (!next.has(e.to)) next.set(e.to, []);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const { to } of next.get(v) ?? []) {
      if (!index.has(to)) {
        strong(to);
        low.set(v, Math.min(low.get(v) as number, low.get(to) as number));
      } else if (onStack.has(to)) low.set(v, Math.min(low.get(v) as number, index.get(to) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1) groups.push(group.sort());
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) strong(v);
  // One concrete cycle per group: the shortest way from its first entry back to itself.
  return groups.map((group) => {
    const members = new Set(group);
    const start = group[0] as string;
    const cameBy = new Map<string, Edge>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift() as string;
      for (const e of next.get(v) ?? []) {
        if (!members.has(e.to) || cameBy.has(e.to)) continue;
        cameBy.set(e.to, e);
        if (e.to === start) break;
        queue.push(e.to);
      }
      if (cameBy.has(start)) break;
    }
    const route: Edge[] = [];
    for (let at = start; route.length === 0 || at !== start; ) {
      const e = cameBy.get(at) as Edge;
      route.unshift(e);
      at = e.from;
    }
    return route;
  });
}

function describeCycle(cycle: readonly Edge[]): string {
  return `${[...cycle.map((e) => e.from), cycle[0]?.from].join(' → ')}:\n${cycle.map((e) => `    ${e.via}`).join('\n')}`;
}

function sourceFiles(dir: string, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) for (const [k, v] of sourceFiles(abs, childRel)) out.set(k, v);
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.set(childRel, fs.readFileSync(abs, 'utf8'));
  }
  return out;
}

describe('src/ has no import cycles between its folders (issue 7 §0)', () => {
  it('no folder under src/ imports, directly or through others, a folder that imports it', () => {
    const files = sourceFiles(SRC);
    const edges = unitEdges(files);
    // the folders do import each other; finding no edge would mean the reader broke
    assert.ok(files.size > 100 && edges.length > 100, `read ${files.size} files and ${edges.length} imports across folders`);
    const found = cycles(edges);
    assert.deepEqual(
      found.map(describeCycle),
      [],
      'these folders import each other; move what both need into the lower one (or into a folder of its own), or turn the upward import into an interface the lower folder declares — see docs/architecture.md',
    );
  });

  it('reads every import form, and skips packages and files outside src/', () => {
    const text = [
      "import a from './a';",
      "import type { B } from '../b/b';",
      "export { c } from '../c';",
      "export * from '../d/index';",
      "import e = require('../e/e');",
      "const f = require('../f/f');",
      "const g = import('../g/g');",
      "let h: import('../h/h').H;",
      "import 'pino';",
      "const pkg = require('../../package.json');",
      "// import x from '../commented/out';",
    ].join('\n');
    assert.deepEqual(importSpecifiers('x/y.ts', text), ['./a', '../b/b', '../c', '../d/index', '../e/e', '../f/f', '../g/g', '../h/h', 'pino', '../../package.json']);
    assert.deepEqual(
      unitEdges(new Map([['x/y.ts', text]])).map((e) => e.to),
      ['b', 'c', 'd', 'e', 'f', 'g', 'h'],
    );
  });

  it('finds a two-folder cycle and a longer one, names the imports that make them, and passes a layered tree', () => {
    const files = new Map([
      ['monitor/detect.ts', "import type { Finding } from '../alerting/types';"],
      ['alerting/decide.ts', "import { lagScope } from '../monitor/findings';"],
      ['reconcile/loop.ts', "import type { StateStore } from '../state/types';"],
      ['state/types.ts', "import type { Plan } from '../remediation/plan';"],
      ['remediation/plan.ts', "import type { Actor } from '../reconcile/actor';"],
      ['election/driver.ts', "import { realTimers } from '../util/timers';"],
      ['util/timers.ts', ''],
    ]);
    const found = cycles(unitEdges(files)).sort((x, y) => (x[0] as Edge).from.localeCompare((y[0] as Edge).from));
    assert.deepEqual(
      found.map((c) => c.map((e) => e.via)),
      [
        ['alerting/decide.ts → monitor/findings', 'monitor/detect.ts → alerting/types'],
        ['reconcile/loop.ts → state/types', 'state/types.ts → remediation/plan', 'remediation/plan.ts → reconcile/actor'],
      ],
    );
    assert.match(describeCycle(found[1] as Edge[]), /^reconcile → state → remediation → reconcile:\n/);

    files.set('monitor/detect.ts', "import type { Finding } from './findings';");
    files.set('state/types.ts', '');
    assert.deepEqual(cycles(unitEdges(files)), []);
  });
});
