/**
 * The CanaryPort over kafkajs's connection layer (kafkajs-wire.ts): its own connections,
 * so canary requests never queue behind the observer's and dropping a hung broker's
 * socket here touches nothing else.
 *
 * Requests: Metadata for the canary topic, a raw request in the version negotiated with
 * the broker (decoded by vigil: kafkajs's parser throws on an offline partition, the very
 * thing to report); Produce (acks=all), Fetch, CreateTopics and CreatePartitions through
 * the kafkajs broker, whose parsers throw on an error code, which
 * is what a single-partition request wants.
 *
 * Timeouts: every call settles within its timeoutMs. A broker that does not answer in
 * time (hung, SIGSTOPped, a dead link) gets its connection dropped, so the abandoned
 * request fails at once and the next call opens a fresh socket. The produce asks the
 * broker to give up on acks=all a little before that, so a healthy leader waiting for a
 * hung follower answers REQUEST_TIMED_OUT instead of being taken for hung itself.
 */
import type { KafkaConfig } from '../config/types';
import { VigilError, describeError } from '../errors';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import type { CanaryPartition, CanaryPort, CanaryProduceRequest, CanaryReadRequest, CanaryTopology } from './canary-port';
import { metadataRequest } from './kafkajs-admin';
import { KafkaConnections, type RawRequest, isConnectionError, kafkaErrorName } from './kafkajs-wire';
import type { BrokerInfo } from './types';

/**
 * Topic configs at creation: an hour of canary records is plenty to look at, and hourly
 * segments let retention delete them (the 7-day default segment would keep a week).
 */
export const CANARY_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'delete',
  'retention.ms': '3600000',
  'segment.ms': '3600000',
});

const ERR_NONE = 0;
const ERR_UNKNOWN_TOPIC = 3;
const READ_UNCOMMITTED = 0;
const FETCH_BYTES = 64 * 1024;
/** the broker-side acks=all deadline, as a fraction of the call's timeout */
const PRODUCE_ACK_FRACTION = 0.8;

class CallTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'CallTimeout';
  }
}

export class KafkajsCanaryPort implements CanaryPort {
  private readonly connections: KafkaConnections;
  /** live brokers and controller from the last describe: where admin requests go first */
  private knownBrokers: readonly BrokerInfo[] = [];
  private controllerId: number | null = null;
  /** addresses that failed lately go last, so one hung broker does not fail every describe */
  private readonly suspect = new Set<string>();

  constructor(config: KafkaConfig, logger: Logger = silentLogger) {
    this.connections = new KafkaConnections(config, logger);
  }

  async describe(topic: string, timeoutMs: number): Promise<CanaryTopology> {
    const md = await this.anyBroker('Metadata', timeoutMs, false, (broker) => this.connections.send(broker, { ...topicMetadata(topic), requestTimeoutMs: timeoutMs }));
    this.knownBrokers = md.brokers;
    this.controllerId = md.controllerId;
    const t = md.topic;
    if (t === null || t.errorCode === ERR_UNKNOWN_TOPIC) return { brokers: md.brokers, partitions: null };
    // LEADER_NOT_AVAILABLE with no partitions: the topic is being created; any other error
    // (authorization, say) means there is no layout to work with
    if (t.errorCode !== ERR_NONE && t.partitions.length === 0 && kafkaErrorName(t.errorCode) !== 'LEADER_NOT_AVAILABLE') {
      throw new Error(`topic ${topic}: ${kafkaErrorName(t.errorCode)}`);
    }
    return { brokers: md.brokers, partitions: t.partitions };
  }

  async createTopic(topic: string, assignment: readonly (readonly number[])[], timeoutMs: number): Promise<void> {
    try {
      await this.anyBroker('CreateTopics', timeoutMs, true, (broker) =>
        broker.createTopics({
          topics: [
            {
              topic,
              replicaAssignment: assignment.map((replicas, partition) => ({ partition, replicas: [...replicas] })),
              configEntries: Object.entries(CANARY_TOPIC_CONFIGS).map(([name, value]) => ({ name, value })),
            },
          ],
          timeout: brokerTimeoutMs(timeoutMs),
        }),
      );
    } catch (err) {
      if (errorType(err) === 'TOPIC_ALREADY_EXISTS') return;
      throw err;
    }
  }

  async createPartitions(topic: string, currentCount: number, assignments: readonly (readonly number[])[], timeoutMs: number): Promise<void> {
    await this.anyBroker('CreatePartitions', timeoutMs, true, (broker) =>
      broker.createPartitions({
        topicPartitions: [{ topic, count: currentCount + assignments.length, assignments: assignments.map((r) => [...r]) }],
        timeout: brokerTimeoutMs(timeoutMs),
      }),
    );
  }

  async produce(req: CanaryProduceRequest): Promise<{ readonly offset: number }> {
    const res = await this.onBroker<KafkajsProduceResponse>(req.leader, req.timeoutMs, (broker) =>
      broker.produce({
        acks: -1,
        timeout: Math.max(1, Math.floor(req.timeoutMs * PRODUCE_ACK_FRACTION)),
        topicData: [{ topic: req.topic, partitions: [{ partition: req.partition, messages: [{ value: req.value, timestamp: String(req.timestampMs) }] }] }],
      }),
    );
    const p = res?.topics?.[0]?.partitions?.[0];
    if (!p) throw new Error(`broker ${req.leader.nodeId} (${addressOf(req.leader)}): the Produce response names no partition`);
    return { offset: Number(p.baseOffset) };
  }

  async readBack(req: CanaryReadRequest): Promise<string | null> {
    const maxWaitMs = Math.max(0, Math.min(500, Math.floor(req.timeoutMs / 2)));
    const res = await this.onBroker<KafkajsFetchResponse>(req.leader, req.timeoutMs, (broker) =>
      broker.fetch({
        replicaId: -1,
        isolationLevel: READ_UNCOMMITTED,
        maxWaitTime: maxWaitMs,
        minBytes: 1,
        maxBytes: FETCH_BYTES,
        topics: [{ topic: req.topic, partitions: [{ partition: req.partition, fetchOffset: String(req.offset), maxBytes: FETCH_BYTES }] }],
      }),
    );
    const messages = res?.responses?.[0]?.partitions?.[0]?.messages ?? [];
    const record = messages.find((m) => String(m.offset) === String(req.offset));
    return record ? (record.value?.toString('utf8') ?? '') : null;
  }

  async close(): Promise<void> {
    await this.connections.close();
  }

  /** fn on one broker within timeoutMs; errors name the broker and the Kafka error code. */
  private async onBroker<T>(target: BrokerInfo | string, timeoutMs: number, fn: (broker: any) => Promise<T>): Promise<T> {
    const address = typeof target === 'string' ? target : addressOf(target);
    const label = typeof target === 'string' ? address : `broker ${target.nodeId} (${address})`;
    let timer: NodeJS.Timeout | undefined;
    const work = (async () => fn(await this.connections.connect(address)))();
    work.catch(() => undefined); // settles after a timeout too (the drop below fails it)
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CallTimeout(timeoutMs)), timeoutMs);
    });
    try {
      const value = await Promise.race([work, deadline]);
      this.suspect.delete(address);
      return value;
    } catch (err) {
      if (err instanceof CallTimeout || isConnectionError(err)) {
        this.suspect.add(address);
        await this.connections.drop(address);
      }
      if (isAuthError(err)) {
        throw new VigilError('KAFKA_AUTH_FAILED', `Kafka rejected vigil's credentials at ${address}: ${describeError(err)}; check kafka.sasl and kafka.ssl`, { cause: err });
      }
      throw new Error(`${label}: ${kafkaErrorText(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * fn on the first broker that answers, within timeoutMs overall. Each broker gets a
   * share of the time, so a hung one first in line does not use it all up.
   */
  private async anyBroker<T>(what: string, timeoutMs: number, controllerFirst: boolean, fn: (broker: any) => Promise<T>): Promise<T> {
    const startMs = performance.now();
    const known = this.knownBrokers.map(addressOf);
    const controller = controllerFirst ? this.knownBrokers.find((b) => b.nodeId === this.controllerId) : undefined;
    const all = [...new Set([...(controller ? [addressOf(controller)] : []), ...known, ...this.connections.bootstrap])];
    const candidates = [...all.filter((a) => !this.suspect.has(a)), ...all.filter((a) => this.suspect.has(a))];
    const attemptMs = Math.max(500, Math.floor(timeoutMs / 3));
    const failures: string[] = [];
    for (const address of candidates) {
      const remainingMs = timeoutMs - (performance.now() - startMs);
      if (remainingMs <= 0) break;
      try {
        return await this.onBroker(address, Math.min(attemptMs, remainingMs), fn);
      } catch (err) {
        // an answer with an error code is the cluster's answer: asking elsewhere changes nothing
        if (errorType(err) !== null || err instanceof VigilError) throw err;
        failures.push(describeError(err));
      }
    }
    throw new VigilError('KAFKA_UNREACHABLE', `${what} failed on every broker tried within ${timeoutMs} ms (${failures.join('; ') || 'none tried'})`, { retriable: true });
  }
}

function brokerTimeoutMs(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs * PRODUCE_ACK_FRACTION));
}

function addressOf(b: BrokerInfo): string {
  return b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`;
}

/** The Kafka error code name of a kafkajs protocol error (also inside an aggregate), else null. */
function errorType(err: unknown): string | null {
  let e = err as { type?: unknown; errors?: unknown[]; cause?: unknown } | null;
  for (let depth = 0; e && depth < 4; depth++) {
    if (typeof e.type === 'string' && e.type !== '') return e.type;
    if (Array.isArray(e.errors) && e.errors.length > 0) e = e.errors[0] as typeof e;
    else e = (e.cause ?? null) as typeof e;
  }
  return null;
}

/** kafkajs's names for codes Kafka has since renamed, and Kafka's current names. */
const RENAMED_ERRORS: Readonly<Record<string, string>> = { NOT_LEADER_FOR_PARTITION: 'NOT_LEADER_OR_FOLLOWER' };

function kafkaErrorText(err: unknown): string {
  if (err instanceof CallTimeout) return err.message;
  const kjsType = errorType(err);
  const type = kjsType === null ? null : (RENAMED_ERRORS[kjsType] ?? kjsType);
  if (type === null) return describeError(err);
  if (type === 'REQUEST_TIMED_OUT') return `${type} (the in-sync replicas did not all acknowledge in time; a follower may be hung)`;
  return type;
}

function isAuthError(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? '';
  const type = errorType(err) ?? '';
  return name === 'KafkaJSSASLAuthenticationError' || type === 'SASL_AUTHENTICATION_FAILED' || type === 'ILLEGAL_SASL_STATE';
}

/** The parts of kafkajs's decoded Produce and Fetch responses read here. */
interface KafkajsProduceResponse {
  readonly topics?: readonly { readonly partitions?: readonly { readonly baseOffset: string }[] }[];
}
interface KafkajsFetchResponse {
  readonly responses?: readonly { readonly partitions?: readonly { readonly messages?: readonly { readonly offset: string; readonly value: Buffer | null }[] }[] }[];
}

interface MetadataAnswer {
  readonly brokers: BrokerInfo[];
  readonly controllerId: number | null;
  readonly topic: { readonly errorCode: number; readonly partitions: CanaryPartition[] } | null;
}

/** Metadata (versions as metadataRequest) for one topic, without auto-creation; partitions kept whatever their error. */
function topicMetadata(topic: string): RawRequest<MetadataAnswer> {
  const req = metadataRequest([topic]);
  return {
    ...req,
    decode: (r) => {
      const md = req.decode(r);
      const t = md.topics.find((x) => x.topic === topic) ?? null;
      return {
        brokers: md.brokers,
        controllerId: md.controllerId >= 0 ? md.controllerId : null,
        topic:
          t === null
            ? null
            : { errorCode: t.errorCode, partitions: t.partitions.map(({ partition, leader, replicas }): CanaryPartition => ({ partition, leader, replicas })) },
      };
    },
  };
}
