/**
 * `vigil doctor` against real servers (issue 11 item 2; docs/doctor.md): a Kafka broker
 * whose client listener is SASL_SSL (SCRAM-SHA-512 over TLS) with KRaft's StandardAuthorizer
 * and `allow.everyone.if.no.acl.found=false`, a Redis with an ACL user and no AOF, three
 * real replicas and a webhook receiver. The replicas run with the very config file the
 * doctor checks.
 *
 * The `vigil` user is granted every ACL vigil needs but one; the doctor must name exactly
 * that ACL and exit 1, and the kafka-acls.sh command it prints — run as printed, through
 * Kafka's own AclCommand — must fix it (exit 0). Likewise for a group ACL taken away, and
 * for the commit stream's grant on `__consumer_offsets` (a warning, kafka.offsets-stream). Then
 * the peers: a config with another secret is told "secret mismatch", a replica that is not
 * running is a warning, and --send-test-page delivers one marked page.
 *
 * The broker's PLAINTEXT listener (inter-broker, the harness's own requests) has the
 * principal ANONYMOUS, which is a super user here as the broker's own principal; `admin`
 * is the other super user, for kafka-acls.sh over SASL_SSL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type Admin } from 'kafkajs';
import { parse, stringify } from 'yaml';
import type { Check, DoctorReport } from '../../src/doctor';
import { silenceKafkajsNegativeTimeoutWarning } from '../../src/kafka/kafkajs-warnings';
import { makeTestCerts, type TestCerts } from '../harness/certs';
import { OffsetCommitter } from '../harness/commit-offsets';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { KAFKA_TOOLS, kafkaToolJava } from '../harness/kafka-tools';
import { startRedis, startSentinel, type RedisServer } from '../harness/redis';
import { runCollected, runVigil } from '../harness/cli';
import { startReplicas, type ReplicaGroup } from '../harness/replicas';
import { startWebhookSink, type WebhookSink } from '../harness/webhook-sink';
import { waitFor } from '../harness/wait';

const VIGIL_PASSWORD = 'vigil-scram-password-0123';
const ADMIN_PASSWORD = 'admin-scram-password-0123';
const REDIS_USER = { name: 'vigil', password: 'vigil-redis-password-0123', rules: '~vigil:* &* +@all -@dangerous +info' };

let certs: TestCerts;
let kafka: KafkaCluster;
let admin: Admin;
let redis: RedisServer;
let replicas: ReplicaGroup;
let sink: WebhookSink;
let workDir: string;
const sources = () => [kafka, redis, replicas];

interface DoctorRun {
  code: number | null;
  report: DoctorReport;
  stderr: string;
}

/** `vigil doctor --config <file> --json [extra]` as a user runs it. */
async function runDoctor(configFile: string, extra: string[] = []): Promise<DoctorRun> {
  const { code, stdout, stderr } = await runVigil(['doctor', '--config', configFile, '--json', ...extra]);
  try {
    return { code, report: JSON.parse(stdout) as DoctorReport, stderr };
  } catch {
    throw new Error(`vigil doctor (exit ${code}) printed no JSON report; stdout: ${stdout.slice(0, 500)}; stderr: ${stderr.slice(0, 2000)}`);
  }
}

/** A copy of vigil-1's config file, changed by `edit`, under the test's directory. */
function configVariant(name: string, edit: (doc: Record<string, any>) => void): string {
  const doc = parse(fs.readFileSync(replicas.get('vigil-1').configFile, 'utf8')) as Record<string, any>;
  edit(doc);
  const file = path.join(workDir, `${name}.yaml`);
  fs.writeFileSync(file, stringify(doc), { mode: 0o600 });
  return file;
}

function byId(report: DoctorReport, id: string): Check {
  const c = report.checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id} in ${report.checks.map((x) => x.id).join(', ')}`);
  return c;
}

function failing(report: DoctorReport): Check[] {
  return report.checks.filter((c) => c.status === 'fail');
}

function show(report: DoctorReport): string {
  return report.checks.map((c) => `${c.status} ${c.id}: ${c.found}${c.fix ? ` — fix: ${c.fix}` : ''}`).join('\n');
}

type Grant = [resourceType: AclResourceTypes, name: string, operation: AclOperationTypes];

function acl([resourceType, resourceName, operation]: Grant) {
  return { resourceType, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:vigil', host: '*', operation, permissionType: AclPermissionTypes.ALLOW };
}

/** Waits until the broker's authorizer holds exactly `count` ACLs for User:vigil. */
async function waitForAclCount(count: number): Promise<void> {
  await waitFor(
    async () => {
      const res = await admin.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        principal: 'User:vigil',
        host: '*',
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      const n = res.resources.reduce((sum, r) => sum + r.acls.length, 0);
      if (n !== count) throw new Error(`${n} ACLs for User:vigil`);
      return true;
    },
    { timeoutMs: 30_000, what: `${count} ACLs for User:vigil on the broker` },
  );
}

/** Runs a printed kafka-acls.sh command as printed, with Kafka's AclCommand behind the name. */
async function runPrintedKafkaAcls(command: string): Promise<void> {
  const java = ['java', ...kafkaToolJava(), KAFKA_TOOLS.acls].map((a) => `'${a}'`).join(' ');
  const run = await runCollected('bash', ['-c', `cd '${workDir}' && kafka-acls.sh() { ${java} "$@"; }\n${command}`]);
  if (run.code !== 0) throw new Error(`${command} exited ${run.code}: ${(run.stdout + run.stderr).slice(-2000)}`);
}

before(async () => {
  silenceKafkajsNegativeTimeoutWarning();
  certs = makeTestCerts();
  workDir = certs.dir;
  const keystore = path.join(certs.dir, 'broker-keystore.pem');
  fs.writeFileSync(keystore, fs.readFileSync(certs.serverKeyFile, 'utf8') + fs.readFileSync(certs.serverCertFile, 'utf8'));
  kafka = await startKafka({
    brokers: 1,
    name: 'doctor',
    extraListeners: { SECURE: 'SASL_SSL' },
    formatArgs: ['--add-scram', `SCRAM-SHA-512=[name=vigil,password=${VIGIL_PASSWORD}]`, '--add-scram', `SCRAM-SHA-512=[name=admin,password=${ADMIN_PASSWORD}]`],
    brokerOverrides: {
      'listener.name.secure.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.secure.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.ssl.keystore.type': 'PEM',
      'listener.name.secure.ssl.keystore.location': keystore,
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:ANONYMOUS;User:admin',
      'allow.everyone.if.no.acl.found': false,
    },
  });
  // kafka-acls.sh's admin client: SASL_SSL as admin, the test CA as a PEM truststore.
  fs.writeFileSync(
    path.join(workDir, 'admin.properties'),
    [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${ADMIN_PASSWORD}";`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${certs.caFile}`,
      '',
    ].join('\n'),
  );
  admin = new Kafka({ brokers: kafka.bootstrap, clientId: 'doctor-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await kafka.createTopic('orders', { partitions: 2 });
  await kafka.createTopic('payments', { partitions: 1 });
  await kafka.createTopic('audit', { partitions: 1 }); // no ACL for vigil at all
  const committer = new OffsetCommitter(kafka.bootstrap);
  try {
    await committer.commit('orders-svc', [{ topic: 'orders', partition: 0, offset: 0 }]);
    await committer.commit('payments-svc', [{ topic: 'payments', partition: 0, offset: 0 }]);
  } finally {
    await committer.close();
  }
  // Everything vigil needs (docs/doctor.md) but READ on TOPIC orders.
  await admin.createAcls({
    acl: (
      [
        [AclResourceTypes.CLUSTER, 'kafka-cluster', AclOperationTypes.DESCRIBE],
        [AclResourceTypes.TOPIC, 'orders', AclOperationTypes.DESCRIBE],
        [AclResourceTypes.TOPIC, 'orders', AclOperationTypes.DESCRIBE_CONFIGS],
        [AclResourceTypes.TOPIC, 'payments', AclOperationTypes.READ],
        [AclResourceTypes.TOPIC, 'payments', AclOperationTypes.DESCRIBE_CONFIGS],
        [AclResourceTypes.GROUP, 'orders-svc', AclOperationTypes.DESCRIBE],
        [AclResourceTypes.GROUP, 'payments-svc', AclOperationTypes.DESCRIBE],
      ] as Grant[]
    ).map(acl),
  });
  await waitForAclCount(7);

  redis = await startRedis({ users: [REDIS_USER] });
  sink = await startWebhookSink();
  replicas = await startReplicas({
    count: 3,
    name: 'doctor',
    config: {
      kafka: {
        brokers: kafka.listenerBootstrap('SECURE'),
        ssl: { ca: certs.caFile },
        sasl: { mechanism: 'scram-sha-512', username: 'vigil', password: VIGIL_PASSWORD },
      },
      redis: { url: `redis://127.0.0.1:${redis.port}`, username: REDIS_USER.name, password: REDIS_USER.password },
      alerting: { channels: [{ type: 'webhook', url: sink.url('/pages') }] },
    },
  });
  await replicas.waitForLeader({ timeoutMs: 30_000 });
});

after(async () => {
  await admin?.disconnect().catch(() => undefined);
  await Promise.allSettled([replicas?.shutdown(), redis?.shutdown(), sink?.close()]);
  await kafka?.shutdown();
  certs?.remove();
});

describe('vigil doctor against SASL_SSL Kafka with ACLs, Redis with an ACL user, and real replicas', () => {
  it('names the one missing ACL (READ on TOPIC orders) and exits 1; its printed kafka-acls.sh command fixes it, then exit 0', () =>
    withLogsOnFailure(sources(), async () => {
      const config = replicas.get('vigil-1').configFile;
      const first = await runDoctor(config);
      assert.equal(first.code, 1, show(first.report));
      assert.deepEqual(failing(first.report).map((c) => c.id), ['kafka.acl.read-topic'], show(first.report));
      const read = byId(first.report, 'kafka.acl.read-topic');
      assert.match(read.found, /^READ on TOPIC orders denied to User:vigil \(Fetch: TOPIC_AUTHORIZATION_FAILED\)/);
      assert.equal(read.fix, `kafka-acls.sh --bootstrap-server ${kafka.listenerBootstrap('SECURE')[0]} --command-config admin.properties --add --allow-principal User:vigil --operation Read --topic orders`);
      for (const id of ['kafka.bootstrap', 'kafka.brokers', 'kafka.acl.describe-cluster', 'kafka.acl.describe-topic', 'kafka.acl.describe-configs-topic', 'kafka.acl.describe-group']) {
        assert.equal(byId(first.report, id).status, 'ok', show(first.report));
      }
      assert.match(byId(first.report, 'kafka.bootstrap').found, /over SASL_SSL \(SCRAM-SHA-512 as vigil\)/);
      // Redis: the ACL user connects and runs vigil's scripts; CONFIG is denied to it, so AOF
      // (off here) is read from INFO, and its absence is a warning, not a failure.
      assert.equal(byId(first.report, 'redis.connect').status, 'ok', show(first.report));
      assert.equal(byId(first.report, 'redis.access').status, 'ok', show(first.report));
      const persistence = byId(first.report, 'redis.persistence');
      assert.equal(persistence.status, 'warn');
      assert.match(persistence.found, /AOF is off .*CONFIG GET is denied by the ACL/);
      assert.equal(byId(first.report, 'clock.redis').status, 'ok', show(first.report));
      for (const peer of ['vigil-2', 'vigil-3']) {
        assert.equal(byId(first.report, `peer.${peer}`).status, 'ok', show(first.report));
        assert.equal(byId(first.report, `clock.${peer}`).status, 'ok', show(first.report));
      }
      assert.equal(byId(first.report, 'election.replicas').status, 'ok');

      await runPrintedKafkaAcls(read.fix ?? '');
      await waitForAclCount(8);
      const second = await runDoctor(config);
      assert.equal(second.code, 0, show(second.report));
      assert.equal(byId(second.report, 'kafka.acl.read-topic').status, 'ok');
      assert.deepEqual(failing(second.report), []);
    }));

  it('names DESCRIBE on GROUP payments-svc once that ACL is taken away, and exits 0 again when it is back', () =>
    withLogsOnFailure(sources(), async () => {
      const config = replicas.get('vigil-1').configFile;
      const grant = acl([AclResourceTypes.GROUP, 'payments-svc', AclOperationTypes.DESCRIBE]);
      await admin.deleteAcls({ filters: [grant] });
      await waitForAclCount(7);
      const denied = await runDoctor(config);
      assert.equal(denied.code, 1, show(denied.report));
      assert.deepEqual(failing(denied.report).map((c) => c.id), ['kafka.acl.describe-group'], show(denied.report));
      const group = byId(denied.report, 'kafka.acl.describe-group');
      assert.match(group.found, /^DESCRIBE on GROUP payments-svc denied to User:vigil \((FindCoordinator|DescribeGroups|OffsetFetch): GROUP_AUTHORIZATION_FAILED\)/);
      assert.match(group.fix ?? '', /--operation Describe --group payments-svc$/);

      await admin.createAcls({ acl: [grant] });
      await waitForAclCount(8);
      assert.equal((await runDoctor(config)).code, 0);
    }));

  it('a topic vigil may not DESCRIBE is invisible; named literally in monitor.topics.include, the doctor names DESCRIBE and READ on it', () =>
    withLogsOnFailure(sources(), async () => {
      const file = configVariant('audit', (doc) => {
        doc.monitor = { topics: { include: ['orders', 'payments', 'audit'] } };
      });
      const run = await runDoctor(file);
      assert.equal(run.code, 1, show(run.report));
      assert.deepEqual(failing(run.report).map((c) => c.id), ['kafka.acl.describe-topic', 'kafka.acl.read-topic'], show(run.report));
      assert.match(byId(run.report, 'kafka.acl.describe-topic').found, /^DESCRIBE on TOPIC audit denied to User:vigil \(Metadata: TOPIC_AUTHORIZATION_FAILED\)/);
      assert.match(byId(run.report, 'kafka.acl.read-topic').found, /^READ on TOPIC audit denied to User:vigil \(Fetch: TOPIC_AUTHORIZATION_FAILED\)/);
    }));

  it('with the canary on: DESCRIBE and CREATE on its missing topic are named; granted, WRITE and ALTER wait for the topic', () =>
    withLogsOnFailure(sources(), async () => {
      const file = configVariant('canary', (doc) => {
        doc.canary = { enabled: true };
      });
      const denied = await runDoctor(file);
      assert.equal(denied.code, 1, show(denied.report));
      assert.deepEqual(failing(denied.report).map((c) => c.id), ['kafka.acl.describe-topic', 'kafka.acl.create-topic'], show(denied.report));
      assert.match(byId(denied.report, 'kafka.acl.describe-topic').found, /^DESCRIBE on TOPIC __vigil_canary denied to User:vigil \(Metadata: TOPIC_AUTHORIZATION_FAILED\)/);
      assert.match(byId(denied.report, 'kafka.acl.create-topic').found, /^CREATE on TOPIC __vigil_canary denied to User:vigil \(CreateTopics \(validate only\): TOPIC_AUTHORIZATION_FAILED\)/);

      const grants = ([AclOperationTypes.DESCRIBE, AclOperationTypes.CREATE] as const).map((op) => acl([AclResourceTypes.TOPIC, '__vigil_canary', op]));
      await admin.createAcls({ acl: grants });
      await waitForAclCount(10);
      try {
        const granted = await runDoctor(file);
        assert.equal(granted.code, 0, show(granted.report));
        assert.equal(byId(granted.report, 'kafka.acl.create-topic').status, 'ok');
        for (const id of ['kafka.acl.write-topic', 'kafka.acl.alter-topic']) {
          assert.equal(byId(granted.report, id).status, 'warn');
          assert.match(byId(granted.report, id).found, /not tested: the canary topic does not exist yet/);
        }
      } finally {
        await admin.deleteAcls({ filters: grants });
        await waitForAclCount(8);
      }
      // validate_only: the topic was not created
      assert.equal((await kafka.metadata(1, null)).topics.some((t) => t.name === '__vigil_canary'), false);
    }));

  it('--send-test-page delivers one page marked as a test through the webhook channel', () =>
    withLogsOnFailure(sources(), async () => {
      sink.reset();
      const run = await runDoctor(replicas.get('vigil-2').configFile, ['--send-test-page']);
      assert.equal(run.code, 0, show(run.report));
      assert.equal(byId(run.report, 'alerting.webhook-0').status, 'ok', show(run.report));
      // (the replicas page through the same sink, should anything be wrong with Kafka)
      const pages = sink.requests({ path: '/pages' }).filter((r) => (r.body as { alert?: string } | undefined)?.alert === 'VigilDoctorTest');
      assert.equal(pages.length, 1);
      const body = pages[0]?.body as { severity: string; summary: string; sentBy: { nodeId: string; term: number } };
      assert.equal(body.severity, 'info');
      assert.match(body.summary, /^TEST — vigil doctor, no action needed/);
      assert.deepEqual(body.sentBy, { nodeId: 'vigil-2', term: 0 });
    }));

  it('a config whose peer secret differs is told "secret mismatch" by every peer; a wrong Redis password fails redis.connect', () =>
    withLogsOnFailure(sources(), async () => {
      const file = configVariant('wrong-secret', (doc) => {
        doc.election.secret = 'another-secret-0123456789abcdef';
        doc.redis.password = 'not-the-password';
      });
      const run = await runDoctor(file);
      assert.equal(run.code, 1);
      for (const peer of ['vigil-2', 'vigil-3']) {
        const c = byId(run.report, `peer.${peer}`);
        assert.equal(c.status, 'fail');
        assert.match(c.found, /^secret mismatch: /);
        assert.match(c.fix ?? '', /election\.secret must be the same on every replica/);
      }
      const connect = byId(run.report, 'redis.connect');
      assert.equal(connect.status, 'fail');
      assert.match(connect.fix ?? '', /redis\.username and redis\.password/);
    }));

  it('redis.sentinel: the sentinel names the master and the doctor connects through it; an unknown master name fails', async () => {
    const master = await startRedis({ persistence: 'aof' });
    const sentinel = await startSentinel({ masterName: 'vigilmaster', master: { host: master.host, port: master.port } });
    try {
      await withLogsOnFailure([...sources(), master, sentinel], async () => {
        const sentinelled = (name: string) =>
          configVariant(`sentinel-${name}`, (doc) => {
            doc.redis = { sentinel: { name, sentinels: [`${sentinel.host}:${sentinel.port}`] } };
          });
        const file = sentinelled('vigilmaster');
        const run = await runDoctor(file);
        assert.equal(run.code, 0, show(run.report));
        assert.match(byId(run.report, 'redis.sentinel').found, new RegExp(`^all 1 sentinels \\(${sentinel.host}:${sentinel.port}\\) name master "vigilmaster" at ${master.host}:${master.port}$`));
        assert.match(byId(run.report, 'redis.connect').found, new RegExp(`through Sentinel .* the sentinels' master is ${master.host}:${master.port}$`));
        assert.equal(byId(run.report, 'redis.persistence').status, 'ok', show(run.report));

        const wrong = await runDoctor(sentinelled('nosuchmaster'));
        assert.equal(wrong.code, 1);
        const s = byId(wrong.report, 'redis.sentinel');
        assert.equal(s.status, 'fail');
        assert.match(s.found, /does not know master "nosuchmaster"/);
        assert.match(s.fix ?? '', /^check redis\.sentinel: name must be the master name the sentinels monitor/);
        assert.equal(byId(wrong.report, 'redis.connect').status, 'fail');
      });
    } finally {
      await Promise.allSettled([sentinel.shutdown(), master.shutdown()]);
    }
  });

  it('a principal that may not read __consumer_offsets: the replicas poll every group\'s offsets and say so in their status (monitor.offsetsSource: stream)', () =>
    withLogsOnFailure(sources(), async () => {
      const leader = await replicas.waitForLeader({ timeoutMs: 30_000 });
      type Offsets = { source: string; stream?: { state: string; reason?: string }; lastCycle?: { streamed: number; polled: number } };
      const status = await waitFor(
        async () => {
          const res = await replicas.request(leader.nodeId, 'GET', '/api/v1/status');
          const offsets = (JSON.parse(res.text) as { kafka?: { offsets?: Offsets } }).kafka?.offsets;
          return offsets?.stream?.state === 'denied' && (offsets.lastCycle?.polled ?? 0) > 0 ? offsets : undefined;
        },
        { timeoutMs: 30_000, what: "the leader's status to say the stream is denied and its cycles poll" },
      );
      assert.equal(status.source, 'stream');
      assert.match(status.stream?.reason ?? '', /TOPIC_AUTHORIZATION_FAILED.*__consumer_offsets/);
      assert.equal(status.lastCycle?.streamed, 0, 'no group read from the stream');
      // the groups are still measured: their offsets came by OffsetFetch
      const lag = JSON.parse((await replicas.request(leader.nodeId, 'GET', '/api/v1/lag')).text) as { groups: { group: string }[] };
      assert.ok(lag.groups.some((g) => g.group === 'payments-svc'), JSON.stringify(lag));
      assert.match(fs.readFileSync(replicas.get(leader.nodeId).logFile, 'utf8'), /cannot read __consumer_offsets: groups' offsets are polled/);
      // and an alert (info) says so (its page went to the sink at the start; an earlier test reset the sink)
      const alerts = JSON.parse((await replicas.request(leader.nodeId, 'GET', '/api/v1/alerts')).text) as { alerts: { alert: string; severity: string; summary: string }[] };
      const denied = alerts.alerts.find((a) => a.alert === 'OffsetsStreamDenied');
      assert.equal(denied?.severity, 'info', JSON.stringify(alerts));
      assert.match(denied?.summary ?? '', /every group's committed offsets are polled/);
    }));

  it("kafka.offsets-stream: the commit stream's grant missing is a warning (exit 0) with the command that grants it; granted, ok; in poll mode, skipped", () =>
    withLogsOnFailure(sources(), async () => {
      const config = replicas.get('vigil-1').configFile;
      const denied = await runDoctor(config);
      assert.equal(denied.code, 0, show(denied.report));
      const line = byId(denied.report, 'kafka.offsets-stream');
      assert.equal(line.status, 'warn', show(denied.report));
      // Metadata refuses the topic first: vigil has no ACL on it at all
      assert.match(line.found, /^DESCRIBE on TOPIC __consumer_offsets denied to User:vigil \(Metadata: TOPIC_AUTHORIZATION_FAILED\): .*offsets are polled with OffsetFetch per group; pages come up to one poll interval/);
      assert.equal(
        line.fix,
        `kafka-acls.sh --bootstrap-server ${kafka.listenerBootstrap('SECURE')[0]} --command-config admin.properties --add --allow-principal User:vigil --operation Read --operation Describe --topic __consumer_offsets # or set monitor.offsetsSource: poll to poll on purpose`,
      );

      // placed after the replicas' own denied test: granted, they may start streaming
      await runPrintedKafkaAcls(line.fix ?? '');
      await waitForAclCount(10);
      try {
        const granted = await runDoctor(config);
        assert.equal(granted.code, 0, show(granted.report));
        const ok = byId(granted.report, 'kafka.offsets-stream');
        assert.equal(ok.status, 'ok', show(granted.report));
        assert.match(ok.found, /^DESCRIBE and READ on TOPIC __consumer_offsets allowed to User:vigil: Metadata, and a Fetch of partition \d+ from its leader \(broker \d+\) that /);
      } finally {
        const grants = ([AclOperationTypes.READ, AclOperationTypes.DESCRIBE] as const).map((op) => acl([AclResourceTypes.TOPIC, '__consumer_offsets', op]));
        await admin.deleteAcls({ filters: grants });
        await waitForAclCount(8);
      }

      const poll = await runDoctor(configVariant('poll', (doc) => (doc.monitor = { ...(doc.monitor ?? {}), offsetsSource: 'poll' })));
      const skipped = byId(poll.report, 'kafka.offsets-stream');
      assert.equal(skipped.status, 'ok', show(poll.report));
      assert.match(skipped.found, /^skipped: monitor\.offsetsSource is poll/);
    }));

  it('a replica that is not running is a warning naming it; the exit status stays 0', () =>
    withLogsOnFailure(sources(), async () => {
      await replicas.kill('vigil-3');
      const run = await runDoctor(replicas.get('vigil-1').configFile);
      assert.equal(run.code, 0, show(run.report));
      const c = byId(run.report, 'peer.vigil-3');
      assert.equal(c.status, 'warn');
      assert.match(c.found, /connection refused/);
      assert.equal(run.report.checks.some((x) => x.id === 'clock.vigil-3'), false);
      assert.equal(byId(run.report, 'peer.vigil-2').status, 'ok');
    }));
});
