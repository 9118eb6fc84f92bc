/**
 * Creates the brokers' class-data-sharing archive of one Kafka version
 * (src/local/kafka.ts: KafkaInstall.classArchive) once per combination of that version's
 * jars, JDK and JVM flags. Run by scripts/setup.sh for each version it fetched:
 *
 *   node dist/test/harness/class-archive.js --check 4.4.0   # exit 0 "skipped, ... is current", or 3: needs creating
 *   node dist/test/harness/class-archive.js 4.4.0           # prints one line: created or skipped
 *
 * The version argument defaults to the local stack's default version. setup.sh checks
 * first, so it can announce the slow creation before it starts.
 * The archive is dumped by a real broker when it exits normally, so this starts a
 * one-broker cluster, creates a topic (loading the partition and log classes too), stops
 * the broker with SIGTERM, and moves the archive into place.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_JVM_ARGS, kafkaInstall, startKafka } from './kafka';
import type { KafkaInstall } from '../../src/local/kafka';
import { silenceKafkajsNegativeTimeoutWarning } from '../../src/kafka/kafkajs-warnings';

const keyFile = (install: KafkaInstall): string => `${install.classArchive}.key`;

/** What the archive depends on: the jars (names, sizes, mtimes), the JDK, the JVM flags. */
export function classArchiveKey(install: KafkaInstall): string {
  const hash = crypto.createHash('sha256');
  for (const jar of fs.readdirSync(install.libsDir).sort()) {
    const st = fs.statSync(path.join(install.libsDir, jar));
    hash.update(`${jar} ${st.size} ${st.mtimeMs}\n`);
  }
  const version = spawnSync('java', ['-version'], { encoding: 'utf8' });
  hash.update(`${version.stderr}\n${DEFAULT_JVM_ARGS.join(' ')}\n`);
  return hash.digest('hex');
}

/** "skipped, <archive> is current" when the archive matches `key`, else undefined. */
function currentArchive(install: KafkaInstall, key: string): string | undefined {
  const archive = install.classArchive;
  if (fs.existsSync(archive) && fs.existsSync(keyFile(install)) && fs.readFileSync(keyFile(install), 'utf8') === key) {
    return `skipped, ${path.relative(process.cwd(), archive)} is current`;
  }
  return undefined;
}

export async function ensureClassArchive(install: KafkaInstall): Promise<string> {
  const key = classArchiveKey(install);
  const current = currentArchive(install, key);
  if (current !== undefined) return current;
  const archive = install.classArchive;
  const partial = `${archive}.${process.pid}.partial`;
  const t0 = performance.now();
  const cluster = await startKafka({
    kafkaVersion: install.version,
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
  fs.renameSync(partial, archive);
  fs.writeFileSync(keyFile(install), key);
  const sizeMb = fs.statSync(archive).size / 1e6;
  return `created ${path.relative(process.cwd(), archive)} (${sizeMb.toFixed(0)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s)`;
}

/** Exit status of `--check` when the archive has to be created. */
const NEEDS_CREATING = 3;

/** The install named by the first argument that is not a flag (default: the default version). */
function installFromArgs(): KafkaInstall {
  const version = process.argv.slice(2).find((a) => !a.startsWith('--'));
  try {
    return kafkaInstall(version);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}

if (require.main === module && process.argv.includes('--check')) {
  const install = installFromArgs();
  const current = currentArchive(install, classArchiveKey(install));
  if (current === undefined) {
    console.log(`${path.relative(process.cwd(), install.classArchive)} is missing or was made for other jars, JDK or JVM flags`);
    process.exit(NEEDS_CREATING);
  }
  console.log(current);
} else if (require.main === module) {
  // setup.sh prints this script's output as its own line; keep kafkajs' warning out of it.
  silenceKafkajsNegativeTimeoutWarning();
  ensureClassArchive(installFromArgs()).then(
    (what) => console.log(what),
    (err: unknown) => {
      console.error(`could not create the Kafka class archive: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
