/**
 * One vigil replica: the composition root behind `vigil run` (docs/design.md §1, §2, §7). It
 * wires storage, the HTTP server, the peer transport and the election driver, and offers
 * the extension points the monitor plugs into later:
 *
 *   replica.driver            isLeader() / term() / runIfLeader() / onRoleChange()
 *   replica.http.route(...)   more routes (/api/v1/lag ... and the status page)
 *   replica.leaderRoute(...)  a route a follower forwards to the leader
 *   replica.hooks             the kafka / redis parts of /api/v1/status, leader readiness
 *   replica.onShutdown(fn)    stop what was plugged in, before the server closes
 *
 * The replica elects whether or not Kafka and Redis are reachable: it does not touch them.
 */
import type { VigilConfig } from '../config/types';
import { ElectionDriver, hostMonotonicMs } from '../election/driver';
import { FileHardStateStore, type HardStateStore } from '../election/storage';
import { HttpPeerTransport } from '../election/transport/http';
import { describeError } from '../errors';
import { forwardToLeader } from '../http/forward';
import { openFilesSoftLimit, peerConnectionBound, publicConnectionBound } from '../http/limits';
import { registerRunbookRoute } from '../http/runbook';
import { registerStatusPage } from '../http/status-page';
import { HttpServer, PEER_LIMITS, PUBLIC_LIMITS, type Handler, type Method } from '../http/server';
import { defaultStatusHooks, registerStatusRoutes, type StatusHooks } from './status-routes';
import { createLogger, type Logger } from '../log';
import { createMetrics, type Metrics } from '../metrics';

export interface ReplicaOptions {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Default: the file store under config.node.dataDir. */
  readonly store?: HardStateStore;
  /**
   * Benchmarks only: every this many ms, run a no-op through `driver.runIfLeader` and log
   * the first and last action of each leadership ("guarded actions started/stopped"), so
   * a benchmark can prove that a deposed leader acts 0 times after its lease ends.
   */
  readonly guardedNoopIntervalMs?: number;
}

export interface ShutdownOptions {
  /** Hand leadership over first when leading (default true). */
  readonly transferLeadership?: boolean;
  /** How long to wait for another replica to take over (default: one election timeout). */
  readonly transferDeadlineMs?: number;
}

export class Replica {
  readonly config: VigilConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The public listener (node.listen). */
  readonly http: HttpServer;
  /** The peer protocol's listener (node.peerListen); null with a single replica and no peerListen. */
  readonly peerHttp: HttpServer | null;
  readonly driver: ElectionDriver;
  readonly hooks: StatusHooks;
  private readonly peerUrls: ReadonlyMap<string, string>;
  private readonly shutdownHooks: Array<() => Promise<void> | void> = [];
  private noopTimer: NodeJS.Timeout | undefined;
  private shuttingDown: Promise<void> | null = null;

  private constructor(config: VigilConfig, opts: ReplicaOptions, store: HardStateStore) {
    this.config = config;
    this.logger = opts.logger ?? createLogger({ level: config.log.level, nodeId: config.node.id });
    this.metrics = opts.metrics ?? createMetrics({ nodeId: config.node.id, cluster: config.cluster, defaultMetrics: true });
    this.peerUrls = new Map(config.peers.map((p) => [p.id, p.url]));
    const softLimit = openFilesSoftLimit();
    const tls = config.node.tls;
    this.http = new HttpServer({
      logger: this.logger,
      name: 'public',
      ...(tls ? { tls } : {}),
      limits: { ...PUBLIC_LIMITS, maxConnections: publicConnectionBound(config.http.maxConnections, softLimit) },
    });
    // The election gets a listener of its own (issue 8, defect 9); a single replica
    // without node.peerListen has no peers to talk to, so no listener either.
    this.peerHttp =
      config.node.peerListen === undefined
        ? null
        : new HttpServer({
            logger: this.logger,
            name: 'peer',
            ...(tls ? { tls } : {}),
            limits: { ...PEER_LIMITS, maxConnections: peerConnectionBound(PEER_LIMITS.maxConnections, softLimit) },
          });
    const transport = new HttpPeerTransport({
      selfId: config.node.id,
      peers: config.peers,
      secret: config.election.secret,
      maxClockSkewMs: config.election.maxClockSkewMs,
      ...(tls ? { tls } : {}),
      // Routes on a server that never listens answer nothing: a lone replica has no peers.
      server: this.peerHttp ?? new HttpServer({ logger: this.logger, name: 'peer' }),
      metrics: this.metrics,
      logger: this.logger,
    });
    this.driver = new ElectionDriver({
      id: config.node.id,
      members: config.peers.map((p) => p.id),
      timing: { heartbeatIntervalMs: config.election.heartbeatIntervalMs, electionTimeoutMs: config.election.electionTimeoutMs },
      store,
      transport,
      logger: this.logger,
      metrics: this.metrics,
    });
    this.hooks = defaultStatusHooks();
    registerStatusRoutes(this.http, {
      nodeId: config.node.id,
      cluster: config.cluster,
      driver: this.driver,
      metrics: this.metrics,
      adminToken: config.http.adminToken,
      peerUrls: this.peerUrls,
      hooks: this.hooks,
      startedAtMs: performance.now(),
    });
    // The page pages link to by default (alerting.runbookUrl): static, served by every replica.
    registerRunbookRoute(this.http);
    registerStatusPage(this.http); // GET /, fed by the API above
  }

  /**
   * Reads the election state (refusing a damaged file before anything listens), binds
   * node.peerListen and node.listen, then starts the election. On any failure nothing is
   * left running.
   */
  static async start(config: VigilConfig, opts: ReplicaOptions = {}): Promise<Replica> {
    const store = opts.store ?? new FileHardStateStore(config.node.dataDir);
    store.load(); // fail fast on an unreadable or damaged state file
    const replica = new Replica(config, opts, store);
    const { listen, peerListen } = config.node;
    try {
      if (replica.peerHttp !== null && peerListen !== undefined) await listenOrExplain(replica.peerHttp, peerListen, 'node.peerListen');
      await listenOrExplain(replica.http, listen, 'node.listen');
      replica.driver.start();
    } catch (err) {
      await replica.http.close();
      await replica.peerHttp?.close();
      throw err;
    }
    if (opts.guardedNoopIntervalMs !== undefined && opts.guardedNoopIntervalMs > 0) replica.startGuardedNoop(opts.guardedNoopIntervalMs);
    replica.logger.info(
      {
        listen: `${listen.host}:${listen.port}`,
        ...(peerListen ? { peerListen: `${peerListen.host}:${peerListen.port}` } : {}),
        tls: config.node.tls !== undefined,
        maxConnections: replica.http.limits.maxConnections,
        peers: config.peers.map((p) => p.id),
        stateFile: store.location,
      },
      'replica started',
    );
    return replica;
  }

  /** Base URL of the leader this replica knows, or null. */
  leaderUrl(): string | null {
    const id = this.driver.leaderId();
    return id === null ? null : (this.peerUrls.get(id) ?? null);
  }

  /**
   * A route only the leader answers: on the leader (valid lease) `handler` runs; on a
   * follower the request is forwarded to the leader (docs/design.md §7), or answered 503 NO_LEADER.
   */
  leaderRoute(method: Method, path: string, handler: Handler): void {
    this.http.route(method, path, async (ctx) => {
      if (this.driver.isLeader()) return handler(ctx);
      const id = this.driver.leaderId();
      const url = id === null ? undefined : this.peerUrls.get(id);
      await forwardToLeader(ctx.req, ctx.res, {
        selfId: this.config.node.id,
        leader: id !== null && url !== undefined ? { id, url } : null,
        logger: this.logger,
        ...(this.config.node.tls ? { tls: this.config.node.tls } : {}),
      });
    });
  }

  /** Runs `fn` during shutdown, after any leadership transfer and before the server closes. */
  onShutdown(fn: () => Promise<void> | void): void {
    this.shutdownHooks.push(fn);
  }

  /**
   * Graceful stop (SIGTERM, SIGINT): when leading, hand leadership over and wait until
   * another replica leads (or the deadline passes), then close. Idempotent.
   */
  shutdown(opts: ShutdownOptions = {}): Promise<void> {
    if (this.shuttingDown === null) this.shuttingDown = this.doShutdown(opts);
    return this.shuttingDown;
  }

  private async doShutdown(opts: ShutdownOptions): Promise<void> {
    const log = this.logger.child({ component: 'replica' });
    if ((opts.transferLeadership ?? true) && this.config.peers.length > 1 && this.driver.role() === 'leader') {
      const deadlineMs = opts.transferDeadlineMs ?? this.config.election.electionTimeoutMs;
      const out = this.driver.transferLeadership();
      if (out.ok) {
        log.info({ to: out.to, term: out.term, monoMs: hostMonotonicMs() }, 'shutting down: leadership transfer started');
        const handedOver = await this.driver.waitForOtherLeader(deadlineMs);
        if (handedOver) log.info({ leaderId: this.driver.leaderId(), term: this.driver.term() }, 'shutting down: another replica leads');
        else log.warn({ deadlineMs }, 'shutting down: no other replica took over before the deadline; the group will elect after a timeout');
      } else {
        log.warn({ reason: out.reason }, 'shutting down: leadership could not be transferred; the group will elect after a timeout');
      }
    }
    clearInterval(this.noopTimer);
    for (const fn of this.shutdownHooks) {
      try {
        await fn();
      } catch (err) {
        log.error({ err: describeError(err) }, 'a shutdown hook failed');
      }
    }
    // Closing the listeners first: peers that see their streams drop then get "connection
    // refused" at once and elect without waiting for a timeout.
    await this.peerHttp?.close();
    await this.http.close();
    await this.driver.stop();
    log.info({ term: this.driver.term() }, 'replica stopped');
  }

  private startGuardedNoop(intervalMs: number): void {
    const log = this.logger.child({ component: 'guarded-noop' });
    let episode: { term: number; count: number; firstMonoMs: number; lastMonoMs: number } | null = null;
    const close = (why: string): void => {
      if (episode === null) return;
      log.info({ ...episode, why, monoMs: hostMonotonicMs() }, 'guarded actions stopped');
      episode = null;
    };
    this.noopTimer = setInterval(() => {
      const r = this.driver.runIfLeader((term) => {
        const atMs = hostMonotonicMs(); // the "side effect": recording the instant it ran
        if (episode !== null && episode.term !== term) close('new term');
        if (episode === null) {
          episode = { term, count: 0, firstMonoMs: atMs, lastMonoMs: atMs };
          log.info({ term, firstMonoMs: atMs, monoMs: atMs }, 'guarded actions started');
        }
        episode.count++;
        episode.lastMonoMs = atMs;
      });
      if (!r.ran) close('lease not valid');
    }, intervalMs);
  }
}

async function listenOrExplain(server: HttpServer, at: { host: string; port: number }, key: string): Promise<void> {
  try {
    await server.listen(at.host, at.port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'EADDRINUSE'
        ? `cannot listen on ${at.host}:${at.port} (${key}): the address is in use (is another replica running with this config?); change ${key} or stop the other process`
        : `cannot listen on ${at.host}:${at.port} (${key}): ${describeError(err)}`,
    );
  }
}
