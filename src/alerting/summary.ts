/**
 * One-line summaries a person on call can act on (docs/design.md §4), rendered from an alert's
 * record. The consumer-lag line is a contract (docs/design.md §4 example):
 *   "orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy"
 */
import type { AlertRecord, BrokerFinding } from './alert-state';
import { type CauseTouch, type TopicPartitions, slowAnswersText } from '../monitor/findings';
import { majorityOf } from '../monitor/quorum';

/** Partition lists longer than this are cut: "0, 1, …, 9 and 190 more". */
const MAX_LISTED = 10;

export function firingSummary(record: AlertRecord, nowMs: number): string {
  const f = record.finding;
  switch (f.kind) {
    case 'KafkaUnreachable':
      return `Kafka cluster unreachable: ${f.error}`;
    case 'BrokerUnreachable':
      // seen first this cycle: "for 0 s" would read as a glitch; the error says what was found
      return `broker ${f.broker} (${f.address}) unreachable${nowMs - f.sinceMs < 1000 ? '' : ` for ${duration(nowMs - f.sinceMs)}`}${f.error === undefined ? '' : `: ${f.error}`}`;
    case 'PartitionOffline':
      return `${spread(f.topics, 'partition has', 'partitions have')} no leader (offline): ${topicList(f.topics)}`;
    case 'PartitionUnderReplicated':
      return `broker ${f.broker} is missing from the in-sync replicas of ${spread(f.topics, 'partition', 'partitions')}: ${topicList(f.topics)}`;
    case 'PartitionUnderMinIsr':
      return `${spread(f.topics, 'partition is', 'partitions are')} below min.insync.replicas with broker ${f.broker} out of sync, so acks=all producers to them fail: ${topicList(f.topics)}`;
    case 'PreferredLeaderImbalance':
      return `broker ${f.broker} does not lead ${count(f.partitions, 'partition', 'partitions')} it is the preferred replica of; run a preferred leader election (kafka-leader-election.sh --election-type PREFERRED)`;
    case 'ConsumerStalled':
      return `${f.group} has not moved its committed offsets on ${f.topic} for ${duration(f.stalledForMs)} while messages arrive (${plural(f.partitions.length, 'partition', 'partitions')} ${list(f.partitions)})`;
    case 'CanaryDegraded':
      return `canary via broker ${f.broker} ${canaryProblem(f)}`;
    case 'ConsumerBreachAhead': {
      // the contract line of docs/design.md §3.8: "orders-svc will be 10 s behind on orders in 3 s unless it commits"
      const inS = (f.breachAtMs - nowMs) / 1000;
      const when = inS < 1 ? 'within a second' : `in ${f.exact ? '' : 'about '}${seconds(inS)} s`;
      return `${f.group} will be ${seconds(f.thresholdMs / 1000)} s behind on ${f.topic} ${when} unless it commits (${plural(f.partitions.length, 'partition', 'partitions')} ${list(f.partitions)})`;
    }
    case 'ConsumerDeliveryLag': {
      const threshold = seconds(f.thresholdMs / 1000);
      const behind = f.lagSeconds === null ? `over ${threshold} s behind` : `${seconds(f.lagSeconds)} s behind`;
      return `${f.group} is ${behind} on ${f.topic} (threshold ${threshold} s); ${lagCauseText(record, nowMs)}`;
    }
    case 'ControllerQuorumLeaderless':
    case 'ControllerVoterLagging':
    case 'ControllerQuorumAtRisk':
      return quorumFiringText(f, nowMs);
    case 'OffsetsStreamDenied':
      return `vigil streams no commits (${f.reason}): every group's committed offsets are polled, and a breach pages at the next cycle, not at its instant; grant DESCRIBE and READ on the topic __consumer_offsets to vigil's principal`;
    case 'RemediationProposed':
      return `vigil would ${f.reason} (${f.cause}); dry-run: nothing moves until a person runs it: POST /api/v1/plans/${f.planId}/execute`;
    case 'RemediationRefused':
      return `vigil did not ${f.reason} (${f.cause}): ${f.refusal}`;
    default:
      return never(f);
  }
}

/** What a plan is about: a broker, or (broker -1, unclean-elect) the offline partitions. */
function planSubject(broker: number): string {
  return broker >= 0 ? `for broker ${broker}` : 'for the offline partitions';
}

/** A proposed plan for the channels' plan slot: what it does, its size, how to run or read it. */
export function planText(f: Extract<AlertRecord['finding'], { kind: 'RemediationProposed' }>): string {
  const skipped = f.skipped === 0 ? '' : `, ${count(f.skipped, 'partition', 'partitions')} left alone`;
  const elections = f.plan === 'unclean-elect' ? count(f.elections, 'UNCLEAN election', 'UNCLEAN elections') : count(f.elections, 'preferred election', 'preferred elections');
  return `${f.plan} plan ${f.planId}: ${count(f.moves, 'partition move', 'partition moves')}, ${elections}${skipped}. GET /api/v1/plans lists every move; POST /api/v1/plans/${f.planId}/execute (admin token) runs it.`;
}

/**
 * How the incident ended. 'gone': the group/topic is no longer reported at all (deleted, or
 * no longer watched); 'superseded': an early warning whose group/topic is now in breach, which
 * the ConsumerDeliveryLag alert pages.
 */
export type ResolveReason = 'cleared' | 'gone' | 'superseded';

export function resolvedSummary(record: AlertRecord, nowMs: number, reason: ResolveReason = 'cleared'): string {
  const f = record.finding;
  const lasted = duration((record.quietSinceMs ?? nowMs) - record.startsAtMs);
  switch (f.kind) {
    case 'KafkaUnreachable':
      return `Kafka cluster reachable again (unreachable for ${lasted})`;
    case 'BrokerUnreachable':
      return `broker ${f.broker} (${f.address}) reachable again (unreachable for ${duration((record.quietSinceMs ?? nowMs) - f.sinceMs)})`;
    case 'PartitionOffline':
      return 'every partition has a leader again';
    case 'PartitionUnderReplicated':
      return `broker ${f.broker} is back in the in-sync replicas of every partition`;
    case 'PartitionUnderMinIsr':
      return `every partition broker ${f.broker} replicates has min.insync.replicas in sync again`;
    case 'PreferredLeaderImbalance':
      return `broker ${f.broker} leads its preferred partitions again`;
    case 'ConsumerStalled':
      return `${f.group} moves its committed offsets on ${f.topic} again`;
    case 'CanaryDegraded':
      return `canary via broker ${f.broker} healthy again`;
    case 'ConsumerBreachAhead':
      if (reason === 'superseded') return `${f.group} is in breach on ${f.topic}: the ConsumerDeliveryLag alert takes over from this warning`;
      if (reason === 'gone') return `${f.group} no longer reports offsets on ${f.topic}; closing the early warning`;
      return `${f.group} keeps up on ${f.topic} again: no partition predicted to reach ${seconds(f.thresholdMs / 1000)} s behind soon`;
    case 'ConsumerDeliveryLag': {
      const lag = record.lag;
      if (reason === 'gone' || lag === undefined) return `${f.group} no longer reports offsets on ${f.topic}; closing the lag alert`;
      return `${f.group} caught up on ${f.topic}: below ${seconds(lag.resolveBelowMs / 1000)} s for ${seconds(lag.resolveForMs / 1000)} s (threshold ${seconds(f.thresholdMs / 1000)} s)`;
    }
    case 'ControllerQuorumLeaderless':
      return `the KRaft controller quorum has a leader again (none seen for ${duration((record.quietSinceMs ?? nowMs) - f.sinceMs)})`;
    case 'ControllerVoterLagging':
      return `KRaft controller voter ${f.voter} is caught up with the quorum leader again (lagged for ${duration((record.quietSinceMs ?? nowMs) - f.sinceMs)})`;
    case 'ControllerQuorumAtRisk':
      return 'more than a bare majority of the KRaft controller voters are caught up again';
    case 'OffsetsStreamDenied':
      return 'vigil reads __consumer_offsets again: committed offsets are streamed';
    case 'RemediationProposed':
      return `the ${f.plan} plan ${planSubject(f.broker)} is no longer waiting: it was executed, or its cause is gone (GET /api/v1/plans says which)`;
    case 'RemediationRefused':
      return `the ${f.plan} plan ${planSubject(f.broker)} is no longer refused: it runs, or its cause is gone`;
    default:
      return never(f);
  }
}

type QuorumFinding = Extract<AlertRecord['finding'], { kind: 'ControllerQuorumLeaderless' | 'ControllerVoterLagging' | 'ControllerQuorumAtRisk' }>;

/** The KRaft controller quorum's pages (docs/design.md §4.7): what is wrong, and what it stops. */
function quorumFiringText(f: QuorumFinding, nowMs: number): string {
  switch (f.kind) {
    case 'ControllerQuorumLeaderless': {
      const last = f.lastLeaderId === undefined ? '' : `; last leader node ${f.lastLeaderId}, epoch ${f.lastEpoch}`;
      const state = f.error === undefined ? 'has no leader' : 'cannot be described although brokers answer';
      const why = f.error === undefined ? '' : `: ${f.error}`;
      return `the KRaft controller quorum ${state} (for ${duration(nowMs - f.sinceMs)}${last})${why}; no metadata change (partition leader election, ISR change, topic change) can happen until a controller leads`;
    }
    case 'ControllerVoterLagging': {
      const behind = f.lagRecords === null ? '' : `; ${count(f.lagRecords, 'record', 'records')} behind`;
      return `KRaft controller voter ${f.voter} has not caught up with the quorum leader (node ${f.leaderId}) for ${duration(nowMs - f.sinceMs)} (threshold ${seconds(f.thresholdMs / 1000)} s)${behind}`;
    }
    case 'ControllerQuorumAtRisk': {
      const risk = f.caughtUp < majorityOf(f.voters) ? 'below a majority, the quorum cannot commit metadata changes' : 'one more lagging voter and metadata changes stop';
      return `only ${f.caughtUp} of ${f.voters} KRaft controller voters are caught up with the leader (lagging: ${plural(f.lagging.length, 'voter', 'voters')} ${list(f.lagging)}): ${risk}`;
    }
    default:
      return never(f);
  }
}

function lagCauseText(record: AlertRecord, nowMs: number): string {
  const f = record.finding;
  if (f.kind !== 'ConsumerDeliveryLag') return '';
  const parts = record.lag?.causePartitions ?? f.partitions;
  const cause = f.cause;
  if (cause === 'consumer') return 'brokers healthy';
  if (cause === 'partition-offline') return `${plural(parts.length, 'partition', 'partitions')} ${list(parts)} ${parts.length === 1 ? 'has' : 'have'} no leader`;
  const broker = cause.slice('broker:'.length);
  // records from before causeTouch existed: a coordinator, or a leader now
  const touch: CauseTouch = record.lag?.causeTouch ?? { role: record.lag?.causeIsCoordinator ? 'coordinator' : 'leader', now: true };
  const state = touch.healthySinceMs !== undefined ? `which was unhealthy until ${duration(nowMs - touch.healthySinceMs)} ago` : brokerProblem(record.lag?.causeBroker ?? null, touch);
  const these = `${plural(parts.length, 'partition', 'partitions')} ${list(parts)}`;
  switch (touch.role) {
    case 'coordinator':
      return `its group coordinator${touch.now ? '' : ' until recently'}, broker ${broker}, ${state.replace(/^which /, '')}`;
    case 'leader':
      return touch.now
        ? `${these} ${parts.length === 1 ? 'is' : 'are'} led by broker ${broker}, ${state}`
        : `${these} ${parts.length === 1 ? 'was' : 'were'} led by broker ${broker} within the last minute, ${state}`;
    case 'follower':
      // acks=all producers and the high watermark (what consumers may read) wait for every ISR member
      return touch.now
        ? `broker ${broker}, an in-sync replica of ${these} that producers with acks=all and consumers wait for, ${state.replace(/^which /, '')}`
        : `broker ${broker} was an in-sync replica of ${these} within the last minute, ${state}`;
    default:
      return never(touch.role);
  }
}

function brokerProblem(f: BrokerFinding | null, touch: CauseTouch): string {
  // slow to answer vigil: no finding of its own, the evidence rides on the cause (docs/design.md §4.3)
  if (f === null) return touch.answers ? `which ${slowAnswersText(touch.answers)}` : 'which is unhealthy';
  if (f.kind === 'BrokerUnreachable') return 'which is unreachable';
  return `whose canary ${canaryProblem(f)}`;
}

function canaryProblem(f: Extract<BrokerFinding, { kind: 'CanaryDegraded' }>): string {
  if (f.error !== undefined) return `fails: ${f.error}`;
  if (f.latencyMs === null) return 'gets no answer';
  return `takes ${seconds(f.latencyMs / 1000)} s from produce to consume`;
}

/** Topics listed in a summary before "… and N more topics". */
const MAX_TOPICS_LISTED = 5;

/** "1 partition has" / "12 partitions in 3 topics have" */
function spread(topics: readonly TopicPartitions[], one: string, many: string): string {
  const n = topics.reduce((sum, t) => sum + t.partitions.length, 0);
  const [noun, ...verb] = (n === 1 ? one : many).split(' ');
  const where = topics.length > 1 ? ` in ${topics.length} topics` : '';
  return [`${n} ${noun}${where}`, ...verb].join(' ');
}

/** "orders 0, 3; payments 1; … and 7 more topics" */
function topicList(topics: readonly TopicPartitions[]): string {
  const shown = topics.slice(0, MAX_TOPICS_LISTED).map((t) => `${t.topic} ${list(t.partitions)}`);
  const more = topics.length - shown.length;
  return more > 0 ? `${shown.join('; ')}; … and ${more} more ${more === 1 ? 'topic' : 'topics'}` : shown.join('; ');
}

/** At most one decimal: 12.43 → "12.4", 10 → "10". */
export function seconds(s: number): string {
  return String(Math.round(s * 10) / 10);
}

/** "12 s", "4 min 5 s", "2 h 3 min". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.floor(s / 60);
  return m % 60 === 0 ? `${m / 60} h` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "0, 3", or "0, 1, …, 9 and 190 more" past MAX_LISTED */
export function list(partitions: readonly number[]): string {
  if (partitions.length <= MAX_LISTED) return partitions.join(', ');
  return `${partitions.slice(0, MAX_LISTED).join(', ')} and ${partitions.length - MAX_LISTED} more`;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${plural(n, one, many)}`;
}

function never(x: never): never {
  throw new Error(`unhandled finding ${JSON.stringify(x)}`);
}
