/**
 * No doc promises a feature that does not exist (issue 11, "Done when"). README.md,
 * docs/*.md and the files under deploy/ (the example config among them) are read for the
 * names users act on, and each must exist in the code:
 *
 * - every `vigil <command>` invocation (also `node .../main.js <command>` and
 *   `npm start -- ...`, which is `vigil demo`) names a command of the commander program
 *   (src/cli/main.ts buildProgram()), and each `--flag` on it is an option of that command;
 *   a bare `--flag` in a section whose heading names `vigil <command>` is one of its options;
 * - every HTTP path (`GET /api/v1/...`, `/internal/...`, `GET /metrics` ...) is routed by a
 *   replica's public or peer listener (src/http/server.ts, asked for its route table on a
 *   real single replica with its monitor attached);
 * - every `vigil_*` metric is registered (src/metrics.ts);
 * - every config key (`lag.resolveFor`, `peers[].url` ...) is in the config schema
 *   (CONFIG_KEYS, src/config); `vigil doctor`'s check ids (`redis.access`), shaped alike,
 *   are told apart by the ids src/doctor reports.
 *
 * A name that does not exist passes only where the docs say so: its line, table row, list
 * item or paragraph, or the lead of its section, marks it "planned" or "not built yet"
 * (docs/design.md: "What is not built yet is marked **planned**"). The reverse — every
 * command, route and metric being documented — is not checked here (config keys are, in
 * test/unit/config.test.ts), so a command added on another branch fails nothing until its
 * docs name something that is missing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';
import { CONFIG_KEYS, compileConfig } from '../../src/config';
import { MemoryHardStateStore } from '../../src/election/storage';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { attachMonitor } from '../../src/service/monitor';
import { Replica } from '../../src/service/replica';
import { freePorts } from '../harness/ports';

const root = path.resolve(__dirname, '..', '..', '..');
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');

/** What marks a name as not built, on its own line, table row, list item or paragraph. */
export const NOT_BUILT = /\bplanned\b|not built( yet)?\b|\bdo(?:es)? not exist\b/i;

/**
 * What marks a whole section: a heading that says so ("### 3.5 Planned"), or a first
 * paragraph that opens with it ("**Not built yet.** ...", "**Status: planned, not built**").
 * A section merely mentioning something planned in passing is not marked.
 */
export const SECTION_NOT_BUILT = /^[\s*_#]*(?:[\d.]+\s+)?(?:status:\s*)?(?:planned|not built)\b/i;

// ------------------------------------------------------------------------------------
// Reading the docs: units (a line of a table or code block, a list item, a paragraph),
// each knowing whether it or its section is marked not built, and the commands its
// section is about.
// ------------------------------------------------------------------------------------

export interface Unit {
  readonly file: string;
  /** first line, 1-based */
  readonly line: number;
  readonly text: string;
  /** inside a fenced code block (or a line of a non-Markdown file) */
  readonly code: boolean;
  /** the unit or its section says "planned" / "not built yet" */
  readonly marked: boolean;
  /** commands named `vigil <cmd>` by the nearest heading that names any */
  readonly sectionCommands: readonly string[];
}

const HEADING = /^(#{1,6})\s+(.*)$/;

function headingCommands(title: string): string[] {
  return [...title.matchAll(/`vigil ([a-z][a-z-]*)[^`]*`/g)].map((m) => m[1] as string);
}

/** Splits a Markdown document into units (pure). */
export function markdownUnits(file: string, text: string): Unit[] {
  const lines = text.split('\n');
  const units: Unit[] = [];
  // open sections, outermost first
  const sections: Array<{ level: number; commands: string[]; marked: boolean; lead: boolean }> = [];
  let para: { line: number; lines: string[] } | null = null;
  let fenced = false;
  const sectionMarked = (): boolean => sections.some((s) => s.marked);
  const commands = (): string[] => [...sections].reverse().find((s) => s.commands.length > 0)?.commands ?? [];
  const push = (line: number, body: string, code: boolean): void => {
    const inLead = sections.length > 0 && (sections[sections.length - 1] as { lead: boolean }).lead;
    if (inLead && !code && SECTION_NOT_BUILT.test(body)) (sections[sections.length - 1] as { marked: boolean }).marked = true;
    units.push({ file, line, text: body, code, marked: NOT_BUILT.test(body) || sectionMarked(), sectionCommands: commands() });
  };
  const flush = (): void => {
    if (para) push(para.line, para.lines.join('\n'), false);
    para = null;
    // the lead is the heading and the first paragraph after it
    const top = sections[sections.length - 1];
    if (top && top.lead && units.length > 0 && !HEADING.test(units[units.length - 1]?.text ?? '')) top.lead = false;
  };
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw.startsWith('```')) {
      flush();
      fenced = !fenced;
      return;
    }
    if (fenced) {
      push(n, raw, true);
      return;
    }
    const h = HEADING.exec(raw);
    if (h) {
      flush();
      const level = (h[1] as string).length;
      while (sections.length > 0 && (sections[sections.length - 1] as { level: number }).level >= level) sections.pop();
      sections.push({ level, commands: headingCommands(h[2] as string), marked: SECTION_NOT_BUILT.test(h[2] as string), lead: true });
      push(n, raw, false);
      return;
    }
    if (raw.trim() === '') {
      flush();
      return;
    }
    // a table row, or the start of a list item, is a unit of its own
    if (raw.trimStart().startsWith('|') || /^\s*(?:[-*]|\d+\.)\s/.test(raw)) {
      flush();
      if (raw.trimStart().startsWith('|')) {
        push(n, raw, false);
        return;
      }
    }
    if (para) para.lines.push(raw);
    else para = { line: n, lines: [raw] };
  });
  flush();
  return units;
}

/** A non-Markdown file (YAML, Dockerfile, XML): each line a unit of code. */
function lineUnits(file: string, text: string): Unit[] {
  return text.split('\n').map((line, i) => ({ file, line: i + 1, text: line, code: true, marked: NOT_BUILT.test(line), sectionCommands: [] }));
}

function filesUnder(rel: string): string[] {
  const abs = path.join(root, rel);
  if (fs.statSync(abs).isFile()) return [rel];
  return fs
    .readdirSync(abs, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(rel, e.name)) : e.isFile() ? [path.join(rel, e.name)] : []))
    .sort();
}

/** README.md, docs/*.md, and every file under deploy/ (deploy/vigil.example.yaml included). */
export function docUnits(): Unit[] {
  const markdown = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  return [
    ...markdown.flatMap((f) => markdownUnits(f, read(f))),
    ...filesUnder('deploy').flatMap((f) => (f.endsWith('.md') ? markdownUnits(f, read(f)) : lineUnits(f, read(f)))),
  ];
}

/** The code in a unit: its code spans, or all of it in a code block. `\|` (a pipe in a table cell) is a pipe. */
function codeOf(unit: Unit): string[] {
  const text = unit.text.replace(/\\\|/g, '|');
  if (unit.code) return [text];
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
}

// ------------------------------------------------------------------------------------
// Mentions
// ------------------------------------------------------------------------------------

export interface Mention {
  readonly where: string;
  readonly marked: boolean;
  readonly name: string;
}

const at = (u: Unit): string => `${u.file}:${u.line}`;

/** `vigil <cmd> ...` in command position: a line's start (after a `$ ` prompt), after `&&`, `|`, `;`, `exec`, `chrt -r N`, or `node <path>/main.js`. */
const INVOCATION = /(?:^\s*(?:\$\s+)?|&&\s*|\|\s*|;\s*|\bexec\s+|\bchrt\s+-r\s+\d+\s+|\bnode\s+(?=\S*main\.js))(?:vigil|\S*\/src\/cli\/main\.js)\s+([a-z][a-z-]*)(?![\w-])(.*)$/;
const NPM_START = /\bnpm start(?:\s+--\s+(.*))?$/;

/** Flags of an invocation's arguments, up to a comment or the next command. */
export function flagsIn(args: string): string[] {
  const own = args.split(/\s(?:#|\||&&|;)\s?|\s\|$/)[0] as string;
  return [...own.matchAll(/(?:^|[\s[(|,])(--[a-z][a-z0-9-]*\*?)/g)].map((m) => m[1] as string);
}

/** The command of `npm start` (package.json: `... main.js <command>`). */
const NPM_START_COMMAND = /main\.js (\S+)\s*$/.exec(JSON.parse(read('package.json')).scripts.start as string)?.[1] as string;

/** The Grafana dashboards' titles ("vigil overview"): names, not invocations. */
const DASHBOARD_TITLES = new Set(
  fs.readdirSync(path.join(root, 'dashboards')).filter((f) => f.endsWith('.json')).map((f) => String(JSON.parse(read(`dashboards/${f}`)).title).toLowerCase()),
);

export interface CliMention extends Mention {
  /** the command the flag belongs to, or (for a command mention) undefined */
  readonly command?: string;
  /** with `commands`: the flag belongs to one of these (a section about several) */
  readonly commands?: readonly string[];
}

export function cliMentions(units: readonly Unit[]): { commands: Mention[]; flags: CliMention[] } {
  const commands: Mention[] = [];
  const flags: CliMention[] = [];
  for (const u of units) {
    for (const code of codeOf(u)) {
      for (const line of code.split('\n')) {
        if (DASHBOARD_TITLES.has(line.trim().toLowerCase())) continue;
        const inv = INVOCATION.exec(line);
        const npm = inv ? null : NPM_START.exec(line);
        const command = inv ? (inv[1] as string) : npm ? NPM_START_COMMAND : undefined;
        if (command === undefined) {
          // a bare flag in a section about a command: one of its options
          const bare = /^\s*(?:-[a-zA-Z],\s*)?(--[a-z][a-z0-9-]*\*?)(.*)$/.exec(line);
          if (bare && !u.code && u.sectionCommands.length > 0) {
            for (const flag of [bare[1] as string, ...flagsIn(bare[2] as string)]) flags.push({ where: at(u), marked: u.marked, name: flag, commands: u.sectionCommands });
          }
          continue;
        }
        commands.push({ where: at(u), marked: u.marked, name: command });
        const args = inv ? (inv[2] as string) : (npm?.[1] ?? '');
        for (const flag of flagsIn(args)) flags.push({ where: at(u), marked: u.marked, name: flag, command });
      }
    }
  }
  return { commands, flags };
}

/** Methods and paths: `GET /x`, and any `/api/v1/...` or `/internal/...` path. */
export function pathMentions(units: readonly Unit[]): Array<Mention & { method?: string }> {
  const out: Array<Mention & { method?: string }> = [];
  for (const u of units) {
    const seen = new Set<string>();
    for (const m of u.text.matchAll(/\b(GET|POST|PUT|DELETE|PATCH|HEAD) (\/[^\s`),;'"]*)/g)) {
      const p = cleanPath(m[2] as string);
      seen.add(p);
      out.push({ where: at(u), marked: u.marked, name: p, method: m[1] as string });
    }
    for (const m of u.text.matchAll(/(?:^|[^\w/.-])((?:https?:\/\/[^/\s`]+)?\/(?:api\/v1|internal)\/[^\s`),;'"]*)/g)) {
      const full = m[1] as string;
      const p = cleanPath(full.replace(/^https?:\/\/[^/]+/, ''));
      if (seen.has(p)) continue;
      out.push({ where: at(u), marked: u.marked, name: p });
    }
  }
  return out;
}

/** Without the query, a trailing dot or colon of the sentence, and `<id>` / `{id}` written as `:id`. */
function cleanPath(p: string): string {
  return p.replace(/[?#].*$/, '').replace(/[.:…]+$/, '').replace(/<([^>]+)>|\{([^}]+)\}/g, (_m, a: string, b: string) => `:${a ?? b}`);
}

export function metricMentions(units: readonly Unit[]): Mention[] {
  return units.flatMap((u) => [...u.text.matchAll(/(?<![\w-])vigil_[a-z0-9_]*[a-z0-9](?![\w*-])/g)].map((m) => ({ where: at(u), marked: u.marked, name: m[0] })));
}

const SECTIONS = CONFIG_KEYS[''] as readonly string[];

/** Code spans that are a config key path: `lag.resolveFor`, `peers[].url`, `kafka.brokers[0]`, `lag.resolveFor: 5s`. */
export function configKeyMentions(units: readonly Unit[]): Mention[] {
  const out: Mention[] = [];
  for (const u of units) {
    if (u.code) continue;
    for (const span of codeOf(u)) {
      const m = /^([a-z][A-Za-z]*(?:\[\d*\])?(?:\.[a-z][A-Za-z]*(?:\[\d*\])?)+)(?:\s*[:=].*)?$/.exec(span.trim());
      if (!m || !SECTIONS.includes((m[1] as string).split(/[.[]/)[0] as string)) continue;
      out.push({ where: at(u), marked: u.marked, name: (m[1] as string).replace(/\[\d+\]/g, '[]') });
    }
  }
  return out;
}

/** True when `key` ("lag.overrides[].group", "redis.tls") is in the schema. */
export function isConfigKey(key: string): boolean {
  const parts = key.split('.');
  let section = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const name = part.replace(/\[\]$/, '');
    const keys = Object.entries(CONFIG_KEYS).filter(([s]) => s.split(' ')[0] === section).flatMap(([, k]) => k as readonly string[]);
    if (!keys.includes(name)) return false;
    section = section === '' ? part : `${section}.${part}`;
    // a list of mappings is addressed as "peers[]"; a list of scalars ("kafka.brokers[]") ends the path
    if (!part.endsWith('[]') && i < parts.length - 1 && Object.keys(CONFIG_KEYS).some((s) => s.split(' ')[0] === `${section}[]`)) section = `${section}[]`;
  }
  return true;
}

/**
 * The check ids `vigil doctor` reports (`check('redis.access', ...)` in src/doctor; they
 * are not exported as a list): shaped like config keys, in a namespace of their own.
 */
const DOCTOR_CHECK_IDS: ReadonlySet<string> = new Set(
  (fs.existsSync(path.join(root, 'src', 'doctor')) ? fs.readdirSync(path.join(root, 'src', 'doctor')) : [])
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => [...read(`src/doctor/${f}`).matchAll(/\b\w*[cC]heck\(\s*'([a-z]+(?:\.[a-z-]+)+)'/g)].map((m) => m[1] as string)),
);

/** Other programs' flags named in prose beside a vigil command's (where no invocation says whose). */
const FOREIGN_FLAGS: Record<string, string> = {
  '--resource-pattern-type': "kafka-acls.sh's, in docs/doctor.md's ACL commands",
};

/** Names that look like one kind of thing and are another, each with what it is. */
const NOT_OURS: Record<string, string> = {
  // paths
  '/api/v1/targets': "Prometheus' HTTP API (docs/demo.md, --with-prometheus)",
  '/api/v2/alerts': "Alertmanager's HTTP API, where the alertmanager channel posts",
  '//host/': 'an example of a request target the server refuses (//host/...)',
  // config-key-shaped spans
  'redis.outbox': 'a field of GET /api/v1/status, not a config key',
  'node.ts': 'a source file (src/election/node.ts)',
};

/** The mentions of things that do not exist and are not marked as not built. */
function unmarkedMissing(mentions: readonly Mention[], exists: (m: Mention) => boolean): string[] {
  return mentions.filter((m) => NOT_OURS[m.name] === undefined && !exists(m) && !m.marked).map((m) => `${m.where}: ${m.name}`);
}

// ------------------------------------------------------------------------------------
// The code's side
// ------------------------------------------------------------------------------------

function commandOptions(program: Command): Map<string, Set<string>> {
  const global = ['--help', '--version'];
  const out = new Map<string, Set<string>>();
  for (const cmd of program.commands) out.set(cmd.name(), new Set([...global, ...cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined)]));
  return out;
}

function hasFlag(options: Set<string> | undefined, flag: string): boolean {
  if (!options) return false;
  return flag.endsWith('*') ? [...options].some((o) => o.startsWith(flag.slice(0, -1))) : options.has(flag);
}

interface RouteEntry {
  method: string;
  segments: string[];
}

/** True when a route of `table` answers `method` (any, if undefined) on the documented path. */
export function routed(table: readonly RouteEntry[], docPath: string, method?: string): boolean {
  const family = docPath.endsWith('/*') || docPath.endsWith('/') ? docPath.replace(/\*$/, '').split('/').filter(Boolean) : null;
  const doc = docPath.split('/').filter(Boolean);
  return table.some((r) => {
    if (method !== undefined && r.method !== method && !(method === 'HEAD' && r.method === 'GET')) return false;
    // a catch-all ("/internal/*" answering 404) routes nothing in particular
    if (r.segments[r.segments.length - 1] === '*') return false;
    if (family) return family.every((s, i) => r.segments[i] === s) && r.segments.length > family.length;
    // a route's parameter matches any segment; a literal only itself
    return r.segments.length === doc.length && r.segments.every((s, i) => s.startsWith(':') || s === doc[i]);
  });
}

// ------------------------------------------------------------------------------------

const units = docUnits();

describe('no doc promises a feature that does not exist (issue 11)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-doc-promises-'));
  let replica: Replica;
  let routes: RouteEntry[] = [];
  let metricNames = new Set<string>();

  before(async () => {
    const [port, peerPort] = await freePorts(2);
    const config = compileConfig(
      {
        cluster: 'docs',
        node: { id: 'solo', listen: `127.0.0.1:${port}`, peerListen: `127.0.0.1:${peerPort}`, dataDir: dir },
        peers: [{ id: 'solo', url: `http://127.0.0.1:${port}`, peerUrl: `http://127.0.0.1:${peerPort}` }],
        // nothing answers there: the routes are registered all the same
        kafka: { brokers: ['127.0.0.1:9'] },
        redis: { url: 'redis://127.0.0.1:9' },
        http: { adminToken: 'an-admin-token-for-the-docs-test' },
        log: { level: 'silent' },
      },
      {},
      { baseDir: dir },
    );
    const metrics = createMetrics({ nodeId: 'solo', cluster: 'docs' });
    replica = await Replica.start(config, { logger: silentLogger, metrics, store: new MemoryHardStateStore() });
    attachMonitor(replica);
    const toEntry = (r: { method: string; pattern: string }): RouteEntry => ({ method: r.method, segments: r.pattern.split('/').filter(Boolean) });
    routes = [...replica.http.routeTable(), ...(replica.peerHttp?.routeTable() ?? [])].map(toEntry);
    metricNames = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  });

  after(async () => {
    await replica?.shutdown({ transferLeadership: false });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every `vigil <command>` in the docs and deploy files is a command of the CLI', () => {
    const { commands } = cliMentions(units);
    assert.ok(commands.length >= 40, `found only ${commands.length} invocations: the reader broke`);
    const known = commandOptions(buildProgram());
    assert.deepEqual(unmarkedMissing(commands, (m) => known.has(m.name)), [], 'commands the CLI does not have, not marked planned');
  });

  it('every --flag given to a vigil command, or listed in a section about one, is an option of that command', () => {
    const { flags } = cliMentions(units);
    assert.ok(flags.length >= 60, `found only ${flags.length} flags: the reader broke`);
    const known = commandOptions(buildProgram());
    const exists = (m: Mention): boolean => {
      const f = m as CliMention;
      const owners = f.command !== undefined ? [f.command] : (f.commands ?? []);
      return owners.some((c) => hasFlag(known.get(c), f.name));
    };
    const missing = flags
      .filter((f) => !exists(f) && !f.marked && !(f.command === undefined && FOREIGN_FLAGS[f.name] !== undefined))
      .map((f) => `${f.where}: ${f.name} (vigil ${f.command ?? (f.commands ?? []).join('/')})`);
    assert.deepEqual(missing, [], 'flags the CLI does not have, not marked planned');
  });

  it('every HTTP path is routed by a replica (public or peer listener)', () => {
    const mentions = pathMentions(units);
    assert.ok(mentions.length >= 50, `found only ${mentions.length} paths: the reader broke`);
    const missing = mentions
      .filter((m) => NOT_OURS[m.name] === undefined && !m.marked && !routed(routes, m.name, m.method))
      .map((m) => `${m.where}: ${m.method ?? ''} ${m.name}`.replace(':  ', ': '));
    assert.deepEqual(missing, [], 'paths no listener routes, not marked planned');
  });

  it('every vigil_* metric is registered', () => {
    const mentions = metricMentions(units);
    assert.ok(mentions.length >= 50, `found only ${mentions.length} metric names: the reader broke`);
    const base = (name: string): string => name.replace(/_(bucket|sum|count)$/, '');
    assert.deepEqual(unmarkedMissing(mentions, (m) => metricNames.has(m.name) || metricNames.has(base(m.name))), [], 'metrics src/metrics.ts does not register, not marked planned');
  });

  it('every config key is in the config schema', () => {
    const mentions = configKeyMentions(units);
    assert.ok(mentions.length >= 100, `found only ${mentions.length} config keys: the reader broke`);
    assert.ok(DOCTOR_CHECK_IDS.size === 0 || DOCTOR_CHECK_IDS.has('redis.access'), `the doctor's check ids were not found: ${[...DOCTOR_CHECK_IDS].join(', ')}`);
    const keys = mentions.filter((m) => !DOCTOR_CHECK_IDS.has(m.name));
    assert.deepEqual(unmarkedMissing(keys, (m) => isConfigKey(m.name)), [], 'keys the config does not have, not marked planned');
  });
});

describe('the doc reader', () => {
  it('marks a unit by its own words or its section lead, not by a neighbour', () => {
    const text = [
      '# `vigil demo`',
      '',
      '## Remediation',
      '',
      '**Not built yet.** None of this works.',
      '',
      '- `vigil plan` prints plans',
      '',
      '## Other',
      '',
      'Run `vigil plan --now`.',
      '',
      '| `--keep` | keep it |',
      '| `--gone` | planned: gone |',
      '',
      '## At a glance: built and planned',
      '',
      'The real thing; Kafka 4 is planned.',
      '',
      '| `vigil doctor` | **planned** |',
      '| `vigil plan` | built |',
    ].join('\n');
    const u = markdownUnits('x.md', text);
    const { commands, flags } = cliMentions(u);
    assert.deepEqual(commands.map((c) => [c.where, c.name, c.marked]), [
      ['x.md:1', 'demo', false],
      ['x.md:7', 'plan', true],
      ['x.md:11', 'plan', false],
      ['x.md:20', 'doctor', true],
      ['x.md:21', 'plan', false],
    ]);
    assert.deepEqual(flags.map((f) => [f.name, f.marked, f.command ?? f.commands?.join()]), [['--now', false, 'plan'], ['--keep', false, 'demo'], ['--gone', true, 'demo']]);
  });

  it('reads invocations in their forms, and not other programs\' flags or prose', () => {
    const lines = [
      '$ vigil lag --brokers a:1 --json | jq --raw-output .x',
      'docker compose exec vigil-1 node /app/dist/src/cli/main.js status --url http://x',
      'npm start -- --scenario kill-a-broker   # --not-this',
      'chrt -r 1 vigil run --config x',
      '3 vigil replicas, Prometheus',
      'kafka-consumer-groups.sh --command-config c.properties',
    ].join('\n');
    const { commands, flags } = cliMentions([{ file: 'x', line: 1, text: lines, code: true, marked: false, sectionCommands: [] }]);
    assert.deepEqual(commands.map((c) => c.name), ['lag', 'status', NPM_START_COMMAND, 'run']);
    assert.deepEqual(flags.map((f) => `${f.command} ${f.name}`), ['lag --brokers', 'lag --json', 'status --url', 'demo --scenario', 'run --config']);
  });

  it('finds paths, metrics and config keys, and matches paths as the router does', () => {
    const u: Unit[] = [{ file: 'x', line: 1, text: '`POST /api/v1/plans/<id>/execute`, http://h:1/api/v1/lag?x=1 and `vigil_up_total`; set `lag.overrides[0].group: g`', code: false, marked: false, sectionCommands: [] }];
    assert.deepEqual(pathMentions(u).map((p) => `${p.method ?? ''} ${p.name}`), ['POST /api/v1/plans/:id/execute', ' /api/v1/lag']);
    assert.deepEqual(metricMentions(u).map((m) => m.name), ['vigil_up_total']);
    assert.deepEqual(configKeyMentions(u).map((m) => m.name), ['lag.overrides[].group']);
    assert.equal(isConfigKey('lag.overrides[].group'), true);
    assert.equal(isConfigKey('peers[].peerUrl'), true);
    assert.equal(isConfigKey('redis.sentinel.sentinelTls.ca'), true);
    assert.equal(isConfigKey('lag.overrides[].nope'), false);
    assert.equal(isConfigKey('remediation.hungAfter'), true);
    assert.equal(isConfigKey('remediation.hungAfterMs'), false);
    const table: RouteEntry[] = [{ method: 'GET', segments: ['api', 'v1', 'lag'] }, { method: 'POST', segments: ['internal', '*'] }, { method: 'GET', segments: ['x', ':id'] }];
    assert.equal(routed(table, '/api/v1/lag', 'GET'), true);
    assert.equal(routed(table, '/api/v1/lag', 'POST'), false);
    assert.equal(routed(table, '/x/:id'), true);
    assert.equal(routed(table, '/internal/message'), false, 'a catch-all is not a route');
    assert.equal(routed(table, '/api/v1/*'), true);
  });
});
