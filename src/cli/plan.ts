/**
 * `vigil plan`: the remediation plan for one broker, computed from the cluster's metadata
 * now (src/remediation/plan.ts), printed as the JSON `kafka-reassign-partitions.sh
 * --reassignment-json-file` reads — so a person can review it and run it with Kafka's own
 * tools. Changes nothing.
 *
 * Which plan: `--action` names it; by default a broker missing from the metadata (gone)
 * gets `restore-rf`, a live one `lead-elsewhere`. Without `--broker`, the one broker that
 * still holds replicas but is missing from the metadata is planned for.
 *
 * `--action unclean-elect` (no broker: it is about partitions) prints the unclean elections
 * vigil would make for the offline partitions that still have a live replica, as the JSON
 * `kafka-leader-election.sh --election-type unclean --path-to-json-file` reads. A broker
 * plan's run says on stderr when, with the config's `remediation.allowUncleanElection`, vigil
 * would also make such elections, and which, so stdout stays one JSON document.
 *
 * stdout: the reassignment JSON, or the election JSON for unclean-elect (the whole plan with
 * `--full`); stderr: what the plan does, what it skips and why, and what to run after it.
 * Exit codes: 0 a plan (possibly empty) printed; 1 the plan is refused (larger than
 * remediation.maxPlanSize — still printed); 2 usage, config or connection error.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { DEFAULTS } from '../config/defaults';
import { VigilError } from '../errors';
import { KafkajsAdmin } from '../kafka/kafkajs-admin';
import type { ClusterMetadata } from '../kafka/types';
import { type Plan, type PlanContext, electionJson, planEvict, planLeadElsewhere, planRestoreReplicationFactor, planUncleanElect, reassignmentJson } from '../remediation/plan';
import { type KafkaCliOptions, addKafkaOptions, kafkaConfigFromOptions } from './kafka-options';

const ACTIONS = ['lead-elsewhere', 'evict', 'restore-rf', 'unclean-elect'] as const;
type Action = (typeof ACTIONS)[number];

export interface PlanOptions extends KafkaCliOptions {
  broker?: string;
  action?: string;
  full?: boolean;
  internal?: boolean;
}

export function registerPlan(program: Command): void {
  const cmd = program
    .command('plan')
    .description('print the partition moves vigil would make for a broker, as kafka-reassign-partitions.sh reads them (changes nothing)')
    .option('--broker <id>', 'the broker to plan for (default: the one broker missing from the cluster that still holds replicas)')
    .option('--action <action>', `${ACTIONS.join(' | ')} (default: restore-rf for a broker that is gone, lead-elsewhere for a live one; unclean-elect: the offline partitions, as kafka-leader-election.sh reads them)`)
    .option('--full', 'print the whole plan (moves, preferred elections, throttles, skipped partitions) instead of the reassignment JSON')
    .option('--no-internal', "leave Kafka's internal topics (__consumer_offsets, ...) out");
  addKafkaOptions(cmd).action(async (opts: PlanOptions) => {
    process.exitCode = await runPlan(opts, process.stdout, process.stderr);
  });
}

export async function runPlan(opts: PlanOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const action = parseAction(opts.action);
  const wanted = parseBroker(opts.broker);
  const config = opts.config === undefined ? undefined : loadConfig(opts.config);
  if (action === 'unclean-elect' && wanted !== undefined) {
    throw new VigilError('USAGE', '--broker does not apply to --action unclean-elect: it elects a leader for every offline partition that has a live replica; leave --broker out');
  }
  const kafka = kafkaConfigFromOptions(opts, config?.kafka);
  const remediation = config?.remediation ?? DEFAULTS.remediation;
  const admin = new KafkajsAdmin(kafka);
  let plan: Plan;
  let live = true;
  // with allowUncleanElection: the unclean elections vigil would make beside the broker's plan
  let unclean: Plan | null = null;
  try {
    const metadata = await admin.metadata();
    const base = { metadata, maxPlanSize: remediation.maxPlanSize, throttleBytesPerSec: remediation.throttleBytesPerSec, nowMs: Date.now(), term: 0, includeInternal: opts.internal !== false };
    if (action === 'unclean-elect') {
      plan = planUncleanElect({ ...base, cause: 'offline partitions (named by hand)' });
      out.write(`${JSON.stringify(opts.full ? plan : electionJson(plan), null, opts.full ? 2 : undefined)}\n`);
      err.write(describeUnclean(plan, remediation.allowUncleanElection));
      return plan.refused ? 1 : 0;
    }
    if (remediation.allowUncleanElection) {
      const u = planUncleanElect({ ...base, cause: 'offline partitions' });
      if (u.elections.length > 0) unclean = u;
    }
    const broker = wanted ?? missingBroker(metadata);
    if (broker === undefined) {
      out.write(`${JSON.stringify(reassignmentJson({ moves: [] }))}\n`);
      err.write('vigil plan: every broker that holds replicas is in the cluster; nothing to restore. Name a broker with --broker <id> to plan for it.\n');
      if (unclean) err.write(uncleanHint(unclean));
      return 0;
    }
    live = metadata.brokers.some((b) => b.nodeId === broker);
    const kind: Action = action ?? (live ? 'lead-elsewhere' : 'restore-rf');
    if (kind !== 'restore-rf' && !live) {
      throw new VigilError('USAGE', `broker ${broker} is not in the cluster's metadata, so it leads and follows nothing: ${kind} has nothing to move; use --action restore-rf`);
    }
    const ctx: PlanContext = {
      ...base,
      minIsr: kind === 'evict' ? await admin.topicMinIsr(metadata.topics.map((t) => t.topic)) : undefined,
      cause: `broker:${broker} (${live ? 'named by hand' : 'gone from the cluster'})`,
    };
    plan = kind === 'lead-elsewhere' ? planLeadElsewhere(ctx, broker) : kind === 'evict' ? planEvict(ctx, broker) : planRestoreReplicationFactor(ctx, broker);
  } finally {
    await admin.close();
  }
  out.write(`${JSON.stringify(opts.full ? plan : reassignmentJson(plan), null, opts.full ? 2 : undefined)}\n`);
  err.write(describePlan(plan, !live));
  if (unclean) err.write(uncleanHint(unclean));
  return plan.refused ? 1 : 0;
}

/** The unclean-elect plan for a person: which partitions, what it costs, how to run it. */
export function describeUnclean(plan: Plan, allowed: boolean): string {
  const lines = [`vigil plan: ${plan.reason} (${plan.kind}, plan ${plan.id})`];
  if (plan.refused) lines.push(`  REFUSED: ${plan.refused}`);
  if (!allowed) lines.push('  vigil itself would not: remediation.allowUncleanElection is false (the default); an unclean election stays a decision for people');
  for (const s of plan.skipped) lines.push(`  skipped ${s.topic}-${s.partition}: ${s.reason}`);
  if (plan.elections.length > 0) {
    lines.push(`  elect with kafka-leader-election.sh --bootstrap-server <broker> --election-type unclean --path-to-json-file <this output>; records the new leader never copied are lost`);
  }
  return `${lines.join('\n')}\n`;
}

/** A broker plan's note that vigil (allowUncleanElection) would also elect unclean leaders, and for which partitions. */
export function uncleanHint(plan: Plan): string {
  const n = plan.elections.length;
  const shown = plan.elections.slice(0, 10).map((e) => `${e.topic}-${e.partition}`).join(', ');
  const more = n > 10 ? ` and ${n - 10} more` : '';
  return `vigil plan: with remediation.allowUncleanElection vigil would also elect a leader outside the ISR for ${n} offline partition${n === 1 ? '' : 's'} (${shown}${more}): vigil plan --action unclean-elect prints them for kafka-leader-election.sh --election-type unclean --path-to-json-file\n`;
}

/** The plan for a person: what it does, what it skips, what to run after it. */
export function describePlan(plan: Plan, brokerGone = false): string {
  const lines = [`vigil plan: ${plan.reason} (${plan.kind}, plan ${plan.id})`];
  if (plan.refused) lines.push(`  REFUSED: ${plan.refused}`);
  for (const s of plan.skipped) lines.push(`  skipped ${s.topic}-${s.partition}: ${s.reason}`);
  if (plan.throttle && !brokerGone) {
    lines.push(`  copies data: run kafka-reassign-partitions.sh --execute with --throttle ${plan.throttle.bytesPerSec} (and --verify afterwards, which removes the throttle)`);
  } else if (plan.throttle) {
    // the tool sets the rate on every broker of the old and new assignment, the gone one too, and times out on it
    const rate = plan.throttle.bytesPerSec;
    lines.push(
      `  copies data: kafka-reassign-partitions.sh --throttle would also set the rate on broker ${plan.broker}, which is gone, and fail; throttle the live brokers ${plan.throttle.brokers.filter((b) => b !== plan.broker).join(', ')} instead (kafka-configs.sh --alter --entity-type brokers --entity-name <id> --add-config leader.replication.throttled.rate=${rate},follower.replication.throttled.rate=${rate}) and run --execute without --throttle`,
    );
  }
  if (plan.elections.length > 0) {
    lines.push(`  then elect the preferred leader of ${plan.elections.length} partition${plan.elections.length === 1 ? '' : 's'} (kafka-leader-election.sh --election-type PREFERRED; --full lists them)`);
  }
  return `${lines.join('\n')}\n`;
}

function parseAction(value: string | undefined): Action | undefined {
  if (value === undefined) return undefined;
  if ((ACTIONS as readonly string[]).includes(value)) return value as Action;
  throw new VigilError('USAGE', `--action: expected one of ${ACTIONS.join(', ')}; got "${value}"`);
}

function parseBroker(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new VigilError('USAGE', `--broker: expected a broker id (a whole number); got "${value}"`);
  return Number(value);
}

/** The broker that holds replicas but is not in the metadata; an error when there are several. */
export function missingBroker(md: ClusterMetadata): number | undefined {
  const live = new Set(md.brokers.map((b) => b.nodeId));
  const missing = new Set<number>();
  for (const t of md.topics) for (const p of t.partitions) for (const r of p.replicas) if (!live.has(r)) missing.add(r);
  if (missing.size > 1) {
    throw new VigilError('USAGE', `brokers ${[...missing].sort((a, b) => a - b).join(', ')} hold replicas and are missing from the cluster; plan for one at a time with --broker <id>`);
  }
  return [...missing][0];
}
