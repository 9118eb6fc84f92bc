/**
 * What a Kafka consumer with isolation.level=read_committed hands its application from one
 * partition's Fetch answer: the data batches, less the batches of aborted transactions,
 * less the control batches (transaction markers). Pure.
 *
 * A Fetch with isolation_level=1 (read_committed) answers up to the partition's last stable
 * offset — no open transaction's records — and lists the aborted transactions that overlap
 * the answer as (producerId, firstOffset). This is the consumer's own algorithm (Kafka's
 * CompletedFetch): walking the batches in order, a transaction listed with
 * firstOffset <= a producer batch's lastOffset marks its producer as aborting; that
 * producer's transactional batches are dropped until its ABORT marker, which ends the
 * range. Batches without a producer id (-1) are never part of a transaction. The list
 * covers transactions that began before the fetched range too, so each answer is filtered
 * on its own, with no state carried between Fetches.
 */
import type { RecordBatch } from './record-batch';

/** One entry of a Fetch answer's aborted_transactions list. */
export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

/** The committed data batches of `batches` (one partition, one Fetch answer), in order. */
export function* committedBatches(batches: Iterable<RecordBatch>, aborted: readonly AbortedTransaction[]): Generator<RecordBatch, void, undefined> {
  const pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  let next = 0;
  const aborting = new Set<number>();
  for (const batch of batches) {
    if (batch.producerId >= 0) {
      for (; next < pending.length && (pending[next] as AbortedTransaction).firstOffset <= batch.lastOffset; next++) {
        aborting.add((pending[next] as AbortedTransaction).producerId);
      }
      if (batch.isControl) {
        if (batch.records[0]?.control?.type === 'ABORT') aborting.delete(batch.producerId);
      } else if (batch.isTransactional && aborting.has(batch.producerId)) {
        continue;
      }
    }
    if (!batch.isControl) yield batch;
  }
}
