/**
 * The Kafka checks of `vigil doctor` from what the probe found (pure): the bootstrap
 * addresses, each broker at its advertised address, and one line per ACL vigil needs
 * (kafka-acl.ts). The probe (kafka-probe.ts) only gathers facts; every judgement and every
 * message is made here, so all of them are unit-tested.
 */
import type { KafkaConfig } from '../config/types';
import { OFFSETS_TOPIC } from '../kafka/offsets-log';
import { formatDurationMs } from '../util/duration';
import { check, type Check, listNames, shellWord } from './check';
import { type AccessFact, type AclContext, type AclRequirement, aclChecks, kafkaAclsCommand } from './kafka-acl';

/** One connection attempt: TCP, TLS, ApiVersions and SASL as kafkajs makes them. */
export interface AddressProbe {
  readonly address: string;
  readonly ok: boolean;
  /** the error kafkajs raised: name, type (Kafka error), code (socket or TLS) and message */
  readonly error?: ConnectError;
}

export interface ConnectError {
  readonly name?: string;
  readonly type?: string;
  readonly code?: string;
  readonly message: string;
}

export interface KafkaFacts {
  readonly bootstrap: readonly AddressProbe[];
  /** Each broker of the metadata at its advertised address; absent when no Metadata came. */
  readonly advertised?: readonly (AddressProbe & { readonly nodeId: number })[];
  /** Why Metadata could not be had although a bootstrap broker answered. */
  readonly metadataError?: string;
  readonly requirements: readonly AclRequirement[];
  readonly access: readonly AccessFact[];
  /** What the commit stream's own requests met; absent when Kafka could not be asked at all. */
  readonly offsetsStream?: OffsetsStreamFact;
}

/**
 * The commit stream's requests (docs/design.md §3.6) as the doctor tried them: Metadata for
 * `__consumer_offsets` alone, then one Fetch of one partition from its leader that does not
 * wait — through the stream's own adapter (src/kafka/kafkajs-offsets-log.ts).
 */
export type OffsetsStreamFact =
  /** monitor.offsetsSource: poll — nothing tried */
  | { readonly state: 'skipped' }
  /** no group has ever committed: the topic does not exist (DESCRIBE allowed, READ untestable) */
  | { readonly state: 'absent' }
  /** the Fetch passed Kafka's READ check; `answer` says what it returned */
  | { readonly state: 'read'; readonly partition: number; readonly leader: number; readonly answer: string }
  /** Kafka refused: DESCRIBE (Metadata) or READ (Fetch) */
  | { readonly state: 'denied'; readonly operation: 'DESCRIBE' | 'READ'; readonly via: 'Metadata' | 'Fetch'; readonly error: string }
  /** no answer about the grant: a request failed, or no partition has a leader */
  | { readonly state: 'untested'; readonly reason: string };

export const OFFSETS_STREAM_CHECK = 'kafka.offsets-stream';

/** "SASL_SSL (SCRAM-SHA-512 as vigil)": how vigil connects, in Kafka's words. */
export function kafkaSecurity(kafka: Pick<KafkaConfig, 'ssl' | 'sasl'>): string {
  const protocol = `${kafka.sasl ? 'SASL_' : ''}${kafka.ssl === false ? 'PLAINTEXT' : 'SSL'}`;
  if (!kafka.sasl) return protocol === 'SSL' && kafka.ssl !== false && kafka.ssl.cert !== undefined ? 'SSL (client certificate)' : protocol;
  return `${protocol} (${kafka.sasl.mechanism.toUpperCase()} as ${kafka.sasl.username})`;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

const SASL_TYPES = new Set(['SASL_AUTHENTICATION_FAILED', 'ILLEGAL_SASL_STATE', 'UNSUPPORTED_SASL_MECHANISM']);

export type ConnectFailure = 'auth' | 'tls' | 'closed' | 'timeout' | 'unreachable';

/** What kind of failure a connection error is: it decides the fix. */
export function connectFailure(err: ConnectError): ConnectFailure {
  if (err.name === 'KafkaJSSASLAuthenticationError' || (err.type !== undefined && SASL_TYPES.has(err.type))) return 'auth';
  if ((err.code !== undefined && TLS_CODES.has(err.code)) || /certificate|wrong version number|SSL routines|TLS/i.test(err.message)) return 'tls';
  if (/closed by the server|ECONNRESET|socket hang up/i.test(err.message)) return 'closed';
  if (/timeout|timed out/i.test(err.message)) return 'timeout';
  return 'unreachable';
}

/** The fix for a failed connection, in terms of the config keys that cause it. */
export function connectFix(kind: ConnectFailure, kafka: Pick<KafkaConfig, 'ssl' | 'sasl'>): string {
  switch (kind) {
    case 'auth': {
      if (!kafka.sasl) return 'the listener asks for SASL: set kafka.sasl (mechanism, username, password)';
      const mechanism = kafka.sasl.mechanism.toUpperCase();
      const create = mechanism.startsWith('SCRAM')
        ? ` (kafka-configs.sh --bootstrap-server … --alter --add-config '${mechanism}=[password=…]' --entity-type users --entity-name ${shellWord(kafka.sasl.username)})`
        : '';
      return `check kafka.sasl: user ${kafka.sasl.username} must exist on the brokers with this password for ${mechanism}${create}, and the listener's sasl.enabled.mechanisms must include ${mechanism}`;
    }
    case 'tls':
      return kafka.ssl === false
        ? 'the listener speaks TLS: set kafka.ssl (ca: the CA that signed the brokers\' certificates)'
        : "kafka.ssl.ca must hold the CA that signed the brokers' certificates, and the broker's host name must be in its certificate (or set kafka.ssl.servername); if the listener is plaintext, set kafka.ssl: false";
    case 'closed':
      return 'the broker closed the connection during the handshake: does this listener expect TLS (kafka.ssl) or SASL (kafka.sasl) other than configured? Compare with the listener in listener.security.protocol.map';
    case 'timeout':
      return 'no answer in kafka.connectionTimeout: is the address reachable from this host (firewall, routing), and is it a Kafka listener?';
    case 'unreachable':
      return 'check that the broker runs and that the address is right and reachable from this host';
    default: {
      const never: never = kind;
      return never;
    }
  }
}

function failed(probes: readonly AddressProbe[]): string {
  return probes
    .filter((p) => !p.ok)
    .map((p) => `${p.address}: ${p.error?.message ?? 'failed'}`)
    .join('; ');
}

function firstFix(probes: readonly AddressProbe[], kafka: Pick<KafkaConfig, 'ssl' | 'sasl'>): string {
  const first = probes.find((p) => !p.ok && p.error !== undefined);
  return first?.error === undefined ? '' : connectFix(connectFailure(first.error), kafka);
}

/**
 * `kafka.offsets-stream`: whether the commit stream may read `__consumer_offsets`. Never a
 * failure — without the grant vigil polls every group's offsets (docs/monitoring.md,
 * "Committed offsets: stream or poll") — but a warning that says what is lost.
 */
export function offsetsStreamCheck(fact: OffsetsStreamFact, ctx: AclContext, pollIntervalMs: number): Check {
  const grant = `DESCRIBE and READ on TOPIC ${OFFSETS_TOPIC}`;
  switch (fact.state) {
    case 'skipped':
      return check(OFFSETS_STREAM_CHECK, 'ok', `skipped: monitor.offsetsSource is poll, so vigil reads every group's committed offsets with OffsetFetch and never reads ${OFFSETS_TOPIC}`);
    case 'absent':
      return check(
        OFFSETS_STREAM_CHECK,
        'ok',
        `${OFFSETS_TOPIC} does not exist yet: no group has ever committed an offset (Kafka creates the topic at the first commit; the commit stream waits for it). DESCRIBE on it is allowed; READ can be tested once it exists: run vigil doctor again then`,
      );
    case 'read':
      return check(
        OFFSETS_STREAM_CHECK,
        'ok',
        `${grant} allowed to ${ctx.principal}: Metadata, and a Fetch of partition ${fact.partition} from its leader (broker ${fact.leader}) that ${fact.answer}; needed by the commit stream (monitor.offsetsSource: stream)`,
      );
    case 'denied':
      return check(
        OFFSETS_STREAM_CHECK,
        'warn',
        `${fact.operation} on TOPIC ${OFFSETS_TOPIC} denied to ${ctx.principal} (${fact.via}: ${fact.error}): the commit stream (monitor.offsetsSource: stream) cannot read it, so vigil falls back to polling — offsets are polled with OffsetFetch per group; pages come up to one poll interval (monitor.pollInterval, ${formatDurationMs(pollIntervalMs)}) later, and the cluster's load grows with the number of groups`,
        `${kafkaAclsCommand(ctx, ['READ', 'DESCRIBE'], 'TOPIC', [OFFSETS_TOPIC])} # or set monitor.offsetsSource: poll to poll on purpose`,
      );
    case 'untested':
      return check(OFFSETS_STREAM_CHECK, 'warn', `${grant} (the commit stream's, monitor.offsetsSource: stream) not tested: ${fact.reason}`, 'run vigil doctor again; without the grant vigil polls every group\'s offsets and says so in /api/v1/status');
    default: {
      const never: never = fact;
      return never;
    }
  }
}

export function kafkaChecks(facts: KafkaFacts, kafka: Pick<KafkaConfig, 'ssl' | 'sasl'>, ctx: AclContext, pollIntervalMs: number): Check[] {
  const out: Check[] = [];
  const security = kafkaSecurity(kafka);
  const up = facts.bootstrap.filter((p) => p.ok).length;
  const total = facts.bootstrap.length;
  if (up === total) {
    out.push(check('kafka.bootstrap', 'ok', `${up} of ${total} bootstrap broker(s) answered over ${security} (${listNames(facts.bootstrap.map((p) => p.address))})`));
  } else {
    const none = up === 0;
    out.push(
      check(
        'kafka.bootstrap',
        none ? 'fail' : 'warn',
        `${up} of ${total} bootstrap broker(s) answered over ${security}; ${failed(facts.bootstrap)}${none ? '; nothing else in Kafka could be checked' : ''}`,
        firstFix(facts.bootstrap, kafka),
      ),
    );
  }
  if (up === 0) return out;

  if (facts.advertised === undefined) {
    out.push(check('kafka.metadata', 'fail', `a bootstrap broker answered but Metadata failed: ${facts.metadataError ?? 'no answer'}`, 'look at the brokers\' logs; run vigil doctor again'));
    return out;
  }
  const down = facts.advertised.filter((b) => !b.ok);
  const brokers = facts.advertised.map((b) => `${b.nodeId} at ${b.address}`);
  if (down.length === 0) {
    out.push(check('kafka.brokers', 'ok', `all ${facts.advertised.length} broker(s) answer at their advertised addresses (${listNames(brokers)})`));
  } else {
    const which = down.map((b) => `broker ${b.nodeId} at ${b.address}: ${b.error?.message ?? 'failed'}`).join('; ');
    out.push(
      check(
        'kafka.brokers',
        'fail',
        `${down.length} of ${facts.advertised.length} broker(s) do not answer at the address they advertise (${which}); vigil would page BrokerUnreachable for them`,
        `advertised.listeners of ${down.length === 1 ? 'that broker' : 'those brokers'} must name an address this host can reach, on the listener vigil bootstraps through; ${firstFix(down, kafka)}`,
      ),
    );
  }
  out.push(...aclChecks(facts.requirements, facts.access, ctx));
  if (facts.offsetsStream !== undefined) out.push(offsetsStreamCheck(facts.offsetsStream, ctx, pollIntervalMs));
  return out;
}
