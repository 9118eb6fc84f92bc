/**
 * Measures how long startKafka() takes on this machine (formatting included, until every
 * broker is live in the metadata): the figure a benchmark or a test timeout is set from.
 * The Kafka version is the harness's (VIGIL_KAFKA_VERSION, default 4.x).
 *
 *   node dist/test/harness/start-time.js [--brokers 3] [--runs 3] [--jvm "<args replacing the defaults>"]
 */
import fs from 'node:fs';
import { startKafka, testKafka } from './kafka';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const brokers = Number(flag('--brokers') ?? 3);
  const runs = Number(flag('--runs') ?? 3);
  const jvm = flag('--jvm');
  // Without --jvm: the harness defaults, as tests get them (class archive included if made).
  const jvmArgs = jvm === undefined ? undefined : jvm.split(/\s+/).filter(Boolean);

  const timesMs: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const t0 = performance.now();
    const cluster = await startKafka({ brokers, jvmArgs, name: 'start-time' });
    const startMs = performance.now() - t0;
    timesMs.push(startMs);
    await cluster.shutdown();
    console.log(`run ${run}: ${brokers}-broker cluster up in ${(startMs / 1000).toFixed(2)} s`);
  }
  const sorted = [...timesMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  console.log(
    JSON.stringify({
      kafkaVersion: testKafka.version,
      brokers,
      runs,
      jvmArgs: jvmArgs ?? `default${fs.existsSync(testKafka.classArchive) ? ' + class archive' : ''}`,
      medianSeconds: +(median / 1000).toFixed(2),
      minSeconds: +((sorted[0] as number) / 1000).toFixed(2),
      maxSeconds: +((sorted[sorted.length - 1] as number) / 1000).toFixed(2),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
