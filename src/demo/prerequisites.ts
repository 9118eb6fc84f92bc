/**
 * What `vigil demo` needs on this machine before it starts anything, and what to run when
 * something is missing. The check is split: `machineFacts` looks (files, PATH), and
 * `missingPrerequisites` decides (pure), so the messages are tested without a machine.
 */
import { commandOnPath } from '../local/procs';
import { kafkaInstall, kafkaJarsPresent } from '../local/kafka';

export interface MachineFacts {
  /** the Kafka version the demo is to run, whose jars `kafkaJars` looked for */
  readonly kafkaVersion: string;
  readonly kafkaJars: boolean;
  readonly kafkaLibsDir: string;
  readonly java: boolean;
  readonly redisServer: boolean;
  /** Debian's `prometheus` and `prometheus-alertmanager` (only --with-prometheus needs them) */
  readonly prometheus: boolean;
  readonly alertmanager: boolean;
}

/** The binaries --with-prometheus runs (Debian packages prometheus, prometheus-alertmanager). */
export const PROMETHEUS_BIN = 'prometheus';
export const ALERTMANAGER_BIN = 'prometheus-alertmanager';

/**
 * Looks at this machine: the jars of Kafka `kafkaVersion` (default the local stack's);
 * `java`, `redis-server`, Prometheus and Alertmanager on `envPath`.
 */
export function machineFacts(envPath: string | undefined, kafkaVersion?: string): MachineFacts {
  const install = kafkaInstall(kafkaVersion);
  return {
    kafkaVersion: install.version,
    kafkaJars: kafkaJarsPresent(install),
    kafkaLibsDir: install.libsDir,
    java: commandOnPath('java', envPath),
    redisServer: commandOnPath('redis-server', envPath),
    prometheus: commandOnPath(PROMETHEUS_BIN, envPath),
    alertmanager: commandOnPath(ALERTMANAGER_BIN, envPath),
  };
}

/**
 * One line per missing piece, each saying what it is for; [] when all is there. Prometheus
 * and Alertmanager count only `withPrometheus`.
 */
export function missingPrerequisites(facts: MachineFacts, withPrometheus = false): string[] {
  const missing: string[] = [];
  if (!facts.kafkaJars) missing.push(`the Apache Kafka ${facts.kafkaVersion} jars (not found in ${facts.kafkaLibsDir}): the demo runs three real brokers from them`);
  if (!facts.java) missing.push('java (not on PATH): the Kafka brokers are JVMs; install a JDK 17 or newer');
  if (!facts.redisServer) missing.push('redis-server (not on PATH): the replicas keep their shared state in Redis');
  if (withPrometheus && !facts.prometheus) missing.push(`${PROMETHEUS_BIN} (not on PATH): --with-prometheus runs it with vigil's shipped rules (Debian package prometheus)`);
  if (withPrometheus && !facts.alertmanager) missing.push(`${ALERTMANAGER_BIN} (not on PATH): --with-prometheus sends the rules' alerts to it (Debian package prometheus-alertmanager)`);
  return missing;
}

/** The message `vigil demo` prints (and exits 2 with) when something is missing. */
export function prerequisitesMessage(missing: readonly string[]): string {
  return [
    `vigil demo cannot start; missing ${missing.length === 1 ? 'one prerequisite' : `${missing.length} prerequisites`}:`,
    ...missing.map((m) => `  - ${m}`),
    'Run `bash scripts/setup.sh` from the vigil checkout (it installs redis-server, prometheus and prometheus-alertmanager with apt and fetches the Kafka jars with mvn), then `npm start` again.',
  ].join('\n');
}
