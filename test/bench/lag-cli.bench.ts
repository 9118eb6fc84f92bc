/**
 * `vigil lag` on a real 3-broker cluster with 50 groups × 500 partitions (issue 2):
 * wall time of whole CLI runs (process start to exit), the in-process report time, and
 * the number of Kafka requests one report sends.
 *
 *   npm run build && node scripts/run-bench.js lag-cli
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KafkajsAdmin } from '../../src/kafka/kafkajs-admin';
import { collectLagReport } from '../../src/monitor/lag-report';
import { nameFilter } from '../../src/util/glob';
import { OffsetCommitter } from '../harness/commit-offsets';
import { repoRoot, startKafka } from '../harness/kafka';
import { summarizeMs } from './util';

const TOPICS = 10;
const PARTITIONS_PER_TOPIC = 50; // 500 partitions
const GROUPS = 50;
const RECORDS_PER_PARTITION = 40;
const RUNS = 7;


async function main(): Promise<void> {
  const startMs = performance.now();
  const cluster = await startKafka({ brokers: 3, name: 'bench-lag' });
  const clusterStartMs = performance.now() - startMs;
  try {
    const kafka = new Kafka({ brokers: cluster.bootstrap, clientId: 'bench', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);
    const topics = Array.from({ length: TOPICS }, (_, i) => `bench-${i}`);
    for (const topic of topics) await cluster.createTopic(topic, { partitions: PARTITIONS_PER_TOPIC, replicationFactor: 3 });
    const baseMs = Date.now() - 60_000;
    for (const topic of topics) {
      const messages = [];
      for (let p = 0; p < PARTITIONS_PER_TOPIC; p++) {
        for (let i = 0; i < RECORDS_PER_PARTITION; i++) messages.push({ partition: p, value: `v${i}`, timestamp: String(baseMs + i * 1500) });
      }
      await producer.send({ topic, acks: -1, messages });
    }
    // every group on every partition, each at its own offset: a realistic worst case for
    // the record probes (no two groups share an offset on a partition)
    const committer = new OffsetCommitter(cluster.bootstrap);
    for (let g = 0; g < GROUPS; g++) {
      const offsets = topics.flatMap((topic) =>
        Array.from({ length: PARTITIONS_PER_TOPIC }, (_, partition) => ({ topic, partition, offset: (g + partition) % RECORDS_PER_PARTITION })),
      );
      await committer.commit(`bench-group-${g}`, offsets);
    }
    await Promise.all([committer.close(), producer.disconnect(), admin.disconnect()]);

    // in-process: one report, counting requests
    const kafkaAdmin = new KafkajsAdmin({ brokers: cluster.bootstrap, clientId: 'bench', ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 30_000 });
    const counts = new Map<string, number>();
    const send = kafkaAdmin.connections.send.bind(kafkaAdmin.connections);
    kafkaAdmin.connections.send = (broker, req) => {
      counts.set(req.apiName, (counts.get(req.apiName) ?? 0) + 1);
      return send(broker, req);
    };
    const inProcessMs: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS; i++) {
      counts.clear();
      const t0 = performance.now();
      const report = await collectLagReport(kafkaAdmin, { thresholdMs: 10_000, groups: nameFilter(['bench-*']), topics: nameFilter([]), nowMs: () => Date.now() });
      inProcessMs.push(performance.now() - t0);
      rows = report.groups.reduce((s, g) => s + g.topics.reduce((n, t) => n + t.partitions.length, 0), 0);
    }
    await kafkaAdmin.close();

    const cliMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const res = spawnSync(process.execPath, [path.join(repoRoot, 'dist/src/cli/main.js'), 'lag', '--brokers', cluster.bootstrap.join(','), '--json', '--group', 'bench-*'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      cliMs.push(performance.now() - t0);
      if (res.status !== 1 && res.status !== 0) throw new Error(`vigil lag exited ${res.status}: ${res.stderr}`);
    }
    inProcessMs.sort((a, b) => a - b);
    cliMs.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'lag-cli',
        groups: GROUPS,
        partitions: TOPICS * PARTITIONS_PER_TOPIC,
        groupPartitionRows: rows,
        clusterStartMs: Math.round(clusterStartMs),
        cliWallMs: summarizeMs(cliMs),
        reportMs: summarizeMs(inProcessMs),
        requestsPerReport: Object.fromEntries(counts),
      }),
    );
  } finally {
    await cluster.shutdown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
