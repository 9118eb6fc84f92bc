/**
 * The failover journal's writer (src/reconcile/failover-journal.ts, issue 10 item 4) on the
 * in-memory StateStore: vigil's own election written at take-over, partition entries from
 * the cycles' snapshots, the metrics, entries kept while Redis is down, and nothing written
 * once the fence refused the term; and the entries as GET /api/v1/failovers shows them.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { HttpServer } from '../../src/http/server';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import type { KafkaSnapshot } from '../../src/monitor/snapshot';
import type { Decision, TermFence } from '../../src/reconcile/actor';
import { FailoverJournal, failoverView, registerFailoverRoute } from '../../src/reconcile/failover-journal';
import type { StateStore } from '../../src/state/types';
import { MemoryStateBackend } from '../fakes/memory-state';
import { broker, downBroker, partition, snapshot, T0 } from '../fakes/snapshots';
import { httpGet as get } from '../harness/http-get';
import { waitFor } from '../harness/wait';

const at = (s: number): number => T0 + s * 1000;
const parts = (leader: number) => [partition('orders', 0, leader, [3, 1, 2]), partition('orders', 1, 1, [1, 2, 3])];

function decision(snap: KafkaSnapshot): Decision {
  return { notifications: [], firing: [], findings: [], snapshot: snap };
}

/** A broker 3 kill seen over four cycles: unreachable, then its partition led by broker 1. */
const killCycles = (): KafkaSnapshot[] => [
  snapshot({ takenAtMs: at(0), partitions: parts(3) }),
  snapshot({ takenAtMs: at(1), brokers: [broker(1), broker(2), downBroker(3, at(1))], partitions: parts(3) }),
  snapshot({ takenAtMs: at(2), brokers: [broker(1), broker(2), broker(3, { reachable: false, inMetadata: false })], partitions: parts(1) }),
  snapshot({ takenAtMs: at(3), brokers: [broker(1), broker(2), broker(3, { reachable: false, inMetadata: false })], partitions: parts(1) }),
];

async function setup(term = 4) {
  const backend = new MemoryStateBackend();
  const store = backend.connect('failovers-test');
  await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'the fake store' });
  const metrics = createMetrics({ nodeId: 'vigil-2', cluster: 'test' });
  let leading = true;
  const fence: TermFence = { term, mayAct: () => leading };
  const journal = new FailoverJournal({
    store,
    nodeId: 'vigil-2',
    metrics,
    logger: silentLogger,
    lastElection: () => ({ term, from: 'vigil-1', fromTerm: term - 1, to: 'vigil-2', reason: 'connection-lost', leaderlessMs: 38, campaigns: 1, electedAtMs: 10, electedAtWallMs: at(0) }),
  });
  return { backend, store, metrics, fence, journal, depose: () => (leading = false) };
}

async function journalOf(store: StateStore, n: number) {
  return waitFor(async () => {
    const rows = await store.readFailovers();
    return rows.length >= n ? rows : null;
  }, { timeoutMs: 2000, what: `${n} journal entries` });
}

describe('the failover journal writer (issue 10 item 4)', () => {
  it("writes vigil's own election at take-over and a broker's partition failover once it is over, with the metrics", async () => {
    const { store, metrics, fence, journal } = await setup();
    journal.takeOver(fence);
    for (const s of killCycles()) journal.act(fence, decision(s));
    await journal.stop();
    const rows = await journalOf(store, 2);
    assert.deepEqual(rows.map((r) => [r.kind, r.term, r.nodeId]), [
      ['partitions', 4, 'vigil-2'],
      ['vigil', 4, 'vigil-2'],
    ]);
    const view = failoverView(rows[0]!);
    assert.equal(view['summary'], 'broker 3 unreachable, then fenced: 1 partition moved, 1 led again within 1.0 s');
    assert.equal(view['time'], new Date(at(1)).toISOString());
    assert.equal(view['from'], 3);
    assert.equal(view['recordedBy'], 'vigil-2');
    assert.deepEqual((view['windows'] as Array<Record<string, unknown>>).map((w) => [w['partition'], w['from'], w['to'], w['lostAfterMs'], w['lostAtMs'], w['ledAtMs']]), [[0, 3, 1, at(0), at(1), at(2)]]);
    assert.equal(failoverView(rows[1]!)['leaderlessMs'], 38);
    const changes = (await metrics.failoverLeaderChanges.get()).values.map((v) => [v.labels['kind'], v.value]);
    assert.deepEqual(changes.sort(), [['partition', 1], ['vigil', 1]]);
    const hist = (await metrics.failoverLeaderlessSeconds.get()).values.filter((v) => v.metricName === 'vigil_failover_leaderless_seconds_sum');
    assert.deepEqual(hist.map((v) => [v.labels['kind'], v.value]).sort(), [['partition', 1], ['vigil', 0.038]]);
    assert.equal((await metrics.failoverPartitionsLeaderless.get()).values[0]?.value, 0);
  });

  it('keeps entries while Redis is down and writes them when it answers again', async () => {
    const { backend, store, fence, journal } = await setup();
    backend.stop();
    journal.takeOver(fence);
    for (const s of killCycles()) journal.act(fence, decision(s));
    await journal.idle();
    assert.equal(journal.pending(), 2);
    backend.start({ keepData: true });
    await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'the store back' });
    journal.act(fence, decision(snapshot({ takenAtMs: at(4), partitions: parts(1) })));
    await journal.idle();
    assert.equal((await store.readFailovers()).length, 2);
    assert.equal(journal.pending(), 0);
  });

  it('writes nothing once the fence refused its term, and nothing after it was deposed', async () => {
    const { store, fence, journal } = await setup(4);
    assert.equal((await store.raiseFence(5)).status, 'ok');
    journal.takeOver(fence);
    await journal.idle();
    for (const s of killCycles()) journal.act(fence, decision(s));
    await journal.idle();
    assert.deepEqual(await store.readFailovers(), []);
    assert.equal(journal.pending(), 0);

    const b = await setup(6);
    b.depose();
    b.journal.takeOver(b.fence);
    await b.journal.stop();
    assert.deepEqual(await b.store.readFailovers(), []);
  });
});

describe("the journal's recent entries: decide's read-only view (issue 10 item 4, the alert's page)", () => {
  it("holds this term's entries as they are recorded, and forgets them when the term ends", async () => {
    const { fence, journal } = await setup();
    journal.takeOver(fence);
    for (const s of killCycles()) journal.act(fence, decision(s));
    assert.deepEqual(journal.recent().map((e) => [e.kind, e.from]), [['vigil', 'vigil-1'], ['partitions', 3]]);
    await journal.idle();
    journal.reset();
    assert.deepEqual(journal.recent(), []);
  });

  it("a successor reads its predecessor's entries back from Redis at take-over, each once", async () => {
    const { store, metrics, fence, journal } = await setup(4);
    journal.takeOver(fence);
    for (const s of killCycles()) journal.act(fence, decision(s));
    await journal.stop();
    await journalOf(store, 2);
    const next = new FailoverJournal({ store, nodeId: 'vigil-3', metrics, logger: silentLogger });
    const fence5: TermFence = { term: 5, mayAct: () => true };
    assert.equal((await store.raiseFence(5)).status, 'ok');
    next.takeOver(fence5);
    const recent = await waitFor(() => (next.recent().length >= 2 ? next.recent() : null), { timeoutMs: 2000, what: 'the stored entries read back' });
    assert.deepEqual(recent.map((e) => e.kind), ['vigil', 'partitions'], 'oldest first');
    assert.match(recent[0]?.summary ?? '', /^vigil vigil-1 → vigil-2 \(term 4\)/);
    assert.equal(recent[1]?.summary, 'broker 3 unreachable, then fenced: 1 partition moved, 1 led again within 1.0 s');
    assert.equal(recent[1]?.endMs, at(2));
    assert.equal((recent[1]?.detail['windows'] as unknown[]).length, 1, 'as the tracker made it');
    await next.stop();
  });
});

describe('GET /api/v1/failovers?kind= (issue 10 item 4)', () => {
  const server = new HttpServer({ logger: silentLogger });
  after(() => server.close());

  it('keeps the kinds asked for, newest first, then applies limit; 400 naming the kinds for an unknown one', async () => {
    const { store } = await setup(4);
    for (const [i, kind] of ['vigil', 'partitions', 'controller', 'partitions', 'controller'].entries()) {
      assert.equal((await store.appendFailover({ kind, timeMs: at(i), nodeId: 'vigil-2', term: 4, data: { summary: `${kind} ${i}`, detail: {} } })).status, 'ok');
    }
    registerFailoverRoute((method, path, handler) => server.route(method, path, handler), store);
    const port = (await server.listen('127.0.0.1', 0)).port;
    const summaries = async (query: string) => {
      const r = await get(port, `/api/v1/failovers${query}`);
      assert.equal(r.status, 200, r.text);
      return (JSON.parse(r.text).failovers as Array<{ summary: string }>).map((f) => f.summary);
    };
    assert.deepEqual(await summaries(''), ['controller 4', 'partitions 3', 'controller 2', 'partitions 1', 'vigil 0']);
    assert.deepEqual(await summaries('?kind=controller'), ['controller 4', 'controller 2']);
    assert.deepEqual(await summaries('?kind=vigil,partitions'), ['partitions 3', 'partitions 1', 'vigil 0']);
    assert.deepEqual(await summaries('?kind=partitions&limit=1'), ['partitions 3'], 'limit counts the entries of the kind');
    assert.deepEqual(await summaries(`?kind=partitions&since=${at(2)}`), ['partitions 3']);
    const bad = await get(port, '/api/v1/failovers?kind=leader');
    assert.equal(bad.status, 400, bad.text);
    assert.equal(JSON.parse(bad.text).error.code, 'BAD_REQUEST');
    assert.match(JSON.parse(bad.text).error.message, /^kind must be one or more of vigil, controller, partitions, comma-separated \(e\.g\. \?kind=controller,partitions\); got "leader"$/);
  });
});
