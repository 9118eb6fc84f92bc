/**
 * `vigil doctor` as a user runs it, with nothing to talk to (docs/doctor.md): every server
 * the config names is a closed loopback port. Exit 2 and every problem for a config that
 * does not load; exit 1 with one FAIL line each for Kafka and Redis, a warning for each
 * peer not running — within the probes' own timeouts, never hanging.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { DoctorReport } from '../../src/doctor';
import { type CliResult, runVigil } from '../harness/cli';
import { freePorts } from '../harness/ports';
import { type Raw, validRaw } from './config-fixture';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-doctor-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function doctor(raw: Raw | string, args: string[] = []): Promise<CliResult> {
  const file = path.join(tmp, `c${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, typeof raw === 'string' ? raw : stringify(raw));
  return runVigil(['doctor', '--config', file, ...args]);
}

/** A valid three-replica config whose Kafka, Redis and peers are closed loopback ports. */
async function closedRaw(): Promise<Raw> {
  const [kafka, redis, p2, p3] = await freePorts(4);
  const raw = validRaw();
  raw.kafka.brokers = [`127.0.0.1:${kafka}`];
  raw.redis.url = `redis://127.0.0.1:${redis}`;
  raw.peers[1].peerUrl = `http://127.0.0.1:${p2}`;
  raw.peers[2].peerUrl = `http://127.0.0.1:${p3}`;
  raw.alerting.channels = [];
  return raw;
}

describe('vigil doctor', () => {
  it('exits 2 listing every problem of a config that does not load, and checks nothing', async () => {
    const raw = validRaw();
    raw.election.secret = 'short';
    raw.kafka.brokers = ['no-port'];
    const run = await doctor(raw);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /has 2 problems:\nelection\.secret: .*\nkafka\.brokers\[0\]: /);
  });

  it('with nothing running: FAIL for Kafka and Redis naming the address, a warning per peer, exit 1', async () => {
    const raw = await closedRaw();
    const run = await doctor(raw, ['--json']);
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as DoctorReport & { exitCode: number };
    assert.equal(report.exitCode, 1);
    const status = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
    assert.deepEqual(status, {
      'election.replicas': 'ok',
      'kafka.bootstrap': 'fail',
      'redis.connect': 'fail',
      'peer.vigil-2': 'warn',
      'peer.vigil-3': 'warn',
      'alerting.channels': 'warn',
    });
    const bootstrap = report.checks.find((c) => c.id === 'kafka.bootstrap');
    assert.match(bootstrap?.found ?? '', new RegExp(`^0 of 1 bootstrap broker\\(s\\) answered over PLAINTEXT; ${raw.kafka.brokers[0]}: .*ECONNREFUSED`));
    assert.match(report.checks.find((c) => c.id === 'redis.connect')?.found ?? '', /ECONNREFUSED/);
  });

  it('prints one line per check and a summary without --json', async () => {
    const run = await doctor(await closedRaw());
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 6 + 2);
    assert.match(lines[1] ?? '', /^FAIL  kafka\.bootstrap +0 of 1 bootstrap broker\(s\) answered .* — fix: /);
    assert.match(lines[7] ?? '', /^vigil doctor \(vigil-1, .*\): 1 ok, 3 warning\(s\), 2 failed — vigil cannot run as configured$/);
  });
});
