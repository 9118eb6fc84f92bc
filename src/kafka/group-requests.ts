/**
 * The group requests beyond classic DescribeGroups, as raw requests over the connection
 * layer (kafkajs-wire.ts), and the classic consumer's member assignment: what vigil needs
 * to describe every kind of group Kafka keeps (docs/monitoring.md "Group types",
 * docs/design.md §9.1):
 *
 * - ListGroups (16) v0–v5: every group, with its type from v5 (Kafka 3.8+; KIP-848);
 * - ConsumerGroupDescribe (69) v0–v1: groups of the consumer protocol (KIP-848), whose
 *   state and members classic DescribeGroups does not know (it answers Dead, no members);
 * - ShareGroupDescribe (77) v1: share groups (KIP-932);
 * - DescribeShareGroupOffsets (90) v0–v1: a share group's start offset per partition,
 *   its position for delivery latency;
 * - StreamsGroupDescribe (89) v0–v1: streams groups (KIP-1071), state and members, each
 *   member's tasks turned into the partitions they read.
 *
 * Every layout here was checked field by field against the message schemas of the Kafka
 * 4.4.0 jars (clients/src/main/resources/common/message/<Api>{Request,Response}.json).
 *
 * Decoders' contract: an answer that does not follow its schema (cut short, a length past
 * its end) throws a RangeError (kafkajs's reader may add its own errors for a varint of
 * more than 5 bytes), which fails that one request, and each group it asked about reports
 * the failure; they never return half-read data (WireReader.end).
 * decodeConsumerAssignment, whose bytes a client wrote, never throws: null when they are
 * not a consumer assignment.
 */
import { type RawRequest, type WireReader, type WireWriter } from './kafkajs-wire';
import type { GroupMember, TopicPartitions } from './types';

export const LIST_GROUPS_API_KEY = 16;
export const CONSUMER_GROUP_DESCRIBE_API_KEY = 69;
export const SHARE_GROUP_DESCRIBE_API_KEY = 77;
export const STREAMS_GROUP_DESCRIBE_API_KEY = 89;
export const DESCRIBE_SHARE_GROUP_OFFSETS_API_KEY = 90;

export interface ListedGroup {
  readonly groupId: string;
  readonly protocolType: string;
  /** v4+: the group's state; null before */
  readonly state: string | null;
  /** v5+: 'classic', 'consumer', 'share', 'streams'; null before */
  readonly type: string | null;
}

/**
 * ListGroups v0–v5 for every group the broker coordinates (v1 adds the throttle time, v3
 * is flexible, v4 a states filter and each group's state, v5 a types filter and each
 * group's type; both filters are sent empty: every group).
 */
export function listGroupsRequest(): RawRequest<{ errorCode: number; groups: ListedGroup[] }> {
  return {
    apiKey: LIST_GROUPS_API_KEY,
    apiName: 'ListGroups',
    versions: { min: 0, max: 5 },
    flexibleFrom: 3,
    encode: (w: WireWriter) => {
      if (w.version >= 4) w.array([], () => undefined); // states filter: all
      if (w.version >= 5) w.array([], () => undefined); // types filter: all
      w.tags();
    },
    decode: (r: WireReader) => {
      if (r.version >= 1) r.int32(); // throttle
      const errorCode = r.int16();
      const groups = r.array((g): ListedGroup => {
        const groupId = g.string() ?? '';
        const protocolType = g.string() ?? '';
        const state = g.version >= 4 ? g.string() : null;
        const type = g.version >= 5 ? g.string() : null;
        g.tags();
        return { groupId, protocolType, state, type };
      });
      r.tags();
      r.end('ListGroups');
      return { errorCode, groups };
    },
  };
}

/** One group of a ConsumerGroupDescribe, ShareGroupDescribe or StreamsGroupDescribe answer. */
export interface DescribedGroup {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly groupId: string;
  readonly state: string;
  readonly members: GroupMember[];
}

/** `[{ topic, partitions }]` of an Assignment (ConsumerGroupDescribe, ShareGroupDescribe): topic id, name, partitions. */
function readAssignment(r: WireReader): TopicPartitions[] {
  const out = r.array((t): TopicPartitions => {
    t.uuid(); // topic id
    const topic = t.string() ?? '';
    const partitions = t.int32s();
    t.tags();
    return { topic, partitions };
  });
  r.tags();
  return out;
}

function describeEncoder(ids: readonly string[]): (w: WireWriter) => void {
  return (w) => {
    w.array(ids, (w, g) => w.string(g));
    w.bool(false); // include authorized operations
    w.tags();
  };
}

/**
 * The groups of a ConsumerGroupDescribe or ShareGroupDescribe answer, which lay a group out
 * alike around its members: error, state, epochs, assignor, members (`readMember`),
 * authorized operations.
 */
function readDescribedGroups(r: WireReader, api: string, readMember: (m: WireReader) => GroupMember): DescribedGroup[] {
  r.int32(); // throttle
  const groups = r.array((g): DescribedGroup => {
    const errorCode = g.int16();
    const errorMessage = g.string();
    const groupId = g.string() ?? '';
    const state = g.string() ?? '';
    g.int32(); // group epoch
    g.int32(); // assignment epoch
    g.string(); // assignor
    const members = g.array((m) => {
      const member = readMember(m);
      m.tags();
      return member;
    });
    g.int32(); // authorized operations
    g.tags();
    return { errorCode, errorMessage, groupId, state, members };
  });
  r.tags();
  r.end(api);
  return groups;
}

/**
 * ConsumerGroupDescribe v0–v1 (always flexible; v1 adds each member's type, classic or
 * consumer, for groups upgraded from the classic protocol): state and members, each with
 * client id, host and current assignment. The target assignment is read past.
 */
export function consumerGroupDescribeRequest(groupIds: readonly string[]): RawRequest<DescribedGroup[]> {
  return {
    apiKey: CONSUMER_GROUP_DESCRIBE_API_KEY,
    apiName: 'ConsumerGroupDescribe',
    versions: { min: 0, max: 1 },
    flexibleFrom: 0,
    encode: describeEncoder(groupIds),
    decode: (r: WireReader) =>
      readDescribedGroups(r, 'ConsumerGroupDescribe', (m) => {
        const memberId = m.string() ?? '';
        const instanceId = m.string();
        m.string(); // rack
        m.int32(); // member epoch
        const clientId = m.string() ?? '';
        const host = m.string() ?? '';
        m.array((s) => s.string()); // subscribed topic names
        m.string(); // subscribed topic regex
        const assignment = readAssignment(m);
        readAssignment(m); // target assignment
        if (m.version >= 1) m.int8(); // member type
        return { memberId, instanceId, clientId, host, assignment };
      }),
  };
}

/**
 * ShareGroupDescribe v1 (v0 was Kafka 4.0's early access, which later versions dropped;
 * flexible): state and members, each with client id, host and the partitions it is
 * assigned — in a share group several members may share a partition.
 */
export function shareGroupDescribeRequest(groupIds: readonly string[]): RawRequest<DescribedGroup[]> {
  return {
    apiKey: SHARE_GROUP_DESCRIBE_API_KEY,
    apiName: 'ShareGroupDescribe',
    versions: { min: 1, max: 1 },
    flexibleFrom: 0,
    encode: describeEncoder(groupIds),
    decode: (r: WireReader) =>
      readDescribedGroups(r, 'ShareGroupDescribe', (m) => {
        const memberId = m.string() ?? '';
        m.string(); // rack
        m.int32(); // member epoch
        const clientId = m.string() ?? '';
        const host = m.string() ?? '';
        m.array((s) => s.string()); // subscribed topic names
        return { memberId, instanceId: null, clientId, host, assignment: readAssignment(m) };
      }),
  };
}

/** A streams member's tasks of one kind (active, standby, warm-up): subtopology id → partitions. */
function readTasks(r: WireReader): { subtopology: string; partitions: number[] }[] {
  return r.array((t) => {
    const subtopology = t.string() ?? '';
    const partitions = t.int32s();
    t.tags();
    return { subtopology, partitions };
  });
}

/** A streams member's active tasks, read out of an Assignment; standby and warm-up tasks are read past. */
function readActiveTasks(r: WireReader): { subtopology: string; partitions: number[] }[] {
  const active = readTasks(r);
  readTasks(r); // standby tasks: they restore state from changelogs, they read no input
  readTasks(r); // warm-up tasks: the same
  r.tags();
  return active;
}

/** The names of a subtopology's TopicInfos (state changelog or repartition source topics). */
function readTopicInfoNames(r: WireReader): string[] {
  return r.array((t) => {
    const name = t.string() ?? '';
    t.int32(); // partitions
    t.int16(); // replication factor
    t.array((c) => {
      c.string(); // config key
      c.string(); // value
      c.tags();
    });
    t.tags();
    return name;
  });
}

/** A nullable struct's marker: -1 null, 1 present. */
function present(r: WireReader): boolean {
  return r.int8() >= 0;
}

function skipTopologyNode(r: WireReader): void {
  r.string(); // name
  r.int8(); // node type
  r.array((s) => s.string()); // source topics
  r.string(); // sink topic
  r.array((s) => s.string()); // stores
  r.array((s) => s.string()); // successors
  r.tags();
}

/**
 * The partitions a streams member's active tasks read. A task is one partition number of
 * one subtopology, and it reads that partition of each of the subtopology's input topics
 * (its source topics and the repartition topics it reads; Kafka Streams co-partitions
 * them): task (subtopology 0, partition 2) of a subtopology reading `orders` holds
 * `orders` partition 2. `inputs` maps subtopology id → input topics, from the group's
 * topology. null when a task names a subtopology the topology does not have (the topology
 * is not yet initialized, or its source topics are missing): the partitions cannot be known.
 */
export function streamsTaskPartitions(tasks: readonly { subtopology: string; partitions: readonly number[] }[], inputs: ReadonlyMap<string, readonly string[]>): TopicPartitions[] | null {
  const byTopic = new Map<string, Set<number>>();
  for (const task of tasks) {
    const topics = inputs.get(task.subtopology);
    if (topics === undefined) return null;
    for (const topic of topics) {
      let held = byTopic.get(topic);
      if (held === undefined) byTopic.set(topic, (held = new Set()));
      for (const p of task.partitions) held.add(p);
    }
  }
  return [...byTopic].map(([topic, held]) => ({ topic, partitions: [...held].sort((a, b) => a - b) }));
}

/**
 * StreamsGroupDescribe v0–v1 (flexible; v1 can add a topology description, not asked for,
 * but its fields are read past as the schema lays them out): state and members with client
 * id, host and the partitions their active tasks read (streamsTaskPartitions: a streams
 * member is assigned tasks of subtopologies, which the group's topology, in the same
 * answer, turns into topic partitions). A streams group's lag is measured from its
 * committed offsets, which OffsetFetch reads like a consumer group's.
 */
export function streamsGroupDescribeRequest(groupIds: readonly string[]): RawRequest<DescribedGroup[]> {
  return {
    apiKey: STREAMS_GROUP_DESCRIBE_API_KEY,
    apiName: 'StreamsGroupDescribe',
    versions: { min: 0, max: 1 },
    flexibleFrom: 0,
    encode: (w: WireWriter) => {
      w.array(groupIds, (w, g) => w.string(g));
      w.bool(false); // include authorized operations
      if (w.version >= 1) w.bool(false); // include topology description
      w.tags();
    },
    decode: (r: WireReader) => {
      r.int32(); // throttle
      const groups = r.array((g): DescribedGroup => {
        const errorCode = g.int16();
        const errorMessage = g.string();
        const groupId = g.string() ?? '';
        const state = g.string() ?? '';
        g.int32(); // group epoch
        g.int32(); // assignment epoch
        // subtopology id → the topics its tasks read (null topology, null subtopologies: none)
        const inputs = new Map<string, string[]>();
        if (present(g)) {
          // topology
          g.int32(); // epoch
          g.array((s) => {
            const id = s.string() ?? '';
            const sources = s.array((x) => x.string() ?? '');
            s.array((x) => x.string()); // repartition sink topics
            readTopicInfoNames(s); // state changelog topics
            const repartitionSources = readTopicInfoNames(s);
            s.tags();
            inputs.set(id, [...new Set([...sources, ...repartitionSources])]);
          });
          g.tags();
        }
        const members = g.array((m): GroupMember => {
          const memberId = m.string() ?? '';
          m.int32(); // member epoch
          const instanceId = m.string();
          m.string(); // rack
          const clientId = m.string() ?? '';
          const host = m.string() ?? '';
          m.int32(); // topology epoch
          m.string(); // process id
          if (present(m)) {
            m.string(); // user endpoint host
            m.int16(); // user endpoint port (uint16)
            m.tags();
          }
          m.array((t) => {
            t.string(); // client tag key
            t.string(); // value
            t.tags();
          });
          for (let i = 0; i < 2; i++) {
            // task offsets, task end offsets
            m.array((t) => {
              t.string();
              t.int32();
              t.int64();
              t.tags();
            });
          }
          const active = readActiveTasks(m); // assignment
          readActiveTasks(m); // target assignment
          m.bool(); // is classic
          m.tags();
          return { memberId, instanceId, clientId, host, assignment: streamsTaskPartitions(active, inputs) };
        });
        g.int32(); // authorized operations
        if (g.version >= 1) {
          // topology description (null unless asked for), its status, the assignor
          if (present(g)) {
            g.array((s) => {
              s.string(); // subtopology id
              s.array(skipTopologyNode);
              s.tags();
            });
            g.array((s) => {
              skipTopologyNode(s); // source
              skipTopologyNode(s); // processor
              s.tags();
            });
            g.tags();
          }
          g.int8(); // topology description status
          g.string(); // assignor
        }
        g.tags();
        return { errorCode, errorMessage, groupId, state, members };
      });
      r.tags();
      r.end('StreamsGroupDescribe');
      return groups;
    },
  };
}

/** A share group's start offsets, or the group's error. */
export interface ShareGroupOffsets {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** topic → partition → start offset (partitions answered without an error and initialized, >= 0) */
  readonly offsets: Map<string, Map<number, number>>;
  /**
   * v1: topic → partition → the broker's lag, the records from the start offset on not yet
   * delivered for good (absent where the broker does not know it, -1). Kafka moves the start
   * offset lazily: a group that has acknowledged every record may still show an old start
   * offset, and a lag of 0 (KIP-1226)
   */
  readonly lags: Map<string, Map<number, number>>;
  /** partitions answered with an error: "topic-partition: NAME" */
  readonly partitionErrors: { topic: string; partition: number; errorCode: number; errorMessage: string | null }[];
}

/**
 * DescribeShareGroupOffsets v0–v1 for every topic of one group (topics null: all the group
 * has state for; flexible; v1 adds the broker's lag per partition). A partition's start
 * offset (its share-partition start offset, SPSO) is the earliest record that may not yet
 * be delivered for good — Kafka advances it lazily, so the records after it may all be —
 * and -1 while the share partition has no state (no record was produced to it since the
 * group first fetched from it). The v1 lag counts the records from there not yet delivered.
 */
export function describeShareGroupOffsetsRequest(groupId: string): RawRequest<ShareGroupOffsets> {
  return {
    apiKey: DESCRIBE_SHARE_GROUP_OFFSETS_API_KEY,
    apiName: 'DescribeShareGroupOffsets',
    versions: { min: 0, max: 1 },
    flexibleFrom: 0,
    encode: (w: WireWriter) => {
      w.array([groupId], (w, g) => {
        w.string(g);
        w.array(null, () => undefined); // topics: all
        w.tags();
      });
      w.tags();
    },
    decode: (r: WireReader) => {
      r.int32(); // throttle
      let answer: ShareGroupOffsets | null = null;
      r.array((g) => {
        const id = g.string();
        const offsets = new Map<string, Map<number, number>>();
        const lags = new Map<string, Map<number, number>>();
        const partitionErrors: ShareGroupOffsets['partitionErrors'] = [];
        g.array((t) => {
          const topic = t.string() ?? '';
          t.uuid(); // topic id
          const m = new Map<number, number>();
          const l = new Map<number, number>();
          t.array((p) => {
            const partition = p.int32();
            const startOffset = p.int64();
            p.int32(); // leader epoch
            const lag = p.version >= 1 ? p.int64() : -1;
            const errorCode = p.int16();
            const errorMessage = p.string();
            p.tags();
            if (errorCode !== 0) partitionErrors.push({ topic, partition, errorCode, errorMessage });
            else if (startOffset >= 0) {
              m.set(partition, startOffset);
              if (lag >= 0) l.set(partition, lag);
            }
          });
          t.tags();
          if (m.size > 0) offsets.set(topic, m);
          if (l.size > 0) lags.set(topic, l);
        });
        const errorCode = g.int16();
        const errorMessage = g.string();
        g.tags();
        if (id === groupId) answer = { errorCode, errorMessage, offsets, lags, partitionErrors };
      });
      r.tags();
      r.end('DescribeShareGroupOffsets');
      if (answer === null) throw new RangeError(`DescribeShareGroupOffsets answered without the group ${groupId} it asked for`);
      return answer;
    },
  };
}

/**
 * A classic consumer group member's assignment, as the consumer protocol writes it
 * (ConsumerProtocolAssignment v0–v3, never flexible): a version, then the topics with their
 * partitions, then user data. Bytes a client wrote, not the broker: null — never an
 * exception — when they are not that (a version below 0, a length past the end, bytes left
 * over mean another protocol's data). Empty bytes: no assignment yet (a rebalance).
 */
export function decodeConsumerAssignment(bytes: Buffer | null): TopicPartitions[] | null {
  if (bytes === null || bytes.length === 0) return [];
  let at = 0;
  const need = (n: number): boolean => n >= 0 && at + n <= bytes.length;
  const int16 = (): number | null => (need(2) ? ((at += 2), bytes.readInt16BE(at - 2)) : null);
  const int32 = (): number | null => (need(4) ? ((at += 4), bytes.readInt32BE(at - 4)) : null);
  const version = int16();
  if (version === null || version < 0) return null;
  const topicCount = int32();
  if (topicCount === null || topicCount < 0 || topicCount > bytes.length) return null;
  const out: TopicPartitions[] = [];
  for (let i = 0; i < topicCount; i++) {
    const nameLength = int16();
    if (nameLength === null || !need(nameLength)) return null;
    const topic = bytes.toString('utf8', at, at + nameLength);
    at += nameLength;
    const count = int32();
    if (count === null || count < 0 || !need(count * 4)) return null;
    const partitions: number[] = [];
    for (let p = 0; p < count; p++) partitions.push(int32() as number);
    out.push({ topic, partitions });
  }
  const userData = int32(); // NULLABLE_BYTES: -1 null
  if (userData === null || userData < -1 || (userData > 0 && !need(userData))) return null;
  if (userData > 0) at += userData;
  // a newer version may append fields; the ones read are laid out alike in every version
  return version <= 3 && at !== bytes.length ? null : out;
}
