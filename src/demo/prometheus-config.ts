/**
 * What `vigil demo --with-prometheus` (docs/demo.md) runs Prometheus and Alertmanager with,
 * as data: a prometheus.yml that scrapes every demo replica's /metrics, loads the shipped
 * rules (deploy/prometheus/vigil-rules.yml, the same file the compose stack and Kubernetes
 * use) and sends alerts to the demo's Alertmanager; and a minimal alertmanager.yml whose
 * one receiver has no integrations (the "null" receiver: alerts are kept and shown through
 * Alertmanager's API and amtool, nothing is sent — the demo's pages go through vigil's own
 * webhook channel to the demo's console). Pure: addresses and paths come in as arguments.
 */
import path from 'node:path';

/** The rules vigil ships; the demo's Prometheus loads this very file. */
export const SHIPPED_RULES_FILE = path.resolve(__dirname, '..', '..', '..', 'deploy', 'prometheus', 'vigil-rules.yml');

/**
 * Intervals as in deploy/prometheus/prometheus.yml: 5 s, so VigilNoLeader and
 * VigilSplitBrain see a failover within a few scrapes.
 */
export const DEMO_PROMETHEUS_GLOBAL = { scrape_interval: '5s', scrape_timeout: '4s', evaluation_interval: '5s' } as const;

/** The scrape job of the replicas (the rules name no job; this is for people and tests). */
export const VIGIL_SCRAPE_JOB = 'vigil';

/** The one receiver of the demo's Alertmanager: no integrations, so it sends nothing. */
export const DEMO_ALERTMANAGER_RECEIVER = 'demo-null';

export interface DemoPrometheusInput {
  /** host:port of every replica's public listener (node.listen), where /metrics is served */
  readonly replicaTargets: readonly string[];
  /** absolute paths of the rule files (default: the shipped rules) */
  readonly ruleFiles?: readonly string[];
  /** host:port of the demo's Alertmanager */
  readonly alertmanager: string;
  /** host:port of Prometheus itself (it scrapes itself, as in the shipped config) */
  readonly self: string;
}

/** The demo's prometheus.yml, as data (YAML-stringify it to write the file). */
export function demoPrometheusConfig(input: DemoPrometheusInput): Record<string, unknown> {
  return {
    global: { ...DEMO_PROMETHEUS_GLOBAL },
    rule_files: [...(input.ruleFiles ?? [SHIPPED_RULES_FILE])],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [input.alertmanager] }] }] },
    scrape_configs: [
      // No target labels: every vigil series carries its own `cluster` and `node_id`.
      { job_name: VIGIL_SCRAPE_JOB, metrics_path: '/metrics', static_configs: [{ targets: [...input.replicaTargets] }] },
      { job_name: 'prometheus', static_configs: [{ targets: [input.self] }] },
      { job_name: 'alertmanager', static_configs: [{ targets: [input.alertmanager] }] },
    ],
  };
}

/** The demo's alertmanager.yml, as data: everything to the null receiver. */
export function demoAlertmanagerConfig(): Record<string, unknown> {
  return {
    route: {
      receiver: DEMO_ALERTMANAGER_RECEIVER,
      // as deploy/alertmanager/alertmanager.yml: one group per alert kind, cluster and consumer group
      group_by: ['alertname', 'cluster', 'group'],
    },
    receivers: [{ name: DEMO_ALERTMANAGER_RECEIVER }],
  };
}

/** "127.0.0.1:9464" from "http://127.0.0.1:9464" (a scrape target is host:port). */
export function hostPort(url: string): string {
  const u = new URL(url);
  return u.host;
}
