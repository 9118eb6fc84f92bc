/**
 * An in-memory `__consumer_offsets` behind the offsets-log port (src/kafka/offsets-log.ts):
 * partitions of entries, a leader each, Fetches that wait for an append up to their max
 * wait as a broker's long poll does. Tests append commits and markers, move leaders, deny
 * access, or fail a broker's Fetches.
 */
import type { OffsetsRecord } from '../../src/kafka/consumer-offsets';
import type { OffsetsLogAnswer, OffsetsLogEntry, OffsetsLogLayout, OffsetsLogReader } from '../../src/kafka/offsets-log';
import { offsetsPartitionFor } from '../../src/kafka/offsets-log';
import type { BrokerInfo } from '../../src/kafka/types';

/** An entry as appended: the log gives it its offset. */
export type EntryInput = OffsetsLogEntry extends infer E ? (E extends OffsetsLogEntry ? Omit<E, 'offset'> : never) : never;

export const broker = (nodeId: number): BrokerInfo => ({ nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack: null });

export class MemoryOffsetsLog implements OffsetsLogReader {
  readonly logs: OffsetsLogEntry[][];
  /** the first offset still in each partition (compaction, retention) */
  readonly logStart: number[];
  readonly leaders: (BrokerInfo | null)[];
  layoutState: 'ok' | 'denied' | 'absent' = 'ok';
  /** Fetches answer TOPIC_AUTHORIZATION_FAILED */
  readDenied = false;
  /** node ids whose Fetches throw */
  readonly failing = new Set<number>();
  /** at most this many entries per partition per answer */
  maxEntries = 1_000;
  fetches = 0;
  layouts = 0;
  private waiters = new Set<() => void>();

  constructor(readonly partitions: number, leader: BrokerInfo = broker(1)) {
    this.logs = Array.from({ length: partitions }, () => []);
    this.logStart = Array.from({ length: partitions }, () => 0);
    this.leaders = Array.from({ length: partitions }, () => leader);
  }

  partitionOf(group: string): number {
    return offsetsPartitionFor(group, this.partitions);
  }

  /** Appends a record (or marker) to the group's partition; returns its offset. */
  append(partition: number, entry: EntryInput): number {
    const log = this.logs[partition] as OffsetsLogEntry[];
    const offset = this.logStart[partition]! + log.length;
    log.push({ ...entry, offset } as OffsetsLogEntry);
    for (const w of [...this.waiters]) w();
    return offset;
  }

  commit(group: string, topic: string, partition: number, offset: number | null, txn?: { producerId: number }): number {
    const record: OffsetsRecord = {
      kind: 'offset-commit',
      group,
      topic,
      partition,
      value: offset === null ? null : { version: 3, offset, leaderEpoch: null, metadata: '', commitTimestampMs: 0, expireTimestampMs: null, topicId: null },
    };
    return this.append(this.partitionOf(group), { kind: 'record', producerId: txn?.producerId ?? -1, transactional: txn !== undefined, record });
  }

  marker(group: string, producerId: number, commit: boolean): number {
    return this.append(this.partitionOf(group), { kind: 'marker', producerId, commit });
  }

  /** Compacts a partition: entries below `offset` are gone. */
  truncateBefore(partition: number, offset: number): void {
    const drop = offset - this.logStart[partition]!;
    this.logs[partition] = (this.logs[partition] as OffsetsLogEntry[]).slice(drop);
    this.logStart[partition] = offset;
  }

  async layout(): Promise<OffsetsLogLayout> {
    this.layouts++;
    if (this.layoutState === 'denied') return { state: 'denied', reason: 'TOPIC_AUTHORIZATION_FAILED' };
    if (this.layoutState === 'absent') return { state: 'absent' };
    return { state: 'ok', partitions: this.partitions, leaders: new Map(this.leaders.map((l, i) => [i, l])) };
  }

  async fetch(b: BrokerInfo, positions: ReadonlyMap<number, number>, maxWaitMs: number): Promise<OffsetsLogAnswer[]> {
    this.fetches++;
    if (this.failing.has(b.nodeId)) throw new Error(`broker ${b.nodeId} does not answer`);
    const hasData = () => [...positions].some(([p, o]) => o < this.logStart[p]! + (this.logs[p] as OffsetsLogEntry[]).length);
    if (maxWaitMs > 0 && !hasData()) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, maxWaitMs);
        this.waiters.add(done);
      });
    }
    return [...positions].map(([partition, offset]): OffsetsLogAnswer => {
      if (this.leaders[partition]?.nodeId !== b.nodeId) return { partition, kind: 'error', error: 'NOT_LEADER_OR_FOLLOWER', denied: false };
      if (this.readDenied) return { partition, kind: 'error', error: 'TOPIC_AUTHORIZATION_FAILED', denied: true };
      const start = this.logStart[partition]!;
      const log = this.logs[partition] as OffsetsLogEntry[];
      if (offset < start) return { partition, kind: 'out-of-range', logStartOffset: start };
      const entries = log.slice(offset - start, offset - start + this.maxEntries);
      const nextOffset = entries.length > 0 ? (entries[entries.length - 1] as OffsetsLogEntry).offset + 1 : offset;
      return { partition, kind: 'entries', entries, nextOffset, highWatermark: start + log.length };
    });
  }

  async close(): Promise<void> {
    for (const w of [...this.waiters]) w();
  }
}
