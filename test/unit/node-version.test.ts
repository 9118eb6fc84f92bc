/**
 * One Node line everywhere: package.json `engines` says which major vigil supports, and
 * the Node setup.sh installs, @types/node, the container image (test/unit/deploy.test.ts)
 * and the Node these tests run on must all be that major. The first test is what makes
 * "CI runs on the supported Node" true: CI runs the README's `npm test`, which runs the
 * tests on setup.sh's Node, and this fails on any other.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(read('package-lock.json')) as {
  packages: Record<string, { version?: string; engines?: { node: string } }>;
};
const majorOf = (version: string): number => Number(/^v?(\d+)\./.exec(version)![1]);
const setupVar = (name: string): string => {
  const m = new RegExp(`^${name}="([^"]+)"$`, 'm').exec(read('scripts/setup.sh'));
  assert.ok(m, `scripts/setup.sh sets no ${name}`);
  return m[1]!;
};

describe('the supported Node line (package.json engines)', () => {
  const m = /^\^(\d+)$/.exec(pkg.engines.node);
  it('is one major, written "^<major>" (the form scripts/node-check.js reads)', () => {
    assert.ok(m, `engines.node is "${pkg.engines.node}"`);
    assert.equal(lock.packages['']!.engines?.node, pkg.engines.node, 'package-lock.json is stale: run npm install');
  });
  const major = Number(m?.[1]);

  it('is the Node these tests run on', () => {
    assert.equal(majorOf(process.version), major, `tests run on ${process.version} (${process.execPath})`);
  });

  it('is the Node a test gets when it runs `node` by name (the runner puts its own Node first on PATH)', () => {
    const r = spawnSync('node', ['-p', 'process.version'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), process.version);
  });

  it('is the Node scripts/setup.sh installs', () => {
    assert.equal(majorOf(setupVar('node_version')), major);
  });

  it('is the Node @types/node describes', () => {
    assert.match(pkg.devDependencies['@types/node']!, new RegExp(`^\\^${major}\\.`));
    assert.equal(majorOf(lock.packages['node_modules/@types/node']!.version!), major);
  });
});
