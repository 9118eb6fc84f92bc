/**
 * The election driver (docs/design.md §2 "a driver owns timers, persistence and transport") on a
 * manual clock and an in-memory network: persist before send, no send after a failed
 * persist, restart from the persisted term, isLeader() from the lease, guarded actions,
 * role-change notifications and metrics, transfer, and fast crash detection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ElectionDriver } from '../../src/election/driver';
import { MemoryHardStateStore } from '../../src/election/storage';
import { MemoryNetwork } from '../../src/election/transport/memory';
import type { HardState, Message, NodeId } from '../../src/election/types';
import { silentLogger } from '../../src/log';
import { createMetrics, type Metrics } from '../../src/metrics';
import { ManualTime as SharedManualTime } from '../fakes/manual-time';

const T = 400;
const H = 100;

/** The shared manual clock; every timer that fires here is followed by delivering the network. */
class ManualTime extends SharedManualTime {
  afterEach: () => void = () => undefined;
  override advance(ms: number, each: (nowMs: number) => void = () => undefined): void {
    super.advance(ms, (nowMs) => {
      this.afterEach();
      each(nowMs);
    });
  }
}

/** Deterministic [0, 1) per node. */
function seeded(seed: number): () => number {
  let x = seed * 2654435761 + 1;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

interface Group {
  time: ManualTime;
  net: MemoryNetwork;
  drivers: Map<NodeId, ElectionDriver>;
  stores: Map<NodeId, MemoryHardStateStore>;
  metrics: Map<NodeId, Metrics>;
  trace: string[];
  fatal: Map<NodeId, unknown>;
  leaders(): NodeId[];
  start(id: NodeId, hard?: HardState): ElectionDriver;
}

function group(ids: NodeId[]): Group {
  const time = new ManualTime(1000);
  const net = new MemoryNetwork(ids);
  time.afterEach = () => net.deliverAll();
  const g: Group = {
    time,
    net,
    drivers: new Map(),
    stores: new Map(),
    metrics: new Map(),
    trace: [],
    fatal: new Map(),
    leaders: () => [...g.drivers.entries()].filter(([, d]) => d.isLeader()).map(([id]) => id),
    start(id, hard) {
      const base = new MemoryHardStateStore(hard ?? g.stores.get(id)?.load());
      // Record saves and sends in one trace, to check their order.
      const store = Object.assign(Object.create(base) as MemoryHardStateStore, {
        save(state: HardState) {
          base.save(state);
          g.trace.push(`${id} save ${state.term} ${state.votedFor}`);
        },
        load: () => base.load(),
      });
      g.stores.set(id, base);
      const transport = net.transportFor(id);
      const send = transport.send.bind(transport);
      transport.send = (to: NodeId, m: Message) => {
        g.trace.push(`${id} send ${to} ${JSON.stringify(m)}`);
        send(to, m);
      };
      const metrics = createMetrics({ nodeId: id, cluster: 't' });
      g.metrics.set(id, metrics);
      const d = new ElectionDriver({
        id,
        members: ids,
        timing: { heartbeatIntervalMs: H, electionTimeoutMs: T },
        store,
        transport,
        logger: silentLogger,
        metrics,
        clock: time,
        timers: time,
        random: seeded(ids.indexOf(id) + 1),
        onFatal: (err) => g.fatal.set(id, err),
      });
      g.drivers.set(id, d);
      d.start();
      return d;
    },
  };
  for (const id of ids) g.start(id);
  return g;
}

function electOne(g: Group): NodeId {
  g.time.advance(3 * T);
  const leaders = g.leaders();
  assert.equal(leaders.length, 1, `one leader, got ${leaders.join(', ')}`);
  return leaders[0] as NodeId;
}

describe('ElectionDriver', () => {
  it('elects exactly one leader; isLeader() and runIfLeader() answer from the lease', () => {
    const g = group(['a', 'b', 'c']);
    assert.deepEqual(g.leaders(), []);
    const leader = electOne(g);
    let actions = 0;
    for (const [id, d] of g.drivers) {
      const r = d.runIfLeader((term) => {
        actions++;
        return term;
      });
      assert.equal(r.ran, id === leader);
      if (r.ran) assert.equal(r.value, d.term());
    }
    assert.equal(actions, 1);
    const s = g.drivers.get(leader)?.status();
    assert.equal(s?.role, 'leader');
    assert.equal(s?.leaseValid, true);
    assert.equal(s?.peers.length, 2);
  });

  it('persists before sending: every granted vote leaves after a save recording that vote (docs/design.md §2)', () => {
    const g = group(['a', 'b', 'c']);
    electOne(g);
    let grants = 0;
    g.trace.forEach((line, i) => {
      const m = /^(\S+) send (\S+) (.*)$/.exec(line);
      if (!m) return;
      const msg = JSON.parse(m[3] as string) as Message;
      if (msg.type !== 'vote-response' || msg.preVote || !msg.granted) return;
      grants++;
      const saved = g.trace.slice(0, i).some((l) => l === `${m[1]} save ${msg.term} ${m[2]}`);
      assert.ok(saved, `vote of ${m[1]} for ${m[2]} in term ${msg.term} was sent before it was saved`);
    });
    assert.ok(grants >= 1);
  });

  it('sends nothing after a failed persist and stops (a replica that cannot persist must not vote)', () => {
    const g = group(['a', 'b', 'c']);
    for (const s of g.stores.values()) s.failNext = true;
    g.time.advance(5 * T);
    // Every replica's first persist (its own candidacy or a vote) failed: nobody leads.
    assert.deepEqual(g.leaders(), []);
    const failed = [...g.fatal.keys()];
    assert.ok(failed.length >= 1);
    for (const id of failed) {
      const lastSave = g.trace.filter((l) => l.startsWith(`${id} save`)).length;
      assert.equal(lastSave, 0, 'the failed save was not recorded');
      const votesOrRequests = g.trace.filter((l) => l.startsWith(`${id} send`) && /"vote-request","term":\d+,"preVote":false|"vote-response".*"preVote":false,"granted":true/.test(l));
      assert.deepEqual(votesOrRequests, [], `${id} sent a vote or a real vote request after its persist failed`);
      assert.equal(g.drivers.get(id)?.isLeader(), false);
    }
  });

  it('restarts from the persisted term and never goes below it', () => {
    const g = group(['a', 'b', 'c']);
    const leader = electOne(g);
    const term = g.drivers.get(leader)?.term() as number;
    const follower = ['a', 'b', 'c'].find((id) => id !== leader) as NodeId;
    void g.drivers.get(follower)?.stop();
    g.net.crash(follower);
    const restarted = g.start(follower);
    assert.ok(restarted.term() >= term);
    g.time.advance(3 * T);
    assert.ok(restarted.term() >= term);
    assert.equal(g.leaders().length, 1);
  });

  it('a partitioned leader stops acting (lease) before any other replica may act', () => {
    const g = group(['a', 'b', 'c']);
    const old = electOne(g);
    g.net.filter = (m) => m.from !== old && m.to !== old;
    let oldStoppedAt: number | null = null;
    let newActedAt: number | null = null;
    g.time.advance(6 * T, (now) => {
      if (oldStoppedAt === null && !g.drivers.get(old)?.isLeader()) oldStoppedAt = now;
      if (newActedAt === null && g.leaders().some((id) => id !== old)) newActedAt = now;
    });
    assert.ok(oldStoppedAt !== null && newActedAt !== null, 'both happened');
    assert.ok((oldStoppedAt as number) <= (newActedAt as number), `old leader acted until ${oldStoppedAt}, new from ${newActedAt}`);
    assert.notEqual(g.drivers.get(old)?.role(), 'leader', 'the cut-off leader stepped down (check-quorum)');
  });

  it('notifies role changes and keeps the election metrics', async () => {
    const g = group(['a', 'b', 'c']);
    const changes: string[] = [];
    for (const [id, d] of g.drivers) d.onRoleChange((c) => changes.push(`${id}:${c.from}->${c.to}`));
    const leader = electOne(g);
    assert.ok(changes.includes(`${leader}:candidate->leader`));
    const m = g.metrics.get(leader) as Metrics;
    assert.equal((await m.electionIsLeader.get()).values[0]?.value, 1);
    assert.equal((await m.electionTerm.get()).values[0]?.value, g.drivers.get(leader)?.term());
    const otherId = ['a', 'b', 'c'].find((id) => id !== leader) as NodeId;
    const other = g.metrics.get(otherId) as Metrics;
    assert.equal((await other.electionIsLeader.get()).values[0]?.value, 0);
    // The first leader a replica learns of is not a change; a new leader is.
    const changesOf = async (m: Metrics) => (await m.electionLeaderChanges.get()).values[0]?.value ?? 0;
    assert.equal(await changesOf(other), 0);
    assert.equal(g.drivers.get(leader)?.transferLeadership(otherId).ok, true);
    g.net.deliverAll();
    g.time.advance(H);
    assert.deepEqual(g.leaders(), [otherId]);
    assert.equal(await changesOf(other), 1);
  });

  it('transfers leadership on request: the lease is void at once and the target leads in the next term', () => {
    const g = group(['a', 'b', 'c']);
    const old = electOne(g);
    const d = g.drivers.get(old) as ElectionDriver;
    const term = d.term();
    const out = d.transferLeadership();
    assert.equal(out.ok, true);
    assert.equal(d.isLeader(), false, 'no acting after the transfer started');
    g.net.deliverAll();
    g.time.advance(H);
    const leaders = g.leaders();
    assert.equal(leaders.length, 1);
    assert.notEqual(leaders[0], old);
    assert.equal(out.ok && leaders[0], out.ok ? out.to : undefined);
    assert.equal(g.drivers.get(leaders[0] as NodeId)?.term(), term + 1);
    assert.deepEqual(d.transferLeadership(), { ok: false, reason: 'not-leader' });
  });

  it('fast crash detection: after connection-lost a follower leads well before an election timeout', () => {
    const g = group(['a', 'b', 'c']);
    const old = electOne(g);
    void g.drivers.get(old)?.stop();
    g.drivers.delete(old);
    g.net.crash(old);
    g.net.deliverAll();
    g.time.advance(T / 2);
    assert.equal(g.leaders().length, 1);
  });

  it('records each election it wins for the failover timeline: term, previous leader, reason and leaderless ms (issue 10 item 4)', () => {
    const g = group(['a', 'b', 'c']);
    const first = electOne(g);
    const d1 = g.drivers.get(first) as ElectionDriver;
    const e1 = d1.lastElection();
    assert.deepEqual(e1 && { term: e1.term, from: e1.from, to: e1.to, reason: e1.reason, leaderlessMs: e1.leaderlessMs }, {
      term: d1.term(),
      from: null,
      to: first,
      reason: 'start',
      leaderlessMs: null,
    });
    for (const [id, d] of g.drivers) if (id !== first) assert.equal(d.lastElection(), null, `${id} won nothing`);

    // A handover: the gap starts at the TimeoutNow the old leader sent as it gave its lease up.
    const out = d1.transferLeadership();
    assert.ok(out.ok);
    g.net.deliverAll();
    g.time.advance(H);
    const second = out.to;
    const e2 = g.drivers.get(second)?.lastElection();
    assert.equal(e2?.term, d1.term());
    assert.equal(e2?.from, first);
    assert.equal(e2?.fromTerm, e1?.term);
    assert.equal(e2?.reason, 'timeout-now');
    assert.equal(e2?.leaderlessMs, 0, 'the in-memory network delivers at once');
    assert.equal(e2?.campaigns, 1);
    assert.equal(e2?.electedAtWallMs, g.time.wallMs() - (g.time.monotonicMs() - (e2?.electedAtMs ?? 0)));

    // The leader's process dies: a follower campaigns on connection-lost; the gap runs from
    // the last heartbeat it had from the dead leader.
    g.time.advance(H / 2);
    const lastHeard = g.time.nowMs;
    g.time.advance(H / 4);
    const crashedAt = g.time.nowMs;
    void g.drivers.get(second)?.stop();
    g.drivers.delete(second);
    g.net.crash(second);
    g.net.deliverAll();
    g.time.advance(T);
    const [third] = g.leaders();
    const e3 = g.drivers.get(third as NodeId)?.lastElection();
    assert.equal(e3?.from, second);
    assert.equal(e3?.reason, 'connection-lost');
    const electedAfterCrash = (e3?.electedAtMs ?? 0) - crashedAt;
    assert.ok(e3?.leaderlessMs !== null && e3?.leaderlessMs !== undefined);
    assert.ok(e3.leaderlessMs >= electedAfterCrash && e3.leaderlessMs <= electedAfterCrash + H, `leaderless ${e3.leaderlessMs} ms, elected ${electedAfterCrash} ms after the crash`);
    assert.ok(lastHeard <= crashedAt);
  });

  it('a leader cut off without a crash: the winner campaigned on an election timeout', () => {
    const g = group(['a', 'b', 'c']);
    const old = electOne(g);
    g.net.filter = (m) => m.from !== old && m.to !== old;
    g.time.advance(6 * T);
    const winner = g.leaders().find((id) => id !== old) as NodeId;
    const e = g.drivers.get(winner)?.lastElection();
    assert.equal(e?.from, old);
    assert.equal(e?.reason, 'election-timeout');
    assert.ok((e?.leaderlessMs ?? 0) >= T, `no heartbeat for at least the election timeout: ${e?.leaderlessMs} ms`);
  });
});
