import { MemoryStateBackend, type MemoryStateStore } from '../fakes/memory-state';
import { stateStoreContract } from '../contract/state-store.contract';
import { waitFor } from '../harness/wait';

stateStoreContract('in-memory fake', async () => {
  const backend = new MemoryStateBackend();
  const stores: MemoryStateStore[] = [];
  return {
    async open(cluster, opts) {
      const store = backend.connect(cluster, opts);
      stores.push(store);
      await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'the fake store to connect' });
      return store;
    },
    stop: async () => backend.stop(),
    start: async () => backend.start(),
    wipe: async () => backend.wipe(),
    teardown: async () => {
      await Promise.all(stores.map((s) => s.close()));
    },
  };
});
