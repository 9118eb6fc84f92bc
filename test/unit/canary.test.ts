/**
 * The canary (docs/design.md §3 "Canary", §4 CanaryDegraded, §7 vigil_canary_latency_seconds):
 * the pure planning and state mapping, and the driver on the in-memory port with a manual
 * clock — topic management under the lease, latency per broker, hung brokers, no pile-up.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { CanaryTopology } from '../../src/kafka/canary-port';
import { createLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import {
  Canary,
  type ProbeOutcome,
  canaryProbeTimeoutMs,
  canaryRecordValue,
  canaryStateOf,
  canaryStates,
  planCanaryTopic,
  probeTargets,
  ringReplicas,
} from '../../src/monitor/canary';
import { ManualTime } from '../fakes/manual-time';
import { MemoryCanaryPort } from '../fakes/memory-canary';

const TOPIC = '__vigil_canary';

// ---- pure ----------------------------------------------------------------------------------

describe('canary topic planning (docs/design.md §3: one partition led by each broker)', () => {
  it('creates partition i led by the i-th broker with min(3, brokers) replicas spread round the ring', () => {
    assert.deepEqual(planCanaryTopic([3, 1, 2], null), { kind: 'create', assignment: [[1, 2, 3], [2, 3, 1], [3, 1, 2]] });
    assert.deepEqual(planCanaryTopic([1], null), { kind: 'create', assignment: [[1]] });
    assert.deepEqual(planCanaryTopic([1, 2], null), { kind: 'create', assignment: [[1, 2], [2, 1]] });
    assert.deepEqual(planCanaryTopic([1, 2, 4, 5, 7], null), {
      kind: 'create',
      assignment: [[1, 2, 4], [2, 4, 5], [4, 5, 7], [5, 7, 1], [7, 1, 2]],
    });
  });

  it('adds one partition per joining broker, with the existing replication factor', () => {
    const existing = [{ partition: 0, replicas: [1, 2, 3] }, { partition: 1, replicas: [2, 3, 1] }, { partition: 2, replicas: [3, 1, 2] }];
    assert.deepEqual(planCanaryTopic([1, 2, 3, 4, 5], existing), {
      kind: 'add-partitions', currentCount: 3, brokers: [4, 5], assignments: [[4, 5, 1], [5, 1, 2]],
    });
    const rf2 = [{ partition: 0, replicas: [1, 2] }, { partition: 1, replicas: [2, 1] }];
    assert.deepEqual(planCanaryTopic([1, 2, 3], rf2), { kind: 'add-partitions', currentCount: 2, brokers: [3], assignments: [[3, 1]] });
  });

  it('never removes partitions: a broker that left keeps its partition and the plan stays complete', () => {
    const existing = [{ partition: 0, replicas: [1, 2, 3] }, { partition: 1, replicas: [2, 3, 1] }, { partition: 2, replicas: [3, 1, 2] }];
    assert.deepEqual(planCanaryTopic([1, 3], existing), { kind: 'complete' });
    assert.deepEqual(planCanaryTopic([1, 2, 3], existing), { kind: 'complete' });
  });

  it('leaves a layout vigil did not create alone and names the brokers it does not cover', () => {
    const foreign = [{ partition: 0, replicas: [2, 3, 1] }, { partition: 1, replicas: [2, 1, 3] }];
    assert.deepEqual(planCanaryTopic([1, 2, 3], foreign), { kind: 'foreign', uncovered: [1, 3] });
  });

  it('is blocked when new partitions cannot get the replication factor of the existing ones', () => {
    const plan = planCanaryTopic([1, 4], [{ partition: 0, replicas: [1, 2, 3] }]);
    assert.equal(plan.kind, 'blocked');
    assert.deepEqual(plan.kind === 'blocked' && plan.uncovered, [4]);
    assert.match(plan.kind === 'blocked' ? plan.reason : '', /replication factor 3 exceeds the 2 live brokers/);
  });

  it('waits while a topic lists no partitions (being created)', () => {
    assert.deepEqual(planCanaryTopic([1, 2, 3], []), { kind: 'wait' });
  });

  it('ringReplicas refuses a leader that is not a broker', () => {
    assert.deepEqual(ringReplicas(3, [1, 2, 3], 3), [3, 1, 2]);
    assert.throws(() => ringReplicas(9, [1, 2, 3], 3), /broker 9/);
  });
});

describe('canary probe targets and states', () => {
  const broker = (nodeId: number) => ({ nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack: null });

  it('probes each partition whose preferred leader is live, through its current leader', () => {
    const topology: CanaryTopology = {
      brokers: [broker(1), broker(3)],
      partitions: [
        { partition: 0, leader: 1, replicas: [1, 2, 3] },
        { partition: 1, leader: 3, replicas: [2, 3, 1] }, // preferred leader 2 left the cluster
        { partition: 2, leader: 1, replicas: [3, 1, 2] }, // led by 1 after a failover
        { partition: 3, leader: 2, replicas: [3, 2, 1] }, // led by a broker that is not live
      ],
    };
    assert.deepEqual(
      probeTargets(topology).map((t) => [t.partition, t.preferredLeader, t.leader?.nodeId ?? null, t.leaderId]),
      [[0, 1, 1, 1], [2, 3, 1, 1], [3, 3, null, 2]],
    );
  });

  const base = { partition: 1, preferredLeader: 2, leader: 2, atMs: 1_000 };

  it('maps every outcome to a state whose error names what failed (produce / read-back / timeout)', () => {
    const cases: [ProbeOutcome, boolean, number | null, string | undefined][] = [
      [{ ...base, kind: 'ok', latencyMs: 12.345 }, true, 12.3, undefined],
      [{ ...base, kind: 'failed', stage: 'produce', error: 'broker 2 (h:1): NOT_LEADER_OR_FOLLOWER' }, false, null, 'produce via broker 2 failed: broker 2 (h:1): NOT_LEADER_OR_FOLLOWER'],
      [{ ...base, kind: 'failed', stage: 'read-back', error: 'boom' }, false, null, 'read-back via broker 2 failed: boom'],
      [{ ...base, kind: 'timeout', stage: 'produce', afterMs: 5000 }, false, null, 'timeout: no answer to the produce via broker 2 within 5000 ms'],
      [{ ...base, kind: 'timeout', stage: 'read-back', afterMs: 800 }, false, null, 'timeout: no answer to the read-back via broker 2 within 800 ms'],
      [{ ...base, leader: null, kind: 'no-leader', leaderId: -1 }, false, null, `partition 1 of ${TOPIC} has no leader`],
      [{ ...base, leader: null, kind: 'no-leader', leaderId: 5 }, false, null, `partition 1 of ${TOPIC} is led by broker 5, which is not live`],
      [{ ...base, kind: 'pending', afterMs: 5000 }, false, null, 'timeout: the previous probe via broker 2 has had no answer for more than 5000 ms'],
    ];
    for (const [outcome, ok, latencyMs, error] of cases) {
      const s = canaryStateOf(outcome, TOPIC);
      assert.equal(s.broker, 2);
      assert.equal(s.partition, 1);
      assert.equal(s.probedAtMs, 1_000);
      assert.equal(s.ok, ok, outcome.kind);
      assert.equal(s.latencyMs, latencyMs, outcome.kind);
      assert.equal(s.error, error, outcome.kind);
    }
  });

  it('one state per broker, sorted, the worst of its partitions winning', () => {
    const states = canaryStates(
      [
        { ...base, partition: 0, preferredLeader: 3, kind: 'ok', latencyMs: 5 },
        { ...base, partition: 1, preferredLeader: 2, kind: 'ok', latencyMs: 4 },
        { ...base, partition: 2, preferredLeader: 2, kind: 'ok', latencyMs: 9 },
        { ...base, partition: 3, preferredLeader: 1, kind: 'ok', latencyMs: 1 },
        { ...base, partition: 4, preferredLeader: 1, kind: 'timeout', stage: 'produce', afterMs: 100 },
      ],
      TOPIC,
    );
    assert.deepEqual(states.map((s) => [s.broker, s.partition, s.ok, s.latencyMs]), [[1, 4, false, null], [2, 2, true, 9], [3, 0, true, 5]]);
  });

  it('probe timeout is five intervals, at most five seconds', () => {
    assert.equal(canaryProbeTimeoutMs(1_000), 5_000);
    assert.equal(canaryProbeTimeoutMs(200), 1_000);
    assert.equal(canaryProbeTimeoutMs(10_000), 5_000);
  });

  it('the record value carries the node id and the send time', () => {
    assert.deepEqual(JSON.parse(canaryRecordValue('vigil-2', 7, 1_800_000_000_123)), { v: 1, node: 'vigil-2', seq: 7, sentAtMs: 1_800_000_000_123 });
  });
});

// ---- driver ------------------------------------------------------------------------------

const INTERVAL_MS = 100;
const TIMEOUT_MS = canaryProbeTimeoutMs(INTERVAL_MS); // 500

interface Rig {
  time: ManualTime;
  port: MemoryCanaryPort;
  canary: Canary;
  metrics: ReturnType<typeof createMetrics>;
  logs: string[];
  lease: { valid: boolean };
}

function rig(opts: { brokers?: number[]; lease?: boolean } = {}): Rig {
  const time = new ManualTime();
  const port = new MemoryCanaryPort(opts.brokers ?? [1, 2, 3], (ms) => new Promise<void>((resolve) => time.set(resolve, ms)));
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const metrics = createMetrics({ nodeId: 'vigil-1', cluster: 'test' });
  const lease = { valid: opts.lease ?? true };
  const canary = new Canary({
    port,
    config: { topic: TOPIC, intervalMs: INTERVAL_MS },
    nodeId: 'vigil-1',
    clock: time,
    logger: createLogger({ level: 'info', destination }),
    metrics,
    mayAct: () => lease.valid,
    timers: time,
  });
  return { time, port, canary, metrics, logs, lease };
}

/** Starts the canary and runs rounds until every broker has a state. */
async function started(r: Rig): Promise<void> {
  r.canary.start();
  await r.time.advanceSettling(0); // creates the topic
  await r.time.advanceSettling(INTERVAL_MS); // first probes
  assert.deepEqual(r.canary.states().map((s) => s.broker), r.port.brokers.map((b) => b.nodeId));
}

/** Stops the canary, letting a round that waits on the fake's timers finish. */
async function stopCanary(r: Rig): Promise<void> {
  const stopping = r.canary.stop();
  await r.time.advanceSettling(TIMEOUT_MS);
  await stopping;
}

async function gaugeValues(r: Rig): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await r.metrics.canaryLatencySeconds.get()).values) out[String(v.labels.broker)] = v.value;
  return out;
}

function stateOf(r: Rig, broker: number) {
  const s = r.canary.states().find((x) => x.broker === broker);
  assert.ok(s, `a state for broker ${broker}`);
  return s;
}

describe('Canary driver (docs/design.md §3 Canary)', () => {
  it('creates the topic with one partition led by each broker only while the lease holds', async () => {
    const r = rig({ lease: false });
    r.canary.start();
    await r.time.advanceSettling(0);
    await r.time.advanceSettling(INTERVAL_MS * 3);
    assert.equal(r.port.count('createTopic'), 0, 'no side effect without the lease');
    assert.deepEqual(r.canary.states(), []);
    r.lease.valid = true;
    await r.time.advanceSettling(INTERVAL_MS);
    assert.deepEqual(r.port.calls.filter((c) => c.op === 'createTopic').map((c) => c.op === 'createTopic' && c.assignment), [[[1, 2, 3], [2, 3, 1], [3, 1, 2]]]);
    await r.time.advanceSettling(INTERVAL_MS);
    assert.deepEqual(r.canary.states().map((s) => [s.broker, s.partition, s.leader, s.ok]), [[1, 0, 1, true], [2, 1, 2, true], [3, 2, 3, true]]);
    await stopCanary(r);
  });

  it('measures produce-to-read-back latency per broker on the monotonic clock and exports it in seconds', async () => {
    const r = rig();
    await started(r);
    r.port.delayMs.set(1, 3).set(2, 250).set(3, 7);
    await r.time.advanceSettling(INTERVAL_MS); // the round starts
    assert.equal(stateOf(r, 1).latencyMs, 0, 'the round is not over before its slowest probe');
    await r.time.advanceSettling(250);
    assert.deepEqual(r.canary.states().map((s) => [s.broker, s.ok, s.latencyMs]), [[1, true, 3], [2, true, 250], [3, true, 7]]);
    assert.deepEqual(await gaugeValues(r), { '1': 0.003, '2': 0.25, '3': 0.007 });
    // each record says who sent it and when
    const value = JSON.parse(r.port.produced(TOPIC, 1)[0] as string);
    assert.equal(value.node, 'vigil-1');
    assert.equal(typeof value.sentAtMs, 'number');
    await stopCanary(r);
  });

  it('adds a partition led by a broker that joins, and keeps the partition of one that leaves', async () => {
    const r = rig();
    await started(r);
    r.port.addBroker(4);
    await r.time.advanceSettling(INTERVAL_MS);
    assert.deepEqual(r.port.calls.filter((c) => c.op === 'createPartitions').map((c) => c.op === 'createPartitions' && [c.currentCount, c.assignments]), [[3, [[4, 1, 2]]]]);
    await r.time.advanceSettling(INTERVAL_MS);
    assert.deepEqual(stateOf(r, 4).partition, 3);
    assert.equal(stateOf(r, 4).ok, true);

    r.port.removeBroker(2);
    await r.time.advanceSettling(INTERVAL_MS * 3);
    assert.equal(r.port.count('createPartitions'), 1, 'no further topic changes');
    assert.equal(r.port.count('createTopic'), 1);
    assert.equal(r.port.topics.get(TOPIC)?.length, 4, 'no partition deleted');
    assert.deepEqual(r.canary.states().map((s) => s.broker), [1, 3, 4], 'a broker that left has no state');
    assert.deepEqual(Object.keys(await gaugeValues(r)).sort(), ['1', '3', '4'], "its latency series is cleared");
    await stopCanary(r);
  });

  it('uses a topic laid out by someone else as it is and logs the brokers without a canary partition', async () => {
    const r = rig();
    r.port.seedTopic(TOPIC, [[2, 3, 1], [2, 1, 3]]);
    r.canary.start();
    await r.time.advanceSettling(INTERVAL_MS * 3);
    assert.equal(r.port.count('createTopic') + r.port.count('createPartitions'), 0);
    assert.deepEqual(r.canary.states().map((s) => [s.broker, s.ok]), [[2, true]]);
    const warnings = r.logs.filter((l) => l.includes('brokers without a canary partition'));
    assert.equal(warnings.length, 1, 'logged once, not every round');
    assert.match(warnings[0] as string, /vigil did not create/);
    assert.deepEqual(JSON.parse(warnings[0] as string).brokers, [1, 3]);
    await stopCanary(r);
  });

  it('a hung broker: its probe times out while the others report, and no new round starts until the timeout', async () => {
    const r = rig();
    await started(r);
    const describesBefore = r.port.count('describe');
    r.port.hung.add(2);
    await r.time.advanceSettling(INTERVAL_MS); // a round starts and blocks on broker 2
    assert.equal(r.port.count('describe'), describesBefore + 1);
    await r.time.advanceSettling(TIMEOUT_MS - 1);
    assert.equal(r.port.count('describe'), describesBefore + 1, 'no round started while the previous one runs');
    assert.equal(stateOf(r, 2).ok, true, 'the last state stands until the probe times out');
    await r.time.advanceSettling(1);
    const s2 = stateOf(r, 2);
    assert.equal(s2.ok, false);
    // the round that timed out is followed at once by one that finds the probe still pending
    assert.match(s2.error ?? '', /^timeout: /);
    const failing = r.logs.filter((l) => l.includes('canary via broker 2 failing'));
    assert.equal(failing.length, 1);
    assert.equal(JSON.parse(failing[0] as string).error, `timeout: no answer to the produce via broker 2 within ${TIMEOUT_MS} ms`);
    assert.equal(stateOf(r, 1).ok, true);
    assert.equal(stateOf(r, 3).ok, true);
    assert.equal('2' in (await gaugeValues(r)), false, 'no latency series without a measurement');

    // Later rounds go on at the interval; the hung partition gets no second request.
    await r.time.advanceSettling(INTERVAL_MS * 10);
    assert.ok(r.port.count('describe') >= describesBefore + 10);
    assert.equal(r.port.count('produce', (c) => c.op === 'produce' && c.broker === 2 && c.partition === 1), 2, 'one before the hang, one hung');
    assert.equal(r.port.maxInFlight.get(1), 1);
    assert.equal(stateOf(r, 2).error, `timeout: the previous probe via broker 2 has had no answer for more than ${TIMEOUT_MS} ms`);
    assert.equal(stateOf(r, 1).ok, true);
    assert.equal(stateOf(r, 3).ok, true);

    r.port.resume(2);
    await r.time.advanceSettling(INTERVAL_MS);
    await r.time.advanceSettling(INTERVAL_MS);
    assert.equal(stateOf(r, 2).ok, true, 'healthy again after the broker answers');
    assert.ok(r.logs.some((l) => l.includes('canary via broker 2 failing')));
    assert.ok(r.logs.some((l) => l.includes('canary via broker 2 healthy again')));
    await stopCanary(r);
  });

  it('a failed produce or read-back is ok:false naming the stage and the broker, never an exception', async () => {
    const r = rig();
    await started(r);
    r.port.failing.set(3, 'REQUEST_TIMED_OUT');
    r.port.readBackOverride.set(0, '{"someone":"else"}');
    r.port.readBackOverride.set(1, null);
    await r.time.advanceSettling(INTERVAL_MS);
    assert.equal(stateOf(r, 3).error, 'produce via broker 3 failed: broker 3 (127.0.0.1:9003): REQUEST_TIMED_OUT');
    assert.match(stateOf(r, 1).error ?? '', /^read-back via broker 1 failed: the record at offset \d+ is not the one produced$/);
    assert.match(stateOf(r, 2).error ?? '', /^read-back via broker 2 failed: no record at the acknowledged offset \d+$/);
    assert.deepEqual(await gaugeValues(r), {});
    await stopCanary(r);
  });

  it('reports the broker that actually leads a partition, and a partition without a leader', async () => {
    const r = rig();
    await started(r);
    r.port.setLeader(TOPIC, 1, 3);
    r.port.setLeader(TOPIC, 0, -1);
    await r.time.advanceSettling(INTERVAL_MS);
    assert.deepEqual([stateOf(r, 2).ok, stateOf(r, 2).leader], [true, 3]);
    assert.deepEqual([stateOf(r, 1).ok, stateOf(r, 1).leader, stateOf(r, 1).error], [false, null, `partition 0 of ${TOPIC} has no leader`]);
    await stopCanary(r);
  });

  it('keeps probing with the last layout when the metadata cannot be read, and logs that once', async () => {
    const r = rig();
    await started(r);
    const produces = r.port.count('produce');
    r.port.describeError = 'KAFKA_UNREACHABLE: no broker answered';
    await r.time.advanceSettling(INTERVAL_MS * 3);
    assert.equal(r.port.count('produce'), produces + 9);
    assert.deepEqual(r.canary.states().map((s) => s.ok), [true, true, true]);
    assert.equal(r.logs.filter((l) => l.includes('could not read the metadata')).length, 1);
    await stopCanary(r);
  });

  it('a failed topic creation is logged once with what to do, and retried', async () => {
    const r = rig();
    r.port.adminError = 'TOPIC_AUTHORIZATION_FAILED';
    r.canary.start();
    await r.time.advanceSettling(INTERVAL_MS * 3);
    assert.ok(r.port.count('createTopic') >= 3);
    const errors = r.logs.filter((l) => l.includes('could not create topic'));
    assert.equal(errors.length, 1);
    assert.match(errors[0] as string, /TOPIC_AUTHORIZATION_FAILED.*permission to create the topic/);
    r.port.adminError = null;
    await r.time.advanceSettling(INTERVAL_MS * 2);
    assert.equal(r.canary.states().length, 3);
    await stopCanary(r);
  });

  it('start and stop are idempotent; stop waits for the running round, then forgets states and series', async () => {
    const r = rig();
    r.canary.start();
    r.canary.start();
    await r.time.advanceSettling(0);
    assert.equal(r.port.count('describe'), 1, 'a second start() runs no second loop');
    await r.time.advanceSettling(INTERVAL_MS);
    assert.equal(r.canary.states().length, 3);

    r.port.hung.add(1);
    await r.time.advanceSettling(INTERVAL_MS); // a round blocks on broker 1
    let stopped = false;
    const stopping = r.canary.stop().then(() => {
      stopped = true;
    });
    await r.time.advanceSettling(TIMEOUT_MS - 1);
    assert.equal(stopped, false, 'stop() waits for the running round');
    await r.time.advanceSettling(1);
    await stopping;
    assert.deepEqual(r.canary.states(), []);
    assert.deepEqual(await gaugeValues(r), {});
    await r.canary.stop();
    const describes = r.port.count('describe');
    await r.time.advanceSettling(INTERVAL_MS * 5);
    assert.equal(r.port.count('describe'), describes, 'no rounds after stop()');

    r.port.resume(1);
    r.canary.start();
    await r.time.advanceSettling(INTERVAL_MS * 2);
    assert.deepEqual(r.canary.states().map((s) => s.ok), [true, true, true], 'probes again after a new start()');
    await stopCanary(r);
  });
});
