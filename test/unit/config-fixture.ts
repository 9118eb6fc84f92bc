/**
 * A valid raw config (the docs/design.md §7 example with its secrets filled in) for the config
 * tests to start from; each call returns a fresh copy a test may change.
 */
export const PEER_SECRET = 'peer-secret-0123456789abcdef';
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

// Loosely typed on purpose: tests write wrong shapes into it.
export type Raw = Record<string, any>;

export function validRaw(): Raw {
  return {
    cluster: 'local',
    node: { id: 'vigil-1', listen: '127.0.0.1:9464', peerListen: '127.0.0.1:9474', dataDir: './data/vigil-1' },
    peers: [
      { id: 'vigil-1', url: 'http://127.0.0.1:9464', peerUrl: 'http://127.0.0.1:9474' },
      { id: 'vigil-2', url: 'http://127.0.0.1:9465', peerUrl: 'http://127.0.0.1:9475' },
      { id: 'vigil-3', url: 'http://127.0.0.1:9466', peerUrl: 'http://127.0.0.1:9476' },
    ],
    election: { heartbeatInterval: '100ms', electionTimeout: '400ms', secret: PEER_SECRET },
    kafka: { brokers: ['127.0.0.1:9092'], clientId: 'vigil' },
    redis: { url: 'redis://127.0.0.1:6379' },
    monitor: { pollInterval: '1s', groups: { include: ['*'], exclude: [] } },
    lag: {
      threshold: '10s',
      resolveBelow: '8s',
      resolveFor: '30s',
      overrides: [{ group: 'payments-*', threshold: '5s', severity: 'critical' }],
    },
    canary: { enabled: false, topic: '__vigil_canary', interval: '1s' },
    alerting: { channels: [{ type: 'webhook', url: 'http://127.0.0.1:9000/hook' }] },
    remediation: { mode: 'dry-run', brokerDownGrace: '10m', maxPartitionMovesPerBroker: 5 },
    http: { adminToken: ADMIN_TOKEN },
    log: { level: 'info' },
  };
}

/** The smallest valid config: one replica, no secret, defaults for everything else. */
export function minimalRaw(): Raw {
  return {
    cluster: 'c1',
    node: { id: 'solo', listen: '127.0.0.1:9464' },
    peers: [{ id: 'solo', url: 'http://127.0.0.1:9464' }],
    kafka: { brokers: ['127.0.0.1:9092'] },
    redis: { url: 'redis://127.0.0.1:6379' },
  };
}
