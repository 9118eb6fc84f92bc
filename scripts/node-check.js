'use strict';
/**
 * The test and bench runners refuse a Node outside package.json's `engines`: CI's claim
 * that vigil works on that line holds only if the tests really ran on it. setup.sh puts
 * that Node in .cache/node. The children a runner starts get this Node first on PATH, so
 * anything that runs `node` by name uses it too (process.execPath covers the rest).
 */
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const range = require(path.join(root, 'package.json')).engines.node;

/** The major `engines.node` names ("^26" -> 26); the form is checked by test/unit/node-version.test.ts. */
function supportedMajor() {
  const m = /^\^(\d+)(\.\d+){0,2}$/.exec(range);
  if (!m) throw new Error(`package.json engines.node is "${range}"; the runners understand "^<major>" only`);
  return Number(m[1]);
}

function requireSupportedNode(runner) {
  const major = supportedMajor();
  if (Number(process.versions.node.split('.')[0]) === major) return;
  console.error(
    `${runner}: vigil runs and is tested on Node ${major} (package.json engines "${range}"), ` +
      `but this is Node ${process.versions.node} (${process.execPath}). ` +
      `Run \`bash scripts/setup.sh\` (it installs Node ${major} into .cache/node), then \`npm test\`, ` +
      `or put ${path.join(root, '.cache', 'node', 'bin')} first on PATH.`,
  );
  process.exit(1);
}

/** process.env for a child: this Node's directory first on PATH. */
function childEnv(extra) {
  const bin = path.dirname(process.execPath);
  const rest = (process.env.PATH || '').split(path.delimiter).filter((p) => p !== '' && p !== bin);
  return { ...process.env, ...extra, PATH: [bin, ...rest].join(path.delimiter) };
}

module.exports = { requireSupportedNode, childEnv, supportedMajor };
