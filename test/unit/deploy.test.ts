/**
 * The deployment artifacts (docs/design.md §8, §9): docker-compose.yml and its replica configs,
 * deploy/Dockerfile, the Prometheus rules, the Alertmanager config, the Grafana
 * provisioning and dashboards, and the Kubernetes manifests. Users run these files where
 * this machine cannot (no Docker engine, no Kubernetes), so every check here uses the real
 * validator where one exists — docker-compose config, promtool, amtool, vigil
 * check-config — and parses the rest. Dashboards and alert rules may only use the metric
 * names src/metrics.ts registers (docs/design.md §7).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { DEFAULT_KAFKA_VERSION } from '../../src/local/kafka';
import { createMetrics } from '../../src/metrics';
import { assertOk, runTool as runSharedTool } from '../harness/tools';

const root = path.resolve(__dirname, '..', '..', '..');
const mainJs = path.join(root, 'dist', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-deploy-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ------------------------------------------------------------------------------------
// helpers
// ------------------------------------------------------------------------------------

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const read = (rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');
const readYaml = (rel: string): Json => parse(read(rel)) as Json;
const readJson = (rel: string): Json => JSON.parse(read(rel)) as Json;

/** The variables the deployment files read; none of the user's may leak into a check. */
const DEPLOY_VARS = ['VIGIL_PEER_SECRET', 'VIGIL_ADMIN_TOKEN', 'GF_ADMIN_PASSWORD'];
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of DEPLOY_VARS) delete env[k];
  return { ...env, ...extra };
}

/** A validator (test/harness/tools.ts), by default in an environment without the deploy variables. */
function runTool(tool: string, debianPackage: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  return runSharedTool(tool, debianPackage, args, { ...opts, env: opts.env ?? cleanEnv() });
}

function checkConfig(file: string, env: Record<string, string>): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [mainJs, 'check-config', '--config', file], { encoding: 'utf8', env: cleanEnv(env), timeout: 30_000 });
}

// ------------------------------------------------------------------------------------
// docker-compose.yml
// ------------------------------------------------------------------------------------

const VIGIL_SERVICES = ['vigil-1', 'vigil-2', 'vigil-3'];
const KAFKA_SERVICES = ['kafka-1', 'kafka-2', 'kafka-3'];

/** `docker-compose config` output: the file as Compose resolves it (anchors, ${VAR:-x}). */
function composeConfig(env: NodeJS.ProcessEnv): Json {
  const r = runTool('docker-compose', 'docker-compose', ['-f', 'docker-compose.yml', 'config'], { env });
  assertOk(r, 'docker-compose config');
  return parse(r.stdout) as Json;
}

/** What an operator exports before `docker compose up` (docker-compose.yml requires both). */
const OPERATOR_SECRETS = { VIGIL_PEER_SECRET: 'my-own-peer-secret-123', VIGIL_ADMIN_TOKEN: 'my-own-admin-token-456' };
/** The values docker-compose.yml fell back to before issue 8: public, so vigil refuses them. */
const OLD_COMPOSE_DEFAULTS = { VIGIL_PEER_SECRET: 'demo-only-peer-secret-do-not-use', VIGIL_ADMIN_TOKEN: 'demo-only-admin-token-do-not-use' };

describe('docker-compose.yml: the full stack for users (docs/design.md §8, §9)', () => {
  let compose: Json;
  before(() => {
    compose = composeConfig(cleanEnv(OPERATOR_SECRETS));
  });

  it('passes docker-compose config -q once the operator has set the secrets', () => {
    const r = runTool('docker-compose', 'docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { env: cleanEnv(OPERATOR_SECRETS) });
    assertOk(r, 'docker-compose config -q');
    assert.equal(r.stderr.trim(), '', 'docker-compose warned about the file');
  });

  it('refuses to resolve without VIGIL_PEER_SECRET or VIGIL_ADMIN_TOKEN, naming the one missing (issue 8: no public fallback)', () => {
    for (const missing of Object.keys(OPERATOR_SECRETS) as (keyof typeof OPERATOR_SECRETS)[]) {
      const env = cleanEnv(OPERATOR_SECRETS);
      delete env[missing];
      const r = runTool('docker-compose', 'docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { env });
      assert.notEqual(r.status, 0, `docker-compose config accepted the file without ${missing}`);
      assert.match(r.stderr, new RegExp(`export ${missing}, a random string of at least 16 characters`), r.stderr);
    }
    const none = runTool('docker-compose', 'docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { env: cleanEnv() });
    assert.notEqual(none.status, 0, 'docker-compose config accepted the file with no secrets set');
    assert.doesNotMatch(read('docker-compose.yml'), /\$\{VIGIL_(PEER_SECRET|ADMIN_TOKEN):?-/, 'a fallback value for a vigil secret');
  });

  it('runs 3 Kafka brokers, Redis, 3 vigil replicas, Prometheus, Alertmanager and Grafana', () => {
    const services = compose['services'] as Json;
    for (const s of [...KAFKA_SERVICES, 'redis', ...VIGIL_SERVICES, 'prometheus', 'alertmanager', 'grafana']) {
      assert.ok(services[s], `service ${s} missing`);
    }
    // the Kafka the local stack and the tests run by default
    for (const k of KAFKA_SERVICES) assert.equal(services[k].image, `apache/kafka:${DEFAULT_KAFKA_VERSION}`);
    assert.match(services['redis'].image, /^redis:7/);
    assert.match(services['prometheus'].image, /^prom\/prometheus:/);
    assert.match(services['alertmanager'].image, /^prom\/alertmanager:/);
    assert.match(services['grafana'].image, /^grafana\/grafana:/);
  });

  it('runs Kafka in KRaft combined mode with static voters naming every broker service', () => {
    const services = compose['services'] as Json;
    const ids = new Set<string>();
    for (const k of KAFKA_SERVICES) {
      const env = services[k].environment as Json;
      assert.equal(env['KAFKA_PROCESS_ROLES'], 'broker,controller', k);
      const voters = String(env['KAFKA_CONTROLLER_QUORUM_VOTERS']).split(',');
      assert.deepEqual(voters.map((v) => v.replace(/^\d+@/, '').split(':')[0]), KAFKA_SERVICES, `${k}: voters`);
      assert.ok(voters.includes(`${env['KAFKA_NODE_ID']}@${k}:9093`), `${k}: its node id is not its voter id`);
      ids.add(String(env['KAFKA_NODE_ID']));
      assert.match(String(env['CLUSTER_ID']), /^[A-Za-z0-9_-]{22}$/, 'cluster id: 16 bytes, unpadded base64url');
      // every internal topic written out, sized for the three brokers
      for (const topic of ['OFFSETS_TOPIC', 'TRANSACTION_STATE_LOG', 'SHARE_COORDINATOR_STATE_TOPIC']) {
        assert.equal(Number(env[`KAFKA_${topic}_REPLICATION_FACTOR`]), KAFKA_SERVICES.length, `${k}: ${topic} replication factor`);
      }
      for (const topic of ['TRANSACTION_STATE_LOG', 'SHARE_COORDINATOR_STATE_TOPIC']) {
        assert.equal(Number(env[`KAFKA_${topic}_MIN_ISR`]), 2, `${k}: ${topic} min ISR`);
      }
      // an internal listener for the compose network and a host one for the user's clients
      assert.match(String(env['KAFKA_ADVERTISED_LISTENERS']), new RegExp(`INTERNAL://${k}:\\d+`));
      assert.match(String(env['KAFKA_ADVERTISED_LISTENERS']), /HOST:\/\/localhost:\d+/);
    }
    assert.equal(ids.size, 3, 'broker node ids must differ');
    const clusterIds = new Set(KAFKA_SERVICES.map((k) => services[k].environment['CLUSTER_ID']));
    assert.equal(clusterIds.size, 1, 'all brokers share one cluster id');
  });

  it('builds the replicas from deploy/Dockerfile, each with its own config file and data volume', () => {
    const services = compose['services'] as Json;
    const volumes = new Set<string>();
    for (const s of VIGIL_SERVICES) {
      const svc = services[s] as Json;
      assert.equal(path.resolve(root, svc.build.context), root);
      assert.equal(svc.build.dockerfile, 'deploy/Dockerfile');
      const mounts = (svc.volumes as string[]).map((v) => v.split(':'));
      const config = mounts.find((m) => m[1] === '/etc/vigil/vigil.yaml');
      assert.ok(config, `${s}: no config mounted at /etc/vigil/vigil.yaml`);
      assert.equal(path.relative(root, config[0]!), `deploy/compose/${s}.yaml`);
      const data = mounts.find((m) => m[1] === '/var/lib/vigil');
      assert.ok(data, `${s}: no volume for node.dataDir`);
      volumes.add(data[0]!);
    }
    assert.equal(volumes.size, VIGIL_SERVICES.length, 'two replicas must never share a data dir');
  });

  it('starts the replicas after healthy brokers and Redis, and every service has a healthcheck', () => {
    const services = compose['services'] as Json;
    for (const s of VIGIL_SERVICES) {
      const deps = services[s].depends_on as Json;
      for (const d of [...KAFKA_SERVICES, 'redis']) assert.equal(deps[d]?.condition, 'service_healthy', `${s} → ${d}`);
      // leadership transfer on SIGTERM needs a grace period beyond compose's default 10 s
      assert.ok(durationSeconds(services[s].stop_grace_period) >= 15, `${s}: stop_grace_period`);
    }
    for (const [name, svc] of Object.entries(services as Json)) assert.ok(svc.healthcheck, `${name} has no healthcheck`);
  });

  it('bind-mounts only files and folders that exist in the repository', () => {
    for (const [name, svc] of Object.entries(compose['services'] as Json)) {
      for (const v of (svc.volumes ?? []) as string[]) {
        const source = v.split(':')[0]!;
        if (!path.isAbsolute(source)) continue; // a named volume
        assert.ok(fs.existsSync(source), `${name}: ${source} does not exist`);
      }
    }
  });

  it('publishes each host port once', () => {
    const seen = new Map<number, string>();
    for (const [name, svc] of Object.entries(compose['services'] as Json)) {
      for (const p of (svc.ports ?? []) as Json[]) {
        const port = Number(p.published);
        assert.ok(!seen.has(port), `host port ${port} used by ${seen.get(port)} and ${name}`);
        seen.set(port, name);
      }
    }
  });

  it('passes the operator\'s secrets through to every replica', () => {
    for (const s of VIGIL_SERVICES) {
      const env = (compose['services'] as Json)[s].environment as Json;
      assert.equal(env['VIGIL_PEER_SECRET'], OPERATOR_SECRETS.VIGIL_PEER_SECRET);
      assert.equal(env['VIGIL_ADMIN_TOKEN'], OPERATOR_SECRETS.VIGIL_ADMIN_TOKEN);
    }
  });

  it('the replica configs refuse the public secrets compose used to fall back to (issue 8)', () => {
    const r = checkConfig(path.join(root, 'deploy', 'compose', 'vigil-1.yaml'), OLD_COMPOSE_DEFAULTS);
    assert.equal(r.status, 2, r.stdout);
    assert.match(r.stderr, /^election\.secret: is a published demo value or a placeholder/m);
    assert.match(r.stderr, /^http\.adminToken: is a published demo value or a placeholder/m);
  });

  it('gives each replica a config that vigil check-config accepts with the compose environment', () => {
    for (const s of VIGIL_SERVICES) {
      const env = (compose['services'] as Json)[s].environment as Record<string, string>;
      const r = checkConfig(path.join(root, 'deploy', 'compose', `${s}.yaml`), env);
      assert.equal(r.status, 0, `deploy/compose/${s}.yaml: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`node\\s+${s}, listening on 0\\.0\\.0\\.0:9464`));
    }
  });

  it('points the replicas at each other, the brokers, Redis and Alertmanager by compose service name', () => {
    const services = compose['services'] as Json;
    const configs = VIGIL_SERVICES.map((s) => readYaml(`deploy/compose/${s}.yaml`));
    configs.forEach((c, i) => {
      assert.equal(c['node'].id, VIGIL_SERVICES[i]);
      // the three files differ only in node.id
      assert.deepEqual({ ...c, node: { ...c['node'], id: 'x' } }, { ...configs[0], node: { ...configs[0]!['node'], id: 'x' } });
    });
    const c = configs[0]!;
    const port = String(c['node'].listen).split(':').pop();
    assert.deepEqual(
      (c['peers'] as Json[]).map((p) => [p['id'], p['url']]),
      VIGIL_SERVICES.map((s) => [s, `http://${s}:${port}`]),
    );
    const internal = KAFKA_SERVICES.map((k) => /INTERNAL:\/\/([^,]+)/.exec(services[k].environment['KAFKA_ADVERTISED_LISTENERS'])![1]);
    assert.deepEqual(c['kafka'].brokers, internal);
    assert.match(c['redis'].url, /^redis:\/\/redis:6379/);
    const am = (c['alerting'].channels as Json[]).find((ch) => ch['type'] === 'alertmanager');
    assert.equal(am?.['url'], 'http://alertmanager:9093');
  });
});

function durationSeconds(v: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(String(v));
  if (!m) return NaN;
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[m[2]!]!;
}

// ------------------------------------------------------------------------------------
// deploy/Dockerfile
// ------------------------------------------------------------------------------------

interface DockerInstruction {
  op: string;
  args: string;
}

function dockerfile(): DockerInstruction[] {
  const joined = read('deploy/Dockerfile').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const sp = l.indexOf(' ');
      return { op: l.slice(0, sp).toUpperCase(), args: l.slice(sp + 1).trim() };
    });
}

describe('deploy/Dockerfile (docs/design.md §8)', () => {
  const ins = dockerfile();
  const stages = ins.filter((i) => i.op === 'FROM').map((i) => i.args);
  const runtime = ins.slice(ins.findIndex((i) => i.op === 'FROM' && i.args === stages[stages.length - 1]));

  it('builds on node:<engines major>-trixie and runs on its -slim variant', () => {
    const major = /^\^(\d+)$/.exec(JSON.parse(read('package.json')).engines.node)![1];
    assert.equal(stages.length, 2);
    assert.equal(stages[0], `node:${major}-trixie AS build`);
    assert.equal(stages[1], `node:${major}-trixie-slim`);
  });

  it('installs from the lockfile, compiles, and drops dev dependencies', () => {
    const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    assert.match(runs, /npm ci\b/);
    assert.match(runs, /npm run build/);
    assert.match(runs, /npm prune --omit=dev/);
    assert.ok(ins.some((i) => i.op === 'COPY' && i.args.includes('package-lock.json')));
  });

  it('runs as a non-root user with the vigil CLI as entrypoint and `run --config /etc/vigil/vigil.yaml`', () => {
    const user = runtime.filter((i) => i.op === 'USER').pop();
    assert.ok(user, 'no USER in the runtime stage');
    assert.doesNotMatch(user.args, /^(0|root)(:|$)/);
    assert.deepEqual(JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args), ['node', '/app/dist/src/cli/main.js']);
    assert.deepEqual(JSON.parse(runtime.find((i) => i.op === 'CMD')!.args), ['run', '--config', '/etc/vigil/vigil.yaml']);
    assert.ok(runtime.some((i) => i.op === 'EXPOSE' && i.args.split(/\s+/).includes('9464')));
  });

  it('keeps build output and local state out of the build context (.dockerignore)', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim().replace(/\/$/, ''));
    for (const p of ['node_modules', 'dist', '.cache', 'data', '.git']) assert.ok(ignored.includes(p), `${p} not ignored`);
  });

  describe('HEALTHCHECK: node probes /healthz, no curl', () => {
    const hc = runtime.find((i) => i.op === 'HEALTHCHECK');
    const cmd = hc ? (JSON.parse(hc.args.slice(hc.args.indexOf('CMD') + 3).trim()) as string[]) : [];
    let server: http.Server;
    let base = '';
    let status = 200;
    const paths: string[] = [];
    before(async () => {
      server = http.createServer((req, res) => {
        paths.push(req.url ?? '');
        res.writeHead(status).end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    // The probe runs exactly as Docker runs it; VIGIL_HEALTHCHECK_URL points it at our
    // server. Asynchronously: this process must keep serving while the probe asks.
    const probe = (url: string): Promise<number | null> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, cmd.slice(1), { env: cleanEnv({ VIGIL_HEALTHCHECK_URL: url }), stdio: 'ignore', timeout: 10_000 });
        child.on('error', reject);
        child.on('exit', (code) => resolve(code));
      });

    it('is an exec-form node command', () => {
      assert.ok(hc, 'no HEALTHCHECK');
      assert.equal(cmd[0], 'node');
      assert.doesNotMatch(hc.args, /curl|wget/);
      assert.match(hc.args, /127\.0\.0\.1:9464\/healthz/, 'default target: /healthz on the conventional port');
    });

    it('exits 0 when /healthz answers 200', async () => {
      status = 200;
      assert.equal(await probe(`${base}/healthz`), 0);
      assert.deepEqual(paths.splice(0), ['/healthz']);
    });

    it('exits 1 when /healthz answers an error', async () => {
      status = 503;
      assert.equal(await probe(`${base}/healthz`), 1);
      assert.deepEqual(paths.splice(0), ['/healthz'], 'the probe must have asked, not timed out');
    });

    it('exits 1 when nothing listens', async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      assert.equal(await probe(`http://127.0.0.1:${port}/healthz`), 1);
    });
  });
});

// ------------------------------------------------------------------------------------
// Prometheus
// ------------------------------------------------------------------------------------

const REQUIRED_ALERTS = [
  'VigilNoLeader',
  'VigilSplitBrain',
  'VigilKafkaDown',
  'VigilRedisDown',
  'VigilNotificationsFailing',
  'VigilFencedWrites',
  'VigilPollSlow',
  'VigilReplicaDown',
];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function ruleList(): Rule[] {
  return (readYaml('deploy/prometheus/vigil-rules.yml')['groups'] as Json[]).flatMap((g) => g['rules'] as Rule[]);
}

describe('Prometheus scrape config and alert rules (deploy/prometheus)', () => {
  it('promtool check config accepts prometheus.yml and finds the rule file', () => {
    const r = runTool('promtool', 'prometheus', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    assertOk(r, 'promtool check config');
    assert.match(r.stdout, /1 rule files found/);
  });

  it('scrapes every compose replica on its listen port', () => {
    const jobs = readYaml('deploy/prometheus/prometheus.yml')['scrape_configs'] as Json[];
    const vigil = jobs.find((j) => j['job_name'] === 'vigil');
    assert.ok(vigil, 'no job "vigil" (the rules select up{job="vigil"})');
    const targets = (vigil['static_configs'] as Json[]).flatMap((s) => s['targets'] as string[]);
    assert.deepEqual(targets.sort(), VIGIL_SERVICES.map((s) => `${s}:9464`));
    // a target label "cluster" would rename every series' own cluster label
    for (const s of vigil['static_configs'] as Json[]) assert.equal(s['labels']?.['cluster'], undefined);
  });

  it('promtool check rules accepts vigil-rules.yml', () => {
    assertOk(runTool('promtool', 'prometheus', ['check', 'rules', 'deploy/prometheus/vigil-rules.yml']), 'promtool check rules');
  });

  it('has every alert operators need, each with a severity, a summary and a description', () => {
    const alerts = ruleList().filter((r) => r.alert !== undefined);
    for (const name of REQUIRED_ALERTS) assert.ok(alerts.some((a) => a.alert === name), `alert ${name} missing`);
    for (const a of alerts) {
      assert.match(a.labels?.['severity'] ?? '', /^(critical|warning|info)$/, `${a.alert}: severity`);
      assert.ok(a.annotations?.['summary'], `${a.alert}: summary`);
      assert.ok(a.annotations?.['description'], `${a.alert}: description`);
    }
    assert.ok(ruleList().some((r) => r.record !== undefined), 'no recording rule');
  });

  it('promtool test rules passes, and it tests every alert both firing and not firing', () => {
    assertOk(runTool('promtool', 'prometheus', ['test', 'rules', 'deploy/prometheus/vigil-rules.test.yml']), 'promtool test rules');
    const cases = (readYaml('deploy/prometheus/vigil-rules.test.yml')['tests'] as Json[]).flatMap((t) => (t['alert_rule_test'] ?? []) as Json[]);
    for (const a of ruleList().filter((r) => r.alert !== undefined)) {
      const mine = cases.filter((c) => c['alertname'] === a.alert);
      assert.ok(mine.some((c) => (c['exp_alerts'] as Json[]).length > 0), `${a.alert}: no test where it fires`);
      assert.ok(mine.some((c) => (c['exp_alerts'] as Json[]).length === 0), `${a.alert}: no test where it stays silent`);
    }
  });

  it('docs/deploy.md explains every alert', () => {
    const doc = read('docs/deploy.md');
    for (const a of ruleList().filter((r) => r.alert !== undefined)) assert.ok(doc.includes(a.alert!), `${a.alert} not in docs/deploy.md`);
  });
});

// ------------------------------------------------------------------------------------
// Alertmanager
// ------------------------------------------------------------------------------------

/** Alertmanager's matcher syntax, as far as the config uses it: label op "value". */
function matches(matchers: string[], labels: Record<string, string>): boolean {
  return matchers.every((m) => {
    const r = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"(.*)"\s*$/.exec(m);
    assert.ok(r, `cannot read matcher ${m}`);
    const [, name, op, value] = r;
    const v = labels[name!] ?? '';
    switch (op) {
      case '=':
        return v === value;
      case '!=':
        return v !== value;
      case '=~':
        return new RegExp(`^(?:${value})$`).test(v);
      case '!~':
        return !new RegExp(`^(?:${value})$`).test(v);
      default:
        return false;
    }
  });
}

describe('Alertmanager config (deploy/alertmanager)', () => {
  const file = 'deploy/alertmanager/alertmanager.yml';
  const routeTest = (...labels: string[]): string => {
    const r = runTool('amtool', 'prometheus-alertmanager', ['config', 'routes', 'test', `--config.file=${file}`, ...labels]);
    assertOk(r, 'amtool config routes test');
    return r.stdout.trim();
  };

  it('amtool check-config accepts it', () => {
    assertOk(runTool('amtool', 'prometheus-alertmanager', ['check-config', file]), 'amtool check-config');
  });

  it('routes critical alerts to the pager (and chat), everything else to chat', () => {
    assert.deepEqual(routeTest('alertname=VigilNoLeader', 'severity=critical').split(','), ['pager', 'chat']);
    assert.equal(routeTest('alertname=VigilRedisDown', 'severity=warning'), 'chat');
    assert.equal(routeTest('alertname=ConsumerDeliveryLag', 'severity=info'), 'chat');
  });

  it('routes every severity the Prometheus rules use', () => {
    for (const a of ruleList().filter((r) => r.alert !== undefined)) {
      const receivers = routeTest(`alertname=${a.alert}`, `severity=${a.labels!['severity']}`).split(',');
      if (a.labels!['severity'] === 'critical') assert.ok(receivers.includes('pager'), `${a.alert} does not page`);
      else assert.deepEqual(receivers, ['chat'], a.alert);
    }
  });

  it('mutes lag and partition alerts of a cluster while Kafka is down there, and only there', () => {
    const rules = readYaml(file)['inhibit_rules'] as Json[];
    const inhibited = (source: Record<string, string>, target: Record<string, string>): boolean =>
      rules.some(
        (r) =>
          matches(r['source_matchers'], source) &&
          matches(r['target_matchers'], target) &&
          (r['equal'] as string[]).every((l) => (source[l] ?? '') === (target[l] ?? '')),
      );
    const down = { alertname: 'VigilKafkaDown', cluster: 'local', severity: 'critical' };
    for (const alertname of ['ConsumerDeliveryLag', 'ConsumerStalled', 'PartitionUnderReplicated']) {
      assert.ok(inhibited(down, { alertname, cluster: 'local', severity: 'warning', key: `local/${alertname}/x` }), alertname);
      assert.ok(!inhibited(down, { alertname, cluster: 'other', severity: 'warning', key: `other/${alertname}/x` }), `${alertname} in another cluster`);
    }
    assert.ok(!inhibited(down, { alertname: 'VigilNoLeader', cluster: 'local', severity: 'critical' }));
  });
});

// ------------------------------------------------------------------------------------
// Metric names used by rules and dashboards (docs/design.md §7)
// ------------------------------------------------------------------------------------

interface Registered {
  names: Set<string>;
  labels: Map<string, Set<string>>;
}

async function registeredMetrics(): Promise<Registered> {
  const metrics = createMetrics({ nodeId: 'vigil-1', cluster: 'local' });
  const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  const labels = new Map<string, Set<string>>();
  for (const name of names) {
    // prom-client keeps each metric's label names on the object; its typings omit them.
    const m = metrics.registry.getSingleMetric(name) as unknown as { labelNames?: string[] };
    labels.set(name, new Set([...(m.labelNames ?? []), 'cluster', 'node_id']));
  }
  return { names, labels };
}

/** Label values fixed by docs/design.md §7, where a query selects one. */
const LABEL_VALUES: Record<string, Record<string, string[]>> = {
  vigil_kafka_brokers: { state: ['up', 'down'] },
  vigil_kafka_partitions: { state: ['total', 'offline', 'under_replicated', 'under_min_isr'] },
  vigil_notifications_total: { outcome: ['delivered', 'failed', 'rejected', 'aborted'] },
  vigil_remediation_actions_total: { action: ['throttle', 'reassign', 'elect', 'unthrottle'], outcome: ['ok', 'error'] },
  vigil_failover_leader_changes_total: { kind: ['vigil', 'controller', 'partition'] },
  vigil_failover_leaderless_seconds: { kind: ['vigil', 'controller', 'partition'] },
  vigil_remediation_plans_total: { kind: ['lead-elsewhere', 'evict', 'give-back', 'restore-rf'], status: ['proposed', 'executing', 'refused'] },
};

interface Query {
  where: string;
  expr: string;
}

function dashboardFiles(): string[] {
  return fs.readdirSync(path.join(root, 'dashboards')).filter((f) => f.endsWith('.json')).sort();
}

function allPanels(panels: Json[]): Json[] {
  return panels.flatMap((p) => [p, ...allPanels((p['panels'] ?? []) as Json[])]);
}

function dashboardQueries(): Query[] {
  const out: Query[] = [];
  for (const f of dashboardFiles()) {
    const d = readJson(`dashboards/${f}`);
    for (const p of allPanels(d['panels'])) {
      for (const t of (p['targets'] ?? []) as Json[]) out.push({ where: `${f} panel "${p['title']}" ${t['refId']}`, expr: t['expr'] });
    }
    for (const v of d['templating']['list'] as Json[]) {
      if (v['type'] !== 'query') continue;
      const q = typeof v['query'] === 'string' ? v['query'] : v['query']['query'];
      const inner = /^label_values\((.*),\s*[A-Za-z_]+\)$/.exec(q);
      out.push({ where: `${f} variable ${v['name']}`, expr: inner ? inner[1]! : q });
    }
  }
  return out;
}

function ruleQueries(): Query[] {
  return ruleList().map((r) => ({ where: `vigil-rules.yml ${r.alert ?? r.record}`, expr: r.expr }));
}

/** Grafana's variables replaced by values, so that promtool can parse a dashboard query. */
function withoutGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '1m')
    .replace(/\$topn/g, '10')
    .replace(/\$(cluster|group|topic)\b/g, 'x');
}

/** Metric-name tokens of a PromQL expression (string literals removed). */
function identifiers(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...code.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)].map((m) => m[0]);
}

const baseName = (id: string): string => id.replace(/_(bucket|sum|count)$/, '');

describe('metric names in rules and dashboards exist in src/metrics.ts (docs/design.md §7)', () => {
  let registered: Registered;
  before(async () => {
    registered = await registeredMetrics();
  });
  const recorded = new Set(ruleList().flatMap((r) => (r.record ? [r.record] : [])));

  it('every vigil_* name in an alert or recording rule is registered', () => {
    for (const q of ruleQueries()) {
      for (const id of identifiers(q.expr)) {
        if (id.includes(':')) assert.ok(recorded.has(id), `${q.where}: ${id} is no recording rule`);
        else if (id.startsWith('vigil_')) assert.ok(registered.names.has(baseName(id)), `${q.where}: ${id} is not registered`);
      }
    }
  });

  it('every vigil_* name in a dashboard query is registered, and no dashboard needs a recording rule', () => {
    const queries = dashboardQueries();
    assert.ok(queries.length > 20);
    for (const q of queries) {
      const ids = identifiers(q.expr);
      assert.ok(ids.some((id) => id.startsWith('vigil_')), `${q.where}: queries no vigil metric`);
      for (const id of ids) {
        assert.ok(!id.includes(':'), `${q.where}: ${id} needs the recording rules; dashboards use raw metrics`);
        if (id.startsWith('vigil_')) assert.ok(registered.names.has(baseName(id)), `${q.where}: ${id} is not registered`);
      }
    }
  });

  it('the dashboards show every registered metric', () => {
    const used = new Set(dashboardQueries().flatMap((q) => identifiers(q.expr).map(baseName)));
    for (const name of registered.names) assert.ok(used.has(name), `${name} is on no dashboard`);
  });

  it('label selectors use the metric\'s labels and the values docs/design.md §7 defines', () => {
    for (const q of [...ruleQueries(), ...dashboardQueries()]) {
      for (const m of q.expr.matchAll(/(vigil_[a-z_]+)\{([^}]*)\}/g)) {
        const metric = baseName(m[1]!);
        const known = registered.labels.get(metric);
        assert.ok(known, `${q.where}: ${m[1]}`);
        for (const sel of m[2]!.matchAll(/([A-Za-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
          const [, label, op, value] = sel;
          if (m[1]!.endsWith('_bucket') && label === 'le') continue;
          assert.ok(known.has(label!), `${q.where}: ${metric} has no label ${label}`);
          const values = LABEL_VALUES[metric]?.[label!];
          if (!values || value!.includes('$')) continue;
          const re = new RegExp(`^(?:${value})$`);
          const selected = op === '=' || op === '!=' ? [value!] : values.filter((v) => re.test(v));
          for (const v of selected) assert.ok(values.includes(v), `${q.where}: ${metric}{${label}} has no value "${v}"`);
          if (op === '=~') assert.ok(selected.length > 0, `${q.where}: ${metric}{${label}=~"${value}"} selects nothing`);
        }
      }
    }
  });

  it('every dashboard query parses as PromQL (promtool check rules on a scratch rule file)', () => {
    const queries = dashboardQueries();
    const file = path.join(tmp, 'dashboard-queries.yml');
    fs.writeFileSync(file, stringify({ groups: [{ name: 'dashboards', rules: queries.map((q, i) => ({ record: `dashboard_query_${i}`, expr: withoutGrafanaVariables(q.expr) })) }] }));
    const r = runTool('promtool', 'prometheus', ['check', 'rules', file]);
    assert.equal(r.status, 0, `a dashboard query does not parse:\n${r.stdout}${r.stderr}\nqueries:\n${queries.map((q, i) => `${i} ${q.where}: ${q.expr}`).join('\n')}`);
  });
});

// ------------------------------------------------------------------------------------
// Grafana
// ------------------------------------------------------------------------------------

describe('Grafana dashboards and provisioning (dashboards/, deploy/grafana)', () => {
  const files = dashboardFiles();
  const dashboards = files.map((f) => ({ file: f, d: readJson(`dashboards/${f}`) }));

  it('ships the overview, the consumer-lag and the failovers dashboards', () => {
    assert.deepEqual(files, ['vigil-consumer-lag.json', 'vigil-failovers.json', 'vigil-overview.json']);
  });

  it('each dashboard has a unique uid, a title and a current schemaVersion', () => {
    const uids = dashboards.map(({ d }) => d['uid']);
    assert.equal(new Set(uids).size, uids.length);
    for (const { file, d } of dashboards) {
      assert.match(d['uid'], /^[A-Za-z0-9_-]{1,40}$/, file);
      assert.ok(d['title'], file);
      assert.ok(d['schemaVersion'] >= 36 && d['schemaVersion'] <= 41, `${file}: schemaVersion ${d['schemaVersion']}`);
      assert.equal(d['id'], undefined, `${file}: a provisioned dashboard carries no database id`);
    }
  });

  it('panel ids are unique within a dashboard, and panels fit the 24-column grid without overlapping', () => {
    for (const { file, d } of dashboards) {
      const panels = allPanels(d['panels']);
      const ids = panels.map((p) => p['id']);
      assert.ok(ids.every((id) => Number.isInteger(id)), `${file}: panel without an id`);
      assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel ids`);
      const cells = new Map<string, number>();
      for (const p of panels) {
        const g = p['gridPos'] as { x: number; y: number; w: number; h: number };
        assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${file}: panel ${p['id']} outside the grid`);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            const other = cells.get(`${x},${y}`);
            assert.equal(other, undefined, `${file}: panels ${other} and ${p['id']} overlap`);
            cells.set(`${x},${y}`, p['id']);
          }
        }
      }
    }
  });

  it('every query goes to the Prometheus datasource chosen by the dashboard\'s datasource variable', () => {
    for (const { file, d } of dashboards) {
      const vars = d['templating']['list'] as Json[];
      const ds = vars.find((v) => v['type'] === 'datasource');
      assert.equal(ds?.['name'], 'datasource', file);
      assert.equal(ds?.['query'], 'prometheus', file);
      assert.ok(vars.some((v) => v['name'] === 'cluster'), `${file}: no cluster variable`);
      for (const p of allPanels(d['panels']).filter((x) => x['type'] !== 'row')) {
        assert.deepEqual(p['datasource'], { type: 'prometheus', uid: '${datasource}' }, `${file}: panel ${p['title']}`);
        assert.ok((p['targets'] as Json[]).length > 0, `${file}: panel ${p['title']} has no query`);
        for (const t of p['targets'] as Json[]) assert.deepEqual(t['datasource'], { type: 'prometheus', uid: '${datasource}' }, `${file}: panel ${p['title']}`);
      }
      for (const v of vars.filter((x) => x['type'] === 'query')) assert.deepEqual(v['datasource'], { type: 'prometheus', uid: '${datasource}' }, `${file}: variable ${v['name']}`);
    }
  });

  it('the consumer-lag dashboard filters by cluster, group and topic, draws the 10 s threshold and lists the top laggards', () => {
    const d = dashboards.find((x) => x.file === 'vigil-consumer-lag.json')!.d;
    const names = (d['templating']['list'] as Json[]).map((v) => v['name']);
    for (const n of ['cluster', 'group', 'topic']) assert.ok(names.includes(n), `variable ${n}`);
    const panels = allPanels(d['panels']);
    const latency = panels.filter((p) => p['type'] === 'timeseries' && (p['targets'] as Json[]).some((t) => /vigil_consumer_group_lag_seconds/.test(t['expr'])));
    assert.ok(latency.length > 0);
    for (const p of latency) {
      const steps = p['fieldConfig']['defaults']['thresholds']['steps'] as Json[];
      assert.ok(steps.some((s) => s['value'] === 10), `${p['title']}: no step at 10 s`);
      assert.notEqual(p['fieldConfig']['defaults']['custom']['thresholdsStyle']['mode'], 'off', `${p['title']}: threshold not drawn`);
      assert.equal(p['fieldConfig']['defaults']['unit'], 's');
    }
    assert.ok(panels.some((p) => p['type'] === 'timeseries' && (p['targets'] as Json[]).some((t) => /vigil_consumer_group_lag_messages/.test(t['expr']))), 'messages behind');
    const table = panels.find((p) => p['type'] === 'table');
    assert.ok(table && (table['targets'] as Json[]).some((t) => /^topk\(/.test(t['expr'])), 'top-N table');
  });

  it('"vigil — failovers" counts leader changes of every kind, draws how long nobody led, and names the API that keeps the journal (issue 10 item 4)', () => {
    const d = dashboards.find((x) => x.file === 'vigil-failovers.json')!.d;
    assert.equal(d['title'], 'vigil — failovers');
    assert.match(d['description'], /GET \/api\/v1\/failovers/);
    const exprs = allPanels(d['panels']).flatMap((p) => ((p['targets'] ?? []) as Json[]).map((t) => t['expr'] as string));
    for (const kind of ['vigil', 'controller', 'partition']) assert.ok(exprs.some((e) => e.includes(`vigil_failover_leader_changes_total{cluster="$cluster",kind="${kind}"}`)), kind);
    assert.ok(exprs.some((e) => /histogram_quantile\(.*vigil_failover_leaderless_seconds_bucket/.test(e)));
    assert.ok(exprs.some((e) => e.includes('vigil_failover_partitions_leaderless')));
    assert.ok(exprs.some((e) => e.includes('vigil_controller_quorum_leader_epoch')) && exprs.some((e) => e.includes('vigil_election_term')));
  });

  it('the provisioned datasource is the dashboards\' default and points at the compose Prometheus', () => {
    const ds = (readYaml('deploy/grafana/provisioning/datasources/prometheus.yml')['datasources'] as Json[])[0]!;
    assert.equal(ds['type'], 'prometheus');
    for (const { file, d } of dashboards) {
      const v = (d['templating']['list'] as Json[]).find((x) => x['type'] === 'datasource')!;
      assert.equal(v['current']['value'], ds['uid'], file);
    }
    const compose = readYaml('docker-compose.yml');
    const promPort = (compose['services']['prometheus']['ports'] as string[])[0]!.split(':')[1];
    assert.equal(ds['url'], `http://prometheus:${promPort}`);
  });

  it('the dashboard provider reads the folder docker-compose.yml mounts dashboards/ at', () => {
    const provider = (readYaml('deploy/grafana/provisioning/dashboards/vigil.yml')['providers'] as Json[])[0]!;
    const grafana = readYaml('docker-compose.yml')['services']['grafana'] as Json;
    const mount = (grafana['volumes'] as string[]).map((v) => v.split(':')).find((m) => m[0] === './dashboards');
    assert.ok(mount, 'dashboards/ is not mounted into grafana');
    assert.equal(provider['options']['path'], mount[1]);
    const home = grafana['environment']['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'] as string | undefined;
    if (home) assert.ok(files.includes(path.posix.relative(mount[1]!, home)), `home dashboard ${home}`);
    assert.ok((grafana['volumes'] as string[]).some((v) => v.startsWith('./deploy/grafana/provisioning:/etc/grafana/provisioning')));
  });
});

// ------------------------------------------------------------------------------------
// Kubernetes
// ------------------------------------------------------------------------------------

interface K8sObject {
  file: string;
  kind: string;
  name: string;
  doc: Json;
}

function k8sObjects(): K8sObject[] {
  const dir = path.join(root, 'deploy', 'k8s');
  const out: K8sObject[] = [];
  for (const f of fs.readdirSync(dir).filter((x) => /\.ya?ml$/.test(x)).sort()) {
    if (f === 'kustomization.yaml' || f.endsWith('.env')) continue;
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8'))) {
      assert.deepEqual(doc.errors.map((e) => e.message), [], `deploy/k8s/${f}`);
      const obj = doc.toJS() as Json | null;
      if (obj === null) continue; // a file of comments only
      assert.ok(obj['apiVersion'], `deploy/k8s/${f}: apiVersion`);
      assert.ok(obj['kind'], `deploy/k8s/${f}: kind`);
      assert.ok(obj['metadata']?.['name'], `deploy/k8s/${f}: metadata.name`);
      out.push({ file: f, kind: obj['kind'], name: obj['metadata']['name'], doc: obj });
    }
  }
  return out;
}

/** What an operator writes to deploy/k8s/vigil-secrets.env (see kustomization.yaml). */
const OPERATOR_K8S_SECRETS = 'peer-secret=k8s-own-peer-secret-0123456789\nadmin-token=k8s-own-admin-token-0123456789\n';

/** `kubectl kustomize` of a copy of deploy/k8s, with `secretsEnv` as vigil-secrets.env (none when null). */
function renderK8s(secretsEnv: string | null): SpawnSyncReturns<string> {
  const dir = fs.mkdtempSync(path.join(tmp, 'k8s-'));
  fs.cpSync(path.join(root, 'deploy', 'k8s'), dir, { recursive: true });
  fs.rmSync(path.join(dir, 'vigil-secrets.env'), { force: true }); // an operator's own copy must not count
  if (secretsEnv !== null) fs.writeFileSync(path.join(dir, 'vigil-secrets.env'), secretsEnv);
  return runTool('kubectl', 'kubectl', ['kustomize', dir]);
}

function renderedSecret(): Json {
  const r = renderK8s(OPERATOR_K8S_SECRETS);
  assertOk(r, 'kubectl kustomize');
  const secrets = parseAllDocuments(r.stdout).map((d) => d.toJS() as Json).filter((o) => o['kind'] === 'Secret');
  assert.equal(secrets.length, 1);
  return secrets[0]!;
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  const objects = k8sObjects();
  const one = (kind: string, name?: string): Json => {
    const found = objects.filter((o) => o.kind === kind && (name === undefined || o.name === name));
    assert.equal(found.length, 1, `${kind} ${name ?? ''}`);
    return found[0]!.doc;
  };
  const sts = one('StatefulSet');
  const pod = sts['spec']['template'];
  const container = (pod['spec']['containers'] as Json[])[0]!;

  /** The container's environment as Kubernetes would build it for this pod. */
  function k8sPodEnv(podName: string, secretValues: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of container['env'] as Json[]) {
      const from = e['valueFrom'];
      if (e['value'] !== undefined) env[e['name']] = String(e['value']);
      else if (from?.['fieldRef']?.['fieldPath'] === 'metadata.name') env[e['name']] = podName;
      else if (from?.['fieldRef']?.['fieldPath'] === 'metadata.namespace') env[e['name']] = 'monitoring';
      else if (from?.['secretKeyRef']) {
        const value = secretValues[from['secretKeyRef']['key']];
        assert.ok(value !== undefined, `secret key ${from['secretKeyRef']['key']} missing`);
        env[e['name']] = value;
      } else assert.fail(`env ${e['name']}: unsupported source`);
    }
    return env;
  }

  it('every document parses and has apiVersion, kind and name; kustomization lists every manifest but the ServiceMonitor', () => {
    const kinds = objects.map((o) => o.kind).sort();
    assert.deepEqual(kinds, ['ConfigMap', 'PodDisruptionBudget', 'Service', 'Service', 'ServiceMonitor', 'StatefulSet']);
    const kustomization = readYaml('deploy/k8s/kustomization.yaml');
    // the ServiceMonitor needs the Prometheus Operator's CRD, so it is applied on its own
    const core = objects.filter((o) => o.kind !== 'ServiceMonitor');
    assert.deepEqual([...(kustomization['resources'] as string[])].sort(), [...new Set(core.map((o) => o.file))].sort());
  });

  it('kubectl kustomize refuses to render until the operator writes vigil-secrets.env (issue 8: no placeholder secret to fall back to)', () => {
    const r = renderK8s(null);
    assert.notEqual(r.status, 0, 'rendered without the operator\'s secrets');
    assert.match(r.stderr, /vigil-secrets\.env/);
    assert.ok(!objects.some((o) => o.kind === 'Secret'), 'a Secret with fixed values is in deploy/k8s');
    assert.match(read('.gitignore'), /^deploy\/k8s\/vigil-secrets\.env$/m, 'the operator\'s secrets file must not be committed');
  });

  it('with vigil-secrets.env, renders Secret "vigil" with the keys the StatefulSet reads', () => {
    const secret = renderedSecret();
    for (const e of container['env'] as Json[]) {
      const ref = e['valueFrom']?.['secretKeyRef'];
      if (!ref) continue;
      assert.equal(ref['name'], secret['metadata']['name']);
      assert.ok(ref['key'] in secret['data'], `secret key ${ref['key']} missing`);
    }
  });

  it('vigil refuses the placeholders deploy/k8s used to ship (issue 8)', () => {
    const file = path.join(tmp, 'k8s-placeholders.yaml');
    fs.writeFileSync(file, one('ConfigMap')['data']['vigil.yaml']);
    const env = k8sPodEnv('vigil-0', { 'peer-secret': 'REPLACE-ME-peer-secret-at-least-16-chars', 'admin-token': 'REPLACE-ME-admin-token-at-least-16-chars' });
    const r = checkConfig(file, env);
    assert.equal(r.status, 2, r.stdout);
    assert.match(r.stderr, /^election\.secret: is a published demo value or a placeholder/m);
    assert.match(r.stderr, /^http\.adminToken: is a published demo value or a placeholder/m);
  });

  it('the ServiceMonitor scrapes each pod exactly once: one Service, one endpoint, not-ready pods included (issue 8: VigilSplitBrain from a double scrape)', () => {
    const sm = one('ServiceMonitor');
    const match = sm['spec']['selector']['matchLabels'] as Record<string, string>;
    const labelsMatch = (labels: Record<string, string> | undefined) => Object.entries(match).every(([k, v]) => labels?.[k] === v);
    const scraped = objects.filter((o) => o.kind === 'Service' && labelsMatch(o.doc['metadata']['labels']));
    assert.equal(scraped.length, 1, `the ServiceMonitor selects ${scraped.map((o) => o.name).join(', ') || 'no Service'}`);
    const svc = scraped[0]!.doc;
    // every pod is an endpoint of that Service, also while not ready (a replica out of quorum is worth seeing)
    for (const [k, v] of Object.entries(svc['spec']['selector'] as Json)) assert.equal(pod['metadata']['labels'][k], v);
    assert.equal(svc['spec']['publishNotReadyAddresses'], true);
    // one endpoint, on the Service port that leads to the container's metrics port
    const endpoints = sm['spec']['endpoints'] as Json[];
    assert.equal(endpoints.length, 1);
    assert.equal(endpoints[0]!['path'] ?? '/metrics', '/metrics');
    const port = (svc['spec']['ports'] as Json[]).find((p) => p['name'] === endpoints[0]!['port']);
    assert.ok(port, `the Service has no port named ${endpoints[0]!['port']}`);
    const target = (container['ports'] as Json[]).find((p) => p['name'] === port['targetPort'] || p['containerPort'] === port['targetPort']);
    assert.equal(target?.['containerPort'], 9464, 'the scraped port is not the one serving /metrics');
    // every other Service that selects the same pods stays out of the ServiceMonitor's selection
    const others = objects.filter((o) => o.kind === 'Service' && o.doc !== svc);
    assert.ok(others.length > 0 && others.every((o) => !labelsMatch(o.doc['metadata']['labels'])));
  });

  it('runs 3 replicas in parallel with stable names from a headless Service that publishes not-ready pods', () => {
    assert.equal(sts['spec']['replicas'], 3);
    assert.equal(sts['spec']['podManagementPolicy'], 'Parallel');
    const svc = one('Service', sts['spec']['serviceName']);
    assert.equal(svc['spec']['clusterIP'], 'None');
    assert.equal(svc['spec']['publishNotReadyAddresses'], true, 'peers must reach each other before they are ready');
    for (const [k, v] of Object.entries(svc['spec']['selector'] as Json)) assert.equal(pod['metadata']['labels'][k], v);
    assert.deepEqual(sts['spec']['selector']['matchLabels'], svc['spec']['selector']);
  });

  it('probes /readyz for readiness and /healthz for liveness, and allows time for leadership transfer', () => {
    const port = (container['ports'] as Json[]).find((p) => p['name'] === 'http');
    assert.equal(port?.['containerPort'], 9464);
    assert.equal(container['readinessProbe']['httpGet']['path'], '/readyz');
    assert.equal(container['livenessProbe']['httpGet']['path'], '/healthz');
    for (const probe of [container['readinessProbe'], container['livenessProbe']]) assert.ok(['http', 9464].includes(probe['httpGet']['port']));
    assert.ok(pod['spec']['terminationGracePeriodSeconds'] >= 15);
    assert.equal(pod['spec']['securityContext']['runAsNonRoot'], true);
  });

  it('keeps node.dataDir on a per-pod PersistentVolumeClaim and mounts the ConfigMap where --config points', () => {
    const config = parse(one('ConfigMap')['data']['vigil.yaml']) as Json;
    const claims = (sts['spec']['volumeClaimTemplates'] as Json[]).map((c) => c['metadata']['name']);
    const mounts = container['volumeMounts'] as Json[];
    const dataMount = mounts.find((m) => m['mountPath'] === config['node']['dataDir']);
    assert.ok(dataMount && claims.includes(dataMount['name']), 'node.dataDir is not on a volumeClaimTemplate');
    const args = container['args'] as string[];
    const configPath = args[args.indexOf('--config') + 1]!;
    const cfgMount = mounts.find((m) => m['mountPath'] === path.posix.dirname(configPath));
    const vol = (pod['spec']['volumes'] as Json[]).find((v) => v['name'] === cfgMount?.['name']);
    assert.equal(vol?.['configMap']?.['name'], one('ConfigMap')['metadata']['name']);
    assert.ok(path.posix.basename(configPath) in one('ConfigMap')['data']);
  });

  it('allows one replica down at a time (PodDisruptionBudget)', () => {
    const pdb = one('PodDisruptionBudget');
    assert.equal(pdb['spec']['maxUnavailable'], 1);
    assert.deepEqual(pdb['spec']['selector']['matchLabels'], sts['spec']['selector']['matchLabels']);
  });

  it('the config template passes vigil check-config in every pod, with node.id from the pod name', () => {
    const secret = renderedSecret();
    const secretValues = Object.fromEntries(Object.entries(secret['data'] as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    const file = path.join(tmp, 'k8s-vigil.yaml');
    fs.writeFileSync(file, one('ConfigMap')['data']['vigil.yaml']);
    const config = parse(fs.readFileSync(file, 'utf8')) as Json;
    const podNames = Array.from({ length: sts['spec']['replicas'] }, (_, i) => `${sts['metadata']['name']}-${i}`);
    assert.deepEqual((config['peers'] as Json[]).map((p) => p['id']), podNames, 'peers are the StatefulSet\'s pods');
    for (const podName of podNames) {
      const r = checkConfig(file, k8sPodEnv(podName, secretValues));
      assert.equal(r.status, 0, `${podName}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`node\\s+${podName}, listening on 0\\.0\\.0\\.0:9464`));
      assert.match(r.stdout, new RegExp(`${podName} \\(this node\\) http://${podName}\\.${sts['spec']['serviceName']}\\.monitoring\\.svc:9464`));
    }
  });
});
