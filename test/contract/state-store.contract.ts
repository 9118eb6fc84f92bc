/**
 * The StateStore contract (docs/design.md §6, STYLE habit 4): the same cases run against the
 * in-memory fake (test/unit/state-store-memory.test.ts) and the Redis adapter on a real
 * redis-server (test/integration/state-redis.test.ts).
 *
 * Each case works under its own cluster name, so cases never see each other's keys or
 * fence. The up/down case runs last: the fixture's backend comes back without its data.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Alert, Notification } from '../../src/alerting/types';
import { notificationId } from '../../src/alerting/types';
import { isVigilError } from '../../src/errors';
import type { ClaimResult, EventAppendResult, FailoverAppendResult, StateStore, StoreStatus } from '../../src/state/types';
import { waitFor } from '../harness/wait';

export interface StateStoreFixture {
  /** A new client (one replica's connection) for a cluster's keys; resolves once it is up. */
  open(cluster: string, opts?: { eventsMaxLen?: number; failoversMaxLen?: number }): Promise<StateStore>;
  /** The backend becomes unreachable. */
  stop(): Promise<void>;
  /** The backend returns, without the data it held (no persistence). */
  start(): Promise<void>;
  /** The backend loses all its data while it stays up and connected (FLUSHALL, eviction). */
  wipe(): Promise<void>;
  teardown(): Promise<void>;
}

/** A notification as decide would make it (docs/design.md §4), with its stable id. */
export function sampleNotification(key: string, status: 'firing' | 'resolved' = 'firing', startsAt = '2026-11-26T10:00:00.000Z'): Notification {
  const alert: Alert = {
    key,
    alert: 'ConsumerDeliveryLag',
    status,
    severity: 'critical',
    cluster: 'local',
    group: 'orders-svc',
    topic: 'orders',
    partitions: [0, 3],
    lagSeconds: 12.4,
    threshold: 10,
    cause: 'consumer',
    summary: 'orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy',
    startsAt,
    endsAt: status === 'resolved' ? '2026-11-26T10:05:00.000Z' : null,
  };
  return { id: notificationId(alert), alert };
}

function statusOf(r: ClaimResult): string {
  return r.status;
}

/** The stream id of an event that was appended (fails the test when it was fenced). */
function appended(r: EventAppendResult): string {
  assert.equal(r.status, 'ok', `event refused: ${JSON.stringify(r)}`);
  return (r as { id: string }).id;
}

/** The id of a failover entry that was appended (fails the test when it was fenced). */
function added(r: FailoverAppendResult): string {
  assert.equal(r.status, 'ok', `failover entry refused: ${JSON.stringify(r)}`);
  return (r as { id: string }).id;
}

export function stateStoreContract(name: string, setup: () => Promise<StateStoreFixture>): void {
  describe(`StateStore contract: ${name}`, () => {
    let fx: StateStoreFixture;
    let seq = 0;
    const cluster = (label: string): string => `${label}-${++seq}`;
    const now = (): number => Date.now();

    before(async () => {
      fx = await setup();
    });
    after(async () => {
      await fx?.teardown();
    });

    it('the fence refuses a lower term and rises with a higher one, also on every fenced write (docs/design.md §6)', async () => {
      const s = await fx.open(cluster('fence'));
      assert.equal(await s.fenceTerm(), 0);
      assert.deepEqual(await s.raiseFence(3), { status: 'ok', fenceTerm: 3 });
      assert.deepEqual(await s.raiseFence(3), { status: 'ok', fenceTerm: 3 });
      assert.deepEqual(await s.raiseFence(2), { status: 'fenced', fenceTerm: 3 });
      assert.deepEqual(await s.raiseFence(5), { status: 'ok', fenceTerm: 5 });
      assert.equal(await s.fenceTerm(), 5);
      // a fenced write with a stale term is a result, not an exception, and changes nothing
      assert.deepEqual(await s.writeAlertState({ term: 4, key: 'core', data: { a: 1 }, nowMs: now() }), { status: 'fenced', fenceTerm: 5 });
      assert.equal(await s.readAlertState('core'), undefined);
      // a fenced write with a higher term raises the fence
      assert.equal((await s.writeAlertState({ term: 7, key: 'core', data: { a: 1 }, nowMs: now() })).status, 'ok');
      assert.equal(await s.fenceTerm(), 7);
      assert.deepEqual(await s.raiseFence(6), { status: 'fenced', fenceTerm: 7 });
    });

    it('a deposed leader\'s write with an old term is rejected by the fence once the new leader raised it (issue 4)', async () => {
      const c = cluster('deposed');
      const oldLeader = await fx.open(c);
      const newLeader = await fx.open(c);
      assert.equal((await oldLeader.raiseFence(4)).status, 'ok');
      assert.equal((await oldLeader.writeWarmState({ term: 4, data: { from: 'old' }, nowMs: now() })).status, 'ok');
      assert.equal((await newLeader.raiseFence(5)).status, 'ok');
      const n = sampleNotification('local/ConsumerDeliveryLag/g/t');
      const writes = await Promise.all([
        oldLeader.writeWarmState({ term: 4, data: { from: 'old, late' }, nowMs: now() }),
        oldLeader.writeAlertState({ term: 4, key: 'core', data: {}, nowMs: now() }),
        oldLeader.deleteAlertState(4, 'core'),
        oldLeader.claimNotification({ term: 4, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: now() }),
        oldLeader.settleNotification({ term: 4, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: now(), outcome: 'delivered' }),
        oldLeader.appendJournal({ term: 4, nodeId: 'vigil-1', planId: 'p1', timeMs: now(), entry: { step: 1 } }),
        oldLeader.appendEvent({ type: 'alert-firing', timeMs: now(), nodeId: 'vigil-1', term: 4 }),
      ]);
      for (const w of writes) assert.deepEqual(w, { status: 'fenced', fenceTerm: 5 });
      assert.deepEqual((await newLeader.readWarmState())?.data, { from: 'old' });
      assert.equal(await newLeader.readOutboxEntry(n.id), undefined);
      assert.deepEqual(await newLeader.readJournal('p1'), []);
      assert.deepEqual(await newLeader.readEvents(), []);
    });

    it('two clients claiming the same notification concurrently in one term: exactly one wins (docs/design.md §4)', async () => {
      const c = cluster('race');
      const a = await fx.open(c);
      const b = await fx.open(c);
      for (let i = 0; i < 10; i++) {
        const n = sampleNotification(`local/BrokerUnreachable/${i}`);
        const [ra, rb] = await Promise.all([
          a.claimNotification({ term: 3, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: now() }),
          b.claimNotification({ term: 3, owner: 'vigil-2', notification: n, channel: 'webhook-0', nowMs: now() }),
        ]);
        assert.deepEqual([statusOf(ra), statusOf(rb)].sort(), ['claimed', 'held'], `notification ${i}`);
        const winner = ra.status === 'claimed' ? 'vigil-1' : 'vigil-2';
        const loser = ra.status === 'claimed' ? rb : ra;
        assert.deepEqual(loser, { status: 'held', holder: { term: 3, owner: winner } });
      }
    });

    it('two leaders of different terms racing for one notification: only the higher term can record it', async () => {
      const c = cluster('race-terms');
      const a = await fx.open(c);
      const b = await fx.open(c);
      const n = sampleNotification('local/PartitionOffline/orders');
      const base = { notification: n, channel: 'slack-1', nowMs: now() };
      const [ra, rb] = await Promise.all([
        a.claimNotification({ ...base, term: 8, owner: 'vigil-1' }),
        b.claimNotification({ ...base, term: 9, owner: 'vigil-2' }),
      ]);
      assert.equal(rb.status, 'claimed');
      assert.ok(ra.status === 'claimed' || ra.status === 'fenced', `lower term: ${ra.status}`);
      const [sa, sb] = await Promise.all([
        a.settleNotification({ ...base, term: 8, owner: 'vigil-1', outcome: 'delivered' }),
        b.settleNotification({ ...base, term: 9, owner: 'vigil-2', outcome: 'delivered' }),
      ]);
      assert.deepEqual(sa, { status: 'fenced', fenceTerm: 9 });
      assert.deepEqual(sb, { status: 'settled' });
    });

    it('a claim from a lower term is taken over by a higher term only while undelivered', async () => {
      const s = await fx.open(cluster('takeover'));
      const n1 = sampleNotification('local/ConsumerStalled/g/t');
      const n2 = sampleNotification('local/ConsumerStalled/g/u');
      const at = now();
      for (const n of [n1, n2]) {
        const r = await s.claimNotification({ term: 1, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: at });
        assert.deepEqual(r, { status: 'claimed', fenceTerm: 1, attempt: 1 });
      }
      // n1: leader 1 delivered it before dying; n2: it did not
      assert.deepEqual(
        await s.settleNotification({ term: 1, owner: 'vigil-1', notification: n1, channel: 'webhook-0', nowMs: at + 1, outcome: 'delivered' }),
        { status: 'settled' },
      );
      assert.deepEqual(await s.claimNotification({ term: 2, owner: 'vigil-2', notification: n1, channel: 'webhook-0', nowMs: at + 2 }), {
        status: 'done',
        outcome: 'delivered',
        by: { term: 1, owner: 'vigil-1' },
      });
      assert.deepEqual(await s.claimNotification({ term: 2, owner: 'vigil-2', notification: n2, channel: 'webhook-0', nowMs: at + 2 }), {
        status: 'claimed',
        fenceTerm: 2,
        attempt: 2,
        takenOverFrom: { term: 1, owner: 'vigil-1' },
      });
      // the same owner claiming again (a retry after a failed send) is not a takeover
      assert.deepEqual(await s.claimNotification({ term: 2, owner: 'vigil-2', notification: n2, channel: 'webhook-0', nowMs: at + 3 }), {
        status: 'claimed',
        fenceTerm: 2,
        attempt: 3,
      });
      // another channel of the same notification is independent
      assert.equal((await s.claimNotification({ term: 2, owner: 'vigil-2', notification: n1, channel: 'pagerduty-1', nowMs: at + 3 })).status, 'claimed');
      const entry = await s.readOutboxEntry(n2.id);
      assert.deepEqual(entry?.notification, n2);
      assert.deepEqual(entry?.channels['webhook-0'], { state: 'claimed', holder: { term: 2, owner: 'vigil-2' }, claimedAtMs: at + 3, attempts: 3 });
      assert.equal(entry?.createdAtMs, at);
    });

    it('settling with a stale term is fenced and leaves the claim pending for the new leader', async () => {
      const c = cluster('late-mark');
      const a = await fx.open(c);
      const b = await fx.open(c);
      const n = sampleNotification('local/ConsumerDeliveryLag/g/t');
      assert.equal((await a.claimNotification({ term: 1, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: now() })).status, 'claimed');
      assert.equal((await b.raiseFence(2)).status, 'ok');
      assert.deepEqual(
        await a.settleNotification({ term: 1, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: now(), outcome: 'delivered' }),
        { status: 'fenced', fenceTerm: 2 },
      );
      const pending = await b.pendingNotifications();
      assert.equal(pending.length, 1);
      assert.deepEqual(pending[0]?.notification, n);
      assert.equal(pending[0]?.channel, 'webhook-0');
      assert.deepEqual(pending[0]?.holder, { term: 1, owner: 'vigil-1' });
    });

    it('checkClaim (the pre-send check, issue 8): ours only while claimed by us in our term, unsettled and not fenced; it never raises the fence', async () => {
      const c = cluster('check-claim');
      const a = await fx.open(c);
      const b = await fx.open(c);
      const n = sampleNotification('local/KafkaUnreachable/check');
      const mine = { term: 1, owner: 'vigil-1', notificationId: n.id, channel: 'webhook-0' };
      assert.deepEqual(await a.checkClaim(mine), { status: 'lost' }, 'no claim yet');
      assert.equal((await a.claimNotification({ term: 1, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: now() })).status, 'claimed');
      assert.deepEqual(await a.checkClaim(mine), { status: 'claimed' });
      assert.deepEqual(await a.checkClaim({ ...mine, owner: 'vigil-2' }), { status: 'lost', holder: { term: 1, owner: 'vigil-1' } });
      assert.deepEqual(await a.checkClaim({ ...mine, channel: 'pagerduty-1' }), { status: 'lost' }, 'channels are independent');
      // a check with a higher term is read-only: the fence stays where the claim put it
      assert.deepEqual(await a.checkClaim({ ...mine, term: 7 }), { status: 'lost', holder: { term: 1, owner: 'vigil-1' } });
      assert.equal(await a.fenceTerm(), 1);

      // term 2 takes it over and settles it; the term-1 claim is fenced, and a term-3 leader
      // (the same node, re-elected) checking its old term-1 claim is fenced too
      assert.equal((await b.raiseFence(2)).status, 'ok');
      assert.deepEqual(await a.checkClaim(mine), { status: 'fenced', fenceTerm: 2 });
      assert.equal((await b.claimNotification({ term: 2, owner: 'vigil-2', notification: n, channel: 'webhook-0', nowMs: now() })).status, 'claimed');
      assert.deepEqual(await b.checkClaim({ ...mine, term: 2, owner: 'vigil-2' }), { status: 'claimed' });
      assert.deepEqual(
        await b.settleNotification({ term: 2, owner: 'vigil-2', notification: n, channel: 'webhook-0', nowMs: now(), outcome: 'delivered' }),
        { status: 'settled' },
      );
      assert.deepEqual(await b.checkClaim({ ...mine, term: 2, owner: 'vigil-2' }), { status: 'done', outcome: 'delivered', by: { term: 2, owner: 'vigil-2' } });
      assert.equal((await a.raiseFence(3)).status, 'ok');
      assert.deepEqual(await a.checkClaim(mine), { status: 'fenced', fenceTerm: 3 });
    });

    it('pending lists claimed, unsettled work oldest first; settled and rejected work is not pending', async () => {
      const s = await fx.open(cluster('pending'));
      const t0 = now();
      const ns = [0, 1, 2, 3].map((i) => sampleNotification(`local/BrokerUnreachable/${i}`));
      for (const [i, n] of ns.entries()) {
        assert.equal((await s.claimNotification({ term: 1, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: t0 + 10 - i })).status, 'claimed');
      }
      await s.settleNotification({ term: 1, owner: 'vigil-1', notification: ns[1] as Notification, channel: 'webhook-0', nowMs: t0 + 20, outcome: 'delivered' });
      await s.settleNotification({ term: 1, owner: 'vigil-1', notification: ns[2] as Notification, channel: 'webhook-0', nowMs: t0 + 20, outcome: 'rejected' });
      const pending = await s.pendingNotifications();
      assert.deepEqual(pending.map((p) => p.notification.id), [ns[3]?.id, ns[0]?.id]);
      assert.deepEqual(await s.claimNotification({ term: 1, owner: 'vigil-1', notification: ns[2] as Notification, channel: 'webhook-0', nowMs: t0 + 30 }), {
        status: 'done',
        outcome: 'rejected',
        by: { term: 1, owner: 'vigil-1' },
      });
      // a second settle reports the first
      assert.deepEqual(
        await s.settleNotification({ term: 1, owner: 'vigil-2', notification: ns[1] as Notification, channel: 'webhook-0', nowMs: t0 + 40, outcome: 'delivered' }),
        { status: 'done', outcome: 'delivered', by: { term: 1, owner: 'vigil-1' } },
      );
    });

    it('a delivery settled without a claim (made while Redis was down) is recorded and then done', async () => {
      const s = await fx.open(cluster('settle-only'));
      const n = sampleNotification('local/KafkaUnreachable/cluster');
      const at = now();
      assert.deepEqual(await s.settleNotification({ term: 4, owner: 'vigil-3', notification: n, channel: 'webhook-0', nowMs: at, outcome: 'delivered' }), {
        status: 'settled',
      });
      const entry = await s.readOutboxEntry(n.id);
      assert.deepEqual(entry?.channels['webhook-0'], { state: 'delivered', holder: { term: 4, owner: 'vigil-3' }, settledAtMs: at, attempts: 0 });
      assert.equal((await s.claimNotification({ term: 5, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: at })).status, 'done');
      assert.deepEqual(await s.pendingNotifications(), []);
    });

    it('pruning forgets notifications first claimed before the cutoff, pending ones included', async () => {
      const s = await fx.open(cluster('prune'));
      const t0 = now();
      const old1 = sampleNotification('local/a/1');
      const old2 = sampleNotification('local/a/2');
      const fresh = sampleNotification('local/a/3');
      await s.claimNotification({ term: 1, owner: 'vigil-1', notification: old1, channel: 'webhook-0', nowMs: t0 - 5000 });
      await s.settleNotification({ term: 1, owner: 'vigil-1', notification: old1, channel: 'webhook-0', nowMs: t0 - 4000, outcome: 'delivered' });
      await s.claimNotification({ term: 1, owner: 'vigil-1', notification: old2, channel: 'webhook-0', nowMs: t0 - 5000 });
      await s.claimNotification({ term: 1, owner: 'vigil-1', notification: fresh, channel: 'webhook-0', nowMs: t0 });
      assert.equal(await s.pruneOutbox(t0 - 1000), 2);
      assert.equal(await s.readOutboxEntry(old1.id), undefined);
      assert.equal(await s.readOutboxEntry(old2.id), undefined);
      assert.deepEqual((await s.pendingNotifications()).map((p) => p.notification.id), [fresh.id]);
      assert.equal(await s.pruneOutbox(t0 - 1000), 0);
    });

    it('alert state round-trips as opaque JSON with a version, compare-and-set and fencing', async () => {
      const s = await fx.open(cluster('alerts'));
      const doc = { alerts: { 'local/ConsumerDeliveryLag/g/t': { status: 'firing', since: 1, text: 'a "quoted" / slashed \u00e9 value' } }, n: 0.1 };
      assert.deepEqual(await s.writeAlertState({ term: 2, key: 'core', data: doc, nowMs: 1000 }), { status: 'ok', version: 1 });
      assert.deepEqual(await s.readAlertState('core'), { version: 1, term: 2, updatedAtMs: 1000, data: doc });
      assert.deepEqual(await s.writeAlertState({ term: 2, key: 'core', data: { n: 2 }, nowMs: 2000, expectedVersion: 1 }), { status: 'ok', version: 2 });
      assert.deepEqual(await s.writeAlertState({ term: 2, key: 'core', data: { n: 3 }, nowMs: 3000, expectedVersion: 1 }), { status: 'conflict', version: 2 });
      assert.deepEqual(await s.writeAlertState({ term: 3, key: 'other', data: [1, 2], nowMs: 3000, expectedVersion: 0 }), { status: 'ok', version: 1 });
      assert.deepEqual(await s.writeAlertState({ term: 2, key: 'core', data: { n: 4 }, nowMs: 4000 }), { status: 'fenced', fenceTerm: 3 });
      const all = await s.readAlertStates();
      assert.deepEqual([...all.keys()].sort(), ['core', 'other']);
      assert.deepEqual(all.get('core'), { version: 2, term: 2, updatedAtMs: 2000, data: { n: 2 } });
      assert.deepEqual(await s.deleteAlertState(2, 'core'), { status: 'fenced', fenceTerm: 3 });
      assert.deepEqual(await s.deleteAlertState(3, 'core'), { status: 'ok', deleted: true });
      assert.deepEqual(await s.deleteAlertState(3, 'core'), { status: 'ok', deleted: false });
      assert.equal(await s.readAlertState('core'), undefined);
      assert.deepEqual(await s.writeAlertState({ term: 3, key: 'core', data: null, nowMs: 5000, expectedVersion: 0 }), { status: 'ok', version: 1 });
      assert.deepEqual((await s.readAlertState('core'))?.data, null);
    });

    it('the remediation journal appends in order and refuses a stale term', async () => {
      const s = await fx.open(cluster('journal'));
      const t0 = now();
      assert.deepEqual(await s.appendJournal({ term: 2, nodeId: 'vigil-1', planId: 'plan-a', timeMs: t0, entry: { step: 'reorder', ok: true } }), { status: 'ok', seq: 1 });
      assert.deepEqual(await s.appendJournal({ term: 2, nodeId: 'vigil-1', planId: 'plan-a', timeMs: t0 + 1, entry: { step: 'elect' } }), { status: 'ok', seq: 2 });
      assert.deepEqual(await s.appendJournal({ term: 3, nodeId: 'vigil-2', planId: 'plan-b', timeMs: t0 + 2, entry: 'x' }), { status: 'ok', seq: 1 });
      assert.deepEqual(await s.appendJournal({ term: 2, nodeId: 'vigil-1', planId: 'plan-a', timeMs: t0 + 3, entry: { step: 'late' } }), { status: 'fenced', fenceTerm: 3 });
      assert.deepEqual(await s.readJournal('plan-a'), [
        { seq: 1, term: 2, nodeId: 'vigil-1', timeMs: t0, entry: { step: 'reorder', ok: true } },
        { seq: 2, term: 2, nodeId: 'vigil-1', timeMs: t0 + 1, entry: { step: 'elect' } },
      ]);
      assert.equal(await s.pruneJournals(t0 + 2), 1);
      assert.deepEqual(await s.readJournal('plan-a'), []);
      assert.equal((await s.readJournal('plan-b')).length, 1);
    });

    it('warm state round-trips and is fenced', async () => {
      const s = await fx.open(cluster('warm'));
      assert.equal(await s.readWarmState(), undefined);
      assert.deepEqual(await s.writeWarmState({ term: 1, data: { history: [1, 2, 3] }, nowMs: 10 }), { status: 'ok', version: 1 });
      assert.deepEqual(await s.writeWarmState({ term: 2, data: { history: [4] }, nowMs: 20 }), { status: 'ok', version: 2 });
      assert.deepEqual(await s.writeWarmState({ term: 1, data: {}, nowMs: 30 }), { status: 'fenced', fenceTerm: 2 });
      assert.deepEqual(await s.readWarmState(), { version: 2, term: 2, updatedAtMs: 20, data: { history: [4] } });
    });

    it('the events stream keeps events in order and is readable since an id or a time', async () => {
      const s = await fx.open(cluster('events'));
      const t0 = now();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(appended(await s.appendEvent({ type: i % 2 ? 'leader-elected' : 'notification-delivered', timeMs: t0 + i, nodeId: 'vigil-1', term: 3, data: { i } })));
      }
      const all = await s.readEvents();
      assert.deepEqual(all.map((e) => e.id), ids);
      assert.deepEqual(all[1], { id: ids[1], type: 'leader-elected', timeMs: t0 + 1, nodeId: 'vigil-1', term: 3, data: { i: 1 } });
      assert.deepEqual((await s.readEvents({ afterId: ids[2] })).map((e) => e.id), ids.slice(3));
      assert.deepEqual((await s.readEvents({ afterId: ids[4] })).map((e) => e.id), []);
      assert.deepEqual((await s.readEvents({ limit: 2 })).map((e) => e.id), ids.slice(3), 'without a start: the newest');
      assert.deepEqual((await s.readEvents({ afterId: ids[0], limit: 2 })).map((e) => e.id), ids.slice(1, 3));
      const firstMs = Number((ids[0] as string).split('-')[0]);
      const lastMs = Number((ids[4] as string).split('-')[0]);
      assert.deepEqual((await s.readEvents({ sinceMs: firstMs })).map((e) => e.id), ids);
      assert.deepEqual((await s.readEvents({ sinceMs: lastMs + 1 })).map((e) => e.id), []);
      assert.ok((await s.readEvents({ sinceMs: lastMs })).some((e) => e.id === ids[4]));
      // an event without data reads back as null data
      const id = appended(await s.appendEvent({ type: 'redis-up', timeMs: t0, nodeId: 'vigil-2', term: 3 }));
      assert.equal((await s.readEvents({ afterId: ids[4] }))[0]?.id, id);
      assert.equal((await s.readEvents({ afterId: ids[4] }))[0]?.data, null);
    });

    it('the events stream is capped: old events are trimmed, the newest kept', async () => {
      const cap = 50;
      const s = await fx.open(cluster('events-cap'), { eventsMaxLen: cap });
      const ids: string[] = [];
      for (let i = 0; i < 600; i++) ids.push(appended(await s.appendEvent({ type: 'tick', timeMs: i, nodeId: 'vigil-1', term: 1, data: i })));
      const kept = await s.readEvents({ limit: 10_000 });
      // Redis trims whole stream nodes (MAXLEN ~, 100 entries a node): within one node of the cap
      assert.ok(kept.length >= cap && kept.length <= cap + 100, `kept ${kept.length} of 600 with cap ${cap}`);
      assert.equal(kept[kept.length - 1]?.id, ids[599]);
      assert.ok(!kept.some((e) => e.id === ids[0]), 'the oldest event is gone');
      assert.deepEqual(kept.map((e) => e.data), ids.slice(600 - kept.length).map((_, i) => 600 - kept.length + i));
    });

    it('events are fenced like every other write: a lower term is refused and not stored, a higher one raises the fence (issue 8)', async () => {
      const c = cluster('events-fenced');
      const oldLeader = await fx.open(c);
      const newLeader = await fx.open(c);
      const t0 = now();
      appended(await oldLeader.appendEvent({ type: 'alert-firing', timeMs: t0, nodeId: 'vigil-1', term: 4, data: { key: 'k' } }));
      assert.equal(await newLeader.fenceTerm(), 4, 'an event raises the fence to its term');
      assert.equal((await newLeader.raiseFence(5)).status, 'ok');
      assert.deepEqual(await oldLeader.appendEvent({ type: 'alert-resolved', timeMs: t0 + 1, nodeId: 'vigil-1', term: 4, data: { key: 'k' } }), {
        status: 'fenced',
        fenceTerm: 5,
      });
      appended(await newLeader.appendEvent({ type: 'leader-elected', timeMs: t0 + 2, nodeId: 'vigil-2', term: 5 }));
      assert.deepEqual(
        (await newLeader.readEvents()).map((e) => [e.type, e.nodeId, e.term]),
        [
          ['alert-firing', 'vigil-1', 4],
          ['leader-elected', 'vigil-2', 5],
        ],
      );
    });

    it('the failover journal keeps entries newest first, readable with a limit, since an id and since a time (issue 10 item 4)', async () => {
      const s = await fx.open(cluster('failovers'));
      assert.deepEqual(await s.readFailovers(), []);
      const t0 = 1_767_225_600_000;
      const ids: string[] = [];
      // appended in the order their changes ended; the third happened before the second
      for (const [i, at] of [0, 10_000, 5_000, 20_000].entries()) {
        ids.push(added(await s.appendFailover({ kind: i % 2 ? 'controller' : 'partitions', timeMs: t0 + at, nodeId: 'vigil-1', term: 3, data: { i, cause: 'broker 3 unreachable' } })));
      }
      assert.equal(ids[0], `${t0}-1`, 'ids are "<time>-<seq>"');
      const all = await s.readFailovers();
      assert.deepEqual(all.map((f) => f.id), [...ids].reverse(), 'newest first');
      assert.deepEqual(all[3], { id: ids[0], kind: 'partitions', timeMs: t0, nodeId: 'vigil-1', term: 3, data: { i: 0, cause: 'broker 3 unreachable' } });
      assert.deepEqual((await s.readFailovers({ limit: 2 })).map((f) => f.id), [ids[3], ids[2]]);
      assert.deepEqual((await s.readFailovers({ afterId: ids[1] })).map((f) => f.id), [ids[3], ids[2]]);
      assert.deepEqual((await s.readFailovers({ afterId: ids[3] })).map((f) => f.id), []);
      assert.deepEqual((await s.readFailovers({ sinceMs: t0 + 5_000 })).map((f) => f.id), [ids[3], ids[2], ids[1]], 'by the time of the change, not the order of appends');
      assert.deepEqual((await s.readFailovers({ sinceMs: t0 + 5_000, limit: 1 })).map((f) => f.id), [ids[3]]);
      // no data reads back as null
      const id = added(await s.appendFailover({ kind: 'vigil', timeMs: t0, nodeId: 'vigil-2', term: 3, data: undefined }));
      assert.equal((await s.readFailovers({ limit: 1 }))[0]?.id, id);
      assert.equal((await s.readFailovers({ limit: 1 }))[0]?.data, null);
    });

    it('the failover journal is capped: beyond the cap the oldest entries are dropped', async () => {
      const s = await fx.open(cluster('failovers-cap'), { failoversMaxLen: 5 });
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(added(await s.appendFailover({ kind: 'partitions', timeMs: 1000 + i, nodeId: 'vigil-1', term: 1, data: { i } })));
      const kept = await s.readFailovers({ limit: 10_000 });
      assert.deepEqual(kept.map((f) => f.id), ids.slice(7).reverse());
      assert.deepEqual(kept.map((f) => f.data), [11, 10, 9, 8, 7].map((i) => ({ i })));
    });

    it('the failover journal is fenced: a deposed leader\'s entry is refused and not stored; the new leader\'s is (issue 10 item 4)', async () => {
      const c = cluster('failovers-fenced');
      const oldLeader = await fx.open(c);
      const newLeader = await fx.open(c);
      const t0 = now();
      added(await oldLeader.appendFailover({ kind: 'partitions', timeMs: t0, nodeId: 'vigil-1', term: 4, data: { n: 1 } }));
      assert.equal(await newLeader.fenceTerm(), 4, 'an append raises the fence to its term');
      assert.equal((await newLeader.raiseFence(5)).status, 'ok');
      assert.deepEqual(await oldLeader.appendFailover({ kind: 'partitions', timeMs: t0 + 1, nodeId: 'vigil-1', term: 4, data: { n: 2 } }), { status: 'fenced', fenceTerm: 5 });
      added(await newLeader.appendFailover({ kind: 'vigil', timeMs: t0 + 2, nodeId: 'vigil-2', term: 5, data: { from: 'vigil-1', to: 'vigil-2' } }));
      assert.deepEqual(
        (await newLeader.readFailovers()).map((f) => [f.kind, f.nodeId, f.term]),
        [
          ['vigil', 'vigil-2', 5],
          ['partitions', 'vigil-1', 4],
        ],
      );
    });

    it('data wiped while the backend stays up (FLUSHALL, eviction) is reported as lost and the fence restored (issue 8)', async () => {
      const s = await fx.open(cluster('wipe'));
      const changes: StoreStatus[] = [];
      s.onStatus((st) => changes.push(st));
      assert.equal((await s.raiseFence(6)).status, 'ok');
      assert.equal((await s.writeAlertState({ term: 6, key: 'core', data: { open: 1 }, nowMs: now() })).status, 'ok');
      await fx.wipe();
      await waitFor(() => changes.some((c) => c.up && c.dataLost), { timeoutMs: 20_000, what: 'the store to report its data lost' });
      assert.ok(s.isUp());
      assert.equal(await s.readAlertState('core'), undefined);
      // the lost fence is back from the highest term this client saw: no deposed leader gets in
      assert.equal(await s.fenceTerm(), 6);
      assert.deepEqual(await s.raiseFence(5), { status: 'fenced', fenceTerm: 6 });
    });

    it('a read-only checkClaim with a higher term is not remembered: a restored fence never rises to it (regression: the fence rose to the checked term within a probe interval)', async () => {
      const s = await fx.open(cluster('check-wipe'));
      const changes: StoreStatus[] = [];
      s.onStatus((st) => changes.push(st));
      const n = sampleNotification('local/KafkaUnreachable/check-wipe');
      assert.equal((await s.claimNotification({ term: 2, owner: 'vigil-1', notification: n, channel: 'webhook-0', nowMs: now() })).status, 'claimed');
      assert.deepEqual(await s.checkClaim({ term: 9, owner: 'vigil-1', notificationId: n.id, channel: 'webhook-0' }), {
        status: 'lost',
        holder: { term: 2, owner: 'vigil-1' },
      });
      // the restore that follows a wipe puts back the highest term a write presented
      await fx.wipe();
      await waitFor(() => changes.some((c) => c.up && c.dataLost), { timeoutMs: 20_000, what: 'the store to report its data lost' });
      assert.equal(await s.fenceTerm(), 2);
      assert.equal((await s.raiseFence(3)).status, 'ok');
    });

    it('while the backend is down every call fails fast with REDIS_UNAVAILABLE; back up, the fence is restored and data loss reported', async () => {
      const s = await fx.open(cluster('down'));
      const changes: StoreStatus[] = [];
      s.onStatus((st) => changes.push(st));
      assert.equal((await s.raiseFence(6)).status, 'ok');
      await fx.stop();
      await waitFor(() => !s.isUp(), { timeoutMs: 20_000, what: 'the store to report down' });
      for (const call of [() => s.fenceTerm(), () => s.raiseFence(7), () => s.readEvents(), () => s.pendingNotifications()]) {
        await assert.rejects(call, (err: unknown) => isVigilError(err) && err.code === 'REDIS_UNAVAILABLE' && err.retriable);
      }
      assert.deepEqual(changes, [{ up: false, dataLost: false }]);
      await fx.start();
      await waitFor(() => s.isUp(), { timeoutMs: 30_000, what: 'the store to report up again' });
      assert.deepEqual(changes, [
        { up: false, dataLost: false },
        { up: true, dataLost: true },
      ]);
      // The fence came back from the highest term this client presented (7, while down: a
      // leader elected during the outage) or saw: the lost fence cannot let a deposed leader in.
      assert.equal(await s.fenceTerm(), 7);
      assert.deepEqual(await s.raiseFence(6), { status: 'fenced', fenceTerm: 7 });
    });
  });
}
