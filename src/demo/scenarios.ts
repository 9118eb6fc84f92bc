/**
 * The incidents `vigil demo --scenario <name>` plays on the running stack, each ending
 * with the page it expects (docs/design.md §9). A scenario fails, with a reason, when an expected
 * page does not arrive within its deadline or a page repeats; deadlines are generous
 * upper bounds for a loaded laptop, not expectations.
 */
import type { WebhookBodyV1 } from '../alerting/types';
import { brokerMetadata, type LocalKafka } from '../local/kafka';
import type { LocalReplicas, ReplicaStatusDoc } from '../local/replicas';
import { WaitTimeoutError, waitFor } from '../local/wait';
import type { Clock } from '../util/clock';
import { HEALTHY_GROUP, ORDERS } from './config';
import type { ReceivedPage } from './timeline';
import type { DemoWorkload } from './workload';

export const SCENARIOS = ['stall-a-consumer', 'kill-a-broker', 'kill-the-vigil-leader'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}

export type ScenarioResult = { readonly ok: true; readonly conclusion: string } | { readonly ok: false; readonly reason: string };

export interface ScenarioContext {
  readonly kafka: LocalKafka;
  readonly replicas: LocalReplicas;
  readonly workload: DemoWorkload;
  readonly clock: Clock;
  /** every page received so far */
  pages(): ReceivedPage[];
  /** the leader's GET /api/v1/lag (through any running replica) */
  lag(): Promise<{ groups: Array<{ group: string; lagSeconds: number | null; breach: boolean | null }> }>;
  /** records a demo action on the timeline and prints it */
  act(text: string): void;
  /** prints a progress line */
  say(text: string): void;
}

/** Upper bounds (ms) for each expectation of a scenario. */
export const DEADLINES = {
  /** the leader reports the healthy group, below the threshold */
  baselineMs: 90_000,
  /** a page after the fault (the detection target is seconds; docs/design.md §10) */
  firingPageMs: 60_000,
  /** the resolved page after the fault is undone (includes lag.resolveFor) */
  resolvedPageMs: 90_000,
  /** a new vigil leader after the old one is killed */
  newLeaderMs: 30_000,
  /** a killed broker serves again */
  brokerRestartMs: 120_000,
} as const;

export async function runScenario(name: ScenarioName, ctx: ScenarioContext): Promise<ScenarioResult> {
  try {
    switch (name) {
      case 'stall-a-consumer':
        return await stallAConsumer(ctx);
      case 'kill-a-broker':
        return await killABroker(ctx);
      case 'kill-the-vigil-leader':
        return await killTheVigilLeader(ctx);
      default:
        return unreachable(name);
    }
  } catch (err) {
    if (err instanceof WaitTimeoutError || err instanceof ScenarioFailure) return { ok: false, reason: err.message };
    throw err;
  }
}

class ScenarioFailure extends Error {}

const isOrdersLag = (p: WebhookBodyV1): boolean => p.alert === 'ConsumerDeliveryLag' && p.group === HEALTHY_GROUP && p.topic === ORDERS.topic;

async function waitForPage(ctx: ScenarioContext, what: string, match: (p: WebhookBodyV1) => boolean, timeoutMs: number): Promise<WebhookBodyV1> {
  ctx.say(`waiting for ${what} (at most ${Math.round(timeoutMs / 1000)} s)`);
  const found = await waitFor(() => ctx.pages().find((p) => match(p.body)), { timeoutMs, intervalMs: 100, what });
  return found.body;
}

/** The leader reports orders-svc below the threshold: the incident starts from health. */
async function healthyBaseline(ctx: ScenarioContext): Promise<void> {
  ctx.say(`waiting for the leader to report ${HEALTHY_GROUP} keeping up with ${ORDERS.topic}`);
  await waitFor(
    async () => (await ctx.lag()).groups.some((g) => g.group === HEALTHY_GROUP && g.breach === false),
    { timeoutMs: DEADLINES.baselineMs, intervalMs: 500, what: `the leader's /api/v1/lag to list ${HEALTHY_GROUP} below the threshold` },
  );
}

/** Stall orders-svc and wait for its page; returns the firing page. */
async function stallUntilPaged(ctx: ScenarioContext): Promise<WebhookBodyV1> {
  await healthyBaseline(ctx);
  ctx.act(`stall ${HEALTHY_GROUP}: its consumer stops fetching ${ORDERS.topic} (paused, still in the group), so its committed offsets freeze`);
  ctx.workload.stallHealthy();
  return waitForPage(ctx, `the firing ConsumerDeliveryLag page for ${HEALTHY_GROUP}`, (p) => isOrdersLag(p) && p.status === 'firing', DEADLINES.firingPageMs);
}

async function resumeUntilResolved(ctx: ScenarioContext, firing: WebhookBodyV1): Promise<WebhookBodyV1> {
  ctx.act(`resume ${HEALTHY_GROUP}: its consumer fetches ${ORDERS.topic} again and catches up`);
  ctx.workload.resumeHealthy();
  return waitForPage(
    ctx,
    `the resolved page for ${HEALTHY_GROUP} (after ${ORDERS.topic} lag stays low for lag.resolveFor)`,
    (p) => isOrdersLag(p) && p.status === 'resolved' && p.startsAt === firing.startsAt,
    DEADLINES.resolvedPageMs,
  );
}

async function stallAConsumer(ctx: ScenarioContext): Promise<ScenarioResult> {
  const firing = await stallUntilPaged(ctx);
  await resumeUntilResolved(ctx, firing);
  return { ok: true, conclusion: `${HEALTHY_GROUP} paged once when it fell ${firing.lagSeconds === undefined ? '?' : firing.lagSeconds.toFixed(1)} s behind (cause ${firing.cause ?? '?'}), and resolved once it caught up` };
}

async function killABroker(ctx: ScenarioContext): Promise<ScenarioResult> {
  // Spare the active KRaft controller: killing it adds a controller election to the story.
  const controllerId = (await brokerMetadata(ctx.kafka.bootstrap[0] as string)).controllerId;
  const victim = [...ctx.kafka.brokerIds].reverse().find((id) => id !== controllerId) ?? (ctx.kafka.brokerIds[0] as number);
  ctx.act(`SIGKILL kafka broker ${victim} (pid ${ctx.kafka.pid(victim) ?? '?'}, ${ctx.kafka.brokerAddress(victim)})`);
  await ctx.kafka.kill(victim);
  const firing = await waitForPage(
    ctx,
    `the firing BrokerUnreachable page for broker ${victim}`,
    (p) => p.alert === 'BrokerUnreachable' && p.broker === victim && p.status === 'firing',
    DEADLINES.firingPageMs,
  );
  ctx.act(`restart kafka broker ${victim} (same port and data)`);
  ctx.say(`starting kafka broker ${victim} ...`);
  await ctx.kafka.start(victim, { timeoutMs: DEADLINES.brokerRestartMs });
  ctx.say(`kafka broker ${victim} serves again`);
  await waitForPage(
    ctx,
    `the resolved BrokerUnreachable page for broker ${victim}`,
    (p) => p.alert === 'BrokerUnreachable' && p.broker === victim && p.status === 'resolved' && p.startsAt === firing.startsAt,
    DEADLINES.resolvedPageMs,
  );
  return { ok: true, conclusion: `broker ${victim} paged as unreachable after the SIGKILL and resolved once it served again` };
}

async function killTheVigilLeader(ctx: ScenarioContext): Promise<ScenarioResult> {
  const firing = await stallUntilPaged(ctx);
  const old: ReplicaStatusDoc = await ctx.replicas.waitForLeader({ timeoutMs: DEADLINES.newLeaderMs });
  const killedAtMs = ctx.clock.monotonicMs();
  ctx.act(`SIGKILL the leading vigil replica ${old.nodeId} (term ${old.term}) while ${HEALTHY_GROUP}'s alert is open`);
  await ctx.replicas.kill(old.nodeId);
  const next = await ctx.replicas.waitForLeader({ excluding: [old.nodeId], minTerm: old.term + 1, timeoutMs: DEADLINES.newLeaderMs, intervalMs: 10 });
  ctx.say(`new leader: ${next.nodeId} in term ${next.term} (seen ${Math.round(ctx.clock.monotonicMs() - killedAtMs)} ms after the kill)`);
  ctx.act(`restart ${old.nodeId}: it rejoins as a follower`);
  await ctx.replicas.start(old.nodeId);
  await resumeUntilResolved(ctx, firing);
  const incident = ctx.pages().filter((p) => isOrdersLag(p.body) && p.body.startsAt === firing.startsAt);
  const firingPages = incident.filter((p) => p.body.status === 'firing');
  const resolvedPages = incident.filter((p) => p.body.status === 'resolved');
  if (firingPages.length !== 1 || resolvedPages.length !== 1) {
    throw new ScenarioFailure(
      `a page repeated across the failover: ${firingPages.length} firing and ${resolvedPages.length} resolved pages for ${firing.key} (expected one of each)`,
    );
  }
  return {
    ok: true,
    conclusion: `leadership moved ${old.nodeId} → ${next.nodeId} mid-incident; ${firing.key} paged once (sent by ${firingPages[0]?.body.sentBy.nodeId}) and resolved once (sent by ${resolvedPages[0]?.body.sentBy.nodeId}): no page repeated`,
  };
}

function unreachable(x: never): never {
  throw new Error(`unknown scenario ${String(x)}`);
}
