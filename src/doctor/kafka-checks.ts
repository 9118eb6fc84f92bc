/**
 * The Kafka checks of `vigil doctor` from what the probe found (pure): the bootstrap
 * addresses, each broker at its advertised address, and one line per ACL vigil needs
 * (kafka-acl.ts). The probe (kafka-probe.ts) only gathers facts; every judgement and every
 * message is made here, so all of them are unit-tested.
 */
import type { KafkaConfig } from '../config/types';
import { check, type Check, listNames, shellWord } from './check';
import { type AccessFact, type AclContext, type AclRequirement, aclChecks } from './kafka-acl';

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
}

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

export function kafkaChecks(facts: KafkaFacts, kafka: Pick<KafkaConfig, 'ssl' | 'sasl'>, ctx: AclContext): Check[] {
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
  return out;
}
