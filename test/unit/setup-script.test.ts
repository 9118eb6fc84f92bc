/**
 * scripts/setup.sh, which `npm start` and `npm test` run first (issue 11 item 7): every step
 * that may take long says so before it starts — the nearest `say` before each slow command
 * is an announcement ("...; takes ... ...") — and the no-op path stays cheap: no build
 * unless an input of tsc is newer than the last build's stamp.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');
const script = fs.readFileSync(path.join(root, 'scripts', 'setup.sh'), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** Commands that can take from seconds to minutes, by what the line runs. */
const SLOW: ReadonlyArray<{ what: string; re: RegExp }> = [
  { what: 'apt-get update', re: /apt-get .*\bupdate\b/ },
  { what: 'apt-get install', re: /apt-get .*\binstall\b/ },
  { what: 'mvn', re: /^\s*(?:if ! )?mvn\b/ },
  { what: 'the Node download', re: /\$\(fetch_tarball / },
  { what: 'npm ci', re: /\bnpm ci\b/ },
  { what: 'the build', re: /\bnpm run build\b/ },
  { what: 'creating the class archive', re: /class-archive\.js(?! --check)/ },
];

/** Lines of the script without comments and heredocs. */
function codeLines(text: string): Array<{ n: number; line: string }> {
  const out: Array<{ n: number; line: string }> = [];
  let heredoc: string | undefined;
  text.split('\n').forEach((line, i) => {
    if (heredoc !== undefined) {
      if (line.trim() === heredoc) heredoc = undefined;
      return;
    }
    const start = /<<-?'?(\w+)'?/.exec(line);
    if (start) heredoc = start[1];
    if (/^\s*#/.test(line)) return;
    out.push({ n: i + 1, line });
  });
  return out;
}

/** For each slow command: its line and the nearest `say` before it. */
export function slowSteps(text: string): Array<{ what: string; n: number; announcement: string | undefined }> {
  const lines = codeLines(text);
  const found: Array<{ what: string; n: number; announcement: string | undefined }> = [];
  lines.forEach(({ n, line }, i) => {
    // messages and checks name the commands too; only a line that runs one counts
    if (/^\s*(?:say|die) |command -v /.test(line)) return;
    const slow = SLOW.find((s) => s.re.test(line));
    if (!slow) return;
    const before = lines.slice(0, i).reverse().find((l) => /^\s*say /.test(l.line));
    found.push({ what: slow.what, n, announcement: before?.line.trim() });
  });
  return found;
}

const announces = (say: string | undefined): boolean => say !== undefined && /; takes [^"]+\.\.\."$/.test(say);

describe('scripts/setup.sh (issue 11 item 7)', () => {
  it('npm start and npm test run it first', () => {
    assert.match(pkg.scripts['start'] ?? '', /^bash scripts\/setup\.sh && /);
    assert.match(pkg.scripts['test'] ?? '', /^bash scripts\/setup\.sh && /);
  });

  it('announces every slow step, with how long it takes, before it starts', () => {
    const steps = slowSteps(script);
    // each kind is found: a renamed command must not silently leave this test with nothing to check
    assert.deepEqual([...new Set(steps.map((s) => s.what))].sort(), SLOW.map((s) => s.what).sort());
    const silent = steps.filter((s) => !announces(s.announcement)).map((s) => `line ${s.n} (${s.what}): nearest say before it: ${s.announcement ?? 'none'}`);
    assert.deepEqual(silent, [], 'say "<step>: ...; takes <how long> ..." before these');
  });

  it('the check catches a slow step whose announcement is missing', () => {
    const text = ['say "kafka jars: skipped"', 'if ! mvn -q -B dependency:copy-dependencies; then', '  die "failed"', 'fi'].join('\n');
    const [step] = slowSteps(text);
    assert.equal(step?.what, 'mvn');
    assert.equal(announces(step?.announcement), false);
    assert.equal(announces('say "npm: running npm ci; takes up to a minute ..."'), true);
  });

  it('builds only when an input of tsc is newer than the stamp of the last good build', () => {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const inputs = /^build_inputs=\(([^)]*)\)$/m.exec(script)?.[1]?.split(/\s+/) ?? [];
    // every directory tsc compiles from is watched, and the settings that change its output
    for (const include of tsconfig.include) assert.ok(inputs.includes(include.split('/')[0] as string), `${include} is not among build_inputs`);
    for (const file of ['tsconfig.json', 'package.json', 'package-lock.json', 'node_modules/.package-lock.json']) assert.ok(inputs.includes(file), file);
    assert.match(script, /find "\$\{build_inputs\[@\]\}" -newer "\$build_stamp"/);
    // the stamp is taken before tsc runs and kept only when it succeeds
    const build = script.slice(script.indexOf('touch "$build_stamp.next"'));
    assert.ok(build.indexOf('npm run build') < build.indexOf('mv "$build_stamp.next" "$build_stamp"'));
  });
});
