/**
 * `vigil doctor`'s check of the commit stream's grant (`kafka.offsets-stream`, docs/doctor.md;
 * docs/design.md §3.6): the stream's own requests tried once through its port — Metadata for
 * `__consumer_offsets`, one Fetch that does not wait from a partition's leader — and the
 * line each outcome gives. Never a failure: without the grant vigil polls.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MONITOR_ACLS } from '../../src/doctor/kafka-acl';
import { type KafkaFacts, type OffsetsStreamFact, kafkaChecks, offsetsStreamCheck } from '../../src/doctor/kafka-checks';
import { probeOffsetsStream } from '../../src/doctor/kafka-probe';
import type { OffsetsLogAnswer, OffsetsLogLayout, OffsetsLogReader } from '../../src/kafka/offsets-log';
import type { BrokerInfo } from '../../src/kafka/types';

const ctx = { principal: 'User:vigil', bootstrap: 'kafka-1:9093' };
const broker = (nodeId: number): BrokerInfo => ({ nodeId, host: `kafka-${nodeId}`, port: 9093, rack: null });

/** An offsets log whose layout and per-broker answers the test sets; it records every Fetch. */
class ScriptedLog implements OffsetsLogReader {
  readonly fetches: { broker: number; positions: [number, number][]; maxWaitMs: number }[] = [];
  constructor(
    private readonly layoutAnswer: OffsetsLogLayout | Error,
    private readonly answers: (brokerId: number, partition: number) => OffsetsLogAnswer[] | Error = () => [],
  ) {}
  async layout(): Promise<OffsetsLogLayout> {
    if (this.layoutAnswer instanceof Error) throw this.layoutAnswer;
    return this.layoutAnswer;
  }
  async fetch(b: BrokerInfo, positions: ReadonlyMap<number, number>, maxWaitMs: number): Promise<OffsetsLogAnswer[]> {
    this.fetches.push({ broker: b.nodeId, positions: [...positions], maxWaitMs });
    const partition = [...positions.keys()][0] as number;
    const a = this.answers(b.nodeId, partition);
    if (a instanceof Error) throw a;
    return a;
  }
  async close(): Promise<void> {}
}

/** 4 partitions: 0 and 2 led by broker 2, 1 by broker 1, 3 leaderless. */
const layout: OffsetsLogLayout = {
  state: 'ok',
  partitions: 4,
  leaders: new Map<number, BrokerInfo | null>([
    [2, broker(2)],
    [0, broker(2)],
    [1, broker(1)],
    [3, null],
  ]),
};

describe('the commit stream tried once (probeOffsetsStream)', () => {
  it('asks the lowest partition of the first leader, from offset 0, without waiting; records returned mean READ is allowed', async () => {
    const log = new ScriptedLog(layout, (_, partition) => [{ partition, kind: 'entries', entries: [], nextOffset: 0, highWatermark: 0 }]);
    assert.deepEqual(await probeOffsetsStream(log), { state: 'read', partition: 1, leader: 1, answer: 'returned 0 record(s)' });
    assert.deepEqual(log.fetches, [{ broker: 1, positions: [[1, 0]], maxWaitMs: 0 }]);
  });

  it('a Fetch refused with TOPIC_AUTHORIZATION_FAILED is READ denied', async () => {
    const log = new ScriptedLog(layout, (_, partition) => [{ partition, kind: 'error', error: 'TOPIC_AUTHORIZATION_FAILED', denied: true }]);
    assert.deepEqual(await probeOffsetsStream(log), { state: 'denied', operation: 'READ', via: 'Fetch', error: 'TOPIC_AUTHORIZATION_FAILED' });
  });

  it('Metadata refused is DESCRIBE denied, and no Fetch is sent', async () => {
    const log = new ScriptedLog({ state: 'denied', reason: "TOPIC_AUTHORIZATION_FAILED: vigil's principal may not Describe __consumer_offsets" });
    assert.deepEqual(await probeOffsetsStream(log), { state: 'denied', operation: 'DESCRIBE', via: 'Metadata', error: 'TOPIC_AUTHORIZATION_FAILED' });
    assert.deepEqual(log.fetches, []);
  });

  it('the topic absent (no group ever committed) is said so, with no Fetch', async () => {
    const log = new ScriptedLog({ state: 'absent' });
    assert.deepEqual(await probeOffsetsStream(log), { state: 'absent' });
    assert.deepEqual(log.fetches, []);
  });

  it('any other Fetch answer passed Kafka\'s READ check: a log start above 0, NOT_LEADER', async () => {
    const below = new ScriptedLog(layout, (_, partition) => [{ partition, kind: 'out-of-range', logStartOffset: 42 }]);
    assert.deepEqual(await probeOffsetsStream(below), { state: 'read', partition: 1, leader: 1, answer: 'answered the log start offset (42)' });
    const moved = new ScriptedLog(layout, (_, partition) => [{ partition, kind: 'error', error: 'NOT_LEADER_OR_FOLLOWER', denied: false }]);
    assert.deepEqual(await probeOffsetsStream(moved), { state: 'read', partition: 1, leader: 1, answer: "answered NOT_LEADER_OR_FOLLOWER (an answer past Kafka's READ check)" });
  });

  it('a leader that cannot be asked is passed over for the next; when none can, the grant is untested with every reason', async () => {
    const log = new ScriptedLog(layout, (brokerId, partition) => (brokerId === 1 ? new Error('Connection timeout') : [{ partition, kind: 'entries', entries: [], nextOffset: 0, highWatermark: 5 }]));
    assert.deepEqual(await probeOffsetsStream(log), { state: 'read', partition: 0, leader: 2, answer: 'returned 0 record(s)' });
    assert.deepEqual(log.fetches.map((f) => [f.broker, f.positions]), [[1, [[1, 0]]], [2, [[0, 0]]]]);

    const none = new ScriptedLog(layout, (brokerId) => (brokerId === 1 ? new Error('Connection timeout') : []));
    assert.deepEqual(await probeOffsetsStream(none), {
      state: 'untested',
      reason: 'the Fetch failed: partition 1 at broker 1 (kafka-1:9093): Connection timeout; partition 0 at broker 2 (kafka-2:9093): the Fetch answered nothing for it',
    });
  });

  it('no partition with a leader, or Metadata failing, leaves the grant untested', async () => {
    const leaderless = new ScriptedLog({ state: 'ok', partitions: 1, leaders: new Map([[0, null]]) });
    assert.deepEqual(await probeOffsetsStream(leaderless), { state: 'untested', reason: 'no partition of __consumer_offsets has a leader' });
    const failing = new ScriptedLog(new Error('no broker answered'));
    const fact = await probeOffsetsStream(failing);
    assert.equal(fact.state, 'untested');
    assert.match((fact as { reason: string }).reason, /^Metadata for __consumer_offsets failed: .*no broker answered/);
  });
});

describe('the kafka.offsets-stream line', () => {
  const line = (fact: OffsetsStreamFact) => offsetsStreamCheck(fact, ctx, 1000);

  it('denied: a warning, not a failure, naming the missing permission, what vigil does instead, and the command that grants it', () => {
    const c = line({ state: 'denied', operation: 'READ', via: 'Fetch', error: 'TOPIC_AUTHORIZATION_FAILED' });
    assert.equal(c.id, 'kafka.offsets-stream');
    assert.equal(c.status, 'warn');
    assert.equal(
      c.found,
      "READ on TOPIC __consumer_offsets denied to User:vigil (Fetch: TOPIC_AUTHORIZATION_FAILED): the commit stream (monitor.offsetsSource: stream) cannot read it, so vigil falls back to polling — offsets are polled with OffsetFetch per group; pages come up to one poll interval (monitor.pollInterval, 1s) later, and the cluster's load grows with the number of groups",
    );
    assert.equal(
      c.fix,
      'kafka-acls.sh --bootstrap-server kafka-1:9093 --command-config admin.properties --add --allow-principal User:vigil --operation Read --operation Describe --topic __consumer_offsets # or set monitor.offsetsSource: poll to poll on purpose',
    );
    const describe = line({ state: 'denied', operation: 'DESCRIBE', via: 'Metadata', error: 'TOPIC_AUTHORIZATION_FAILED' });
    assert.equal(describe.status, 'warn');
    assert.match(describe.found, /^DESCRIBE on TOPIC __consumer_offsets denied to User:vigil \(Metadata: TOPIC_AUTHORIZATION_FAILED\)/);
    assert.equal(describe.fix, c.fix, 'one grant of both: READ alone would imply DESCRIBE, both are named as the docs name them');
  });

  it('allowed: ok, naming what answered', () => {
    const c = line({ state: 'read', partition: 7, leader: 2, answer: 'returned 3 record(s), decoded' });
    assert.equal(c.status, 'ok');
    assert.equal(c.fix, undefined);
    assert.equal(
      c.found,
      'DESCRIBE and READ on TOPIC __consumer_offsets allowed to User:vigil: Metadata, and a Fetch of partition 7 from its leader (broker 2) that returned 3 record(s), decoded; needed by the commit stream (monitor.offsetsSource: stream)',
    );
  });

  it('the topic absent: ok, with the note that no group has committed yet', () => {
    const c = line({ state: 'absent' });
    assert.equal(c.status, 'ok');
    assert.match(c.found, /^__consumer_offsets does not exist yet: no group has ever committed an offset/);
  });

  it('poll mode: skipped, and why', () => {
    const c = line({ state: 'skipped' });
    assert.equal(c.status, 'ok');
    assert.match(c.found, /^skipped: monitor\.offsetsSource is poll, so vigil reads every group's committed offsets with OffsetFetch/);
  });

  it('untested: a warning with the reason', () => {
    const c = line({ state: 'untested', reason: 'no partition of __consumer_offsets has a leader' });
    assert.equal(c.status, 'warn');
    assert.match(c.found, /not tested: no partition of __consumer_offsets has a leader$/);
  });

  it('follows the ACL lines; absent when Kafka could not be asked', () => {
    const base: KafkaFacts = { bootstrap: [{ address: 'k1:9093', ok: true }], advertised: [{ nodeId: 1, address: 'k1:9093', ok: true }], requirements: MONITOR_ACLS, access: [] };
    const kafka = { ssl: false as const };
    const withLine = kafkaChecks({ ...base, offsetsStream: { state: 'absent' } }, kafka, ctx, 1000);
    assert.equal(withLine.length, 2 + MONITOR_ACLS.length + 1);
    assert.equal(withLine.at(-1)?.id, 'kafka.offsets-stream');
    assert.equal(kafkaChecks(base, kafka, ctx, 1000).some((c) => c.id === 'kafka.offsets-stream'), false);
  });
});
