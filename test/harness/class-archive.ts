/**
 * Creates the brokers' class-data-sharing archive (kafka.ts: kafkaClassArchive) once per
 * combination of Kafka jars, JDK and JVM flags. Run by scripts/setup.sh:
 *
 *   node dist/test/harness/class-archive.js --check   # exit 0 "skipped, ... is current", or 3: needs creating
 *   node dist/test/harness/class-archive.js           # prints one line: created or skipped
 *
 * setup.sh checks first, so it can announce the slow creation before it starts.
 * The archive is dumped by a real broker when it exits normally, so this starts a
 * one-broker cluster, creates a topic (loading the partition and log classes too), stops
 * the broker with SIGTERM, and moves the archive into place.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_JVM_ARGS, kafkaClassArchive, kafkaLibsDir, startKafka } from './kafka';
import { silenceKafkajsNegativeTimeoutWarning } from '../../src/kafka/kafkajs-warnings';

const keyFile = `${kafkaClassArchive}.key`;

/** What the archive depends on: the jars (names, sizes, mtimes), the JDK, the JVM flags. */
export function classArchiveKey(): string {
  const hash = crypto.createHash('sha256');
  for (const jar of fs.readdirSync(kafkaLibsDir).sort()) {
    const st = fs.statSync(path.join(kafkaLibsDir, jar));
    hash.update(`${jar} ${st.size} ${st.mtimeMs}\n`);
  }
  const version = spawnSync('java', ['-version'], { encoding: 'utf8' });
  hash.update(`${version.stderr}\n${DEFAULT_JVM_ARGS.join(' ')}\n`);
  return hash.digest('hex');
}

/** "skipped, <archive> is current" when the archive matches `key`, else undefined. */
function currentArchive(key: string): string | undefined {
  if (fs.existsSync(kafkaClassArchive) && fs.existsSync(keyFile) && fs.readFileSync(keyFile, 'utf8') === key) {
    return `skipped, ${path.relative(process.cwd(), kafkaClassArchive)} is current`;
  }
  return undefined;
}

export async function ensureClassArchive(): Promise<string> {
  const key = classArchiveKey();
  const current = currentArchive(key);
  if (current !== undefined) return current;
  const partial = `${kafkaClassArchive}.${process.pid}.partial`;
  const t0 = performance.now();
  const cluster = await startKafka({
    brokers: 1,
    name: 'class-archive',
    jvmArgs: [...DEFAULT_JVM_ARGS, `-XX:ArchiveClassesAtExit=${partial}`],
  });
  try {
    await cluster.createTopic('class-archive-warmup', { partitions: 3 });
    await cluster.stop(1);
  } catch (err) {
    cluster.markFailed();
    throw err;
  } finally {
    await cluster.shutdown();
  }
  if (!fs.existsSync(partial)) throw new Error(`the broker exited without writing ${partial}`);
  fs.renameSync(partial, kafkaClassArchive);
  fs.writeFileSync(keyFile, key);
  const sizeMb = fs.statSync(kafkaClassArchive).size / 1e6;
  return `created ${path.relative(process.cwd(), kafkaClassArchive)} (${sizeMb.toFixed(0)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s)`;
}

/** Exit status of `--check` when the archive has to be created. */
const NEEDS_CREATING = 3;

if (require.main === module && process.argv.includes('--check')) {
  const current = currentArchive(classArchiveKey());
  if (current === undefined) {
    console.log(`${path.relative(process.cwd(), kafkaClassArchive)} is missing or was made for other jars, JDK or JVM flags`);
    process.exit(NEEDS_CREATING);
  }
  console.log(current);
} else if (require.main === module) {
  // setup.sh prints this script's output as its own line; keep kafkajs' warning out of it.
  silenceKafkajsNegativeTimeoutWarning();
  ensureClassArchive().then(
    (what) => console.log(what),
    (err: unknown) => {
      console.error(`could not create the Kafka class archive: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
