import { kafkaAdminContract } from '../contract/kafka-admin.contract';
import { MemoryKafka } from '../fakes/memory-kafka';

kafkaAdminContract('in-memory fake', async () => {
  const kafka = new MemoryKafka();
  return {
    admin: kafka,
    createTopic: async (topic, partitions) => kafka.createTopic(topic, partitions),
    produce: async (topic, partition, ts) => kafka.produce(topic, partition, ts),
    commit: async (group, topic, partition, offset) => kafka.commit(group, topic, partition, offset),
    teardown: async () => kafka.close(),
  };
});
