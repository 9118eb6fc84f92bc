/**
 * Kafka connection flags shared by the one-shot commands (`vigil lag`, `vigil plan`):
 * --brokers, or the kafka section of --config, plus TLS/SASL pass-through.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { KafkaConfig, KafkaSaslConfig } from '../config/types';
import { VigilError } from '../errors';
import { durationFlagMs } from './duration-flag';

export interface KafkaCliOptions {
  config?: string;
  brokers?: string;
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

/** KafkaConfig from flags; `base` (from --config) supplies what the flags leave out. */
export function kafkaConfigFromOptions(opts: KafkaCliOptions, base?: KafkaConfig): KafkaConfig {
  const brokers = opts.brokers
    ? opts.brokers.split(',').map((b) => b.trim()).filter((b) => b.length > 0)
    : base?.brokers;
  if (!brokers || brokers.length === 0) {
    throw new VigilError('USAGE', 'no brokers given: pass --brokers host:port[,host:port...] or --config <file>');
  }
  const bad = brokers.filter((b) => !/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/.test(b));
  if (bad.length > 0) throw new VigilError('USAGE', `--brokers: "${bad.join('", "')}" is not host:port`);

  const connectionTimeoutMs =
    opts.connectTimeout === undefined ? (base?.connectionTimeoutMs ?? 3000) : durationFlagMs('--connect-timeout', opts.connectTimeout);

  const wantsSsl = Boolean(opts.ssl || opts.sslCa || opts.sslCert || opts.sslKey || opts.sslInsecure);
  const ssl = wantsSsl
    ? {
        ca: readPem('--ssl-ca', opts.sslCa),
        cert: readPem('--ssl-cert', opts.sslCert),
        key: readPem('--ssl-key', opts.sslKey),
        rejectUnauthorized: !opts.sslInsecure,
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

function readPem(flag: string, file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new VigilError('USAGE', `${flag}: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
