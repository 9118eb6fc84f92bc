/**
 * The compiled configuration: what the rest of vigil reads. Produced once by
 * `loadConfig` / `compileConfig` (src/config/index.ts) from the YAML of docs/design.md §7:
 * raw → defaults → validated → durations in milliseconds → deeply frozen.
 * Nothing outside src/config reads process.env or the YAML.
 */

export interface PeerConfig {
  readonly id: string;
  /**
   * Base URL of the replica's public listener (node.listen), e.g. "http://127.0.0.1:9465"
   * (no trailing slash): where followers forward leader-only reads, shown in the status.
   */
  readonly url: string;
  /**
   * Base URL of the replica's peer listener (node.peerListen), e.g. "http://127.0.0.1:9475":
   * the peer protocol. Always set when there is more than one replica.
   */
  readonly peerUrl?: string;
}

/**
 * node.tls: this replica's TLS identity, used when the peer URLs are https:// (issue 8,
 * defect 6). Both listeners serve `cert`/`key`; clients (peer links, forwarding to the
 * leader) check servers against `ca`, or the system CAs when it is absent.
 */
export interface NodeTlsConfig {
  /** PEM text (already read from the files named in the YAML, if paths were given). */
  readonly ca?: string;
  readonly cert: string;
  readonly key: string;
}

export interface KafkaSaslConfig {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** TLS client settings (kafka.ssl, redis.tls, redis.sentinel.sentinelTls). */
export interface TlsConfig {
  /** PEM text (already read from the files named in the YAML, if paths were given). */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
  /** Passphrase of an encrypted client key (ssl.key.password of a Kafka properties file). */
  readonly passphrase?: string;
  /** false: verify the chain but not the broker's host name (Kafka's ssl.endpoint.identification.algorithm=). Default true. */
  readonly verifyHostname?: boolean;
}

export type KafkaSslConfig = TlsConfig;

export interface KafkaConfig {
  readonly brokers: readonly string[];
  /**
   * Bootstrap controllers (KIP-919, Kafka ≥ 3.7): the KRaft controllers' client-reachable
   * listener, same TLS/SASL as the brokers. When set, remediation sends its partition
   * mutations straight to the active controller instead of through a broker, whose
   * forwarding stalls for its request timeout when the active controller hangs
   * (docs/remediation.md). Absent: through brokers.
   */
  readonly controllers?: readonly string[];
  readonly clientId: string;
  /** false = plaintext; otherwise TLS options passed through to kafkajs. */
  readonly ssl: KafkaSslConfig | false;
  readonly sasl?: KafkaSaslConfig;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/**
 * A per-group/topic lag rule. The first override (in file order) whose globs both match
 * applies, fully: its values are already resolved at compile time (a value the YAML left
 * out comes from `lag.*`; an omitted resolveBelow keeps lag.resolveBelow's ratio to
 * lag.threshold). Use `lagRuleFor` (src/config) rather than matching by hand.
 */
export interface LagOverride {
  /** Globs (src/util/glob); '*' when the YAML left one out. */
  readonly group: string;
  readonly topic: string;
  readonly thresholdMs: number;
  readonly resolveBelowMs: number;
  readonly severity: Severity;
  /** the early warning's lead (docs/design.md §3.8); 0 or absent = off (compile always sets it) */
  readonly warnAheadMs?: number;
}

export type Severity = 'critical' | 'warning' | 'info';

/**
 * A notification channel. `name` is unique (default "<type>-<index in the list>") and is
 * the `channel` label of vigil_notifications_total. URLs are kept as written (the
 * Alertmanager base URL loses a trailing slash) and may carry credentials (Slack webhook
 * URLs are secrets): never log them whole (src/config `redactUrl`).
 */
export type ChannelConfig = (
  /** Generic JSON body of docs/design.md §4, POSTed to url with the extra headers. */
  | { readonly type: 'webhook'; readonly name: string; readonly url: string; readonly headers: Readonly<Record<string, string>> }
  /** Slack incoming-webhook URL. */
  | { readonly type: 'slack'; readonly name: string; readonly url: string }
  /** Events API v2; url defaults to https://events.pagerduty.com/v2/enqueue. */
  | { readonly type: 'pagerduty'; readonly name: string; readonly routingKey: string; readonly url: string }
  /** Alertmanager base URL (e.g. http://alertmanager:9093); alerts go to <url>/api/v2/alerts. */
  | { readonly type: 'alertmanager'; readonly name: string; readonly url: string }
) & {
  /**
   * alerting.runbookUrl, copied onto every channel by the compiler so the channel modules
   * (pure over their own config) can link each page to its runbook entry. Not a YAML key
   * of a channel. Absent only in channels built by hand (tests): no link is sent then.
   */
  readonly runbookUrl?: string;
};

export type ChannelType = ChannelConfig['type'];

export interface RedisSentinelConfig {
  /** The master group name the sentinels monitor. */
  readonly name: string;
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** ACL user of the sentinels themselves (Redis 6.2+ sentinels with ACL users). */
  readonly sentinelUsername?: string;
  /** Password of the sentinels themselves, when they require one. */
  readonly sentinelPassword?: string;
  /** TLS to the sentinels; absent = plaintext. */
  readonly sentinelTls?: TlsConfig;
}

export type RemediationMode = 'off' | 'dry-run' | 'auto';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export type SaslMechanism = KafkaSaslConfig['mechanism'];

export type OffsetsSource = 'stream' | 'poll';

export interface VigilConfig {
  readonly cluster: string;
  readonly node: {
    readonly id: string;
    /** The public listener: API, metrics, health, status page. */
    readonly listen: { readonly host: string; readonly port: number };
    /** The peer protocol's own listener; set whenever there is more than one replica. */
    readonly peerListen?: { readonly host: string; readonly port: number };
    /** Set exactly when the peer URLs are https://. */
    readonly tls?: NodeTlsConfig;
    /** Absolute; a relative path in the YAML is resolved against the config file's directory. */
    readonly dataDir: string;
  };
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
  /** Exactly one of url and sentinel is set. */
  readonly redis: {
    /** redis:// or rediss:// URL (may carry credentials: never log it whole). */
    readonly url?: string;
    readonly sentinel?: RedisSentinelConfig;
    /**
     * ACL user and password of the Redis server (standalone, or the master and replicas
     * behind Sentinel). With a url, set only when the URL itself carries no credentials.
     */
    readonly username?: string;
    readonly password?: string;
    /**
     * TLS to the Redis server (standalone, or the master and replicas behind Sentinel);
     * set exactly when the connection uses TLS (always for a rediss:// URL).
     */
    readonly tls?: TlsConfig;
  };
  readonly monitor: {
    readonly pollIntervalMs: number;
    /** Faster metadata polling while an incident is open. */
    readonly incidentPollIntervalMs: number;
    readonly groups: { readonly include: readonly string[]; readonly exclude: readonly string[] };
    readonly topics: { readonly include: readonly string[]; readonly exclude: readonly string[] };
    /**
     * Where committed offsets come from (docs/design.md §3.6): 'stream' tails
     * `__consumer_offsets` on every replica and polls (OffsetFetch) only the groups it cannot
     * vouch for; 'poll' asks every group's coordinator every cycle.
     */
    readonly offsetsSource: OffsetsSource;
  };
  readonly lag: {
    readonly thresholdMs: number;
    readonly resolveBelowMs: number;
    readonly resolveForMs: number;
    /** Severity of lag alerts no override changes. */
    readonly severity: Severity;
    /**
     * Early warning (docs/design.md §3.8): a ConsumerBreachAhead page when a group/topic is
     * predicted to breach within this long if it commits nothing more. 0 = off (the default);
     * compile always sets it (optional for configs built by hand, e.g. in tests).
     */
    readonly warnAheadMs?: number;
    readonly overrides: readonly LagOverride[];
  };
  readonly canary: { readonly enabled: boolean; readonly topic: string; readonly intervalMs: number };
  readonly alerting: {
    readonly channels: readonly ChannelConfig[];
    /**
     * Base URL of the runbook (docs/operations.md); a page links to `<runbookUrl>#<anchor>`.
     * No trailing slash, no fragment. Default: this replica's public url (peers[].url) + "/runbook".
     */
    readonly runbookUrl: string;
  };
  readonly remediation: {
    readonly mode: RemediationMode;
    readonly brokerDownGraceMs: number;
    /** A broker in the metadata that has answered nothing this long is hung: moved off (docs/design.md §5). */
    readonly hungAfterMs: number;
    /** A broker vigil moved partitions off gets them back after being healthy this long. */
    readonly recoverGraceMs: number;
    readonly maxPartitionMovesPerBroker: number;
    readonly allowUncleanElection: boolean;
    /** Refuse automated moves when more than this fraction of brokers is down. */
    readonly maxBrokersDownFraction: number;
    /** Minimum time between two automated moves of the same partition. */
    readonly cooldownMs: number;
    /** Largest number of partition moves one plan may hold; bigger plans are refused. */
    readonly maxPlanSize: number;
    /** Replication throttle while reassigning, bytes/s. */
    readonly throttleBytesPerSec: number;
  };
  /** adminToken '' = the mutating API endpoints are disabled. */
  readonly http: {
    readonly adminToken: string;
    /** Public listener connection bound (see src/http/server.ts for what happens past it). */
    readonly maxConnections: number;
  };
  readonly log: { readonly level: LogLevel };
}
