/**
 * The Kafka requests that change the cluster, as remediation sends them (docs/design.md §5):
 * AlterPartitionReassignments and ListPartitionReassignments (API 45/46), ElectLeaders
 * (API 43) and IncrementalAlterConfigs (API 44) — the last two kafkajs 2.2.4 does not
 * have at all. Each is a raw request over the connection layer (kafkajs-wire.ts), in a
 * version Kafka 3.x and 4.x both accept, checked against the broker's ApiVersions answer
 * before it is sent, so a broker that does not speak it is told apart from a failure.
 *
 * Nothing here decides anything or checks a lease: callers fence each request (record the
 * step's intent under the term, check the lease right before sending). Every answer is
 * returned per partition or per resource, never thrown on the first error, because a
 * plan's steps must know exactly which partitions moved.
 *
 * The non-incremental AlterConfigs is deliberately absent: it replaces every dynamic
 * config of a resource, wiping the ones vigil did not set.
 */
import { VigilError } from '../errors';
import {
  API_KEYS,
  type KafkaConnections,
  type KafkajsDecoder,
  type KafkajsEncoder,
  type RawRequest,
  type VersionedBroker,
  compactArray,
  kafkaErrorName,
  newEncoder,
  noTags,
  readCompactArray,
  unsupportedBy,
} from './kafkajs-wire';
import type { TopicPartition } from './types';

/** Kafka's error codes this module interprets rather than reports. */
const ERR_NONE = 0;
/** ElectLeaders: the preferred replica already leads. */
const ERR_ELECTION_NOT_NEEDED = 84;

/** A partition's outcome; `error` is Kafka's error name (e.g. NOT_CONTROLLER), absent on success. */
export interface PartitionOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly error?: string;
  readonly message?: string;
}

export interface ReassignmentTarget {
  readonly topic: string;
  readonly partition: number;
  /** The new replica list, preferred leader first; null cancels a reassignment in flight. */
  readonly replicas: readonly number[] | null;
}

export interface OngoingReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly adding: readonly number[];
  readonly removing: readonly number[];
}

export type ElectionType = 'preferred' | 'unclean';

export type ConfigOperation = 'set' | 'delete' | 'append' | 'subtract';

export interface ConfigResourceChange {
  readonly type: 'topic' | 'broker';
  /** The topic's name, or the broker's id as a string ('' for the cluster-wide default). */
  readonly name: string;
  readonly configs: ReadonlyArray<{ readonly name: string; readonly op: ConfigOperation; readonly value?: string | null }>;
}

export interface ConfigResourceOutcome {
  readonly type: 'topic' | 'broker';
  readonly name: string;
  readonly error?: string;
  readonly message?: string;
}

/** Kafka's ConfigResource.Type codes. */
const RESOURCE_TYPE = { topic: 2, broker: 4 } as const;
const RESOURCE_NAME: Record<number, 'topic' | 'broker'> = { 2: 'topic', 4: 'broker' };
/** Kafka's AlterConfigOp.OpType codes. */
const CONFIG_OP: Record<ConfigOperation, number> = { set: 0, delete: 1, append: 2, subtract: 3 };
/** Kafka's ElectionType codes. */
const ELECTION_TYPE: Record<ElectionType, number> = { preferred: 0, unclean: 1 };

// ---- helpers ------------------------------------------------------------------------------

const errorOf = (code: number, message: string | null): { error?: string; message?: string } =>
  code === ERR_NONE ? {} : { error: kafkaErrorName(code), ...(message ? { message } : {}) };

function groupByTopic<T extends { topic: string }>(items: readonly T[]): Array<[string, T[]]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const list = m.get(it.topic);
    if (list) list.push(it);
    else m.set(it.topic, [it]);
  }
  return [...m];
}

/** Topics with their partition indexes, as ElectLeaders and ListPartitionReassignments name them. */
function writeTopicPartitions(e: KafkajsEncoder, partitions: readonly TopicPartition[]): KafkajsEncoder {
  return compactArray(e, groupByTopic(partitions), (e, [topic, parts]) => {
    e.writeUVarIntString(topic);
    compactArray(e, parts, (e, p) => e.writeInt32(p.partition));
    noTags(e);
  });
}

/** Per topic, per partition: index, error code, error message — the answer of API 43 and 45. */
function readPartitionOutcomes(d: KafkajsDecoder, success: (code: number) => boolean): PartitionOutcome[] {
  const out: PartitionOutcome[] = [];
  readCompactArray(d, (t) => {
    const topic = t.readUVarIntString() ?? '';
    readCompactArray(t, (p) => {
      const partition = p.readInt32();
      const code = p.readInt16();
      const message = p.readUVarIntString();
      p.readTaggedFields();
      out.push({ topic, partition, ...(success(code) ? {} : errorOf(code, message)) });
    });
    t.readTaggedFields();
  });
  d.readTaggedFields();
  return out;
}

/** A top-level error (NOT_CONTROLLER, CLUSTER_AUTHORIZATION_FAILED, ...) fails the whole request. */
function topLevel(api: string, code: number, message: string | null): void {
  if (code === ERR_NONE) return;
  const name = kafkaErrorName(code);
  throw new VigilError('KAFKA_REQUEST_REFUSED', `${api} refused by the broker: ${name}${message ? ` (${message})` : ''}`, {
    retriable: name === 'NOT_CONTROLLER' || name === 'REQUEST_TIMED_OUT',
    context: { api, error: name },
  });
}

// ---- requests ------------------------------------------------------------------------------

/** AlterPartitionReassignments v0 (flexible from v0; 3.x and 4.x both accept it). */
export function alterPartitionReassignmentsRequest(targets: readonly ReassignmentTarget[], timeoutMs = 30_000): RawRequest<PartitionOutcome[]> {
  return {
    apiKey: API_KEYS.AlterPartitionReassignments as number,
    apiVersion: 0,
    apiName: 'AlterPartitionReassignments',
    requestTimeoutMs: timeoutMs + 5_000,
    encode: () => {
      const e = noTags(newEncoder()).writeInt32(timeoutMs);
      compactArray(e, groupByTopic(targets), (e, [topic, parts]) => {
        e.writeUVarIntString(topic);
        compactArray(e, parts, (e, p) => {
          e.writeInt32(p.partition);
          compactArray(e, p.replicas, (e, r) => e.writeInt32(r));
          noTags(e);
        });
        noTags(e);
      });
      return noTags(e);
    },
    decode: (d) => {
      d.readTaggedFields(); // response header
      d.readInt32(); // throttle
      topLevel('AlterPartitionReassignments', d.readInt16(), d.readUVarIntString());
      return readPartitionOutcomes(d, (code) => code === ERR_NONE);
    },
  };
}

/** ListPartitionReassignments v0: every reassignment in flight (`topics` null) or those of the given partitions. */
export function listPartitionReassignmentsRequest(partitions: readonly TopicPartition[] | null = null, timeoutMs = 30_000): RawRequest<OngoingReassignment[]> {
  return {
    apiKey: API_KEYS.ListPartitionReassignments as number,
    apiVersion: 0,
    apiName: 'ListPartitionReassignments',
    requestTimeoutMs: timeoutMs + 5_000,
    encode: () => {
      const e = noTags(newEncoder()).writeInt32(timeoutMs);
      return noTags(partitions === null ? e.writeUVarInt(0) : writeTopicPartitions(e, partitions));
    },
    decode: (d) => {
      d.readTaggedFields();
      d.readInt32(); // throttle
      topLevel('ListPartitionReassignments', d.readInt16(), d.readUVarIntString());
      const out: OngoingReassignment[] = [];
      const ints = (x: KafkajsDecoder) => readCompactArray(x, (y) => y.readInt32());
      readCompactArray(d, (t) => {
        const topic = t.readUVarIntString() ?? '';
        readCompactArray(t, (p) => {
          const partition = p.readInt32();
          const replicas = ints(p);
          const adding = ints(p);
          const removing = ints(p);
          p.readTaggedFields();
          out.push({ topic, partition, replicas, adding, removing });
        });
        t.readTaggedFields();
      });
      d.readTaggedFields();
      return out;
    },
  };
}

/**
 * ElectLeaders v2 (flexible; KIP-460 election types). ELECTION_NOT_NEEDED — the preferred
 * replica already leads — is success: the state asked for holds.
 */
export function electLeadersRequest(type: ElectionType, partitions: readonly TopicPartition[], timeoutMs = 30_000): RawRequest<PartitionOutcome[]> {
  return {
    apiKey: API_KEYS.ElectPreferredLeaders as number,
    apiVersion: 2,
    apiName: 'ElectLeaders',
    requestTimeoutMs: timeoutMs + 5_000,
    encode: () => {
      const e = writeTopicPartitions(noTags(newEncoder()).writeInt8(ELECTION_TYPE[type]), partitions);
      return noTags(e.writeInt32(timeoutMs));
    },
    decode: (d) => {
      d.readTaggedFields();
      d.readInt32(); // throttle
      topLevel('ElectLeaders', d.readInt16(), null);
      return readPartitionOutcomes(d, (code) => code === ERR_NONE || code === ERR_ELECTION_NOT_NEEDED);
    },
  };
}

/**
 * IncrementalAlterConfigs v1 (flexible): set, delete, append to or subtract from single
 * config keys, leaving every other dynamic config of the resource as it is.
 */
export function incrementalAlterConfigsRequest(changes: readonly ConfigResourceChange[], validateOnly = false): RawRequest<ConfigResourceOutcome[]> {
  return {
    apiKey: API_KEYS.IncrementalAlterConfigs as number,
    apiVersion: 1,
    apiName: 'IncrementalAlterConfigs',
    encode: () => {
      const e = noTags(newEncoder());
      compactArray(e, changes, (e, r) => {
        e.writeInt8(RESOURCE_TYPE[r.type]).writeUVarIntString(r.name);
        compactArray(e, r.configs, (e, c) => {
          e.writeUVarIntString(c.name).writeInt8(CONFIG_OP[c.op]).writeUVarIntString(c.value ?? null);
          noTags(e);
        });
        noTags(e);
      });
      return noTags(e.writeBoolean(validateOnly));
    },
    decode: (d) => {
      d.readTaggedFields();
      d.readInt32(); // throttle
      const out = readCompactArray(d, (r): ConfigResourceOutcome => {
        const code = r.readInt16();
        const message = r.readUVarIntString();
        const type = RESOURCE_NAME[r.readInt8()] ?? 'broker';
        const name = r.readUVarIntString() ?? '';
        r.readTaggedFields();
        return { type, name, ...errorOf(code, message) };
      });
      d.readTaggedFields();
      return out;
    },
  };
}

// ---- version check -------------------------------------------------------------------------

/**
 * Throws KAFKA_API_UNSUPPORTED, naming the request, the version vigil sends and what the
 * broker speaks, when the broker's ApiVersions answer does not cover the request.
 */
export function assertBrokerSpeaks(broker: VersionedBroker, req: RawRequest<unknown>, address: string): void {
  const speaks = unsupportedBy(broker, req);
  if (speaks === null) return;
  throw new VigilError(
    'KAFKA_API_UNSUPPORTED',
    `the broker at ${address} does not accept ${req.apiName} v${req.apiVersion} (it speaks ${speaks}); vigil needs Kafka 3.x or 4.x for this`,
    { context: { api: req.apiName, version: req.apiVersion, address } },
  );
}

/**
 * Sends one mutation to `address` (a broker of the cluster; KRaft brokers forward these
 * to the active controller), or to the first bootstrap broker that connects, after
 * checking the broker speaks the request's version.
 */
export async function sendMutation<T>(conns: KafkaConnections, req: RawRequest<T>, address?: string): Promise<T> {
  const target = address === undefined ? await conns.connectAny() : { address, broker: await conns.connect(address) };
  assertBrokerSpeaks(target.broker, req, target.address);
  return conns.send(target.broker, req);
}
