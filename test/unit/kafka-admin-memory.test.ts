import { kafkaAdminContract } from '../contract/kafka-admin.contract';
import { MemoryKafka, describedQuorum } from '../fakes/memory-kafka';

kafkaAdminContract('in-memory fake', async () => {
  const kafka = new MemoryKafka();
  // as the local stack runs it: three combined broker+controller nodes, node 1 leading
  kafka.quorum = describedQuorum([1, 2, 3], 1, Date.now());
  return {
    admin: kafka,
    createTopic: async (topic, partitions) => kafka.createTopic(topic, partitions),
    produce: async (topic, partition, ts) => kafka.produce(topic, partition, ts),
    commit: async (group, topic, partition, offset) => kafka.commit(group, topic, partition, offset),
    hang: async (id) => void kafka.hung.add(id),
    unhang: async (id) => void kafka.hung.delete(id),
    teardown: async () => kafka.close(),
  };
});
