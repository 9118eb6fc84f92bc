/**
 * vigil's Kafka connection settings (KafkaConfig, from a vigil config file, flags or a
 * Kafka client properties file) as the TLS and SASL options kafkajs's connection layer
 * takes. kafkajs hands `ssl` to tls.connect unchanged, so these are Node TLS options.
 * Pure, so the whole path from a properties file to the socket options is unit-tested.
 */
import type { ConnectionOptions } from 'node:tls';
import type { KafkaSaslConfig, KafkaSslConfig } from '../config/types';

export function kafkajsTlsOptions(ssl: KafkaSslConfig | false): ConnectionOptions | undefined {
  if (ssl === false) return undefined;
  const out: ConnectionOptions = { rejectUnauthorized: ssl.rejectUnauthorized };
  if (ssl.ca !== undefined) out.ca = ssl.ca;
  if (ssl.cert !== undefined) out.cert = ssl.cert;
  if (ssl.key !== undefined) out.key = ssl.key;
  if (ssl.passphrase !== undefined) out.passphrase = ssl.passphrase;
  if (ssl.servername !== undefined) out.servername = ssl.servername;
  // The chain is still verified against the CA; only the name in the certificate is not
  // compared with the broker's host (Kafka's ssl.endpoint.identification.algorithm=).
  if (ssl.verifyHostname === false) out.checkServerIdentity = () => undefined;
  return out;
}

export function kafkajsSaslOptions(sasl: KafkaSaslConfig | undefined): { mechanism: KafkaSaslConfig['mechanism']; username: string; password: string } | undefined {
  return sasl ? { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } : undefined;
}
