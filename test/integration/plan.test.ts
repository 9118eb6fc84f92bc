/**
 * `vigil plan` against real brokers, its output run by Kafka's own tools (issue 7: "`vigil
 * plan` output accepted by the real `kafka-reassign-partitions --execute`"): leadership
 * planned off a live broker, executed and followed by the preferred elections the plan
 * names, leaves that broker leading nothing; after a broker is killed, the restore plan
 * (no --broker: the broker missing from the metadata), executed and verified by the tool,
 * puts every partition back to its replication factor on live brokers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runVigil } from '../harness/cli';
import { withLogsOnFailure } from '../harness/failure';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { KAFKA_TOOLS, runKafkaTool } from '../harness/kafka-tools';
import { waitFor } from '../harness/wait';

const WAIT_MS = 90_000;
const TOPIC = 'plan-t';
let cluster: KafkaCluster;
let dir: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-plan-'));
  cluster = await startKafka({ brokers: 3, name: 'plan' });
  await cluster.createTopic(TOPIC, { partitions: 4, replicaAssignment: [[1, 2], [2, 3], [3, 1], [1, 3]] });
});

after(async () => {
  await cluster?.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

const partitions = async () => (await cluster.metadata(1, [TOPIC])).topics.find((t) => t.name === TOPIC)?.partitions ?? [];

describe('vigil plan, run by Kafka\'s own tools (issue 7)', () => {
  it('lead-elsewhere for a live broker: executed and elected, the broker leads nothing and keeps its replicas', () =>
    withLogsOnFailure([cluster], async () => {
      const before = await partitions();
      assert.ok(before.some((p) => p.leader === 1), 'broker 1 leads something to start with');
      const res = await runVigil(['plan', '--bootstrap-server', cluster.bootstrap.join(','), '--broker', '1']);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /move leadership of 2 partitions off broker 1 \(lead-elsewhere/);
      const moves = JSON.parse(res.stdout) as { version: number; partitions: Array<{ topic: string; partition: number; replicas: number[] }> };
      assert.deepEqual(moves, {
        version: 1,
        partitions: [
          { topic: TOPIC, partition: 0, replicas: [2, 1] },
          { topic: TOPIC, partition: 3, replicas: [3, 1] },
        ],
      });
      const file = path.join(dir, 'lead.json');
      fs.writeFileSync(file, res.stdout);
      const exec = await runKafkaTool(KAFKA_TOOLS.reassignPartitions, ['--bootstrap-server', cluster.bootstrap[0] as string, '--execute', '--reassignment-json-file', file]);
      assert.equal(exec.code, 0, `${exec.stdout}\n${exec.stderr}`);
      await waitFor(async () => (await partitions()).every((p) => p.replicas[0] !== 1), { timeoutMs: WAIT_MS, what: 'the new replica order' });

      // the elections the plan names (--full), through kafka-leader-election
      const full = await runVigil(['plan', '--bootstrap-server', cluster.bootstrap.join(','), '--broker', '1', '--full']);
      // broker 1 leads the same partitions still (only the order changed), so the plan is the same
      const plan = JSON.parse(full.stdout) as { elections: Array<{ topic: string; partition: number }> };
      assert.deepEqual(plan.elections, [{ topic: TOPIC, partition: 0 }, { topic: TOPIC, partition: 3 }]);
      const elections = path.join(dir, 'elections.json');
      fs.writeFileSync(elections, JSON.stringify({ partitions: plan.elections }));
      const elect = await runKafkaTool(KAFKA_TOOLS.leaderElection, ['--bootstrap-server', cluster.bootstrap[0] as string, '--election-type', 'PREFERRED', '--path-to-json-file', elections]);
      assert.equal(elect.code, 0, `${elect.stdout}\n${elect.stderr}`);
      await waitFor(async () => (await partitions()).every((p) => p.leader !== 1), { timeoutMs: WAIT_MS, what: 'broker 1 to lead nothing' });
      const after = await partitions();
      for (const p of after) assert.deepEqual([...p.replicas].sort(), [...(before.find((b) => b.partition === p.partition)?.replicas ?? [])].sort(), `${TOPIC}-${p.partition} kept its replica set`);
    }));

  it('restore-rf after a broker is killed: the plan for the missing broker, executed and verified', () =>
    withLogsOnFailure([cluster], async () => {
      await cluster.kill(3);
      await waitFor(async () => !(await cluster.metadata(1)).brokers.some((b) => b.nodeId === 3), { timeoutMs: WAIT_MS, what: 'broker 3 to leave the metadata' });
      const res = await runVigil(['plan', '--bootstrap-server', cluster.bootstrap.slice(0, 2).join(','), '--no-internal']);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /restore the replication factor of 3 partitions that had a replica on broker 3 \(restore-rf/);
      // Kafka's tool would set a --throttle rate on the dead broker too: the summary says to throttle the live ones instead
      assert.match(res.stderr, /would also set the rate on broker 3, which is gone, and fail; throttle the live brokers 1, 2 instead/);
      const file = path.join(dir, 'restore.json');
      fs.writeFileSync(file, res.stdout);
      const bootstrap = cluster.bootstrap[0] as string;
      const exec = await runKafkaTool(KAFKA_TOOLS.reassignPartitions, ['--bootstrap-server', bootstrap, '--execute', '--reassignment-json-file', file]);
      assert.equal(exec.code, 0, `${exec.stdout}\n${exec.stderr}`);
      let verify = '';
      await waitFor(
        async () => {
          const v = await runKafkaTool(KAFKA_TOOLS.reassignPartitions, ['--bootstrap-server', bootstrap, '--verify', '--reassignment-json-file', file]);
          verify = `${v.stdout}${v.stderr}`;
          return v.code === 0 && !/in progress/.test(verify);
        },
        { timeoutMs: WAIT_MS, intervalMs: 1000, what: 'kafka-reassign-partitions --verify to report every reassignment complete' },
      );
      assert.match(verify, /Reassignment of partition plan-t-\d is completed/);
      for (const p of await partitions()) {
        assert.equal(p.replicas.length, 2, `${TOPIC}-${p.partition} has its replication factor`);
        assert.ok(!p.replicas.includes(3), `${TOPIC}-${p.partition} has no replica on the dead broker`);
        assert.deepEqual([...p.isr].sort(), [...p.replicas].sort(), `${TOPIC}-${p.partition} fully in sync`);
      }
      // every partition led again: no unclean election to make, in kafka-leader-election.sh's JSON
      const unclean = await runVigil(['plan', '--bootstrap-server', cluster.bootstrap.slice(0, 2).join(','), '--action', 'unclean-elect']);
      assert.equal(unclean.code, 0, unclean.stderr);
      assert.deepEqual(JSON.parse(unclean.stdout), { partitions: [] });
      assert.match(unclean.stderr, /elect a leader outside the ISR for 0 offline partitions .*\(unclean-elect, plan unclean-elect--1-/);
      assert.match(unclean.stderr, /vigil itself would not: remediation\.allowUncleanElection is false/);
    }));
});
