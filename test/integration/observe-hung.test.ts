/**
 * The leader's observe cycle while a broker hangs (issue 7 item 2; docs/design.md §1): a
 * SIGSTOPped broker accepts connections and answers nothing, so every request sent to it
 * would hold the cycle for kafka.requestTimeout. The observer pings first, and the admin
 * asks a broker that failed its ping nothing else (KafkaAdmin.pingBrokers), so the cycle
 * sends the paused broker its ping and nothing more — counted at the connection layer,
 * not timed — and still reports the other brokers' partitions and groups.
 *
 * Real 3-broker Kafka, vigil's production Kafka timeouts (request 5 s, connection 1 s) and
 * ping deadline (800 ms), a produced topic led partly by the paused broker, and consumer
 * groups committing, one or more coordinated by it. The pause is a few cycles long, well
 * inside Kafka's 9 s broker session timeout: the broker still leads its partitions and
 * coordinates its groups, as a hung broker does until Kafka fences it. The cycle time
 * this buys is measured by test/bench/observe-hung.bench.ts, not asserted here.
 *
 * A broker that only limps — paused for less than the ping deadline in each cycle, right
 * after its ping, so it answers every request late but answers — stays reachable, and its
 * answer times (docs/design.md §4.3) name it as the one slow broker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KafkajsAdmin } from '../../src/kafka/kafkajs-admin';
import { DEFAULT_DETECT_OPTIONS, slowAnswerers } from '../../src/monitor/detect';
import type { KafkaSnapshot } from '../../src/monitor/snapshot';
import { KafkaObserver } from '../../src/monitor/observe';
import { systemClock } from '../../src/util/clock';
import { OffsetCommitter } from '../harness/commit-offsets';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { waitFor } from '../harness/wait';
import { SimulatedGroup, Workload } from '../harness/workload';

const TOPIC = 'hung-orders';
const PARTITIONS = 6;
/** with 8 groups, the chance that one broker coordinates all of them is 3^-7 */
const GROUPS = 8;
const PAUSED_CYCLES = 3;
/**
 * a limp: each cycle the broker is paused right after its ping, for less than the 800 ms ping
 * deadline; in most cycles of the 10-cycle answer window, so that a typical cycle's slowest
 * answer from it is a late one
 */
const LIMP_CYCLES = 7;
const LIMP_MS = 750;
const WAIT_MS = 90_000;
const lag = { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning' as const, overrides: [] };

let cluster: KafkaCluster;
let admin: KafkajsAdmin;
let workload: Workload;
let committer: OffsetCommitter;
const groups: SimulatedGroup[] = [];
/** connections asked for, per broker address: a hung broker's requests all start with one */
const connects = new Map<string, number>();

before(async () => {
  cluster = await startKafka({ brokers: 3, name: 'observe-hung' });
  await cluster.createTopic(TOPIC, { partitions: PARTITIONS, replicationFactor: 3 });
  admin = new KafkajsAdmin({ brokers: cluster.bootstrap, clientId: 'vigil-observe-hung-test', ssl: false, connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 });
  const conns = admin.connections;
  const connect = conns.connect.bind(conns);
  conns.connect = (address: string) => {
    connects.set(address, (connects.get(address) ?? 0) + 1);
    return connect(address);
  };
  workload = new Workload({ bootstrap: cluster.bootstrap, topic: TOPIC, partitions: PARTITIONS, ratePerSec: 5 });
  await workload.start();
  committer = new OffsetCommitter(cluster.bootstrap);
  for (let g = 0; g < GROUPS; g++) {
    const sg = new SimulatedGroup(workload, `hung-group-${g}`, TOPIC, PARTITIONS, () => ({ latencyMs: 1_000 }), 200, committer);
    groups.push(sg);
    sg.start();
  }
});

after(async () => {
  await Promise.allSettled(groups.map((g) => g.stop()));
  await Promise.allSettled([workload?.stop(), committer?.close(), admin?.close()]);
  await cluster?.shutdown();
});

type Snapshot = KafkaSnapshot & { ok: true };

/**
 * An observer whose cycles all see every group committed on every partition and described
 * with its coordinator, and the broker to pause: one coordinating some groups but not all.
 */
async function watching() {
  const observer = new KafkaObserver(admin, { lag, groups: { include: ['hung-group-*'], exclude: [] }, topics: { include: [TOPIC], exclude: [] }, brokerPingTimeoutMs: 800 }, systemClock);
  const cycle = async (): Promise<Snapshot> => {
    const snap = await observer.observe();
    assert.ok(snap.ok, `the snapshot failed: ${snap.ok ? '' : snap.error}`);
    return snap;
  };
  const healthy = await waitFor(
    async () => {
      const snap = await cycle();
      const ready = snap.groups.length === GROUPS && snap.groups.every((g) => g.coordinator !== undefined && g.error === undefined && !/unknown/.test(g.state) && g.partitions.length === PARTITIONS && g.partitions.every((p) => p.error === undefined));
      return ready ? snap : null;
    },
    { timeoutMs: WAIT_MS, intervalMs: 200, what: 'every group committed on every partition and described' },
  );
  const coordinated = (id: number) => healthy.groups.filter((g) => g.coordinator === id).map((g) => g.group);
  const victim = [1, 2, 3].find((id) => coordinated(id).length > 0 && coordinated(id).length < GROUPS) as number;
  assert.ok(victim !== undefined, `the groups are spread over more than one coordinator: ${healthy.groups.map((g) => `${g.group}@${g.coordinator}`).join(', ')}`);
  /** resumed: asked again from its first answered ping */
  const recovered = () =>
    waitFor(
      async () => {
        const snap = await cycle();
        const back = snap.brokers.find((x) => x.nodeId === victim)?.reachable === true;
        return back && snap.groups.every((g) => g.error === undefined && !/unknown/.test(g.state) && g.partitions.every((p) => p.error === undefined));
      },
      { timeoutMs: WAIT_MS, intervalMs: 200, what: `broker ${victim} reachable and every group and partition read again` },
    );
  return { cycle, coordinated, victim, recovered };
}

describe('the observe cycle with a hung broker (issue 7 item 2)', () => {
  it("asks the paused broker nothing but its ping, marks it unreachable since the first such cycle, and reports the other brokers' partitions and groups", () =>
    withLogsOnFailure([cluster], async () => {
      const { cycle, coordinated, victim, recovered } = await watching();
      const address = cluster.brokerAddress(victim);

      cluster.pause(victim);
      let since: number | undefined;
      try {
        for (let i = 1; i <= PAUSED_CYCLES; i++) {
          const before = connects.get(address) ?? 0;
          const snap = await cycle();
          assert.equal((connects.get(address) ?? 0) - before, 1, `cycle ${i}: one connection to the paused broker ${victim}, its ping's`);
          const b = snap.brokers.find((x) => x.nodeId === victim);
          assert.equal(b?.reachable, false, `cycle ${i}: broker ${victim} unreachable`);
          since ??= b?.unreachableSinceMs;
          assert.ok(since !== undefined && b?.unreachableSinceMs === since, `cycle ${i}: unreachable since the first paused cycle (${since}), not ${b?.unreachableSinceMs}`);

          const leader = new Map(snap.partitions.map((p) => [p.partition, p.leader]));
          assert.ok([...leader.values()].includes(victim), `cycle ${i}: broker ${victim} still leads partitions of ${TOPIC}`);
          for (const g of snap.groups) {
            assert.equal(g.partitions.length, PARTITIONS, `cycle ${i}: ${g.group} reported on every partition`);
            if (coordinated(victim).includes(g.group)) {
              assert.match(g.state, /coordinator unavailable; committed offsets as last seen/, `cycle ${i}: ${g.group}`);
            } else {
              assert.equal(g.error, undefined, `cycle ${i}: ${g.group}, coordinated by broker ${g.coordinator}`);
              assert.doesNotMatch(g.state, /unknown/, `cycle ${i}: ${g.group} read this cycle`);
            }
            for (const p of g.partitions) {
              if (leader.get(p.partition) === victim) {
                assert.match(p.error ?? '', /not asked: the broker at .* did not answer its last ping .*end offset as last seen/, `cycle ${i}: ${g.group}/${p.partition}`);
              } else {
                assert.equal(p.error, undefined, `cycle ${i}: ${g.group}/${p.partition}, led by broker ${leader.get(p.partition)}`);
              }
              assert.notEqual(p.end, null, `cycle ${i}: ${g.group}/${p.partition} has an end offset`);
            }
          }
        }
      } finally {
        cluster.resume(victim);
      }
      await recovered();
    }));

  it('a broker paused right after answering its ping, under the cycle\'s requests: they are abandoned at the watch (none waits out the request timeout), and that cycle already reports it unreachable', () =>
    withLogsOnFailure([cluster], async () => {
      const { cycle, coordinated, victim, recovered } = await watching();
      const abandonedBefore = admin.silence.abandoned;
      const ping = admin.pingBrokers.bind(admin);
      let pausedAtMs: number | undefined;
      admin.pingBrokers = async (brokers, timeoutMs) => {
        const pings = await ping(brokers, timeoutMs);
        if (pausedAtMs === undefined) {
          pausedAtMs = Date.now();
          cluster.pause(victim);
        }
        return pings;
      };
      try {
        const snap = await cycle();
        assert.ok(pausedAtMs !== undefined, 'paused during the cycle');
        assert.ok(admin.silence.abandoned > abandonedBefore, `requests to broker ${victim} abandoned by the watch (${admin.silence.abandoned - abandonedBefore})`);
        const b = snap.brokers.find((x) => x.nodeId === victim);
        assert.equal(b?.reachable, false, `broker ${victim} unreachable in the cycle it was paused in`);
        assert.ok(b?.unreachableSinceMs !== undefined && b.unreachableSinceMs >= pausedAtMs, `unreachable since its first unanswered request, after the pause: ${b?.unreachableSinceMs} vs ${pausedAtMs}`);
        const leader = new Map(snap.partitions.map((p) => [p.partition, p.leader]));
        for (const g of snap.groups) {
          if (!coordinated(victim).includes(g.group)) assert.equal(g.error, undefined, `${g.group}, coordinated by broker ${g.coordinator}`);
          for (const p of g.partitions) {
            // abandoned, or not asked after the abandonment: never a request timeout
            if (leader.get(p.partition) === victim) assert.match(p.error ?? '', /(not answered|not asked): the broker at /, `${g.group}/${p.partition}`);
          }
        }
        // the next cycle: its ping fails, and it is asked nothing else
        const next = await cycle();
        assert.deepEqual(next.brokers.filter((x) => x.nodeId === victim).map((x) => [x.reachable, x.unreachableSinceMs]), [[false, b.unreachableSinceMs]]);
      } finally {
        admin.pingBrokers = ping;
        cluster.resume(victim);
      }
      await recovered();
    }));

  it('a limping broker (paused for less than the ping deadline, under each cycle\'s requests): reachable, and its answer times name it as the one slow broker', () =>
    withLogsOnFailure([cluster], async () => {
      const { cycle, victim, recovered } = await watching();
      const ping = admin.pingBrokers.bind(admin);
      const resumes = new Set<NodeJS.Timeout>();
      admin.pingBrokers = async (brokers, timeoutMs) => {
        const pings = await ping(brokers, timeoutMs);
        cluster.pause(victim);
        // the limp's length (fault injection, not a wait): the requests sent meanwhile are answered late
        const t = setTimeout(() => {
          resumes.delete(t);
          cluster.resume(victim);
        }, LIMP_MS);
        resumes.add(t);
        return pings;
      };
      let snap: Snapshot | undefined;
      try {
        for (let i = 1; i <= LIMP_CYCLES; i++) {
          const current = await cycle();
          snap = current;
          const b = current.brokers.find((x) => x.nodeId === victim);
          assert.equal(b?.reachable, true, `cycle ${i}: broker ${victim} limps but answers: reachable (${b?.error ?? ''})`);
        }
      } finally {
        admin.pingBrokers = ping;
        for (const t of resumes) clearTimeout(t);
        cluster.resume(victim);
      }
      const brokers = (snap as Snapshot).brokers;
      for (const b of brokers) assert.ok(b.answers !== undefined && b.answers.windowCycles >= DEFAULT_DETECT_OPTIONS.answerMinCycles, `broker ${b.nodeId} has answer times: ${JSON.stringify(b.answers)}`);
      const slow = slowAnswerers(brokers, DEFAULT_DETECT_OPTIONS);
      assert.deepEqual([...slow.keys()], [victim], `only the limping broker ${victim} is slow: ${JSON.stringify(brokers.map((b) => [b.nodeId, b.answers]))}`);
      await recovered();
    }));
});
