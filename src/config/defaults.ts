/**
 * Every default in one place; docs/configuration.md lists the same values. The numbers
 * behind the timing defaults are in docs/design.md §2 and §10.
 */
import type { LogLevel, OffsetsSource, RemediationMode, SaslMechanism, Severity } from './types';

export const OFFSETS_SOURCES: readonly OffsetsSource[] = ['stream', 'poll'];
export const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];
export const REMEDIATION_MODES: readonly RemediationMode[] = ['off', 'dry-run', 'auto'];
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

/** An HMAC key or bearer token shorter than this is guessable. */
export const MIN_SECRET_LENGTH = 16;

/**
 * Secrets that were published with vigil (the old docker-compose.yml fallbacks) or that
 * mark a value still to be replaced (deploy/k8s): long enough to pass the length check,
 * yet known to anyone, so election.secret and http.adminToken refuse them. `vigil demo`
 * generates its own.
 */
export const PUBLIC_SECRETS: readonly string[] = ['demo-only-peer-secret-do-not-use', 'demo-only-admin-token-do-not-use'];
/** A placeholder to replace, e.g. "REPLACE-ME-peer-secret-at-least-16-chars". */
export const PLACEHOLDER_SECRET_RE = /^\s*(?:REPLACE[-_ ]?ME|CHANGE[-_ ]?ME)/i;

export const DEFAULTS = {
  election: {
    heartbeatIntervalMs: 100,
    electionTimeoutMs: 400,
    // Peer messages are stamped with the sender's wall clock; replicas run NTP, so a few
    // seconds of skew is already a broken host, and the window bounds the replay cache.
    maxClockSkewMs: 5_000,
  },
  kafka: {
    clientId: 'vigil',
    // kafkajs' own default; a refused connection fails at once anyway.
    connectionTimeoutMs: 1_000,
    // Well under kafkajs' 30 s. The leader notices a hung broker by its ping and asks it
    // nothing else (src/monitor/observe.ts); this bounds requests to brokers that answered
    // it, and `vigil lag`, which does not ping.
    requestTimeoutMs: 5_000,
  },
  monitor: {
    pollIntervalMs: 1_000,
    incidentPollIntervalMs: 250,
    offsetsSource: 'stream' as const,
    include: ['*'] as readonly string[],
    exclude: [] as readonly string[],
  },
  lag: {
    thresholdMs: 10_000,
    resolveBelowMs: 8_000,
    resolveForMs: 30_000,
    severity: 'warning' as Severity,
    // off: a prediction pages only when asked for (docs/design.md §3.8)
    warnAheadMs: 0,
  },
  canary: { enabled: false, topic: '__vigil_canary', intervalMs: 1_000 },
  pagerdutyUrl: 'https://events.pagerduty.com/v2/enqueue',
  remediation: {
    mode: 'dry-run' as RemediationMode,
    brokerDownGraceMs: 600_000,
    // Longer than a young-generation GC pause or a brief network blip, well short of
    // Kafka's own broker.session.timeout.ms (9 s): a 2 s silence is an outage, not a pause.
    hungAfterMs: 2_000,
    recoverGraceMs: 300_000,
    maxPartitionMovesPerBroker: 5,
    allowUncleanElection: false,
    // With 3 brokers: one down may be healed, two down is an outage people handle.
    maxBrokersDownFraction: 0.5,
    cooldownMs: 300_000,
    maxPlanSize: 100,
    // 50 MiB/s: restores a replica quickly without starving producers on a 1 Gb/s link.
    throttleBytesPerSec: 50 * 1024 * 1024,
  },
  http: {
    // Open connections on the public listener (node.listen). Further capped at start to
    // half the process's open-files limit, so a flood cannot take the descriptors the
    // peer links, Kafka and Redis need (issue 8, defect 9).
    maxConnections: 512,
  },
  log: { level: 'info' as LogLevel },
} as const;
