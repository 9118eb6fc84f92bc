/**
 * What `vigil demo` runs (docs/design.md §9), as data: the topics and their produce rates, the
 * consumer groups and their pace, and the config sections every demo replica gets on top
 * of the local group's own (src/local/replicas.ts: node, peers, election, http). Pure:
 * the addresses, secrets and directories come in as arguments.
 */
import type { ReplicaConfigInput, ReplicaLayout } from '../local/replicas';
import { replicaConfigDoc } from '../local/replicas';

/** The `cluster` of the demo replicas: the first part of every alert key. */
export const DEMO_CLUSTER = 'demo';
export const DEMO_BROKERS = 3;
export const DEMO_REPLICAS = 3;

export interface DemoTopic {
  readonly topic: string;
  readonly partitions: number;
  /** records per second over all partitions */
  readonly ratePerSec: number;
}

export const ORDERS: DemoTopic = { topic: 'orders', partitions: 3, ratePerSec: 20 };
export const PAYMENTS: DemoTopic = { topic: 'payments', partitions: 2, ratePerSec: 4 };
export const DEMO_TOPICS: readonly DemoTopic[] = [ORDERS, PAYMENTS];

/** The healthy group: consumes `orders` as fast as it is produced. */
export const HEALTHY_GROUP = 'orders-svc';
/** The slow group: consumes `payments` slower than it is produced, then catches up. */
export const SLOW_GROUP = 'payments-slow';

/** Lag rules of the demo: the product defaults, except a short resolveFor (see docs/demo.md). */
export const DEMO_LAG = { thresholdSeconds: 10, resolveBelowSeconds: 8, resolveForSeconds: 5 } as const;

/**
 * The slow consumer's pace. It processes `slowFraction` of the produce rate, so its
 * delivery latency grows by (1 − slowFraction) s every second and passes the 10 s
 * threshold after about 10 / (1 − slowFraction) s; once the record in hand is
 * `speedUpAtSeconds` old it works at full speed until caught up, stays fast for
 * `fastForSeconds`, and slows down again: one incident, fired and resolved, every couple of
 * minutes.
 */
export const SLOW_PACE = { slowFraction: 0.4, speedUpAtSeconds: 15, fastForSeconds: 60 } as const;

/** Milliseconds the slow consumer spends on one record while slow. */
export function slowDelayMs(topic: DemoTopic = PAYMENTS, fraction: number = SLOW_PACE.slowFraction): number {
  return Math.round(1000 / (topic.ratePerSec * fraction));
}

export interface DemoEndpoints {
  readonly brokers: readonly string[];
  readonly redisUrl: string;
  /** where the demo's webhook receiver listens, e.g. http://127.0.0.1:40001/hook */
  readonly webhookUrl: string;
  /** --with-prometheus: the demo's Alertmanager, e.g. http://127.0.0.1:40002 (an alertmanager channel) */
  readonly alertmanagerUrl?: string;
}

/** The sections every demo replica gets besides node, peers, election and http. */
export function demoReplicaSections(endpoints: DemoEndpoints): Record<string, unknown> {
  return {
    kafka: { brokers: [...endpoints.brokers], clientId: 'vigil-demo' },
    redis: { url: endpoints.redisUrl },
    monitor: { pollInterval: '1s' },
    lag: {
      threshold: `${DEMO_LAG.thresholdSeconds}s`,
      resolveBelow: `${DEMO_LAG.resolveBelowSeconds}s`,
      resolveFor: `${DEMO_LAG.resolveForSeconds}s`,
    },
    alerting: {
      channels: [
        { type: 'webhook', name: 'demo-console', url: endpoints.webhookUrl },
        ...(endpoints.alertmanagerUrl !== undefined ? [{ type: 'alertmanager', name: 'demo-alertmanager', url: endpoints.alertmanagerUrl }] : []),
      ],
    },
    remediation: { mode: 'dry-run' },
  };
}

/** Everything startLocalReplicas needs to write the demo replicas' configs (pure). */
export function demoReplicaInput(endpoints: DemoEndpoints, secret: string, adminToken: string): ReplicaConfigInput {
  return { cluster: DEMO_CLUSTER, secret, adminToken, config: demoReplicaSections(endpoints) };
}

/** The whole YAML document (as data) of one demo replica; what its vigil.yaml holds. */
export function demoReplicaDoc(self: ReplicaLayout, all: readonly ReplicaLayout[], endpoints: DemoEndpoints, secret: string, adminToken: string): Record<string, unknown> {
  return replicaConfigDoc(self, all, demoReplicaInput(endpoints, secret, adminToken));
}
