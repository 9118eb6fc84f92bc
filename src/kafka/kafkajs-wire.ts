/**
 * Raw Kafka requests over kafkajs's connection layer (TLS, SASL, API-version handshake,
 * request pipelining) without kafkajs's Cluster, whose metadata refresh throws as soon as
 * one partition has no leader — exactly the moment vigil must keep looking.
 *
 * kafkajs 2.2.4 is pinned (package.json) because this module uses its internal modules;
 * they are confined to this file. Requests reuse kafkajs's encoders; responses are decoded
 * here or by kafkajs's decoders, but never through kafkajs's `parse`, which throws on the
 * first partition error: vigil wants every partition's own answer.
 *
 * Versions: each raw request declares the range vigil encodes and decodes; `send` picks the
 * highest version the broker also speaks, from the ApiVersions answer kafkajs asks for on
 * each connect (docs/design.md §9.1), and refuses with KAFKA_API_UNSUPPORTED — naming the
 * API, both ranges and which side to upgrade — when they share none.
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
const RequestQueue = require('kafkajs/src/network/requestQueue');
/* eslint-enable @typescript-eslint/no-require-imports */

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL: how soon a request held back by the in-flight limit is looked at again */
const KAFKAJS_CHECK_PENDING_MS = 10;
const QUEUE_SCHEDULE_FIXED = Symbol.for('vigil.kafkajs.requestQueueScheduleFixed');

/**
 * Fixes the timer arithmetic of kafkajs 2.2.4's request queue (tulios/kafkajs#1751), once
 * per process; installed when this module loads, which every use of kafkajs in vigil goes
 * through (src/local and the CLI load it too).
 *
 * After each answer kafkajs calls `scheduleCheckPendingRequests`, which sets a timer for
 * `throttledUntil - Date.now()` ms. On a connection that is not throttled `throttledUntil`
 * is -1, so the delay is minus the epoch in ms: Node clamps it to 1 ms (printing a
 * TimeoutNegativeWarning since Node 24), and as the check reschedules itself every open
 * connection woke up about once a millisecond for as long as it stayed open. The
 * replacement schedules a check only while requests wait in the queue — at the end of a
 * broker-requested throttle, else after kafkajs's own 10 ms interval — and none when
 * nothing waits (kafkajs's push schedules one as soon as a request has to wait).
 */
export function fixKafkajsRequestQueueSchedule(): void {
  const proto = RequestQueue.prototype as Record<string | symbol, unknown>;
  if (proto[QUEUE_SCHEDULE_FIXED]) return;
  proto[QUEUE_SCHEDULE_FIXED] = true;
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: KafkajsRequestQueue): void {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const throttledForMs = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      throttledForMs > 0 ? throttledForMs : KAFKAJS_CHECK_PENDING_MS,
    );
  };
}

/** The fields of kafkajs's RequestQueue that its check scheduling uses. */
interface KafkajsRequestQueue {
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  throttledUntil: number;
  pending: unknown[];
  checkPendingRequests(): void;
}

fixKafkajsRequestQueueSchedule();

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

/** The versions of one API that a side speaks, both ends included. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/**
 * A request vigil builds itself, in every version of `versions`: the range its encode and
 * decode implement, field by field, against Kafka's message schemas
 * (clients/src/main/resources/common/message/<Api>Request.json, …Response.json). The
 * version sent is negotiated per broker (negotiateVersion): the highest both sides speak.
 *
 * kafkajs always writes request header v1; from `flexibleFrom` on (Kafka's
 * flexibleVersions) the body starts with request header v2's empty tag buffer and the
 * answer with response header v1's, which `KafkaConnections.send` writes and skips —
 * encode and decode see only the body, through a WireWriter / WireReader that writes and
 * reads strings, arrays and tag buffers the way the version wants.
 */
export interface RawRequest<T> {
  readonly apiKey: number;
  readonly apiName: string;
  readonly versions: VersionRange;
  /** the first flexible version (compact strings and arrays, tagged fields); absent: none is */
  readonly flexibleFrom?: number;
  encode(w: WireWriter): void;
  decode(r: WireReader): T;
  /** ms; requests that wait on the broker (Fetch, ElectLeaders) set more than the default */
  readonly requestTimeoutMs?: number;
}

/** The name of a Kafka error code, e.g. 6 → NOT_LEADER_OR_FOLLOWER. */
export function kafkaErrorName(code: number): string {
  const entry = (errorCodes as { code: number; type: string }[]).find((e) => e.code === code);
  return entry ? entry.type : `KAFKA_ERROR_${code}`;
}

// ---- the body of a request or an answer, in one version ----------------------------------

/** Writes a request body in one version: fixed-width lengths before it is flexible, compact ones from then on. */
export class WireWriter {
  readonly e: KafkajsEncoder = newEncoder();
  constructor(
    readonly version: number,
    readonly flexible: boolean,
  ) {}
  int8(v: number): this {
    this.e.writeInt8(v);
    return this;
  }
  int16(v: number): this {
    this.e.writeInt16(v);
    return this;
  }
  int32(v: number): this {
    this.e.writeInt32(v);
    return this;
  }
  int64(v: number): this {
    this.e.writeInt64(v);
    return this;
  }
  bool(v: boolean): this {
    this.e.writeBoolean(v);
    return this;
  }
  string(v: string | null): this {
    if (this.flexible) this.e.writeUVarIntString(v);
    else this.e.writeString(v);
    return this;
  }
  /** The all-zero uuid ("none"), as a request that names a topic by its name sends the topic's id. */
  zeroUuid(): this {
    (this.e as unknown as { writeBuffer(b: Buffer): void }).writeBuffer(Buffer.alloc(16));
    return this;
  }
  /** An array (null: a null array): its length, then each item as `write` puts it. */
  array<T>(items: readonly T[] | null, write: (w: this, item: T) => void): this {
    const n = items === null ? -1 : items.length;
    if (this.flexible) this.e.writeUVarInt(n + 1);
    else this.e.writeInt32(n);
    for (const item of items ?? []) write(this, item);
    return this;
  }
  int32s(items: readonly number[] | null): this {
    return this.array(items, (w, n) => w.int32(n));
  }
  /** An empty tag buffer, which ends every structure of a flexible version; nothing before. */
  tags(): this {
    if (this.flexible) this.e.writeUVarInt(0);
    return this;
  }
}

/** Reads an answer's body in one version (see WireWriter). */
export class WireReader {
  constructor(
    readonly d: KafkajsDecoder,
    readonly version: number,
    readonly flexible: boolean,
  ) {}
  int8(): number {
    return this.d.readInt8();
  }
  int16(): number {
    return this.d.readInt16();
  }
  int32(): number {
    return this.d.readInt32();
  }
  /** exact below 2^53 (readInt64Number) */
  int64(): number {
    return readInt64Number(this.d);
  }
  bool(): boolean {
    return this.d.readBoolean();
  }
  string(): string | null {
    return this.flexible ? this.d.readUVarIntString() : this.d.readString();
  }
  /** BYTES or RECORDS: null for a null field. */
  bytes(): Buffer | null {
    const n = this.flexible ? this.d.readUVarInt() - 1 : this.d.readInt32();
    return n < 0 ? null : this.d.readBytes(n);
  }
  uuid(): Buffer {
    return this.d.readBytes(16) as Buffer;
  }
  /**
   * An array; a null one reads as empty. A count larger than the bytes left throws (every
   * item of every schema takes a byte at least): a corrupt count must not spin through
   * billions of reads past the end, which kafkajs's varint reads answer with zeros.
   */
  array<T>(read: (r: this) => T): T[] {
    const n = this.flexible ? this.d.readUVarInt() - 1 : this.d.readInt32();
    if (n > this.remaining()) throw new RangeError(`an array of ${n} items runs past the end of the answer (${this.remaining()} bytes left)`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }
  int32s(): number[] {
    return this.array((r) => r.int32());
  }
  /** Bytes left after the reader's position; negative once a read went past the end (kafkajs's varint and string reads do not throw there). */
  remaining(): number {
    const raw = this.d as unknown as { buffer: Buffer; offset: number };
    return raw.buffer.length - raw.offset;
  }
  /** Throws when a read went past the end of the answer: it was cut short, and what was read of it is not to be trusted. */
  end(api: string): void {
    if (this.remaining() < 0) throw new RangeError(`the ${api} answer was cut short (${-this.remaining()} bytes missing)`);
  }
  /**
   * Skips a tag buffer (the tagged fields vigil does not read); nothing before a flexible
   * version. Not kafkajs's readTaggedFields, which skips one byte short of each field's
   * size and so misreads whatever follows a tagged field that is present.
   */
  tags(): void {
    if (!this.flexible) return;
    for (let count = this.d.readUVarInt(); count > 0; count--) {
      this.d.readUVarInt(); // tag
      const size = this.d.readUVarInt();
      if (!this.d.canReadBytes(size)) throw new RangeError(`a tagged field of ${size} bytes runs past the end of the answer`);
      this.d.readBytes(size);
    }
  }
}

const isFlexible = (req: RawRequest<unknown>, version: number): boolean => req.flexibleFrom !== undefined && version >= req.flexibleFrom;

/** The bytes of `req`'s body in `version`, after request header v1, as `send` writes them. */
export function encodeRequest(req: RawRequest<unknown>, version: number): Buffer {
  const w = new WireWriter(version, isFlexible(req, version));
  req.encode(w.tags()); // request header v2's tag buffer (flexible versions)
  return (w.e as unknown as { buffer: Buffer }).buffer;
}

/** `req`'s answer in `version`, read from `payload` (the bytes after the correlation id). */
export function decodeResponse<T>(req: RawRequest<T>, version: number, payload: Buffer): T {
  const r = new WireReader(newDecoder(payload), version, isFlexible(req, version));
  r.tags(); // response header v1's tag buffer (flexible versions)
  return req.decode(r);
}

// ---- version negotiation ------------------------------------------------------------------

/**
 * The version to send, or why there is none (see negotiateVersion). `broker` is null when
 * the broker's ApiVersions answer does not list the API.
 */
export type Negotiation =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly why: 'absent' | 'broker-too-old' | 'broker-too-new'; readonly broker: VersionRange | null };

/**
 * Pure: the highest version both sides speak — min(vigil's max, the broker's max) — when
 * vigil's range and the broker's ApiVersions range for the API meet; otherwise which side
 * is behind.
 */
export function negotiateVersion(vigil: VersionRange, broker: VersionRange | null | undefined): Negotiation {
  if (!broker || broker.min > broker.max) return { ok: false, why: 'absent', broker: null };
  if (broker.max < vigil.min) return { ok: false, why: 'broker-too-old', broker };
  if (broker.min > vigil.max) return { ok: false, why: 'broker-too-new', broker };
  return { ok: true, version: Math.min(vigil.max, broker.max) };
}

/** "v3" or "v1–v4" */
export const versionSpan = (r: VersionRange): string => (r.min === r.max ? `v${r.min}` : `v${r.min}–v${r.max}`);

/**
 * KAFKA_API_UNSUPPORTED for a failed negotiation: names the API, the broker, the versions
 * each side speaks, and which side to upgrade. Not retriable: the broker answers the same
 * until one side is upgraded.
 */
export function unsupportedApiError(
  api: { readonly apiName: string; readonly apiKey: number; readonly versions: VersionRange },
  address: string,
  n: Negotiation & { ok: false },
): VigilError {
  const vigil = versionSpan(api.versions);
  const supported = 'docs/design.md §9.1 lists the Kafka versions vigil supports';
  const broker = n.broker === null ? '' : versionSpan(n.broker);
  const message =
    n.why === 'absent'
      ? `the broker at ${address} does not offer ${api.apiName} (API ${api.apiKey}) in its ApiVersions answer; vigil speaks ${vigil} of it. Upgrade the brokers: ${supported}`
      : n.why === 'broker-too-old'
        ? `the broker at ${address} speaks ${api.apiName} ${broker}, older than the ${vigil} vigil speaks. Upgrade the brokers: ${supported}`
        : `the broker at ${address} speaks ${api.apiName} ${broker}, all newer than the ${vigil} this vigil speaks: the Kafka is newer than this vigil supports. Upgrade vigil: ${supported}`;
  return new VigilError('KAFKA_API_UNSUPPORTED', message, {
    retriable: false,
    context: { api: api.apiName, apiKey: api.apiKey, address, why: n.why, vigilVersions: api.versions, brokerVersions: n.broker },
  });
}

/**
 * A connected kafkajs broker: the ApiVersions answer of its connection, apiKey → range
 * (kafkajs asks for it when it connects: the same handshake picks its own requests' versions).
 */
export interface VersionedBroker {
  versions?: Record<number, { minVersion: number; maxVersion: number } | undefined> | null;
}

/** What a connected broker speaks of an API; null when its ApiVersions answer does not list it. */
export function brokerVersions(broker: VersionedBroker, apiKey: number): VersionRange | null {
  const v = broker.versions?.[apiKey];
  return v ? { min: v.minVersion, max: v.maxVersion } : null;
}

/** The version of `req` to send to `broker` (at `address`); throws KAFKA_API_UNSUPPORTED when there is none. */
export function versionFor(broker: VersionedBroker, req: RawRequest<unknown>, address: string): number {
  const n = negotiateVersion(req.versions, brokerVersions(broker, req.apiKey));
  if (!n.ok) throw unsupportedApiError(req, address, n);
  return n.version;
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
  /** the connect in progress, which concurrent callers share */
  connecting?: Promise<void> | undefined;
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
      if (!handle.broker.isConnected()) {
        // One connect at a time per handle, each with a fresh ApiVersions answer: kafkajs
        // would keep the previous connection's, and the broker behind the address may have
        // been upgraded (or downgraded) in between.
        const h = handle;
        h.connecting ??= (async () => {
          h.broker.versions = null;
          await h.broker.connect();
        })().finally(() => {
          h.connecting = undefined;
        });
        await h.connecting;
      }
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

  /**
   * Sends `req` in the highest version both vigil and the broker speak (versionFor: the
   * broker's ApiVersions answer for this connection, asked once when it connected); throws
   * KAFKA_API_UNSUPPORTED, before sending anything, when they share none.
   */
  async send<T>(broker: any, req: RawRequest<T>): Promise<T> {
    const version = versionFor(broker, req, broker.brokerAddress ?? 'unknown');
    const flexible = isFlexible(req, version);
    const request = {
      apiKey: req.apiKey,
      apiVersion: version,
      apiName: req.apiName,
      encode: async () => {
        const w = new WireWriter(version, flexible);
        req.encode(w.tags()); // request header v2's tag buffer (flexible versions)
        return w.e;
      },
    };
    const response = {
      decode: async (payload: Buffer) => {
        const r = new WireReader(newDecoder(payload), version, flexible);
        r.tags(); // response header v1's tag buffer (flexible versions)
        return req.decode(r);
      },
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
