/**
 * Raw Kafka requests over kafkajs's connection layer (TLS, SASL, API-version handshake,
 * request pipelining) without kafkajs's Cluster, whose metadata refresh throws as soon as
 * one partition has no leader — exactly the moment vigil must keep looking.
 *
 * kafkajs 2.2.4 is pinned (package.json) because this module uses its internal modules;
 * they are confined to this file. Requests reuse kafkajs's encoders; responses are decoded
 * here or by kafkajs's decoders, but never through kafkajs's `parse`, which throws on the
 * first partition error: vigil wants every partition's own answer.
 */
import type { Logger } from '../log';
import { VigilError, describeError } from '../errors';
import type { KafkaConfig } from '../config/types';
import { kafkajsSaslOptions, kafkajsTlsOptions } from './kafkajs-options';

/* eslint-disable @typescript-eslint/no-require-imports */
const ConnectionPool = require('kafkajs/src/network/connectionPool');
const KafkaBroker = require('kafkajs/src/broker');
const socketFactory = require('kafkajs/src/network/socketFactory');
const { createLogger: createKafkajsLogger, LEVELS } = require('kafkajs/src/loggers');
const Encoder = require('kafkajs/src/protocol/encoder');
const Decoder = require('kafkajs/src/protocol/decoder');
const apiKeys = require('kafkajs/src/protocol/requests/apiKeys');
const { errorCodes } = require('kafkajs/src/protocol/error');
/* eslint-enable @typescript-eslint/no-require-imports */

export type KafkajsEncoder = {
  writeInt8(v: number): KafkajsEncoder;
  writeInt16(v: number): KafkajsEncoder;
  writeInt32(v: number): KafkajsEncoder;
  writeInt64(v: number | string | bigint): KafkajsEncoder;
  writeBoolean(v: boolean): KafkajsEncoder;
  writeString(v: string | null): KafkajsEncoder;
  writeArray(items: unknown[], type?: string, length?: number): KafkajsEncoder;
  writeEncoder(e: KafkajsEncoder): KafkajsEncoder;
  writeUVarInt(v: number): KafkajsEncoder;
  writeUVarIntString(v: string | null): KafkajsEncoder;
  writeUVarIntArray(items: unknown[]): KafkajsEncoder;
};

export type KafkajsDecoder = {
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readBoolean(): boolean;
  readString(): string | null;
  readBytes(length?: number): Buffer | null;
  readArray<T>(reader: (d: KafkajsDecoder) => T): T[];
  readUVarInt(): number;
  readUVarIntString(): string | null;
  readUVarIntArray<T>(reader: (d: KafkajsDecoder) => T): T[];
  readTaggedFields(): void;
  canReadBytes(n: number): boolean;
};

export function newEncoder(): KafkajsEncoder {
  return new Encoder();
}

export function newDecoder(buf: Buffer): KafkajsDecoder {
  return new Decoder(buf);
}

export const API_KEYS: Record<string, number> = apiKeys;

/**
 * A request vigil builds itself: an encoder for the body, a decoder for the answer.
 * kafkajs always writes request header v1; for a flexible version the body must start
 * with the header's empty tag buffer (writeUVarInt(0)) and the decoder must skip the
 * response header's tag buffer first — as kafkajs's own flexible requests do.
 */
export interface RawRequest<T> {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  encode(): KafkajsEncoder;
  decode(d: KafkajsDecoder): T;
  /** ms; requests that wait on the broker (Fetch, ElectLeaders) set more than the default */
  requestTimeoutMs?: number;
}

/** The name of a Kafka error code, e.g. 6 → NOT_LEADER_OR_FOLLOWER. */
export function kafkaErrorName(code: number): string {
  const entry = (errorCodes as { code: number; type: string }[]).find((e) => e.code === code);
  return entry ? entry.type : `KAFKA_ERROR_${code}`;
}

// ---- compact (flexible-version) encoding ---------------------------------------------------
// Shared by the raw requests vigil writes itself (admin-mutations.ts, describe-quorum.ts).

/** A compact array: length + 1 as an unsigned varint (0 = null), then the items. */
export function compactArray<T>(e: KafkajsEncoder, items: readonly T[] | null, write: (e: KafkajsEncoder, item: T) => void): KafkajsEncoder {
  if (items === null) return e.writeUVarInt(0);
  e.writeUVarInt(items.length + 1);
  for (const item of items) write(e, item);
  return e;
}

/** Reads a compact array; a null one (length 0) reads as empty. */
export function readCompactArray<T>(d: KafkajsDecoder, read: (d: KafkajsDecoder) => T): T[] {
  const n = d.readUVarInt() - 1;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(read(d));
  return out;
}

/** An empty tag buffer: every structure of a flexible version ends with one. */
export const noTags = (e: KafkajsEncoder): KafkajsEncoder => e.writeUVarInt(0);

/** A connected kafkajs broker: what it learnt from ApiVersions, apiKey → range. */
export interface VersionedBroker {
  versions?: Record<number, { minVersion: number; maxVersion: number } | undefined> | null;
}

/**
 * null when the broker's ApiVersions answer covers the request's version, else what the
 * broker speaks of it ("v0–v1", "no version of it").
 */
export function unsupportedBy(broker: VersionedBroker, req: RawRequest<unknown>): string | null {
  const range = broker.versions?.[req.apiKey];
  if (range && req.apiVersion >= range.minVersion && req.apiVersion <= range.maxVersion) return null;
  return range ? `v${range.minVersion}–v${range.maxVersion}` : 'no version of it';
}

/**
 * Reads an INT64 as a JavaScript number without allocating (kafkajs's readInt64 builds a
 * BigInt). Exact below 2^53, which offsets and timestamps stay under.
 */
export function readInt64Number(d: KafkajsDecoder): number {
  const raw = d as unknown as { buffer: Buffer; offset: number };
  const hi = raw.buffer.readInt32BE(raw.offset);
  const lo = raw.buffer.readUInt32BE(raw.offset + 4);
  raw.offset += 8;
  return hi * 4294967296 + lo;
}

interface BrokerHandle {
  address: string;
  broker: any; // kafkajs Broker
}

/**
 * Connections to the brokers of one cluster, keyed by address. Brokers are connected
 * lazily and a failed connection is dropped, so the next request tries afresh.
 */
export class KafkaConnections {
  private readonly handles = new Map<string, BrokerHandle>();
  private readonly kjsLogger: unknown;
  private readonly socketFactory: unknown = socketFactory();

  constructor(private readonly config: KafkaConfig, logger: Logger) {
    this.kjsLogger = createKafkajsLogger({
      level: LEVELS.WARN,
      logCreator: () => (entry: { level: number; log: { message: string } & Record<string, unknown> }) => {
        const { message, ...rest } = entry.log;
        if (entry.level <= LEVELS.ERROR) logger.debug({ kafkajs: rest }, message);
        else logger.trace({ kafkajs: rest }, message);
      },
    });
  }

  get bootstrap(): readonly string[] {
    return this.config.brokers;
  }

  /** A connected broker at host:port; throws the connection error when it cannot connect. */
  async connect(address: string): Promise<any> {
    let handle = this.handles.get(address);
    if (!handle) {
      const [host, portText] = splitAddress(address);
      const { ssl, sasl } = this.config;
      const pool = new ConnectionPool({
        host,
        port: Number(portText),
        ssl: kafkajsTlsOptions(ssl),
        sasl: kafkajsSaslOptions(sasl),
        clientId: this.config.clientId,
        socketFactory: this.socketFactory,
        connectionTimeout: this.config.connectionTimeoutMs,
        requestTimeout: this.config.requestTimeoutMs,
        enforceRequestTimeout: true,
        logger: this.kjsLogger,
      });
      handle = { address, broker: new KafkaBroker({ connectionPool: pool, logger: this.kjsLogger, allowAutoTopicCreation: false }) };
      this.handles.set(address, handle);
    }
    try {
      if (!handle.broker.isConnected()) await handle.broker.connect();
      return handle.broker;
    } catch (err) {
      // only forget this handle: a concurrent caller may already have made a new one
      if (this.handles.get(address) === handle) this.handles.delete(address);
      await handle.broker.disconnect().catch(() => undefined);
      throw err;
    }
  }

  /**
   * The first bootstrap (or known) address that connects, in order; addresses in `last`
   * only after every other one failed. Fails with KAFKA_UNREACHABLE naming every address
   * tried and why.
   */
  async connectAny(preferred: readonly string[] = [], last: { has(address: string): boolean } = new Set()): Promise<{ address: string; broker: any }> {
    const tried: string[] = [];
    const all = [...new Set([...preferred, ...this.handles.keys(), ...this.config.brokers])];
    const candidates = [...all.filter((a) => !last.has(a)), ...all.filter((a) => last.has(a))];
    for (const address of candidates) {
      try {
        return { address, broker: await this.connect(address) };
      } catch (err) {
        tried.push(`${address} (${describeError(err)})`);
        if (isAuthError(err)) {
          throw new VigilError('KAFKA_AUTH_FAILED', `Kafka rejected vigil's credentials at ${address}: ${describeError(err)}; check kafka.sasl and kafka.ssl`, { cause: err });
        }
      }
    }
    throw new VigilError(
      'KAFKA_UNREACHABLE',
      `could not reach any Kafka broker; tried ${tried.join(', ')}. Check that the brokers are up and that kafka.brokers (or --brokers) lists their addresses`,
      { retriable: true, context: { tried } },
    );
  }

  async send<T>(broker: any, req: RawRequest<T>): Promise<T> {
    const request = {
      apiKey: req.apiKey,
      apiVersion: req.apiVersion,
      apiName: req.apiName,
      encode: async () => req.encode(),
    };
    const response = {
      decode: async (payload: Buffer) => req.decode(newDecoder(payload)),
      parse: async (data: T) => data,
    };
    return broker.connectionPool.send({
      request,
      response,
      requestTimeout: req.requestTimeoutMs ?? this.config.requestTimeoutMs,
      logResponseError: false,
    });
  }

  /**
   * Forgets a broker's connection (after a request failed on it): the next request opens a
   * fresh one. Its sockets close in the background, not before this returns: kafkajs first
   * waits for the requests still pending on them, which on a hung broker is until
   * kafka.requestTimeout — it stretches a request's own shorter timeout to that — and a
   * caller that gave up on the broker sooner (a ping's deadline) must not wait for it.
   */
  async drop(address: string): Promise<void> {
    const handle = this.handles.get(address);
    if (!handle) return;
    this.handles.delete(address);
    void handle.broker.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.broker.disconnect().catch(() => undefined)));
  }
}

export function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  if (i <= 0) return [address, '9092'];
  let host = address.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return [host, address.slice(i + 1)];
}

function isAuthError(err: unknown): boolean {
  const name = (err as { name?: string; type?: string })?.name ?? '';
  const type = (err as { type?: string })?.type ?? '';
  return name === 'KafkaJSSASLAuthenticationError' || type === 'SASL_AUTHENTICATION_FAILED' || type === 'ILLEGAL_SASL_STATE';
}

/** Connection-level failures (as opposed to an error code in a response). */
export function isConnectionError(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? '';
  return name === 'KafkaJSConnectionError' || name === 'KafkaJSConnectionClosedError' || name === 'KafkaJSRequestTimeoutError' || name === 'KafkaJSLockTimeout' || name === 'KafkaJSTimeout';
}
