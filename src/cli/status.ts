/**
 * `vigil status [--url <replica url>] [--config <file>] [--json]` (docs/design.md §7): the group
 * as the replicas see it — roles, term, leader, peers with last contact, Kafka and Redis
 * summaries. Asks the given replica, then every replica it names as a peer (so each
 * replica's own role is shown) and, if the contacted one is a follower, the leader.
 * Exit 0 with a leader, 1 when no replica leads with a valid lease, 2 (one-line reason)
 * when the contacted replica cannot be reached.
 */
import * as fs from 'node:fs';
import { clientScheme } from '../http/tls';
import type { Command } from 'commander';
import { loadConfig, parseConfigYaml } from '../config';

export const DEFAULT_STATUS_URL = 'http://127.0.0.1:9464';
const REQUEST_TIMEOUT_MS = 2000;

/** The parts of GET /api/v1/status this command reads. */
export interface ReplicaStatus {
  nodeId: string;
  role: string;
  term: number;
  leaderId: string | null;
  leaderUrl?: string | null;
  leaseValid: boolean;
  leaseRemainingMs?: number;
  peers: Array<{ id: string; url: string; connected: boolean; lastContactSeconds: number | null }>;
  kafka?: unknown;
  redis?: unknown;
}

export interface GroupView {
  contacted: { url: string; status: ReplicaStatus };
  /** The leader's own answer, when the contacted replica is a follower. */
  leader: { url: string; status: ReplicaStatus } | null;
  replicas: Array<{ id: string; url: string; status: ReplicaStatus | null; error: string | null }>;
}

export function fetchStatus(baseUrl: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ReplicaStatus> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL('/api/v1/status', `${baseUrl.replace(/\/+$/, '')}/`);
    } catch {
      reject(new Error(`"${baseUrl}" is not a URL; expected e.g. ${DEFAULT_STATUS_URL}`));
      return;
    }
    let scheme: ReturnType<typeof clientScheme>;
    try {
      // https:// replicas (node.tls): trusted through the system CAs, or NODE_EXTRA_CA_CERTS.
      scheme = clientScheme(url, undefined);
    } catch {
      reject(new Error(`"${baseUrl}" is not an http:// or https:// URL; expected e.g. ${DEFAULT_STATUS_URL}`));
      return;
    }
    const req = scheme.request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port,
      path: url.pathname,
      method: 'GET',
      headers: { accept: 'application/json' },
    });
    req.end();
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`${url.href} answered ${res.statusCode ?? '?'}`));
          return;
        }
        try {
          resolve(JSON.parse(text) as ReplicaStatus);
        } catch {
          reject(new Error(`${url.href} did not answer JSON (is this a vigil replica?)`));
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot reach ${url.origin}: ${err.code ?? err.message}`)));
  });
}

export async function fetchGroup(url: string): Promise<GroupView> {
  const status = await fetchStatus(url);
  const contacted = { url, status };
  const others = status.peers.map((p) => ({ id: p.id, url: p.url }));
  const answers = await Promise.all(
    others.map(async (p) => {
      try {
        return { ...p, status: await fetchStatus(p.url), error: null };
      } catch (err) {
        return { ...p, status: null, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  const replicas = [{ id: status.nodeId, url, status: status as ReplicaStatus | null, error: null as string | null }, ...answers].sort((a, b) => a.id.localeCompare(b.id));
  let leader: GroupView['leader'] = null;
  if (status.role !== 'leader' && status.leaderId !== null) {
    const entry = answers.find((a) => a.id === status.leaderId);
    if (entry?.status) leader = { url: entry.url, status: entry.status };
  }
  return { contacted, leader, replicas };
}

function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '-';
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(0)} s`;
}

function summary(v: unknown): string {
  if (typeof v !== 'object' || v === null) return 'unknown';
  const o = v as Record<string, unknown>;
  const state = typeof o['state'] === 'string' ? o['state'] : 'unknown';
  const rest = Object.entries(o)
    .filter(([k, x]) => k !== 'state' && (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean'))
    .map(([k, x]) => `${k}=${String(x)}`);
  return rest.length > 0 ? `${state} (${rest.join(', ')})` : state;
}

export function renderGroup(g: GroupView): string {
  const view = g.leader?.status ?? g.contacted.status;
  const acting = g.replicas.find((r) => r.status?.role === 'leader' && r.status.leaseValid);
  const lines: string[] = [];
  lines.push(
    acting
      ? `leader ${acting.id}, term ${acting.status?.term ?? '?'} (lease valid, ${acting.status?.leaseRemainingMs ?? '?'} ms left)`
      : `no leader with a valid lease (contacted ${g.contacted.status.nodeId}: ${g.contacted.status.role}, term ${g.contacted.status.term})`,
  );
  const lastContact = new Map(view.peers.map((p) => [p.id, p]));
  const rows = g.replicas.map((r) => {
    const peer = lastContact.get(r.id);
    return [
      r.id,
      r.status ? r.status.role : 'unreachable',
      r.status ? String(r.status.term) : '-',
      r.status ? (r.status.leaderId ?? '-') : '-',
      r.id === view.nodeId ? 'self' : fmtSeconds(peer?.lastContactSeconds),
      r.id === view.nodeId ? '-' : peer ? (peer.connected ? 'yes' : 'no') : '-',
      r.url,
    ];
  });
  const header = ['REPLICA', 'ROLE', 'TERM', 'LEADER', `LAST CONTACT (seen by ${view.nodeId})`, 'STREAM', 'URL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const fmt = (row: string[]): string => row.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  lines.push(fmt(header));
  for (const row of rows) lines.push(fmt(row));
  for (const r of g.replicas) if (r.error) lines.push(`${r.id}: ${r.error}`);
  lines.push(`kafka: ${summary(view.kafka)}`);
  lines.push(`redis: ${summary(view.redis)}`);
  return `${lines.join('\n')}\n`;
}

/** --url, else the first peer url of --config, else the default. */
export function statusUrlFrom(opts: { url?: string; config?: string }): string {
  if (opts.url) return opts.url;
  if (opts.config) {
    try {
      const first = loadConfig(opts.config).peers[0];
      if (first) return first.url;
    } catch {
      // The full config may need secrets this shell does not have; the peer list does not.
      try {
        const raw = parseConfigYaml(fs.readFileSync(opts.config, 'utf8'), opts.config) as { peers?: Array<{ url?: unknown }> };
        const url = raw?.peers?.[0]?.url;
        if (typeof url === 'string' && !url.includes('${')) return url;
      } catch {
        // fall through to the default
      }
    }
  }
  return DEFAULT_STATUS_URL;
}

export async function runStatus(opts: { url?: string; config?: string; json?: boolean }, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const url = statusUrlFrom(opts);
  let group: GroupView;
  try {
    group = await fetchGroup(url);
  } catch (e) {
    err.write(`vigil: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  if (opts.json) out.write(`${JSON.stringify(group)}\n`);
  else out.write(renderGroup(group));
  return group.replicas.some((r) => r.status?.role === 'leader' && r.status.leaseValid) ? 0 : 1;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the replica group: roles, term, leader, peers with last contact')
    .option('--url <url>', `a replica's base URL (default: the first peer of --config, else ${DEFAULT_STATUS_URL})`)
    .option('-c, --config <file>', 'take the replica URL from this config file')
    .option('--json', 'print one JSON object instead of a table')
    .action(async (opts: { url?: string; config?: string; json?: boolean }) => {
      process.exitCode = await runStatus(opts, process.stdout, process.stderr);
    });
}
