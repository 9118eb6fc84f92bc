/**
 * The CanaryPort contract on the in-memory fake (the kafkajs adapter runs the same cases
 * against real Kafka in test/integration/canary.test.ts).
 */
import { MemoryCanaryPort, canaryPortContract } from '../fakes/memory-canary';

canaryPortContract('in-memory fake', async () => {
  const port = new MemoryCanaryPort([1, 2, 3]);
  return { port, brokerIds: [1, 2, 3], teardown: () => port.close() };
});
