/**
 * The Kafka monitor of one replica (issue 4): the Kafka adapter, the observer, the Redis
 * state store, the notifier and outbox, and the reconcile loop, plus their HTTP routes.
 * Every replica runs it; the loop acts only while the replica leads (Reconciler), and the
 * read routes of a follower are forwarded to the leader.
 */
import { AlertmanagerRefresher } from '../alerting/channels/alertmanager-refresh';
import { Notifier } from '../alerting/notifier';
import { Outbox } from '../alerting/outbox';
import type { VigilConfig } from '../config/types';
import { describeError } from '../errors';
import { parseEventsQuery } from '../http/events-query';
import { HttpError, sendJson } from '../http/respond';
import type { Handler, Method } from '../http/server';
import { KafkajsAdmin } from '../kafka/kafkajs-admin';
import { KafkajsCanaryPort } from '../kafka/kafkajs-canary';
import { KafkajsOffsetsLog } from '../kafka/kafkajs-offsets-log';
import { CommitStream } from '../monitor/commit-stream';
import { Canary } from '../monitor/canary';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { GroupLatencyHistory } from '../monitor/latency-history';
import { KafkaObserver } from '../monitor/observe';
import { quorumStatus } from '../monitor/quorum';
import { partitionHealth } from '../monitor/snapshot';
import { type Leadership, Reconciler } from '../reconcile/loop';
import { PagingActor } from '../reconcile/paging';
import { RemediationActor } from '../remediation/executor';
import { KafkaRemediation } from '../kafka/remediation-kafka';
import type { VigilElection } from '../election/leader-history';
import { FailoverJournal, registerFailoverRoute } from '../reconcile/failover-journal';
import { requireAdminToken } from '../http/auth';
import { RedisStateStore } from '../state/redis-store';
import { type Clock, systemClock } from '../util/clock';
import type { Replica } from './replica';

export interface MonitorDeps {
  readonly config: VigilConfig;
  readonly leadership: Leadership;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Registers a route the leader answers and a follower forwards to the leader. */
  readonly leaderRoute: (method: Method, path: string, handler: Handler) => void;
  /** The election this replica won last (the driver's), for the failover timeline. */
  readonly lastElection?: () => (VigilElection & { readonly electedAtWallMs: number }) | null;
}

export interface Monitor {
  readonly reconciler: Reconciler;
  /** The election changed: run a cycle now (take over, or stop acting). */
  leadershipChanged(): void;
  /** For /api/v1/status */
  kafkaStatus(): Record<string, unknown>;
  redisStatus(): Record<string, unknown>;
  stop(): Promise<void>;
}

/** The broker ping deadline: a broker slower than this within one poll counts as down. */
function pingTimeoutMs(config: VigilConfig): number {
  return Math.max(200, Math.min(1000, Math.floor(config.monitor.pollIntervalMs * 0.8)));
}

/**
 * How far ahead the leader arms breaches (docs/design.md §3.7): three poll intervals, so a
 * row's breach instant is exact (its record read) at least two cycles before it comes.
 */
function scheduleAheadMs(config: VigilConfig): number {
  return 3 * config.monitor.pollIntervalMs;
}

export function startMonitor(deps: MonitorDeps): Monitor {
  const { config, leadership, metrics, logger, clock } = deps;
  const log = logger.child({ component: 'monitor' });
  const admin = new KafkajsAdmin(config.kafka, logger.child({ component: 'kafka' }));
  const store = new RedisStateStore({ cluster: config.cluster, redis: config.redis, metrics, log: logger.child({ component: 'redis' }) });
  // The lease in exactly one term: a claim made in term X is sent only while this node
  // still leads in X (issue 8), never after it was re-elected in a later term.
  const stillLeading = (term: number) => leadership.isLeader() && leadership.term() === term;
  const notifier = new Notifier({ logger, metrics, clock });
  const channels = new Map(config.alerting.channels.map((c) => [c.name, c]));
  const outbox = new Outbox({
    store,
    nodeId: config.node.id,
    channels: [...channels.keys()],
    clock,
    metrics,
    log: logger,
    mayAct: stillLeading,
    deliver: async (notification, channelName, send) => {
      const channel = channels.get(channelName);
      if (!channel) return 'rejected';
      // The claim's term, never the current one; the outbox's beforeSend re-checks the lease
      // in that term and the claim in Redis before every attempt.
      const outcome = await notifier.deliver(notification, channel, { nodeId: config.node.id, term: send.term }, { beforeSend: send.beforeSend, signal: send.signal });
      return outcome.outcome;
    },
  });
  const refresher = config.alerting.channels.some((c) => c.type === 'alertmanager') ? new AlertmanagerRefresher(notifier, config.alerting.channels, clock) : undefined;
  const canaryPort = config.canary.enabled ? new KafkajsCanaryPort(config.kafka, logger.child({ component: 'kafka-canary' })) : null;
  const canary = canaryPort
    ? new Canary({ port: canaryPort, config: config.canary, nodeId: config.node.id, clock, logger, metrics, mayAct: () => leadership.isLeader() })
    : null;
  // Every replica tails __consumer_offsets (docs/design.md §3.6), so that a new leader holds
  // current offsets from its first cycle.
  const commits = config.monitor.offsetsSource === 'stream' ? new CommitStream(new KafkajsOffsetsLog(config.kafka, logger.child({ component: 'kafka-offsets' })), clock, logger) : null;
  commits?.start();
  const observer = new KafkaObserver(
    admin,
    {
      ...(commits ? { commits } : {}),
      lag: config.lag,
      groups: config.monitor.groups,
      topics: config.monitor.topics,
      brokerPingTimeoutMs: pingTimeoutMs(config),
      ...(commits ? { scheduleAheadMs: scheduleAheadMs(config) } : {}),
      ...(canary ? { canaryStates: () => canary.states() } : {}),
    },
    clock,
  );
  const paging = new PagingActor({ outbox, nodeId: config.node.id, logger: logger.child({ component: 'reconcile' }), ...(refresher ? { refresher } : {}) });
  const remediation = new RemediationActor({
    // Mutations carry the replica in their client id, so the brokers' request log and
    // quotas tell which vigil replica changed the cluster (docs/remediation.md).
    kafka: new KafkaRemediation({ ...config.kafka, clientId: `${config.kafka.clientId}-${config.node.id}` }, logger.child({ component: 'kafka-remediation' })),
    store,
    config: config.remediation,
    nodeId: config.node.id,
    clock,
    metrics,
    logger,
  });
  // The failover timeline (docs/monitoring.md): fed the cycle's snapshot like the other actors.
  const failovers = new FailoverJournal({ store, nodeId: config.node.id, metrics, logger, ...(deps.lastElection ? { lastElection: deps.lastElection } : {}) });
  const reconciler = new Reconciler({
    config,
    observer,
    store,
    actors: [paging, remediation, failovers],
    leadership,
    metrics,
    logger,
    clock,
    ...(commits ? { breaches: { confirmer: commits, aheadMs: scheduleAheadMs(config) } } : {}),
    failovers: () => failovers.recent(),
  });
  registerFailoverRoute(deps.leaderRoute, store);

  deps.leaderRoute(
    'GET',
    '/api/v1/lag',
    ({ res }) => {
      const report = reconciler.lagReport();
      if (!report) throw new HttpError(503, 'NO_SNAPSHOT', 'no Kafka snapshot yet (the leader has not completed a cycle, or Kafka is unreachable); retry in a second');
      sendJson(res, 200, report);
    },
  );
  deps.leaderRoute('GET', '/api/v1/alerts', ({ res }) => sendJson(res, 200, { alerts: reconciler.alerts() }));
  deps.leaderRoute(
    'GET',
    '/api/v1/events',
    async ({ res, url }) => {
      const query = parseEventsQuery(url.searchParams);
      try {
        sendJson(res, 200, { events: await store.readEvents(query) });
      } catch (err) {
        throw new HttpError(503, 'REDIS_UNAVAILABLE', `the events stream lives in Redis, which is not answering: ${describeError(err)}`);
      }
    },
  );

  // Remediation plans (docs/remediation.md): the leader's, read from Redis in its term.
  deps.leaderRoute('GET', '/api/v1/plans', ({ res }) => sendJson(res, 200, remediation.view()));
  deps.leaderRoute('POST', '/api/v1/plans/:id/execute', async ({ req, res, params }) => {
    requireAdminToken(req, config.http.adminToken);
    const term = leadership.term();
    const out = await remediation.execute({ term, mayAct: () => stillLeading(term) }, params['id'] ?? '');
    switch (out.status) {
      case 'executing':
        return sendJson(res, 202, { plan: out.record });
      case 'not-found':
        throw new HttpError(404, 'PLAN_NOT_FOUND', `no plan ${params['id']} (GET /api/v1/plans lists them; a plan whose cause is gone is dropped)`);
      case 'not-proposed':
        throw new HttpError(409, 'PLAN_NOT_PROPOSED', `plan ${out.record.plan.id} is ${out.record.status}${out.record.reason ? ` (${out.record.reason})` : ''}: only a proposed plan can be executed`);
      case 'unavailable':
        throw new HttpError(503, 'REMEDIATION_UNAVAILABLE', out.reason);
    }
  });

  // Where committed offsets come from, on this replica (docs/monitoring.md, "Committed offsets").
  const offsetsStatus = (): Record<string, unknown> => ({
    source: config.monitor.offsetsSource,
    ...(commits ? { stream: commits.status() } : {}),
    ...(reconciler.snapshot() ? { lastCycle: observer.lastOffsetsRead } : {}),
  });
  const kafkaStatus = (): Record<string, unknown> => {
    const snap = reconciler.snapshot();
    if (!snap) return { state: 'unknown', offsets: offsetsStatus() };
    if (!snap.ok) return { state: 'down', error: snap.error, at: new Date(snap.takenAtMs).toISOString(), offsets: offsetsStatus() };
    const down = snap.brokers.filter((b) => !b.reachable || !b.inMetadata).map((b) => b.nodeId);
    return {
      state: 'up',
      clusterId: snap.clusterId,
      controllerId: snap.controllerId,
      brokers: snap.brokers.length,
      brokersDown: down,
      partitions: snap.partitions.length,
      // Per broker and partition health, for the status page (GET /).
      // answers: how long it takes to answer vigil (ms; docs/design.md §4.3), absent without answers in the window
      brokerStates: snap.brokers.map((b) => ({
        nodeId: b.nodeId, host: b.host, port: b.port, reachable: b.reachable, inMetadata: b.inMetadata, ...(b.error ? { error: b.error } : {}), ...(b.answers ? { answers: b.answers } : {}),
      })),
      partitionHealth: partitionHealth(snap.partitions),
      groups: snap.groups.length,
      // The KRaft controller quorum: observed, leaderless or not observable (docs/monitoring.md).
      controllerQuorum: quorumStatus(snap.quorum, reconciler.quorumView()),
      offsets: offsetsStatus(),
      at: new Date(snap.takenAtMs).toISOString(),
    };
  };
  const redisStatus = (): Record<string, unknown> => ({ state: store.isUp() ? 'up' : 'down', outbox: outbox.status() });
  // The leader's view of Kafka and of its outbox, the one that delivers pages (a follower's
  // own /api/v1/status has neither: it does not observe Kafka nor page).
  deps.leaderRoute('GET', '/api/v1/monitor', ({ res }) => sendJson(res, 200, { kafka: kafkaStatus(), redis: redisStatus() }));

  // Recent latency per group for the status page's sparklines: the leader's, bounded.
  const latencyHistory = new GroupLatencyHistory();
  const historyTimer = setInterval(() => {
    const snap = reconciler.snapshot();
    const report = leadership.isLeader() && snap?.ok ? reconciler.lagReport() : null;
    if (snap && report) latencyHistory.record(report.groups, snap.takenAtMs);
  }, latencyHistory.stepMs);
  historyTimer.unref();
  const streamTimer = commits ? setInterval(() => recordStreamMetrics(metrics, commits), 1_000) : undefined;
  streamTimer?.unref();
  deps.leaderRoute('GET', '/api/v1/lag/history', ({ res }) => sendJson(res, 200, latencyHistory.document(clock.wallMs())));

  reconciler.start();
  log.info({ brokers: config.kafka.brokers, channels: [...channels.keys()] }, 'monitor started');

  return {
    reconciler,
    leadershipChanged: () => {
      if (leadership.isLeader()) canary?.start();
      else void canary?.stop();
      reconciler.leadershipChanged();
    },
    kafkaStatus,
    redisStatus,
    stop: async () => {
      clearInterval(historyTimer);
      if (streamTimer) clearInterval(streamTimer);
      await commits?.stop();
      await canary?.stop();
      await canaryPort?.close();
      // Closing the outbox first cancels retries and sends in flight (they stay pending in
      // Redis for the next leader), so the reconciler's stop does not wait out a dead receiver.
      outbox.close();
      await reconciler.stop();
      await Promise.allSettled([admin.close(), store.close()]);
    },
  };
}

/** The commit stream's own gauges: every replica's (each tails the topic). */
function recordStreamMetrics(metrics: Metrics, commits: CommitStream): void {
  const s = commits.status();
  metrics.offsetsStreamPartitions.set({ state: 'total' }, s.state === 'tailing' ? s.partitions : 0);
  metrics.offsetsStreamPartitions.set({ state: 'vouched' }, s.state === 'tailing' ? s.vouched : 0);
  if (s.state === 'tailing' && s.maxStalenessMs !== null) metrics.offsetsStreamStalenessSeconds.set(s.maxStalenessMs / 1000);
  else metrics.offsetsStreamStalenessSeconds.remove();
}

/**
 * Plugs the monitor into a running replica (`vigil run`): routes, the kafka/redis parts of
 * /api/v1/status, leader readiness (docs/design.md §7: a leader is ready only when Kafka answers),
 * role changes, and shutdown.
 */
export function attachMonitor(replica: Replica, clock: Clock = systemClock): Monitor {
  const monitor = startMonitor({
    config: replica.config,
    leadership: replica.driver,
    metrics: replica.metrics,
    logger: replica.logger,
    clock,
    leaderRoute: (method, path, handler) => replica.leaderRoute(method, path, handler),
    lastElection: () => replica.driver.lastElection(),
  });
  replica.hooks.kafkaStatus = () => monitor.kafkaStatus();
  replica.hooks.redisStatus = () => monitor.redisStatus();
  replica.driver.onRoleChange(() => monitor.leadershipChanged());
  replica.onShutdown(() => monitor.stop());
  monitor.leadershipChanged();
  return monitor;
}
