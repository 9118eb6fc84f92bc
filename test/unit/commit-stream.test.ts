/**
 * The commit stream (src/monitor/commit-stream.ts; docs/design.md §3.6) over an in-memory
 * `__consumer_offsets`: commits, tombstones, transactions committed and aborted, a partition
 * read in several answers, compaction below the reader, a leader that moves, a broker that
 * stops answering, a principal denied the topic, and what the stream vouches for when.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/log';
import { CommitStream } from '../../src/monitor/commit-stream';
import { systemClock } from '../../src/util/clock';
import { MemoryOffsetsLog, broker } from '../fakes/memory-offsets-log';
import { waitFor } from '../harness/wait';

const WAIT = { timeoutMs: 10_000, intervalMs: 5 };
const FAST = { maxWaitMs: 50, retryMs: 20, deniedRetryMs: 50, staleAfterMs: 60_000 };

let stream: CommitStream | null = null;
afterEach(async () => {
  await stream?.stop();
  stream = null;
});

function start(log: MemoryOffsetsLog, opts = FAST): CommitStream {
  stream = new CommitStream(log, systemClock, silentLogger, opts);
  stream.start();
  return stream;
}

const plain = (offsets: ReturnType<CommitStream['committed']>) =>
  offsets === null ? null : Object.fromEntries([...offsets].map(([t, ps]) => [t, Object.fromEntries(ps)]));

async function committedOf(s: CommitStream, group: string, expected: unknown): Promise<void> {
  await waitFor(() => JSON.stringify(plain(s.committed(group))) === JSON.stringify(expected), { ...WAIT, what: `${group}'s offsets to be ${JSON.stringify(expected)}` });
}

describe('CommitStream', () => {
  it('folds commits and tombstones, read from the log start, and follows new commits as they arrive', async () => {
    const log = new MemoryOffsetsLog(5);
    log.commit('orders-svc', 'orders', 0, 10);
    log.commit('orders-svc', 'orders', 1, 20);
    log.commit('orders-svc', 'orders', 0, 15);
    log.commit('billing', 'orders', 0, 3);
    log.commit('billing', 'orders', 0, null); // OffsetDelete
    const s = start(log);
    await committedOf(s, 'orders-svc', { orders: { 0: 15, 1: 20 } });
    await committedOf(s, 'billing', {});
    // what a caller holds does not change under it (the stream copies before folding)
    const held = s.committed('orders-svc');
    assert.equal(s.committed('orders-svc'), held, 'no fold since: the same view, not a copy');
    log.commit('orders-svc', 'orders', 1, 25);
    await committedOf(s, 'orders-svc', { orders: { 0: 15, 1: 25 } });
    assert.deepEqual(plain(held), { orders: { 0: 15, 1: 20 } });
    const beforeTombstones = s.committed('orders-svc');
    log.commit('orders-svc', 'orders', 0, null);
    log.commit('orders-svc', 'orders', 1, null);
    await committedOf(s, 'orders-svc', {});
    assert.deepEqual(plain(beforeTombstones), { orders: { 0: 15, 1: 25 } });
    assert.deepEqual(plain(held), { orders: { 0: 15, 1: 20 } });
  });

  it('applies a transaction\'s commits at its COMMIT marker and drops them at ABORT, while other commits stay current', async () => {
    const log = new MemoryOffsetsLog(1);
    const s = start(log);
    log.commit('etl', 'events', 0, 100);
    log.commit('etl', 'events', 0, 150, { producerId: 7 });
    log.commit('etl', 'events', 1, 5, { producerId: 8 });
    log.commit('other', 'events', 0, 42); // after the open transactions
    await committedOf(s, 'other', { events: { 0: 42 } });
    await committedOf(s, 'etl', { events: { 0: 100 } });
    log.marker('etl', 8, false);
    log.marker('etl', 7, true);
    await committedOf(s, 'etl', { events: { 0: 150 } });
  });

  it('reads a long partition over several answers and vouches only once it reached the end', async () => {
    const log = new MemoryOffsetsLog(1);
    for (let i = 0; i < 250; i++) log.commit('g', 't', i % 10, i);
    log.maxEntries = 10;
    const s = start(log);
    assert.equal(s.committed('g'), null);
    await committedOf(s, 'g', { t: Object.fromEntries(Array.from({ length: 10 }, (_, p) => [p, 240 + p])) });
    assert.ok(log.fetches >= 25, `${log.fetches} fetches`);
  });

  it('starts again at the log start when compaction removed what it was about to read', async () => {
    const log = new MemoryOffsetsLog(1);
    log.commit('g', 't', 0, 1);
    log.commit('g', 't', 0, 2);
    log.commit('g', 't', 0, 3);
    log.truncateBefore(0, 2);
    const s = start(log);
    await committedOf(s, 'g', { t: { 0: 3 } });
  });

  it('follows a partition to its new leader, and stops vouching for a partition whose leader stops answering', async () => {
    const log = new MemoryOffsetsLog(2, broker(1));
    const names = Array.from({ length: 20 }, (_, i) => `group-${i}`);
    const a = names.find((g) => log.partitionOf(g) === 0);
    const b = names.find((g) => log.partitionOf(g) === 1);
    assert.ok(a !== undefined && b !== undefined, 'groups in both partitions');
    log.commit(a as string, 't', 0, 1);
    log.commit(b as string, 't', 0, 1);
    const s = start(log, { ...FAST, staleAfterMs: 300 });
    await committedOf(s, a as string, { t: { 0: 1 } });
    log.leaders[log.partitionOf(a as string)] = broker(2);
    log.commit(a as string, 't', 0, 2);
    await committedOf(s, a as string, { t: { 0: 2 } });
    assert.ok(log.layouts >= 2);
    log.failing.add(2);
    await committedOf(s, a as string, null);
    await committedOf(s, b as string, { t: { 0: 1 } });
    const st = s.status();
    assert.equal(st.state, 'tailing');
    assert.ok(st.state === 'tailing' && st.vouched === 1 && st.errors.some((e) => e.error.includes('broker 2')), JSON.stringify(st));
    log.failing.delete(2);
    await committedOf(s, a as string, { t: { 0: 2 } });
  });

  it('says denied (and vouches for nothing) while the principal may not read the topic, and streams once it may', async () => {
    const log = new MemoryOffsetsLog(1);
    log.commit('g', 't', 0, 9);
    log.readDenied = true;
    const s = start(log);
    await waitFor(() => s.status().state === 'denied', { ...WAIT, what: 'the stream to say denied' });
    assert.equal(s.committed('g'), null);
    log.readDenied = false;
    await committedOf(s, 'g', { t: { 0: 9 } });
    assert.equal(s.status().state, 'tailing');
    log.layoutState = 'denied';
    log.readDenied = true;
    await waitFor(() => s.status().state === 'denied', { ...WAIT, what: 'the stream to say denied' });
  });

  it('freshen: one Fetch makes the group\'s partition fresh as of now, folding any commit that arrived', async () => {
    const log = new MemoryOffsetsLog(1);
    log.commit('g', 't', 0, 1);
    const s = start(log, { ...FAST, maxWaitMs: 60_000 });
    await committedOf(s, 'g', { t: { 0: 1 } });
    const at = Date.now() + 1;
    while (Date.now() < at) {
      /* the instant must pass */
    }
    // the long poll (60 s) waits at the broker: only a new Fetch sent after `at` can vouch for it
    const fetches = log.fetches;
    assert.equal(await s.freshen('g', at), true);
    assert.equal(log.fetches, fetches + 1, 'one Fetch');
    assert.equal(await s.freshen('g', at), true);
    assert.equal(log.fetches, fetches + 1, 'already fresh at that instant: no Fetch');
    assert.equal(await s.freshen('g', Date.now() + 60_000), false, 'a Fetch sent now cannot vouch for a later instant');
  });

  it('a group with a record it cannot decode is not vouched for (polled instead)', async () => {
    const log = new MemoryOffsetsLog(1);
    log.commit('g', 't', 0, 1);
    log.append(0, { kind: 'record', producerId: -1, transactional: false, record: { kind: 'undecodable', reason: 'unsupported version 9 of OffsetCommitValue', recordType: 1, group: 'bad' } });
    const s = start(log);
    await committedOf(s, 'g', { t: { 0: 1 } });
    assert.equal(s.committed('bad'), null);
  });
});
