/**
 * Kafka connection flags shared by the one-shot commands (`vigil lag`, `vigil plan`):
 * --brokers (or --bootstrap-server, as the Kafka tools spell it), a Kafka client
 * properties file (--command-config), the kafka section of --config, plus TLS/SASL
 * pass-through. Precedence: explicit flags > --command-config > --config > defaults.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { KafkaConfig, KafkaSaslConfig } from '../config/types';
import { VigilError } from '../errors';
import { type KafkaClientSettings, kafkaSettingsFromProperties } from '../kafka/client-properties';
import { decodePropertiesBytes, parseJavaProperties } from '../util/java-properties';
import { durationFlagMs } from './duration-flag';

export interface KafkaCliOptions {
  config?: string;
  brokers?: string;
  bootstrapServer?: string;
  commandConfig?: string;
  clientId?: string;
  ssl?: boolean;
  sslCa?: string;
  sslCert?: string;
  sslKey?: string;
  sslInsecure?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
  connectTimeout?: string;
}

export function addKafkaOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', "take the Kafka connection (brokers, TLS, SASL with ${ENV} secrets) from a vigil config file")
    .option('--brokers <list>', 'bootstrap brokers, comma-separated host:port (overrides --config)')
    .option('--bootstrap-server <list>', 'the same as --brokers, as the Kafka tools spell it')
    .option('--command-config <file>', 'a Kafka client properties file (security.protocol, sasl.*, ssl.* with PEM files), as the Kafka tools read it; overrides --config')
    .option('--client-id <id>', 'Kafka client id (default: vigil, or kafka.clientId of --config)')
    .option('--ssl', 'connect with TLS')
    .option('--ssl-ca <file>', 'PEM file of the CA that signed the brokers\' certificates (implies --ssl)')
    .option('--ssl-cert <file>', 'PEM client certificate for mutual TLS (implies --ssl)')
    .option('--ssl-key <file>', 'PEM client key for mutual TLS (implies --ssl)')
    .option('--ssl-insecure', 'do not verify the brokers\' certificates (implies --ssl)')
    .option('--sasl-mechanism <mechanism>', 'plain | scram-sha-256 | scram-sha-512')
    .option('--sasl-username <user>', 'SASL username')
    .option('--sasl-password <password>', 'SASL password (prefer --config with ${ENV} so it stays out of the process list)')
    .option('--connect-timeout <duration>', 'time to wait for each broker connection (default 3s)');
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/**
 * KafkaConfig from flags; --command-config, then `configKafka` (from --config), supply
 * what the flags leave out. `warn` gets one line per ignored property.
 */
export function kafkaConfigFromOptions(
  opts: KafkaCliOptions,
  configKafka?: KafkaConfig,
  warn: (line: string) => void = (line) => process.stderr.write(`vigil: warning: ${line}\n`),
): KafkaConfig {
  const base = opts.commandConfig === undefined ? configKafka : layer(configKafka, readCommandConfig(opts.commandConfig, warn));
  if (opts.brokers !== undefined && opts.bootstrapServer !== undefined && opts.brokers !== opts.bootstrapServer) {
    throw new VigilError('USAGE', '--brokers and --bootstrap-server are the same flag; give one of them');
  }
  const brokerFlag = opts.brokers ?? opts.bootstrapServer;
  const brokers = brokerFlag
    ? brokerFlag.split(',').map((b) => b.trim()).filter((b) => b.length > 0)
    : base?.brokers;
  if (!brokers || brokers.length === 0) {
    throw new VigilError('USAGE', 'no brokers given: pass --brokers (or --bootstrap-server) host:port[,host:port...], bootstrap.servers in --command-config, or --config <file>');
  }
  const bad = brokers.filter((b) => !/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/.test(b));
  const from = brokerFlag === undefined ? 'brokers' : opts.brokers !== undefined ? '--brokers' : '--bootstrap-server';
  if (bad.length > 0) throw new VigilError('USAGE', `${from}: "${bad.join('", "')}" is not host:port`);

  const connectionTimeoutMs =
    opts.connectTimeout === undefined ? (base?.connectionTimeoutMs ?? 3000) : durationFlagMs('--connect-timeout', opts.connectTimeout);

  const wantsSsl = Boolean(opts.ssl || opts.sslCa || opts.sslCert || opts.sslKey || opts.sslInsecure);
  // Field by field: --ssl-ca replaces the CA of --command-config/--config, not its client certificate.
  const baseSsl = base?.ssl === false ? undefined : base?.ssl;
  const ssl = wantsSsl
    ? {
        ...baseSsl,
        ...(opts.sslCa ? { ca: readPem('--ssl-ca', opts.sslCa) } : {}),
        ...(opts.sslCert ? { cert: readPem('--ssl-cert', opts.sslCert) } : {}),
        ...(opts.sslKey ? { key: readPem('--ssl-key', opts.sslKey) } : {}),
        rejectUnauthorized: opts.sslInsecure ? false : (baseSsl?.rejectUnauthorized ?? true),
      }
    : (base?.ssl ?? false);

  let sasl: KafkaSaslConfig | undefined = base?.sasl;
  if (opts.saslMechanism || opts.saslUsername || opts.saslPassword) {
    const mechanism = (opts.saslMechanism ?? 'plain').toLowerCase();
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
      throw new VigilError('USAGE', `--sasl-mechanism: "${opts.saslMechanism}" is not one of ${SASL_MECHANISMS.join(', ')}`);
    }
    if (!opts.saslUsername || opts.saslPassword === undefined) {
      throw new VigilError('USAGE', 'SASL needs both --sasl-username and --sasl-password');
    }
    sasl = { mechanism: mechanism as KafkaSaslConfig['mechanism'], username: opts.saslUsername, password: opts.saslPassword };
  }

  return {
    brokers,
    clientId: opts.clientId ?? base?.clientId ?? 'vigil',
    ssl,
    ...(sasl ? { sasl } : {}),
    connectionTimeoutMs,
    requestTimeoutMs: Math.max(base?.requestTimeoutMs ?? 10_000, connectionTimeoutMs),
  };
}

/** The settings of a Kafka client properties file; unsupported security settings throw. */
export function readCommandConfig(file: string, warn: (line: string) => void): KafkaClientSettings {
  const source = `--command-config ${file}`;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new VigilError('USAGE', `${source}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const props = parseJavaProperties(decodePropertiesBytes(bytes), source);
  const { settings, warnings } = kafkaSettingsFromProperties(props, { source, readFile: (f) => readFileSync(f) });
  for (const w of warnings) warn(w);
  return settings;
}

/** `over` on top of `under`, field by field; `sasl: null` in `over` removes SASL. */
export function layer(under: Partial<KafkaConfig> | undefined, over: KafkaClientSettings): Partial<KafkaConfig> {
  const out: { -readonly [K in keyof KafkaConfig]?: KafkaConfig[K] } = { ...under };
  if (over.brokers !== undefined) out.brokers = over.brokers;
  if (over.clientId !== undefined) out.clientId = over.clientId;
  if (over.ssl !== undefined) out.ssl = over.ssl;
  if (over.sasl === null) delete out.sasl;
  else if (over.sasl !== undefined) out.sasl = over.sasl;
  if (over.connectionTimeoutMs !== undefined) out.connectionTimeoutMs = over.connectionTimeoutMs;
  if (over.requestTimeoutMs !== undefined) out.requestTimeoutMs = over.requestTimeoutMs;
  return out;
}

function readPem(flag: string, file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new VigilError('USAGE', `${flag}: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
