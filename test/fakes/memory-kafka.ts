/**
 * An in-memory Kafka behind the KafkaAdmin port, for unit tests. It passes the same
 * contract tests (test/contract/kafka-admin.contract.ts) as the kafkajs adapter does
 * against real brokers, so a unit test that passes here means the same thing there.
 */
import type {
  BrokerInfo,
  BrokerPing,
  ClusterMetadata,
  ControllerQuorum,
  GroupDescription,
  GroupListing,
  GroupMember,
  GroupType,
  GroupOffsetsResult,
  KafkaAdmin,
  PartitionOffset,
  RecordProbe,
  RecordProbeRequest,
  TopicPartition,
} from '../../src/kafka/types';
import { probeKey } from '../../src/kafka/types';

interface MemPartition {
  leader: number;
  replicas: number[];
  isr: number[];
  /** timestamps of records at offsets logStart.. */
  timestampsMs: number[];
  logStart: number;
}

export class MemoryKafka implements KafkaAdmin {
  brokers: BrokerInfo[];
  readonly topics = new Map<string, MemPartition[]>();
  readonly groups = new Map<string, Map<string, Map<number, number>>>();
  /** brokers that answer nothing (their partitions fail like a dead leader's) */
  readonly down = new Set<number>();
  /**
   * Hung brokers (SIGSTOP): they stay in the metadata and accept connections but answer
   * nothing. Before the first ping, a request sent to one holds its caller for the request
   * timeout: it is recorded in `waitedOn`, and fails. After it (the port's watch, see
   * KafkaAdmin.pingBrokers), it is abandoned once a second ping fails: it is recorded in
   * `abandoned`, fails "not answered", and the broker counts as having failed its ping.
   */
  readonly hung = new Set<number>();
  /** `<request>@<broker>` for every request that waited out its timeout on a hung broker, in order */
  readonly waitedOn: string[] = [];
  /** `<request>@<broker>` for every request abandoned because its hung broker failed the watch's ping */
  readonly abandoned: string[] = [];
  /** the latest ping deadline (null before the first ping: requests are not watched) */
  private pingDeadlineMs: number | null = null;
  /** the wall clock for `silentSinceMs`; without one, pings report no time */
  wallMs: (() => number) | null = null;
  /** brokers whose latest ping failed, or that fell silent under a request: asked nothing else until a ping succeeds */
  private readonly unanswered = new Map<number, { why: string; sinceMs: number | null }>();
  /** per-topic min.insync.replicas; absent = the broker default, 1 */
  readonly minIsr = new Map<string, number>();
  /** group → number of live members (absent = 0, state Empty) */
  readonly members = new Map<string, number>();
  /**
   * group → its type and members with their assignments, as a describe request answers them
   * (absent: a classic group whose `members` have no known assignment, or simple without members)
   */
  readonly described = new Map<string, { type: GroupType; state: string; members: GroupMember[] }>();
  /** group → its coordinator's node id (absent = the first broker) */
  readonly coordinators = new Map<string, number>();
  /** ListGroups answers each group's state (v4+, Kafka 2.6+); off: as a broker before 2.6 */
  listsStates = false;
  /** the groups each describeGroups call asked for */
  readonly describeAsked: string[][] = [];
  /**
   * What describeQuorum answers (when asked through at least one broker). Default: no KRaft
   * quorum, as a ZooKeeper-mode cluster says; tests about the quorum set one
   * (describedQuorum below).
   */
  quorum: ControllerQuorum = { state: 'unobservable', cause: 'not-kraft', reason: 'the in-memory Kafka has no controller quorum unless a test sets one' };
  closed = false;

  constructor(brokerCount = 3) {
    this.brokers = Array.from({ length: brokerCount }, (_, i) => ({ nodeId: i + 1, host: '127.0.0.1', port: 9000 + i, rack: null }));
  }

  createTopic(topic: string, partitions: number, replicationFactor = Math.min(3, this.brokers.length)): void {
    const ids = this.brokers.map((b) => b.nodeId);
    this.topics.set(
      topic,
      Array.from({ length: partitions }, (_, p) => {
        const replicas = Array.from({ length: replicationFactor }, (_, r) => ids[(p + r) % ids.length] as number);
        return { leader: replicas[0] as number, replicas, isr: [...replicas], timestampsMs: [], logStart: 0 };
      }),
    );
  }

  produce(topic: string, partition: number, timestampsMs: readonly number[]): void {
    this.part(topic, partition).timestampsMs.push(...timestampsMs);
  }

  commit(group: string, topic: string, partition: number, offset: number): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map()));
    let t = g.get(topic);
    if (!t) g.set(topic, (t = new Map()));
    t.set(partition, offset);
  }

  part(topic: string, partition: number): MemPartition {
    const p = this.topics.get(topic)?.[partition];
    if (!p) throw new Error(`no partition ${topic}-${partition}`);
    return p;
  }

  async metadata(): Promise<ClusterMetadata> {
    // asked in node order, brokers that failed their ping last; a hung one holds the request
    const asked = this.brokers.filter((b) => !this.down.has(b.nodeId)).sort((a, b) => Number(this.unanswered.has(a.nodeId)) - Number(this.unanswered.has(b.nodeId)) || a.nodeId - b.nodeId);
    const answering = asked.find((b) => !this.hung.has(b.nodeId));
    for (const b of asked) {
      if (b === answering) break;
      this.stall(b.nodeId, 'Metadata');
    }
    if (asked.length > 0 && !answering) throw new Error(`Metadata request failed on every broker tried (${asked.map((b) => `broker ${b.nodeId}: Request timed out`).join('; ')})`);
    return {
      clusterId: 'memory',
      controllerId: this.brokers.find((b) => !this.down.has(b.nodeId))?.nodeId ?? null,
      brokers: this.brokers.filter((b) => !this.down.has(b.nodeId)),
      topics: [...this.topics].map(([topic, parts]) => ({
        topic,
        isInternal: false,
        partitions: parts.map((p, partition) => ({
          partition,
          leader: p.leader,
          replicas: [...p.replicas],
          isr: [...p.isr],
          offlineReplicas: p.replicas.filter((r) => this.down.has(r)),
        })),
      })),
    };
  }

  async listGroups(): Promise<GroupListing[]> {
    // each broker lists the groups it coordinates
    const failed = new Set(this.brokers.map((b) => b.nodeId).filter((id) => this.refusal(id, 'ListGroups') !== null));
    if (failed.size === this.brokers.length && failed.size > 0) throw new Error('could not list consumer groups on any broker');
    return [...this.groups.keys()]
      .filter((g) => !failed.has(this.coordinatorOf(g)))
      .sort()
      .map((groupId) => {
        const type = this.described.get(groupId)?.type;
        const listing = type === undefined ? { groupId, protocolType: '' } : { groupId, protocolType: '', type };
        return this.listsStates ? { ...listing, state: this.stateOf(groupId) } : listing;
      });
  }

  private coordinatorOf(groupId: string): number {
    return this.coordinators.get(groupId) ?? (this.brokers[0] as BrokerInfo).nodeId;
  }

  /**
   * Why broker `id` cannot answer `request` now, or null when it can: it failed its latest
   * ping (not asked), it is down (the connection fails), or it is hung (the request is sent,
   * waited on, and times out).
   */
  private refusal(id: number, request: string): string | null {
    if (this.unanswered.has(id)) return `not asked: broker ${id} did not answer its last ping`;
    if (this.down.has(id)) return `broker ${id}: Connection error`;
    if (this.hung.has(id)) return this.stall(id, request);
    return null;
  }

  /** A request sent to hung broker `id`: waited out, or abandoned by the watch (see `hung`). */
  private stall(id: number, request: string): string {
    if (this.pingDeadlineMs === null) {
      this.waitedOn.push(`${request}@${id}`);
      return `broker ${id}: Request ${request} timed out`;
    }
    this.abandoned.push(`${request}@${id}`);
    const why = `no answer within ${this.pingDeadlineMs} ms`;
    this.unanswered.set(id, { why, sinceMs: this.unanswered.get(id)?.sinceMs ?? this.wallMs?.() ?? null });
    return `not answered: broker ${id} answered neither this request nor a ping within ${this.pingDeadlineMs} ms`;
  }

  brokerStanding(brokers: readonly BrokerInfo[]): Map<number, BrokerPing> {
    return new Map(brokers.map((b) => [b.nodeId, this.standingOf(b.nodeId)]));
  }

  private standingOf(id: number): BrokerPing {
    const silent = this.unanswered.get(id);
    if (silent === undefined) return { ok: true };
    return { ok: false, error: silent.why, ...(silent.sinceMs !== null ? { silentSinceMs: silent.sinceMs } : {}) };
  }

  /** A group's state as ListGroups and DescribeGroups give it. */
  private stateOf(groupId: string): string {
    const d = this.described.get(groupId);
    if (d) return d.state;
    const members = this.members.get(groupId) ?? 0;
    return !this.groups.has(groupId) && members === 0 ? 'Dead' : members > 0 ? 'Stable' : 'Empty';
  }

  async describeGroups(groupIds: readonly string[]): Promise<Map<string, GroupDescription>> {
    this.describeAsked.push([...groupIds]);
    return new Map(
      groupIds.map((groupId): [string, GroupDescription] => {
        const members = this.members.get(groupId) ?? 0;
        const state = this.stateOf(groupId);
        const coordinator = this.coordinatorOf(groupId);
        const refused = this.refusal(coordinator, 'DescribeGroups');
        if (refused !== null) return [groupId, { groupId, state: '', members: 0, error: refused }];
        const d = this.described.get(groupId);
        if (d) return [groupId, { groupId, type: d.type, state: d.state, members: d.members.length, memberList: d.members, coordinator }];
        const memberList = Array.from({ length: members }, (_, i) => ({ memberId: `${groupId}-member-${i}`, instanceId: null, clientId: `${groupId}-client`, host: '/127.0.0.1', assignment: null }));
        return [groupId, { groupId, type: members > 0 ? 'classic' : 'simple', state, members, memberList, coordinator }];
      }),
    );
  }

  async pingBrokers(brokers: readonly BrokerInfo[], timeoutMs: number): Promise<Map<number, BrokerPing>> {
    this.pingDeadlineMs = timeoutMs;
    const out = new Map<number, BrokerPing>();
    for (const b of brokers) {
      const error = this.down.has(b.nodeId) ? `connect ECONNREFUSED ${b.host}:${b.port}` : this.hung.has(b.nodeId) ? `no answer within ${timeoutMs} ms` : undefined;
      if (error === undefined) this.unanswered.delete(b.nodeId);
      else this.unanswered.set(b.nodeId, { why: error, sinceMs: this.unanswered.get(b.nodeId)?.sinceMs ?? this.wallMs?.() ?? null });
      out.set(b.nodeId, this.standingOf(b.nodeId));
    }
    return out;
  }

  async topicMinIsr(topics: readonly string[]): Promise<Map<string, number>> {
    return new Map(topics.filter((t) => this.topics.has(t)).map((t) => [t, this.minIsr.get(t) ?? 1]));
  }

  async committedOffsets(groupIds: readonly string[]): Promise<Map<string, GroupOffsetsResult>> {
    const out = new Map<string, GroupOffsetsResult>();
    for (const id of groupIds) {
      const refused = this.refusal(this.coordinatorOf(id), 'OffsetFetch');
      if (refused !== null) {
        out.set(id, { error: refused });
        continue;
      }
      const g = this.groups.get(id);
      out.set(id, { offsets: new Map([...(g ?? new Map<string, Map<number, number>>())].map(([t, ps]) => [t, new Map(ps)])) });
    }
    return out;
  }

  private answer(tp: TopicPartition, request: string, fn: (p: MemPartition) => number): PartitionOffset {
    const p = this.topics.get(tp.topic)?.[tp.partition];
    if (!p) return { ...tp, offset: null, error: 'UNKNOWN_TOPIC_OR_PARTITION' };
    if (p.leader < 0) return { ...tp, offset: null, error: 'partition offline (no leader)' };
    const refused = this.refusal(p.leader, request);
    if (refused !== null) return { ...tp, offset: null, error: refused };
    return { ...tp, offset: fn(p) };
  }

  async endOffsets(partitions: readonly TopicPartition[]): Promise<PartitionOffset[]> {
    return partitions.map((tp) => this.answer(tp, 'ListOffsets', (p) => p.logStart + p.timestampsMs.length));
  }

  async offsetsForTimestamp(partitions: readonly TopicPartition[], timestampMs: number): Promise<PartitionOffset[]> {
    return partitions.map((tp) =>
      this.answer(tp, 'ListOffsets', (p) => {
        const i = p.timestampsMs.findIndex((t) => t >= timestampMs);
        return i < 0 ? Number.POSITIVE_INFINITY : p.logStart + i;
      }),
    );
  }

  async probeRecords(requests: readonly RecordProbeRequest[]): Promise<Map<string, RecordProbe>> {
    const out = new Map<string, RecordProbe>();
    for (const r of requests) {
      const a = this.answer(r, 'Fetch', () => 0);
      const key = probeKey(r.topic, r.partition, r.offset);
      if (a.offset === null) {
        out.set(key, { kind: 'unknown', reason: a.error ?? 'unknown' });
        continue;
      }
      const p = this.part(r.topic, r.partition);
      const offset = Math.max(r.offset, p.logStart);
      const ts = p.timestampsMs[offset - p.logStart];
      out.set(key, ts === undefined ? { kind: 'unknown', reason: 'OFFSET_OUT_OF_RANGE' } : { kind: 'record', offset, timestampMs: ts, exact: true });
    }
    return out;
  }

  async describeQuorum(brokers: readonly BrokerInfo[], timeoutMs: number): Promise<ControllerQuorum> {
    // the first broker that connects forwards it; a hung one holds it until the deadline
    const via = brokers.find((b) => !this.unanswered.has(b.nodeId) && !this.down.has(b.nodeId));
    if (!via) return { state: 'unanswered', error: 'no broker to send DescribeQuorum to' };
    if (this.refusal(via.nodeId, 'DescribeQuorum') !== null) return { state: 'unanswered', error: `DescribeQuorum failed: broker ${via.nodeId}: no answer within ${timeoutMs} ms` };
    return this.quorum;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * A healthy quorum as its leader describes it at `nowMs` (its wall clock): every voter has
 * fetched and caught up just now, all at log end offset `end`.
 */
export function describedQuorum(voterIds: readonly number[], leaderId: number, nowMs: number, opts: { epoch?: number; end?: number } = {}): ControllerQuorum & { state: 'described' } {
  const end = opts.end ?? 100;
  return {
    state: 'described',
    leaderId,
    leaderEpoch: opts.epoch ?? 1,
    highWatermark: end,
    voters: voterIds.map((nodeId) => ({ nodeId, logEndOffset: end, lastFetchMs: nowMs, lastCaughtUpMs: nowMs })),
    observers: [],
  };
}
