/**
 * The Kafka requests that change the cluster, as remediation sends them (docs/design.md §5):
 * AlterPartitionReassignments and ListPartitionReassignments (API 45/46), ElectLeaders
 * (API 43) and IncrementalAlterConfigs (API 44) — the last two kafkajs 2.2.4 does not
 * have at all. Each is a raw request over the connection layer (kafkajs-wire.ts), sent in
 * the highest version vigil and the broker both speak (from the broker's ApiVersions
 * answer), so a broker that speaks none of vigil's is told apart from a failure.
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
  type RawRequest,
  type VersionedBroker,
  type WireReader,
  type WireWriter,
  kafkaErrorName,
  versionFor,
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
function writeTopicPartitions(w: WireWriter, partitions: readonly TopicPartition[]): void {
  w.array(groupByTopic(partitions), (w, [topic, parts]) => {
    w.string(topic).int32s(parts.map((p) => p.partition));
    w.tags();
  });
}

/** Per topic, per partition: index, error code, error message — the answer of API 43 and 45. */
function readPartitionOutcomes(r: WireReader, success: (code: number) => boolean): PartitionOutcome[] {
  const out: PartitionOutcome[] = [];
  r.array((t) => {
    const topic = t.string() ?? '';
    t.array((p) => {
      const partition = p.int32();
      const code = p.int16();
      const message = p.string();
      p.tags();
      out.push({ topic, partition, ...(success(code) ? {} : errorOf(code, message)) });
    });
    t.tags();
  });
  r.tags();
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

/** AlterPartitionReassignments v0, the only version (flexible; Kafka 2.4+). */
export function alterPartitionReassignmentsRequest(targets: readonly ReassignmentTarget[], timeoutMs = 30_000): RawRequest<PartitionOutcome[]> {
  return {
    apiKey: API_KEYS.AlterPartitionReassignments as number,
    apiName: 'AlterPartitionReassignments',
    versions: { min: 0, max: 0 },
    flexibleFrom: 0,
    requestTimeoutMs: timeoutMs + 5_000,
    encode: (w) => {
      w.int32(timeoutMs);
      w.array(groupByTopic(targets), (w, [topic, parts]) => {
        w.string(topic);
        w.array(parts, (w, p) => w.int32(p.partition).int32s(p.replicas).tags());
        w.tags();
      });
      w.tags();
    },
    decode: (r) => {
      r.int32(); // throttle
      topLevel('AlterPartitionReassignments', r.int16(), r.string());
      return readPartitionOutcomes(r, (code) => code === ERR_NONE);
    },
  };
}

/** ListPartitionReassignments v0, the only version: every reassignment in flight (`topics` null) or those of the given partitions. */
export function listPartitionReassignmentsRequest(partitions: readonly TopicPartition[] | null = null, timeoutMs = 30_000): RawRequest<OngoingReassignment[]> {
  return {
    apiKey: API_KEYS.ListPartitionReassignments as number,
    apiName: 'ListPartitionReassignments',
    versions: { min: 0, max: 0 },
    flexibleFrom: 0,
    requestTimeoutMs: timeoutMs + 5_000,
    encode: (w) => {
      w.int32(timeoutMs);
      if (partitions === null) w.array(null, () => undefined);
      else writeTopicPartitions(w, partitions);
      w.tags();
    },
    decode: (r) => {
      r.int32(); // throttle
      topLevel('ListPartitionReassignments', r.int16(), r.string());
      const out: OngoingReassignment[] = [];
      r.array((t) => {
        const topic = t.string() ?? '';
        t.array((p) => {
          const partition = p.int32();
          const replicas = p.int32s();
          const adding = p.int32s();
          const removing = p.int32s();
          p.tags();
          out.push({ topic, partition, replicas, adding, removing });
        });
        t.tags();
      });
      r.tags();
      return out;
    },
  };
}

/**
 * ElectLeaders v1–v2 (v1: KIP-460 election types, Kafka 2.4; v2 the same, flexible). v0 is
 * not spoken: it has no election type (preferred only). ELECTION_NOT_NEEDED — the
 * preferred replica already leads — is success: the state asked for holds.
 */
export function electLeadersRequest(type: ElectionType, partitions: readonly TopicPartition[], timeoutMs = 30_000): RawRequest<PartitionOutcome[]> {
  return {
    apiKey: API_KEYS.ElectPreferredLeaders as number,
    apiName: 'ElectLeaders',
    versions: { min: 1, max: 2 },
    flexibleFrom: 2,
    requestTimeoutMs: timeoutMs + 5_000,
    encode: (w) => {
      w.int8(ELECTION_TYPE[type]);
      writeTopicPartitions(w, partitions);
      w.int32(timeoutMs).tags();
    },
    decode: (r) => {
      r.int32(); // throttle
      topLevel('ElectLeaders', r.int16(), null);
      return readPartitionOutcomes(r, (code) => code === ERR_NONE || code === ERR_ELECTION_NOT_NEEDED);
    },
  };
}

/**
 * IncrementalAlterConfigs v0–v1 (Kafka 2.3+; v1 the same, flexible): set, delete, append
 * to or subtract from single config keys, leaving every other dynamic config of the
 * resource as it is.
 */
export function incrementalAlterConfigsRequest(changes: readonly ConfigResourceChange[], validateOnly = false): RawRequest<ConfigResourceOutcome[]> {
  return {
    apiKey: API_KEYS.IncrementalAlterConfigs as number,
    apiName: 'IncrementalAlterConfigs',
    versions: { min: 0, max: 1 },
    flexibleFrom: 1,
    encode: (w) => {
      w.array(changes, (w, r) => {
        w.int8(RESOURCE_TYPE[r.type]).string(r.name);
        w.array(r.configs, (w, c) => w.string(c.name).int8(CONFIG_OP[c.op]).string(c.value ?? null).tags());
        w.tags();
      });
      w.bool(validateOnly).tags();
    },
    decode: (r) => {
      r.int32(); // throttle
      const out = r.array((x): ConfigResourceOutcome => {
        const code = x.int16();
        const message = x.string();
        const type = RESOURCE_NAME[x.int8()] ?? 'broker';
        const name = x.string() ?? '';
        x.tags();
        return { type, name, ...errorOf(code, message) };
      });
      r.tags();
      return out;
    },
  };
}

// ---- version check -------------------------------------------------------------------------

/**
 * Throws KAFKA_API_UNSUPPORTED, naming the request, the versions vigil and the broker speak
 * and which to upgrade, when they share none (the check `KafkaConnections.send` makes, made
 * before a mutation's lease check so that the refusal names the real problem).
 */
export function assertBrokerSpeaks(broker: VersionedBroker, req: RawRequest<unknown>, address: string): void {
  versionFor(broker, req, address);
}

/**
 * Sends one mutation to `address` (a broker of the cluster; KRaft brokers forward these
 * to the active controller), or to the first bootstrap broker that connects, in the
 * highest version both speak.
 */
export async function sendMutation<T>(conns: KafkaConnections, req: RawRequest<T>, address?: string): Promise<T> {
  const target = address === undefined ? await conns.connectAny() : { address, broker: await conns.connect(address) };
  assertBrokerSpeaks(target.broker, req, target.address);
  return conns.send(target.broker, req);
}
