/**
 * Kafka's own command-line tools (kafka-reassign-partitions.sh, kafka-leader-election.sh,
 * kafka-acls.sh, kafka-cluster.sh, ...) run from the jars of the harness's Kafka (testKafka:
 * .cache/kafka/<version>/libs, deploy/local-kafka/pom.xml), as the shell scripts would run
 * them: `java -cp <libs>/* <main class> <args>`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaLoggingArg, testKafka } from './kafka';
import { type CliResult, runCollected } from './cli';

/** Main classes by tool; where a tool moved between versions, the one of testKafka. */
export const KAFKA_TOOLS = {
  reassignPartitions: 'org.apache.kafka.tools.reassign.ReassignPartitionsCommand',
  leaderElection: 'org.apache.kafka.tools.LeaderElectionCommand',
  cluster: 'org.apache.kafka.tools.ClusterTool',
  // Scala kafka.admin.AclCommand until 3.9; Java, in the tools jar, from 4.0 (KAFKA-14588).
  acls: testKafka.logging === 'log4j2' ? 'org.apache.kafka.tools.AclCommand' : 'kafka.admin.AclCommand',
} as const;

/**
 * The tools' own logging: warnings and errors on stderr, nothing on stdout, whose output
 * tests read (the shell scripts give the tools a configuration like this one too).
 */
function toolsLoggingFile(): string {
  const file = path.join(os.tmpdir(), `vigil-kafka-tools-${testKafka.logging}.properties`);
  if (!fs.existsSync(file)) {
    const text =
      testKafka.logging === 'log4j2'
        ? ['status = warn', 'appender.stderr.type = Console', 'appender.stderr.name = STDERR', 'appender.stderr.target = SYSTEM_ERR', 'appender.stderr.layout.type = PatternLayout', 'appender.stderr.layout.pattern = [%d] %p %m (%c)%n', 'rootLogger.level = WARN', 'rootLogger.appenderRef.stderr.ref = STDERR', ''].join('\n')
        : ['log4j.rootLogger=WARN, stderr', 'log4j.appender.stderr=org.apache.log4j.ConsoleAppender', 'log4j.appender.stderr.Target=System.err', 'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout', 'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n', ''].join('\n');
    // Written whole under a private name, then renamed: a concurrent reader never sees half.
    const partial = `${file}.${process.pid}`;
    fs.writeFileSync(partial, text);
    fs.renameSync(partial, file);
  }
  return file;
}

/** `java ... -cp <libs>/*` without the main class: what a tool's shell script runs. */
export function kafkaToolJava(): string[] {
  return ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', kafkaLoggingArg(testKafka, toolsLoggingFile()), '-cp', path.join(testKafka.libsDir, '*')];
}

export function runKafkaTool(mainClass: string, args: readonly string[]): Promise<CliResult> {
  return runCollected('java', [...kafkaToolJava(), mainClass, ...args]);
}

/**
 * A Kafka Streams application for tests of streams groups (KIP-1071): the WordCount demo of
 * kafka-streams-examples, which the kafka-4 profile of deploy/local-kafka/pom.xml fetches with
 * kafka-streams into the same libs (Kafka 3.9 has no streams groups, and its profile no
 * Streams jars). It reads `inputTopic`, splits each value into words, counts them through a
 * repartition topic (`<application.id>-…-repartition`, which the broker creates) and a state
 * store, and writes the counts to `outputTopic`; the topics are fixed, the application's
 * settings come from the properties file that is its one argument. A SIGTERM closes it
 * cleanly (its shutdown hook).
 *
 *   spawn('java', [...kafkaToolJava(), STREAMS_WORDCOUNT.mainClass, propertiesFile])
 */
export const STREAMS_WORDCOUNT = {
  mainClass: 'org.apache.kafka.streams.examples.wordcount.WordCountDemo',
  inputTopic: 'streams-plaintext-input',
  outputTopic: 'streams-wordcount-output',
} as const;

/**
 * Why the Kafka Streams application cannot run from testKafka's jars, or null when it can:
 * the jars of kafka-streams and kafka-streams-examples must be in its libs.
 */
export function kafkaStreamsJarsMissing(): string | null {
  const jars = fs.existsSync(testKafka.libsDir) ? fs.readdirSync(testKafka.libsDir) : [];
  const missing = ['kafka-streams', 'kafka-streams-examples'].filter((a) => !jars.some((j) => new RegExp(`^${a}-\\d[\\w.-]*\\.jar$`).test(j)));
  return missing.length === 0
    ? null
    : `${missing.join(' and ')} not in ${testKafka.libsDir}: run scripts/setup.sh, which fetches them with the Kafka ${testKafka.version} jars (deploy/local-kafka/pom.xml)`;
}
