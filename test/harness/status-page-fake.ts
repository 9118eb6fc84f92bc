/**
 * The status page served by an HttpServer whose API answers from documents the test sets:
 * for rendering checks (1,000 groups) and the render benchmark, where real Kafka with a
 * thousand consumer groups would measure Kafka, not the page. The documents have the
 * shapes of the real routes (service/status-routes.ts, service/monitor.ts).
 */
import { HttpServer } from '../../src/http/server';
import { sendJson } from '../../src/http/respond';
import { registerStatusPage } from '../../src/http/status-page';
import { silentLogger } from '../../src/log';
import { GroupLatencyHistory, type LatencyHistoryDoc } from '../../src/monitor/latency-history';

export interface FakeApi {
  status: Record<string, unknown>;
  lag: { generatedAt: string; thresholdSeconds: number; groups: unknown[] };
  alerts: unknown[];
  events: unknown[];
  /** GET /api/v1/lag/history */
  history: LatencyHistoryDoc;
}

export interface FakeStatusServer {
  readonly url: string;
  readonly api: FakeApi;
  close(): Promise<void>;
}

/** `count` groups, `breaching` of them in breach (worst first, like /api/v1/lag). */
export function fakeLag(count: number, breaching: number, nowMs = Date.now()): FakeApi['lag'] {
  const groups = [];
  for (let i = 0; i < count; i++) {
    const breach = i < breaching;
    // a little movement over time, so sparklines have a shape
    const wave = Math.sin(nowMs / 20_000 + i);
    const lagSeconds = breach ? 60 - i * 0.01 + 5 * wave : Math.max(0, 9 - (i * 9) / count + 0.5 * wave);
    const partitions = [0, 1].map((partition) => ({ partition, committed: 1000, end: 1010, lagMessages: 5, lagSeconds, breach }));
    const topic = { topic: `topic-${i % 50}`, lagSeconds, lagMessages: 10, breach, partitions };
    groups.push({ group: `group-${String(i).padStart(4, '0')}`, lagSeconds, lagMessages: 10, breach, topics: [topic] });
  }
  return { generatedAt: new Date(nowMs).toISOString(), thresholdSeconds: 10, groups };
}

/** What a leader would have kept over the five minutes before `nowMs`, a sample every 5 s. */
export function fakeHistory(groups: number, breaching: number, nowMs = Date.now()): LatencyHistoryDoc {
  const h = new GroupLatencyHistory();
  for (let t = nowMs - h.windowMs; t <= nowMs; t += h.stepMs) h.record(fakeLag(groups, breaching, t).groups as { group: string; lagSeconds: number | null }[], t);
  return h.document(nowMs);
}

export function fakeApi(groups: number, breaching: number): FakeApi {
  return {
    history: fakeHistory(groups, breaching),
    status: {
      nodeId: 'vigil-1',
      publicUrl: 'http://127.0.0.1:1/',
      cluster: 'bench',
      role: 'leader',
      term: 3,
      leaderId: 'vigil-1',
      leaderUrl: 'http://127.0.0.1:1/',
      leaseValid: true,
      leaseRemainingMs: 1500,
      votedFor: 'vigil-1',
      transferringTo: null,
      peers: [
        { id: 'vigil-2', url: 'http://127.0.0.1:2', publicUrl: 'http://127.0.0.1:2', connected: true, lastContactSeconds: 0.2 },
        { id: 'vigil-3', url: 'http://127.0.0.1:3', publicUrl: 'http://127.0.0.1:3', connected: true, lastContactSeconds: 0.3 },
      ],
      kafka: {
        state: 'up',
        clusterId: 'fake',
        controllerId: 1,
        brokers: 3,
        brokersDown: [],
        partitions: 100,
        brokerStates: [1, 2, 3].map((nodeId) => ({ nodeId, host: '127.0.0.1', port: 9091 + nodeId, reachable: true, inMetadata: true })),
        partitionHealth: { total: 100, offline: 0, underReplicated: 0, underMinIsr: 0 },
        at: new Date().toISOString(),
      },
      redis: { state: 'up', outbox: { degraded: false, redisUp: true, unsynced: 0, queued: 0, failed: 0, oldestQueuedSeconds: 0, failingChannels: [] } },
      version: 'test',
      uptimeSeconds: 10,
    },
    lag: fakeLag(groups, breaching),
    alerts: [],
    events: [],
  };
}

export interface FakeServerOptions {
  /**
   * Each GET /api/v1/lag regenerates the groups this much later than the previous one
   * (a virtual clock), so the page's five-minute history fills in a few dozen polls.
   */
  readonly advanceMsPerLagRequest?: number;
}

export async function startFakeStatusServer(api: FakeApi, opts: FakeServerOptions = {}): Promise<FakeStatusServer> {
  const server = new HttpServer({ logger: silentLogger });
  registerStatusPage(server);
  server.route('GET', '/api/v1/status', ({ res }) => sendJson(res, 200, api.status));
  let virtualMs = Date.now();
  server.route('GET', '/api/v1/lag', ({ res }) => {
    if (opts.advanceMsPerLagRequest !== undefined) {
      virtualMs += opts.advanceMsPerLagRequest;
      const breaching = api.lag.groups.filter((g) => (g as { breach: boolean }).breach).length;
      api.lag = fakeLag(api.lag.groups.length, breaching, virtualMs);
    }
    sendJson(res, 200, api.lag);
  });
  server.route('GET', '/api/v1/alerts', ({ res }) => sendJson(res, 200, { alerts: api.alerts }));
  server.route('GET', '/api/v1/monitor', ({ res }) => sendJson(res, 200, { kafka: api.status['kafka'], redis: api.status['redis'] }));
  server.route('GET', '/api/v1/lag/history', ({ res }) => sendJson(res, 200, api.history));
  server.route('GET', '/api/v1/events', ({ res }) => sendJson(res, 200, { events: api.events }));
  const addr = await server.listen('127.0.0.1', 0);
  return { url: `http://127.0.0.1:${addr.port}`, api, close: () => server.close() };
}
