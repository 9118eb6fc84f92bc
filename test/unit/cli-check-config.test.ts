/**
 * `vigil check-config --config <file>` as a user runs it (docs/design.md §7): exit 0 with a
 * summary that shows no secret, or exit 2 with every problem on its own line as
 * `<key path>: <message>` — and never a stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ADMIN_TOKEN, PEER_SECRET, validRaw } from './config-fixture';

const root = path.resolve(__dirname, '..', '..', '..');
const mainJs = path.join(root, 'dist', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-check-config-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const STACK_TRACE = /^\s+at .+:\d+:\d+\)?$/m;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function checkConfig(args: string[], env: Record<string, string> = {}): Run {
  // The caller's own VIGIL_* variables must not leak into what the test checks.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_PEER') && !k.startsWith('VIGIL_ADMIN')));
  const r = spawnSync(process.execPath, [mainJs, 'check-config', ...args], { encoding: 'utf8', env: { ...base, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function writeConfig(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

function assertNoStackTrace(run: Run): void {
  assert.doesNotMatch(run.stdout, STACK_TRACE);
  assert.doesNotMatch(run.stderr, STACK_TRACE);
}

describe('vigil check-config on a valid file', () => {
  const file = writeConfig('good.yaml', stringify(validRaw()));
  const run = checkConfig(['--config', file]);

  it('exits 0 with a summary of cluster, node, peers, brokers and channels', () => {
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /^config OK: /);
    assert.match(run.stdout, /cluster\s+local\n/);
    assert.match(run.stdout, /node\s+vigil-1, listening on 127\.0\.0\.1:9464/);
    assert.match(run.stdout, /peers\s+3: vigil-1 \(this node\) http:\/\/127\.0\.0\.1:9464, vigil-2 .*, vigil-3 /);
    assert.match(run.stdout, /kafka\s+127\.0\.0\.1:9092 \(plaintext\)/);
    assert.match(run.stdout, /channels\s+webhook-0 \(webhook → http:\/\/127\.0\.0\.1:9000\)/);
  });

  it('prints no secret', () => {
    assert.ok(!run.stdout.includes(PEER_SECRET));
    assert.ok(!run.stdout.includes(ADMIN_TOKEN));
    assert.match(run.stdout, /secret set/);
  });

  it('accepts the shipped example once its variables are set', () => {
    const example = path.join(root, 'deploy', 'vigil.example.yaml');
    const ok = checkConfig(['--config', example], { VIGIL_PEER_SECRET: PEER_SECRET, VIGIL_ADMIN_TOKEN: ADMIN_TOKEN });
    assert.equal(ok.code, 0, ok.stderr);
  });
});

describe('vigil check-config on an invalid file', () => {
  const raw = validRaw();
  raw.peers[1].id = 'vigil-1';
  raw.election.electionTimeout = '150ms';
  raw.election.hartbeatInterval = '50ms';
  raw.kafka.brokers = ['kafka-1'];
  raw.lag.overrides[0].severity = 'urgent';
  raw.http.adminToken = '${NOT_SET_ANYWHERE}';
  const file = writeConfig('bad.yaml', stringify(raw));
  const run = checkConfig(['--config', file]);

  it('exits 2 and prints every problem on its own line as "<key path>: <message>"', () => {
    assert.equal(run.code, 2);
    const lines = run.stderr.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^vigil: config file ".*bad\.yaml" has 6 problems:$/);
    const paths = lines.slice(1).map((l) => l.slice(0, l.indexOf(': ')));
    assert.deepEqual(paths.sort(), [
      'election.electionTimeout',
      'election.hartbeatInterval',
      'http.adminToken',
      'kafka.brokers[0]',
      'lag.overrides[0].severity',
      'peers[1].id',
    ]);
    assert.ok(lines.includes('election.hartbeatInterval: unknown key; did you mean "heartbeatInterval"?'), run.stderr);
  });

  it('names the expected form in each message', () => {
    assert.match(run.stderr, /kafka\.brokers\[0\]: expected host:port such as "127\.0\.0\.1:9092"/);
    assert.match(run.stderr, /lag\.overrides\[0\]\.severity: expected one of "critical", "warning", "info"/);
  });

  it('prints no stack trace and nothing on stdout', () => {
    assertNoStackTrace(run);
    assert.equal(run.stdout, '');
  });

  it('names the unset variables of the shipped example when they are not set', () => {
    const example = checkConfig(['--config', path.join(root, 'deploy', 'vigil.example.yaml')]);
    assert.equal(example.code, 2);
    assert.match(example.stderr, /^election\.secret: environment variable VIGIL_PEER_SECRET is not set/m);
    assert.match(example.stderr, /^http\.adminToken: environment variable VIGIL_ADMIN_TOKEN is not set/m);
  });
});

describe('vigil check-config on a duration without a unit', () => {
  it('exits 2 naming lag.threshold and the two readings (issue 8 defect 12: it passed and paged on any lag)', () => {
    const raw = validRaw();
    raw.lag.threshold = 10;
    raw.lag.resolveBelow = '8s';
    const run = checkConfig(['--config', writeConfig('bare-threshold.yaml', stringify(raw))], { VIGIL_PEER_SECRET: PEER_SECRET, VIGIL_ADMIN_TOKEN: ADMIN_TOKEN });
    assert.equal(run.code, 2, run.stdout);
    assert.match(run.stderr, /^lag\.threshold: expected a duration with a unit; .* write "10s" for seconds or "10ms" for milliseconds; got 10$/m);
  });
});

describe('vigil check-config on input that is not a config at all', () => {
  it('a missing file: exit 2, CONFIG_READ_FAILED naming the path, no stack trace', () => {
    const missing = path.join(tmp, 'missing.yaml');
    const run = checkConfig(['--config', missing]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `vigil: CONFIG_READ_FAILED: cannot read config file "${missing}": no such file; pass the path of a readable YAML file with --config\n`);
    assertNoStackTrace(run);
  });

  it('a YAML syntax error: exit 2 with line and column, no stack trace', () => {
    const file = writeConfig('syntax.yaml', 'cluster: local\nnode: { id: a\npeers: []\n');
    const run = checkConfig(['--config', file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^YAML syntax error at line \d+, column \d+: /m);
    assertNoStackTrace(run);
  });

  it('a file that is not a mapping: exit 2, no stack trace', () => {
    const file = writeConfig('list.yaml', '- a\n- b\n');
    const run = checkConfig(['--config', file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /expected a YAML mapping with the sections cluster, node, peers/);
    assertNoStackTrace(run);
  });

  it('binary garbage: exit 2, no stack trace', () => {
    const file = path.join(tmp, 'garbage.yaml');
    fs.writeFileSync(file, Buffer.from([0x00, 0xff, 0x3a, 0x7b, 0x5b, 0x0a, 0x09, 0x2d, 0x26, 0x2a]));
    const run = checkConfig(['--config', file]);
    assert.equal(run.code, 2);
    assertNoStackTrace(run);
  });

  it('no --config: exit 2 as a usage error', () => {
    const run = checkConfig([]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /required option '-c, --config <file>' not specified/);
    assertNoStackTrace(run);
  });
});
