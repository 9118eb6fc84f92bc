/**
 * On Node >= 24 kafkajs 2.2.4's negative setTimeout delay prints a TimeoutNegativeWarning
 * at the first Kafka connection (tulios/kafkajs#1751). The CLI drops that one warning when
 * kafkajs caused it, and only then: a negative delay anywhere else still warns.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';

const filterModule = path.resolve(__dirname, '..', '..', 'src', 'kafka', 'kafkajs-warnings.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-kafkajs-warnings-'));
// Stand-ins for a module inside kafkajs and one outside it; each sets a negative timeout.
const negativeTimeout = "module.exports = () => setTimeout(() => {}, -1764000000000);\n";
fs.mkdirSync(path.join(tmp, 'node_modules', 'kafkajs', 'src'), { recursive: true });
fs.writeFileSync(path.join(tmp, 'node_modules', 'kafkajs', 'src', 'queue.js'), negativeTimeout);
fs.writeFileSync(path.join(tmp, 'elsewhere.js'), negativeTimeout);
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function stderrOf(caller: string, filter: boolean): string {
  const script = [
    filter ? `require(${JSON.stringify(filterModule)}).silenceKafkajsNegativeTimeoutWarning();` : '',
    `require(${JSON.stringify(caller)})();`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

describe("kafkajs' negative-timeout warning", () => {
  const inKafkajs = path.join(tmp, 'node_modules', 'kafkajs', 'src', 'queue.js');
  const elsewhere = path.join(tmp, 'elsewhere.js');

  it('is what this Node prints for a negative delay in kafkajs without the filter', () => {
    assert.match(stderrOf(inKafkajs, false), /TimeoutNegativeWarning/);
  });

  it('is not printed when kafkajs caused it', () => {
    assert.equal(stderrOf(inKafkajs, true), '');
  });

  it('still prints for a negative delay outside kafkajs', () => {
    assert.match(stderrOf(elsewhere, true), /TimeoutNegativeWarning/);
  });
});
