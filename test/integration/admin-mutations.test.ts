/**
 * The requests remediation changes the cluster with (src/kafka/admin-mutations.ts) against
 * real brokers: a reorder of a replica set and a preferred election moving leadership, an
 * election that is not needed answered as success, a reassignment onto another broker seen
 * in flight or done, an impossible one refused per partition, and replication throttles set
 * and removed with IncrementalAlterConfigs without touching the resource's other dynamic
 * configs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  alterPartitionReassignmentsRequest,
  electLeadersRequest,
  incrementalAlterConfigsRequest,
  listPartitionReassignmentsRequest,
  sendMutation,
} from '../../src/kafka/admin-mutations';
import { KafkaConnections } from '../../src/kafka/kafkajs-wire';
import { createLogger } from '../../src/log';
import { withLogsOnFailure } from '../harness/failure';
import { describeConfigs as describeTopicOrBroker } from '../harness/kafka-configs';
import { type KafkaCluster, startKafka } from '../harness/kafka';
import { waitFor } from '../harness/wait';

const WAIT_MS = 60_000;
let cluster: KafkaCluster;
let conns: KafkaConnections;

before(async () => {
  cluster = await startKafka({ brokers: 3, name: 'mutations' });
  conns = new KafkaConnections(
    { brokers: cluster.bootstrap, clientId: 'vigil-mutations-test', ssl: false, connectionTimeoutMs: 2000, requestTimeoutMs: 10_000 },
    createLogger({ level: 'silent' }),
  );
});

after(async () => {
  await conns?.close();
  await cluster?.shutdown();
});

const partitionOf = async (topic: string, partition: number) => {
  const md = await cluster.metadata(1, [topic]);
  const p = md.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partition === partition);
  assert.ok(p, `${topic}-${partition} in the metadata`);
  return p;
};

const describeConfigs = (type: 'topic' | 'broker', name: string, configNames?: string[]) => describeTopicOrBroker(cluster.bootstrap, type, name, configNames);

describe('Kafka mutations over the raw-request layer (issue 7, Kafka wire)', () => {
  it('reorders a replica set, moves leadership with a preferred election, and answers an election that is not needed as success', () =>
    withLogsOnFailure([cluster], async () => {
      await cluster.createTopic('mut-order', { partitions: 1, replicaAssignment: [[1, 2]] });
      assert.equal((await partitionOf('mut-order', 0)).leader, 1);

      assert.deepEqual(await sendMutation(conns, listPartitionReassignmentsRequest()), []);
      const moved = await sendMutation(conns, alterPartitionReassignmentsRequest([{ topic: 'mut-order', partition: 0, replicas: [2, 1] }]));
      assert.deepEqual(moved, [{ topic: 'mut-order', partition: 0 }]);
      await waitFor(async () => (await partitionOf('mut-order', 0)).replicas.join(',') === '2,1', { timeoutMs: WAIT_MS, what: 'the replica order 2,1' });

      const elected = await sendMutation(conns, electLeadersRequest('preferred', [{ topic: 'mut-order', partition: 0 }]));
      assert.deepEqual(elected, [{ topic: 'mut-order', partition: 0 }]);
      await waitFor(async () => (await partitionOf('mut-order', 0)).leader === 2, { timeoutMs: WAIT_MS, what: 'broker 2 to lead mut-order-0' });

      // already led by its preferred replica: ELECTION_NOT_NEEDED, which is the state asked for
      const again = await sendMutation(conns, electLeadersRequest('preferred', [{ topic: 'mut-order', partition: 0 }]));
      assert.deepEqual(again, [{ topic: 'mut-order', partition: 0 }]);
    }));

  it('moves a replica to another broker, lists the reassignment while it runs, and refuses an impossible one per partition', () =>
    withLogsOnFailure([cluster], async () => {
      await cluster.createTopic('mut-move', { partitions: 2, replicaAssignment: [[1, 2], [1, 2]] });
      const out = await sendMutation(
        conns,
        alterPartitionReassignmentsRequest([
          { topic: 'mut-move', partition: 0, replicas: [1, 3] },
          { topic: 'mut-move', partition: 1, replicas: [1, 99] },
        ]),
      );
      assert.deepEqual(out[0], { topic: 'mut-move', partition: 0 });
      assert.equal(out[1]?.partition, 1);
      assert.ok(out[1]?.error, `the move onto a broker that does not exist is refused: ${JSON.stringify(out[1])}`);

      // an empty partition catches up at once, so the reassignment may already be over
      const ongoing = await sendMutation(conns, listPartitionReassignmentsRequest([{ topic: 'mut-move', partition: 0 }]));
      for (const r of ongoing) assert.deepEqual({ topic: r.topic, partition: r.partition, adding: r.adding, removing: r.removing }, { topic: 'mut-move', partition: 0, adding: [3], removing: [2] });
      await waitFor(async () => (await partitionOf('mut-move', 0)).replicas.join(',') === '1,3', { timeoutMs: WAIT_MS, what: 'mut-move-0 on brokers 1,3' });
      await waitFor(async () => (await sendMutation(conns, listPartitionReassignmentsRequest())).length === 0, { timeoutMs: WAIT_MS, what: 'no reassignment in flight' });
      assert.equal((await partitionOf('mut-move', 1)).replicas.join(','), '1,2', 'the refused partition did not move');
    }));

  it('sets and removes replication throttles with IncrementalAlterConfigs, leaving the other dynamic configs alone', () =>
    withLogsOnFailure([cluster], async () => {
      await cluster.createTopic('mut-throttle', { partitions: 1, replicationFactor: 2, configs: { 'retention.ms': '3600000' } });
      const set = await sendMutation(
        conns,
        incrementalAlterConfigsRequest([
          {
            type: 'topic',
            name: 'mut-throttle',
            configs: [
              { name: 'leader.replication.throttled.replicas', op: 'set', value: '0:1' },
              { name: 'follower.replication.throttled.replicas', op: 'set', value: '0:2' },
            ],
          },
        ]),
      );
      assert.deepEqual(set, [{ type: 'topic', name: 'mut-throttle' }]);
      // broker configs go to the broker they belong to
      const b2 = cluster.bootstrap[1] as string;
      const rate = await sendMutation(conns, incrementalAlterConfigsRequest([{ type: 'broker', name: '2', configs: [{ name: 'leader.replication.throttled.rate', op: 'set', value: '1048576' }] }]), b2);
      assert.deepEqual(rate, [{ type: 'broker', name: '2' }]);

      // brokers apply a config change when they replay the controller's record: shortly after the answer
      const rateOf = async () => (await describeConfigs('broker', '2', ['leader.replication.throttled.rate'])).get('leader.replication.throttled.rate');
      await waitFor(async () => (await describeConfigs('topic', 'mut-throttle')).get('leader.replication.throttled.replicas')?.value === '0:1', { timeoutMs: WAIT_MS, what: 'the leader throttle on mut-throttle' });
      const topic = await describeConfigs('topic', 'mut-throttle');
      assert.equal(topic.get('follower.replication.throttled.replicas')?.value, '0:2');
      assert.equal(topic.get('retention.ms')?.value, '3600000', 'a config vigil did not name is untouched');
      await waitFor(async () => (await rateOf())?.value === '1048576', { timeoutMs: WAIT_MS, what: "broker 2's leader throttle rate" });

      const removed = await sendMutation(
        conns,
        incrementalAlterConfigsRequest([
          { type: 'topic', name: 'mut-throttle', configs: [{ name: 'leader.replication.throttled.replicas', op: 'delete' }, { name: 'follower.replication.throttled.replicas', op: 'delete' }] },
        ]),
      );
      assert.deepEqual(removed, [{ type: 'topic', name: 'mut-throttle' }]);
      await sendMutation(conns, incrementalAlterConfigsRequest([{ type: 'broker', name: '2', configs: [{ name: 'leader.replication.throttled.rate', op: 'delete' }] }]), b2);
      await waitFor(async () => (await describeConfigs('topic', 'mut-throttle')).get('leader.replication.throttled.replicas')?.isDefault === true, { timeoutMs: WAIT_MS, what: 'the leader throttle on mut-throttle gone' });
      await waitFor(async () => ((await rateOf())?.isDefault ?? true) === true, { timeoutMs: WAIT_MS, what: "broker 2's throttle rate gone" });
      const after = await describeConfigs('topic', 'mut-throttle');
      assert.equal(after.get('follower.replication.throttled.replicas')?.isDefault, true);
      assert.equal(after.get('retention.ms')?.value, '3600000');

      // validateOnly changes nothing; an unknown config is refused for its resource only
      const bad = await sendMutation(conns, incrementalAlterConfigsRequest([{ type: 'topic', name: 'mut-throttle', configs: [{ name: 'no.such.config', op: 'set', value: '1' }] }], true));
      assert.equal(bad.length, 1);
      assert.ok(bad[0]?.error, `an unknown topic config is refused: ${JSON.stringify(bad[0])}`);
    }));
});
