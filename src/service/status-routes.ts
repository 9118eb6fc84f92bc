/**
 * The routes every replica serves from the start (docs/design.md §7): /healthz, /readyz, /metrics,
 * GET /api/v1/status and POST /api/v1/leadership/transfer. Later components extend the
 * status document and readiness through the hooks instead of replacing these routes.
 */
import type { ElectionDriver } from '../election/driver';
import type { Metrics } from '../metrics';
import { VERSION } from '../version';
import { requireAdminToken } from '../http/auth';
import { HttpError, readJson, sendJson, sendText } from '../http/respond';
import type { HttpServer } from '../http/server';

export interface Readiness {
  readonly ready: boolean;
  /** Why not, in words ("kafka unreachable"). */
  readonly reason?: string;
}

/** Extension points, read on every request. */
export interface StatusHooks {
  /** The `kafka` object of /api/v1/status; default {state:"unknown"}. */
  kafkaStatus(): unknown;
  /** The `redis` object of /api/v1/status; default {state:"unknown"}. */
  redisStatus(): unknown;
}

export const defaultStatusHooks = (): StatusHooks => ({
  kafkaStatus: () => ({ state: 'unknown' }),
  redisStatus: () => ({ state: 'unknown' }),
});

export interface StatusRouteDeps {
  readonly nodeId: string;
  readonly cluster: string;
  readonly driver: ElectionDriver;
  readonly metrics: Metrics;
  readonly adminToken: string;
  /** Base URL of each replica by id (config peers). */
  readonly peerUrls: ReadonlyMap<string, string>;
  /**
   * Base URL people open for each replica (status page, API), when it differs from the
   * peer URL; default: the peer URLs. The status page links to these when the replica
   * serving it stops answering.
   */
  readonly publicUrls?: ReadonlyMap<string, string>;
  readonly hooks: StatusHooks;
  /** Monotonic start time, for uptime. */
  readonly startedAtMs: number;
}

/** The GET /api/v1/status document (docs/design.md §7). */
export function statusDocument(deps: StatusRouteDeps) {
  const s = deps.driver.status();
  const publicUrl = (id: string): string | null => deps.publicUrls?.get(id) ?? deps.peerUrls.get(id) ?? null;
  return {
    nodeId: deps.nodeId,
    publicUrl: publicUrl(deps.nodeId),
    cluster: deps.cluster,
    role: s.role,
    term: s.term,
    leaderId: s.leaderId,
    leaderUrl: s.leaderId === null ? null : (deps.peerUrls.get(s.leaderId) ?? null),
    leaseValid: s.leaseValid,
    leaseRemainingMs: Math.round(s.leaseRemainingMs),
    votedFor: s.votedFor,
    transferringTo: s.transferringTo,
    peers: s.peers.map((p) => ({
      id: p.id,
      url: p.url,
      publicUrl: publicUrl(p.id),
      connected: p.connected,
      lastContactSeconds: p.lastContactSeconds === null ? null : Math.round(p.lastContactSeconds * 1000) / 1000,
    })),
    kafka: deps.hooks.kafkaStatus(),
    redis: deps.hooks.redisStatus(),
    version: VERSION,
    uptimeSeconds: Math.round((performance.now() - deps.startedAtMs) / 100) / 10,
  };
}

export function registerStatusRoutes(server: HttpServer, deps: StatusRouteDeps): void {
  server.route('GET', '/healthz', ({ res }) => sendJson(res, 200, { status: 'ok', nodeId: deps.nodeId }));

  server.route('GET', '/readyz', ({ res }) => {
    const r = readiness(deps);
    sendJson(res, r.ready ? 200 : 503, { ready: r.ready, nodeId: deps.nodeId, role: deps.driver.role(), ...(r.reason ? { reason: r.reason } : {}) });
  });

  server.route('GET', '/metrics', async ({ res }) => {
    deps.driver.refreshMetrics();
    const text = await deps.metrics.registry.metrics();
    sendText(res, 200, text, deps.metrics.registry.contentType);
  });

  server.route('GET', '/api/v1/status', ({ res }) => sendJson(res, 200, statusDocument(deps)));

  server.route('POST', '/api/v1/leadership/transfer', async ({ req, res }) => {
    requireAdminToken(req, deps.adminToken);
    const body = await readJson(req, 4096);
    let to: string | undefined;
    if (body !== undefined) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'BAD_REQUEST', 'expected a JSON object such as {"to":"vigil-2"} or no body');
      const t = (body as Record<string, unknown>)['to'];
      if (t !== undefined && t !== null) {
        if (typeof t !== 'string' || t === '') throw new HttpError(400, 'BAD_REQUEST', '"to" must be a replica id (a peer id from the config)');
        to = t;
      }
    }
    const out = deps.driver.transferLeadership(to);
    if (out.ok) {
      sendJson(res, 202, { transferring: true, from: deps.nodeId, to: out.to, term: out.term });
      return;
    }
    switch (out.reason) {
      case 'not-leader': {
        const leader = deps.driver.leaderId();
        const where = leader === null ? 'no leader is known right now' : `the leader is ${leader} (${deps.peerUrls.get(leader) ?? '?'})`;
        throw new HttpError(409, 'NOT_LEADER', `replica ${deps.nodeId} is not the leader; ${where}: send the request there`);
      }
      case 'transfer-in-progress':
        throw new HttpError(409, 'TRANSFER_IN_PROGRESS', 'a leadership transfer is already under way; wait for it to finish (about one election timeout)');
      case 'unknown-target':
        throw new HttpError(400, 'UNKNOWN_TARGET', `"${to ?? ''}" is not a peer; use one of ${[...deps.peerUrls.keys()].filter((id) => id !== deps.nodeId).join(', ')}`);
      case 'target-not-responsive':
        throw new HttpError(409, 'TARGET_NOT_RESPONSIVE', `${to === undefined ? 'no follower' : `replica ${to}`} acknowledged a heartbeat within the lease; check that it runs and try again`);
      default: {
        const never: never = out.reason;
        throw new HttpError(500, 'INTERNAL', `unexpected transfer outcome ${String(never)}`);
      }
    }
  });
}

/**
 * Ready = in a quorum: a leader with a valid lease, or a follower that heard from one
 * within the election timeout. Kafka's and Redis' health are not part of it: they are
 * what vigil reports (metrics, /api/v1/status, pages), and a leader that was unready
 * during a Kafka incident blocked drains and rollouts (a PodDisruptionBudget counts
 * unready pods as disrupted) exactly when vigil was needed (issue 8).
 */
export function readiness(deps: Pick<StatusRouteDeps, 'driver'>): Readiness {
  if (!deps.driver.inQuorum()) {
    const role = deps.driver.role();
    return { ready: false, reason: role === 'leader' ? 'leader without a valid lease' : `not in a quorum (${role}, no leader heard from within the election timeout)` };
  }
  return { ready: true };
}
