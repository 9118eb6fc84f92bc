/**
 * `kafka.controllers` (KIP-919 bootstrap controllers) against a real KRaft quorum: the
 * remediation client (src/kafka/remediation-kafka.ts) finds the active controller by asking
 * every controller at once and sends its partition mutations straight to it — received on
 * the CONTROLLER listener, not forwarded by a broker — and, with the active controller
 * SIGSTOPped, to the one the quorum elects next while the old one is still stopped (a
 * broker would hold a forwarded request for its own 30 s request timeout; that difference
 * is measured by the remediation-hung benchmark, not here). And a request in flight to a
 * broker that hangs under it is abandoned as soon as the monitor reports that broker
 * silent, so a step does not hold the executor for kafka.requestTimeout. Last, an UNCLEAN
 * election (remediation.allowUncleanElection) brings an offline partition back on a replica
 * outside its ISR.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { describeQuorumRequest } from '../../src/kafka/describe-quorum';
import { sendMutation } from '../../src/kafka/admin-mutations';
import { KafkaConnections } from '../../src/kafka/kafkajs-wire';
import { KafkaRemediation } from '../../src/kafka/remediation-kafka';
import { createLogger } from '../../src/log';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { waitFor } from '../harness/wait';

const TOPIC = 'to-move';
const CLIENT_ID = 'vigil-controllers-test';
let cluster: KafkaCluster;
let remediation: KafkaRemediation;
const silent = createLogger({ level: 'silent' });
const always = (): boolean => true;

before(async () => {
  // nodes 1–3 broker+controller, node 4 a broker only
  cluster = await startKafka({ brokers: 4, name: 'controllers', requestLog: true });
  await cluster.createTopic(TOPIC, { replicaAssignment: [[1, 2, 3], [2, 3, 1], [3, 1, 2]] });
  remediation = new KafkaRemediation(
    { brokers: cluster.bootstrap, controllers: cluster.controllerBootstrap, clientId: CLIENT_ID, ssl: false, connectionTimeoutMs: 1000, requestTimeoutMs: 5000 },
    silent,
  );
});

after(async () => {
  await remediation?.close();
  await cluster?.shutdown();
});

/**
 * The node leading the KRaft quorum, asked of the controllers themselves (a broker forwards
 * DescribeQuorum to the controller it knows, and would wait on a stopped one); `skip`: a
 * controller not to ask.
 */
async function activeController(skip?: number): Promise<number> {
  for (const id of cluster.controllerIds.filter((x) => x !== skip)) {
    const address = cluster.controllerBootstrap[cluster.controllerIds.indexOf(id)] as string;
    const conns = new KafkaConnections({ brokers: [address], clientId: 'quorum-probe', ssl: false, connectionTimeoutMs: 1000, requestTimeoutMs: 5000 }, silent);
    try {
      const q = await sendMutation(conns, describeQuorumRequest(5000), address);
      if (q.state === 'described' && q.leaderId !== null) return q.leaderId;
    } finally {
      await conns.close();
    }
  }
  throw new Error('no controller answers as the quorum leader');
}

/** ElectLeaders requests from this test's client that node `id` received directly (not forwarded), by listener. */
function electionsReceived(id: number): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync(cluster.logFile(id), 'utf8').split('\n')) {
    const at = line.indexOf('Completed request:');
    const end = line.lastIndexOf('} (kafka.request.logger)');
    if (at < 0 || end < 0) continue;
    const doc = JSON.parse(line.slice(at + 'Completed request:'.length, end + 1)) as Record<string, any>;
    const header = doc['requestHeader'] ?? {};
    if (header['requestApiKeyName'] !== 'ELECT_LEADERS' || header['clientId'] !== CLIENT_ID || doc['isForwarded'] === true) continue;
    out.push(String(doc['listener']));
  }
  return out;
}

describe('Remediation through kafka.controllers (issue 7: a hung broker that is also the active controller)', () => {
  it('sends its mutations straight to the active controller, received on the CONTROLLER listener', () =>
    withLogsOnFailure([cluster], async () => {
      const leader = await activeController();
      assert.deepEqual(await remediation.electLeaders('preferred', [{ topic: TOPIC, partition: 0 }], new Set(), always), [{ topic: TOPIC, partition: 0 }], 'elected, no error');
      assert.deepEqual(await remediation.listReassignments(new Set()), []);
      assert.deepEqual(electionsReceived(leader), ['CONTROLLER']);
      for (const other of cluster.controllerIds.filter((id) => id !== leader)) assert.deepEqual(electionsReceived(other), [], `node ${other} received none`);
    }));

  it('with the active controller stopped, reaches the controller the quorum elects next while the old one is still stopped', () =>
    withLogsOnFailure([cluster], async () => {
      const old = await activeController();
      const live = cluster.controllerIds.filter((id) => id !== old);
      const before = new Map(live.map((id) => [id, electionsReceived(id).length]));
      cluster.pause(old);
      try {
        let outcome: unknown;
        await waitFor(
          async () => {
            try {
              outcome = await remediation.electLeaders('preferred', [{ topic: TOPIC, partition: 1 }], new Set([old]), always);
              return true;
            } catch {
              return false; // no leader yet, or the new one not yet serving: the executor retries the same way
            }
          },
          { timeoutMs: 60_000, intervalMs: 200, what: 'an election request accepted by the newly elected controller' },
        );
        assert.ok(cluster.isRunning(old), 'the old controller is still stopped, not gone');
        assert.deepEqual(outcome, [{ topic: TOPIC, partition: 1 }], 'elected, no error');
        const now = await activeController(old);
        assert.notEqual(now, old);
        // A controller the quorum has just elected may refuse a first request NOT_CONTROLLER
        // while it becomes active (the executor then asks again, as the loop above did): every
        // request it got came straight to its controller listener, and one was accepted.
        const received = electionsReceived(now).slice(before.get(now));
        assert.ok(received.length >= 1 && received.every((l) => l === 'CONTROLLER'), `node ${now} (the new active controller) received it directly: ${JSON.stringify(received)}`);
      } finally {
        cluster.resume(old);
      }
    }));

  it("a request in flight to a broker that hangs is abandoned as soon as the monitor reports it silent", () =>
    withLogsOnFailure([cluster], async () => {
      const client = new KafkaRemediation(
        // a request timeout far beyond the test's deadline: only the abandon can end the request in time
        { brokers: cluster.bootstrap, clientId: CLIENT_ID, ssl: false, connectionTimeoutMs: 1000, requestTimeoutMs: 600_000 },
        silent,
      );
      const brokers = cluster.brokerIds.map((nodeId) => {
        const [host, port] = cluster.brokerAddress(nodeId).split(':');
        return { nodeId, host: host as string, port: Number(port), rack: null };
      });
      const hung = 3;
      client.knowBrokers(brokers, new Set());
      try {
        // a broker's own configs go to that broker: connected before it hangs
        const change = { type: 'broker' as const, name: String(hung), configs: [{ name: 'leader.replication.throttled.rate', op: 'delete' as const }] };
        assert.deepEqual(await client.alterConfigs([change], new Set(), always), [{ type: 'broker', name: String(hung) }]);
        cluster.pause(hung);
        let settled = false;
        const pending = client.alterConfigs([change], new Set(), always).finally(() => (settled = true));
        pending.catch(() => undefined);
        // the monitor reports the broker silent every cycle, as the executor passes it on
        await waitFor(
          () => {
            client.knowBrokers(brokers, new Set([hung]));
            return settled;
          },
          { timeoutMs: 30_000, intervalMs: 100, what: 'the request to the hung broker abandoned' },
        );
        await assert.rejects(pending, (err: Error & { code?: string; retriable?: boolean }) => err.code === 'KAFKA_UNREACHABLE' && err.retriable === true && /fell silent under the request/.test(err.message));
      } finally {
        cluster.resume(hung);
        await client.close();
      }
    }));

  it('an UNCLEAN election makes a live replica outside the ISR lead an offline partition', () =>
    withLogsOnFailure([cluster], async () => {
      const topic = 'lossy';
      await cluster.createTopic(topic, { replicaAssignment: [[3, 4]] });
      // 4 stops (cleanly: it leaves the ISR at once), 3 takes a write alone and dies,
      // 4 comes back: no live in-sync replica, the partition is offline
      await cluster.stop(4);
      await waitFor(async () => (await cluster.metadata(1, [topic])).topics[0]?.partitions[0]?.isr.join() === '3', { timeoutMs: 60_000, what: 'broker 4 out of the ISR' });
      await cluster.kill(3);
      await cluster.start(4);
      const state = async () => (await cluster.metadata(1, [topic])).topics[0]?.partitions[0];
      await waitFor(async () => (await state())?.leader === -1, { timeoutMs: 60_000, what: `${topic}-0 offline` });
      // 3.9 keeps the dead broker as the last ISR member; 4.x (eligible leader replicas,
      // KIP-966) empties the ISR. Either way no live broker is in it.
      assert.ok((await state())?.isr.every((r) => r === 3), `no live in-sync replica: ${JSON.stringify((await state())?.isr)}`);
      try {
        const outcome = await remediation.electLeaders('unclean', [{ topic, partition: 0 }], new Set([3]), always);
        assert.deepEqual(outcome, [{ topic, partition: 0 }], 'elected, no error');
        await waitFor(async () => (await state())?.leader === 4, { timeoutMs: 30_000, what: `broker 4 leading ${topic}-0` });
        // a partition that has a leader: Kafka answers ELECTION_NOT_NEEDED, which is success
        // (src/kafka/admin-mutations.ts), and the leader stays
        assert.deepEqual(await remediation.electLeaders('unclean', [{ topic, partition: 0 }], new Set([3]), always), [{ topic, partition: 0 }]);
        assert.equal((await state())?.leader, 4);
      } finally {
        await cluster.start(3);
      }
    }));

  it('a request while no controller answers as leader fails with a retriable error naming each controller', async () => {
    const lone = new KafkaRemediation(
      { brokers: cluster.bootstrap, controllers: ['127.0.0.1:1'], clientId: CLIENT_ID, ssl: false, connectionTimeoutMs: 500, requestTimeoutMs: 1000 },
      silent,
    );
    try {
      await assert.rejects(
        () => lone.listReassignments(new Set()),
        (err: Error & { code?: string; retriable?: boolean }) =>
          err.code === 'KAFKA_UNREACHABLE' && err.retriable === true && /no active controller among kafka\.controllers/.test(err.message) && err.message.includes('127.0.0.1:1'),
      );
    } finally {
      await lone.close();
    }
  });
});
