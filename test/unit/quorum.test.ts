/**
 * The KRaft controller quorum watch (docs/design.md §4.7, issue 10 item 3) without a broker:
 * DescribeQuorum v1–v2 on the wire (the request's bytes, answers built byte by byte), what
 * detect finds in a described quorum and remembers between cycles, what decide pages with
 * which severity and key, the summaries on-call reads, the metrics and the status object.
 * The same request against a real 3-node quorum: test/integration/quorum.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AlertRecord, emptyAlertState, parseAlertState, serializeAlertState } from '../../src/alerting/alert-state';
import { decide } from '../../src/alerting/decide';
import { firingSummary, resolvedSummary } from '../../src/alerting/summary';
import type { Finding } from '../../src/monitor/findings';
import { describeQuorumRequest } from '../../src/kafka/describe-quorum';
import { decodeResponse, encodeRequest } from '../../src/kafka/kafkajs-wire';
import type { ControllerQuorum, QuorumReplica } from '../../src/kafka/types';
import { createMetrics } from '../../src/metrics';
import { DEFAULT_DETECT_OPTIONS, type DetectMemory, type DetectResult, detect, emptyDetectMemory } from '../../src/monitor/detect';
import { KafkaObserver } from '../../src/monitor/observe';
import { quorumStatus } from '../../src/monitor/quorum';
import { recordQuorumMetrics } from '../../src/monitor/quorum-metrics';
import type { KafkaSnapshot } from '../../src/monitor/snapshot';
import { MemoryKafka, describedQuorum } from '../fakes/memory-kafka';
import { T0, snapshot, unreachableSnapshot } from '../fakes/snapshots';

// ---- bytes ---------------------------------------------------------------------------------

const bytes = (...parts: Array<number[] | Buffer>) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
const i16 = (v: number) => { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; };
const i32 = (v: number) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
const i64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); return b; };
/** a compact string: length + 1 as an unsigned varint (all short here), then the bytes */
const cstr = (s: string) => bytes([s.length + 1], Buffer.from(s));
const META = '__cluster_metadata';

/** ReplicaState v1: id, log end offset, last fetch, last caught up, tags */
const replica = (id: number, end: number, fetchMs: number, caughtUpMs: number) => bytes(i32(id), i64(end), i64(fetchMs), i64(caughtUpMs), [0]);

/** ReplicaState v2: v1 with the replica's directory id (a uuid) after its id */
const replicaV2 = (id: number, end: number, fetchMs: number, caughtUpMs: number) => bytes(i32(id), Buffer.alloc(16, id), i64(end), i64(fetchMs), i64(caughtUpMs), [0]);

/** A DescribeQuorumResponse v1 with one topic and one partition. */
function answer(o: { top?: number; topic?: string; partition?: number; code?: number; leader?: number; epoch?: number; hw?: number; voters?: Buffer[]; observers?: Buffer[] }): Buffer {
  const voters = o.voters ?? [];
  const observers = o.observers ?? [];
  return bytes(
    [0], // response header tags
    i16(o.top ?? 0),
    [2], cstr(o.topic ?? META),
    [2], i32(o.partition ?? 0), i16(o.code ?? 0), i32(o.leader ?? -1), i32(o.epoch ?? -1), i64(o.hw ?? -1),
    [voters.length + 1], ...voters,
    [observers.length + 1], ...observers,
    [0], // partition tags
    [0], // topic tags
    [0], // body tags
  );
}

const decode = (buf: Buffer, version = 1): ControllerQuorum => decodeResponse(describeQuorumRequest(1000), version, buf);

describe('DescribeQuorum v1–v2 on the wire (issue 10 items 1 and 3)', () => {
  it('asks about __cluster_metadata partition 0: API 55, header tags, one topic, one partition, tags — the same bytes in v1 and v2', () => {
    const req = describeQuorumRequest(800);
    assert.equal(req.apiKey, 55);
    assert.deepEqual(req.versions, { min: 1, max: 2 });
    assert.equal(req.requestTimeoutMs, 800);
    for (const version of [1, 2]) assert.deepEqual(encodeRequest(req, version), bytes([0], [2], cstr(META), [2], i32(0), [0], [0], [0]));
  });

  it('v2: reads past the error messages, the directory id of each replica and the endpoints of the voters', () => {
    const v2 = bytes(
      [0], // response header tags
      i16(0), [0], // error code, null error message
      [2], cstr(META),
      [2], i32(0), i16(0), [0], i32(2), i32(7), i64(1200), // partition, error, null message, leader, epoch, high watermark
      [3], replicaV2(2, 1201, 9_000, 9_000), replicaV2(1, 1190, 5_000, 4_000),
      [2], replicaV2(4, 1200, 8_900, 8_800),
      [0], [0], // partition and topic tags
      [3], // nodes: 2
      i32(1), [2], cstr('CONTROLLER'), cstr('h1'), i16(9093), [0], [0],
      i32(2), [1], [0], // a node without listeners
      [0], // body tags
    );
    assert.deepEqual(decode(v2, 2), {
      state: 'described',
      leaderId: 2,
      leaderEpoch: 7,
      highWatermark: 1200,
      voters: [
        { nodeId: 1, logEndOffset: 1190, lastFetchMs: 5_000, lastCaughtUpMs: 4_000 },
        { nodeId: 2, logEndOffset: 1201, lastFetchMs: 9_000, lastCaughtUpMs: 9_000 },
      ],
      observers: [{ nodeId: 4, logEndOffset: 1200, lastFetchMs: 8_900, lastCaughtUpMs: 8_800 }],
    });
    const refused = bytes([0], i16(6), cstr('not the leader'), [1], [1], [0]);
    assert.deepEqual(decode(refused, 2), { state: 'unanswered', error: 'DescribeQuorum answered NOT_LEADER_FOR_PARTITION (not the leader)' });
  });

  it('reads the leader, epoch, high watermark and every voter and observer, ordered by node id, -1 as unknown', () => {
    const q = decode(answer({
      leader: 2, epoch: 7, hw: 1200,
      voters: [replica(3, 1190, 5_000, 4_000), replica(2, 1201, 9_000, 9_000), replica(1, -1, -1, -1)],
      observers: [replica(4, 1200, 8_900, 8_800)],
    }));
    assert.deepEqual(q, {
      state: 'described',
      leaderId: 2,
      leaderEpoch: 7,
      highWatermark: 1200,
      voters: [
        { nodeId: 1, logEndOffset: null, lastFetchMs: null, lastCaughtUpMs: null },
        { nodeId: 2, logEndOffset: 1201, lastFetchMs: 9_000, lastCaughtUpMs: 9_000 },
        { nodeId: 3, logEndOffset: 1190, lastFetchMs: 5_000, lastCaughtUpMs: 4_000 },
      ],
      observers: [{ nodeId: 4, logEndOffset: 1200, lastFetchMs: 8_900, lastCaughtUpMs: 8_800 }],
    });
    // timestamps of today's size survive the int64 read exactly
    const now = 1_764_150_000_123;
    const big = decode(answer({ leader: 1, epoch: 1, hw: 2 ** 40, voters: [replica(1, 2 ** 40, now, now)] }));
    assert.equal(big.state === 'described' && big.voters[0]?.lastCaughtUpMs, now);
    assert.equal(big.state === 'described' && big.highWatermark, 2 ** 40);
  });

  it('a leaderless answer (leader -1) is described without a leader', () => {
    const q = decode(answer({ leader: -1, epoch: 7, hw: -1 }));
    assert.deepEqual(q, { state: 'described', leaderId: null, leaderEpoch: 7, highWatermark: null, voters: [], observers: [] });
  });

  it('a controller that is not the leader, or any other error, is unanswered and named', () => {
    // (code 6 under the name kafkajs knows it by, as vigil names error codes elsewhere)
    assert.deepEqual(decode(answer({ code: 6 })), { state: 'unanswered', error: 'DescribeQuorum answered NOT_LEADER_FOR_PARTITION for __cluster_metadata-0' });
    assert.deepEqual(decode(answer({ top: 7 })), { state: 'unanswered', error: 'DescribeQuorum answered REQUEST_TIMED_OUT' });
    assert.deepEqual(decode(answer({ topic: 'other' })), { state: 'unanswered', error: 'DescribeQuorum answered without __cluster_metadata-0' });
  });

  it('an authorization refusal makes the quorum not observable, with the ACL that fixes it', () => {
    for (const buf of [answer({ top: 31 }), answer({ code: 31 })]) {
      const q = decode(buf);
      assert.equal(q.state, 'unobservable');
      assert.ok(q.state === 'unobservable' && q.cause === 'not-authorized');
      assert.match(q.state === 'unobservable' ? q.reason : '', /CLUSTER_AUTHORIZATION_FAILED.*DESCRIBE on the CLUSTER resource.*--operation Describe --cluster/);
    }
  });
});

// ---- detect ----------------------------------------------------------------------------------

/** The quorum voters 1, 2, 3 led by `leader` as the leader reports it at `leaderNowMs`, with overrides per voter. */
function quorumAt(leaderNowMs: number, over: Record<number, Partial<QuorumReplica>> = {}, opts: { leader?: number; epoch?: number; ids?: number[] } = {}): ControllerQuorum {
  const q = describedQuorum(opts.ids ?? [1, 2, 3], opts.leader ?? 1, leaderNowMs, { epoch: opts.epoch ?? 5, end: 1000 });
  return { ...q, voters: q.voters.map((v) => ({ ...v, ...over[v.nodeId] })) };
}

const at = (ms: number, quorum: ControllerQuorum): KafkaSnapshot => snapshot({ takenAtMs: ms, quorum });

/** Runs detect over snapshots in order, each with the memory of the one before. */
function cycles(...snaps: KafkaSnapshot[]): DetectResult[] {
  let memory: DetectMemory = emptyDetectMemory();
  return snaps.map((s) => {
    const r = detect(s, memory, DEFAULT_DETECT_OPTIONS);
    memory = r.memory;
    return r;
  });
}

const quorumFindings = (r: DetectResult): Finding[] => r.findings.filter((f) => f.kind.startsWith('Controller'));

describe('detect: the KRaft controller quorum (docs/design.md §4.7)', () => {
  it('finds nothing in a quorum whose voters are all caught up, and says so per voter', () => {
    const [r] = cycles(at(T0, quorumAt(T0, { 3: { lastCaughtUpMs: T0 - 400, logEndOffset: 998 } })));
    assert.deepEqual(r?.findings, []);
    assert.deepEqual(r?.quorum, {
      leaderId: 1,
      leaderEpoch: 5,
      caughtUp: 3,
      voters: [
        { nodeId: 1, lagRecords: 0, lagMs: 0, caughtUp: true },
        { nodeId: 2, lagRecords: 0, lagMs: 0, caughtUp: true },
        { nodeId: 3, lagRecords: 2, lagMs: 400, caughtUp: true },
      ],
    });
  });

  it('a voter last caught up more than 5 s ago (leader clock) is lagging and named; with 3 voters the quorum is at risk', () => {
    const [r] = cycles(at(T0, quorumAt(T0, { 3: { lastCaughtUpMs: T0 - 7_000, lastFetchMs: T0 - 7_000, logEndOffset: 880 } })));
    assert.deepEqual(quorumFindings(r as DetectResult), [
      { kind: 'ControllerVoterLagging', voter: 3, leaderId: 1, sinceMs: T0 - 7_000, lagRecords: 120, thresholdMs: 5_000 },
      { kind: 'ControllerQuorumAtRisk', voters: 3, caughtUp: 2, lagging: [3] },
    ]);
    // exactly at the threshold is still caught up
    const [edge] = cycles(at(T0, quorumAt(T0, { 3: { lastCaughtUpMs: T0 - 5_000 } })));
    assert.deepEqual(edge?.findings, []);
  });

  it('measures lag on the quorum leader\'s clock: vigil\'s own clock an hour off changes nothing', () => {
    const leaderNow = T0 - 3_600_000;
    const [r] = cycles(at(T0, quorumAt(leaderNow, { 2: { lastCaughtUpMs: leaderNow - 1_000 } })));
    assert.deepEqual(r?.findings, []);
    assert.equal(r?.quorum?.voters[1]?.lagMs, 1_000);
  });

  it('five voters: one lagging is only that voter; two lagging leave a bare majority, at risk; three, below a majority', () => {
    const ids = [1, 2, 3, 4, 5];
    const stale = { lastCaughtUpMs: T0 - 60_000 };
    const kinds = (over: Record<number, Partial<QuorumReplica>>) => quorumFindings(cycles(at(T0, quorumAt(T0, over, { ids })))[0] as DetectResult);
    assert.deepEqual(kinds({ 5: stale }).map((f) => f.kind), ['ControllerVoterLagging']);
    assert.deepEqual(kinds({ 4: stale, 5: stale }).at(-1), { kind: 'ControllerQuorumAtRisk', voters: 5, caughtUp: 3, lagging: [4, 5] });
    assert.deepEqual(kinds({ 3: stale, 4: stale, 5: stale }).at(-1), { kind: 'ControllerQuorumAtRisk', voters: 5, caughtUp: 2, lagging: [3, 4, 5] });
  });

  it('a single-voter quorum is never "at risk": it has no voter to lose by design', () => {
    const [r] = cycles(at(T0, quorumAt(T0, {}, { ids: [1] })));
    assert.deepEqual(r?.findings, []);
  });

  it('keeps a lagging voter\'s start fixed while the leader reports the same caught-up time, so the alert record does not change', () => {
    const stopped = { 2: { lastCaughtUpMs: T0 - 6_000, lastFetchMs: T0 - 6_000 } };
    // vigil's clock and the leader's drift apart by a few ms a cycle: the start stays put
    const rs = cycles(at(T0, quorumAt(T0, stopped)), at(T0 + 1_003, quorumAt(T0 + 1_000, stopped)), at(T0 + 2_011, quorumAt(T0 + 2_000, stopped)));
    const since = rs.map((r) => quorumFindings(r).find((f) => f.kind === 'ControllerVoterLagging')).map((f) => (f?.kind === 'ControllerVoterLagging' ? f.sinceMs : null));
    assert.deepEqual(since, [T0 - 6_000, T0 - 6_000, T0 - 6_000]);
  });

  it('a voter the new leader has no caught-up time for (the old leader, killed) lags from when vigil first saw the epoch', () => {
    const dead = { 1: { lastCaughtUpMs: null, lastFetchMs: null, logEndOffset: null } };
    const epoch6 = (leaderNow: number) => quorumAt(leaderNow, dead, { leader: 2, epoch: 6 });
    const rs = cycles(at(T0, quorumAt(T0)), at(T0 + 1_000, epoch6(T0 + 1_000)), at(T0 + 5_000, epoch6(T0 + 5_000)), at(T0 + 7_000, epoch6(T0 + 7_000)));
    assert.deepEqual(rs.slice(0, 3).map((r) => quorumFindings(r)), [[], [], []]);
    assert.deepEqual(quorumFindings(rs[3] as DetectResult)[0], { kind: 'ControllerVoterLagging', voter: 1, leaderId: 2, sinceMs: T0 + 1_000, lagRecords: null, thresholdMs: 5_000 });
    assert.equal(rs[3]?.quorum?.voters[0]?.lagMs, 6_000);
  });

  it('no leader in the answer, or no answer while brokers answer, for longer than an election takes: ControllerQuorumLeaderless, since the first such cycle, naming the last leader', () => {
    const noLeader: ControllerQuorum = { state: 'described', leaderId: null, leaderEpoch: 5, highWatermark: null, voters: [], observers: [] };
    const failed: ControllerQuorum = { state: 'unanswered', error: 'DescribeQuorum failed: 127.0.0.1:9092: no answer within 800 ms' };
    const grace = DEFAULT_DETECT_OPTIONS.quorumLeaderlessGraceMs;
    const rs = cycles(at(T0, quorumAt(T0)), at(T0 + 1_000, noLeader), at(T0 + 1_000 + grace - 1, noLeader), at(T0 + 1_000 + grace, noLeader), at(T0 + 2_000 + grace, failed), at(T0 + 3_000 + grace, quorumAt(T0 + 3_000 + grace, {}, { leader: 2, epoch: 6 })));
    assert.deepEqual(quorumFindings(rs[1] as DetectResult), [], 'an election in progress is not paged');
    assert.deepEqual(quorumFindings(rs[2] as DetectResult), []);
    assert.deepEqual(quorumFindings(rs[3] as DetectResult), [{ kind: 'ControllerQuorumLeaderless', sinceMs: T0 + 1_000, lastLeaderId: 1, lastEpoch: 5 }]);
    assert.deepEqual(quorumFindings(rs[4] as DetectResult), [{ kind: 'ControllerQuorumLeaderless', sinceMs: T0 + 1_000, error: failed.state === 'unanswered' ? failed.error : '', lastLeaderId: 1, lastEpoch: 5 }]);
    assert.deepEqual(quorumFindings(rs[5] as DetectResult), []);
    assert.equal(rs[4]?.quorum, null);
    // a new vigil leader whose first looks find none: no last leader to name
    assert.deepEqual(quorumFindings(cycles(at(T0, failed), at(T0 + grace, failed))[1] as DetectResult), [{ kind: 'ControllerQuorumLeaderless', sinceMs: T0, error: failed.state === 'unanswered' ? failed.error : '' }]);
    // a leader again within the grace: nothing was paged, and the next outage is timed afresh
    const blip = cycles(at(T0, quorumAt(T0)), at(T0 + 1_000, noLeader), at(T0 + 2_000, quorumAt(T0 + 2_000, {}, { leader: 2, epoch: 6 })), at(T0 + 60_000, noLeader), at(T0 + 60_000 + grace, noLeader));
    assert.deepEqual(blip.map((r) => quorumFindings(r).map((f) => f.kind)), [[], [], [], [], ['ControllerQuorumLeaderless']]);
  });

  it('while the quorum cannot be described, the voter findings of the last answer stand (unknown neither fires nor resolves)', () => {
    const lagging = quorumAt(T0, { 3: { lastCaughtUpMs: T0 - 9_000 } });
    const rs = cycles(at(T0, lagging), at(T0 + 1_000, { state: 'unanswered', error: 'timeout' }), at(T0 + 2_000, { state: 'unobservable', cause: 'not-authorized', reason: 'refused' }));
    const voters = (r: DetectResult) => quorumFindings(r).filter((f) => f.kind !== 'ControllerQuorumLeaderless');
    assert.deepEqual(voters(rs[1] as DetectResult), voters(rs[0] as DetectResult));
    assert.deepEqual(voters(rs[2] as DetectResult), voters(rs[0] as DetectResult));
    assert.equal(quorumFindings(rs[2] as DetectResult).length, 2, 'not observable: no Leaderless finding either');
  });

  it('a cluster without a KRaft quorum, or one that refuses vigil, gives no finding', () => {
    for (const quorum of [
      { state: 'unobservable', cause: 'not-kraft', reason: 'ZooKeeper mode' },
      { state: 'unobservable', cause: 'not-authorized', reason: 'no DESCRIBE on the cluster' },
    ] as const) {
      const [r] = cycles(at(T0, quorum));
      assert.deepEqual(r?.findings, []);
      assert.equal(r?.quorum, null);
    }
  });

  it('Kafka unreachable: the quorum memory is kept for after the outage', () => {
    const grace = DEFAULT_DETECT_OPTIONS.quorumLeaderlessGraceMs;
    const rs = cycles(at(T0, quorumAt(T0)), unreachableSnapshot(T0 + 1_000), at(T0 + 2_000, { state: 'unanswered', error: 'x' }), at(T0 + 2_000 + grace, { state: 'unanswered', error: 'x' }));
    assert.equal(rs[1]?.quorum, null);
    const leaderless = quorumFindings(rs[3] as DetectResult)[0];
    assert.ok(leaderless?.kind === 'ControllerQuorumLeaderless' && leaderless.lastLeaderId === 1);
  });
});

// ---- decide and summaries ---------------------------------------------------------------------

const NO_LAG = { byScope: new Map(), unreadableGroups: new Set<string>() };

describe('decide and summaries: the controller quorum pages (docs/design.md §4)', () => {
  const voter: Finding = { kind: 'ControllerVoterLagging', voter: 3, leaderId: 1, sinceMs: T0 - 7_000, lagRecords: 120, thresholdMs: 5_000 };
  const atRisk: Finding = { kind: 'ControllerQuorumAtRisk', voters: 3, caughtUp: 2, lagging: [3] };
  const leaderless: Finding = { kind: 'ControllerQuorumLeaderless', sinceMs: T0 - 2_000, error: 'DescribeQuorum answered NOT_LEADER_OR_FOLLOWER for __cluster_metadata-0', lastLeaderId: 1, lastEpoch: 5 };

  it('pages each once: leaderless critical and cluster-wide, a lagging voter a warning keyed by its id, at risk a warning', () => {
    const r = decide([leaderless, voter, atRisk], emptyAlertState(), T0, { cluster: 'prod', lag: NO_LAG });
    assert.deepEqual(r.notifications.map((n) => [n.alert.key, n.alert.severity, n.alert.status]), [
      ['prod/ControllerQuorumLeaderless', 'critical', 'firing'],
      ['prod/ControllerVoterLagging/3', 'warning', 'firing'],
      ['prod/ControllerQuorumAtRisk', 'warning', 'firing'],
    ]);
    // the stored state survives a round trip (a new leader continues the incidents)
    assert.deepEqual(parseAlertState(serializeAlertState(r.state)), r.state);
    // a voter whose records behind moved, but not its start: nothing to store again
    const again = decide([leaderless, { ...voter, lagRecords: 180 }, atRisk], r.state, T0 + 1_000, { cluster: 'prod', lag: NO_LAG });
    assert.equal(again.state, r.state);
    assert.deepEqual(again.notifications, []);
    // caught up again: resolved after 3 s without the finding
    const quiet = decide([], r.state, T0 + 2_000, { cluster: 'prod', lag: NO_LAG });
    const done = decide([], quiet.state, T0 + 5_000, { cluster: 'prod', lag: NO_LAG });
    assert.deepEqual(done.notifications.map((n) => [n.alert.key, n.alert.status]), [
      ['prod/ControllerQuorumLeaderless', 'resolved'],
      ['prod/ControllerVoterLagging/3', 'resolved'],
      ['prod/ControllerQuorumAtRisk', 'resolved'],
    ]);
  });

  const rec = (finding: Exclude<Finding, { kind: 'LeaderChanged' }>, quietSinceMs: number | null = null): AlertRecord => ({ finding, severity: 'warning', startsAtMs: T0, quietSinceMs });

  it('says which voter lags behind which leader, for how long and by how much', () => {
    assert.equal(firingSummary(rec(voter), T0), 'KRaft controller voter 3 has not caught up with the quorum leader (node 1) for 7 s (threshold 5 s); 120 records behind');
    assert.equal(
      firingSummary(rec({ ...voter, lagRecords: null, sinceMs: T0 - 65_000 }), T0),
      'KRaft controller voter 3 has not caught up with the quorum leader (node 1) for 1 min 5 s (threshold 5 s)',
    );
    assert.equal(resolvedSummary(rec(voter, T0 + 2_000), T0 + 5_000), 'KRaft controller voter 3 is caught up with the quorum leader again (lagged for 9 s)');
  });

  it('says how many voters are caught up and what one more failure would do', () => {
    assert.equal(firingSummary(rec(atRisk), T0), 'only 2 of 3 KRaft controller voters are caught up with the leader (lagging: voter 3): one more lagging voter and metadata changes stop');
    assert.equal(
      firingSummary(rec({ kind: 'ControllerQuorumAtRisk', voters: 5, caughtUp: 2, lagging: [3, 4, 5] }), T0),
      'only 2 of 5 KRaft controller voters are caught up with the leader (lagging: voters 3, 4, 5): below a majority, the quorum cannot commit metadata changes',
    );
    assert.equal(resolvedSummary(rec(atRisk, T0), T0 + 3_000), 'more than a bare majority of the KRaft controller voters are caught up again');
  });

  it('says the quorum has no leader, since when, the last one, the error, and what that stops', () => {
    assert.equal(
      firingSummary(rec(leaderless), T0),
      'the KRaft controller quorum cannot be described although brokers answer (for 2 s; last leader node 1, epoch 5): DescribeQuorum answered NOT_LEADER_OR_FOLLOWER for __cluster_metadata-0; no metadata change (partition leader election, ISR change, topic change) can happen until a controller leads',
    );
    assert.equal(
      firingSummary(rec({ kind: 'ControllerQuorumLeaderless', sinceMs: T0 }), T0),
      'the KRaft controller quorum has no leader (for 0 s); no metadata change (partition leader election, ISR change, topic change) can happen until a controller leads',
    );
    assert.equal(resolvedSummary(rec(leaderless, T0 + 1_000), T0 + 4_000), 'the KRaft controller quorum has a leader again (none seen for 3 s)');
  });
});

// ---- metrics, status, observer -----------------------------------------------------------------

async function quorumSeries(snap: KafkaSnapshot): Promise<string[]> {
  const m = createMetrics({ nodeId: 'v1', cluster: 'c' });
  recordQuorumMetrics(m, snap, detect(snap, emptyDetectMemory(), DEFAULT_DETECT_OPTIONS).quorum);
  const text = await m.registry.metrics();
  // without the default labels every series carries
  return text.split('\n').filter((l) => l.startsWith('vigil_controller_quorum_')).map((l) => l.replace(/,?cluster="c",node_id="v1"/, '').replace('{}', ''));
}

describe('vigil_controller_quorum_* metrics and kafka.controllerQuorum in /api/v1/status', () => {
  it('exports the leader, epoch, voters caught up and each voter\'s lag in records and seconds', async () => {
    const snap = at(T0, quorumAt(T0, { 3: { lastCaughtUpMs: T0 - 7_500, logEndOffset: 900 } }));
    assert.deepEqual(await quorumSeries(snap), [
      'vigil_controller_quorum_observable 1',
      'vigil_controller_quorum_leader_id 1',
      'vigil_controller_quorum_leader_epoch 5',
      'vigil_controller_quorum_voters 3',
      'vigil_controller_quorum_voters_caught_up 2',
      'vigil_controller_quorum_voter_lag_records{voter="1"} 0',
      'vigil_controller_quorum_voter_lag_records{voter="2"} 0',
      'vigil_controller_quorum_voter_lag_records{voter="3"} 100',
      'vigil_controller_quorum_voter_lag_seconds{voter="1"} 0',
      'vigil_controller_quorum_voter_lag_seconds{voter="2"} 0',
      'vigil_controller_quorum_voter_lag_seconds{voter="3"} 7.5',
    ]);
  });

  it('exports leader -1 alone without a leader, observable 0 alone when refused, nothing without a quorum or without Kafka', async () => {
    assert.deepEqual(await quorumSeries(at(T0, { state: 'unanswered', error: 'timeout' })), ['vigil_controller_quorum_observable 1', 'vigil_controller_quorum_leader_id -1']);
    assert.deepEqual(await quorumSeries(at(T0, { state: 'unobservable', cause: 'not-authorized', reason: 'x' })), ['vigil_controller_quorum_observable 0']);
    assert.deepEqual(await quorumSeries(at(T0, { state: 'unobservable', cause: 'not-kraft', reason: 'x' })), []);
    assert.deepEqual(await quorumSeries(unreachableSnapshot(T0)), []);
  });

  it('shows the quorum observed (with each voter\'s lag), leaderless, or not observable with the reason', () => {
    const q = quorumAt(T0, { 2: { lastCaughtUpMs: T0 - 1_250, lastFetchMs: T0 - 1_000 } });
    const view = detect(at(T0, q), emptyDetectMemory(), DEFAULT_DETECT_OPTIONS).quorum;
    const s = quorumStatus(q, view);
    assert.equal(s['state'], 'observed');
    assert.equal(s['leaderId'], 1);
    assert.equal(s['votersCaughtUp'], 3);
    assert.deepEqual((s['voters'] as unknown[])[1], {
      nodeId: 2, logEndOffset: 1000, lastFetch: new Date(T0 - 1_000).toISOString(), lastCaughtUp: new Date(T0 - 1_250).toISOString(), lagRecords: 0, lagSeconds: 1.3, caughtUp: true,
    });
    assert.deepEqual(quorumStatus({ state: 'unanswered', error: 'timeout' }, null), { state: 'leaderless', error: 'timeout' });
    assert.deepEqual(quorumStatus({ state: 'unobservable', cause: 'not-kraft', reason: 'ZooKeeper mode' }, null), { state: 'not-observable', cause: 'not-kraft', reason: 'ZooKeeper mode' });
  });

  it('the observer asks only brokers that answered their ping, the last quorum leader first', async () => {
    const kafka = new MemoryKafka();
    kafka.quorum = describedQuorum([1, 2, 3], 2, T0);
    const asked: number[][] = [];
    const describe = kafka.describeQuorum.bind(kafka);
    kafka.describeQuorum = async (brokers, timeoutMs) => {
      asked.push(brokers.map((b) => b.nodeId));
      return describe(brokers, timeoutMs);
    };
    const clock = { wallMs: () => T0, monotonicMs: () => 0 };
    const observer = new KafkaObserver(kafka, { lag: { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning', overrides: [] }, groups: { include: ['*'], exclude: [] }, topics: { include: ['*'], exclude: [] }, brokerPingTimeoutMs: 500 }, clock);
    const first = await observer.observe();
    assert.ok(first.ok && first.quorum.state === 'described');
    kafka.down.add(3);
    await observer.observe();
    assert.deepEqual(asked, [[1, 2, 3], [2, 1]]);
    // none answers: the quorum is unanswered, not asked through a dead broker
    kafka.down.add(1).add(2);
    const none = await observer.observe();
    assert.ok(none.ok && none.quorum.state === 'unanswered');
  });
});
