/**
 * `vigil doctor`'s Kafka probe (an adapter): connects with the config's own TLS and SASL
 * settings through the same connection layer as the monitor (src/kafka/kafkajs-wire.ts)
 * and sends the requests the monitor sends — the same request builders — once for each
 * topic and group it watches, to see which ACLs the brokers refuse. It reads nothing
 * beyond one record batch per topic (and, in stream mode, one Fetch of `__consumer_offsets`
 * through the commit stream's own adapter) and writes nothing: the canary's CreateTopics is
 * sent with validate_only.
 *
 * It only gathers facts (kafka-checks.ts judges them). A topic vigil may not DESCRIBE is
 * invisible in Metadata, so the probe also asks by name for the topics the config names
 * literally, the topics the watched groups subscribe to (their DescribeGroups member
 * metadata) and the topics they committed offsets for.
 */
import type { VigilConfig } from '../config/types';
import { describeError } from '../errors';
import {
  LATEST_TIMESTAMP,
  addressOf,
  describeGroupsRequest,
  describeTopicConfigsRequest,
  fetchRequest,
  forEachLimited,
  listOffsetsRequest,
  metadataRequest,
  offsetFetchRequest,
  type RawMetadata,
} from '../kafka/kafkajs-admin';
import { KafkajsOffsetsLog } from '../kafka/kafkajs-offsets-log';
import { API_KEYS, KafkaConnections, type RawRequest, kafkaErrorName, newDecoder } from '../kafka/kafkajs-wire';
import { OFFSETS_TOPIC, type OffsetsLogReader } from '../kafka/offsets-log';
import type { BrokerInfo, TopicPartition } from '../kafka/types';
import { silentLogger, type Logger } from '../log';
import { nameFilter } from '../util/glob';
import {
  type AccessFact,
  type AclOperation,
  type AclResourceType,
  CLUSTER_RESOURCE,
  MONITOR_ACLS,
  authorizedOperations,
  canaryAcls,
  deniedResourceType,
} from './kafka-acl';
import type { AddressProbe, ConnectError, KafkaFacts, OffsetsStreamFact } from './kafka-checks';
import { appendTo } from '../util/multimap';

const GROUP_CONCURRENCY = 16;
/** A Fetch at the end offset returns nothing; where the end is unknown, at most one batch. */
const FETCH_PARTITION_BYTES = 1024;
const ERR_NONE = 0;
const ERR_UNKNOWN_TOPIC_OR_PARTITION = 3;
const ERR_GROUP_AUTHORIZATION_FAILED = 30;

export async function probeKafka(config: VigilConfig, logger: Logger = silentLogger): Promise<KafkaFacts> {
  const conns = new KafkaConnections(config.kafka, logger);
  let facts: KafkaFacts;
  try {
    facts = await probe(conns, config);
  } finally {
    await conns.close();
  }
  // Only once Kafka answered Metadata: otherwise kafka.bootstrap / kafka.metadata say why.
  if (facts.advertised === undefined) return facts;
  if (config.monitor.offsetsSource === 'poll') return { ...facts, offsetsStream: { state: 'skipped' } };
  const reader = new KafkajsOffsetsLog(config.kafka, logger);
  try {
    return { ...facts, offsetsStream: await probeOffsetsStream(reader) };
  } finally {
    await reader.close();
  }
}

/**
 * What the commit stream does (docs/design.md §3.6), once, through its own port: Metadata
 * for `__consumer_offsets` alone (DESCRIBE), then one Fetch that does not wait (READ) of the
 * lowest partition a leader leads, from offset 0 as the stream starts — at most one
 * partition's worth of the stream's fetch size, decoded and dropped. Kafka checks READ
 * before it looks at the partition, so any answer but TOPIC_AUTHORIZATION_FAILED means READ
 * is allowed. A leader that cannot be asked is passed over for the next one.
 */
export async function probeOffsetsStream(reader: OffsetsLogReader): Promise<OffsetsStreamFact> {
  let layout;
  try {
    layout = await reader.layout();
  } catch (err) {
    return { state: 'untested', reason: `Metadata for ${OFFSETS_TOPIC} failed: ${describeError(err)}` };
  }
  if (layout.state === 'absent') return { state: 'absent' };
  if (layout.state === 'denied') return { state: 'denied', operation: 'DESCRIBE', via: 'Metadata', error: 'TOPIC_AUTHORIZATION_FAILED' };
  const firstByLeader = new Map<number, { broker: BrokerInfo; partition: number }>();
  for (const [partition, broker] of [...layout.leaders].sort((a, b) => a[0] - b[0])) {
    if (broker !== null && !firstByLeader.has(broker.nodeId)) firstByLeader.set(broker.nodeId, { broker, partition });
  }
  if (firstByLeader.size === 0) return { state: 'untested', reason: `no partition of ${OFFSETS_TOPIC} has a leader` };
  const failures: string[] = [];
  for (const { broker, partition } of [...firstByLeader.values()].sort((a, b) => a.broker.nodeId - b.broker.nodeId)) {
    const where = `partition ${partition} at broker ${broker.nodeId} (${addressOf(broker)})`;
    let answer;
    try {
      answer = (await reader.fetch(broker, new Map([[partition, 0]]), 0)).find((a) => a.partition === partition);
    } catch (err) {
      failures.push(`${where}: ${describeError(err)}`);
      continue;
    }
    if (answer === undefined) {
      failures.push(`${where}: the Fetch answered nothing for it`);
      continue;
    }
    const leader = broker.nodeId;
    switch (answer.kind) {
      case 'entries':
        return { state: 'read', partition, leader, answer: `returned ${answer.entries.length} record(s)${answer.entries.length > 0 ? ', decoded' : ''}` };
      case 'out-of-range':
        return { state: 'read', partition, leader, answer: `answered the log start offset (${answer.logStartOffset})` };
      case 'error':
        if (answer.denied) return { state: 'denied', operation: 'READ', via: 'Fetch', error: answer.error };
        return { state: 'read', partition, leader, answer: `answered ${answer.error} (an answer past Kafka's READ check)` };
      default: {
        const never: never = answer;
        return never;
      }
    }
  }
  return { state: 'untested', reason: `the Fetch failed: ${failures.join('; ')}` };
}

async function probe(conns: KafkaConnections, config: VigilConfig): Promise<KafkaFacts> {
  const requirements = [...MONITOR_ACLS];
  const bootstrap: AddressProbe[] = await Promise.all(config.kafka.brokers.map((address) => connectProbe(conns, address, async () => undefined)));
  const first = bootstrap.find((p) => p.ok);
  if (first === undefined) return { bootstrap, requirements, access: [] };

  let md: RawMetadata;
  try {
    md = await conns.send(await conns.connect(first.address), metadataRequest(null, true));
  } catch (err) {
    return { bootstrap, metadataError: describeError(err), requirements, access: [] };
  }
  const advertised = await Promise.all(
    md.brokers.map(async (b) => ({
      nodeId: b.nodeId,
      ...(await connectProbe(conns, addressOf(b), (broker) => conns.send(broker, metadataRequest([], true)))),
    })),
  );
  const access: AccessFact[] = [];
  const ctx: Probe = {
    conns,
    someBroker: () => conns.connect(first.address),
    fact(operation, resourceType, name, code, via) {
      const denied = deniedResourceType(code) !== undefined;
      access.push({ operation, resourceType, name, allowed: !denied, via, ...(denied ? { error: kafkaErrorName(code) } : {}) });
    },
    lacking(operation, resourceType, name, ops, what) {
      access.push({ operation, resourceType, name, allowed: ops.has(operation), via: 'Metadata', ...(ops.has(operation) ? {} : { error: `the ${what} authorized operations lack ${operation}` }) });
    },
  };

  // The cluster: ListGroups never says no, so the authorized operations are the only witness.
  if (md.clusterAuthorizedOperations !== undefined) {
    const ops = authorizedOperations(md.clusterAuthorizedOperations);
    if (ops !== null) ctx.lacking('DESCRIBE', 'CLUSTER', CLUSTER_RESOURCE, ops, 'cluster');
  }
  const live = md.brokers.filter((b) => advertised.find((a) => a.nodeId === b.nodeId)?.ok);
  const groupTopics = await probeGroups(ctx, config, live);
  await probeTopics(ctx, config, md, groupTopics);
  if (config.canary.enabled) requirements.push(...canaryAcls(await probeCanary(ctx, config)));
  return { bootstrap, advertised, requirements, access };
}

/** What the parts of the probe share: the connections and the facts gathered. */
interface Probe {
  readonly conns: KafkaConnections;
  /** The bootstrap broker that answered first: for requests any broker serves. */
  someBroker(): Promise<any>;
  /** One answer's error code: a denial (29, 30, 31) or an access allowed. */
  fact(operation: AclOperation, resourceType: AclResourceType, name: string, errorCode: number, via: string): void;
  /** From an authorized-operations field: allowed when `ops` holds the operation. */
  lacking(operation: AclOperation, resourceType: AclResourceType, name: string, ops: ReadonlySet<AclOperation>, what: string): void;
}

/**
 * Every group listed on a live broker, and those the config names literally: DESCRIBE as
 * FindCoordinator, DescribeGroups and OffsetFetch see it. Returns the topics the groups
 * subscribe to or committed offsets for.
 */
async function probeGroups(ctx: Probe, config: VigilConfig, live: readonly BrokerInfo[]): Promise<Set<string>> {
  const { conns } = ctx;
  const groupFilter = nameFilter(config.monitor.groups.include, config.monitor.groups.exclude);
  const listed = new Set<string>();
  await Promise.all(
    live.map((b) =>
      tolerate(async () => {
        const res = await (await conns.connect(addressOf(b))).listGroups();
        for (const g of res.groups as { groupId: string }[]) listed.add(g.groupId);
      }),
    ),
  );
  const groups = [...new Set([...listed, ...config.monitor.groups.include.filter(isLiteral)])].filter(groupFilter).sort();
  const groupTopics = new Set<string>();
  const byCoordinator = new Map<string, string[]>();
  await forEachLimited(groups, GROUP_CONCURRENCY, async (groupId) => {
    try {
      const res = await (await ctx.someBroker()).findGroupCoordinator({ groupId, coordinatorType: 0 });
      const address = `${res.coordinator.host}:${res.coordinator.port}`;
      appendTo(byCoordinator, address, groupId);
    } catch (err) {
      // kafkajs's parser throws on the error code; only a denial is an answer about ACLs
      if ((err as { type?: string }).type === 'GROUP_AUTHORIZATION_FAILED') ctx.fact('DESCRIBE', 'GROUP', groupId, ERR_GROUP_AUTHORIZATION_FAILED, 'FindCoordinator');
    }
  });
  await Promise.all(
    [...byCoordinator].map(([address, ids]) =>
      tolerate(async () => {
        const broker = await conns.connect(address);
        for (const g of await conns.send(broker, describeGroupsRequest(ids))) {
          ctx.fact('DESCRIBE', 'GROUP', g.groupId, g.errorCode, 'DescribeGroups');
          if (g.protocolType === 'consumer') for (const m of g.memberMetadata) for (const t of subscribedTopics(m)) groupTopics.add(t);
        }
        await forEachLimited(ids, GROUP_CONCURRENCY, (groupId) =>
          tolerate(async () => {
            const res = await conns.send(broker, offsetFetchRequest(groupId));
            ctx.fact('DESCRIBE', 'GROUP', groupId, res.errorCode, 'OffsetFetch');
            for (const t of res.offsets.keys()) groupTopics.add(t);
          }),
        );
      }),
    ),
  );
  return groupTopics;
}

/**
 * The watched topics Metadata shows, and by name those it may have hidden: DESCRIBE
 * (Metadata, ListOffsets), READ (Fetch) and DESCRIBE_CONFIGS (DescribeConfigs).
 */
async function probeTopics(ctx: Probe, config: VigilConfig, md: RawMetadata, groupTopics: ReadonlySet<string>): Promise<void> {
  const { conns } = ctx;
  const topicFilter = nameFilter(config.monitor.topics.include, config.monitor.topics.exclude);
  const watched = md.topics.filter((t) => !t.isInternal && topicFilter(t.topic) && deniedResourceType(t.errorCode) === undefined);
  const shown = new Set(md.topics.map((t) => t.topic));
  const hidden = [...new Set([...config.monitor.topics.include.filter(isLiteral), ...groupTopics])].filter((t) => topicFilter(t) && !shown.has(t) && !t.startsWith('__'));
  const hiddenDenied: string[] = [];
  if (hidden.length > 0) {
    await tolerate(async () => {
      for (const t of (await conns.send(await ctx.someBroker(), metadataRequest(hidden, true))).topics) {
        if (deniedResourceType(t.errorCode) === 'TOPIC') {
          ctx.fact('DESCRIBE', 'TOPIC', t.topic, t.errorCode, 'Metadata');
          hiddenDenied.push(t.topic);
        } else if (t.errorCode === ERR_NONE) {
          watched.push(t);
        }
      }
    });
  }
  for (const t of watched) ctx.fact('DESCRIBE', 'TOPIC', t.topic, ERR_NONE, 'Metadata');

  // One partition with a leader per topic is enough: ACLs are per topic.
  const brokersById = new Map(md.brokers.map((b) => [b.nodeId, b]));
  const byLeader = new Map<BrokerInfo, TopicPartition[]>();
  for (const t of watched) {
    const p = t.partitions.find((x) => brokersById.has(x.leader));
    if (!p) continue;
    const leader = brokersById.get(p.leader) as BrokerInfo;
    appendTo(byLeader, leader, { topic: t.topic, partition: p.partition });
  }
  await Promise.all(
    [...byLeader].map(([leader, tps]) =>
      tolerate(async () => {
        const broker = await conns.connect(addressOf(leader));
        const ends = new Map<string, number>();
        for (const p of await conns.send(broker, listOffsetsRequest(tps, LATEST_TIMESTAMP))) {
          ctx.fact('DESCRIBE', 'TOPIC', p.topic, p.errorCode, 'ListOffsets');
          if (p.errorCode === ERR_NONE) ends.set(p.topic, p.offset);
        }
        const fetches = tps.map((tp) => ({ ...tp, offset: ends.get(tp.topic) ?? 0 }));
        for (const p of await conns.send(broker, fetchRequest(fetches, FETCH_PARTITION_BYTES))) ctx.fact('READ', 'TOPIC', p.topic, p.errorCode, 'Fetch');
      }),
    ),
  );
  // Kafka checks READ before it looks at the partition, so any broker can answer for a
  // topic whose DESCRIBE is denied (the answer is then NOT_LEADER or the like, or the denial).
  if (hiddenDenied.length > 0) {
    await tolerate(async () => {
      const res = await conns.send(await ctx.someBroker(), fetchRequest(hiddenDenied.map((topic) => ({ topic, partition: 0, offset: 0 })), FETCH_PARTITION_BYTES));
      for (const p of res) ctx.fact('READ', 'TOPIC', p.topic, p.errorCode, 'Fetch');
    });
  }
  if (watched.length > 0) {
    await tolerate(async () => {
      for (const r of await conns.send(await ctx.someBroker(), describeTopicConfigsRequest(watched.map((t) => t.topic), ['min.insync.replicas']))) {
        ctx.fact('DESCRIBE_CONFIGS', 'TOPIC', r.name, r.errorCode, 'DescribeConfigs');
      }
    });
  }
}

/**
 * The canary topic's DESCRIBE (Metadata), READ, WRITE and ALTER (its authorized
 * operations) and, while it is missing, CREATE (CreateTopics, validate only). Returns
 * whether the topic exists (true when that could not be learnt).
 */
async function probeCanary(ctx: Probe, config: VigilConfig): Promise<boolean> {
  const topic = config.canary.topic;
  let exists = true;
  await tolerate(async () => {
    const t = (await ctx.conns.send(await ctx.someBroker(), metadataRequest([topic], true))).topics.find((x) => x.topic === topic);
    const code = t?.errorCode ?? ERR_NONE;
    exists = t !== undefined && deniedResourceType(code) === undefined && code !== ERR_UNKNOWN_TOPIC_OR_PARTITION;
    ctx.fact('DESCRIBE', 'TOPIC', topic, code, 'Metadata');
    const ops = t?.authorizedOperations === undefined || !exists ? null : authorizedOperations(t.authorizedOperations);
    if (ops !== null) for (const op of ['READ', 'WRITE', 'ALTER'] as const) ctx.lacking(op, 'TOPIC', topic, ops, 'topic');
    if (!exists) {
      const res = await ctx.conns.send(await ctx.someBroker(), createTopicValidateOnly(topic, config.kafka.requestTimeoutMs));
      for (const r of res) ctx.fact('CREATE', 'TOPIC', r.name, r.errorCode, 'CreateTopics (validate only)');
    }
  });
  return exists;
}

/**
 * Runs requests whose failure (a timeout, a broker going away) is no answer about ACLs:
 * the facts they would have added are missing, and their lines say "not tested".
 */
async function tolerate(requests: () => Promise<void>): Promise<void> {
  try {
    await requests();
  } catch {
    // nothing to add; kafka.bootstrap and kafka.brokers report unreachable brokers
  }
}

/** Connects (TCP, TLS, ApiVersions, SASL) and runs `then` on the broker; never throws. */
async function connectProbe(conns: KafkaConnections, address: string, then: (broker: any) => Promise<unknown>): Promise<AddressProbe> {
  try {
    await then(await conns.connect(address));
    return { address, ok: true };
  } catch (err) {
    await conns.drop(address);
    return { address, ok: false, error: connectError(err) };
  }
}

export function connectError(err: unknown): ConnectError {
  const e = err as { name?: unknown; type?: unknown; code?: unknown; cause?: { code?: unknown } };
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : undefined;
  return {
    message: describeError(err),
    ...(typeof e.name === 'string' ? { name: e.name } : {}),
    ...(typeof e.type === 'string' ? { type: e.type } : {}),
    ...(code !== undefined ? { code } : {}),
  };
}

/** A glob without wildcards names one group or topic. */
function isLiteral(glob: string): boolean {
  return !/[*?]/.test(glob);
}

/**
 * The topics of a consumer's subscription (ConsumerProtocolSubscription: version, topics,
 * user data, …); [] for metadata that is not one.
 */
export function subscribedTopics(metadata: Buffer | null): string[] {
  if (metadata === null || metadata.length < 6) return [];
  try {
    const d = newDecoder(metadata);
    d.readInt16(); // version
    return d.readArray((t) => t.readString() ?? '').filter((t) => t !== '');
  } catch {
    return [];
  }
}

/**
 * CreateTopics v2–v7 with validate_only (v2 is Kafka 4's oldest): Kafka checks CREATE (and
 * the request) and creates nothing. v5 is flexible and answers the topic's would-be
 * partitions, replication factor and configs (skipped), v7 its id.
 */
export function createTopicValidateOnly(topic: string, timeoutMs: number): RawRequest<{ name: string; errorCode: number }[]> {
  return {
    apiKey: API_KEYS.CreateTopics as number,
    apiName: 'CreateTopics',
    versions: { min: 2, max: 7 },
    flexibleFrom: 5,
    encode: (w) => {
      w.array([topic], (w, t) => {
        w.string(t).int32(1).int16(1); // one partition, one replica
        w.array([], () => undefined); // assignments
        w.array([], () => undefined); // configs
        w.tags();
      });
      w.int32(timeoutMs).bool(true).tags(); // validate only
    },
    decode: (r) => {
      r.int32(); // throttle
      const topics = r.array((t) => {
        const name = t.string() ?? '';
        if (t.version >= 7) t.uuid(); // topic id
        const errorCode = t.int16();
        t.string(); // error message
        if (t.version >= 5) {
          t.int32(); // partitions
          t.int16(); // replication factor
          t.array((c) => {
            c.string(); // name
            c.string(); // value
            c.bool(); // read only
            c.int8(); // source
            c.bool(); // sensitive
            c.tags();
          });
        }
        t.tags(); // (v5+) the config error code is a tagged field
        return { name, errorCode };
      });
      r.tags();
      return topics;
    },
  };
}
