/**
 * The failover timeline's aggregation (src/monitor/failovers.ts, issue 10 item 4) on
 * synthetic snapshots taken on a fake clock, one a second: partition leader changes grouped
 * per cause with each partition's leaderless window and its bounds, KRaft controller
 * elections, and vigil's own elections as journal entries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ControllerQuorum } from '../../src/kafka/types';
import { type FailoverEntry, FailoverTracker, type PartitionWindow, vigilElectionEntry } from '../../src/monitor/failovers';
import type { BrokerState, PartitionState } from '../../src/monitor/snapshot';
import { describedQuorum } from '../fakes/memory-kafka';
import { broker, brokers, downBroker, partition, snapshot, T0, unreachableSnapshot } from '../fakes/snapshots';

/** A fake clock: snapshot n is taken at T0 + n s. */
const at = (s: number): number => T0 + s * 1000;

/** Six partitions of "orders" on brokers 1–3 (RF 3, leaders 1, 2, 3, 1, 2, 3) and "audit-0" on broker 3 alone. */
function healthy(): PartitionState[] {
  const out: PartitionState[] = [];
  for (let p = 0; p < 6; p++) {
    const lead = (p % 3) + 1;
    out.push(partition('orders', p, lead, [lead, (lead % 3) + 1, ((lead + 1) % 3) + 1]));
  }
  out.push(partition('audit', 0, 3, [3]));
  return out;
}

/** The same layout with broker 3's partitions led by `to` (the RF 1 one by `audit`). */
function without3(audit: number): PartitionState[] {
  return healthy().map((p) => (p.leader !== 3 ? p : p.topic === 'audit' ? { ...p, leader: audit, isr: audit < 0 ? [] : p.isr } : { ...p, leader: p.replicas[1] as number, isr: p.isr.filter((b) => b !== 3) }));
}

function feed(t: FailoverTracker, steps: ReadonlyArray<{ s: number; brokers?: BrokerState[]; partitions?: PartitionState[]; quorum?: ControllerQuorum; down?: boolean }>): FailoverEntry[] {
  const out: FailoverEntry[] = [];
  for (const step of steps) {
    const snap = step.down
      ? unreachableSnapshot(at(step.s))
      : snapshot({ takenAtMs: at(step.s), brokers: step.brokers ?? brokers(1, 2, 3), partitions: step.partitions ?? healthy(), ...(step.quorum ? { quorum: step.quorum } : {}) });
    out.push(...t.observe(snap));
  }
  return out;
}

const windows = (e: FailoverEntry | undefined): PartitionWindow[] => (e?.detail['windows'] ?? []) as PartitionWindow[];
const windowOf = (e: FailoverEntry | undefined, topic: string, p: number): PartitionWindow | undefined => windows(e).find((w) => w.topic === topic && w.partition === p);

describe('partition leader changes, per cause (issue 10 item 4)', () => {
  it('a killed broker: its partitions are leaderless from the first snapshot that finds it unreachable until another broker leads them, one entry for the lot', () => {
    const t = new FailoverTracker();
    const gone = broker(3, { inMetadata: false, reachable: false });
    const entries = feed(t, [
      { s: 0 },
      { s: 1, brokers: [broker(1), broker(2), downBroker(3, at(1))] }, // killed; the metadata still names it
      { s: 2, brokers: [broker(1), broker(2), downBroker(3, at(1))] },
      { s: 3, brokers: [broker(1), broker(2), gone], partitions: without3(-1) }, // fenced: moved; audit-0 offline
      ...[4, 5, 6, 7, 8, 9].map((s) => ({ s, brokers: [broker(1), broker(2), gone], partitions: without3(-1) })),
      { s: 10, brokers: brokers(1, 2, 3), partitions: without3(3) }, // back: it leads audit-0 again
    ]);
    assert.equal(t.leaderlessPartitions(), 0);
    assert.equal(entries.length, 1, JSON.stringify(entries));
    const e = entries[0];
    assert.equal(e?.kind, 'partitions');
    assert.equal(e?.from, 3);
    assert.deepEqual(e?.to, [1]);
    assert.equal(e?.reason, 'broker 3 unreachable, then fenced');
    assert.equal(e?.summary, 'broker 3 unreachable, then fenced: 2 partitions moved (1 led by the same broker again), 2 led again within 2.0 s, 1 offline for up to 9.0 s');
    assert.equal(e?.timeMs, at(1));
    assert.equal(e?.endMs, at(10));
    assert.equal(e?.leaderlessMs, 9000);
    assert.equal(e?.precisionMs, 1000, 'bounds known to within one poll interval');
    assert.deepEqual(windowOf(e, 'orders', 2), {
      topic: 'orders',
      partition: 2,
      from: 3,
      to: 1,
      offline: false,
      lostAfterMs: at(0),
      lostAtMs: at(1),
      ledAfterMs: at(2),
      ledAtMs: at(3),
      leaderlessMs: 2000,
      maxLeaderlessMs: 3000,
    });
    assert.deepEqual(
      windows(e).map((w) => `${w.topic}-${w.partition} ${w.from}→${w.to} ${w.leaderlessMs}${w.offline ? ' offline' : ''}`),
      ['audit-0 3→3 9000 offline', 'orders-2 3→1 2000', 'orders-5 3→1 2000'],
      'longest first',
    );
    assert.deepEqual({ ...e?.detail, windows: undefined }, { cause: 'broker:3', partitions: 3, moved: 2, offline: 1, stillLeaderless: 0, windows: undefined });
  });

  it('a snapshot that failed tells nothing: the bounds come from the snapshots around it', () => {
    const t = new FailoverTracker();
    const entries = feed(t, [
      { s: 0 },
      { s: 1, down: true },
      { s: 2, brokers: [broker(1), broker(2), downBroker(3, at(2))] },
      { s: 3, down: true },
      { s: 4, brokers: [broker(1), broker(2), broker(3, { inMetadata: false, reachable: false })], partitions: without3(1) },
    ]);
    const w = windowOf(entries[0], 'orders', 2);
    assert.deepEqual([w?.lostAfterMs, w?.lostAtMs, w?.ledAfterMs, w?.ledAtMs], [at(0), at(2), at(2), at(4)]);
    assert.equal(entries[0]?.precisionMs, 2000);
  });

  it('a preferred leader election between two snapshots: no leaderless snapshot, at most one poll interval; written a snapshot later, as one entry', () => {
    const t = new FailoverTracker();
    // broker 1's partitions led by their second replica (2), then given back to 1
    const away = healthy().map((p) => (p.leader === 1 ? { ...p, leader: 2 } : p));
    const entries = feed(t, [{ s: 0, partitions: away }, { s: 1 }]);
    assert.deepEqual(entries, [], 'not before a snapshot passed with nothing joining');
    const [e] = feed(t, [{ s: 2 }]);
    assert.equal(e?.reason, 'preferred leader election: broker 1 leads again');
    assert.equal(e?.summary, 'preferred leader election: broker 1 leads again: 2 partitions moved, 2 led again within 0.0 s');
    assert.deepEqual(e?.to, [1]);
    assert.equal(e?.leaderlessMs, 0);
    assert.deepEqual(windows(e).map((w) => [w.from, w.to, w.leaderlessMs, w.maxLeaderlessMs]), [
      [2, 1, 0, 1000],
      [2, 1, 0, 1000],
    ]);
  });

  it('a live broker handing leadership over (not to the preferred replica) is its own cause', () => {
    const t = new FailoverTracker();
    const moved = healthy().map((p) => (p.topic === 'orders' && p.leader === 1 ? { ...p, leader: 3 } : p));
    const [e] = feed(t, [{ s: 0 }, { s: 1, partitions: moved }, { s: 2, partitions: moved }]);
    assert.equal(e?.from, 1);
    assert.match(e?.reason ?? '', /^broker 1 handed leadership over while up/);
  });

  it('a broker vigil lost sight of that leads its partitions again: no leader changed, nothing written', () => {
    const t = new FailoverTracker();
    const entries = feed(t, [{ s: 0 }, { s: 1, brokers: [broker(1), broker(2), downBroker(3, at(1))] }, { s: 2 }, { s: 3 }]);
    assert.deepEqual(entries, []);
    assert.equal(t.leaderlessPartitions(), 0);
  });

  it('partitions still leaderless after maxOpenMs are written as such and continue in the next entry of the same cause', () => {
    const t = new FailoverTracker({ maxOpenMs: 5000 });
    const gone = broker(3, { inMetadata: false, reachable: false });
    const down = Array.from({ length: 7 }, (_, i) => ({ s: 1 + i, brokers: [broker(1), broker(2), gone], partitions: without3(-1) }));
    const first = feed(t, [{ s: 0 }, ...down]);
    assert.equal(first.length, 1);
    assert.equal(first[0]?.endMs, null);
    assert.equal(first[0]?.leaderlessMs, null);
    assert.equal(first[0]?.summary, 'broker 3 fenced (gone from the cluster metadata): 2 partitions moved, 2 led again within 0.0 s, 1 still leaderless after 5.0 s');
    assert.deepEqual(windowOf(first[0], 'audit', 0)?.ledAtMs, null);
    assert.equal(t.leaderlessPartitions(), 1);
    const second = feed(t, [{ s: 20, partitions: without3(3) }, { s: 21, partitions: without3(3) }]);
    assert.equal(second.length, 1);
    assert.equal(second[0]?.summary, 'broker 3 fenced (gone from the cluster metadata): 0 partitions moved (1 led by the same broker again), 1 offline for up to 19.0 s');
    assert.equal(windowOf(second[0], 'audit', 0)?.lostAtMs, at(1), 'the window keeps its start');
  });

  it('lists at most maxListed windows, longest first, and counts the rest', () => {
    const t = new FailoverTracker({ maxListed: 2 });
    const [e] = feed(t, [
      { s: 0 },
      { s: 1, brokers: [broker(1), broker(2), broker(3, { inMetadata: false, reachable: false })], partitions: without3(-1) },
      { s: 4, partitions: without3(3) },
    ]);
    assert.equal(windows(e).length, 2);
    assert.equal(e?.detail['windowsNotListed'], 1);
    assert.equal(windows(e)[0]?.topic, 'audit');
  });
});

describe('KRaft controller elections (issue 10 item 4)', () => {
  it('a new epoch is an entry: from, to, epochs, why, and the leaderless snapshots between', () => {
    const t = new FailoverTracker();
    const entries = feed(t, [
      { s: 0, quorum: describedQuorum([1, 2, 3], 1, at(0), { epoch: 5 }) },
      { s: 1, brokers: [downBroker(1, at(1)), broker(2), broker(3)], quorum: { state: 'unanswered', error: 'timed out' } },
      { s: 2, brokers: [downBroker(1, at(1)), broker(2), broker(3)], quorum: { state: 'described', leaderId: null, leaderEpoch: 6, highWatermark: null, voters: [], observers: [] } },
      { s: 3, brokers: [downBroker(1, at(1)), broker(2), broker(3)], quorum: describedQuorum([1, 2, 3], 2, at(3), { epoch: 6 }) },
      { s: 4, quorum: describedQuorum([1, 2, 3], 2, at(4), { epoch: 6 }) },
    ]).filter((e) => e.kind === 'controller');
    assert.equal(entries.length, 1);
    const e = entries[0];
    assert.equal(e?.from, 1);
    assert.equal(e?.to, 2);
    assert.equal(e?.timeMs, at(1));
    assert.equal(e?.endMs, at(3));
    assert.equal(e?.leaderlessMs, 2000);
    assert.equal(e?.precisionMs, 1000);
    assert.equal(e?.reason, 'controller 1 unreachable (its node is down or cut off)');
    assert.equal(e?.summary, 'KRaft controller 1 → 2 (epoch 5 → 6): controller 1 unreachable (its node is down or cut off); leaderless for 2.0 s');
    assert.deepEqual(e?.detail, {
      fromEpoch: 5,
      toEpoch: 6,
      window: { lostAfterMs: at(0), lostAtMs: at(1), ledAfterMs: at(2), ledAtMs: at(3), leaderlessMs: 2000, maxLeaderlessMs: 3000 },
    });
  });

  it('an election between two snapshots, with dedicated controllers: leaderless time under one poll interval; why from the new leader\'s view of the old', () => {
    const t = new FailoverTracker();
    const q = describedQuorum([3000, 3001, 3002], 3001, at(1), { epoch: 8 });
    const silent = { ...q, voters: q.voters.map((v) => (v.nodeId === 3000 ? { ...v, lastFetchMs: null, lastCaughtUpMs: null } : v)) };
    const [e] = feed(t, [{ s: 0, quorum: describedQuorum([3000, 3001, 3002], 3000, at(0), { epoch: 7 }) }, { s: 1, quorum: silent }]);
    assert.equal(e?.reason, 'controller 3000 has not fetched from the new leader (down or cut off)');
    assert.equal(e?.leaderlessMs, 0);
    assert.match(e?.summary ?? '', /no leaderless snapshot \(under 1\.0 s\)$/);
    const [resigned] = feed(t, [{ s: 2, quorum: describedQuorum([3000, 3001, 3002], 3002, at(2), { epoch: 9 }) }]);
    assert.equal(resigned?.reason, 'controller 3001 resigned or lost its quorum (it still runs and follows the new leader)');
  });

  it('the first description and an unobservable quorum write nothing', () => {
    const t = new FailoverTracker();
    const entries = feed(t, [
      { s: 0, quorum: { state: 'unobservable', cause: 'not-authorized', reason: 'no DESCRIBE on the cluster' } },
      { s: 1, quorum: describedQuorum([1, 2, 3], 2, at(1), { epoch: 3 }) },
      { s: 2, quorum: describedQuorum([1, 2, 3], 2, at(2), { epoch: 3 }) },
    ]);
    assert.deepEqual(entries, []);
  });
});

describe("vigil's own elections as journal entries (issue 10 item 4)", () => {
  it('names the previous leader, why the winner campaigned and how long nobody led', () => {
    const e = vigilElectionEntry({ term: 7, from: 'vigil-1', fromTerm: 6, to: 'vigil-2', reason: 'connection-lost', leaderlessMs: 41.6, campaigns: 1, electedAtMs: 5000, electedAtWallMs: at(10) });
    assert.deepEqual(e, {
      kind: 'vigil',
      timeMs: at(10) - 42,
      endMs: at(10),
      from: 'vigil-1',
      to: 'vigil-2',
      reason: "vigil-1's connection dropped (its process died)",
      leaderlessMs: 42,
      precisionMs: 0,
      summary: "vigil vigil-1 → vigil-2 (term 7): vigil-1's connection dropped (its process died); 42 ms without a leader",
      detail: { term: 7, fromTerm: 6, cause: 'connection-lost', campaigns: 1 },
    });
    const first = vigilElectionEntry({ term: 1, from: null, fromTerm: null, to: 'vigil-1', reason: 'start', leaderlessMs: null, campaigns: 2, electedAtMs: 1, electedAtWallMs: at(0) });
    assert.equal(first.summary, 'vigil (no leader known) → vigil-1 (term 1): no leader was known (replica start) (2 campaigns)');
  });
});
