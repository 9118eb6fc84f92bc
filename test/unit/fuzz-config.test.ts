/**
 * Fuzzes the config loader and validator: whatever YAML an operator writes, `vigil` must
 * answer with the config or with the list of problems (CONFIG_INVALID), never with another
 * exception, and never hang. Cases: valid configs (the docs/design.md §7 example, the smallest
 * config, deploy/vigil.example.yaml) with values, keys and whole sections replaced by odd
 * ones, their YAML text mutated line by line and byte by byte, random documents, deep
 * nesting, alias bombs, and odd environment variables for `${...}`.
 * See test/unit/fuzz.ts for seeds and replaying a case.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { CONFIG_KEYS, checkConfig, configInvalid, configProblemsOf, formatProblem, parseConfigYaml, summarizeConfig } from '../../src/config';
import type { Env } from '../../src/config';
import { isVigilError } from '../../src/errors';
import type { Rng } from '../sim/prng';
import { PEER_SECRET, minimalRaw, validRaw } from './config-fixture';
import { fuzzSeed, runFuzz, serveFuzzCases } from './fuzz';

const EXAMPLE_FILE = path.resolve(__dirname, '../../../deploy/vigil.example.yaml');
/** Relative paths in fuzzed values resolve here: nothing exists below it. */
const BASE_DIR = path.join(path.parse(process.cwd()).root, 'nonexistent-vigil-fuzz');

/** An own "__proto__" key, as YAML can write one (an object literal would set the prototype). */
const protoKey = (): Record<string, unknown> => JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;

const ODD_VALUES: readonly (() => unknown)[] = [
  () => null, () => true, () => false, () => 0, () => -1, () => 1, () => 1.5, () => 2 ** 53 + 2, () => 1e308, () => -1e308,
  () => Infinity, () => -Infinity, () => NaN, () => '', () => ' ', () => '0', () => '10', () => '-5s', () => '1m30s', () => '10s',
  () => '100ms', () => '1h', () => '1.5s', () => '0s', () => '1e3ms', () => '99999999999999999999h', () => 'NaN', () => 'Infinity',
  () => '${VIGIL_PEER_SECRET}', () => '${FUZZ_VAR}', () => '${UNSET_VAR}', () => '${', () => '${A:-}', () => '${:-x}', () => '$${x}',
  () => '${FUZZ_VAR:-${FUZZ_VAR}}', () => '}', () => 'http://', () => 'http://[::1', () => 'https://x:99999/', () => 'ftp://x/',
  () => 'http://user:pa%ss@127.0.0.1:9000/hook?x#y', () => 'redis://', () => 'rediss://u:p@h:1/2', () => 'redis://h:6379/99999',
  () => '127.0.0.1:0', () => ':9092', () => 'host:-1', () => '[::1]:9092', () => 'h:65536', () => '*', () => '**', () => '[',
  () => 'a'.repeat(5000), () => '\u0000', () => '\ud800', () => 'é\u202e', () => '__proto__', () => 'constructor', () => 'toString',
  () => 'webhook', () => 'slack', () => 'pagerduty', () => 'alertmanager', () => 'auto', () => 'off', () => 'dry-run',
  () => 'critical', () => 'warning', () => 'info', () => 'scram-sha-512', () => 'plain', () => 'vigil-1', () => 'vigil-2',
  () => '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', () => '.', () => './missing.pem',
  () => [], () => ({}), () => [null], () => [[]], () => [{}], () => ['*'], () => ['127.0.0.1:9092', 7], () => protoKey(),
  () => ({ toString: 1, valueOf: 'x' }), () => ({ type: 'webhook' }), () => ({ id: 'vigil-1', url: 'http://127.0.0.1:9464' }),
];

const ODD_STRINGS = ODD_VALUES.map((v) => v()).filter((v): v is string => typeof v === 'string');

const ALL_KEYS = [...new Set(Object.values(CONFIG_KEYS).flat())];
const ODD_KEYS = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', '', ' ', 'a.b', '[0]', '${FUZZ_VAR}', 'Node', 'node '];

function oddValue(rng: Rng): unknown {
  return rng.pick(ODD_VALUES)();
}

type Tree = Record<string, unknown> | unknown[];

function isTree(v: unknown): v is Tree {
  return v !== null && typeof v === 'object';
}

/** The containers of `root`, with `root` itself, each reachable for a mutation. */
function containers(root: Tree): Tree[] {
  const out: Tree[] = [root];
  for (let i = 0; i < out.length; i++) {
    for (const v of Object.values(out[i] as Tree)) if (isTree(v)) out.push(v);
  }
  return out;
}

function setIn(node: Tree, key: string | number, value: unknown): void {
  if (Array.isArray(node)) node[Number(key)] = value;
  // defineProperty: an own "__proto__" key stays a key
  else Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

function mutateTree(rng: Rng, root: Record<string, unknown>): void {
  for (let m = rng.int(1, 6); m > 0; m--) {
    const all = containers(root);
    const node = rng.pick(all);
    const keys = Object.keys(node);
    const op = rng.weighted([['replace', 6], ['delete', 2], ['add', 2], ['transplant', 2], ['wrap', 1], ['grow', 1]] as const);
    if (op === 'add' || keys.length === 0) {
      setIn(node, Array.isArray(node) ? node.length : rng.chance(0.7) ? rng.pick(ALL_KEYS) : rng.pick(ODD_KEYS), oddValue(rng));
      continue;
    }
    const key = rng.pick(keys);
    const current = (node as Record<string, unknown>)[key];
    if (op === 'replace') setIn(node, key, oddValue(rng));
    else if (op === 'delete') {
      if (Array.isArray(node)) node.splice(Number(key), 1);
      else delete node[key];
    } else if (op === 'transplant') setIn(node, key, structuredClone(rng.pick(all)));
    else if (op === 'wrap') setIn(node, key, rng.chance(0.5) ? [current] : { [rng.pick(ALL_KEYS)]: current });
    else if (Array.isArray(current)) for (let n = rng.int(1, 50); n > 0; n--) current.push(structuredClone(current[0] ?? oddValue(rng)));
    else setIn(node, key, Array.from({ length: rng.int(1, 50) }, () => current));
  }
}

const YAML_TOKENS = [
  '&a x', '*a', '<<: *a', '? x', '- - -', '{', '}', '[', ']', '"unterminated', "'", '!!str', '!!int x', '!!binary aGk=', '!!set {a}',
  '!!omap [a: 1]', '!custom x', '---', '...', '%YAML 1.1', '%TAG ! tag:x,2000:', '#', 'key: |', 'key: >-', '  - ', '~', 'a: &b [*b]',
  '\t', ': ', ' :', 'x: y: z', '@', '`', '%', '&', '*', '"\\u0000"', '"\\ud800"', '0x1F', '0o17', '.inf', '-.inf', '.nan', '1_000',
  '2026-12-03', 'yes', 'no', 'on', '<<', '? [a, b]\n: c', 'node: {id: x, id: y}',
];

function mutateText(rng: Rng, text: string): string {
  const lines = text.split('\n');
  for (let m = rng.int(1, 5); m > 0; m--) {
    const i = rng.int(0, lines.length);
    const line = lines[i] ?? '';
    const op = rng.weighted([['token', 4], ['delete', 2], ['duplicate', 2], ['swap', 1], ['indent', 2], ['bytes', 3]] as const);
    if (op === 'token') {
      const at = rng.int(0, line.length + 1);
      lines[i] = line.slice(0, at) + rng.pick(YAML_TOKENS) + line.slice(at);
    } else if (op === 'delete') lines.splice(i, 1);
    else if (op === 'duplicate') lines.splice(i, 0, line);
    else if (op === 'swap') {
      const j = rng.int(0, lines.length);
      lines[i] = lines[j] ?? '';
      lines[j] = line;
    } else if (op === 'indent') lines[i] = rng.pick(['', ' ', '  ', '    ', '\t']) + line.trimStart();
    else {
      const chars = [...line];
      for (let n = rng.int(1, 4); n > 0; n--) chars[rng.int(0, chars.length + 1)] = String.fromCharCode(rng.int(0, 128));
      lines[i] = chars.join('');
    }
  }
  return lines.join('\n');
}

function randomTree(rng: Rng, depth: number): unknown {
  if (depth <= 0 || rng.chance(0.3)) return oddValue(rng);
  if (rng.chance(0.3)) return Array.from({ length: rng.int(0, 4) }, () => randomTree(rng, depth - 1));
  const out: Record<string, unknown> = {};
  for (let n = rng.int(0, 6); n > 0; n--) setIn(out, rng.chance(0.8) ? rng.pick(ALL_KEYS) : rng.pick(ODD_KEYS), randomTree(rng, depth - 1));
  return out;
}

function deepText(rng: Rng): string {
  const depth = rng.int(20, 800);
  return rng.chance(0.5) ? `cluster: ${'['.repeat(depth)}x${']'.repeat(depth)}\n` : `node: ${'{a: '.repeat(depth)}x${'}'.repeat(depth)}\n`;
}

/** "Billion laughs": each alias level multiplies the size. */
function aliasBomb(rng: Rng): string {
  const levels = rng.int(3, 12);
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let l = 1; l < levels; l++) lines.push(`a${l}: &a${l} [${Array.from({ length: 10 }, () => `*a${l - 1}`).join(', ')}]`);
  lines.push(`cluster: *a${levels - 1}`);
  return lines.join('\n');
}

function oddEnv(rng: Rng): Env {
  const env: Record<string, string> = {};
  for (const name of ['VIGIL_PEER_SECRET', 'VIGIL_ADMIN_TOKEN', 'FUZZ_VAR']) {
    if (rng.chance(0.8)) env[name] = rng.chance(0.5) ? PEER_SECRET : rng.pick(ODD_STRINGS);
  }
  return env;
}

let exampleText: string | undefined;
let exampleTree: Record<string, unknown> | undefined;

function example(): string {
  exampleText ??= fs.readFileSync(EXAMPLE_FILE, 'utf8');
  return exampleText;
}

/** Loads `text` (or takes the parsed tree) the way `vigil` does; the outcome or a failed property. */
function check(rng: Rng, input: { text: string } | { raw: unknown }, label: string): string {
  let raw: unknown;
  if ('text' in input) {
    try {
      raw = parseConfigYaml(input.text, 'fuzz.yaml');
    } catch (err) {
      assert.ok(isVigilError(err) && err.code === 'CONFIG_INVALID', `parseConfigYaml threw ${err instanceof Error ? err.stack : String(err)}`);
      const problems = configProblemsOf(err);
      assert.ok(problems !== undefined && problems.length > 0, 'CONFIG_INVALID without problems');
      return `${label}:syntax`;
    }
  } else {
    raw = input.raw;
  }
  const result = checkConfig(raw, oddEnv(rng), { baseDir: BASE_DIR });
  if (result.ok) {
    assert.ok(Object.isFrozen(result.config), 'a config that is not frozen');
    for (const [k, v] of summarizeConfig(result.config)) assert.ok(typeof k === 'string' && typeof v === 'string');
    return `${label}:ok`;
  }
  assert.ok(result.problems.length > 0, 'not ok, yet no problem');
  for (const pr of result.problems) {
    assert.ok(typeof pr.path === 'string' && typeof pr.message === 'string' && pr.message.length > 0, JSON.stringify(pr));
    assert.equal(typeof formatProblem(pr), 'string');
  }
  assert.equal(configInvalid(result.problems, 'fuzz.yaml').code, 'CONFIG_INVALID');
  return `${label}:problems`;
}

function baseTree(rng: Rng): Record<string, unknown> {
  const pick = rng.int(0, 3);
  if (pick === 0) return validRaw();
  if (pick === 1) return minimalRaw();
  exampleTree ??= parseConfigYaml(example(), EXAMPLE_FILE) as Record<string, unknown>;
  return structuredClone(exampleTree);
}

function oneCase(rng: Rng): string {
  const kind = rng.weighted([['tree', 5], ['text', 5], ['random', 2], ['deep', 0.3], ['aliases', 0.3]] as const);
  switch (kind) {
    case 'tree': {
      const raw = baseTree(rng);
      mutateTree(rng, raw);
      return rng.chance(0.5) ? check(rng, { raw }, 'tree') : check(rng, { text: stringify(raw) }, 'tree');
    }
    case 'text': {
      const text = rng.chance(0.3) ? example() : stringify(baseTree(rng));
      return check(rng, { text: mutateText(rng, text) }, 'text');
    }
    case 'random':
      return check(rng, rng.chance(0.5) ? { raw: randomTree(rng, 5) } : { text: stringify(randomTree(rng, 5)) }, 'random');
    case 'deep':
      return check(rng, { text: deepText(rng) }, 'deep');
    case 'aliases':
      return check(rng, { text: aliasBomb(rng) }, 'aliases');
  }
}

const CASES = 1200;

if (!serveFuzzCases(oneCase)) {
  describe('the config validator and deep documents (found by this fuzzer)', () => {
    it('reports a document nested thousands deep as a problem instead of overflowing the stack', () => {
      let deep: unknown = 'x';
      for (let i = 0; i < 100_000; i++) deep = [deep];
      const result = checkConfig({ ...minimalRaw(), cluster: deep }, {}, { baseDir: BASE_DIR });
      assert.ok(!result.ok);
      assert.deepEqual(result.problems.map((pr) => pr.path), ['']);
      assert.match(result.problems[0]!.message, /^nested more than 32 levels deep/);
      // as deep as a real config goes is fine
      assert.ok(checkConfig(validRaw(), {}, { baseDir: BASE_DIR }).ok);
    });
  });

  describe('fuzz: the config loader over random and mutated YAML', () => {
    it('answers a config or its problems, never another exception, for any document and environment', async (t) => {
      const seed = fuzzSeed();
      t.diagnostic(`fuzz seed ${seed} (VIGIL_FUZZ_SEED=${seed} replays this run)`);
      const run = await runFuzz(__filename, { seed, cases: CASES });
      t.diagnostic(`outcomes: ${JSON.stringify(run.outcomes)}`);
      if (run.cases < CASES) return; // one case replayed
      // the run reached valid configs and each kind of rejection, so it could have found a fault in each
      const count = (...outcomes: string[]) => outcomes.reduce((n, o) => n + (run.outcomes[o] ?? 0), 0);
      assert.ok(count('tree:ok', 'text:ok') > 0, `no case compiled to a config: ${JSON.stringify(run.outcomes)}`);
      for (const outcome of ['tree:problems', 'text:problems', 'text:syntax', 'random:problems', 'deep:problems', 'aliases:syntax']) {
        assert.ok(count(outcome) > 0, `no case ended ${outcome}: ${JSON.stringify(run.outcomes)}`);
      }
    });
  });
}
