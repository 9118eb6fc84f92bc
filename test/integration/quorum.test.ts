/**
 * The KRaft controller quorum watch against a real quorum (docs/design.md §4.7, issue 10
 * item 3): three combined broker+controller nodes, so the quorum has three voters, watched
 * through vigil's own DescribeQuorum (src/kafka/describe-quorum.ts) and its observe →
 * detect → decide path.
 *
 * - The active controller is SIGKILLed: the survivors elect a new leader with a higher
 *   epoch, which vigil's request sees; whether a cycle fell into the leaderless window is
 *   reported, not asserted (it depends on timing). The new leader has never heard from the
 *   dead node, so vigil names it as a lagging voter.
 *   The same kill is the failover timeline's case (issue 10 item 4): the killed node is
 *   also a broker, so the tracker fed with the watch's snapshots records the controller's
 *   epoch change and one entry for the partitions it led, naming it, with each partition's
 *   leaderless window; a producer writing to every partition of a topic measures the same
 *   windows (last write acknowledged before, first after) and both agree to within vigil's
 *   poll interval plus the producer's own resolution. The entries reach the pages of the
 *   alerts that caused them (decide is handed the timeline, as the leader's loop hands it
 *   the journal's recent entries): the open BrokerUnreachable alert of the killed node
 *   takes both as they are recorded, and its resolved page, once the node is back, carries
 *   them; so does the resolved page of the killed voter's ControllerVoterLagging.
 * - A voter that is not the active controller is SIGSTOPped: ControllerVoterLagging names
 *   it (and, with three voters, ControllerQuorumAtRisk fires); SIGCONT: it resolves.
 *
 * Every wait has a deadline and no assertion is about timing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { activeAlerts, emptyAlertState, type AlertState } from '../../src/alerting/alert-state';
import { decide } from '../../src/alerting/decide';
import type { Notification } from '../../src/alerting/types';
import { type FailoverEntry, FailoverTracker, type PartitionWindow } from '../../src/monitor/failovers';
import type { Finding } from '../../src/monitor/findings';
import { KafkajsAdmin } from '../../src/kafka/kafkajs-admin';
import type { BrokerInfo, ControllerQuorum } from '../../src/kafka/types';
import { DEFAULT_DETECT_OPTIONS, type DetectMemory, type DetectResult, detect, emptyDetectMemory } from '../../src/monitor/detect';
import { KafkaObserver } from '../../src/monitor/observe';
import { systemClock } from '../../src/util/clock';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { PartitionProber } from '../harness/partition-prober';
import { waitFor } from '../harness/wait';

const WAIT_MS = 90_000;
const QUORUM_TIMEOUT_MS = 1_000;
const CLUSTER = 'quorum-test';
/** The topic the prober writes to during the kill (RF 3: every partition survives it). */
const PROBE_TOPIC = 'failover-probe';
const PROBE_PARTITIONS = 6;

let cluster: KafkaCluster;
let admin: KafkajsAdmin;

before(async () => {
  cluster = await startKafka({ brokers: 3, name: 'quorum' });
  admin = new KafkajsAdmin({ brokers: cluster.bootstrap, clientId: 'vigil-quorum-test', ssl: false, connectionTimeoutMs: 1000, requestTimeoutMs: 3000 });
});

after(async () => {
  await admin?.close();
  await cluster?.shutdown();
});

/** The brokers as vigil addresses them, those running only. */
function runningBrokers(): BrokerInfo[] {
  return cluster.brokerIds
    .filter((id) => cluster.isRunning(id))
    .map((id) => {
      const [host, port] = cluster.brokerAddress(id).split(':') as [string, string];
      return { nodeId: id, host, port: Number(port), rack: null };
    });
}

type Described = ControllerQuorum & { state: 'described' };

/** The quorum as vigil's DescribeQuorum sees it now, once it names a leader. */
async function describedWithLeader(): Promise<Described & { leaderId: number }> {
  return waitFor(
    async () => {
      const q = await admin.describeQuorum(runningBrokers(), QUORUM_TIMEOUT_MS);
      return q.state === 'described' && q.leaderId !== null ? (q as Described & { leaderId: number }) : null;
    },
    { timeoutMs: WAIT_MS, what: 'the controller quorum to name a leader' },
  );
}

/**
 * The leader's reconcile path without Redis or channels: observe → detect → decide, one
 * cycle per call, keeping detect's memory and the alert state between calls.
 */
class Watch {
  private readonly observer = new KafkaObserver(
    admin,
    {
      lag: { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning', overrides: [] },
      groups: { include: ['*'], exclude: [] },
      topics: { include: ['*'], exclude: [] },
      brokerPingTimeoutMs: 800,
      quorumTimeoutMs: QUORUM_TIMEOUT_MS,
    },
    systemClock,
  );
  private memory: DetectMemory = emptyDetectMemory();
  private state: AlertState = emptyAlertState();
  readonly pages: Notification[] = [];
  last: DetectResult | null = null;
  /** the failover timeline of these cycles (src/monitor/failovers.ts) */
  private readonly tracker = new FailoverTracker();
  readonly failovers: FailoverEntry[] = [];

  async cycle(): Promise<DetectResult> {
    const snap = await this.observer.observe();
    this.failovers.push(...this.tracker.observe(snap));
    const r = detect(snap, this.memory, DEFAULT_DETECT_OPTIONS);
    this.memory = r.memory;
    const d = decide(r.findings, this.state, snap.takenAtMs, { cluster: CLUSTER, lag: r.lag, failovers: this.failovers });
    this.state = d.state;
    this.pages.push(...d.notifications);
    this.last = r;
    return r;
  }

  page(key: string, status: 'firing' | 'resolved'): Notification | undefined {
    return this.pages.find((n) => n.alert.key === key && n.alert.status === status);
  }

  /** The open alert `key` as the API and Alertmanager's re-posts show it now. */
  open(key: string) {
    return activeAlerts(this.state, CLUSTER, Date.now()).find((a) => a.key === key);
  }
}

const quorumFindings = (r: DetectResult): Finding[] => r.findings.filter((f) => f.kind.startsWith('Controller'));
const lagging = (r: DetectResult, voter: number) => r.findings.find((f) => f.kind === 'ControllerVoterLagging' && f.voter === voter);

/** Cycles until the quorum is healthy: described, every voter caught up, no quorum finding. */
async function untilHealthy(watch: Watch, what: string): Promise<DetectResult> {
  return waitFor(
    async () => {
      const r = await watch.cycle();
      return r.quorum !== null && r.quorum.caughtUp === r.quorum.voters.length && quorumFindings(r).length === 0 ? r : null;
    },
    { timeoutMs: WAIT_MS, intervalMs: 200, what },
  );
}

describe('the KRaft controller quorum watched through DescribeQuorum (issue 10 item 3)', () => {
  it('a 3-node cluster has 3 voters, every one caught up, and vigil finds nothing', () =>
    withLogsOnFailure([cluster], async () => {
      const q = await describedWithLeader();
      assert.deepEqual(q.voters.map((v) => v.nodeId), [1, 2, 3]);
      assert.ok(q.leaderEpoch >= 1);
      const r = await untilHealthy(new Watch(), 'every voter caught up');
      assert.equal(r.quorum?.leaderId, q.leaderId);
    }));

  it('the active controller killed: a new leader with a higher epoch, seen by vigil, which names the dead voter; the failover timeline records both elections', (t) =>
    withLogsOnFailure([cluster], async () => {
      await cluster.createTopic(PROBE_TOPIC, { partitions: PROBE_PARTITIONS, replicationFactor: 3 });
      const prober = new PartitionProber(cluster.bootstrap, PROBE_TOPIC, PROBE_PARTITIONS);
      await prober.start();
      t.after(() => prober.stop());
      await waitFor(() => prober.acked.every((n) => n > 0), { timeoutMs: WAIT_MS, what: 'a write acknowledged on every probe partition' });
      const before = await describedWithLeader();
      const victim = before.leaderId;
      const watch = new Watch();
      await untilHealthy(watch, 'a healthy quorum before the kill');

      await cluster.kill(victim);
      let leaderlessCycles = 0;
      const after = await waitFor(
        async () => {
          const r = await watch.cycle();
          if (r.findings.some((f) => f.kind === 'ControllerQuorumLeaderless')) leaderlessCycles++;
          return r.quorum !== null && r.quorum.leaderId !== victim ? r.quorum : null;
        },
        { timeoutMs: WAIT_MS, intervalMs: 50, what: `a controller other than node ${victim} to lead` },
      );
      assert.ok(after.leaderEpoch > before.leaderEpoch, `epoch ${after.leaderEpoch} after ${before.leaderEpoch}`);
      const page = watch.page(`${CLUSTER}/ControllerQuorumLeaderless`, 'firing');
      t.diagnostic(
        `controller ${victim} (epoch ${before.leaderEpoch}) killed → controller ${after.leaderId} (epoch ${after.leaderEpoch}); ` +
          (page ? `${leaderlessCycles} cycle(s) fell into the leaderless window, paged: ${page.alert.summary}` : 'no cycle fell into a leaderless window'),
      );

      // the new leader has no caught-up time for the dead node: it lags since the epoch began
      const named = await waitFor(async () => lagging(await watch.cycle(), victim), { timeoutMs: WAIT_MS, intervalMs: 200, what: `ControllerVoterLagging for the killed voter ${victim}` });
      assert.ok(named.kind === 'ControllerVoterLagging' && named.leaderId === after.leaderId);

      // The timeline: the controller's election (epoch change, from the victim)…
      const controller = watch.failovers.find((f) => f.kind === 'controller' && f.from === victim);
      assert.ok(controller, `a controller entry from node ${victim}: ${JSON.stringify(watch.failovers.map((f) => f.summary))}`);
      assert.ok((controller.detail['toEpoch'] as number) > before.leaderEpoch && (controller.detail['fromEpoch'] as number) === before.leaderEpoch);
      assert.notEqual(controller.to, victim);
      assert.ok(controller.leaderlessMs !== null && controller.leaderlessMs >= 0);
      t.diagnostic(`timeline: ${controller.summary} (bounds within ${controller.precisionMs} ms)`);
      // …and, once the controller fenced the dead broker and its partitions have new leaders, one entry for them.
      const moved = await waitFor(
        async () => {
          await watch.cycle();
          return watch.failovers.find((f) => f.kind === 'partitions' && f.from === victim) ?? null;
        },
        { timeoutMs: WAIT_MS, intervalMs: 50, what: `the timeline's entry for the partitions broker ${victim} led` },
      );
      assert.match(moved.reason, new RegExp(`^broker ${victim} (unreachable|fenced)`));
      assert.match(moved.summary, new RegExp(`^broker ${victim} .*: \\d+ partitions? moved`));
      t.diagnostic(`timeline: ${moved.summary} (bounds within ${moved.precisionMs} ms)`);
      // the killed node's alert, still open, carries both entries (no page for them)
      const brokerKey = `${CLUSTER}/BrokerUnreachable/${victim}`;
      const open = watch.open(brokerKey);
      assert.ok(open?.failover?.includes(moved.summary) && open.failover.includes(controller.summary), `the open ${brokerKey} carries the entries: ${open?.summary}`);
      assert.equal(watch.pages.filter((n) => n.alert.key === brokerKey).length, 1, 'one page so far: firing');
      const probed = (moved.detail['windows'] as PartitionWindow[]).filter((w) => w.topic === PROBE_TOPIC);
      assert.ok(probed.length > 0, `broker ${victim} led some of ${PROBE_TOPIC}'s partitions`);
      // The producer's windows agree with vigil's to within vigil's poll interval (the
      // entry's precision) plus the producer's resolution (pacing, retry backoff, a round trip).
      const toleranceMs = moved.precisionMs + PartitionProber.PACE_MS + 2 * PartitionProber.MAX_RETRY_MS + 500;
      for (const w of probed) {
        assert.notEqual(w.to, victim);
        assert.ok(w.lostAfterMs !== null && w.ledAtMs !== null && w.leaderlessMs !== null, JSON.stringify(w));
        // the producer's outage: the longest gap, once it has written again after vigil lost the leader
        const gap = await waitFor(
          () => {
            const g = prober.gap(w.partition);
            return g !== null && g.firstOkMs > w.lostAtMs ? g : null;
          },
          { timeoutMs: WAIT_MS, what: `the producer writing to partition ${w.partition} again` },
        );
        t.diagnostic(
          `${PROBE_TOPIC}-${w.partition}: vigil ${w.leaderlessMs} ms (lost at +${w.lostAtMs - gap.lastOkMs} ms, led at +${w.ledAtMs - gap.firstOkMs} ms of the producer's last/first ack); producer ${gap.firstOkMs - gap.lastOkMs} ms`,
        );
        assert.ok(Math.abs(w.lostAtMs - gap.lastOkMs) <= toleranceMs, `${PROBE_TOPIC}-${w.partition}: vigil lost it at ${w.lostAtMs}, the producer's last ack ${gap.lastOkMs} (tolerance ${toleranceMs} ms)`);
        assert.ok(Math.abs(w.ledAtMs - gap.firstOkMs) <= toleranceMs, `${PROBE_TOPIC}-${w.partition}: vigil saw it led at ${w.ledAtMs}, the producer's first ack after ${gap.firstOkMs} (tolerance ${toleranceMs} ms)`);
      }
      await prober.stop();

      await cluster.start(victim);
      await untilHealthy(watch, `node ${victim} back as a caught-up voter`);
      const voterResolved = await waitFor(
        async () => {
          await watch.cycle();
          return watch.page(`${CLUSTER}/ControllerVoterLagging/${victim}`, 'resolved');
        },
        { timeoutMs: WAIT_MS, intervalMs: 200, what: `the alert for voter ${victim} resolved once it is back` },
      );
      assert.ok(voterResolved.alert.summary.includes(controller.summary), voterResolved.alert.summary);
      const brokerResolved = await waitFor(
        async () => {
          await watch.cycle();
          return watch.page(brokerKey, 'resolved');
        },
        { timeoutMs: WAIT_MS, intervalMs: 200, what: `${brokerKey} resolved once node ${victim} is back` },
      );
      assert.ok(brokerResolved.alert.summary.includes(moved.summary) && brokerResolved.alert.summary.includes(controller.summary), brokerResolved.alert.summary);
      t.diagnostic(`resolved page: ${brokerResolved.alert.summary}`);
      const quorumResolved = watch.page(`${CLUSTER}/ControllerQuorumLeaderless`, 'resolved');
      if (quorumResolved) assert.ok(quorumResolved.alert.summary.includes(controller.summary), quorumResolved.alert.summary);
    }));

  it('a voter SIGSTOPped: ControllerVoterLagging names it and the quorum is at risk; SIGCONT: both resolve', () =>
    withLogsOnFailure([cluster], async () => {
      const watch = new Watch();
      const healthy = await untilHealthy(watch, 'a healthy quorum before the pause');
      const leader = healthy.quorum?.leaderId;
      // the highest voter that does not lead (node 1, the first bootstrap broker, only if it must be)
      const voter = [3, 2, 1].find((id) => id !== leader) as number;
      cluster.pause(voter);
      try {
        const r = await waitFor(
          async () => {
            const c = await watch.cycle();
            return lagging(c, voter) ? c : null;
          },
          { timeoutMs: WAIT_MS, intervalMs: 200, what: `ControllerVoterLagging for the paused voter ${voter}` },
        );
        assert.deepEqual(
          quorumFindings(r).filter((f) => f.kind !== 'ControllerVoterLagging'),
          [{ kind: 'ControllerQuorumAtRisk', voters: 3, caughtUp: 2, lagging: [voter] }],
        );
        const page = watch.page(`${CLUSTER}/ControllerVoterLagging/${voter}`, 'firing');
        assert.match(page?.alert.summary ?? '', new RegExp(`^KRaft controller voter ${voter} has not caught up with the quorum leader \\(node ${leader}\\)`));
      } finally {
        cluster.resume(voter);
      }
      await waitFor(
        async () => {
          await watch.cycle();
          return watch.page(`${CLUSTER}/ControllerVoterLagging/${voter}`, 'resolved') && watch.page(`${CLUSTER}/ControllerQuorumAtRisk`, 'resolved');
        },
        { timeoutMs: WAIT_MS, intervalMs: 200, what: `the alerts for voter ${voter} resolved after SIGCONT` },
      );
    }));
});
