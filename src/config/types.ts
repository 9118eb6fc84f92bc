/**
 * The compiled configuration: what the rest of vigil reads. Produced once by
 * `loadConfig` / `compileConfig` (src/config/index.ts) from the YAML of DESIGN §7:
 * raw → defaults → validated → durations in milliseconds → deeply frozen.
 * Nothing outside src/config reads process.env or the YAML.
 */

export interface PeerConfig {
  readonly id: string;
  /** Base URL of the peer's HTTP listener, e.g. "http://127.0.0.1:9465" (no trailing slash). */
  readonly url: string;
}

export interface KafkaSaslConfig {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

export interface KafkaSslConfig {
  /** PEM text (already read from the files named in the YAML, if paths were given). */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
}

export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** false = plaintext; otherwise TLS options passed through to kafkajs. */
  readonly ssl: KafkaSslConfig | false;
  readonly sasl?: KafkaSaslConfig;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

export interface LagOverride {
  /** Globs; an override applies when both match (a missing one matches all). */
  readonly group: string;
  readonly topic: string;
  readonly thresholdMs?: number;
  readonly resolveBelowMs?: number;
  readonly severity?: Severity;
}

export type Severity = 'critical' | 'warning' | 'info';

export type ChannelConfig =
  | { readonly type: 'webhook'; readonly name: string; readonly url: string; readonly headers: Readonly<Record<string, string>> }
  | { readonly type: 'slack'; readonly name: string; readonly url: string }
  | { readonly type: 'pagerduty'; readonly name: string; readonly routingKey: string; readonly url: string }
  | { readonly type: 'alertmanager'; readonly name: string; readonly url: string };

export type RemediationMode = 'off' | 'dry-run' | 'auto';

export interface VigilConfig {
  readonly cluster: string;
  readonly node: { readonly id: string; readonly listen: { readonly host: string; readonly port: number }; readonly dataDir: string };
  /** Every replica, this one included. */
  readonly peers: readonly PeerConfig[];
  readonly election: {
    readonly heartbeatIntervalMs: number;
    readonly electionTimeoutMs: number;
    /** HMAC-SHA256 key for peer messages; '' only allowed with a single replica. */
    readonly secret: string;
    /** Peer messages older/newer than this (wall clock) are rejected as stale. */
    readonly maxClockSkewMs: number;
  };
  readonly kafka: KafkaConfig;
  readonly redis: {
    /** Plain URL, or undefined when sentinel is used. */
    readonly url?: string;
    readonly sentinel?: { readonly name: string; readonly sentinels: readonly { host: string; port: number }[]; readonly password?: string };
  };
  readonly monitor: {
    readonly pollIntervalMs: number;
    /** Faster metadata polling while an incident is open. */
    readonly incidentPollIntervalMs: number;
    readonly groups: { readonly include: readonly string[]; readonly exclude: readonly string[] };
    readonly topics: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  };
  readonly lag: {
    readonly thresholdMs: number;
    readonly resolveBelowMs: number;
    readonly resolveForMs: number;
    readonly severity: Severity;
    readonly overrides: readonly LagOverride[];
  };
  readonly canary: { readonly enabled: boolean; readonly topic: string; readonly intervalMs: number };
  readonly alerting: { readonly channels: readonly ChannelConfig[] };
  readonly remediation: {
    readonly mode: RemediationMode;
    readonly brokerDownGraceMs: number;
    readonly maxPartitionMovesPerBroker: number;
    readonly allowUncleanElection: boolean;
    /** Refuse automated moves when more than this fraction of brokers is down. */
    readonly maxBrokersDownFraction: number;
    readonly cooldownMs: number;
    readonly maxPlanSize: number;
    /** Replication throttle while reassigning, bytes/s. */
    readonly throttleBytesPerSec: number;
  };
  readonly http: { readonly adminToken: string };
  readonly log: { readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
}
