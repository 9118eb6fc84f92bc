/**
 * The offsets-log port (issue 9, docs/design.md §3.6): what the commit stream needs to tail
 * `__consumer_offsets`, the group coordinator's log, as plain data. The adapter
 * (kafkajs-offsets-log.ts) fetches and decodes; src/monitor/commit-stream.ts folds the
 * entries into each group's committed offsets; unit tests use an in-memory log.
 */
import type { OffsetsRecord } from './consumer-offsets';
import type { BrokerInfo } from './types';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Where the offsets log's partitions are led (one Metadata request for the topic). */
export type OffsetsLogLayout =
  | {
      readonly state: 'ok';
      /** partition → its leader, or null while it has none */
      readonly leaders: ReadonlyMap<number, BrokerInfo | null>;
      /** the topic's partition count: a group's coordinator partition is its hash modulo this */
      readonly partitions: number;
    }
  /** the principal may not Describe the topic (TOPIC_AUTHORIZATION_FAILED) */
  | { readonly state: 'denied'; readonly reason: string }
  /** no group has ever committed: the coordinator creates the topic on first use */
  | { readonly state: 'absent' };

/** One entry of the log as a reader sees it, in offset order. */
export type OffsetsLogEntry =
  /** a data record; `transactional` ones count only at their producer's COMMIT marker */
  | { readonly kind: 'record'; readonly offset: number; readonly producerId: number; readonly transactional: boolean; readonly record: OffsetsRecord }
  /** a transaction marker: the end of `producerId`'s open transaction, committed or aborted */
  | { readonly kind: 'marker'; readonly offset: number; readonly producerId: number; readonly commit: boolean };

/** One partition's answer to a fetch. */
export type OffsetsLogAnswer =
  | {
      readonly partition: number;
      readonly kind: 'entries';
      readonly entries: readonly OffsetsLogEntry[];
      /** where the next fetch starts: after the last whole batch read (the asked offset when none) */
      readonly nextOffset: number;
      /** the partition's high watermark: the reader is at the end when nextOffset reaches it */
      readonly highWatermark: number;
    }
  /** the asked offset is below the log start (compaction, retention): start again there */
  | { readonly partition: number; readonly kind: 'out-of-range'; readonly logStartOffset: number }
  /** the broker no longer leads it, or another error: ask the layout again */
  | { readonly partition: number; readonly kind: 'error'; readonly error: string; readonly denied: boolean };

export interface OffsetsLogReader {
  layout(): Promise<OffsetsLogLayout>;
  /**
   * One Fetch to `broker` for `positions` (partition → next offset), read_uncommitted, that
   * waits at the broker up to `maxWaitMs` for a record to arrive. Throws when the broker
   * cannot be asked (the caller asks the layout again and retries).
   */
  fetch(broker: BrokerInfo, positions: ReadonlyMap<number, number>, maxWaitMs: number): Promise<OffsetsLogAnswer[]>;
  close(): Promise<void>;
}

/**
 * The `__consumer_offsets` partition that holds `groupId`'s records: Kafka's
 * abs(groupId.hashCode()) % partitions, with Java's String.hashCode over UTF-16 code units
 * and Kafka's abs (Integer.MIN_VALUE → 0).
 */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(h, 31) + groupId.charCodeAt(i)) | 0;
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitions;
}
