/**
 * A short description of a compiled config for people (check-config, start-up logs).
 * Never prints a secret: no election secret, admin token, passwords, PagerDuty keys,
 * webhook headers, and URLs reduced to scheme and host (Slack webhook paths and
 * Redis URLs carry credentials).
 */
import { formatDurationMs } from '../util/duration';
import type { ChannelConfig, TlsConfig, VigilConfig } from './types';

/** scheme://host:port only. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid url)';
  }
}

function hostPort(hp: { host: string; port: number }): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** "plaintext" or "TLS, client certificate", then the ACL user if any (never a password). */
function connectionSecurity(tls: TlsConfig | undefined, username: string | undefined): string {
  const parts = [tls === undefined ? 'plaintext' : 'TLS'];
  if (tls?.cert !== undefined) parts.push('client certificate');
  if (username !== undefined) parts.push(`user ${username}`);
  return parts.join(', ');
}

function channelLine(c: ChannelConfig): string {
  return `${c.name} (${c.type} → ${redactUrl(c.url)})`;
}

/** [label, text] rows. */
export function summarizeConfig(config: VigilConfig): [string, string][] {
  const { node, election, kafka, redis, lag, monitor, remediation, canary } = config;
  const peers = config.peers.map((p) => `${p.id}${p.id === node.id ? ' (this node)' : ''} ${p.url}`);
  const security = [
    kafka.ssl === false ? 'plaintext' : 'TLS',
    kafka.sasl ? `SASL ${kafka.sasl.mechanism} as ${kafka.sasl.username}` : undefined,
  ].filter((s) => s !== undefined);
  const redisText = redis.url !== undefined
    ? `${redactUrl(redis.url)} (${connectionSecurity(redis.tls, redis.username)})`
    : `sentinel "${redis.sentinel?.name ?? ''}" via ${(redis.sentinel?.sentinels ?? []).map(hostPort).join(', ')}` +
      ` (sentinels: ${connectionSecurity(redis.sentinel?.sentinelTls, redis.sentinel?.sentinelUsername)}; master: ${connectionSecurity(redis.tls, redis.username)})`;
  const ms = formatDurationMs;
  return [
    ['cluster', config.cluster],
    [
      'node',
      `${node.id}, listening on ${hostPort(node.listen)}${node.peerListen ? `, peer protocol on ${hostPort(node.peerListen)}` : ''}${node.tls ? ' (TLS)' : ''}, data in ${node.dataDir}`,
    ],
    ['peers', `${config.peers.length}: ${peers.join(', ')}`],
    [
      'election',
      `heartbeat ${ms(election.heartbeatIntervalMs)}, timeout ${ms(election.electionTimeoutMs)}, secret ${election.secret === '' ? 'not set' : 'set'}`,
    ],
    ['kafka', `${kafka.brokers.join(', ')} (${security.join(', ')})${kafka.controllers ? `; controllers ${kafka.controllers.join(', ')}` : ''}`],
    ['redis', redisText],
    ['monitor', `every ${ms(monitor.pollIntervalMs)}, groups ${monitor.groups.include.join(' ')}${monitor.groups.exclude.length > 0 ? ` except ${monitor.groups.exclude.join(' ')}` : ''}`],
    ['lag', `fire at ${ms(lag.thresholdMs)}, resolve below ${ms(lag.resolveBelowMs)} for ${ms(lag.resolveForMs)}${(lag.warnAheadMs ?? 0) > 0 ? `, warn ${ms(lag.warnAheadMs ?? 0)} ahead` : ''}, ${lag.overrides.length} override(s)`],
    ['canary', canary.enabled ? `on, topic ${canary.topic} every ${ms(canary.intervalMs)}` : 'off'],
    ['channels', config.alerting.channels.length === 0 ? 'none' : config.alerting.channels.map(channelLine).join(', ')],
    ['remediation', remediation.mode],
    ['admin API', config.http.adminToken === '' ? 'disabled (no http.adminToken)' : 'enabled (token set)'],
  ];
}
