/**
 * `vigil demo --with-prometheus` (docs/demo.md; issue 11 item 3): the real command as a
 * process, with its brokers, Redis, replicas and Debian's prometheus and
 * prometheus-alertmanager. Prometheus must scrape every replica (its targets up), load the
 * shipped rule groups from deploy/prometheus/vigil-rules.yml and find the Alertmanager;
 * Ctrl-C must stop all nine processes and leave nothing. Waits are deadlines, never timing
 * assertions.
 *
 * This is also npm test's run of the demo without a scenario (docs/design.md §9 "vigil demo
 * / npm start"; test/e2e/demo.test.ts plays a scenario): where everything is, the live
 * summary naming the leader, and Ctrl-C. --with-prometheus only adds two processes and
 * their lines to that run, so one demo stack covers both.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { SHIPPED_RULES_FILE } from '../../src/demo/prometheus-config';
import { assertDemoLeftNothing, cleanUpDemo, demoExit, startDemo } from '../harness/demo';
import { waitFor } from '../harness/wait';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-demo-prometheus-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function getJson(url: string): Promise<Json> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200, `GET ${url}`);
  return (await res.json()) as Json;
}

/** The URL printed after `label` in the "where everything is" block. */
function printedUrl(out: string, label: string): string | undefined {
  return new RegExp(`^ {2}${label} +(http://127\\.0\\.0\\.1:\\d+)`, 'm').exec(out)?.[1];
}

describe('vigil demo --with-prometheus (docs/demo.md)', () => {
  it('Prometheus scrapes every replica with the shipped rules loaded and finds the Alertmanager; Ctrl-C stops all nine processes', async () => {
    const run = startDemo(base, 'with-prometheus', ['--with-prometheus']);
    try {
      await waitFor(() => /^live summary every second below/m.test(run.output()), {
        timeoutMs: 180_000,
        intervalMs: 200,
        what: `the demo to be up (output so far:\n${run.output().slice(-3000)})`,
      });
      // Two summary lines naming the leader: the stack is up and the loop runs.
      await waitFor(() => (run.output().match(/^\+\s*[\d.]+s {2}leader vigil-\d \(term \d+\)/gm) ?? []).length >= 2, {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: `two live summary lines (output so far:\n${run.output().slice(-2000)})`,
      });
      const out = run.output();
      assert.match(out, /kafka brokers {3}1: 127\.0\.0\.1:\d+ {3}2: 127\.0\.0\.1:\d+ {3}3: 127\.0\.0\.1:\d+/);
      assert.match(out, /redis {11}redis:\/\/127\.0\.0\.1:\d+/);
      for (const route of ['/api/v1/status', '/api/v1/lag', '/api/v1/alerts', '/api/v1/events', '/metrics']) {
        assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:\\d+${route.replace(/\//g, '\\/')}`), `the ${route} URL is printed`);
      }
      // the try lines and the status page name the replica that leads, whichever it is
      const leaderUrl = /^ {4}vigil-\d \(leader, term \d+\) {2}(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1];
      assert.ok(leaderUrl, `the leader is marked in the replica list:\n${out}`);
      assert.ok(out.includes(`status --url ${leaderUrl}\n`), `the try lines use the leader's URL ${leaderUrl}:\n${out}`);
      assert.ok(out.includes(`  status page     ${leaderUrl}/\n`), `the status page line is the leader's GET /:\n${out}`);

      const prometheus = printedUrl(out, 'prometheus');
      const alertmanager = printedUrl(out, 'alertmanager');
      assert.ok(prometheus && alertmanager, `both URLs are printed:\n${out}`);
      const replicaUrls = [...out.matchAll(/^ {4}vigil-\d(?: \(leader, term \d+\))? {2}(http:\/\/127\.0\.0\.1:\d+)$/gm)].map((m) => m[1] as string);
      assert.equal(replicaUrls.length, 3, out);

      // every replica's /metrics is a target of the vigil job, and is up
      const targets = await waitFor(
        async () => {
          const active = ((await getJson(`${prometheus}/api/v1/targets`))['data']['activeTargets'] as Json[]).filter((t) => t['labels']['job'] === 'vigil');
          return active.length === 3 && active.every((t) => t['health'] === 'up') ? active : null;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: "Prometheus to report the 3 replicas' scrape targets up" },
      );
      assert.deepEqual(targets.map((t) => t['scrapeUrl']).sort(), replicaUrls.map((u) => `${u}/metrics`).sort());

      // the shipped groups, from the shipped file, with every rule in it
      const shipped = (parse(fs.readFileSync(SHIPPED_RULES_FILE, 'utf8')) as { groups: Array<{ name: string; rules: unknown[] }> }).groups;
      const groups = (await getJson(`${prometheus}/api/v1/rules`))['data']['groups'] as Json[];
      assert.deepEqual(groups.map((g) => g['name']).sort(), shipped.map((g) => g.name).sort());
      for (const g of groups) {
        assert.equal(g['file'], SHIPPED_RULES_FILE);
        assert.equal((g['rules'] as Json[]).length, shipped.find((s) => s.name === g['name'])?.rules.length, `rules of ${g['name']}`);
      }
      // the rules evaluate against the replicas' series: exactly one replica leads
      await waitFor(
        async () => {
          const r = (await getJson(`${prometheus}/api/v1/query?query=${encodeURIComponent('cluster:vigil_election_is_leader:sum')}`))['data']['result'] as Json[];
          return r.length === 1 && r[0]?.['value'][1] === '1';
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'the recording rule cluster:vigil_election_is_leader:sum to be 1' },
      );
      const ams = (await getJson(`${prometheus}/api/v1/alertmanagers`))['data']['activeAlertmanagers'] as Json[];
      assert.deepEqual(ams.map((a) => a['url']), [`${alertmanager}/api/v2/alerts`]);
      assert.equal((await fetch(`${alertmanager}/-/ready`)).status, 200);

      run.proc.signal('SIGINT');
      const status = await demoExit(run, 60_000);
      assert.equal(status.code, 130, run.output().slice(-3000));
      assertDemoLeftNothing(run, { count: 9, what: '3 brokers, Redis, 3 replicas, Prometheus and Alertmanager' });
      await assert.rejects(fetch(`${prometheus}/-/ready`, { signal: AbortSignal.timeout(2000) }), 'Prometheus no longer answers');
    } finally {
      await cleanUpDemo(run);
    }
  });
});
