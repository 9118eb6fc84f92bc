/**
 * The KafkaAdmin port over kafkajs's connection layer (see kafkajs-wire.ts for why not
 * kafkajs's Admin). Every read is batched: one Metadata request, one ListOffsets and one
 * Fetch per partition leader, one OffsetFetch per group on its coordinator. A broker that
 * cannot be reached fails only the partitions it leads; the answer says which and why.
 *
 * A broker that failed its latest ping is asked nothing else until a ping to it succeeds
 * (KafkaAdmin.pingBrokers): a hung broker accepts connections and answers nothing, so each
 * request would wait out kafka.requestTimeout, and the cycle with it. A broker that hangs
 * while requests to it are in flight is caught by the SilenceWatch (silence-watch.ts): a
 * request waiting longer than the ping deadline gets its broker pinged, and a failed ping
 * abandons every request to it and counts as its latest ping.
 */
import type { KafkaConfig } from '../config/types';
import { VigilError, describeError, isVigilError } from '../errors';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import type { AbortedTransaction } from './read-committed';
import { MalformedRecordBatchError, probeRecordSet } from './record-batch';
import { describeQuorumRequest } from './describe-quorum';
import {
  type DescribedGroup,
  consumerGroupDescribeRequest,
  decodeConsumerAssignment,
  describeShareGroupOffsetsRequest,
  listGroupsRequest,
  shareGroupDescribeRequest,
  streamsGroupDescribeRequest,
} from './group-requests';
import { type AnswerTimes, AnswerClock } from './answer-times';
import { SilenceWatch } from './silence-watch';
import {
  API_KEYS,
  KafkaConnections,
  type RawRequest,
  type WireReader,
  type WireWriter,
  brokerVersions,
  isConnectionError,
  kafkaErrorName,
  negotiateVersion,
  unsupportedApiError,
} from './kafkajs-wire';
import {
  type BrokerInfo,
  type BrokerPing,
  type ClusterMetadata,
  type ControllerQuorum,
  type GroupDescription,
  type GroupListing,
  type GroupMember,
  type GroupType,
  type GroupOffsetsResult,
  type KafkaAdmin,
  type PartitionOffset,
  type RecordProbe,
  type RecordProbeRequest,
  type TopicInfo,
  type TopicPartition,
  groupTypeOf,
  probeKey,
  tpKey,
} from './types';
import { appendTo } from '../util/multimap';
import { systemClock } from '../util/clock';
import { TimeSlices } from '../util/slices';

/** ListOffsets timestamp that asks for the log end offset (high watermark). */
export const LATEST_TIMESTAMP = -1;
const EARLIEST_TIMESTAMP = -2;
const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;
/** Enough for a batch header and the first records; a cut-short batch is interpolated. */
const PROBE_PARTITION_BYTES = 4 * 1024;
const PROBE_ROUNDS_IN_FLIGHT = 8;
const PROBE_RETRY_PARTITION_BYTES = 1024 * 1024;
const MAX_FETCH_RESPONSE_BYTES = 32 * 1024 * 1024;
const GROUP_CONCURRENCY = 32;

const ERR_NONE = 0;
const ERR_OFFSET_OUT_OF_RANGE = 1;
const ERR_NOT_LEADER = 6;
const ERR_LEADER_NOT_AVAILABLE = 5;
const ERR_FENCED_LEADER_EPOCH = 74;
const ERR_UNKNOWN_LEADER_EPOCH = 75;
const ERR_COORDINATOR_LOAD_IN_PROGRESS = 14;
const ERR_COORDINATOR_NOT_AVAILABLE = 15;
const ERR_NOT_COORDINATOR = 16;

const STALE_LEADER_ERRORS = new Set([ERR_NOT_LEADER, ERR_LEADER_NOT_AVAILABLE, ERR_FENCED_LEADER_EPOCH, ERR_UNKNOWN_LEADER_EPOCH]);
const COORDINATOR_ERRORS = new Set([ERR_COORDINATOR_LOAD_IN_PROGRESS, ERR_COORDINATOR_NOT_AVAILABLE, ERR_NOT_COORDINATOR]);

export class KafkajsAdmin implements KafkaAdmin {
  readonly connections: KafkaConnections;
  /**
   * DescribeQuorum's own connections: a broker serves one request per connection at a time,
   * and a DescribeQuorum it holds while no controller leads must not delay the cycle's
   * other requests (or a ping) to that broker.
   */
  private readonly quorumConnections: KafkaConnections;
  private lastMetadata: ClusterMetadata | null = null;
  private readonly coordinators = new Map<string, string>(); // groupId → broker address
  /**
   * groupId → its type as a ListGroups last named it ({unknown}: a type this vigil does not
   * know), which picks the request that describes the group and reads its position
   */
  private readonly groupTypes = new Map<string, GroupType | { unknown: string }>();
  /**
   * address → why, and since when it has answered nothing sent to it (wall clock), for
   * brokers whose latest ping failed or that fell silent under their requests
   */
  private readonly unanswered = new Map<string, { why: string; sinceMs: number }>();
  /** the watchdog's pings, on connections of their own: a ping must not queue behind a slow request */
  private readonly pingConnections: KafkaConnections;
  /** the requests in flight to each broker, abandoned at once if it falls silent under them */
  readonly silence: SilenceWatch;
  /** how long each broker takes to answer, over the last cycles (answer-times.ts; takeAnswerTimes) */
  private readonly answers = new AnswerClock();

  constructor(config: KafkaConfig, private readonly logger: Logger = silentLogger) {
    this.connections = new KafkaConnections(config, logger);
    this.quorumConnections = new KafkaConnections(config, logger);
    this.pingConnections = new KafkaConnections(config, logger);
    this.silence = new SilenceWatch(
      (address, timeoutMs) => this.pingOne(this.pingConnections, address, timeoutMs),
      (address, why, sinceMs) => {
        this.logger.debug({ broker: address, why }, 'a broker fell silent under requests in flight: they are abandoned');
        this.markUnanswered(address, why, sinceMs);
        void this.connections.drop(address);
      },
    );
  }

  // ---- metadata -------------------------------------------------------------------------

  async metadata(): Promise<ClusterMetadata> {
    const preferred = this.lastMetadata ? this.lastMetadata.brokers.map(addressOf) : [];
    // Ask the first broker that answers; a broker that connects but then fails the request
    // is dropped and the next one is tried. One that failed its ping only when no other
    // connects: metadata is the one request that may still go to it.
    const failures: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const { address, broker } = await this.connections.connectAny(preferred, this.unanswered);
      try {
        const md = await this.silence.run(address, () => this.answers.time(address, () => this.connections.send(broker, CLUSTER_METADATA)));
        this.lastMetadata = md;
        return md;
      } catch (err) {
        failures.push(`${address}: ${describeError(err)}`);
        await this.connections.drop(address);
      }
    }
    throw new VigilError('KAFKA_REQUEST_FAILED', `Metadata request failed on every broker tried (${failures.join('; ')})`, { retriable: true });
  }

  private async currentMetadata(): Promise<ClusterMetadata> {
    return this.lastMetadata ?? (await this.metadata());
  }

  // ---- groups ---------------------------------------------------------------------------

  async listGroups(): Promise<GroupListing[]> {
    const md = await this.currentMetadata();
    const seen = new Map<string, GroupListing>();
    const failures: string[] = [];
    await Promise.all(
      md.brokers.map(async (b) => {
        try {
          const res = await this.ask(addressOf(b), (broker) => this.connections.send(broker, listGroupsRequest()));
          // an error (COORDINATOR_LOAD_IN_PROGRESS while the broker loads some of its groups)
          // comes with the groups it could list
          // a broker may list thousands of groups: the event loop is let through between
          // slices (the commit stream folds its answers on it; docs/design.md §3.9)
          const slices = new TimeSlices(systemClock);
          for (const g of res.groups) {
            if (slices.tick()) await slices.next();
            // built without spreads, and the type kept at once: 10,000 groups a cycle
            const listing: { -readonly [K in keyof GroupListing]: GroupListing[K] } = { groupId: g.groupId, protocolType: g.protocolType };
            const type = groupTypeOf(g.protocolType, g.type);
            if (type) listing.type = type;
            if (g.type !== null) listing.typeName = g.type;
            if (g.state !== null) listing.state = g.state;
            seen.set(g.groupId, listing);
            // kept across calls: a group whose coordinator is down is not listed, and keeps its type
            this.groupTypes.set(g.groupId, g.type !== null && type === undefined ? { unknown: g.type } : (type ?? 'classic'));
          }
          if (res.errorCode !== ERR_NONE) failures.push(`broker ${b.nodeId} (${addressOf(b)}): ListGroups answered ${kafkaErrorName(res.errorCode)}`);
        } catch (err) {
          failures.push(`broker ${b.nodeId} (${addressOf(b)}): ${describeError(err)}`);
        }
      }),
    );
    if (failures.length === md.brokers.length && md.brokers.length > 0 && seen.size === 0) {
      throw new VigilError('KAFKA_REQUEST_FAILED', `could not list consumer groups on any broker: ${failures.join('; ')}`, { retriable: true });
    }
    // a down broker is reported by the monitor itself; this is detail for debugging
    if (failures.length > 0) this.logger.debug({ failures }, 'some brokers did not list their groups');
    return [...seen.values()];
  }

  async describeGroups(groupIds: readonly string[]): Promise<Map<string, GroupDescription>> {
    const out = new Map<string, GroupDescription>();
    const byCoordinator = new Map<string, string[]>();
    // coordinators known (every group after the first cycle) are grouped at once; only the
    // others are looked up, GROUP_CONCURRENCY at a time (no promise per group each cycle)
    const lookUp: string[] = [];
    for (const groupId of groupIds) {
      const known = this.groupTypes.get(groupId);
      if (typeof known === 'object') {
        out.set(groupId, { groupId, state: '', members: 0, error: `the broker lists the group with type "${known.unknown}", which this vigil does not know how to describe` });
        continue;
      }
      const cached = this.coordinators.get(groupId);
      if (cached !== undefined) appendTo(byCoordinator, cached, groupId);
      else lookUp.push(groupId);
    }
    await forEachLimited(lookUp, GROUP_CONCURRENCY, async (groupId) => {
      try {
        const address = await this.coordinatorOf(groupId, false);
        appendTo(byCoordinator, address, groupId);
      } catch (err) {
        out.set(groupId, { groupId, state: '', members: 0, error: describeError(err) });
      }
    });
    await Promise.all(
      [...byCoordinator].flatMap(([address, ids]) => {
        const coordinator = this.lastMetadata?.brokers.find((b) => addressOf(b) === address)?.nodeId;
        const at = coordinator === undefined ? {} : { coordinator };
        const kinds = new Map<DescribeKind, string[]>();
        for (const id of ids) {
          const kind = describeKindOf(this.groupTypes.get(id));
          appendTo(kinds, kind, id);
        }
        return [...kinds].map(async ([kind, kindIds]) => {
          try {
            for (const d of await this.ask(address, (broker) => this.describeKind(broker, kind, kindIds))) {
              if (d.errorCode !== ERR_NONE) {
                if (COORDINATOR_ERRORS.has(d.errorCode)) this.coordinators.delete(d.groupId);
                out.set(d.groupId, { groupId: d.groupId, state: '', members: 0, error: `${kafkaErrorName(d.errorCode)}${d.errorMessage ? ` (${d.errorMessage})` : ''}` });
              } else {
                out.set(d.groupId, { groupId: d.groupId, type: d.type, state: d.state, members: d.memberList.length, memberList: d.memberList, ...at });
              }
            }
          } catch (err) {
            for (const id of kindIds) {
              if (!isVigilError(err) || err.code !== 'KAFKA_API_UNSUPPORTED') this.coordinators.delete(id);
              out.set(id, { groupId: id, state: '', members: 0, error: describeError(err) });
            }
          }
        });
      }),
    );
    return out;
  }

  /** One describe request for groups of one kind on their coordinator, as DescribedGroups with their type. */
  private async describeKind(broker: any, kind: DescribeKind, ids: string[]): Promise<(DescribedGroup & { type: GroupType; memberList: GroupMember[] })[]> {
    if (kind === 'classic') {
      return (await this.connections.send(broker, describeGroupsRequest(ids))).map((g) => {
        const listed = this.groupTypes.get(g.groupId);
        const type: GroupType = listed === 'simple' || listed === 'classic' ? listed : g.protocolType === '' ? 'simple' : 'classic';
        const consumer = g.protocolType === 'consumer';
        const memberList = g.memberDetails.map(({ assignment, ...m }) => ({ ...m, assignment: consumer ? decodeConsumerAssignment(assignment) : null }));
        return { errorCode: g.errorCode, errorMessage: null, groupId: g.groupId, state: g.state, members: memberList, type, memberList };
      });
    }
    const req = kind === 'consumer' ? consumerGroupDescribeRequest(ids) : kind === 'share' ? shareGroupDescribeRequest(ids) : streamsGroupDescribeRequest(ids);
    return (await this.connections.send(broker, req)).map((g) => ({ ...g, type: kind, memberList: g.members }));
  }

  async pingBrokers(brokers: readonly BrokerInfo[], timeoutMs: number): Promise<Map<number, BrokerPing>> {
    // from now on a request that waits longer than this gets its broker pinged (SilenceWatch)
    this.silence.deadlineMs = timeoutMs;
    const out = new Map<number, BrokerPing>();
    await Promise.all(
      brokers.map(async (b) => {
        const address = addressOf(b);
        const sentAtMs = Date.now();
        const error = await this.pingOne(this.connections, address, timeoutMs);
        if (error !== null) this.markUnanswered(address, error, sentAtMs);
        out.set(b.nodeId, this.standingOf(address));
      }),
    );
    return out;
  }

  brokerStanding(brokers: readonly BrokerInfo[]): Map<number, BrokerPing> {
    return new Map(brokers.map((b) => [b.nodeId, this.standingOf(addressOf(b))]));
  }

  takeAnswerTimes(brokers: readonly BrokerInfo[]): Map<number, AnswerTimes> {
    const byAddress = this.answers.cycle();
    const out = new Map<number, AnswerTimes>();
    for (const b of brokers) {
      const times = byAddress.get(addressOf(b));
      if (times !== undefined) out.set(b.nodeId, times);
    }
    return out;
  }

  private standingOf(address: string): BrokerPing {
    const silent = this.unanswered.get(address);
    return silent === undefined ? { ok: true } : { ok: false, error: silent.why, silentSinceMs: silent.sinceMs };
  }

  /** A failed ping or a silence: the earliest known start of the silence is kept until a ping succeeds. */
  private markUnanswered(address: string, why: string, sinceMs: number): void {
    const before = this.unanswered.get(address);
    this.unanswered.set(address, { why, sinceMs: Math.min(sinceMs, before?.sinceMs ?? sinceMs) });
  }

  /**
   * One ping: a Metadata for no topics within `timeoutMs`; null when answered (the broker is
   * asked again from then on), else why not (its connection is dropped: on a hung broker it is
   * useless, and the next ping must open a fresh one).
   */
  private async pingOne(connections: KafkaConnections, address: string, timeoutMs: number): Promise<string | null> {
    try {
      await withinMs(timeoutMs, async () => {
        const broker = await connections.connect(address);
        await this.answers.time(address, () => connections.send(broker, { ...METADATA_NO_TOPICS, requestTimeoutMs: timeoutMs }));
      });
      this.unanswered.delete(address);
      return null;
    } catch (err) {
      await connections.drop(address);
      return describeError(err);
    }
  }

  /**
   * The broker at `address`, connected, unless it failed its latest ping: then this fails at
   * once, as a refused connection would, instead of waiting for a broker that did not answer
   * a ping to answer a larger request.
   */
  private async connect(address: string): Promise<any> {
    const silent = this.unanswered.get(address);
    if (silent !== undefined) {
      throw new VigilError('KAFKA_UNREACHABLE', `not asked: the broker at ${address} did not answer its last ping (${silent.why}); it is asked again once it answers one`, { retriable: true });
    }
    return this.connections.connect(address);
  }

  /** `request` sent to the broker at `address` (see connect), abandoned if it falls silent under it. */
  private ask<T>(address: string, request: (broker: any) => Promise<T>): Promise<T> {
    return this.silence.run(address, async () => {
      const broker = await this.connect(address);
      return this.answers.time(address, () => request(broker));
    });
  }

  // ---- the KRaft controller quorum ------------------------------------------------------

  async describeQuorum(brokers: readonly BrokerInfo[], timeoutMs: number): Promise<ControllerQuorum> {
    const req = describeQuorumRequest(timeoutMs);
    const failures: string[] = [];
    for (const b of brokers) {
      const address = addressOf(b);
      const silent = this.unanswered.get(address);
      if (silent !== undefined) {
        failures.push(`${address}: not asked, it did not answer its last ping (${silent.why})`);
        continue;
      }
      try {
        return await withinMs(timeoutMs, async (): Promise<ControllerQuorum> => {
          const broker = await this.quorumConnections.connect(address);
          const n = negotiateVersion(req.versions, brokerVersions(broker, req.apiKey));
          if (!n.ok && n.why === 'absent') {
            return {
              state: 'unobservable',
              cause: 'not-kraft',
              reason: `the broker at ${address} does not offer DescribeQuorum (API 55): the cluster runs in ZooKeeper mode or on Kafka older than 3.0, so there is no KRaft controller quorum to watch`,
            };
          }
          if (!n.ok) return { state: 'unobservable', cause: 'version-unsupported', reason: unsupportedApiError(req, address, n).message };
          return this.quorumConnections.send(broker, req);
        });
      } catch (err) {
        // The broker may still hold the request (waiting for a controller): the next one
        // goes out on a fresh connection rather than queue behind it.
        await this.quorumConnections.drop(address);
        failures.push(`${address}: ${describeError(err)}`);
        // A broker that went away since its ping: ask the next. Anything else (a timeout, an
        // error) is the quorum's answer, and another broker would only repeat it later.
        if (!isConnectionLost(err)) break;
      }
    }
    return { state: 'unanswered', error: failures.length > 0 ? `DescribeQuorum failed: ${failures.join('; ')}` : 'no broker to send DescribeQuorum to' };
  }

  async topicMinIsr(topics: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (topics.length === 0) return out;
    const { address, broker } = await this.connections.connectAny(this.lastMetadata?.brokers.map(addressOf), this.unanswered);
    try {
      for (const r of await this.silence.run(address, () => this.answers.time(address, () => this.connections.send(broker, describeTopicConfigsRequest(topics, ['min.insync.replicas']))))) {
        const value = r.errorCode === ERR_NONE ? Number(r.configs.get('min.insync.replicas')) : NaN;
        if (Number.isInteger(value) && value > 0) out.set(r.name, value);
      }
    } catch (err) {
      if (isConnectionError(err)) await this.connections.drop(address);
      throw new VigilError('KAFKA_REQUEST_FAILED', `DescribeConfigs failed on ${address}: ${describeError(err)}`, { retriable: true, cause: err });
    }
    return out;
  }

  async committedOffsets(groupIds: readonly string[]): Promise<Map<string, GroupOffsetsResult>> {
    const out = new Map<string, GroupOffsetsResult>();
    await forEachLimited(groupIds, GROUP_CONCURRENCY, async (groupId) => {
      out.set(groupId, await this.groupOffsets(groupId));
    });
    return out;
  }

  private async groupOffsets(groupId: string): Promise<GroupOffsetsResult> {
    const share = this.groupTypes.get(groupId) === 'share';
    let lastError = '';
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const address = await this.coordinatorOf(groupId, attempt > 0);
        const res = share
          ? await this.ask(address, (broker) => this.connections.send(broker, describeShareGroupOffsetsRequest(groupId)))
          : await this.ask(address, (broker) => this.connections.send(broker, offsetFetchRequest(groupId)));
        if (res.errorCode !== ERR_NONE) {
          lastError = kafkaErrorName(res.errorCode);
          if (COORDINATOR_ERRORS.has(res.errorCode)) {
            this.coordinators.delete(groupId);
            continue;
          }
          return { error: 'errorMessage' in res && res.errorMessage ? `${lastError} (${res.errorMessage})` : lastError };
        }
        if ('partitionErrors' in res && res.partitionErrors.length > 0) {
          const failed = res.partitionErrors.map((p) => `${p.topic}-${p.partition}: ${kafkaErrorName(p.errorCode)}${p.errorMessage ? ` (${p.errorMessage})` : ''}`);
          // the partitions answered still count; the others are missing from the group's rows
          this.logger.debug({ group: groupId, failed }, 'DescribeShareGroupOffsets failed some partitions');
          if (res.offsets.size === 0) return { error: `share start offsets unavailable: ${failed.slice(0, 3).join('; ')}` };
        }
        return { offsets: 'lags' in res ? await this.sharePositions(res.offsets, res.lags) : res.offsets };
      } catch (err) {
        lastError = describeError(err);
        // the broker does not speak the request: asking again gets the same answer
        if (isVigilError(err) && err.code === 'KAFKA_API_UNSUPPORTED') return { error: `share group: ${lastError}` };
        this.coordinators.delete(groupId);
      }
    }
    return { error: lastError };
  }

  /**
   * A share group's position on each partition: the first record not yet delivered for good,
   * as far as Kafka's counts tell — its start offset, or where the broker knows the lag
   * (DescribeShareGroupOffsets v1) the end offset less the lag when that is later: Kafka
   * moves the start offset lazily, and one left behind records already acknowledged would
   * show a caught-up group as behind (and page it). Exact when records are acknowledged in
   * order, the usual case; when later ones are acknowledged first, the oldest record still
   * waiting lies before this position, so its latency is understated. A partition whose end
   * offset cannot be read keeps its start offset.
   */
  private async sharePositions(starts: Map<string, Map<number, number>>, lags: Map<string, Map<number, number>>): Promise<Map<string, Map<number, number>>> {
    const known = [...lags].flatMap(([topic, ps]) => [...ps.keys()].map((partition) => ({ topic, partition })));
    if (known.length === 0) return starts;
    const ends = await this.listOffsets(known, LATEST_TIMESTAMP);
    const out = new Map([...starts].map(([topic, ps]) => [topic, new Map(ps)]));
    for (const e of ends) {
      const start = out.get(e.topic)?.get(e.partition);
      const lag = lags.get(e.topic)?.get(e.partition);
      if (start === undefined || lag === undefined || e.offset === null) continue;
      out.get(e.topic)?.set(e.partition, Math.max(start, e.offset - lag));
    }
    return out;
  }

  private async coordinatorOf(groupId: string, refresh: boolean): Promise<string> {
    const cached = this.coordinators.get(groupId);
    if (cached && !refresh) return cached;
    const { address: via, broker } = await this.connections.connectAny([], this.unanswered);
    const res = await this.silence.run<{ coordinator: BrokerInfo }>(via, () => this.answers.time(via, () => broker.findGroupCoordinator({ groupId, coordinatorType: 0 })));
    // as addressOf spells it, so that it matches the brokers' addresses (and an IPv6 host works)
    const address = addressOf(res.coordinator);
    this.coordinators.set(groupId, address);
    return address;
  }

  // ---- offsets --------------------------------------------------------------------------

  async endOffsets(partitions: readonly TopicPartition[]): Promise<PartitionOffset[]> {
    return this.listOffsets(partitions, LATEST_TIMESTAMP);
  }

  async offsetsForTimestamp(partitions: readonly TopicPartition[], timestampMs: number): Promise<PartitionOffset[]> {
    return this.listOffsets(partitions, timestampMs);
  }

  private async listOffsets(partitions: readonly TopicPartition[], timestamp: number): Promise<PartitionOffset[]> {
    const results = new Map<string, PartitionOffset>();
    let pending: readonly TopicPartition[] = partitions;
    // Two rounds: the second one only for partitions whose leader moved under us.
    for (let round = 0; round < 2 && pending.length > 0; round++) {
      if (round > 0) await this.metadata();
      const md = await this.currentMetadata();
      const retry: TopicPartition[] = [];
      await Promise.all(
        [...byLeader(md, pending)].map(async ([leader, tps]) => {
          if (leader.broker === null) {
            for (const tp of tps) results.set(tpKey(tp.topic, tp.partition), { ...tp, offset: null, error: leader.reason });
            return;
          }
          try {
            const res = await this.ask(addressOf(leader.broker), (broker) => this.connections.send(broker, listOffsetsRequest(tps, timestamp)));
            for (const p of res) {
              const key = tpKey(p.topic, p.partition);
              if (p.errorCode === ERR_NONE) {
                const offset = timestamp >= 0 && p.offset < 0 ? Number.POSITIVE_INFINITY : p.offset;
                results.set(key, { topic: p.topic, partition: p.partition, offset });
              } else {
                if (STALE_LEADER_ERRORS.has(p.errorCode)) retry.push({ topic: p.topic, partition: p.partition });
                results.set(key, { topic: p.topic, partition: p.partition, offset: null, error: kafkaErrorName(p.errorCode) });
              }
            }
          } catch (err) {
            const error = `broker ${leader.broker.nodeId} (${addressOf(leader.broker)}): ${describeError(err)}`;
            if (isConnectionError(err)) await this.connections.drop(addressOf(leader.broker));
            for (const tp of tps) results.set(tpKey(tp.topic, tp.partition), { ...tp, offset: null, error });
          }
        }),
      );
      pending = retry;
    }
    return partitions.map((tp) => results.get(tpKey(tp.topic, tp.partition)) ?? { ...tp, offset: null, error: 'no answer' });
  }

  // ---- record timestamps ----------------------------------------------------------------

  async probeRecords(requests: readonly RecordProbeRequest[]): Promise<Map<string, RecordProbe>> {
    const out = new Map<string, RecordProbe>();
    const md = await this.currentMetadata();
    const unique = dedupeProbes(requests);
    const outOfRange: RecordProbeRequest[] = [];
    const cutShort: RecordProbeRequest[] = [];

    // A Fetch names each partition once, so probes of one partition at several offsets
    // (several groups) go into separate rounds; each round is one request per leader, and
    // a few rounds are in flight at once.
    await forEachLimited(probeRounds(unique), PROBE_ROUNDS_IN_FLIGHT, (round) =>
      this.fetchRound(md, round, PROBE_PARTITION_BYTES, out, outOfRange, cutShort),
    );
    // Batches whose header did not fit the first limit: fetched again with room for a whole
    // batch, in rounds like the first pass.
    await forEachLimited(probeRounds(cutShort), PROBE_ROUNDS_IN_FLIGHT, (round) =>
      this.fetchRound(md, round, PROBE_RETRY_PARTITION_BYTES, out, [], []),
    );
    // A committed offset below the log start (retention deleted the records): the oldest
    // record the group has not consumed is the first one still in the log.
    if (outOfRange.length > 0) {
      const earliest = await this.listOffsets(outOfRange, EARLIEST_TIMESTAMP);
      const again: RecordProbeRequest[] = [];
      earliest.forEach((e, i) => {
        const req = outOfRange[i] as RecordProbeRequest;
        if (e.offset !== null && e.offset > req.offset) again.push({ ...req, offset: e.offset });
        else out.set(probeKey(req.topic, req.partition, req.offset), { kind: 'unknown', reason: e.error ?? 'OFFSET_OUT_OF_RANGE' });
      });
      const resolved = new Map<string, RecordProbe>();
      await this.fetchRound(md, again, PROBE_RETRY_PARTITION_BYTES, resolved, [], []);
      for (const req of outOfRange) {
        const moved = again.find((a) => a.topic === req.topic && a.partition === req.partition);
        if (moved) out.set(probeKey(req.topic, req.partition, req.offset), resolved.get(probeKey(moved.topic, moved.partition, moved.offset)) ?? { kind: 'unknown', reason: 'no answer' });
      }
    }
    return out;
  }

  private async fetchRound(
    md: ClusterMetadata,
    round: readonly RecordProbeRequest[],
    partitionBytes: number,
    out: Map<string, RecordProbe>,
    outOfRange: RecordProbeRequest[],
    cutShort: RecordProbeRequest[],
  ): Promise<void> {
    const byOffset = new Map(round.map((r) => [tpKey(r.topic, r.partition), r]));
    await Promise.all(
      [...byLeader(md, round)].map(async ([leader, tps]) => {
        const reqs = tps.map((tp) => byOffset.get(tpKey(tp.topic, tp.partition)) as RecordProbeRequest);
        if (leader.broker === null) {
          for (const r of reqs) out.set(probeKey(r.topic, r.partition, r.offset), { kind: 'unknown', reason: leader.reason });
          return;
        }
        try {
          const res = await this.ask(addressOf(leader.broker), (broker) => this.connections.send(broker, fetchRequest(reqs, partitionBytes)));
          const answered = new Set<string>();
          for (const p of res) {
            const req = byOffset.get(tpKey(p.topic, p.partition));
            if (!req) continue;
            answered.add(tpKey(p.topic, p.partition));
            const key = probeKey(req.topic, req.partition, req.offset);
            if (p.errorCode === ERR_OFFSET_OUT_OF_RANGE) {
              outOfRange.push(req);
              continue;
            }
            if (p.errorCode !== ERR_NONE) {
              out.set(key, { kind: 'unknown', reason: kafkaErrorName(p.errorCode) });
              continue;
            }
            const retryable = partitionBytes < PROBE_RETRY_PARTITION_BYTES && req.offset < p.highWatermark;
            const probe = probeFetchedRecords(p.records ?? Buffer.alloc(0), req.offset, retryable);
            if (probe === 'fetch-again') {
              cutShort.push(req);
            } else {
              out.set(key, probe);
            }
          }
          for (const r of reqs) {
            if (!answered.has(tpKey(r.topic, r.partition))) out.set(probeKey(r.topic, r.partition, r.offset), { kind: 'unknown', reason: 'partition missing from the Fetch response' });
          }
        } catch (err) {
          if (isConnectionError(err)) await this.connections.drop(addressOf(leader.broker));
          const reason = `broker ${leader.broker.nodeId} (${addressOf(leader.broker)}): ${describeError(err)}`;
          for (const r of reqs) out.set(probeKey(r.topic, r.partition, r.offset), { kind: 'unknown', reason });
        }
      }),
    );
  }

  async close(): Promise<void> {
    this.silence.close();
    await Promise.all([this.connections.close(), this.quorumConnections.close(), this.pingConnections.close()]);
  }
}

/**
 * One partition's probe from its Fetch data; 'fetch-again' when `retryable` and the data was
 * cut short (or empty) before the answer. Bytes that are not a record batch make this
 * partition's timestamp unknown, with the reason — never the other partitions of the Fetch,
 * and never a second Fetch, since the same bytes would come back.
 */
export function probeFetchedRecords(records: Buffer, offset: number, retryable: boolean): RecordProbe | 'fetch-again' {
  let probe: RecordProbe;
  try {
    probe = probeRecordSet(records, offset, retryable ? 'unknown' : 'interpolate');
  } catch (err) {
    if (err instanceof MalformedRecordBatchError) return { kind: 'unknown', reason: err.message };
    throw err;
  }
  return probe.kind === 'unknown' && retryable ? 'fetch-again' : probe;
}

// ---- grouping helpers ---------------------------------------------------------------------

/** Which describe request a group needs: DescribeGroups for classic and simple groups, and groups never listed. */
type DescribeKind = 'classic' | 'consumer' | 'share' | 'streams';

function describeKindOf(type: GroupType | { unknown: string } | undefined): DescribeKind {
  return type === 'consumer' || type === 'share' || type === 'streams' ? type : 'classic';
}

type Leader = { broker: BrokerInfo; reason?: undefined } | { broker: null; reason: string };

/** Partitions grouped by their leader broker per metadata; leaderless ones under a null key. */
function byLeader<T extends TopicPartition>(md: ClusterMetadata, tps: readonly T[]): Map<Leader, T[]> {
  const brokers = new Map(md.brokers.map((b) => [b.nodeId, b]));
  const topics = new Map(md.topics.map((t) => [t.topic, new Map(t.partitions.map((p) => [p.partition, p]))]));
  const leaders = new Map<number | string, Leader>();
  const groups = new Map<Leader, T[]>();
  for (const tp of tps) {
    const p = topics.get(tp.topic)?.get(tp.partition);
    let key: number | string;
    let make: () => Leader;
    if (!p) {
      key = 'unknown';
      make = () => ({ broker: null, reason: 'UNKNOWN_TOPIC_OR_PARTITION' });
    } else if (p.leader < 0) {
      key = 'offline';
      make = () => ({ broker: null, reason: 'partition offline (no leader)' });
    } else if (!brokers.has(p.leader)) {
      key = `missing-${p.leader}`;
      make = () => ({ broker: null, reason: `leader ${p.leader} is not among the live brokers` });
    } else {
      key = p.leader;
      make = () => ({ broker: brokers.get(p.leader) as BrokerInfo });
    }
    let leader = leaders.get(key);
    if (!leader) {
      leader = make();
      leaders.set(key, leader);
      groups.set(leader, []);
    }
    (groups.get(leader) as T[]).push(tp);
  }
  return groups;
}

function dedupeProbes(requests: readonly RecordProbeRequest[]): RecordProbeRequest[] {
  const seen = new Map<string, RecordProbeRequest>();
  for (const r of requests) seen.set(probeKey(r.topic, r.partition, r.offset), r);
  return [...seen.values()];
}

/** Splits probes into rounds in which every partition appears at most once. */
function probeRounds(requests: readonly RecordProbeRequest[]): RecordProbeRequest[][] {
  const rounds: RecordProbeRequest[][] = [];
  const depth = new Map<string, number>();
  for (const r of requests) {
    const key = tpKey(r.topic, r.partition);
    const i = depth.get(key) ?? 0;
    depth.set(key, i + 1);
    (rounds[i] ??= []).push(r);
  }
  return rounds;
}

/** Runs `fn`, failing with "no answer within N ms" at the deadline (it may still be pending then). */
async function withinMs<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([fn(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The connection broke or never opened (not a timeout, not an error answer). */
function isConnectionLost(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? '';
  return name === 'KafkaJSConnectionError' || name === 'KafkaJSConnectionClosedError';
}

export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

/** A broker's host:port, IPv6 hosts in brackets. */
export function addressOf(b: { readonly host: string; readonly port: number }): string {
  return b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`;
}

function groupByTopic<T extends TopicPartition>(tps: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const tp of tps) {
    let list = m.get(tp.topic);
    if (!list) m.set(tp.topic, (list = []));
    list.push(tp);
  }
  return m;
}

// ---- requests -----------------------------------------------------------------------------
// Each declares the versions it encodes and decodes, checked field by field against Kafka's
// message schemas; the version sent is the highest the broker also speaks (kafkajs-wire.ts
// negotiateVersion). docs/design.md §9.1 tabulates them.

/** A Metadata answer as the broker sent it: every topic with its error code. */
export interface RawMetadata {
  readonly clusterId: string | null;
  /** -1 when the broker names none */
  readonly controllerId: number;
  readonly brokers: BrokerInfo[];
  readonly topics: (TopicInfo & { readonly errorCode: number; /** v8+ */ readonly authorizedOperations?: number })[];
  /** v8–v10 */
  readonly clusterAuthorizedOperations?: number;
}

/**
 * Metadata v5–v12 (flexible from v9): `null` asks for every topic (the principal may
 * DESCRIBE), names ask for those (each answered with its own error code), `[]` for brokers
 * only; never auto-creates. With `authorizedOperations` (for `vigil doctor`), v8–v10: the
 * versions that answer the cluster's authorized operations as well as the topics' (v11
 * moved the cluster's to DescribeCluster).
 *
 * v5 adds offline replicas, v7 each partition's leader epoch, v8 the authorized operations,
 * v10 topic ids (a request by name sends the zero id), v12 a nullable topic name (null only
 * for a topic asked for by id, which vigil never does).
 */
export function metadataRequest(topics: readonly string[] | null, authorizedOperations = false): RawRequest<RawMetadata> {
  return {
    apiKey: API_KEYS.Metadata as number,
    apiName: 'Metadata',
    versions: authorizedOperations ? { min: 8, max: 10 } : { min: 5, max: 12 },
    flexibleFrom: 9,
    encode: (w) => {
      w.array(topics, (w, name) => {
        if (w.version >= 10) w.zeroUuid();
        w.string(name).tags();
      });
      w.bool(false); // allow auto topic creation
      if (w.version >= 8) {
        if (w.version <= 10) w.bool(authorizedOperations); // the cluster's
        w.bool(authorizedOperations); // each topic's
      }
      w.tags();
    },
    decode: readMetadata,
  };
}

function readMetadata(r: WireReader): RawMetadata {
  const v = r.version;
  r.int32(); // throttle
  const brokers = r.array((b) => {
    const broker = { nodeId: b.int32(), host: b.string() ?? '', port: b.int32(), rack: b.string() };
    b.tags();
    return broker;
  });
  const clusterId = r.string();
  const controllerId = r.int32();
  const topics = r.array((t) => {
    const errorCode = t.int16();
    const topic = t.string() ?? '';
    if (v >= 10) t.uuid(); // topic id
    const isInternal = t.bool();
    const partitions = t.array((p) => {
      p.int16(); // partition error: LEADER_NOT_AVAILABLE for offline partitions; leader -1 says it
      const partition = p.int32();
      const leader = p.int32();
      if (v >= 7) p.int32(); // leader epoch
      const part = { partition, leader, replicas: p.int32s(), isr: p.int32s(), offlineReplicas: p.int32s() };
      p.tags();
      return part;
    });
    partitions.sort((a, b) => a.partition - b.partition);
    const authorizedOperations = v >= 8 ? t.int32() : undefined;
    t.tags();
    return authorizedOperations === undefined ? { errorCode, topic, isInternal, partitions } : { errorCode, topic, isInternal, partitions, authorizedOperations };
  });
  const clusterAuthorizedOperations = v >= 8 && v <= 10 ? r.int32() : undefined;
  r.tags();
  brokers.sort((a, b) => a.nodeId - b.nodeId);
  return clusterAuthorizedOperations === undefined ? { clusterId, controllerId, brokers, topics } : { clusterId, controllerId, brokers, topics, clusterAuthorizedOperations };
}

/** A Metadata answer as ClusterMetadata: topics the broker answered without an error. */
export function clusterMetadataOf(md: RawMetadata): ClusterMetadata {
  return {
    clusterId: md.clusterId,
    controllerId: md.controllerId >= 0 ? md.controllerId : null,
    brokers: md.brokers,
    topics: md.topics.filter((t) => t.errorCode === ERR_NONE).map(({ errorCode: _e, authorizedOperations: _o, ...t }) => t),
  };
}

/** Metadata for all topics, partition errors kept per partition. */
export const CLUSTER_METADATA: RawRequest<ClusterMetadata> = {
  ...metadataRequest(null),
  decode: (r) => clusterMetadataOf(readMetadata(r)),
};

/** Metadata for no topics: the cheapest request a broker must answer (liveness ping). */
const METADATA_NO_TOPICS = metadataRequest([]);

/**
 * DescribeGroups v1–v5 (v3 adds authorized operations, v4 each member's group instance id,
 * v5 is flexible): state and members per group — each member's id, client id, host and
 * raw assignment (a consumer's decodes with decodeConsumerAssignment); their protocol
 * metadata (a consumer's subscription) is kept as raw bytes for `vigil doctor`, which
 * reads the topics a group subscribes to (src/doctor/kafka-probe.ts).
 */
export function describeGroupsRequest(groupIds: readonly string[]) {
  return {
    apiKey: API_KEYS.DescribeGroups as number,
    apiName: 'DescribeGroups',
    versions: { min: 1, max: 5 },
    flexibleFrom: 5,
    encode: (w: WireWriter) => {
      w.array(groupIds, (w, g) => w.string(g));
      if (w.version >= 3) w.bool(false); // include authorized operations
      w.tags();
    },
    decode: (r: WireReader) => {
      r.int32(); // throttle
      const groups = r.array((g) => {
        const errorCode = g.int16();
        const groupId = g.string() ?? '';
        const state = g.string() ?? '';
        const protocolType = g.string() ?? '';
        g.string(); // protocol
        const memberDetails = g.array((m) => {
          const memberId = m.string() ?? '';
          const instanceId = m.version >= 4 ? m.string() : null;
          const clientId = m.string() ?? '';
          const host = m.string() ?? '';
          const metadata = m.bytes();
          const assignment = m.bytes();
          m.tags();
          return { memberId, instanceId, clientId, host, metadata, assignment };
        });
        if (g.version >= 3) g.int32(); // authorized operations
        g.tags();
        const memberMetadata = memberDetails.map((m) => m.metadata);
        return { errorCode, groupId, state, protocolType, members: memberDetails.length, memberMetadata, memberDetails: memberDetails.map(({ metadata: _m, ...rest }) => rest) };
      });
      r.tags();
      return groups;
    },
  } satisfies RawRequest<unknown>;
}

const RESOURCE_TOPIC = 2;

/**
 * DescribeConfigs v1–v4 for the named configs of each topic (v1 adds config sources and
 * synonyms, v3 each config's type and documentation, v4 is flexible).
 */
export function describeTopicConfigsRequest(topics: readonly string[], names: readonly string[]) {
  return {
    apiKey: API_KEYS.DescribeConfigs as number,
    apiName: 'DescribeConfigs',
    versions: { min: 1, max: 4 },
    flexibleFrom: 4,
    encode: (w: WireWriter) => {
      w.array(topics, (w, t) => w.int8(RESOURCE_TOPIC).string(t).array(names, (w, n) => w.string(n)).tags());
      w.bool(false); // include synonyms
      if (w.version >= 3) w.bool(false); // include documentation
      w.tags();
    },
    decode: (r: WireReader) => {
      r.int32(); // throttle
      const results = r.array((x) => {
        const errorCode = x.int16();
        x.string(); // error message
        x.int8(); // resource type
        const name = x.string() ?? '';
        const configs = new Map<string, string | null>();
        x.array((c) => {
          const key = c.string() ?? '';
          const value = c.string();
          c.bool(); // read only
          c.int8(); // source
          c.bool(); // sensitive
          c.array((s) => {
            s.string(); // name
            s.string(); // value
            s.int8(); // source
            s.tags();
          });
          if (c.version >= 3) {
            c.int8(); // config type
            c.string(); // documentation
          }
          c.tags();
          configs.set(key, value);
        });
        x.tags();
        return { errorCode, name, configs };
      });
      r.tags();
      return results;
    },
  } satisfies RawRequest<unknown>;
}

interface OffsetFetchResult {
  errorCode: number;
  offsets: Map<string, Map<number, number>>;
}

/**
 * OffsetFetch v3–v9 for all of a group's committed partitions (topics = null). v5 adds each
 * partition's leader epoch, v6 is flexible, v7 adds require_stable (sent false: the answer
 * does not wait for open transactions' offsets), v8 batches groups (one is sent), v9 names
 * the member (none: an admin read, which the broker does not check against a member).
 */
export function offsetFetchRequest(groupId: string) {
  return {
    apiKey: API_KEYS.OffsetFetch as number,
    apiName: 'OffsetFetch',
    versions: { min: 3, max: 9 },
    flexibleFrom: 6,
    encode: (w: WireWriter) => {
      if (w.version >= 8) {
        w.array([groupId], (w, g) => {
          w.string(g);
          if (w.version >= 9) w.string(null).int32(-1); // member id, member epoch
          w.array(null, () => undefined).tags(); // every topic
        });
      } else {
        w.string(groupId).array(null, () => undefined);
      }
      if (w.version >= 7) w.bool(false); // require stable
      w.tags();
    },
    decode: (r: WireReader): OffsetFetchResult => {
      r.int32(); // throttle
      if (r.version < 8) {
        const offsets = readOffsetFetchTopics(r);
        const errorCode = r.int16();
        r.tags();
        return { errorCode, offsets };
      }
      let answer: OffsetFetchResult | null = null;
      r.array((g) => {
        const id = g.string();
        const offsets = readOffsetFetchTopics(g);
        const errorCode = g.int16();
        g.tags();
        if (id === groupId) answer = { errorCode, offsets };
      });
      r.tags();
      if (answer === null) throw new VigilError('KAFKA_REQUEST_FAILED', `OffsetFetch answered without the group ${groupId} it asked for`, { retriable: true });
      return answer;
    },
  } satisfies RawRequest<unknown>;
}

/** OffsetFetch's topics of one group: the committed offsets (>= 0, without a partition error). */
function readOffsetFetchTopics(r: WireReader): Map<string, Map<number, number>> {
  const offsets = new Map<string, Map<number, number>>();
  r.array((t) => {
    const topic = t.string() ?? '';
    const m = new Map<number, number>();
    t.array((p) => {
      const partition = p.int32();
      const offset = p.int64();
      if (p.version >= 5) p.int32(); // leader epoch
      p.string(); // metadata
      const errorCode = p.int16();
      p.tags();
      if (errorCode === ERR_NONE && offset >= 0) m.set(partition, offset);
    });
    t.tags();
    if (m.size > 0) offsets.set(topic, m);
  });
  return offsets;
}

/**
 * ListOffsets v2–v10 (read_uncommitted): one timestamp for all the given partitions. v4
 * adds the current leader epoch (sent -1: not checked) and the found offset's epoch, v6 is
 * flexible, v10 adds a timeout for offsets read from remote (tiered) storage.
 */
export function listOffsetsRequest(tps: readonly TopicPartition[], timestamp: number, remoteTimeoutMs = DEFAULT_REMOTE_TIMEOUT_MS) {
  return {
    apiKey: API_KEYS.ListOffsets as number,
    apiName: 'ListOffsets',
    versions: { min: 2, max: 10 },
    flexibleFrom: 6,
    encode: (w: WireWriter) => {
      w.int32(-1).int8(READ_UNCOMMITTED); // replica id: a consumer
      w.array([...groupByTopic(tps)], (w, [topic, ps]) => {
        w.string(topic);
        w.array(ps, (w, p) => {
          w.int32(p.partition);
          if (w.version >= 4) w.int32(-1); // current leader epoch
          w.int64(timestamp).tags();
        });
        w.tags();
      });
      if (w.version >= 10) w.int32(remoteTimeoutMs);
      w.tags();
    },
    decode: (r: WireReader) => {
      r.int32(); // throttle
      const out = readTopicPartitions(r, (p, topic) => {
        const partition = p.int32();
        const errorCode = p.int16();
        p.int64(); // timestamp of the found record
        const offset = p.int64();
        if (p.version >= 4) p.int32(); // leader epoch
        return { topic, partition, errorCode, offset };
      });
      r.tags();
      return out;
    },
  } satisfies RawRequest<unknown>;
}

/** Topics with their partitions, as `read` reads one (tags after it skipped), flattened: ListOffsets' and Fetch's answers. */
function readTopicPartitions<T>(r: WireReader, read: (p: WireReader, topic: string) => T): T[] {
  return r
    .array((t) => {
      const topic = t.string() ?? '';
      const partitions = t.array((p) => {
        const out = read(p, topic);
        p.tags();
        return out;
      });
      t.tags();
      return partitions;
    })
    .flat();
}

/** ListOffsets v10+: how long the broker may wait for an offset in remote storage. */
const DEFAULT_REMOTE_TIMEOUT_MS = 30_000;

/**
 * How long a Fetch may wait at the broker for `minBytes` of records to arrive (a long poll:
 * it answers as soon as they do, else at `maxWaitMs` with what there is).
 */
export interface FetchWait {
  readonly maxWaitMs: number;
  readonly minBytes: number;
}

const ANSWER_AT_ONCE: FetchWait = { maxWaitMs: 0, minBytes: 0 };

/** A Fetch's isolation level: read_committed answers up to the last stable offset. */
export type IsolationLevel = 'read_uncommitted' | 'read_committed';

/**
 * Fetch v4–v12 returning each partition's raw record bytes (decoded by record-batch.ts), its
 * last stable offset and, under read_committed, the aborted transactions that overlap the
 * answer (filtered by read-committed.ts). Sessionless (session id 0, epoch -1: a full fetch).
 * v5 adds log start offsets, v7 fetch sessions and a top-level error, v9 the current leader
 * epoch (sent -1: not checked), v11 the rack and a preferred read replica (with no rack
 * sent the leader answers), v12 is flexible. v13 names topics by id only, which vigil
 * does not track: not spoken.
 */
export function fetchRequest(reqs: readonly RecordProbeRequest[], partitionBytes: number, isolation: IsolationLevel = 'read_uncommitted', wait: FetchWait = ANSWER_AT_ONCE) {
  return {
    apiKey: API_KEYS.Fetch as number,
    apiName: 'Fetch',
    versions: { min: 4, max: 12 },
    flexibleFrom: 12,
    encode: (w: WireWriter) => {
      w.int32(-1) // replica id: a consumer
        .int32(wait.maxWaitMs)
        .int32(wait.minBytes)
        .int32(Math.min(MAX_FETCH_RESPONSE_BYTES, Math.max(partitionBytes, partitionBytes * reqs.length)))
        .int8(isolation === 'read_committed' ? READ_COMMITTED : READ_UNCOMMITTED);
      if (w.version >= 7) w.int32(0).int32(-1); // no fetch session: id 0, epoch -1
      w.array([...groupByTopic(reqs)], (w, [topic, ps]) => {
        w.string(topic);
        w.array(ps, (w, p) => {
          w.int32(p.partition);
          if (w.version >= 9) w.int32(-1); // current leader epoch
          w.int64(p.offset);
          if (w.version >= 12) w.int32(-1); // last fetched epoch
          if (w.version >= 5) w.int64(-1); // log start offset (a follower's)
          w.int32(partitionBytes).tags();
        });
        w.tags();
      });
      if (w.version >= 7) w.array([], () => undefined); // forgotten topics
      if (w.version >= 11) w.string(''); // rack
      w.tags();
    },
    decode: (r: WireReader) => {
      r.int32(); // throttle
      if (r.version >= 7) {
        const errorCode = r.int16();
        r.int32(); // session id
        if (errorCode !== ERR_NONE) {
          const name = kafkaErrorName(errorCode);
          throw new VigilError('KAFKA_REQUEST_REFUSED', `Fetch refused by the broker: ${name}`, { retriable: true, context: { api: 'Fetch', error: name } });
        }
      }
      const out = readTopicPartitions(r, (p, topic) => {
        const partition = p.int32();
        const errorCode = p.int16();
        const highWatermark = p.int64();
        const lastStableOffset = p.int64();
        const logStartOffset = p.version >= 5 ? p.int64() : -1;
        // a null array (read as empty) unless read_committed
        const abortedTransactions: AbortedTransaction[] = p.array((a) => {
          const aborted = { producerId: a.int64(), firstOffset: a.int64() };
          a.tags();
          return aborted;
        });
        if (p.version >= 11) p.int32(); // preferred read replica
        const records = p.bytes();
        return { topic, partition, errorCode, highWatermark, lastStableOffset, logStartOffset, abortedTransactions, records };
      });
      r.tags();
      return out;
    },
  } satisfies RawRequest<unknown>;
}
