/**
 * Kafka's own command-line tools (kafka-reassign-partitions.sh, kafka-leader-election.sh,
 * ...) run from the jars the local stack uses (.cache/kafka/libs, deploy/local-kafka/pom.xml),
 * as the shell scripts would run them: `java -cp <libs>/* <main class> <args>`.
 */
import path from 'node:path';
import { kafkaLibsDir } from '../../src/local/kafka';
import { type CliResult, runCollected } from './cli';

export const KAFKA_TOOLS = {
  reassignPartitions: 'org.apache.kafka.tools.reassign.ReassignPartitionsCommand',
  leaderElection: 'org.apache.kafka.tools.LeaderElectionCommand',
} as const;

export function runKafkaTool(mainClass: string, args: readonly string[]): Promise<CliResult> {
  return runCollected('java', ['-Xshare:auto', '-XX:+UseSerialGC', '-Dlog4j.configuration=file:/dev/null', '-cp', path.join(kafkaLibsDir, '*'), mainClass, ...args]);
}
