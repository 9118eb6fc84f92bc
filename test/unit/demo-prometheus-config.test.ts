/**
 * What `vigil demo --with-prometheus` runs Prometheus and Alertmanager with
 * (src/demo/prometheus-config.ts, docs/demo.md): every replica scraped, the shipped rules
 * loaded from deploy/, alerts to the demo's Alertmanager, the shipped intervals; and the
 * files pass the real validators (promtool, amtool) when they are installed
 * (scripts/setup.sh installs both).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { assertOk, runTool } from '../harness/tools';
import {
  DEMO_ALERTMANAGER_RECEIVER,
  DEMO_PROMETHEUS_GLOBAL,
  SHIPPED_RULES_FILE,
  VIGIL_SCRAPE_JOB,
  demoAlertmanagerConfig,
  demoPrometheusConfig,
  hostPort,
} from '../../src/demo/prometheus-config';

const root = path.resolve(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-demo-prom-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const INPUT = {
  replicaTargets: ['127.0.0.1:41001', '127.0.0.1:41002', '127.0.0.1:41003'],
  alertmanager: '127.0.0.1:42001',
  self: '127.0.0.1:43001',
};

describe('the demo\'s prometheus.yml (docs/demo.md --with-prometheus)', () => {
  const config = demoPrometheusConfig(INPUT) as Json;

  it('scrapes every replica\'s /metrics in one job, Prometheus and Alertmanager in their own', () => {
    const jobs = config['scrape_configs'] as Json[];
    const vigil = jobs.find((j) => j['job_name'] === VIGIL_SCRAPE_JOB) as Json;
    assert.equal(vigil['metrics_path'], '/metrics');
    assert.deepEqual(vigil['static_configs'], [{ targets: INPUT.replicaTargets }]);
    assert.equal(vigil['relabel_configs'], undefined, 'no target labels: the series carry cluster and node_id');
    assert.deepEqual(jobs.map((j) => j['job_name']), [VIGIL_SCRAPE_JOB, 'prometheus', 'alertmanager']);
    assert.deepEqual(jobs[1]?.['static_configs'], [{ targets: [INPUT.self] }]);
    assert.deepEqual(jobs[2]?.['static_configs'], [{ targets: [INPUT.alertmanager] }]);
  });

  it('loads the shipped rules file itself, by absolute path, and alerts to the demo\'s Alertmanager', () => {
    assert.equal(SHIPPED_RULES_FILE, path.join(root, 'deploy', 'prometheus', 'vigil-rules.yml'));
    assert.ok(fs.existsSync(SHIPPED_RULES_FILE));
    assert.deepEqual(config['rule_files'], [SHIPPED_RULES_FILE]);
    assert.deepEqual(config['alerting'], { alertmanagers: [{ static_configs: [{ targets: [INPUT.alertmanager] }] }] });
  });

  it('uses the intervals of the shipped deploy/prometheus/prometheus.yml', () => {
    const shipped = parse(fs.readFileSync(path.join(root, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as Json;
    assert.deepEqual(config['global'], shipped['global']);
    assert.deepEqual(config['global'], DEMO_PROMETHEUS_GLOBAL);
  });

  it('passes promtool check config, which also loads and checks the rule file', () => {
    const file = path.join(tmp, 'prometheus.yml');
    fs.writeFileSync(file, stringify(config));
    assertOk(runTool('promtool', 'prometheus', ['check', 'config', file]), 'promtool check config');
  });

  it('a missing rule file fails the check (so the check above is a real one)', () => {
    const file = path.join(tmp, 'prometheus-bad.yml');
    fs.writeFileSync(file, stringify(demoPrometheusConfig({ ...INPUT, ruleFiles: [path.join(tmp, 'no-such-rules.yml')] })));
    const r = runTool('promtool', 'prometheus', ['check', 'config', file]);
    assert.notEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });

  it('takes a replica URL as its host:port target', () => {
    assert.equal(hostPort('http://127.0.0.1:40887'), '127.0.0.1:40887');
    assert.equal(hostPort('http://127.0.0.1:40887/'), '127.0.0.1:40887');
  });
});

describe('the demo\'s alertmanager.yml', () => {
  const config = demoAlertmanagerConfig() as Json;

  it('routes everything to one receiver without integrations (it keeps alerts, sends nothing)', () => {
    assert.equal(config['route']['receiver'], DEMO_ALERTMANAGER_RECEIVER);
    assert.equal(config['route']['routes'], undefined);
    assert.deepEqual(config['receivers'], [{ name: DEMO_ALERTMANAGER_RECEIVER }]);
  });

  it('passes amtool check-config', () => {
    const file = path.join(tmp, 'alertmanager.yml');
    fs.writeFileSync(file, stringify(config));
    assertOk(runTool('amtool', 'prometheus-alertmanager', ['check-config', file]), 'amtool check-config');
  });
});
