/**
 * observe (docs/design.md §1): reads the Kafka cluster through the KafkaAdmin port into one
 * KafkaSnapshot. Everything is batched (see src/kafka/kafkajs-admin.ts), so the cost of a
 * cycle grows with brokers and groups, not with partitions × groups in requests:
 *
 *   liveness ping 1 per broker, first · Metadata 1 · ListGroups 1 per broker · DescribeGroups and
 *   OffsetFetch 1 per group · ListOffsets latest 1 per leader · ListOffsets by timestamp
 *   1 per leader per distinct threshold (and resolveBelow) value · Fetch 1 per leader for
 *   the few partitions whose reported seconds need an exact record timestamp.
 *   DescribeQuorum 1 (the KRaft controller quorum, on a connection of its own).
 *   DescribeConfigs (min.insync.replicas) 1 per minute.
 *
 * The pings go first, and a broker that fails its ping is asked nothing else this cycle
 * (KafkaAdmin.pingBrokers): a hung broker — connections accepted, nothing answered — would
 * hold each request for kafka.requestTimeout; this way it costs the cycle the ping deadline.
 * One that hangs later in the cycle, under requests already sent, costs it at most twice
 * the deadline: the port pings it again and abandons its requests, and the snapshot reports
 * it unreachable (KafkaAdmin.brokerStanding) since the oldest request it left unanswered.
 * What it leads, coordinates or would have listed is then handled as for a dead broker.
 *
 * The rows where a group is behind go through the delivery-latency pipeline
 * (delivery-latency.ts, shared with `vigil lag`): the exact test per partition against
 * ListOffsets(now − threshold), and reported seconds from the end-offset history
 * (history.ts), probed where a row in or near breach has too coarse a history. Breach
 * decisions never use the estimate where the exact test could run.
 */
import type { VigilConfig } from '../config/types';
import { lagRuleFor } from '../config/lag-rule';
import { describeError } from '../errors';
import type { BrokerInfo, BrokerPing, ClusterMetadata, ControllerQuorum, GroupDescription, GroupListing, GroupMember, GroupOffsets, GroupOffsetsResult, KafkaAdmin, TopicPartitions } from '../kafka/types';
import type { Clock } from '../util/clock';
import { type NameFilter, nameFilter } from '../util/glob';
import { TimeSlices } from '../util/slices';
import { DeliveryLatency, type LaggingRow, PartitionIndex, type RowLatency } from './delivery-latency';
import { EndOffsetHistory } from './history';
import type { GroupTopicRule } from './findings';
import type { BrokerState, CanaryState, GroupPartitionLag, GroupState, KafkaSnapshot, PartitionState } from './snapshot';

export interface ObserverOptions {
  readonly lag: VigilConfig['lag'];
  readonly groups: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  readonly topics: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  /** the ping deadline for each broker; a broker slower than this counts as unreachable */
  readonly brokerPingTimeoutMs: number;
  /**
   * DescribeQuorum's deadline (default brokerPingTimeoutMs): a quorum that cannot answer
   * within it is reported unanswered, which detect pages as ControllerQuorumLeaderless
   */
  readonly quorumTimeoutMs?: number;
  /**
   * groups described each cycle besides those that must be (default 1,000; docs/design.md
   * §3.9): the rest keep their last description, the longest undescribed first next time
   */
  readonly describeBudget?: number;
  /** at most this many exact record probes per cycle (the rest keep the history estimate) */
  readonly maxProbesPerCycle?: number;
  /** rows that may breach within this long get their breach instant made exact (DeliveryLatencyOptions.scheduleAheadMs) */
  readonly scheduleAheadMs?: number;
  /** how often topic min.insync.replicas is re-read */
  readonly configRefreshMs?: number;
  /** the canary's latest per-broker results (docs/design.md §3), or absent when it is disabled */
  readonly canaryStates?: () => readonly CanaryState[];
  /**
   * Committed offsets streamed from `__consumer_offsets` (monitor.offsetsSource: stream;
   * docs/design.md §3.6): a group it vouches for is not asked with OffsetFetch. Absent: poll.
   */
  readonly commits?: CommitSource;
}

/** What the observer asks of the commit stream (src/monitor/commit-stream.ts). */
export interface CommitSource {
  /**
   * the group's offsets, or null when the stream cannot vouch for them now (poll it). What it
   * answers never changes afterwards (a later commit gives a new map): the observer reuses
   * rows built from a map while it gets the same one back.
   */
  committed(groupId: string): GroupOffsets | null;
  /** why the stream may not read the topic, while it may not; else null */
  denied?(): string | null;
}

const DEFAULT_MAX_PROBES = 2_000;
/**
 * Groups described a cycle besides those that must be (new, state changed, behind, last
 * description failed): up to this many, the longest undescribed first. Up to 1,000 groups
 * every group is described every cycle; at 10,000, each at least every 10 cycles.
 */
const DEFAULT_DESCRIBE_BUDGET = 1_000;
const DEFAULT_CONFIG_REFRESH_MS = 60_000;
/** Kafka's default when a topic does not set min.insync.replicas and it cannot be read */
const DEFAULT_MIN_ISR = 1;
/** committed offsets last seen stand in for an unreachable coordinator's this long */
const STALE_COMMITS_MAX_AGE_MS = 10 * 60_000;

export class KafkaObserver {
  readonly history = new EndOffsetHistory();
  private readonly groupFilter: NameFilter;
  private readonly topicFilter: NameFilter;
  /** brokers seen in any metadata: a broker that leaves the metadata is still reported */
  private readonly knownBrokers = new Map<number, BrokerInfo>();
  /** the brokers of the last metadata a follower's warm cycle read: its next one pings them first */
  private warmBrokers: readonly BrokerInfo[] = [];
  private readonly unreachableSince = new Map<number, number>();
  /** groups listed in any cycle and not since deleted */
  private readonly knownGroups = new Set<string>();
  /** knownGroups sorted, until it changes */
  private sortedGroups: readonly string[] | null = null;
  /** each group's coordinator as last described (it is down exactly when it cannot say) */
  private readonly lastCoordinator = new Map<string, number>();
  /** each group's committed offsets as last read, for when its coordinator is down */
  private readonly lastCommitted = new Map<string, { offsets: GroupOffsets; atMs: number }>();
  /**
   * Each group's last description, oldest first (a group described again moves to the end):
   * its type and members stand until it is described again (describe()).
   */
  private readonly descriptions = new Map<string, GroupDescription>();
  /**
   * Each group as last listed: the cycle (listCycle) and its state then (ListGroups v4+,
   * Kafka 2.6+). Updated in place, not rebuilt each cycle (10,000 groups; docs/design.md §3.9):
   * a group is listed this cycle when its entry's cycle is this one (listedState, isListed).
   */
  private readonly listings = new Map<string, { cycle: number; state: string | undefined }>();
  private listCycle = 0;
  /** groups with rows behind last cycle: described every cycle (their members are on the page) */
  private behindGroups: ReadonlySet<string> = new Set();
  /** each distinct lag rule once (its figures as the key), and each one's key (ruleFor) */
  private readonly rules = new Map<string, GroupTopicRule>();
  private readonly ruleKeys = new Map<GroupTopicRule, string>();
  /** rule maps shared by the groups with the same topics under the same rules (rulesFor) */
  private readonly sharedRules = new Map<string, ReadonlyMap<string, GroupTopicRule>>();
  /** each group's rules by topic, kept while its topics stay the same (rulesFor) */
  private readonly groupRules = new Map<string, ReadonlyMap<string, GroupTopicRule>>();
  /**
   * A group's rows when all were caught up and clean, with the offsets and rules they were
   * built from: the next cycle reuses them while those stay the same objects (the commit
   * stream hands out the same maps until the group commits again) and every end offset is
   * where it was — an idle group costs no new rows (groupState).
   */
  private readonly caughtUpRows = new Map<string, CaughtUpGroup>();
  /** the watched topics and their partition counts the cached rows were built with */
  private rowsLayout = '';
  /** the quorum's leader as last described: asked first, it answers without forwarding */
  private quorumLeader: number | null = null;
  private minIsr = new Map<string, number>();
  private minIsrReadAtMs = Number.NEGATIVE_INFINITY;
  private readonly latency: DeliveryLatency;
  private readonly configRefreshMs: number;
  /** how long each phase of the last observe() took (ms), for logs and benchmarks */
  lastPhasesMs: Record<string, number> = {};
  /** groups whose position is not in `__consumer_offsets` (share groups, types this vigil does not know): always polled */
  private readonly notStreamed = new Set<string>();
  /** how the last observe() read each group's committed offsets: from the stream, or by OffsetFetch */
  lastOffsetsRead = { streamed: 0, polled: 0 };

  constructor(
    private readonly admin: KafkaAdmin,
    private readonly opts: ObserverOptions,
    private readonly clock: Clock,
  ) {
    this.groupFilter = nameFilter(opts.groups.include, opts.groups.exclude);
    this.topicFilter = nameFilter(opts.topics.include, opts.topics.exclude);
    this.latency = new DeliveryLatency(admin, {
      maxProbes: opts.maxProbesPerCycle ?? DEFAULT_MAX_PROBES,
      history: this.history,
      untested: 'estimate',
      ...(opts.scheduleAheadMs !== undefined ? { scheduleAheadMs: opts.scheduleAheadMs } : {}),
    });
    this.configRefreshMs = opts.configRefreshMs ?? DEFAULT_CONFIG_REFRESH_MS;
  }

  /**
   * A follower's cycle: metadata and end offsets only, to keep connections open and the
   * history warm, so that a new leader's first full cycle reports seconds at once.
   */
  async warm(): Promise<void> {
    const { md } = await this.pingThenMetadata(this.warmBrokers);
    this.warmBrokers = md.brokers;
    const tps = md.topics.filter((t) => !t.isInternal && this.topicFilter(t.topic)).flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition })));
    const sentMs = this.clock.wallMs();
    const ends = await this.admin.endOffsets(tps);
    this.history.record(ends, sentMs, this.clock.wallMs());
  }

  /** The leader's cycle: the whole snapshot. Never throws: failures are in the snapshot. */
  async observe(): Promise<KafkaSnapshot> {
    const clock = this.clock;
    const startedAtMs = clock.wallMs();
    const phases: Record<string, number> = {};
    let mark = clock.monotonicMs();
    const lap = (name: string) => {
      const t = clock.monotonicMs();
      phases[name] = Math.round((t - mark) * 10) / 10;
      mark = t;
    };
    this.lastPhasesMs = phases;
    let md: ClusterMetadata;
    let pings: ReadonlyMap<number, BrokerPing>;
    try {
      ({ md, pings } = await this.pingThenMetadata([...this.knownBrokers.values()], lap));
    } catch (err) {
      return { ok: false, takenAtMs: startedAtMs, error: describeError(err) };
    }
    for (const b of md.brokers) this.knownBrokers.set(b.nodeId, b);
    const answered = md.brokers.filter((b) => pings.get(b.nodeId)?.ok === true);

    const watchedTopics = md.topics.filter((t) => !t.isInternal && this.topicFilter(t.topic));
    // From the groups' listing to the snapshot the cycle walks every group and row: in
    // slices, so that the commit stream's answers are folded in between (docs/design.md §3.9).
    const slices = new TimeSlices(clock);
    const cycle = ++this.listCycle;
    const [minIsr] = await Promise.all([
      this.minIsrFor(watchedTopics.map((t) => t.topic), startedAtMs),
      this.admin.listGroups().then(
        async (gs) => {
          await slices.breathe();
          for (const g of gs) {
            if (slices.tick()) await slices.next();
            if (!this.groupFilter(g.groupId)) continue;
            const state = g.state === undefined ? undefined : (KNOWN_STATES.get(g.state) ?? g.state);
            const entry = this.listings.get(g.groupId);
            if (entry !== undefined) {
              entry.cycle = cycle;
              entry.state = state;
            } else this.listings.set(g.groupId, { cycle, state });
            // A group's coordinator may be down (ListGroups then misses it) while the group
            // itself lives on: groups seen before are asked for until their offsets are gone.
            if (!this.knownGroups.has(g.groupId)) {
              this.knownGroups.add(g.groupId);
              this.sortedGroups = null;
            }
            if (offsetsNotStreamed(g)) this.notStreamed.add(g.groupId);
            else if (this.notStreamed.size > 0) this.notStreamed.delete(g.groupId);
          }
          // groups not listed this time: known as before, not listed
          this.listings.forEach((e, g) => {
            if (e.cycle !== cycle) this.listings.delete(g);
          });
        },
        () => {
          // no listing this cycle: no state is current, every group is described
        },
      ),
    ]);
    const groupIds = (this.sortedGroups ??= [...this.knownGroups].sort());
    lap('groups');
    await slices.breathe();

    // Every watched partition gets an index: topic t's partition p is base(t) + p. Per-row
    // work below is array access, not string-keyed maps (100,000 rows a cycle).
    const index = new PartitionIndex(watchedTopics);
    const layout = watchedTopics.map((t) => `${t.topic}\u0000${t.partitions.length}`).join('\u0000');
    if (layout !== this.rowsLayout) {
      this.caughtUpRows.clear();
      this.rowsLayout = layout;
    }
    const partitions: PartitionState[] = [];
    for (const t of watchedTopics) {
      const topicMinIsr = minIsr.get(t.topic) ?? DEFAULT_MIN_ISR;
      for (const p of t.partitions) {
        partitions.push({ topic: t.topic, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, offlineReplicas: p.offlineReplicas, minIsr: topicMinIsr });
      }
    }

    const endsSentMs = clock.wallMs();
    const [described, committed, endsAt, quorum] = await Promise.all([
      this.describe(groupIds, slices),
      this.polledOffsets(groupIds, slices),
      // the history needs when the end offsets were asked for and answered, not when the
      // slowest of the three requests returned
      this.admin.endOffsets(index.all).then((ends) => ({ ends, atMs: clock.wallMs() })),
      this.controllerQuorum(answered),
    ]);
    lap('offsets');
    // The streamed offsets are read last, after the time the exact tests judge by: a commit
    // the stream folded while the requests above were out counts, and one it folds after
    // this instant cannot make a group look behind at it (a breach judged on offsets read
    // before a commit that came before the breach instant would page a group that was not late).
    const nowMs = clock.wallMs();
    this.streamedOffsets(groupIds, committed);
    slices.restart();
    const staleGroups = new Set<string>();
    for (const g of groupIds) {
      if (slices.tick()) await slices.next();
      const r = committed.get(g);
      if (r && 'offsets' in r) {
        if (!this.isListed(g) && r.offsets.size === 0) {
          // deleted
          this.knownGroups.delete(g);
          this.sortedGroups = null;
        }
        const seen = this.lastCommitted.get(g);
        if (seen === undefined) this.lastCommitted.set(g, { offsets: r.offsets, atMs: endsAt.atMs });
        else {
          // updated in place: 10,000 groups a cycle
          seen.offsets = r.offsets;
          seen.atMs = endsAt.atMs;
        }
        continue;
      }
      // The group's coordinator is down: no consumer can commit either, so the offsets last
      // seen are still the group's (or older than them, which only overstates latency).
      const last = this.lastCommitted.get(g);
      if (last && endsAt.atMs - last.atMs <= STALE_COMMITS_MAX_AGE_MS) {
        committed.set(g, { offsets: last.offsets });
        staleGroups.add(g);
      }
    }
    this.history.record(endsAt.ends, endsSentMs, endsAt.atMs);
    // A partition whose leader cannot be asked keeps its last end offset seen: its
    // consumers cannot fetch, its producers cannot write, and the records it held before go
    // on aging — the delivery latency its groups suffer is exactly what must be reported.
    const end = new Float64Array(index.size).fill(Number.NaN);
    const endError: (string | undefined)[] = [];
    for (const e of endsAt.ends) {
      const i = index.of(e.topic, e.partition);
      if (i < 0) continue;
      if (e.offset !== null) {
        end[i] = e.offset;
        continue;
      }
      const last = this.history.lastEnd(e.topic, e.partition);
      if (last !== null) end[i] = last;
      endError[i] = `${e.error ?? 'no answer'}; end offset as last seen`;
    }

    // The rows where a group is behind: only these need the exact test and seconds.
    // (Maps walked with forEach: for-of over their entries allocates per entry, and this walks
    // every group's every partition each cycle.)
    // (A group's rules are this.groupRules' after rulesFor, for every group with offsets.)
    const rows: LaggingRow[] = [];
    for (const group of groupIds) {
      if (slices.tick()) await slices.next();
      const result = committed.get(group);
      if (!result || !('offsets' in result)) continue;
      // the same offsets as when its rows were last all caught up, at the same end offsets: none behind
      const cached = this.caughtUpRows.get(group);
      if (cached !== undefined && cached.offsets === result.offsets && cached.rules === this.groupRules.get(group) && stillCaughtUp(cached.rows, index, end, endError)) continue;
      const rules = this.rulesFor(group, result.offsets, index);
      result.offsets.forEach((parts, topic) => {
        const rule = rules.get(topic);
        if (rule === undefined) return;
        const base = index.base(topic);
        const count = index.count(topic);
        parts.forEach((offset, partition) => {
          if (partition >= count) return;
          const e = end[base + partition] as number;
          if (offset < e) rows.push({ group, topic, partition, idx: base + partition, committed: offset, rule });
        });
      });
    }
    lap('rows');

    await slices.breathe();
    const measured = await this.latency.measure(rows, index, nowMs, lap);
    slices.restart();
    const lagByGroup = new Map<string, RowLatency[]>();
    for (let i = 0; i < rows.length; i++) {
      if (slices.tick()) await slices.next();
      const group = (rows[i] as LaggingRow).group;
      let list = lagByGroup.get(group);
      if (!list) lagByGroup.set(group, (list = []));
      list.push(measured[i] as RowLatency);
    }

    described.forEach((d, g) => {
      if (d.coordinator !== undefined) this.lastCoordinator.set(g, d.coordinator);
    });
    this.behindGroups = new Set(lagByGroup.keys());
    for (const g of this.lastCommitted.keys()) {
      if (this.knownGroups.has(g)) continue;
      this.lastCommitted.delete(g);
      this.lastCoordinator.delete(g);
      this.groupRules.delete(g);
      this.caughtUpRows.delete(g);
      this.descriptions.delete(g);
    }
    const groups: GroupState[] = [];
    for (const group of groupIds) {
      if (slices.tick()) await slices.next();
      const d = described.get(group);
      groups.push(
        this.groupState(
          group,
          committed.get(group),
          staleGroups.has(group) ? 'unknown (coordinator unavailable; committed offsets as last seen)' : (this.listedState(group) ?? d?.state ?? ''),
          this.groupRules.get(group),
          index,
          end,
          endError,
          lagByGroup.get(group),
          this.lastCoordinator.get(group),
          d,
        ),
      );
    }
    // a broker that fell silent under this cycle's requests is unreachable in this snapshot
    const standing = this.admin.brokerStanding([...this.knownBrokers.values()]);
    const brokers = this.brokerStates(pings, standing, new Set(md.brokers.map((b) => b.nodeId)), startedAtMs);
    const denied = this.opts.commits?.denied?.() ?? null;
    lap('assemble');
    await slices.breathe(); // what follows (detect) starts a slice of its own
    return {
      ok: true,
      takenAtMs: nowMs,
      clusterId: md.clusterId,
      controllerId: md.controllerId,
      brokers,
      partitions,
      groups,
      canary: this.opts.canaryStates ? this.opts.canaryStates() : null,
      quorum,
      ...(denied ? { offsetsStreamDenied: denied } : {}),
    };
  }

  /**
   * The groups' descriptions (type, state, members, coordinator): DescribeGroups (and its
   * newer kinds) for the groups that must be described now and, within the budget, those
   * described longest ago; the others keep their last description. A group must be
   * described when it has none, its last one failed, it is listed with another state than
   * described (members joined or left), it was behind last cycle, or the broker lists no
   * states (before Kafka 2.6: every group, every cycle). Its state is the listed one
   * wherever the broker lists it, current every cycle.
   */
  private async describe(groupIds: readonly string[], slices: TimeSlices): Promise<ReadonlyMap<string, GroupDescription>> {
    const budget = this.opts.describeBudget ?? DEFAULT_DESCRIBE_BUDGET;
    const chosen = new Set<string>();
    for (const g of groupIds) {
      if (slices.tick()) await slices.next();
      const d = this.descriptions.get(g);
      const listed = this.listedState(g);
      if (d === undefined || d.error !== undefined || listed === undefined || listed !== d.state || this.behindGroups.has(g)) chosen.add(g);
    }
    // the longest undescribed first: the map is oldest first
    // (knownGroups holds exactly groupIds until the cycle's clean-up, after this)
    for (const g of this.descriptions.keys()) {
      if (chosen.size >= budget) break;
      if (this.knownGroups.has(g)) chosen.add(g);
    }
    const fresh = chosen.size > 0 ? await this.admin.describeGroups([...chosen]) : new Map<string, GroupDescription>();
    for (const [g, d] of fresh) {
      const before = this.descriptions.get(g);
      this.descriptions.delete(g);
      // an unchanged group keeps its description object, so that its state in the snapshot
      // can stay the same object too (groupState)
      this.descriptions.set(g, before !== undefined && sameDescription(before, d) ? before : d);
    }
    // every group described stays known until the cycle's clean-up drops it with its
    // other per-group state: the map itself is the answer, no copy per cycle
    return this.descriptions;
  }

  /** Whether the group was listed this cycle. */
  private isListed(group: string): boolean {
    return this.listings.get(group)?.cycle === this.listCycle;
  }

  /** The state the group was listed with this cycle; undefined when it was not listed, or listed without one (before Kafka 2.6). */
  private listedState(group: string): string | undefined {
    const e = this.listings.get(group);
    return e !== undefined && e.cycle === this.listCycle ? e.state : undefined;
  }

  /**
   * Each group's committed offsets: from the commit stream where it vouches for them, by
   * OffsetFetch for the rest (all of them in poll mode).
   */
  private async polledOffsets(groupIds: readonly string[], slices: TimeSlices): Promise<Map<string, GroupOffsetsResult>> {
    const poll: string[] = [];
    for (const g of groupIds) {
      if (slices.tick()) await slices.next();
      if (this.notStreamed.has(g) || (this.opts.commits?.committed(g) ?? null) === null) poll.push(g);
    }
    this.lastOffsetsRead = { streamed: 0, polled: poll.length };
    return poll.length === 0 ? new Map() : this.admin.committedOffsets(poll);
  }

  /**
   * The offsets the stream vouches for, into `out` beside the polled ones: read at once, in
   * one stretch, right after the cycle's time was taken. A group the stream stopped vouching
   * for since polledOffsets chose has no answer this cycle (its offsets as last seen stand in).
   */
  private streamedOffsets(groupIds: readonly string[], out: Map<string, GroupOffsetsResult>): void {
    let streamed = 0;
    for (const g of groupIds) {
      if (out.has(g) || this.notStreamed.has(g)) continue;
      const offsets = this.opts.commits?.committed(g) ?? null;
      if (offsets === null) continue;
      out.set(g, { offsets });
      streamed++;
    }
    this.lastOffsetsRead = { streamed, polled: this.lastOffsetsRead.polled };
  }

  /**
   * One DescribeQuorum, through a broker that answered its ping this cycle (a paused one
   * would hold the request until the deadline, and the quorum would look leaderless).
   */
  private async controllerQuorum(live: readonly BrokerInfo[]): Promise<ControllerQuorum> {
    const leader = live.find((b) => b.nodeId === this.quorumLeader);
    const asked = leader === undefined ? live : [leader, ...live.filter((b) => b !== leader)];
    let quorum: ControllerQuorum;
    try {
      quorum = await this.admin.describeQuorum(asked, this.opts.quorumTimeoutMs ?? this.opts.brokerPingTimeoutMs);
    } catch (err) {
      quorum = { state: 'unanswered', error: describeError(err) };
    }
    if (quorum.state === 'described' && quorum.leaderId !== null) this.quorumLeader = quorum.leaderId;
    return quorum;
  }

  /**
   * The rules of the watched topics a group has offsets on: last cycle's map when the topics
   * are the same (the rules depend on the group and topic names only), else a new one.
   */
  private rulesFor(group: string, offsets: GroupOffsets, index: PartitionIndex): ReadonlyMap<string, GroupTopicRule> {
    const last = this.groupRules.get(group);
    let watched = 0;
    let same = last !== undefined;
    offsets.forEach((_, topic) => {
      if (index.base(topic) < 0) return;
      watched++;
      if (same && !(last as ReadonlyMap<string, GroupTopicRule>).has(topic)) same = false;
    });
    if (same && (last as ReadonlyMap<string, GroupTopicRule>).size === watched) return last as ReadonlyMap<string, GroupTopicRule>;
    // Groups with the same topics under the same rules share one map (most groups of a
    // cluster: 10,000 maps and rule objects fewer to hold; docs/design.md §3.9).
    const built: [string, GroupTopicRule][] = [];
    let key = '';
    offsets.forEach((_, topic) => {
      if (index.base(topic) < 0) return;
      const rule = this.ruleFor(group, topic);
      built.push([topic, rule]);
      key += `${topic}\u0000${this.ruleKeys.get(rule) as string}\u0000`;
    });
    let rules = this.sharedRules.get(key);
    if (rules === undefined) {
      if (this.sharedRules.size >= MAX_SHARED_RULE_MAPS) this.sharedRules.clear(); // groups keep theirs; new ones share again
      rules = new Map(built);
      this.sharedRules.set(key, rules);
    }
    this.groupRules.set(group, rules);
    return rules;
  }

  /** The group's lag rule on the topic, one object per distinct rule. */
  private ruleFor(group: string, topic: string): GroupTopicRule {
    const r = lagRuleFor(this.opts.lag, group, topic);
    const key = `${r.thresholdMs}/${r.resolveBelowMs}/${r.resolveForMs}/${r.severity}/${r.warnAheadMs}`;
    const known = this.rules.get(key);
    if (known !== undefined) return known;
    const rule: GroupTopicRule = { thresholdMs: r.thresholdMs, resolveBelowMs: r.resolveBelowMs, resolveForMs: r.resolveForMs, severity: r.severity, ...(r.warnAheadMs > 0 ? { warnAheadMs: r.warnAheadMs } : {}) };
    this.rules.set(key, rule);
    this.ruleKeys.set(rule, key);
    return rule;
  }

  /**
   * The pings, then Metadata. `known` are pinged first, so that the metadata and everything
   * after it go to brokers that answered; brokers the metadata names that were not pinged
   * at that address (the first cycle, a new broker, a moved one) are pinged right after it,
   * before anything else is asked of them. Throws when the metadata cannot be read.
   */
  private async pingThenMetadata(known: readonly BrokerInfo[], lap?: (name: string) => void): Promise<{ md: ClusterMetadata; pings: Map<number, BrokerPing> }> {
    const timeoutMs = this.opts.brokerPingTimeoutMs;
    const pings = known.length > 0 ? await this.admin.pingBrokers(known, timeoutMs) : new Map<number, BrokerPing>();
    lap?.('ping');
    const md = await this.admin.metadata();
    const pinged = new Set(known.map(hostPort));
    const unpinged = md.brokers.filter((b) => !pinged.has(hostPort(b)));
    if (unpinged.length > 0) for (const [id, ping] of await this.admin.pingBrokers(unpinged, timeoutMs)) pings.set(id, ping);
    lap?.('metadata');
    return { md, pings };
  }

  /**
   * Each known broker: unreachable when it failed this cycle's ping or fell silent under its
   * requests later in the cycle (`standing`), since the start of its silence where the port
   * knows it (the oldest request it left unanswered), else since the cycle that first found it.
   * Closes the cycle's answer times (KafkaAdmin.takeAnswerTimes).
   */
  private brokerStates(pings: ReadonlyMap<number, BrokerPing>, standing: ReadonlyMap<number, BrokerPing>, inMetadata: ReadonlySet<number>, cycleStartMs: number): BrokerState[] {
    const all = [...this.knownBrokers.values()].sort((a, b) => a.nodeId - b.nodeId);
    const answers = this.admin.takeAnswerTimes?.(all);
    return all.map((b) => {
      const pinged = pings.get(b.nodeId) ?? { ok: false, error: 'not pinged' };
      const now = standing.get(b.nodeId);
      const ping = pinged.ok && now !== undefined && !now.ok ? now : pinged;
      if (ping.ok) this.unreachableSince.delete(b.nodeId);
      else if (!this.unreachableSince.has(b.nodeId)) this.unreachableSince.set(b.nodeId, ping.silentSinceMs ?? cycleStartMs);
      const since = this.unreachableSince.get(b.nodeId);
      return {
        nodeId: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack,
        inMetadata: inMetadata.has(b.nodeId),
        reachable: ping.ok,
        ...(ping.error !== undefined ? { error: ping.error } : {}),
        ...(since !== undefined ? { unreachableSinceMs: since } : {}),
        ...(answers?.has(b.nodeId) ? { answers: answers.get(b.nodeId) } : {}),
      };
    });
  }

  private async minIsrFor(topics: readonly string[], nowMs: number): Promise<ReadonlyMap<string, number>> {
    const missing = topics.some((t) => !this.minIsr.has(t));
    if (missing || nowMs - this.minIsrReadAtMs >= this.configRefreshMs) {
      try {
        this.minIsr = await this.admin.topicMinIsr(topics);
        this.minIsrReadAtMs = nowMs;
      } catch {
        // keep the last answer; unknown topics fall back to the broker default
      }
    }
    return this.minIsr;
  }

  private groupState(
    group: string,
    result: GroupOffsetsResult | undefined,
    state: string,
    rules: ReadonlyMap<string, GroupTopicRule> | undefined,
    index: PartitionIndex,
    end: Float64Array,
    endError: readonly (string | undefined)[],
    lagging: readonly RowLatency[] | undefined,
    coordinator: number | undefined,
    described: GroupDescription | undefined,
  ): GroupState {
    // built without spreads: 10,000 of them a cycle
    const withIdentity = (g: Writable<GroupState>): GroupState => {
      if (coordinator !== undefined) g.coordinator = coordinator;
      if (described?.type) g.type = described.type;
      if (described?.memberList) g.members = described.memberList;
      return g;
    };
    if (!result || !('offsets' in result)) {
      return withIdentity({ group, state, partitions: [], rules: new Map(), error: result && 'error' in result ? result.error : 'no answer' });
    }
    const cached = this.caughtUpRows.get(group);
    if (cached !== undefined && cached.offsets === result.offsets && cached.rules === rules && lagging === undefined && stillCaughtUp(cached.rows, index, end, endError)) {
      // nothing changed at all: last cycle's very object (detect and the metrics then know
      // it by identity and skip it; docs/design.md §3.9)
      const last = cached.state;
      if (last !== undefined && last.state === state && last.coordinator === coordinator && last.type === described?.type && last.members === described?.memberList) return last;
      return (cached.state = withIdentity({ group, state, partitions: cached.rows, rules: cached.rules }));
    }
    const partitions: GroupPartitionLag[] = [];
    let clean = true; // every row caught up, with its end offset read this cycle
    let next = 0; // lagging rows of this group, in the same order as its offsets are walked
    result.offsets.forEach((parts, topic) => {
      const base = index.base(topic);
      if (base < 0 || !rules?.has(topic)) return;
      const count = index.count(topic);
      parts.forEach((committed, partition) => {
        if (partition >= count) return;
        const i = base + partition;
        const e = end[i] as number;
        const error = endError[i];
        if (Number.isNaN(e) || committed < e || error !== undefined) clean = false;
        if (Number.isNaN(e)) {
          partitions.push({ topic, partition, committed, end: null, lagMessages: null, breach: null, aboveResolveBelow: null, lagSeconds: null, error: `end offset unavailable: ${error ?? 'no answer'}` });
        } else if (committed >= e) {
          // the common row (caught up) built without a spread: 100,000 of them a cycle
          partitions.push(error ? { topic, partition, committed, end: e, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0, error } : { topic, partition, committed, end: e, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0 });
        } else {
          const r = (lagging as readonly RowLatency[])[next++] as RowLatency;
          const at = r.breachAtMs === null ? {} : { breachAtMs: r.breachAtMs, breachAtExact: r.breachAtExact };
          partitions.push({ topic, partition, committed, end: e, lagMessages: e - committed, breach: r.breach, aboveResolveBelow: r.aboveResolveBelow, lagSeconds: r.lagSeconds, ...at, ...(error ? { error } : {}) });
        }
      });
    });
    const built = withIdentity({ group, state, partitions, rules: rules ?? new Map() });
    if (clean && rules !== undefined) this.caughtUpRows.set(group, { offsets: result.offsets, rules, rows: partitions, state: built });
    else this.caughtUpRows.delete(group);
    return built;
  }
}

/**
 * A group whose position the commit stream cannot know: a share group (its position lives in
 * the share coordinator's own log) or a type this vigil does not know.
 */
function offsetsNotStreamed(g: GroupListing): boolean {
  return g.type === 'share' || (g.type === undefined && g.typeName !== undefined);
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** Distinct per-group rule maps kept for sharing before the table starts over (a cluster with this many distinct topic sets shares little anyway). */
const MAX_SHARED_RULE_MAPS = 10_000;

/** Group states as ListGroups names them: a listed state is kept as one of these strings, not a new one per group each cycle. */
const KNOWN_STATES: ReadonlyMap<string, string> = new Map(
  ['Stable', 'Empty', 'PreparingRebalance', 'CompletingRebalance', 'Dead', 'Assigning', 'Reconciling', 'NotReady', 'Unknown'].map((s) => [s, s]),
);

/** A group whose rows were all caught up and clean: what they were built from, and the group's state last built from them. */
interface CaughtUpGroup {
  readonly offsets: GroupOffsets;
  readonly rules: ReadonlyMap<string, GroupTopicRule>;
  readonly rows: readonly GroupPartitionLag[];
  state: GroupState | undefined;
}

/** Whether two descriptions of a group say the same, members and their assignments included. */
export function sameDescription(a: GroupDescription, b: GroupDescription): boolean {
  if (a.groupId !== b.groupId || a.type !== b.type || a.state !== b.state || a.members !== b.members || a.coordinator !== b.coordinator || a.error !== b.error) return false;
  const am = a.memberList;
  const bm = b.memberList;
  if (am === bm) return true;
  if (am === undefined || bm === undefined || am.length !== bm.length) return false;
  for (let i = 0; i < am.length; i++) {
    const x = am[i] as GroupMember;
    const y = bm[i] as GroupMember;
    if (x.memberId !== y.memberId || x.instanceId !== y.instanceId || x.clientId !== y.clientId || x.host !== y.host || !sameAssignment(x.assignment, y.assignment)) return false;
  }
  return true;
}

function sameAssignment(a: readonly TopicPartitions[] | null, b: readonly TopicPartitions[] | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as TopicPartitions;
    const y = b[i] as TopicPartitions;
    if (x.topic !== y.topic || x.partitions.length !== y.partitions.length) return false;
    for (let j = 0; j < x.partitions.length; j++) if (x.partitions[j] !== y.partitions[j]) return false;
  }
  return true;
}

/** Whether rows built caught up and clean still are: every end offset where it was, read without error this cycle. */
function stillCaughtUp(rows: readonly GroupPartitionLag[], index: PartitionIndex, end: Float64Array, endError: readonly (string | undefined)[]): boolean {
  for (const r of rows) {
    const i = index.base(r.topic) + r.partition;
    if (end[i] !== r.end || endError[i] !== undefined) return false;
  }
  return true;
}

function hostPort(b: BrokerInfo): string {
  return `${b.host}:${b.port}`;
}
