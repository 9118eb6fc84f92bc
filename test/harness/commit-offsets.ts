/**
 * Commits a consumer group's offsets directly (OffsetCommit v2 with generation -1 and no
 * member id, as Kafka allows for a group without live members). kafkajs's admin.setOffsets
 * joins and leaves the group around each commit, which costs seconds per call; tests that
 * place groups at known offsets use this instead.
 */
import type { KafkaConfig } from '../../src/config/types';
import { API_KEYS, KafkaConnections, kafkaErrorName } from '../../src/kafka/kafkajs-wire';
import { silentLogger } from '../../src/log';
import { waitFor } from './wait';

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
}

export interface CommitOptions {
  /** OffsetCommit's retention_time_ms; absent: the broker's offsets.retention.minutes. A
   *  broker stores a commit with a retention time as OffsetCommitValue v1 (expireTimestamp). */
  retentionMs?: number;
}

export class OffsetCommitter {
  private readonly connections: KafkaConnections;

  constructor(bootstrap: readonly string[]) {
    const config: KafkaConfig = { brokers: bootstrap, clientId: 'test-committer', ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 10_000 };
    this.connections = new KafkaConnections(config, silentLogger);
  }

  /**
   * Retries until the commit succeeds: a fresh cluster creates __consumer_offsets on the
   * first lookup and answers COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR while its
   * partitions get leaders. The wait's error names the last failure.
   */
  async commit(group: string, offsets: readonly OffsetToCommit[], opts: CommitOptions = {}): Promise<void> {
    await waitFor(
      async () => {
        await this.commitOnce(group, offsets, opts.retentionMs ?? -1);
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `committing offsets of group ${group}` },
    );
  }

  private async commitOnce(group: string, offsets: readonly OffsetToCommit[], retentionMs: number): Promise<void> {
    const { broker } = await this.connections.connectAny();
    const { coordinator } = await broker.findGroupCoordinator({ groupId: group, coordinatorType: 0 });
    const target = await this.connections.connect(`${coordinator.host}:${coordinator.port}`);
    const byTopic = new Map<string, OffsetToCommit[]>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    // v2, the one version with both a retention time (gone in v5) and Kafka 4's support
    const errors = await this.connections.send(target, {
      apiKey: API_KEYS.OffsetCommit as number,
      apiName: 'OffsetCommit',
      versions: { min: 2, max: 2 },
      encode: (w) => {
        w.string(group)
          .int32(-1) // generation: none
          .string('') // member id: none
          .int64(retentionMs); // -1: the broker's default
        w.array([...byTopic], (w, [topic, ps]) => {
          w.string(topic).array(ps, (w, p) => w.int32(p.partition).int64(p.offset).string(null));
        });
      },
      decode: (r) =>
        r
          .array((t) => {
            const topic = t.string();
            return t.array((p) => ({ topic, partition: p.int32(), errorCode: p.int16() }));
          })
          .flat()
          .filter((p) => p.errorCode !== 0),
    });
    if (errors.length > 0) {
      throw new Error(`OffsetCommit for ${group} failed: ${errors.map((e) => `${e.topic}/${e.partition} ${kafkaErrorName(e.errorCode)}`).join(', ')}`);
    }
  }

  async close(): Promise<void> {
    await this.connections.close();
  }
}
