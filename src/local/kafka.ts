import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { ClusterMetadata } from '../kafka/types';
import { KafkajsAdmin } from '../kafka/kafkajs-admin';
import { silentLogger } from '../log';
import { freePorts } from './ports';
import { onExitCleanup, spawnTracked, tailFile, type TrackedProcess } from './procs';
import { WaitTimeoutError, waitFor } from './wait';

/**
 * A real Apache Kafka cluster on this machine (docs/design.md §9): one JVM per node from the jars
 * in `.cache/kafka/<version>/libs` (Kafka 4.4.0 by default, 3.9.1 for the compatibility
 * runs), KRaft, loopback ports, one directory per cluster holding every node's properties,
 * logging configuration, log and data. Nodes 1..min(3, brokers) run combined
 * (broker+controller) and form a static controller quorum; any further nodes are
 * broker-only. `vigil demo` runs one; tests run them through test/harness/kafka.ts.
 *
 *   const kafka = await startLocalKafka({ brokers: 3 });
 *   ... kafka.bootstrap, kafka.kill(2), kafka.restart(2) ...
 *   await kafka.shutdown();
 */

export type KafkaConfigValue = string | number | boolean;
export type KafkaConfigMap = Record<string, KafkaConfigValue>;

export interface LocalKafkaOptions {
  /** Which of KAFKA_VERSIONS to run (default DEFAULT_KAFKA_VERSION). */
  kafkaVersion?: string;
  /** Number of brokers (default 3). The first min(3, brokers) are also controllers. */
  brokers?: number;
  /** Server properties for every node, on top of the defaults below. */
  brokerOverrides?: KafkaConfigMap;
  /** Server properties for single nodes (e.g. `{ 2: { 'broker.rack': 'b' } }`). */
  nodeOverrides?: Record<number, KafkaConfigMap>;
  /** JVM options replacing the defaults (heap, fast-start flags, class archive). */
  jvmArgs?: string[];
  /** Upper bound for the whole start, formatting included (default 120 s). */
  startTimeoutMs?: number;
  /** Shown in the name of a temp directory, to tell clusters apart when logs are kept. */
  name?: string;
  /**
   * The cluster's directory (created; must not hold another cluster). Default: a new temp
   * directory `vigil-kafka-<name>-XXXXXX`.
   */
  dir?: string;
  /** Never remove the directory: not at shutdown, not on failure, not at exit (default false). */
  keepAll?: boolean;
  /**
   * Log every completed request with its client id and body (kafka.request.logger at
   * DEBUG) in each node's log: benchmarks count the mutations each client sent, at the
   * broker. Verbose; default false.
   */
  requestLog?: boolean;
  /** Start the JVMs in process groups of their own (see SpawnOptions.ownProcessGroup). */
  ownProcessGroup?: boolean;
  /**
   * The address every listener binds and advertises (default 127.0.0.1). The fault soak
   * runs the cluster inside a network namespace whose 127.0.0.1 other namespaces cannot
   * reach, on a service-net address such as 127.100.0.1.
   */
  host?: string;
  /**
   * Client listeners besides PLAINTEXT, name → security protocol (e.g.
   * `{ SECURE: 'SASL_SSL' }`): each gets a port of its own on every broker and is
   * advertised, so a client that bootstraps through it (`listenerBootstrap(name)`) is
   * handed the brokers' addresses on it. PLAINTEXT stays the inter-broker listener and the
   * one this module's own requests use (waits, createTopic). Per-listener settings (TLS
   * keystore, SASL mechanisms) go in `brokerOverrides` as `listener.name.<name>.…`.
   */
  extraListeners?: Record<string, 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'>;
  /**
   * Extra arguments for `kafka-storage format`, e.g.
   * `['--add-scram', 'SCRAM-SHA-512=[name=vigil,password=…]']` (KRaft creates SCRAM users
   * at format time).
   */
  formatArgs?: string[];
}

export interface CreateTopicOptions {
  partitions?: number;
  /** Default min(3, brokers). */
  replicationFactor?: number;
  /** Explicit assignment: replicas per partition, in partition order (overrides the two above). */
  replicaAssignment?: number[][];
  configs?: Record<string, string>;
  timeoutMs?: number;
}

export interface LocalKafka {
  /** The Kafka version the nodes run (one of KAFKA_VERSIONS). */
  readonly kafkaVersion: string;
  /** 'host:port' of every broker, for kafkajs `brokers`. */
  readonly bootstrap: string[];
  readonly brokerIds: number[];
  readonly controllerIds: number[];
  readonly clusterId: string;
  /** The cluster's directory (configs, logs, data). */
  readonly dir: string;
  brokerAddress(id: number): string;
  /** 'host:port' of every broker on an `extraListeners` listener. */
  listenerBootstrap(name: string): string[];
  /**
   * 'host:port' of every controller's CONTROLLER listener — what a client gives as
   * bootstrap controllers (KIP-919) to talk to the quorum without going through a broker.
   */
  readonly controllerBootstrap: string[];
  /** Process id of the running JVM of a node, undefined when it is not running. */
  pid(id: number): number | undefined;
  isRunning(id: number): boolean;
  /** SIGKILL; resolves once the process is gone. */
  kill(id: number): Promise<void>;
  /** SIGSTOP: the JVM hangs with its sockets open, like a long GC pause. */
  pause(id: number): void;
  /** SIGCONT after pause(). */
  resume(id: number): void;
  /** SIGTERM (controlled shutdown) and wait for the exit. */
  stop(id: number, opts?: { timeoutMs?: number }): Promise<void>;
  /**
   * Start a stopped or killed node again (same ports, same data); resolves once it serves.
   * On Kafka 4.x a node stopped cleanly less than broker.session.timeout.ms ago waits for
   * that session to expire before the controller registers it again (3.9: at once).
   */
  start(id: number, opts?: { timeoutMs?: number }): Promise<void>;
  /** stop() if running, then start(). */
  restart(id: number, opts?: { timeoutMs?: number }): Promise<void>;
  /**
   * Wait until every running, unpaused broker lists each of `ids` as live (registered and
   * unfenced) in its metadata, and each of `ids` itself serves requests.
   */
  waitForBrokers(ids: number[], opts?: { timeoutMs?: number }): Promise<void>;
  /**
   * Create a topic and wait until every running, unpaused broker's metadata has all its
   * partitions with a leader (right after CreateTopics, brokers other than the one asked
   * may still answer UNKNOWN_TOPIC_OR_PARTITION).
   */
  createTopic(topic: string, opts?: CreateTopicOptions): Promise<void>;
  logFile(id: number): string;
  logTail(id: number, lines?: number): string;
  /** Every node's log tail under a header: what to show when something went wrong. */
  logReport(lines?: number): string;
  /**
   * Kill every node, wait for the exits, remove the directory — or only the data
   * directories with `keepLogs`, or nothing with `keepAll`. Idempotent.
   */
  shutdown(opts?: { keepLogs?: boolean }): Promise<void>;
}

/** dist/src/local → repository (or installed package) root. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/**
 * The Kafka versions the local stack runs, newest first; the first is the default. Each is
 * a profile of deploy/local-kafka/pom.xml (test/unit/local-kafka.test.ts checks
 * that they agree), fetched by scripts/setup.sh into `.cache/kafka/<version>/libs`. 4.x
 * logs through log4j2, 3.x through log4j 1 (reload4j), so each names its logging.
 */
export const KAFKA_VERSIONS = [
  { version: '4.4.0', pomProfile: 'kafka-4', logging: 'log4j2' },
  { version: '3.9.1', pomProfile: 'kafka-3.9', logging: 'log4j1' },
] as const satisfies readonly { version: string; pomProfile: string; logging: 'log4j2' | 'log4j1' }[];

export const DEFAULT_KAFKA_VERSION: string = KAFKA_VERSIONS[0].version;

/** Where one Kafka version's jars and class archive are on this machine. */
export interface KafkaInstall {
  readonly version: string;
  readonly logging: 'log4j2' | 'log4j1';
  /** The jars scripts/setup.sh fetched: `.cache/kafka/<version>/libs`. */
  readonly libsDir: string;
  /**
   * A dynamic class-data-sharing archive of a started broker of this version, made by
   * scripts/setup.sh (test/harness/class-archive.ts): brokers map the classes instead of
   * loading and verifying them, which saves about a quarter of the start time. Optional:
   * without it, or when the JVM finds it stale (other jars, another JDK), brokers start
   * the ordinary way. One per version: an archive only fits the jars it was made from.
   */
  readonly classArchive: string;
}

/** The install of `version`; throws, naming the versions there are, for any other. */
export function kafkaInstall(version: string = DEFAULT_KAFKA_VERSION): KafkaInstall {
  const known = KAFKA_VERSIONS.find((v) => v.version === version);
  if (known === undefined) {
    throw new Error(`Kafka ${version} is not one the local stack runs; choose one of ${KAFKA_VERSIONS.map((v) => v.version).join(', ')} (deploy/local-kafka/pom.xml)`);
  }
  const dir = path.join(repoRoot, '.cache', 'kafka', version);
  return { version, logging: known.logging, libsDir: path.join(dir, 'libs'), classArchive: path.join(dir, 'broker.jsa') };
}

/**
 * Fast JVM start on a small machine: C1 only and class-data sharing cut start-up time;
 * serial GC and a small heap keep three brokers (and everything else) within 2 cores and
 * modest memory.
 */
export const DEFAULT_JVM_ARGS: readonly string[] = [
  '-Xms128m',
  '-Xmx384m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-Xshare:auto',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
];

function defaultJvmArgs(install: KafkaInstall): string[] {
  return fs.existsSync(install.classArchive)
    ? [...DEFAULT_JVM_ARGS, `-XX:SharedArchiveFile=${install.classArchive}`]
    : [...DEFAULT_JVM_ARGS];
}

/** True when the Kafka jars that scripts/setup.sh fetches are in place. */
export function kafkaJarsPresent(install: KafkaInstall = kafkaInstall()): boolean {
  return fs.existsSync(install.libsDir) && fs.readdirSync(install.libsDir).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
}

/**
 * The JVM option that points a Kafka process of `install` at its logging configuration
 * file: log4j2 for 4.x (Kafka 4 ignores a log4j 1 file, so a failed start would show
 * almost nothing), log4j 1 for 3.x.
 */
export function kafkaLoggingArg(install: KafkaInstall, configFile: string): string {
  return install.logging === 'log4j2' ? `-Dlog4j2.configurationFile=${configFile}` : `-Dlog4j.configuration=file:${configFile}`;
}

const DEFAULT_START_TIMEOUT_MS = 120_000;
const LOG_TAIL_LINES = 60;

export function defaultServerProperties(brokerCount: number, kafkaVersion: string = DEFAULT_KAFKA_VERSION): KafkaConfigMap {
  const rf = Math.min(3, brokerCount);
  // Share groups (KIP-932) keep their state in an internal topic of their own, from 4.x.
  const shareState: KafkaConfigMap = kafkaMajor(kafkaVersion) >= 4
    ? {
        'share.coordinator.state.topic.replication.factor': rf,
        'share.coordinator.state.topic.min.isr': Math.min(2, rf),
        'share.coordinator.state.topic.num.partitions': 5,
      }
    : {};
  return {
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    'default.replication.factor': rf,
    // The internal topics must fit the cluster, and small partition counts create fast.
    'offsets.topic.replication.factor': rf,
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': Math.min(2, rf),
    'transaction.state.log.num.partitions': 5,
    ...shareState,
    'group.initial.rebalance.delay.ms': 0,
    // The cleaner's default 128 MB dedupe buffer would take a third of the small heap.
    'log.cleaner.dedupe.buffer.size': 8 * 1024 * 1024,
    'num.recovery.threads.per.data.dir': 1,
    // A fresh quorum waits one election timeout before anyone campaigns: 1 s by default,
    // a quarter of a quiet start. Only leaderless nodes use it (followers notice a lost
    // leader by the 2 s fetch timeout), so a short one causes no extra elections.
    'controller.quorum.election.timeout.ms': 300,
    // Kafka's own defaults, written out because tests reason about them (docs/design.md §9):
    // a SIGKILLed broker is fenced, and its partitions move, only after the session timeout.
    'broker.session.timeout.ms': 9000,
    'broker.heartbeat.interval.ms': 2000,
  };
}

/**
 * Kafka 4.x keeps a cleanly stopped broker's registration until its session expires
 * (broker.session.timeout.ms) and answers DUPLICATE_BROKER_REGISTRATION to the restarted
 * broker until then (3.9 lets it back at once). The broker keeps asking, and exits after
 * initial.broker.registration.timeout.ms (default 60 s): a session as long as that would
 * kill a broker restarted right after its stop. So the registration may take the session
 * and half a minute more, never less than Kafka's default.
 */
function registrationTimeoutMs(props: KafkaConfigMap): number {
  const sessionMs = Number(props['broker.session.timeout.ms'] ?? 9000);
  return Math.max(60_000, sessionMs + 30_000);
}

function kafkaMajor(version: string): number {
  return Number.parseInt(version.split('.')[0] as string, 10);
}

interface Node {
  id: number;
  isController: boolean;
  brokerPort: number;
  controllerPort: number | undefined;
  /** extraListeners name → port */
  extraPorts: Map<string, number>;
  dir: string;
  propsFile: string;
  /** log4j2.properties (4.x) or log4j.properties (3.x) */
  loggingFile: string;
  logFile: string;
  proc: TrackedProcess | undefined;
  paused: boolean;
  starts: number;
}

/** Start a cluster and wait until every broker is in the metadata. */
export async function startLocalKafka(opts: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const install = kafkaInstall(opts.kafkaVersion);
  if (!kafkaJarsPresent(install)) {
    throw new Error(`Kafka ${install.version} jars not found in ${install.libsDir}; run \`bash scripts/setup.sh\` (it fetches them with mvn)`);
  }
  // A free port can be taken by another process before the broker binds it (other
  // clusters share the machine); one retry with new ports absorbs that race.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, install);
    } catch (err) {
      if (attempt >= 2 || !(err instanceof PortConflictError)) throw err;
    }
  }
}

class PortConflictError extends Error {}

/** What broker `address` itself knows: its own answer to a Metadata request. */
export async function brokerMetadata(address: string, timeoutMs = 3000): Promise<ClusterMetadata> {
  // One attempt per connection, so a hung (paused) broker costs one request timeout.
  const admin = new KafkajsAdmin(
    { brokers: [address], clientId: 'vigil-local', ssl: false, connectionTimeoutMs: Math.min(timeoutMs, 1000), requestTimeoutMs: timeoutMs },
    silentLogger,
  );
  try {
    return await admin.metadata();
  } finally {
    await admin.close();
  }
}

async function startOnce(opts: LocalKafkaOptions, install: KafkaInstall): Promise<LocalKafka> {
  const brokerCount = opts.brokers ?? 3;
  if (!Number.isInteger(brokerCount) || brokerCount < 1) throw new Error(`brokers must be a positive integer, got ${brokerCount}`);
  const controllerCount = Math.min(3, brokerCount);
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const jvmArgs = opts.jvmArgs ?? defaultJvmArgs(install);
  const keepAll = opts.keepAll ?? false;
  const host = opts.host ?? '127.0.0.1';

  let dir: string;
  if (opts.dir === undefined) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-kafka-${opts.name ?? 'local'}-`));
  } else {
    dir = path.resolve(opts.dir);
    // A retry after a port conflict starts over in the same directory.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }
  // If this process ends without shutdown(), its JVMs are killed (procs.ts) and the
  // directory goes with them, unless everything is to be kept.
  const unregisterCleanup = onExitCleanup(() => {
    if (!keepAll) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  const extraListeners = Object.entries(opts.extraListeners ?? {});
  for (const [name] of extraListeners) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name) || name === 'PLAINTEXT' || name === 'CONTROLLER') {
      throw new Error(`extraListeners: "${name}" must be an upper-case listener name other than PLAINTEXT and CONTROLLER`);
    }
  }
  const ports = await freePorts(brokerCount * (1 + extraListeners.length) + controllerCount, host);
  const clusterId = newClusterId();

  const nodes = new Map<number, Node>();
  for (let i = 0; i < brokerCount; i++) {
    const id = i + 1;
    const nodeDir = path.join(dir, `node-${id}`);
    fs.mkdirSync(nodeDir);
    nodes.set(id, {
      id,
      isController: id <= controllerCount,
      brokerPort: ports[i] as number,
      controllerPort: id <= controllerCount ? (ports[brokerCount + i] as number) : undefined,
      extraPorts: new Map(extraListeners.map(([name], j) => [name, ports[brokerCount + controllerCount + j * brokerCount + i] as number])),
      dir: nodeDir,
      propsFile: path.join(nodeDir, 'server.properties'),
      loggingFile: path.join(nodeDir, install.logging === 'log4j2' ? 'log4j2.properties' : 'log4j.properties'),
      logFile: path.join(nodeDir, 'kafka.log'),
      proc: undefined,
      paused: false,
      starts: 0,
    });
  }
  const voters = [...nodes.values()]
    .filter((n) => n.isController)
    .map((n) => `${n.id}@${host}:${n.controllerPort}`)
    .join(',');
  for (const node of nodes.values()) {
    const extra = [...node.extraPorts].map(([name, port]) => `,${name}://${host}:${port}`).join('');
    const props: KafkaConfigMap = {
      'node.id': node.id,
      'process.roles': node.isController ? 'broker,controller' : 'broker',
      'controller.quorum.voters': voters,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      listeners: node.isController
        ? `PLAINTEXT://${host}:${node.brokerPort},CONTROLLER://${host}:${node.controllerPort}${extra}`
        : `PLAINTEXT://${host}:${node.brokerPort}${extra}`,
      'advertised.listeners': `PLAINTEXT://${host}:${node.brokerPort}${extra}`,
      'listener.security.protocol.map': ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT', ...extraListeners.map(([name, protocol]) => `${name}:${protocol}`)].join(','),
      'log.dirs': path.join(node.dir, 'data'),
      ...defaultServerProperties(brokerCount, install.version),
      ...opts.brokerOverrides,
      ...opts.nodeOverrides?.[node.id],
    };
    props['initial.broker.registration.timeout.ms'] ??= registrationTimeoutMs(props);
    fs.writeFileSync(node.propsFile, toProperties(props));
    fs.writeFileSync(node.loggingFile, loggingProperties(install, opts.requestLog ?? false));
  }

  let shutDown = false;

  const nodeOf = (id: number): Node => {
    const node = nodes.get(id);
    if (!node) throw new Error(`no broker ${id} in this cluster (brokers: ${[...nodes.keys()].join(', ')})`);
    return node;
  };
  const java = (node: Node, mainClass: string, args: string[], label: string): TrackedProcess =>
    spawnTracked({
      name: `kafka node ${node.id} (${label})`,
      command: 'java',
      args: [
        ...jvmArgs,
        kafkaLoggingArg(install, node.loggingFile),
        '-cp',
        path.join(install.libsDir, '*'),
        mainClass,
        ...args,
      ],
      logFile: node.logFile,
      cwd: node.dir,
      ...(opts.ownProcessGroup ? { ownProcessGroup: true } : {}),
    });
  const failureWithLog = (node: Node, what: string): Error => {
    const tail = tailFile(node.logFile, LOG_TAIL_LINES, notConfigDump);
    const message = `${what}\n--- last ${LOG_TAIL_LINES} lines of ${node.logFile} ---\n${tail}`;
    return /Address already in use|BindException/.test(tail) ? new PortConflictError(message) : new Error(message);
  };

  const format = async (node: Node): Promise<void> => {
    fs.appendFileSync(node.logFile, `==== format storage, cluster ${clusterId} ====\n`);
    const proc = java(node, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', node.propsFile, '--ignore-formatted', ...(opts.formatArgs ?? [])], 'format');
    const status = await proc.exited;
    if (status.code !== 0) {
      throw failureWithLog(node, `formatting the storage of kafka node ${node.id} failed (exit ${status.code ?? status.signal})`);
    }
  };

  const spawnNode = (node: Node): TrackedProcess => {
    node.starts += 1;
    fs.appendFileSync(node.logFile, `==== start #${node.starts} at ${new Date().toISOString()} ====\n`);
    node.paused = false;
    node.proc = java(node, 'kafka.Kafka', [node.propsFile], 'broker');
    return node.proc;
  };

  /** Waits for `check`, failing at once (with its log) if a `starting` node exits meanwhile. */
  const waitWhileAlive = async (
    starting: Node[],
    check: () => Promise<unknown>,
    what: string,
    timeoutMs: number,
  ): Promise<void> => {
    let settled = false;
    const exits = starting.map(async (node) => {
      const proc = node.proc as TrackedProcess;
      const status = await proc.exited;
      if (settled) return new Promise<never>(() => undefined);
      throw failureWithLog(node, `kafka node ${node.id} exited (${status.signal ?? `code ${status.code}`}) while waiting for ${what}`);
    });
    try {
      await Promise.race([waitFor(check, { timeoutMs, intervalMs: 200, what }), ...exits]);
    } catch (err) {
      // On a timeout, say what the brokers were doing.
      if (err instanceof WaitTimeoutError) err.message += `\n${report(40)}`;
      throw err;
    } finally {
      settled = true;
    }
  };

  const addressOf = (node: Node): string => `${host}:${node.brokerPort}`;
  const reachable = (): Node[] => [...nodes.values()].filter((n) => n.proc?.isRunning() && !n.paused);
  const liveIdsSeenBy = async (node: Node): Promise<number[]> =>
    (await brokerMetadata(addressOf(node), 3000)).brokers.map((b) => b.nodeId);
  /**
   * True when every asked broker lists every id as live; otherwise throws what each one
   * sees, which waitFor reports if the wait times out.
   */
  const allSeeAll = async (ids: number[], asked: Node[]): Promise<true> => {
    const views = await Promise.all(asked.map(async (n) => [n.id, await liveIdsSeenBy(n)] as const));
    const behind = views.filter(([, live]) => !ids.every((id) => live.includes(id)));
    if (behind.length > 0) {
      throw new Error(behind.map(([id, live]) => `broker ${id} sees live brokers [${live.join(', ')}]`).join('; '));
    }
    return true;
  };

  const bootstrap = [...nodes.values()].map(addressOf);

  const waitForBrokers = async (ids: number[], { timeoutMs = 60_000 } = {}): Promise<void> => {
    const wanted = ids.map(nodeOf);
    const notRunning = wanted.filter((n) => !n.proc?.isRunning() || n.paused).map((n) => n.id);
    if (notRunning.length > 0) throw new Error(`brokers ${notRunning.join(', ')} are stopped or paused; start/resume them first`);
    await waitFor(() => allSeeAll(ids, [...new Set([...reachable(), ...wanted])]), {
      timeoutMs,
      intervalMs: 200,
      what: `brokers ${ids.join(', ')} to be live in every running broker's metadata`,
    });
  };

  /** A node serves once its own listener answers Metadata and lists itself (unfenced). */
  const waitForNodeServing = (node: Node, timeoutMs: number): Promise<void> =>
    waitWhileAlive(
      [node],
      async () => (await liveIdsSeenBy(node)).includes(node.id),
      `kafka node ${node.id} to serve on ${host}:${node.brokerPort}`,
      timeoutMs,
    );

  const report = (lines = LOG_TAIL_LINES): string =>
    [...nodes.values()]
      .map((n) => {
        const state = n.proc?.isRunning() ? (n.paused ? 'paused' : `running, pid ${n.proc.pid}`) : 'not running';
        return `--- kafka node ${n.id} (${state}): last ${lines} lines of ${n.logFile} ---\n${tailFile(n.logFile, lines, notConfigDump)}`;
      })
      .join('\n');

  const shutdown = async ({ keepLogs = false }: { keepLogs?: boolean } = {}): Promise<void> => {
    if (shutDown) return;
    shutDown = true;
    await Promise.all([...nodes.values()].map((n) => n.proc?.kill()));
    unregisterCleanup();
    if (keepAll) return;
    if (keepLogs) {
      for (const n of nodes.values()) fs.rmSync(path.join(n.dir, 'data'), { recursive: true, force: true });
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    await Promise.all([...nodes.values()].map(format));
    const all = [...nodes.values()];
    all.forEach(spawnNode);
    await waitWhileAlive(
      all,
      () => allSeeAll(all.map((n) => n.id), all),
      `all ${all.length} brokers to be live in the metadata`,
      startTimeoutMs,
    );
  } catch (err) {
    // A port conflict is retried from scratch; any other failure keeps the logs to read.
    const conflict = err instanceof PortConflictError;
    await shutdown({ keepLogs: !conflict });
    if (!conflict && err instanceof Error) err.message += `\n(kafka logs kept in ${dir})`;
    throw err;
  }

  const cluster: LocalKafka = {
    kafkaVersion: install.version,
    bootstrap,
    brokerIds: [...nodes.keys()],
    controllerIds: [...nodes.values()].filter((n) => n.isController).map((n) => n.id),
    clusterId,
    dir,
    brokerAddress: (id) => addressOf(nodeOf(id)),
    controllerBootstrap: [...nodes.values()].filter((n) => n.isController).map((n) => `${host}:${n.controllerPort}`),
    listenerBootstrap: (name) =>
      [...nodes.values()].map((n) => {
        const port = n.extraPorts.get(name);
        if (port === undefined) throw new Error(`no listener ${name} in this cluster (extraListeners: ${[...n.extraPorts.keys()].join(', ') || 'none'})`);
        return `${host}:${port}`;
      }),
    pid: (id) => {
      const proc = nodeOf(id).proc;
      return proc?.isRunning() ? proc.pid : undefined;
    },
    isRunning: (id) => nodeOf(id).proc?.isRunning() ?? false,
    async kill(id) {
      await nodeOf(id).proc?.kill();
    },
    pause(id) {
      const node = nodeOf(id);
      if (!node.proc?.isRunning()) throw new Error(`cannot pause kafka node ${id}: it is not running`);
      node.proc.signal('SIGSTOP');
      node.paused = true;
    },
    resume(id) {
      const node = nodeOf(id);
      node.proc?.signal('SIGCONT');
      node.paused = false;
    },
    async stop(id, { timeoutMs = 60_000 } = {}) {
      const node = nodeOf(id);
      node.paused = false;
      await node.proc?.terminate({ sig: 'SIGTERM', timeoutMs });
    },
    async start(id, { timeoutMs = DEFAULT_START_TIMEOUT_MS } = {}) {
      const node = nodeOf(id);
      if (shutDown) throw new Error('this cluster has been shut down');
      if (node.proc?.isRunning()) throw new Error(`kafka node ${id} is already running (pid ${node.proc.pid})`);
      spawnNode(node);
      await waitForNodeServing(node, timeoutMs);
    },
    async restart(id, o = {}) {
      await cluster.stop(id);
      await cluster.start(id, o);
    },
    waitForBrokers,
    async createTopic(topic, { partitions = 1, replicationFactor, replicaAssignment, configs = {}, timeoutMs = 60_000 } = {}) {
      const admin = new Kafka({
        clientId: 'vigil-local',
        brokers: reachable().map(addressOf),
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        // kafkajs's own waitForLeaders gives up when the broker it polls has not heard of
        // the topic yet (UNKNOWN_TOPIC_OR_PARTITION); the wait below asks every broker.
        await admin.createTopics({
          waitForLeaders: false,
          topics: [
            {
              topic,
              ...(replicaAssignment
                ? { replicaAssignment: replicaAssignment.map((replicas, partition) => ({ partition, replicas })) }
                : { numPartitions: partitions, replicationFactor: replicationFactor ?? Math.min(3, brokerCount) }),
              configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
            },
          ],
        });
      } finally {
        await admin.disconnect();
      }
      const expected = replicaAssignment?.length ?? partitions;
      await waitFor(
        async () => {
          const views = await Promise.all(reachable().map((n) => brokerMetadata(addressOf(n), 3000)));
          return views.every((v) => {
            const t = v.topics.find((x) => x.topic === topic);
            return t !== undefined && t.partitions.length === expected && t.partitions.every((p) => p.leader >= 0);
          });
        },
        { timeoutMs, intervalMs: 100, what: `topic ${topic} with leaders for all ${expected} partitions on every running broker` },
      );
    },
    logFile: (id) => nodeOf(id).logFile,
    logTail: (id, lines = LOG_TAIL_LINES) => tailFile(nodeOf(id).logFile, lines),
    logReport: report,
    shutdown,
  };
  return cluster;
}

/** Kafka logs its whole configuration, one tab-indented line per key, at every start. */
const notConfigDump = (line: string): boolean => !line.startsWith('\t');

/** A Java properties file (values as written: the keys and values here need no escaping). */
export function toProperties(props: KafkaConfigMap): string {
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n')}\n`;
}

/**
 * Every node logs everything to stdout, which goes to its log file (together with anything
 * the JVM itself prints, such as a crash or an OutOfMemoryError). `requestLog` turns on
 * kafka.request.logger at DEBUG (LocalKafkaOptions.requestLog).
 */
export function loggingProperties(install: KafkaInstall, requestLog: boolean): string {
  const quiet: Record<string, string> = {
    'kafka.request.logger': requestLog ? 'DEBUG' : 'WARN',
    'state.change.logger': 'WARN',
    'org.apache.kafka.clients': 'WARN',
  };
  const pattern = '[%d] %p %m (%c)%n';
  if (install.logging === 'log4j1') {
    return [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      `log4j.appender.stdout.layout.ConversionPattern=${pattern}`,
      ...Object.entries(quiet).map(([logger, level]) => `log4j.logger.${logger}=${level}`),
      '',
    ].join('\n');
  }
  return [
    // log4j2's own problems with this file (a typo, a missing class) on stderr, in the log.
    'status = warn',
    'appender.stdout.type = Console',
    'appender.stdout.name = STDOUT',
    'appender.stdout.layout.type = PatternLayout',
    `appender.stdout.layout.pattern = ${pattern}`,
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.stdout.ref = STDOUT',
    ...Object.entries(quiet).flatMap(([logger, level], i) => [`logger.q${i}.name = ${logger}`, `logger.q${i}.level = ${level}`]),
    '',
  ].join('\n');
}

/**
 * 16 random bytes in unpadded base64url: the form StorageTool expects (docs/design.md §9). Never
 * starting with '-', which its command line would read as an option (Kafka's own
 * Uuid.randomUuid avoids those too).
 */
export function newClusterId(random: (n: number) => Buffer = crypto.randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
