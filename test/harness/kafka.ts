/**
 * A real Apache Kafka cluster for tests (docs/design.md §9): one JVM per node, KRaft, loopback
 * ports, a temp directory per cluster. Nodes 1..min(3, brokers) run combined
 * (broker+controller) and form a static controller quorum; any further nodes are
 * broker-only, for tests that need more brokers than the replication factor.
 *
 *   const kafka = await startKafka({ brokers: 3 });
 *   ... kafka.bootstrap, kafka.kill(2), kafka.restart(2) ...
 *   await kafka.shutdown();
 *
 * The cluster is the local stack's (src/local/kafka.ts, shared with `vigil demo`); this
 * module adds what tests need: metadata() as one broker sees it, markFailed() to keep the
 * logs of a failed test, and KEEP_KAFKA_LOGS=1 to keep everything.
 *
 * The Kafka version is the local stack's default (4.x) unless VIGIL_KAFKA_VERSION names
 * another of KAFKA_VERSIONS: `npm run test:compat` runs the integration tests with 3.9.1.
 */
import { DEFAULT_KAFKA_VERSION, kafkaInstall, startLocalKafka, type LocalKafka, type LocalKafkaOptions } from '../../src/local/kafka';
import { fetchMetadata, type BrokerMetadata } from './metadata';

export {
  DEFAULT_JVM_ARGS,
  KAFKA_VERSIONS,
  kafkaInstall,
  kafkaLoggingArg,
  repoRoot,
  type CreateTopicOptions,
  type KafkaConfigMap,
  type KafkaConfigValue,
} from '../../src/local/kafka';

/**
 * The Kafka every test cluster of this process runs (VIGIL_KAFKA_VERSION, default the local
 * stack's); an unknown version fails at once, naming the known ones.
 */
export const testKafka = kafkaInstall(process.env.VIGIL_KAFKA_VERSION || DEFAULT_KAFKA_VERSION);
/** The jars of `testKafka`, for tests that run Kafka's own tools from them. */
export const kafkaLibsDir = testKafka.libsDir;

/**
 * True when the test Kafka is `major.minor` or newer: for what a version changed (share
 * groups from 4.x, the v4 offset-commit records of 4.1).
 */
export function testKafkaAtLeast(major: number, minor = 0): boolean {
  const [ma, mi] = testKafka.version.split('.').map(Number) as [number, number];
  return ma > major || (ma === major && mi >= minor);
}

/** The local stack's options; the harness decides where logs go and when they are kept. */
export type StartKafkaOptions = Omit<LocalKafkaOptions, 'dir' | 'keepAll' | 'ownProcessGroup'>;

export interface KafkaCluster extends Omit<LocalKafka, 'shutdown'> {
  /** What broker `via` itself answers to a Metadata request ([] topics = brokers only). */
  metadata(via: number, topics?: string[] | null): Promise<BrokerMetadata>;
  /** Keep the logs at shutdown (a test failed); data directories are still removed. */
  markFailed(): void;
  /** Kill every node, wait for the exits, remove the temp directory (see KEEP_KAFKA_LOGS). */
  shutdown(): Promise<void>;
}

/** Start a cluster and wait until every broker is in the metadata. */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaCluster> {
  const keepLogs = (process.env.KEEP_KAFKA_LOGS ?? '') !== '';
  const local = await startLocalKafka({ kafkaVersion: testKafka.version, ...opts, name: opts.name ?? 'test', keepAll: keepLogs });
  let failed = false;
  let shutDown = false;
  const cluster: KafkaCluster = {
    kafkaVersion: local.kafkaVersion,
    bootstrap: local.bootstrap,
    brokerIds: local.brokerIds,
    controllerIds: local.controllerIds,
    clusterId: local.clusterId,
    dir: local.dir,
    brokerAddress: (id) => local.brokerAddress(id),
    controllerBootstrap: local.controllerBootstrap,
    listenerBootstrap: (name) => local.listenerBootstrap(name),
    pid: (id) => local.pid(id),
    isRunning: (id) => local.isRunning(id),
    kill: (id) => local.kill(id),
    pause: (id) => local.pause(id),
    resume: (id) => local.resume(id),
    stop: (id, o) => local.stop(id, o),
    start: (id, o) => local.start(id, o),
    restart: (id, o) => local.restart(id, o),
    waitForBrokers: (ids, o) => local.waitForBrokers(ids, o),
    metadata: (via, topics = []) => fetchMetadata(local.brokerAddress(via), topics),
    createTopic: (topic, o) => local.createTopic(topic, o),
    logFile: (id) => local.logFile(id),
    logTail: (id, lines) => local.logTail(id, lines),
    logReport: (lines) => local.logReport(lines),
    markFailed() {
      failed = true;
    },
    async shutdown() {
      if (shutDown) return;
      shutDown = true;
      await local.shutdown({ keepLogs: failed });
      if (keepLogs) console.error(`kafka harness: kept ${local.dir} (KEEP_KAFKA_LOGS is set)`);
      else if (failed) console.error(`kafka harness: a test failed; broker logs kept in ${local.dir}`);
    },
  };
  return cluster;
}
