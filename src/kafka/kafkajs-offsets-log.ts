/**
 * The offsets-log port over the raw-request layer (issue 9, docs/design.md §3.6): Metadata
 * for `__consumer_offsets` alone, and long-poll Fetches (read_uncommitted, min bytes 1) whose
 * batches are decoded here (record-batch.ts, consumer-offsets.ts) into log entries.
 *
 * Its connections are its own: a Fetch that waits at the broker for records must not hold
 * up the cycle's requests, nor be mistaken for a silent broker by the admin's watchdog. And
 * a Fetch that does not wait (the breach schedule's, docs/design.md §3.7) goes on a second
 * set: a broker serves one request per connection at a time, so behind a long poll it would
 * wait out the poll's max wait.
 */
import type { KafkaConfig } from '../config/types';
import { describeError } from '../errors';
import { type Logger, silentLogger } from '../log';
import { decodeOffsetsRecord } from './consumer-offsets';
import { addressOf, clusterMetadataOf, fetchRequest, metadataRequest } from './kafkajs-admin';
import { KafkaConnections, kafkaErrorName } from './kafkajs-wire';
import { OFFSETS_TOPIC, type OffsetsLogAnswer, type OffsetsLogEntry, type OffsetsLogLayout, type OffsetsLogReader } from './offsets-log';
import { iterateRecordBatches } from './record-batch';
import type { BrokerInfo } from './types';

/** Per partition, per Fetch: a coordinator's batches are small (one commit request each). */
const PARTITION_BYTES = 1024 * 1024;
const ERR_NONE = 0;
const ERR_OFFSET_OUT_OF_RANGE = 1;
const ERR_UNKNOWN_TOPIC_OR_PARTITION = 3;
const ERR_TOPIC_AUTHORIZATION_FAILED = 29;

export class KafkajsOffsetsLog implements OffsetsLogReader {
  private readonly connections: KafkaConnections;
  /** for Fetches that do not wait */
  private readonly quickConnections: KafkaConnections;
  private readonly requestTimeoutMs: number;
  /** rotates which partition goes first in a Fetch: a batch over the size limit is answered only there */
  private turn = 0;

  constructor(config: KafkaConfig, private readonly logger: Logger = silentLogger) {
    this.connections = new KafkaConnections(config, logger);
    this.quickConnections = new KafkaConnections(config, logger);
    this.requestTimeoutMs = config.requestTimeoutMs;
  }

  async layout(): Promise<OffsetsLogLayout> {
    const { address, broker } = await this.connections.connectAny();
    let raw;
    try {
      raw = await this.connections.send(broker, metadataRequest([OFFSETS_TOPIC]));
    } catch (err) {
      await this.connections.drop(address);
      throw err;
    }
    const topic = raw.topics.find((t) => t.topic === OFFSETS_TOPIC);
    if (!topic || topic.errorCode === ERR_UNKNOWN_TOPIC_OR_PARTITION) return { state: 'absent' };
    if (topic.errorCode === ERR_TOPIC_AUTHORIZATION_FAILED) return { state: 'denied', reason: `${kafkaErrorName(topic.errorCode)}: vigil's principal may not Describe ${OFFSETS_TOPIC}` };
    const md = clusterMetadataOf(raw);
    const brokers = new Map(md.brokers.map((b) => [b.nodeId, b]));
    const leaders = new Map<number, BrokerInfo | null>();
    for (const p of topic.partitions) leaders.set(p.partition, p.leader >= 0 ? (brokers.get(p.leader) ?? null) : null);
    return { state: 'ok', leaders, partitions: topic.partitions.length };
  }

  async fetch(broker: BrokerInfo, positions: ReadonlyMap<number, number>, maxWaitMs: number): Promise<OffsetsLogAnswer[]> {
    const address = addressOf(broker);
    const order = [...positions].sort((a, b) => a[0] - b[0]);
    const first = this.turn++ % Math.max(1, order.length);
    const reqs = [...order.slice(first), ...order.slice(0, first)].map(([partition, offset]) => ({ topic: OFFSETS_TOPIC, partition, offset }));
    const connections = maxWaitMs > 0 ? this.connections : this.quickConnections;
    let res;
    try {
      const conn = await connections.connect(address);
      res = await connections.send(conn, { ...fetchRequest(reqs, PARTITION_BYTES, 'read_uncommitted', { maxWaitMs, minBytes: maxWaitMs > 0 ? 1 : 0 }), requestTimeoutMs: this.requestTimeoutMs + maxWaitMs });
    } catch (err) {
      await connections.drop(address);
      throw err;
    }
    const out: OffsetsLogAnswer[] = [];
    for (const p of res) {
      if (p.topic !== OFFSETS_TOPIC || !positions.has(p.partition)) continue;
      const asked = positions.get(p.partition) as number;
      if (p.errorCode === ERR_OFFSET_OUT_OF_RANGE && p.logStartOffset > asked) {
        out.push({ partition: p.partition, kind: 'out-of-range', logStartOffset: p.logStartOffset });
      } else if (p.errorCode !== ERR_NONE) {
        out.push({ partition: p.partition, kind: 'error', error: kafkaErrorName(p.errorCode), denied: p.errorCode === ERR_TOPIC_AUTHORIZATION_FAILED });
      } else {
        out.push(this.entriesOf(p.partition, asked, p.records ?? Buffer.alloc(0), p.highWatermark));
      }
    }
    return out;
  }

  /** The entries of one partition's record bytes at or after `asked` (a batch may start before it). */
  private entriesOf(partition: number, asked: number, records: Buffer, highWatermark: number): OffsetsLogAnswer {
    const entries: OffsetsLogEntry[] = [];
    let nextOffset = asked;
    try {
      for (const batch of iterateRecordBatches(records)) {
        if (batch.lastOffset < asked) continue;
        for (const r of batch.records) {
          if (r.offset < asked) continue;
          if (batch.isControl) {
            if (r.control?.type === 'COMMIT' || r.control?.type === 'ABORT') entries.push({ kind: 'marker', offset: r.offset, producerId: batch.producerId, commit: r.control.type === 'COMMIT' });
          } else {
            entries.push({ kind: 'record', offset: r.offset, producerId: batch.producerId, transactional: batch.isTransactional, record: decodeOffsetsRecord(r.key, r.value) });
          }
        }
        nextOffset = batch.lastOffset + 1;
      }
    } catch (err) {
      // The bytes after the last whole batch read cannot be decoded: what came before them
      // counts, and the partition reports the error from there on (its groups are polled).
      this.logger.debug({ partition, offset: nextOffset, err: describeError(err) }, `${OFFSETS_TOPIC} batch unreadable`);
      if (entries.length === 0) return { partition, kind: 'error', error: `unreadable batch at offset ${nextOffset}: ${describeError(err)}`, denied: false };
    }
    return { partition, kind: 'entries', entries, nextOffset, highWatermark };
  }

  async close(): Promise<void> {
    await Promise.all([this.connections.close(), this.quickConnections.close()]);
  }
}
