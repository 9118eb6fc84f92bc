/**
 * `vigil lag` against a real 3-broker Kafka (issue 2; docs/design.md §3, §7): reported delivery
 * latency within max(0.5 s, 5 %) of the truth computed from the produced CreateTime
 * timestamps, breach flags by the exact test, exit codes, and the KafkaAdmin contract on
 * the kafkajs adapter. Issue 11 item 6: --bootstrap-server with a Kafka client properties
 * file (--command-config), and --watch.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CompressionTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { KafkajsAdmin } from '../../src/kafka/kafkajs-admin';
import { KafkajsOffsetsLog } from '../../src/kafka/kafkajs-offsets-log';
import { silentLogger } from '../../src/log';
import { CommitStream } from '../../src/monitor/commit-stream';
import { detect, detectOptionsFor, emptyDetectMemory } from '../../src/monitor/detect';
import { lagReportFromSnapshot } from '../../src/monitor/lag-report';
import { KafkaObserver } from '../../src/monitor/observe';
import { systemClock } from '../../src/util/clock';
import { kafkaAdminContract } from '../contract/kafka-admin.contract';
import { OffsetCommitter } from '../harness/commit-offsets';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, repoRoot, startKafka, testKafka, testKafkaAtLeast } from '../harness/kafka';
import { STREAMS_WORDCOUNT, kafkaStreamsJarsMissing, kafkaToolJava } from '../harness/kafka-tools';
import { type TrackedProcess, spawnTracked, tailFile } from '../harness/procs';
import { freePorts } from '../harness/ports';
import { runVigil } from '../harness/cli';
import { waitFor } from '../harness/wait';

let cluster: KafkaCluster;
let admin: Admin;
let producer: Producer;
let committer: OffsetCommitter;

before(async () => {
  // A new streams group waits 3 s (Kafka's default) for more members before its first
  // assignment; the streams group test has one.
  const streams = testKafkaAtLeast(4, 2) ? { brokerOverrides: { 'group.streams.initial.rebalance.delay.ms': 0 } } : {};
  cluster = await startKafka({ brokers: 3, name: 'lag', ...streams });
  const kafka = new Kafka({ brokers: cluster.bootstrap, clientId: 'lag-test', logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  committer = new OffsetCommitter(cluster.bootstrap);
  await Promise.all([admin.connect(), producer.connect()]);
});

after(async () => {
  await Promise.allSettled([admin?.disconnect(), producer?.disconnect(), committer?.close()]);
  await cluster?.shutdown();
});

async function createTopic(topic: string, partitions: number): Promise<void> {
  // kafkajs's own waitForLeaders gives up on the UNKNOWN_TOPIC_OR_PARTITION a KRaft broker
  // answers until the new topic's metadata reaches it; wait for the leaders here instead.
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }], waitForLeaders: false });
  await waitFor(
    async () => {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const parts = md.topics[0]?.partitions ?? [];
      return parts.length === partitions && parts.every((p) => p.leader >= 0 && p.isr.length === 3);
    },
    { timeoutMs: 60_000, what: `topic ${topic} to have a leader and full ISR on every partition` },
  );
}

async function produce(topic: string, partition: number, timestampsMs: readonly number[], compression = CompressionTypes.None): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    compression,
    messages: timestampsMs.map((t, i) => ({ partition, value: `m${i}`, timestamp: String(t) })),
  });
}

async function commit(group: string, topic: string, partition: number, offset: number): Promise<void> {
  await committer.commit(group, [{ topic, partition, offset }]);
}

kafkaAdminContract('kafkajs adapter on real Kafka', async () => {
  const kafkaAdmin = new KafkajsAdmin({
    brokers: cluster.bootstrap,
    clientId: 'contract',
    ssl: false,
    connectionTimeoutMs: 3000,
    requestTimeoutMs: 10_000,
  });
  return {
    admin: kafkaAdmin,
    createTopic,
    produce,
    commit,
    hang: async (id) => cluster.pause(id),
    unhang: async (id) => cluster.resume(id),
    teardown: () => kafkaAdmin.close(),
  };
});

const vigil = runVigil;

/** A `vigil lag --watch` child; stdout and stderr accumulate as they come. */
function vigilWatch(args: string[]): { child: ChildProcessWithoutNullStreams; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist/src/cli/main.js'), ...args], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  return { child, out: () => stdout, err: () => stderr, exit };
}

interface JsonPartition { partition: number; committed: number; end: number; lagMessages: number; lagSeconds: number; breach: boolean; breachInSeconds: number | null; breachInExact?: false }
interface JsonReport {
  generatedAt: string;
  thresholdSeconds: number;
  groups: { group: string; lagSeconds: number; breach: boolean; breachInSeconds: number | null; topics: { topic: string; lagSeconds: number; lagMessages: number; breach: boolean; breachInSeconds: number | null; partitions: JsonPartition[] }[] }[];
}

describe('vigil lag on a real cluster', () => {
  const RECORDS = 600; // one every 100 ms over the last 60 s
  const SPACING_MS = 100;
  const stamps = new Map<string, number[]>(); // topic/partition → CreateTime of each offset
  const AGES_S = [0, 5, 9.6, 10.4, 30, 59]; // age of the record at the committed offset, per partition (0 = caught up)

  before(async () => {
    const baseMs = Date.now() - RECORDS * SPACING_MS;
    await createTopic('orders', AGES_S.length);
    await createTopic('audit', 2);
    for (let p = 0; p < AGES_S.length; p++) {
      const ts = Array.from({ length: RECORDS }, (_, i) => baseMs + i * SPACING_MS);
      stamps.set(`orders/${p}`, ts);
      await produce('orders', p, ts);
    }
    for (let p = 0; p < 2; p++) {
      const ts = Array.from({ length: RECORDS }, (_, i) => baseMs + i * SPACING_MS + p);
      stamps.set(`audit/${p}`, ts);
      await produce('audit', p, ts, CompressionTypes.GZIP);
    }
    // Commit so that the record at the committed offset has the wanted age "now"; the
    // truth is computed later against the report's own generatedAt, so the drift between
    // here and the run does not matter.
    const nowMs = Date.now();
    const offsetAtAge = (ts: number[], ageS: number) => {
      if (ageS === 0) return ts.length;
      const i = ts.findIndex((t) => t >= nowMs - ageS * 1000);
      return i < 0 ? ts.length - 1 : i;
    };
    for (let p = 0; p < AGES_S.length; p++) await commit('svc-a', 'orders', p, offsetAtAge(stamps.get(`orders/${p}`)!, AGES_S[p]!));
    // One batch of 600 records per partition, bursty: 500 in half a second, then 100 ten ms
    // apart. The record at 550 lies beyond the first 4 KB of its batch (the probe's first
    // fetch size), and interpolating between the batch's first and last timestamps would be
    // 3.7 s off. Four partitions on three brokers: some Fetch carries two.
    await createTopic('bursty', 4);
    const burst = Array.from({ length: RECORDS }, (_, i) => (i < 500 ? baseMs + i : baseMs + 50_000 + (i - 500) * 10));
    for (let p = 0; p < 4; p++) {
      stamps.set(`bursty/${p}`, burst);
      await produce('bursty', p, burst);
      await commit('burst-a', 'bursty', p, 550);
    }
    await commit('svc-b', 'orders', 0, 0);
    await commit('svc-b', 'audit', 0, 123);
    await commit('svc-b', 'audit', 1, 457);
  });

  it('reports every partition within max(0.5 s, 5 %) of the truth, with exact breach flags and times to breach, and exits 1 on breach', () =>
    withLogsOnFailure(cluster, async () => {
      const res = await vigil(['lag', '--brokers', cluster.bootstrap.join(','), '--json', '--threshold', '10s', '--group', 'svc-*']);
      assert.equal(res.code, 1, `exit code (stderr: ${res.stderr})`);
      const report = JSON.parse(res.stdout) as JsonReport;
      const nowMs = Date.parse(report.generatedAt);
      assert.equal(report.thresholdSeconds, 10);
      let maxErrorS = 0;
      let checked = 0;
      let ahead = 0;
      for (const g of report.groups) {
        for (const t of g.topics) {
          for (const p of t.partitions) {
            const ts = stamps.get(`${t.topic}/${p.partition}`)!;
            assert.equal(p.end, ts.length, `${g.group} ${t.topic}/${p.partition} end offset`);
            assert.equal(p.lagMessages, ts.length - p.committed);
            if (p.committed >= ts.length) {
              assert.equal(p.lagSeconds, 0, 'caught-up partitions report 0');
              assert.equal(p.breach, false);
              assert.equal(p.breachInSeconds, null, 'caught up: no breach ahead');
              continue;
            }
            const truthS = (nowMs - ts[p.committed]!) / 1000;
            const errorS = Math.abs(p.lagSeconds - truthS);
            maxErrorS = Math.max(maxErrorS, errorS);
            assert.ok(errorS <= Math.max(0.5, 0.05 * truthS), `${g.group} ${t.topic}/${p.partition}: reported ${p.lagSeconds}s, truth ${truthS}s`);
            assert.equal(p.breach, ts[p.committed]! < nowMs - 10_000, `${g.group} ${t.topic}/${p.partition} breach flag at age ${truthS}s`);
            // these groups are stalled: each breaches at the record at c's time + 10 s (docs/design.md §3.8)
            if (p.breach) assert.equal(p.breachInSeconds, 0, `${g.group} ${t.topic}/${p.partition}: in breach, breaches in 0 s`);
            else {
              const breachInTruthS = (ts[p.committed]! + 10_000 - nowMs) / 1000;
              const tolerance = p.breachInExact === false ? Math.max(0.5, 0.05 * truthS) : 0.001;
              assert.ok(p.breachInSeconds !== null && Math.abs(p.breachInSeconds - breachInTruthS) <= tolerance, `${g.group} ${t.topic}/${p.partition}: breach in ${p.breachInSeconds} s, truth ${breachInTruthS} s`);
              ahead++;
            }
            checked++;
          }
          const known = t.partitions.flatMap((p) => (p.breachInSeconds === null ? [] : [p.breachInSeconds]));
          assert.equal(t.breachInSeconds, known.length === 0 ? null : Math.min(...known), 'topic time to breach is the min over partitions');
          assert.equal(t.lagSeconds, Math.max(...t.partitions.map((p) => p.lagSeconds)), 'topic latency is the max over partitions');
          assert.equal(t.lagMessages, t.partitions.reduce((s, p) => s + p.lagMessages, 0), 'topic messages are the sum');
        }
      }
      assert.equal(checked, AGES_S.length - 1 + 3, 'every lagging partition was checked');
      assert.ok(ahead >= 1, 'the 5 s old partition of svc-a is behind, not yet in breach, and has a time to breach');
      // worst group first: svc-b has the 60 s old record at offset 0
      assert.equal(report.groups[0]?.group, 'svc-b');
      console.log(`# lag accuracy: max error ${maxErrorS.toFixed(3)} s over ${checked} lagging partitions`);
    }));

  it('reads the exact timestamp of a record deep inside a batch larger than the first fetch', async () => {
    const res = await vigil(['lag', '--brokers', cluster.bootstrap.join(','), '--json', '--group', 'burst-a']);
    const report = JSON.parse(res.stdout) as JsonReport;
    const parts = report.groups[0]?.topics[0]?.partitions ?? [];
    assert.equal(parts.length, 4, res.stderr);
    const truthS = (Date.parse(report.generatedAt) - stamps.get('bursty/0')![550]!) / 1000;
    for (const p of parts) {
      assert.ok(Math.abs(p.lagSeconds - truthS) <= Math.max(0.5, 0.05 * truthS), `partition ${p.partition}: reported ${p.lagSeconds} s, truth ${truthS} s`);
    }
  });

  it('exits 0 when no partition is over the threshold, and prints a table by default', async () => {
    const res = await vigil(['lag', '--brokers', cluster.bootstrap.join(','), '--threshold', '5m', '--group', 'svc-a']);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.match(lines[0]!, /^GROUP\s+TYPE\s+STATE\s+TOPIC\s+PARTITION\s+COMMITTED\s+END\s+LAG\s+LATENCY\s+BREACH\s+BREACH IN\s+CLIENT-ID\s+HOST$/);
    assert.equal(lines.filter((l) => l.startsWith('svc-a')).length, AGES_S.length);
    // at a 5 min threshold the 59 s old partition breaches in about 241 s; the caught-up one never
    assert.match(lines.find((l) => /^svc-a\s+\S+\s+\S+\s+orders\s+5\s/.test(l)) ?? '', /\sno\s+2\d\d\.\ds\s/);
    assert.match(lines.find((l) => /^svc-a\s+\S+\s+\S+\s+orders\s+0\s/.test(l)) ?? '', /\sno\s+-\s/);
    assert.match(res.stdout, /1 group\(s\), 6 partition\(s\); 0 group\(s\) over the 300s threshold/);
  });

  it('filters by topic glob', async () => {
    const res = await vigil(['lag', '--brokers', cluster.bootstrap.join(','), '--json', '--topic', 'aud*']);
    const report = JSON.parse(res.stdout) as JsonReport;
    assert.deepEqual(report.groups.map((g) => [g.group, g.topics.map((t) => t.topic)]), [['svc-b', ['audit']]]);
  });

  it('exits 2 with one line naming every broker tried when none is reachable', async () => {
    const ports = await freePorts(2);
    const brokers = ports.map((p) => `127.0.0.1:${p}`);
    const res = await vigil(['lag', '--brokers', brokers.join(','), '--connect-timeout', '1s']);
    assert.equal(res.code, 2);
    assert.equal(res.stdout, '');
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${res.stderr}`);
    for (const b of brokers) assert.ok(lines[0]!.includes(b), `names ${b}`);
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  });

  it('takes the Kafka connection and the threshold from a vigil config file (--config)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-lag-config-'));
    try {
      const file = path.join(dir, 'vigil.yaml');
      fs.writeFileSync(
        file,
        [
          'cluster: lag-test',
          'node: { id: solo, listen: "127.0.0.1:19464" }',
          'peers: [ { id: solo, url: "http://127.0.0.1:19464" } ]',
          `kafka: { brokers: [${cluster.bootstrap.map((b) => `"\${LAG_TEST_BROKER_${cluster.bootstrap.indexOf(b)}}"`).join(', ')}] }`,
          'redis: { url: "redis://127.0.0.1:6379" }',
          'lag: { threshold: 5m, resolveBelow: 4m }',
        ].join('\n'),
      );
      const env = Object.fromEntries(cluster.bootstrap.map((b, i) => [`LAG_TEST_BROKER_${i}`, b]));
      const res = await vigil(['lag', '--config', file, '--json', '--group', 'svc-a'], env);
      assert.equal(res.code, 0, res.stderr);
      const report = JSON.parse(res.stdout) as JsonReport;
      assert.equal(report.thresholdSeconds, 300);
      assert.deepEqual(report.groups.map((g) => g.group), ['svc-a']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 on a usage error', async () => {
    const res = await vigil(['lag', '--brokers', cluster.bootstrap.join(','), '--threshold', 'soon']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--threshold: "soon" is not a duration/);
  });
  it('takes --bootstrap-server and a Kafka client properties file (--command-config), warning about keys it does not use', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-lag-command-config-'));
    try {
      const file = path.join(dir, 'client.properties');
      // As written for kafka-consumer-groups.sh: a comment, key: value, a continuation line.
      fs.writeFileSync(file, '# the test cluster\nsecurity.protocol=PLAINTEXT\nclient.id: vigil-\\\n   lag-test\nretries=3\n');
      const res = await vigil(['lag', '--bootstrap-server', cluster.bootstrap.join(','), '--command-config', file, '--json', '--group', 'svc-a']);
      assert.equal(res.code, 1, `svc-a has partitions over 10s (stderr: ${res.stderr})`);
      const report = JSON.parse(res.stdout) as JsonReport;
      assert.deepEqual(report.groups.map((g) => g.group), ['svc-a']);
      assert.equal(report.groups[0]?.topics[0]?.partitions.length, AGES_S.length);
      assert.equal(res.stderr, `vigil: warning: --command-config ${file}: ignoring retries: not used by vigil\n`);

      // The file is honoured, not just read: SASL against this PLAINTEXT listener cannot work.
      const sasl = path.join(dir, 'sasl.properties');
      fs.writeFileSync(
        sasl,
        'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";\n',
      );
      const refused = await vigil(['lag', '--bootstrap-server', cluster.bootstrap.join(','), '--command-config', sasl, '--connect-timeout', '2s']);
      assert.equal(refused.code, 2, `stdout: ${refused.stdout}`);
      assert.equal(refused.stdout, '');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--watch prints a report every interval into a pipe until SIGINT, then exits 0', async () => {
    const w = vigilWatch(['lag', '--bootstrap-server', cluster.bootstrap.join(','), '--group', 'svc-a', '--threshold', '5m', '--watch', '1s']);
    try {
      const summaries = () => w.out().match(/^1 group\(s\), 6 partition\(s\); 0 group\(s\) over the 300s threshold/gm)?.length ?? 0;
      await waitFor(() => summaries() >= 2, { timeoutMs: 60_000, what: `two reports (stdout: ${w.out()}; stderr: ${w.err()})` });
      w.child.kill('SIGINT');
      assert.equal(await w.exit, 0, w.err());
      const out = w.out();
      assert.ok(!out.includes('\x1b'), 'no terminal control codes into a pipe');
      const headers = out.match(/^vigil lag, every 1s \(Ctrl-C to stop\): \d{4}-\d\d-\d\dT[\d:.]+Z$/gm) ?? [];
      assert.ok(headers.length >= 2, `a timestamp header before each report: ${out}`);
      assert.match(out, /threshold \(as of [^)]+\)\n\nvigil lag, every 1s/, 'reports separated by a blank line');
    } finally {
      w.child.kill('SIGKILL');
    }
  });

  it('--watch --json prints one JSON report per line (NDJSON) until SIGINT, then exits 0', async () => {
    const w = vigilWatch(['lag', '--bootstrap-server', cluster.bootstrap.join(','), '--group', 'svc-a', '--json', '--watch', '500ms']);
    try {
      const lines = () => w.out().split('\n').slice(0, -1); // complete lines only
      await waitFor(() => lines().length >= 2, { timeoutMs: 60_000, what: `two NDJSON lines (stdout: ${w.out()}; stderr: ${w.err()})` });
      w.child.kill('SIGINT');
      assert.equal(await w.exit, 0, w.err());
      const reports = lines().map((l) => JSON.parse(l) as JsonReport);
      assert.ok(reports.length >= 2);
      for (const r of reports) assert.deepEqual(r.groups.map((g) => g.group), ['svc-a']);
      assert.ok(Date.parse(reports[1]!.generatedAt) > Date.parse(reports[0]!.generatedAt), 'a new report each time');
    } finally {
      w.child.kill('SIGKILL');
    }
  });
});

interface TypedGroup {
  group: string;
  type?: string;
  state?: string;
  members?: number;
  lagSeconds: number | null;
  breach: boolean | null;
  error?: string;
  topics: { topic: string; partitions: (JsonPartition & { consumers?: { memberId: string; clientId: string; host: string }[] })[] }[];
}

describe('every group type in vigil lag (issue 10 item 2)', () => {
  const TOPIC = 'kinds';
  const PARTITIONS = 3;
  const javaClients: TrackedProcess[] = [];
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-group-types-'));
  const kafkajs = () => new Kafka({ brokers: cluster.bootstrap, clientId: 'kinds-kafkajs', logLevel: logLevel.NOTHING });
  let classic: ReturnType<Kafka['consumer']> | undefined;
  const ends = [0, 0, 0];

  /** `count` records on each partition, the first `ageMs` old, 1 ms apart: where they start, and the first's timestamp. */
  async function produceAll(count: number, ageMs: number): Promise<{ start: number[]; atMs: number }> {
    const start = [...ends];
    const atMs = Date.now() - ageMs;
    for (let p = 0; p < PARTITIONS; p++) {
      await produce(TOPIC, p, Array.from({ length: count }, (_, i) => atMs + i));
      ends[p] = (ends[p] as number) + count;
    }
    return { start, atMs };
  }

  /** Reported seconds within max(0.5 s, 5 %) of the age of the record at the position, written at `atMs`. */
  function assertLatency(p: JsonPartition, generatedAtMs: number, atMs: number): void {
    const truthS = (generatedAtMs - atMs) / 1000;
    assert.ok(Math.abs(p.lagSeconds - truthS) <= Math.max(0.5, 0.05 * truthS), `partition ${p.partition}: reported ${p.lagSeconds} s, truth ${truthS} s`);
  }

  /** `vigil lag --json` for one group: its entry, or undefined while it has none. */
  async function groupReport(group: string, topic = TOPIC): Promise<{ code: number | null; generatedAtMs: number; g: TypedGroup | undefined }> {
    const res = await vigil(['lag', '--brokers', cluster.bootstrap.join(','), '--json', '--threshold', '10s', '--group', group, '--topic', topic]);
    const report = JSON.parse(res.stdout) as { generatedAt: string; groups: TypedGroup[] };
    return { code: res.code, generatedAtMs: Date.parse(report.generatedAt), g: report.groups.find((x) => x.group === group) };
  }

  /** A Java client from the test Kafka's jars, its output in a log of its own. */
  function javaClient(name: string, mainClass: string, args: string[]): TrackedProcess {
    const proc = spawnTracked({ name, command: 'java', args: [...kafkaToolJava(), mainClass, ...args], logFile: path.join(logDir, `${name}.log`) });
    javaClients.push(proc);
    return proc;
  }

  const partitionsOf = (g: TypedGroup | undefined, topic = TOPIC) => g?.topics.find((t) => t.topic === topic)?.partitions ?? [];

  // Record timestamps rise with offsets, as the exact test assumes (docs/design.md §3): each
  // batch is produced later than the one before, and younger.
  before(async () => {
    await createTopic(TOPIC, PARTITIONS);
    await produceAll(10, 60_000);
  });

  after(async () => {
    await classic?.disconnect().catch(() => undefined);
    await Promise.allSettled(javaClients.map((c) => c.kill()));
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('a classic group (kafkajs): type classic, Stable, one member with its client id and host on every partition, and its lag', async () => {
    classic = kafkajs().consumer({ groupId: 'kinds-classic' });
    await classic.connect();
    await classic.subscribe({ topic: TOPIC, fromBeginning: true });
    let consumed = 0;
    await classic.run({ eachMessage: async () => void consumed++ });
    // everything consumed and committed, then the consumer stops fetching but stays in the group
    await waitFor(async () => consumed === 30 && partitionsOf((await groupReport('kinds-classic')).g).every((p) => p.committed === 10), { timeoutMs: 60_000, what: 'kinds-classic to consume and commit its 30 records' });
    classic.pause([{ topic: TOPIC }]);
    const { atMs } = await produceAll(5, 40_000);

    const { code, generatedAtMs, g } = await groupReport('kinds-classic');
    assert.equal(code, 1, `in breach: 40 s behind at a 10 s threshold (${JSON.stringify(g)})`);
    assert.ok(g, 'the group is reported');
    assert.deepEqual([g.type, g.state, g.members], ['classic', 'Stable', 1]);
    const parts = partitionsOf(g);
    assert.equal(parts.length, PARTITIONS);
    for (const p of parts) {
      assert.deepEqual([p.committed, p.end, p.lagMessages, p.breach], [10, 15, 5, true], `partition ${p.partition}`);
      assertLatency(p, generatedAtMs, atMs);
      assert.equal(p.consumers?.length, 1, `partition ${p.partition} has one consumer`);
      assert.equal(p.consumers?.[0]?.clientId, 'kinds-kafkajs');
      assert.match(p.consumers?.[0]?.host ?? '', /127\.0\.0\.1/);
    }
    assert.equal(new Set(parts.map((p) => p.consumers?.[0]?.memberId)).size, 1, 'the one member holds every partition');

    const table = await vigil(['lag', '--brokers', cluster.bootstrap.join(','), '--threshold', '10s', '--group', 'kinds-classic', '--topic', TOPIC]);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0]!, /^GROUP\s+TYPE\s+STATE\s+TOPIC\s+PARTITION\s+COMMITTED\s+END\s+LAG\s+LATENCY\s+BREACH\s+BREACH IN\s+CLIENT-ID\s+HOST$/);
    assert.equal(lines.filter((l) => /^kinds-classic\s+classic\s+Stable\s+kinds\s+\d\s+10\s+15\s+5\s+[\d.]+s\s+yes\s+now\s+kinds-kafkajs\s+\/127\.0\.0\.1$/.test(l)).length, PARTITIONS, table.stdout);
  });

  const kafka4 = testKafkaAtLeast(4)
    ? false
    : `Kafka ${testKafka.version}: the consumer group protocol (KIP-848) is generally available, and share groups (KIP-932) exist, from Kafka 4.0`;

  it('a consumer-protocol group (Java, group.protocol=consumer): type consumer, Stable, its member\'s client id and host, caught up', { skip: kafka4 }, async () => {
    javaClient('console-consumer', 'org.apache.kafka.tools.consumer.ConsoleConsumer', [
      '--bootstrap-server', cluster.bootstrap.join(','), '--topic', TOPIC, '--group', 'kinds-consumer', '--from-beginning',
      '--consumer-property', 'group.protocol=consumer', '--consumer-property', 'client.id=kinds-java', '--consumer-property', 'auto.commit.interval.ms=500',
    ]);
    const { g } = await waitFor(
      async () => {
        const r = await groupReport('kinds-consumer');
        const parts = partitionsOf(r.g);
        return parts.length === PARTITIONS && parts.every((p) => p.committed === p.end && p.consumers?.length === 1) && r.g?.state === 'Stable' ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'kinds-consumer to consume everything, commit, and be Stable with its member on every partition' },
    );
    assert.deepEqual([g?.type, g?.state, g?.members], ['consumer', 'Stable', 1]);
    for (const p of partitionsOf(g)) {
      assert.deepEqual([p.committed, p.end, p.lagMessages, p.lagSeconds, p.breach], [15, 15, 0, 0, false], `partition ${p.partition}`);
      assert.equal(p.consumers?.[0]?.clientId, 'kinds-java');
      assert.match(p.consumers?.[0]?.host ?? '', /127\.0\.0\.1/);
    }
    // the commit stream (monitor.offsetsSource: stream) reads the new protocol's commits from
    // __consumer_offsets as OffsetFetch reports them
    const stream = new CommitStream(new KafkajsOffsetsLog({ brokers: cluster.bootstrap, clientId: 'kinds-stream', ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 }, silentLogger), systemClock, silentLogger);
    stream.start();
    try {
      await waitFor(
        () => {
          const offsets = stream.committed('kinds-consumer');
          return offsets !== null && partitionsOf(g).every((p) => offsets.get(TOPIC)?.get(p.partition) === p.committed) ? true : undefined;
        },
        { timeoutMs: 30_000, what: `the commit stream to hold kinds-consumer's offsets as OffsetFetch reports them (has ${JSON.stringify([...(stream.committed('kinds-consumer')?.get(TOPIC) ?? [])])})` },
      );
    } finally {
      await stream.stop();
    }
  });

  it('a share group (Java ConsoleShareConsumer): type share, its member while it runs, caught up; stopped with a backlog, lag and latency from the first record not delivered, and the leader\'s cycle pages it', { skip: kafka4 }, async () => {
    const consumer = javaClient('console-share-consumer', 'org.apache.kafka.tools.consumer.ConsoleShareConsumer', [
      '--bootstrap-server', cluster.bootstrap.join(','), '--topic', TOPIC, '--group', 'kinds-share', '--consumer-property', 'client.id=kinds-share-java',
    ]);
    // A new share group starts at the end of each partition (share.auto.offset.reset=latest),
    // and Kafka keeps its state once a record arrives after that: records until each partition
    // has a position, and the consumer has them all.
    let last: TypedGroup | undefined;
    const running = await waitFor(
      async () => {
        const r = await groupReport('kinds-share');
        last = r.g;
        const parts = partitionsOf(r.g);
        if (parts.length < PARTITIONS) await produceAll(1, 35_000);
        return parts.length === PARTITIONS && parts.every((p) => p.lagMessages === 0 && p.end === ends[p.partition] && p.consumers?.length === 1) ? r.g : undefined;
      },
      { timeoutMs: 60_000, what: `kinds-share to hold a position on every partition, caught up, its member assigned each (last: ${JSON.stringify(last)})` },
    ).catch((err: Error) => assert.fail(`${err.message}; last report of the group: ${JSON.stringify(last)}`));
    assert.deepEqual([running.type, running.state, running.members], ['share', 'Stable', 1]);
    for (const p of partitionsOf(running)) {
      assert.equal(p.consumers?.[0]?.clientId, 'kinds-share-java');
      assert.match(p.consumers?.[0]?.host ?? '', /127\.0\.0\.1/);
    }
    await consumer.terminate({ timeoutMs: 30_000 });

    const { start, atMs } = await produceAll(4, 30_000);
    const stalled = await waitFor(
      async () => {
        const r = await groupReport('kinds-share');
        return r.g?.state === 'Empty' && partitionsOf(r.g).every((p) => p.end === ends[p.partition]) ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'kinds-share to be Empty and the backlog to show' },
    );
    assert.equal(stalled.code, 1, `in breach: 30 s behind at a 10 s threshold (${JSON.stringify(stalled.g)})`);
    assert.deepEqual([stalled.g?.type, stalled.g?.members], ['share', 0]);
    for (const p of partitionsOf(stalled.g)) {
      assert.deepEqual([p.committed, p.lagMessages, p.breach], [start[p.partition], 4, true], `partition ${p.partition}`);
      assertLatency(p, stalled.generatedAtMs, atMs);
      assert.equal(p.consumers, undefined, 'nobody holds it');
    }

    // The leader's own cycle (observe → detect) pages it like any group behind.
    const admin = new KafkajsAdmin({ brokers: cluster.bootstrap, clientId: 'kinds-observer', ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 });
    try {
      const lagRule = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning' as const, overrides: [] };
      const observer = new KafkaObserver(admin, { lag: lagRule, groups: { include: ['kinds-share'], exclude: [] }, topics: { include: [TOPIC], exclude: [] }, brokerPingTimeoutMs: 1000 }, systemClock);
      const snap = await observer.observe();
      assert.ok(snap.ok, snap.ok ? '' : snap.error);
      const g = snap.groups.find((x) => x.group === 'kinds-share');
      assert.deepEqual([g?.type, g?.state, g?.members], ['share', 'Empty', []]);
      const { findings } = detect(snap, emptyDetectMemory(), detectOptionsFor(lagRule));
      const paged = findings.find((f) => f.kind === 'ConsumerDeliveryLag' && f.group === 'kinds-share');
      assert.ok(paged && paged.kind === 'ConsumerDeliveryLag', `a ConsumerDeliveryLag finding for kinds-share: ${JSON.stringify(findings)}`);
      assert.deepEqual([paged.topic, [...paged.partitions].sort()], [TOPIC, [0, 1, 2]]);
    } finally {
      await admin.close();
    }
  });

  const streamsGroups = testKafkaAtLeast(4, 2)
    ? false
    : `Kafka ${testKafka.version}: the broker has no streams groups (the streams rebalance protocol, KIP-1071, is generally available from Kafka 4.2)`;

  it('a streams group (a Kafka Streams application, group.protocol=streams): type streams, Stable, its member\'s client id and host on every partition its tasks read, caught up; stopped with a backlog, Empty, lag and latency from its committed offsets', { skip: streamsGroups }, async () => {
    const missing = kafkaStreamsJarsMissing();
    assert.equal(missing, null, missing ?? '');
    const { mainClass, inputTopic: input, outputTopic: output } = STREAMS_WORDCOUNT;
    const APP = 'kinds-streams';
    const inputEnds = [0, 0, 0];
    /** `count` lines on each input partition, the first `ageMs` old, 1 ms apart; 30 distinct words at the first call. */
    async function produceLines(count: number, ageMs: number): Promise<{ start: number[]; atMs: number }> {
      const start = [...inputEnds];
      const atMs = Date.now() - ageMs;
      for (let p = 0; p < PARTITIONS; p++) {
        await producer.send({ topic: input, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ partition: p, value: `w${p}x${start[p]! + i} common`, timestamp: String(atMs + i) })) });
        inputEnds[p] = start[p]! + count;
      }
      return { start, atMs };
    }
    await Promise.all([createTopic(input, PARTITIONS), createTopic(output, 1)]);
    await produceLines(10, 50_000);

    const props = path.join(logDir, 'streams.properties');
    fs.writeFileSync(
      props,
      [
        `application.id=${APP}`,
        `bootstrap.servers=${cluster.bootstrap.join(',')}`,
        'group.protocol=streams',
        'client.id=kinds-streams-java',
        'commit.interval.ms=500',
        `state.dir=${path.join(logDir, 'streams-state')}`,
        '',
      ].join('\n'),
    );
    const app = javaClient('streams-wordcount', mainClass, [props]);
    const appLog = () => `; the application ${app.isRunning() ? 'runs' : `exited ${JSON.stringify(app.exitStatus())}`}, its log ends:\n${tailFile(app.logFile, 30)}`;

    // Running: everything read and committed, its one member on every input partition.
    let last: TypedGroup | undefined;
    const running = await waitFor(
      async () => {
        if (!app.isRunning()) return true; // fails below, with its log
        const r = await groupReport(APP, input);
        last = r.g;
        const parts = partitionsOf(r.g, input);
        return r.g?.state === 'Stable' && parts.length === PARTITIONS && parts.every((p) => p.committed === inputEnds[p.partition] && p.end === p.committed && p.consumers?.length === 1) ? r.g : undefined;
      },
      { timeoutMs: 60_000, what: `${APP} to be Stable, caught up on ${input}, its member on every partition` },
    ).catch((err: Error) => assert.fail(`${err.message}; last report of the group: ${JSON.stringify(last)}${appLog()}`));
    assert.ok(running !== true, `the streams application stopped${appLog()}`);
    assert.deepEqual([running.type, running.state, running.members], ['streams', 'Stable', 1], JSON.stringify(running));
    const holder = partitionsOf(running, input)[0]?.consumers?.[0];
    // Kafka Streams names each thread's client after client.id
    assert.match(holder?.clientId ?? '', /^kinds-streams-java-StreamThread-1-consumer$/);
    assert.match(holder?.host ?? '', /127\.0\.0\.1/);
    for (const p of partitionsOf(running, input)) {
      assert.deepEqual([p.committed, p.end, p.lagMessages, p.lagSeconds, p.breach], [10, 10, 0, 0, false], `partition ${p.partition}`);
      assert.deepEqual(p.consumers, [holder], `partition ${p.partition} is held by the one member`);
    }
    // The second subtopology's tasks read the repartition topic the broker created: the same
    // member holds each of its partitions the application committed on.
    // (the second subtopology commits after the first: wait for its first commit)
    let lastRepartition: TypedGroup | undefined;
    const repartitionRows = await waitFor(
      async () => {
        const r = await groupReport(APP, `${APP}-*-repartition`);
        lastRepartition = r.g;
        const rows = r.g?.topics.flatMap((t) => t.partitions) ?? [];
        return rows.length >= 1 && rows.every((p) => (p.consumers?.length ?? 0) > 0) ? rows : undefined;
      },
      { timeoutMs: 30_000, what: 'a repartition topic row held by the member' },
    ).catch((err: Error) => assert.fail(`${err.message}; last report: ${JSON.stringify(lastRepartition)}${appLog()}`));
    for (const p of repartitionRows) assert.deepEqual(p.consumers, [holder], `repartition partition ${p.partition}`);

    const table = await vigil(['lag', '--brokers', cluster.bootstrap.join(','), '--group', APP, '--topic', input]);
    assert.equal(
      table.stdout.split('\n').filter((l) => /^kinds-streams\s+streams\s+Stable\s+streams-plaintext-input\s+\d\s+10\s+10\s+0\s+0\.0s\s+no\s+-\s+kinds-streams-java-StreamThread-1-consumer\s+\/127\.0\.0\.1$/.test(l)).length,
      PARTITIONS,
      table.stdout,
    );

    // The leader's cycle (observe) sees the same group, and GET /api/v1/lag, built from its
    // snapshot, shows it as vigil lag does.
    const observerAdmin = new KafkajsAdmin({ brokers: cluster.bootstrap, clientId: 'kinds-observer', ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 });
    try {
      const lagRule = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning' as const, overrides: [] };
      const observer = new KafkaObserver(observerAdmin, { lag: lagRule, groups: { include: [APP], exclude: [] }, topics: { include: [input], exclude: [] }, brokerPingTimeoutMs: 1000 }, systemClock);
      const snap = await observer.observe();
      assert.ok(snap.ok, snap.ok ? '' : snap.error);
      const g = snap.groups.find((x) => x.group === APP);
      assert.deepEqual([g?.type, g?.state, g?.members?.length], ['streams', 'Stable', 1]);
      assert.deepEqual(g?.members?.[0]?.assignment?.find((t) => t.topic === input)?.partitions, [0, 1, 2]);
      const api = lagReportFromSnapshot(snap.groups, snap.takenAtMs, 10_000).groups.find((x) => x.group === APP);
      assert.deepEqual([api?.type, api?.state, api?.members], ['streams', 'Stable', 1]);
      const apiRows = api?.topics.find((t) => t.topic === input)?.partitions ?? [];
      assert.deepEqual(apiRows.map((p) => [p.partition, p.committed, p.lagMessages, p.consumers]).sort((a, b) => (a[0] as number) - (b[0] as number)), [0, 1, 2].map((p) => [p, 10, 0, [holder]]));
    } finally {
      await observerAdmin.close();
    }

    // Stopped (SIGTERM: it closes and leaves the group), then records it will not read.
    await app.terminate({ timeoutMs: 30_000 });
    const { start, atMs } = await produceLines(4, 30_000);
    const stalled = await waitFor(
      async () => {
        const r = await groupReport(APP, input);
        last = r.g;
        return r.g?.state === 'Empty' && partitionsOf(r.g, input).every((p) => p.end === inputEnds[p.partition]) ? r : undefined;
      },
      { timeoutMs: 60_000, what: `${APP} to be Empty and the backlog to show` },
    ).catch((err: Error) => assert.fail(`${err.message}; last report of the group: ${JSON.stringify(last)}`));
    assert.equal(stalled.code, 1, `in breach: 30 s behind at a 10 s threshold (${JSON.stringify(stalled.g)})`);
    assert.deepEqual([stalled.g?.type, stalled.g?.members], ['streams', 0]);
    for (const p of partitionsOf(stalled.g, input)) {
      assert.deepEqual([p.committed, p.end, p.lagMessages, p.breach], [start[p.partition], inputEnds[p.partition], 4, true], `partition ${p.partition}`);
      assertLatency(p, stalled.generatedAtMs, atMs);
      assert.equal(p.consumers, undefined, 'nobody holds it');
    }
  });
});
