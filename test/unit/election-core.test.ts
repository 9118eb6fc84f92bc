/**
 * Edge cases of the election core (src/election), driven step by step. Whole-protocol
 * behaviour is covered by the scenario scripts and the simulator in test/sim.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ElectionNode,
  maxSafeLeaseMs,
  parseMessage,
  resolveTiming,
  type HardState,
  type Input,
  type Message,
  type NodeId,
  type Output,
} from '../../src/election';
import { VigilError } from '../../src/errors';

const T = 400;
const H = 100;
const L = maxSafeLeaseMs(T, 0.01); // 392

function node(id: NodeId, opts: { members?: NodeId[]; hardState?: HardState; nowMs?: number; random?: () => number } = {}): ElectionNode {
  return new ElectionNode({
    id,
    members: opts.members ?? ['n1', 'n2', 'n3'],
    electionTimeoutMs: T,
    heartbeatIntervalMs: H,
    // 0.5: the first election deadline is start + 1.5·T, after the start-up hold (start + T).
    random: opts.random ?? (() => 0.5),
    hardState: opts.hardState ?? { term: 0, votedFor: null },
    nowMs: opts.nowMs ?? 0,
  });
}

function msg(n: ElectionNode, nowMs: number, from: NodeId, message: Message): Output {
  return n.step({ type: 'message', nowMs, from, message });
}

const voteReq = (term: number, extra: Partial<{ preVote: boolean; transfer: boolean }> = {}): Message => ({
  type: 'vote-request',
  term,
  preVote: extra.preVote ?? false,
  transfer: extra.transfer ?? false,
});

function granted(out: Output): boolean | undefined {
  const m = out.messages.find((e) => e.message.type === 'vote-response')?.message;
  return m?.type === 'vote-response' ? m.granted : undefined;
}

/**
 * Makes n1 leader of term 1 at time 400 with both peers' votes, and has both acknowledge
 * its first heartbeat (sent at 400). Returns the leader.
 */
function electedLeader(members: NodeId[] = ['n1', 'n2', 'n3']): ElectionNode {
  const n1 = node('n1', { members, random: () => 0 });
  const pre = n1.step({ type: 'tick', nowMs: 400 });
  assert.equal(n1.status(400).role, 'pre-candidate');
  assert.equal(pre.messages.length, members.length - 1);
  for (const p of members.slice(1)) msg(n1, 400, p, { type: 'vote-response', term: 1, preVote: true, granted: true, voterTerm: 0 });
  assert.equal(n1.status(400).role, 'candidate');
  for (const p of members.slice(1)) msg(n1, 400, p, { type: 'vote-response', term: 1, preVote: false, granted: true, voterTerm: 1 });
  assert.equal(n1.status(400).role, 'leader');
  for (const p of members.slice(1)) msg(n1, 401, p, { type: 'heartbeat-response', term: 1, sentMs: 400 });
  return n1;
}

/** A follower of n1 in term 1 that heard n1's heartbeat at `atMs`. */
function follower(id: NodeId, atMs: number): ElectionNode {
  const n = node(id, { nowMs: atMs - 100 });
  msg(n, atMs, 'n1', { type: 'heartbeat', term: 1, sentMs: 12345 });
  assert.equal(n.status(atMs).leaderId, 'n1');
  return n;
}

// ------------------------------------------------------------------ terms

test('a message from a stale term changes nothing and tells the sender the current term', () => {
  const n = node('n2', { hardState: { term: 5, votedFor: null } });
  const out = msg(n, 500, 'n1', { type: 'heartbeat', term: 3, sentMs: 7 });
  assert.equal(out.persist, null);
  assert.equal(n.status(500).leaderId, null);
  assert.deepEqual(out.messages, [{ to: 'n1', message: { type: 'heartbeat-response', term: 5, sentMs: 7 } }]);
  const vote = msg(n, 500, 'n3', voteReq(4));
  assert.equal(granted(vote), false);
  assert.equal(vote.persist, null);
});

test('a stale vote response does not count toward a later campaign', () => {
  const n = node('n1', { hardState: { term: 2, votedFor: null }, random: () => 0 });
  n.step({ type: 'tick', nowMs: 400 }); // pre-vote for term 3
  const out = msg(n, 400, 'n2', { type: 'vote-response', term: 2, preVote: true, granted: true, voterTerm: 1 });
  assert.equal(n.status(400).role, 'pre-candidate');
  assert.equal(out.events[0]?.type, 'message-ignored');
});

test('a leader that hears of a higher term steps down, adopts it and forgets its vote', () => {
  const n1 = electedLeader();
  const out = msg(n1, 450, 'n2', { type: 'heartbeat-response', term: 7, sentMs: 400 });
  assert.equal(n1.status(450).role, 'follower');
  assert.deepEqual(out.persist, { term: 7, votedFor: null });
  assert.deepEqual(out.roleChanges, [{ from: 'leader', to: 'follower', term: 7, reason: 'higher-term' }]);
  assert.equal(n1.leaseValid(450), false);
});

test('a candidate that hears a heartbeat of its own term follows that leader and keeps its vote', () => {
  const n = node('n2', { random: () => 0 });
  n.step({ type: 'tick', nowMs: 400 });
  msg(n, 400, 'n1', { type: 'vote-response', term: 1, preVote: true, granted: true, voterTerm: 0 });
  assert.equal(n.status(400).role, 'candidate');
  msg(n, 401, 'n3', { type: 'heartbeat', term: 1, sentMs: 1 });
  const s = n.status(401);
  assert.deepEqual([s.role, s.term, s.votedFor, s.leaderId], ['follower', 1, 'n2', 'n3']);
});

test('terms never decrease: a restarted node resumes from its persisted term and vote', () => {
  const n = node('n2', { hardState: { term: 9, votedFor: 'n3' }, nowMs: 50_000 });
  const s = n.status(50_000);
  assert.deepEqual([s.term, s.votedFor, s.role], [9, 'n3', 'follower']);
});

// ------------------------------------------------------------------ votes

test('a node votes once per term: a second candidate is refused, the same one is answered again', () => {
  const n = node('n2');
  const first = msg(n, 500, 'n1', voteReq(1));
  assert.equal(granted(first), true);
  assert.deepEqual(first.persist, { term: 1, votedFor: 'n1' });
  const again = msg(n, 501, 'n1', voteReq(1)); // a retransmission
  assert.equal(granted(again), true);
  assert.equal(again.persist, null, 'nothing new to write');
  const other = msg(n, 502, 'n3', voteReq(1));
  assert.equal(granted(other), false);
  assert.equal(other.events[0]?.type === 'vote-rejected' && other.events[0].reason, 'already-voted');
});

test('the vote is in the persist of the same step that sends the grant (persist before send)', () => {
  const n = node('n2');
  const out = msg(n, 500, 'n1', voteReq(3));
  assert.deepEqual(out.persist, { term: 3, votedFor: 'n1' });
  assert.deepEqual(out.messages, [{ to: 'n1', message: { type: 'vote-response', term: 3, preVote: false, granted: true, voterTerm: 3 } }]);
});

test('a restarted node keeps its vote: it refuses another candidate in the same term', () => {
  const n = node('n2', { hardState: { term: 4, votedFor: 'n1' }, nowMs: 0 });
  const out = msg(n, T, 'n3', voteReq(4)); // after the start-up hold
  assert.equal(granted(out), false);
  assert.equal(n.status(T).votedFor, 'n1');
});

test('a freshly started node refuses votes for T: it may have acknowledged a leader just before crashing', () => {
  const n = node('n2', { nowMs: 1000 });
  assert.equal(granted(msg(n, 1000 + T - 0.001, 'n3', voteReq(1))), false);
  assert.equal(granted(msg(n, 1000 + T, 'n3', voteReq(1))), true);
});

test('a pre-vote changes neither term nor vote and persists nothing', () => {
  const n = node('n2', { hardState: { term: 2, votedFor: 'n1' } });
  const out = msg(n, 500, 'n3', voteReq(3, { preVote: true }));
  assert.equal(granted(out), true);
  assert.equal(out.persist, null);
  const s = n.status(500);
  assert.deepEqual([s.term, s.votedFor], [2, 'n1']);
});

test('a pre-vote for a term that is not above ours is refused', () => {
  const n = node('n2', { hardState: { term: 3, votedFor: null } });
  assert.equal(granted(msg(n, 500, 'n3', voteReq(3, { preVote: true }))), false);
});

// ------------------------------------------------------------------ check-quorum and lease

test('a follower refuses (pre-)votes until exactly T after the last heartbeat, then grants', () => {
  const n2 = follower('n2', 1000);
  for (const preVote of [true, false]) {
    const out = msg(n2, 1000 + T - 0.001, 'n3', voteReq(2, { preVote }));
    assert.equal(granted(out), false, `${preVote ? 'pre-vote' : 'vote'} inside the hold`);
    assert.equal(out.persist, null, 'a refused candidate does not raise our term');
  }
  assert.equal(granted(msg(n2, 1000 + T, 'n3', voteReq(2, { preVote: true }))), true);
  assert.equal(granted(msg(n2, 1000 + T, 'n3', voteReq(2))), true);
});

test('the lease runs from the send time of the newest heartbeat a majority acknowledged, and ends exactly L later', () => {
  const n1 = electedLeader();
  // Acknowledged at 401, but the lease counts from the send time, 400.
  assert.equal(n1.status(401).leaseExpiresAtMs, 400 + L);
  assert.equal(n1.leaseValid(400 + L - 0.001), true);
  assert.equal(n1.leaseValid(400 + L), false);
});

test('a leader steps down (check-quorum) exactly when its lease ends', () => {
  const n1 = electedLeader();
  // Heartbeats go out at 500, 600, 700 but no one answers.
  for (const t of [500, 600, 700]) assert.equal(n1.step({ type: 'tick', nowMs: t }).messages.length, 2);
  assert.equal(n1.nextDeadlineMs(), 400 + L);
  assert.equal(n1.step({ type: 'tick', nowMs: 400 + L - 0.001 }).roleChanges.length, 0);
  const out = n1.step({ type: 'tick', nowMs: 400 + L });
  assert.deepEqual(out.roleChanges, [{ from: 'leader', to: 'follower', term: 1, reason: 'check-quorum' }]);
});

test('one acknowledgement is not a majority of five; the lease starts at the third-newest stamp', () => {
  const n1 = electedLeader(['n1', 'n2', 'n3', 'n4', 'n5']);
  // electedLeader acknowledged 400 from all four. Now the heartbeat of 500 gets one answer.
  n1.step({ type: 'tick', nowMs: 500 });
  msg(n1, 501, 'n2', { type: 'heartbeat-response', term: 1, sentMs: 500 });
  assert.equal(n1.status(501).leaseExpiresAtMs, 400 + L, 'self and n2 at 500 are two of five');
  msg(n1, 502, 'n4', { type: 'heartbeat-response', term: 1, sentMs: 500 });
  assert.equal(n1.status(502).leaseExpiresAtMs, 500 + L);
});

test('an acknowledgement echoing a stamp this leader never sent does not extend the lease', () => {
  const n1 = electedLeader();
  const out = msg(n1, 450, 'n2', { type: 'heartbeat-response', term: 1, sentMs: 10_000 });
  assert.equal(out.events[0]?.type, 'message-ignored');
  assert.equal(n1.status(450).leaseExpiresAtMs, 400 + L);
});

test('a leader in lease refuses votes and pre-votes without adopting the higher term', () => {
  const n1 = electedLeader();
  const out = msg(n1, 450, 'n2', voteReq(5));
  assert.equal(granted(out), false);
  assert.equal(out.persist, null);
  assert.equal(n1.status(450).role, 'leader');
});

test('the lease margin covers the stated drift: L·(1+ρ) ≤ T·(1−ρ)', () => {
  for (const [t, rho] of [[400, 0.01], [1000, 0.05], [150, 0], [404, 0.01]] as const) {
    const l = maxSafeLeaseMs(t, rho);
    assert.ok(l < t || rho === 0);
    assert.ok(l / (1 - rho) <= t / (1 + rho) + 1e-9, `T=${t} ρ=${rho} L=${l}`);
  }
  assert.equal(resolveTiming({ electionTimeoutMs: 400, heartbeatIntervalMs: 100 }).leaseMs, 392);
});

test('timing that cannot keep a lease is refused with the setting named', () => {
  assert.throws(
    () => resolveTiming({ electionTimeoutMs: 400, heartbeatIntervalMs: 395 }),
    (e: unknown) => e instanceof VigilError && e.code === 'CONFIG_INVALID' && e.message.startsWith('election.heartbeatInterval'),
  );
  assert.throws(() => resolveTiming({ electionTimeoutMs: 0, heartbeatIntervalMs: 10 }), VigilError);
});

// ------------------------------------------------------------------ timing

test('randomized election timeouts fall in [T, 2T), widening after failed rounds', () => {
  const low = node('n2', { random: () => 0, nowMs: 0 });
  assert.equal(low.nextDeadlineMs(), T);
  const high = node('n2', { random: () => 0.999999, nowMs: 0 });
  assert.ok(high.nextDeadlineMs() < 2 * T && high.nextDeadlineMs() > 2 * T - 1);
  // A pre-vote round that times out without an answer: the next timeout is from [T, 3T).
  high.step({ type: 'tick', nowMs: high.nextDeadlineMs() });
  const roundEnd = high.nextDeadlineMs();
  high.step({ type: 'tick', nowMs: roundEnd });
  assert.ok(high.nextDeadlineMs() - roundEnd > 2.9 * T);
});

test('nextDeadlineMs is the heartbeat time or the lease end for a leader', () => {
  const n1 = electedLeader();
  assert.equal(n1.nextDeadlineMs(), 500);
  assert.equal(n1.step({ type: 'tick', nowMs: 499 }).messages.length, 0);
  assert.equal(n1.step({ type: 'tick', nowMs: 500 }).messages.length, 2);
});

test('a clock reading from the past is treated as no time passing', () => {
  const n = node('n2', { nowMs: 1000 });
  msg(n, 1000, 'n1', { type: 'heartbeat', term: 1, sentMs: 1 });
  n.step({ type: 'tick', nowMs: 5 });
  assert.equal(n.status(1000).role, 'follower');
  assert.equal(granted(msg(n, 900, 'n3', voteReq(2))), false, 'still inside the hold');
});

// ------------------------------------------------------------------ connection-lost

test('connection-lost for the leader drops its lease and campaigns after a short random delay', () => {
  const n2 = node('n2', { nowMs: 900 });
  msg(n2, 1000, 'n1', { type: 'heartbeat', term: 1, sentMs: 1 });
  const out = n2.step({ type: 'connection-lost', nowMs: 1001, peer: 'n1' });
  assert.equal(out.events[0]?.type, 'leader-connection-lost');
  assert.equal(n2.nextDeadlineMs(), 1001 + 0.5 * (T / 8));
  const campaign = n2.step({ type: 'tick', nowMs: 1001 + T / 16 });
  assert.deepEqual(campaign.roleChanges.map((r) => [r.to, r.reason]), [['pre-candidate', 'connection-lost']]);
  // Its peers, told the same, no longer honour n1 either: they grant at once.
  const n3 = follower('n3', 1000);
  n3.step({ type: 'connection-lost', nowMs: 1001, peer: 'n1' });
  assert.equal(granted(msg(n3, 1002, 'n2', voteReq(2, { preVote: true }))), true);
  assert.equal(granted(msg(n3, 1003, 'n2', voteReq(2))), true);
});

test("after connection-lost, the lost leader's heartbeats are ignored (no ack, no lease) until connection-restored", () => {
  const n2 = follower('n2', 1000);
  n2.step({ type: 'connection-lost', nowMs: 1001, peer: 'n1' });
  // A heartbeat sent before the crash, arriving after the report.
  const late = msg(n2, 1002, 'n1', { type: 'heartbeat', term: 1, sentMs: 99 });
  assert.equal(late.messages.length, 0);
  assert.equal(late.events[0]?.type === 'message-ignored' && late.events[0].reason, 'connection-lost');
  assert.equal(n2.status(1002).leaderId, null);
  n2.step({ type: 'connection-restored', nowMs: 1003, peer: 'n1' });
  const fresh = msg(n2, 1004, 'n1', { type: 'heartbeat', term: 1, sentMs: 100 });
  assert.equal(fresh.messages.length, 1);
  assert.equal(n2.status(1004).leaderId, 'n1');
});

test('after connection-lost, a heartbeat of a newer term (the peer came back and won) is followed', () => {
  const n2 = follower('n2', 1000);
  n2.step({ type: 'connection-lost', nowMs: 1001, peer: 'n1' });
  msg(n2, 1002, 'n1', { type: 'heartbeat', term: 2, sentMs: 5 });
  assert.equal(n2.status(1002).leaderId, 'n1');
});

test('fast election: a follower that backs another candidate stands back at least T/8', () => {
  const n2 = follower('n2', 1000);
  n2.step({ type: 'connection-lost', nowMs: 1001, peer: 'n1' });
  assert.equal(n2.nextDeadlineMs(), 1001 + 0.5 * (T / 8));
  assert.equal(granted(msg(n2, 1002, 'n3', voteReq(2, { preVote: true }))), true);
  assert.equal(n2.nextDeadlineMs(), 1002 + T / 8 + 0.5 * (T / 8));
});

test('fast election: of two pre-candidates for the same term, the higher id yields to the lower', () => {
  const members = ['n1', 'n2', 'n3'];
  const start = (id: NodeId): ElectionNode => {
    const n = node(id, { members, nowMs: 900 });
    msg(n, 1000, 'n3', { type: 'heartbeat', term: 1, sentMs: 1 });
    n.step({ type: 'connection-lost', nowMs: 1001, peer: 'n3' });
    n.step({ type: 'tick', nowMs: 1100 });
    assert.equal(n.status(1100).role, 'pre-candidate');
    return n;
  };
  const n1 = start('n1');
  const n2 = start('n2');
  // Their pre-vote requests cross.
  const atN1 = msg(n1, 1101, 'n2', voteReq(2, { preVote: true }));
  assert.equal(granted(atN1), false);
  assert.equal(n1.status(1101).role, 'pre-candidate');
  const atN2 = msg(n2, 1101, 'n1', voteReq(2, { preVote: true }));
  assert.equal(granted(atN2), true);
  assert.deepEqual(atN2.roleChanges.map((r) => r.reason), ['yielded']);
});

test('connection-lost for a peer that is not the leader keeps the leader lease', () => {
  const n2 = follower('n2', 1000);
  n2.step({ type: 'connection-lost', nowMs: 1001, peer: 'n3' });
  assert.equal(granted(msg(n2, 1002, 'n3', voteReq(2))), false);
  assert.equal(n2.nextDeadlineMs(), 1000 + 1.5 * T, 'the election timer is untouched');
});

test('a candidate gives up at once when the peers it lost make a majority unreachable', () => {
  const n1 = node('n1', { random: () => 0 });
  n1.step({ type: 'tick', nowMs: 400 });
  msg(n1, 401, 'n2', { type: 'vote-response', term: 1, preVote: true, granted: false, voterTerm: 0 });
  assert.equal(n1.status(401).role, 'pre-candidate', 'n3 may still grant');
  const out = n1.step({ type: 'connection-lost', nowMs: 402, peer: 'n3' });
  assert.deepEqual(out.roleChanges.map((r) => r.reason), ['campaign-lost']);
});

/**
 * Issue 8, defect 13: n3 restarted and n2's link to it still waits to reconnect (n3 is
 * reported lost) when the leader n1 dies. n2 is the follower that campaigns.
 */
function followerWithStaleReport(): ElectionNode {
  const n2 = follower('n2', 1000);
  n2.step({ type: 'connection-lost', nowMs: 1000, peer: 'n3' }); // n3 restarting
  n2.step({ type: 'connection-lost', nowMs: 1001, peer: 'n1' }); // the leader dies
  n2.step({ type: 'tick', nowMs: 1100 });
  assert.equal(n2.status(1100).role, 'pre-candidate');
  return n2;
}

test('a campaign is not lost while the only missing answer is from a peer reported lost: its late grants still win', () => {
  const n2 = followerWithStaleReport();
  // n3 is up again (its report is stale) and answers ~10 ms later.
  msg(n2, 1110, 'n3', { type: 'vote-response', term: 2, preVote: true, granted: true, voterTerm: 1 });
  const s = n2.status(1110);
  assert.equal(s.role, 'candidate', 'no campaign-lost with granted 1, rejected 0');
  assert.equal(s.term, 2);
  const won = msg(n2, 1120, 'n3', { type: 'vote-response', term: 2, preVote: false, granted: true, voterTerm: 2 });
  assert.deepEqual(won.roleChanges.map((r) => r.reason), ['won-election']);
  assert.equal(n2.status(1120).term, 2, 'one campaign, one term step');
});

test('silence of a peer reported lost ends a round only at its timeout, like any other silence', () => {
  const n2 = followerWithStaleReport();
  msg(n2, 1110, 'n3', { type: 'vote-response', term: 2, preVote: true, granted: true, voterTerm: 1 });
  // The vote round now waits for n3 (reported lost) and for nobody else.
  const deadlineMs = n2.nextDeadlineMs();
  assert.ok(deadlineMs >= 1110 + T, `the round waits out its timeout (deadline ${deadlineMs})`);
  const before = n2.step({ type: 'tick', nowMs: deadlineMs - 1 });
  assert.deepEqual(before.roleChanges, []);
  assert.equal(n2.status(deadlineMs - 1).role, 'candidate');
  const after = n2.step({ type: 'tick', nowMs: deadlineMs });
  assert.deepEqual(after.roleChanges.map((r) => [r.to, r.reason]), [['pre-candidate', 'connection-lost']], 'then it campaigns again');
});

test('connection-restored makes a (pre-)candidate re-send its request to that peer only if it has not answered', () => {
  const n2 = followerWithStaleReport();
  const pre = n2.step({ type: 'connection-restored', nowMs: 1105, peer: 'n3' });
  assert.deepEqual(pre.messages, [{ to: 'n3', message: voteReq(2, { preVote: true }) }]);
  msg(n2, 1110, 'n3', { type: 'vote-response', term: 2, preVote: true, granted: true, voterTerm: 1 });
  assert.equal(n2.status(1110).role, 'candidate');
  n2.step({ type: 'connection-lost', nowMs: 1111, peer: 'n3' });
  const vote = n2.step({ type: 'connection-restored', nowMs: 1112, peer: 'n3' });
  assert.deepEqual(vote.messages, [{ to: 'n3', message: voteReq(2) }]);
  msg(n2, 1113, 'n3', { type: 'vote-response', term: 2, preVote: false, granted: true, voterTerm: 2 });
  assert.equal(n2.status(1113).role, 'leader');
  // A leader (or a follower) has no request to repeat.
  n2.step({ type: 'connection-lost', nowMs: 1114, peer: 'n3' });
  const leader = n2.step({ type: 'connection-restored', nowMs: 1115, peer: 'n3' });
  assert.equal(leader.messages.filter((m) => m.message.type === 'vote-request').length, 0);
});

test('a TimeoutNow candidate re-sends its request with the transfer mark when a link comes back', () => {
  const n2 = follower('n2', 1000);
  n2.step({ type: 'connection-lost', nowMs: 1000, peer: 'n3' });
  msg(n2, 1001, 'n1', { type: 'timeout-now', term: 1 });
  assert.equal(n2.status(1001).role, 'candidate');
  const out = n2.step({ type: 'connection-restored', nowMs: 1002, peer: 'n3' });
  assert.deepEqual(out.messages, [{ to: 'n3', message: voteReq(2, { transfer: true }) }]);
});

// ------------------------------------------------------------------ transfer

test('a transfer voids the lease at once and sends TimeoutNow to the chosen follower', () => {
  const n1 = electedLeader();
  const out = n1.step({ type: 'transfer-leadership', nowMs: 450, to: 'n3' });
  assert.deepEqual(out.messages, [{ to: 'n3', message: { type: 'timeout-now', term: 1 } }]);
  assert.equal(n1.leaseValid(450), false);
  assert.equal(n1.status(450).transferringTo, 'n3');
  // No heartbeats during the transfer; TimeoutNow is resent instead.
  const resend = n1.step({ type: 'tick', nowMs: 550 });
  assert.deepEqual(resend.messages, [{ to: 'n3', message: { type: 'timeout-now', term: 1 } }]);
});

test('transfer requests that cannot be honoured are refused with a reason', () => {
  const n2 = follower('n2', 1000);
  assert.equal(n2.step({ type: 'transfer-leadership', nowMs: 1001 }).events[0]?.type, 'transfer-rejected');
  const n1 = electedLeader();
  const unknown = n1.step({ type: 'transfer-leadership', nowMs: 450, to: 'n9' }).events[0];
  assert.equal(unknown?.type === 'transfer-rejected' && unknown.reason, 'unknown-target');
  n1.step({ type: 'connection-lost', nowMs: 451, peer: 'n2' });
  const lost = n1.step({ type: 'transfer-leadership', nowMs: 452, to: 'n2' }).events[0];
  assert.equal(lost?.type === 'transfer-rejected' && lost.reason, 'target-not-responsive');
  assert.equal(n1.leaseValid(452), true, 'a refused transfer leaves the lease alone');
});

test('TimeoutNow makes a follower campaign at once and voters set their lease aside for it', () => {
  const n2 = follower('n2', 1000);
  const out = msg(n2, 1001, 'n1', { type: 'timeout-now', term: 1 });
  assert.deepEqual(out.persist, { term: 2, votedFor: 'n2' });
  assert.deepEqual(out.messages.map((m) => m.message), [voteReq(2, { transfer: true }), voteReq(2, { transfer: true })]);
  const n3 = follower('n3', 1000);
  assert.equal(granted(msg(n3, 1002, 'n2', voteReq(2, { transfer: true }))), true);
  // But only for the term right after the voter's: a transfer vote cannot skip terms.
  const n3b = follower('n3', 1000);
  assert.equal(granted(msg(n3b, 1002, 'n2', voteReq(3, { transfer: true }))), false);
});

test('a transfer that does not complete within T is aborted and the leader steps down', () => {
  const n1 = electedLeader();
  n1.step({ type: 'transfer-leadership', nowMs: 450, to: 'n2' });
  assert.equal(n1.step({ type: 'tick', nowMs: 450 + T - 1 }).roleChanges.length, 0);
  const out = n1.step({ type: 'tick', nowMs: 450 + T });
  assert.deepEqual(out.roleChanges, [{ from: 'leader', to: 'follower', term: 1, reason: 'transfer-timeout' }]);
  assert.equal(out.events[0]?.type, 'transfer-aborted');
});

// ------------------------------------------------------------------ odds and ends

test('a single-node group elects itself and keeps its lease by its own heartbeats', () => {
  const solo = node('n1', { members: ['n1'], random: () => 0 });
  const out = solo.step({ type: 'tick', nowMs: T });
  assert.deepEqual(out.roleChanges.map((r) => r.to), ['candidate', 'leader']);
  assert.equal(solo.leaseValid(T), true);
  solo.step({ type: 'tick', nowMs: T + H });
  assert.equal(solo.leaseValid(T + L + 1), true);
});

test('messages from unknown senders are ignored', () => {
  const n = node('n2');
  const out = msg(n, 500, 'intruder', voteReq(9));
  assert.equal(out.messages.length, 0);
  assert.equal(out.events[0]?.type === 'message-ignored' && out.events[0].reason, 'unknown-peer');
  assert.equal(n.status(500).term, 0);
});

test('messages survive a JSON round trip, and malformed bodies are rejected', () => {
  const samples: Message[] = [
    voteReq(3, { preVote: true }),
    { type: 'vote-response', term: 3, preVote: false, granted: true, voterTerm: 3 },
    { type: 'heartbeat', term: 3, sentMs: 1234.5 },
    { type: 'heartbeat-response', term: 3, sentMs: 1234.5 },
    { type: 'timeout-now', term: 3 },
  ];
  for (const m of samples) assert.deepEqual(parseMessage(JSON.parse(JSON.stringify(m))), m);
  for (const bad of [null, 7, [], {}, { type: 'heartbeat', term: -1, sentMs: 0 }, { type: 'heartbeat', term: 1.5, sentMs: 0 },
    { type: 'vote-request', term: 1, preVote: 'yes', transfer: false }, { type: 'timeout-now' }, { type: 'nope', term: 1 }]) {
    assert.equal(parseMessage(bad), null, JSON.stringify(bad));
  }
});

test('inputs are dispatched exhaustively: every input type is accepted', () => {
  const n = node('n1');
  const inputs: Input[] = [
    { type: 'tick', nowMs: 1 },
    { type: 'message', nowMs: 2, from: 'n2', message: { type: 'timeout-now', term: 0 } },
    { type: 'connection-lost', nowMs: 3, peer: 'n2' },
    { type: 'connection-restored', nowMs: 4, peer: 'n2' },
    { type: 'transfer-leadership', nowMs: 5 },
  ];
  for (const i of inputs) assert.doesNotThrow(() => n.step(i));
});

test('a constructor without itself among the members is a configuration error', () => {
  assert.throws(() => node('n4'), (e: unknown) => e instanceof VigilError && e.code === 'CONFIG_INVALID');
});
