/**
 * The whole thing, for end-to-end tests and benchmarks of the monitor: a real 3-broker
 * Kafka, a real Redis, a webhook sink and vigil replicas as processes paging into it, plus
 * helpers to run workloads and simulated consumer groups and to read the pages.
 *
 *   const stack = await startStack({ name: 'e2e-monitor' });
 *   const w = await stack.workload('orders', 2);
 *   const g = stack.group(w, 'orders-svc', 'orders', 2, () => ({ latencyMs: 1000 }));
 *   ...
 *   await stack.shutdown();
 */
import type { WebhookBodyV1 } from '../../src/alerting/types';
import { type KafkaCluster, type KafkaConfigMap, startKafka } from './kafka';
import { type RedisServer, startRedis } from './redis';
import { type ReplicaGroup, type StartReplicasOptions, startReplicas } from './replicas';
import { waitFor } from './wait';
import { type WebhookSink, startWebhookSink } from './webhook-sink';
import { type GroupBehaviour, SimulatedGroup, Workload } from './workload';

/** The replica harness names the cluster "test"; alert keys start with it. */
export const STACK_CLUSTER = 'test';

export interface StackOptions {
  readonly name: string;
  readonly brokerOverrides?: KafkaConfigMap;
  /** lag section of every replica (default threshold 10s, resolveBelow 8s, resolveFor 3s) */
  readonly lag?: Record<string, unknown>;
  /** monitor section (default pollInterval 1s, groups matching the name's prefix) */
  readonly monitor?: Record<string, unknown>;
  readonly replicas?: number;
  readonly scheduling?: Pick<StartReplicasOptions, 'nice' | 'rtPriority'>;
}

export interface Page {
  readonly body: WebhookBodyV1;
  readonly receivedAtMs: number;
}

export interface Stack {
  readonly kafka: KafkaCluster;
  readonly redis: RedisServer;
  readonly sink: WebhookSink;
  readonly replicas: ReplicaGroup;
  /** creates the topic and starts producing 10 (or ratePerSec) records/s per partition */
  /** A new topic (RF 3) and a Workload on it; `opts.historyMs` as WorkloadOptions.historyMs. */
  workload(topic: string, partitions: number, ratePerSec?: number, opts?: { historyMs?: number }): Promise<Workload>;
  /** a simulated consumer group committing every tickMs (not started) */
  group(w: Workload, group: string, topic: string, partitions: number, behaviour: (nowMs: number, partition: number) => GroupBehaviour, tickMs?: number): SimulatedGroup;
  /** every page the sink accepted, in arrival order */
  pages(filter?: (b: WebhookBodyV1) => boolean): Page[];
  waitForPage(what: string, filter: (b: WebhookBodyV1) => boolean, timeoutMs?: number): Promise<Page>;
  /** the leader's GET /api/v1/lag, through any running replica (followers forward) */
  leaderLag(): Promise<LagDoc>;
  /** the leader's open alerts (GET /api/v1/alerts) */
  leaderAlerts(): Promise<WebhookBodyV1[]>;
  lagKey(group: string, topic: string): string;
  /** what withLogsOnFailure prints */
  readonly logSources: readonly [KafkaCluster, RedisServer, ReplicaGroup];
  shutdown(): Promise<void>;
}

export interface LagDoc {
  generatedAt: string;
  groups: {
    group: string;
    lagSeconds: number | null;
    breach: boolean | null;
    topics: { topic: string; partitions: { partition: number; committed: number; end: number | null; lagSeconds: number | null; breach: boolean | null }[] }[];
  }[];
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const [kafka, redis, sink] = await Promise.all([
    startKafka({ brokers: 3, name: opts.name, ...(opts.brokerOverrides ? { brokerOverrides: opts.brokerOverrides } : {}) }),
    startRedis(),
    startWebhookSink(),
  ]);
  const workloads: Workload[] = [];
  const groups: SimulatedGroup[] = [];
  let replicas: ReplicaGroup | undefined;
  try {
    replicas = await startReplicas({
      count: opts.replicas ?? 3,
      name: opts.name,
      ...(opts.scheduling ?? {}),
      config: {
        kafka: { brokers: kafka.bootstrap },
        redis: { url: redis.url },
        monitor: { pollInterval: '1s', ...(opts.monitor ?? {}) },
        lag: { threshold: '10s', resolveBelow: '8s', resolveFor: '3s', ...(opts.lag ?? {}) },
        alerting: { channels: [{ type: 'webhook', url: sink.url('/hook') }] },
      },
    });
    await replicas.waitForLeader({ timeoutMs: 30_000 });
  } catch (err) {
    await Promise.allSettled([replicas?.shutdown(), sink.close(), kafka.shutdown(), redis.shutdown()]);
    throw err;
  }
  const group = replicas;

  const pages = (filter: (b: WebhookBodyV1) => boolean = () => true): Page[] =>
    sink
      .requests({ path: '/hook' })
      .filter((r) => r.answer === 200)
      .map((r) => ({ body: r.body as WebhookBodyV1, receivedAtMs: r.receivedAtMs }))
      .filter((p) => filter(p.body));

  const getJson = async <T>(path: string): Promise<T> => {
    const running = group.replicas.find((r) => r.isRunning());
    if (!running) throw new Error('no replica running');
    const res = await group.request(running.id, 'GET', path);
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.text}`);
    return JSON.parse(res.text) as T;
  };

  return {
    kafka,
    redis,
    sink,
    replicas: group,
    logSources: [kafka, redis, group],
    async workload(topic, partitions, ratePerSec = 10, opts = {}) {
      await kafka.createTopic(topic, { partitions, replicationFactor: 3 });
      const w = new Workload({ bootstrap: kafka.bootstrap, topic, partitions, ratePerSec, ...(opts.historyMs ? { historyMs: opts.historyMs } : {}) });
      await w.start();
      workloads.push(w);
      return w;
    },
    group(w, name, topic, partitions, behaviour, tickMs = 100) {
      const g = new SimulatedGroup(w, name, topic, partitions, behaviour, tickMs);
      groups.push(g);
      return g;
    },
    pages,
    waitForPage: (what, filter, timeoutMs = 60_000) => waitFor(() => pages(filter)[0], { timeoutMs, intervalMs: 50, what }),
    leaderLag: () => getJson<LagDoc>('/api/v1/lag'),
    leaderAlerts: async () => (await getJson<{ alerts: WebhookBodyV1[] }>('/api/v1/alerts')).alerts,
    lagKey: (g, topic) => `${STACK_CLUSTER}/ConsumerDeliveryLag/${g}/${topic}`,
    async shutdown() {
      await Promise.allSettled(groups.map((g) => g.stop()));
      await Promise.allSettled(workloads.map((w) => w.stop()));
      await Promise.allSettled([group.shutdown(), sink.close()]);
      await Promise.allSettled([kafka.shutdown(), redis.shutdown()]);
    },
  };
}
