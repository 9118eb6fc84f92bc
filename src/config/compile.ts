/**
 * Raw YAML tree → VigilConfig: `${ENV}` expansion, defaults, validation of every key and
 * the cross-field rules, durations to milliseconds, files named by kafka.ssl read, then
 * deep-frozen. Pure apart from reading those files.
 *
 * Every problem is collected; `checkConfig` returns them, `compileConfig` throws them
 * as one VigilError CONFIG_INVALID (context.problems).
 */
import * as path from 'node:path';
import { VigilError } from '../errors';
import { formatDurationMs } from '../util/duration';
import {
  DEFAULTS,
  LOG_LEVELS,
  MIN_SECRET_LENGTH,
  OFFSETS_SOURCES,
  PLACEHOLDER_SECRET_RE,
  PUBLIC_SECRETS,
  REMEDIATION_MODES,
  SASL_MECHANISMS,
  SEVERITIES,
} from './defaults';
import { Env, expandEnv } from './env';
import { ConfigProblem, describeKind, formatProblem, indexPath, keyPath, Problems } from './problems';
import { PEM_FORM, readPem, readTls, TLS_KEYS } from './tls';
import {
  HOST_PORT_FORM,
  HostPort,
  isAbsent,
  isMap,
  parseHostPort,
  readBoolean,
  readDuration,
  readEnum,
  readFraction,
  readHostPort,
  readInteger,
  readList,
  readMap,
  readString,
  readUrl,
} from './read';
import type {
  ChannelConfig,
  ChannelType,
  KafkaConfig,
  KafkaSslConfig,
  LagOverride,
  PeerConfig,
  RedisSentinelConfig,
  NodeTlsConfig,
  VigilConfig,
} from './types';

/** Optional fields are filled in one by one while building; frozen at the end. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The keys each mapping accepts, by section ("[]" = every item of a list). The single
 * source for unknown-key checks, and the list docs/configuration.md is tested against.
 */
export const CONFIG_KEYS = {
  '': ['cluster', 'node', 'peers', 'election', 'kafka', 'redis', 'monitor', 'lag', 'canary', 'alerting', 'remediation', 'http', 'log'],
  node: ['id', 'listen', 'peerListen', 'dataDir', 'tls'],
  'node.tls': ['ca', 'cert', 'key'],
  'peers[]': ['id', 'url', 'peerUrl'],
  election: ['heartbeatInterval', 'electionTimeout', 'secret', 'maxClockSkew'],
  kafka: ['brokers', 'controllers', 'clientId', 'ssl', 'sasl', 'connectionTimeout', 'requestTimeout'],
  'kafka.ssl': TLS_KEYS,
  'kafka.sasl': ['mechanism', 'username', 'password'],
  redis: ['url', 'sentinel', 'username', 'password', 'tls'],
  'redis.tls': TLS_KEYS,
  'redis.sentinel': ['name', 'sentinels', 'password', 'sentinelUsername', 'sentinelPassword', 'sentinelTls'],
  'redis.sentinel.sentinelTls': TLS_KEYS,
  monitor: ['pollInterval', 'incidentPollInterval', 'groups', 'topics', 'offsetsSource'],
  'monitor.groups': ['include', 'exclude'],
  'monitor.topics': ['include', 'exclude'],
  lag: ['threshold', 'resolveBelow', 'resolveFor', 'severity', 'warnAhead', 'overrides'],
  'lag.overrides[]': ['group', 'topic', 'threshold', 'resolveBelow', 'severity', 'warnAhead'],
  canary: ['enabled', 'topic', 'interval'],
  alerting: ['channels', 'runbookUrl'],
  'alerting.channels[] webhook': ['type', 'name', 'url', 'headers'],
  'alerting.channels[] slack': ['type', 'name', 'url'],
  'alerting.channels[] pagerduty': ['type', 'name', 'routingKey', 'url'],
  'alerting.channels[] alertmanager': ['type', 'name', 'url'],
  remediation: [
    'mode',
    'brokerDownGrace',
    'hungAfter',
    'recoverGrace',
    'maxPartitionMovesPerBroker',
    'allowUncleanElection',
    'maxBrokersDownFraction',
    'cooldown',
    'maxPlanSize',
    'throttle',
  ],
  http: ['adminToken', 'maxConnections'],
  log: ['level'],
} as const satisfies Record<string, readonly string[]>;

const CHANNEL_TYPES: readonly ChannelType[] = ['webhook', 'slack', 'pagerduty', 'alertmanager'];

const ROOT_FORM = `a YAML mapping with the sections ${CONFIG_KEYS[''].join(', ')}`;

export interface CompileOptions {
  /** Directory relative paths (node.dataDir, kafka.ssl files) are resolved against. */
  baseDir: string;
}

export type CheckResult =
  | { readonly ok: true; readonly config: VigilConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Validates and compiles without throwing: the config, or every problem found. */
export function checkConfig(raw: unknown, env: Env, opts: CompileOptions): CheckResult {
  const p = new Problems();
  if (!isAbsent(raw) && !isMap(raw)) {
    // Not a config at all (a list, a scalar): listing every missing section would be noise.
    p.add('', `expected ${ROOT_FORM}; got ${describeKind(raw)}`);
    return { ok: false, problems: p.list };
  }
  // Validation walks the tree recursively: a document nested thousands deep would overflow
  // the stack (a crash, not a problem report).
  if (nestedDeeperThan(raw, MAX_NESTING)) {
    p.add('', `nested more than ${MAX_NESTING} levels deep; vigil's configuration has at most 5 — check the indentation and brackets`);
    return { ok: false, problems: p.list };
  }
  const expanded = expandEnv(raw, env, '', p);
  const config = build(p, expanded, opts.baseDir);
  if (p.count > 0) return { ok: false, problems: p.list };
  return { ok: true, config: deepFreeze(config) };
}

const MAX_NESTING = 32;

/** Whether mappings and lists in `value` nest more than `limit` deep; walks without recursion. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Validates and compiles; throws VigilError CONFIG_INVALID listing every problem. */
export function compileConfig(raw: unknown, env: Env, opts: CompileOptions): VigilConfig {
  const result = checkConfig(raw, env, opts);
  if (!result.ok) throw configInvalid(result.problems, undefined);
  return result.config;
}

/**
 * The error for a config with problems. The first line stands alone (CLI one-line
 * reasons, logs); the following lines list every problem; context.problems has them
 * as data.
 */
export function configInvalid(problems: readonly ConfigProblem[], file: string | undefined): VigilError {
  const where = file === undefined ? 'config' : `config file "${file}"`;
  const first = problems[0] === undefined ? '' : `: ${formatProblem(problems[0])}`;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more; "vigil check-config" lists all)` : '';
  const head = `${where} is invalid${first}${more}`;
  return new VigilError('CONFIG_INVALID', [head, ...problems.map((pr) => `  ${formatProblem(pr)}`)].join('\n'), {
    context: { file, problems },
  });
}

/** The problems carried by a CONFIG_INVALID error, or undefined for any other error. */
export function configProblemsOf(err: unknown): readonly ConfigProblem[] | undefined {
  if (!(err instanceof VigilError) || err.code !== 'CONFIG_INVALID') return undefined;
  const problems = err.context['problems'];
  return Array.isArray(problems) ? (problems as ConfigProblem[]) : undefined;
}

// Names that end up in Redis keys, metric labels and peer message headers.
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const NAME_FORM = 'a name of letters, digits, ".", "_" or "-" (at most 63, starting with a letter or digit)';
const nameForm = { test: (s: string) => NAME_RE.test(s), expected: NAME_FORM };

// Kafka's own rule for topic names.
const TOPIC_RE = /^[A-Za-z0-9._-]{1,249}$/;

function build(p: Problems, raw: unknown, baseDir: string): VigilConfig {
  if (isAbsent(raw)) {
    p.add('', `expected ${ROOT_FORM}; the file is empty`);
  }
  const root = readMap(p, '', isMap(raw) ? raw : {}, CONFIG_KEYS['']);

  const cluster = readString(p, 'cluster', root['cluster'], { required: true, form: nameForm });
  const peers = buildPeers(p, root['peers']);
  const node = buildNode(p, root['node'], peers, baseDir);
  const election = buildElection(p, root['election'], peers);
  const kafka = buildKafka(p, root['kafka'], baseDir);
  const redis = buildRedis(p, root['redis'], baseDir);
  const monitor = buildMonitor(p, root['monitor']);
  const lag = buildLag(p, root['lag']);
  const canary = buildCanary(p, root['canary']);
  const alerting = buildAlerting(p, root['alerting'], peers, node.id);
  const remediation = buildRemediation(p, root['remediation']);
  const http = buildHttp(p, root['http']);
  const logMap = readMap(p, 'log', root['log'], CONFIG_KEYS.log);
  const log = { level: readEnum(p, 'log.level', logMap['level'], LOG_LEVELS, DEFAULTS.log.level) };

  return { cluster, node, peers, election, kafka, redis, monitor, lag, canary, alerting, remediation, http, log };
}

function buildPeers(p: Problems, value: unknown): PeerConfig[] {
  const items = readList(p, 'peers', value, 'a list of { id, url, peerUrl }, one per replica, this one included', {
    required: true,
    nonEmpty: true,
  });
  const peers: PeerConfig[] = [];
  const firstById = new Map<string, number>();
  const firstByUrl = new Map<string, string>();
  items.forEach((item, i) => {
    const at = indexPath('peers', i);
    const m = readMap(p, at, item, CONFIG_KEYS['peers[]'], { required: true });
    const id = readString(p, keyPath(at, 'id'), m['id'], { required: true, form: nameForm });
    const url = readUrl(p, keyPath(at, 'url'), m['url'], {
      schemes: ['http', 'https'],
      example: 'http://10.0.0.2:9464',
      required: true,
      base: true,
    });
    // Required with more than one replica: judged in buildNode, which knows the count.
    const peerUrl = isAbsent(m['peerUrl'])
      ? undefined
      : readUrl(p, keyPath(at, 'peerUrl'), m['peerUrl'], { schemes: ['http', 'https'], example: 'http://10.0.0.2:9474', base: true });
    if (p.clean(keyPath(at, 'id')) && id !== '') {
      const seen = firstById.get(id);
      if (seen !== undefined) p.add(keyPath(at, 'id'), `duplicate peer id "${id}" (also peers[${seen}].id); ids must be unique`);
      else firstById.set(id, i);
    }
    for (const [key, u] of [['url', url], ['peerUrl', peerUrl]] as const) {
      if (u === undefined || u === '' || !p.clean(keyPath(at, key))) continue;
      const seen = firstByUrl.get(u);
      if (seen !== undefined) p.add(keyPath(at, key), `duplicate url (also ${seen}); each replica has its own public and peer listener`);
      else firstByUrl.set(u, keyPath(at, key));
    }
    peers.push(peerUrl === undefined ? { id, url } : { id, url, peerUrl });
  });
  checkPeerSchemes(p, peers);
  return peers;
}

/**
 * One scheme for every peer URL (issue 8, defect 6): http everywhere, or https everywhere
 * with node.tls. A mix would leave some links in plaintext that look protected.
 */
function checkPeerSchemes(p: Problems, peers: readonly PeerConfig[]): void {
  let first: { scheme: string; at: string } | undefined;
  peers.forEach((peer, i) => {
    for (const [key, u] of [['url', peer.url], ['peerUrl', peer.peerUrl]] as const) {
      const at = keyPath(indexPath('peers', i), key);
      if (u === undefined || u === '' || !p.clean(at)) continue;
      const scheme = new URL(u).protocol.replace(/:$/, '');
      if (first === undefined) first = { scheme, at };
      else if (scheme !== first.scheme) {
        p.add(at, `is ${scheme}:// but ${first.at} is ${first.scheme}://; every peer url and peerUrl uses the same scheme (https:// everywhere with node.tls, or http:// everywhere)`);
      }
    }
  });
}

/** The scheme every peer URL uses ('http' when unknown because of other problems). */
function peerScheme(peers: readonly PeerConfig[]): 'http' | 'https' {
  const u = peers.find((peer) => peer.url !== '')?.url;
  return u !== undefined && u.startsWith('https:') ? 'https' : 'http';
}

function urlPort(url: string): number | undefined {
  try {
    const u = new URL(url);
    if (u.port !== '') return Number(u.port);
    return u.protocol === 'https:' ? 443 : 80;
  } catch {
    return undefined;
  }
}

function buildNode(p: Problems, value: unknown, peers: readonly PeerConfig[], baseDir: string): VigilConfig['node'] {
  const m = readMap(p, 'node', value, CONFIG_KEYS.node, { required: true });
  const id = readString(p, 'node.id', m['id'], { required: true, form: nameForm });
  const listen = readHostPort(p, 'node.listen', m['listen'], { required: true });
  const peerListen = isAbsent(m['peerListen']) ? undefined : readHostPort(p, 'node.peerListen', m['peerListen']);
  const tls = readNodeTls(p, m['tls'], peers, baseDir);
  const dataDirRaw = readString(p, 'node.dataDir', m['dataDir'], { nonEmpty: true, default: path.join('data', id) });

  // Judged only when every peer id could be read: a malformed one may be this node's.
  const peerIdsReadable = p.clean('peers') || (peers.length > 0 && peers.every((peer) => peer.id !== ''));
  if (p.clean('node.id') && !isAbsent(m['id']) && peerIdsReadable) {
    const self = peers.find((peer) => peer.id === id);
    if (self === undefined) {
      const ids = peers.map((peer) => `"${peer.id}"`).join(', ');
      p.add('node.id', `"${id}" is not among the peers (${ids}); list every replica, this one included, under peers`);
    } else if (p.clean('node.listen', `${indexPath('peers', peers.indexOf(self))}.url`) && !isAbsent(m['listen'])) {
      // Peers reach this replica at its peer url, so that url must land on this listener.
      const port = urlPort(self.url);
      if (port !== undefined && port !== listen.port) {
        const at = indexPath('peers', peers.indexOf(self));
        p.add('node.listen', `port ${listen.port} differs from this node's url port ${port} (${at}.url); followers could not forward to it`);
      }
    }
    if (self !== undefined) checkPeerListener(p, m, { listen, peerListen, self, selfAt: indexPath('peers', peers.indexOf(self)), peers });
  }
  const node: Mutable<VigilConfig['node']> = { id, listen, dataDir: path.resolve(baseDir, dataDirRaw) };
  if (peerListen !== undefined) node.peerListen = peerListen;
  if (tls !== undefined) node.tls = tls;
  return node;
}

const PEER_LISTEN_EXAMPLE = '"0.0.0.0:9474"';

/**
 * The peer protocol has a listener of its own (issue 8, defect 9): with more than one
 * replica node.peerListen and every peers[].peerUrl are required, and this replica's
 * peerUrl must land on node.peerListen, a port apart from node.listen.
 */
function checkPeerListener(
  p: Problems,
  m: Record<string, unknown>,
  o: { listen: HostPort; peerListen: HostPort | undefined; self: PeerConfig; selfAt: string; peers: readonly PeerConfig[] },
): void {
  if (o.peers.length > 1) {
    if (isAbsent(m['peerListen'])) {
      p.add('node.peerListen', `is required with more than one peer: the election runs on a listener of its own, apart from node.listen; expected ${HOST_PORT_FORM}, e.g. ${PEER_LISTEN_EXAMPLE}, matching this node's peers[].peerUrl`);
    }
    o.peers.forEach((peer, i) => {
      const at = keyPath(indexPath('peers', i), 'peerUrl');
      if (peer.peerUrl === undefined && p.clean(at)) {
        p.add(at, `is required with more than one peer: the URL of that replica's node.peerListen, e.g. "http://10.0.0.2:9474"`);
      }
    });
  }
  if (o.peerListen === undefined || !p.clean('node.peerListen', 'node.listen')) return;
  if (o.peerListen.port === o.listen.port) {
    p.add('node.peerListen', `uses port ${o.peerListen.port} like node.listen; the peer protocol needs a port of its own, e.g. ${PEER_LISTEN_EXAMPLE}`);
    return;
  }
  if (o.self.peerUrl !== undefined && p.clean(keyPath(o.selfAt, 'peerUrl'))) {
    const port = urlPort(o.self.peerUrl);
    if (port !== undefined && port !== o.peerListen.port) {
      p.add('node.peerListen', `port ${o.peerListen.port} differs from this node's peerUrl port ${port} (${o.selfAt}.peerUrl); peers could not reach it`);
    }
  }
}

/**
 * node.tls: required when the peer URLs are https://, refused when they are http:// (a
 * TLS block that does nothing would look like protection). cert and key go together.
 */
function readNodeTls(p: Problems, value: unknown, peers: readonly PeerConfig[], baseDir: string): NodeTlsConfig | undefined {
  const scheme = peerScheme(peers);
  if (isAbsent(value)) {
    if (scheme === 'https' && p.clean('peers')) {
      p.add('node.tls', `is required when the peer urls are https:// (vigil does not fall back to plaintext); expected { ca, cert, key } with ${PEM_FORM}`);
    }
    return undefined;
  }
  const m = readMap(p, 'node.tls', value, CONFIG_KEYS['node.tls']);
  if (scheme === 'http' && p.clean('peers')) {
    p.add('node.tls', 'is set but the peer urls are http://; use https:// peer urls (url and peerUrl) to turn TLS on, or remove node.tls');
    return undefined;
  }
  const ca = readPem(p, 'node.tls.ca', m['ca'], baseDir);
  const cert = readPem(p, 'node.tls.cert', m['cert'], baseDir);
  const key = readPem(p, 'node.tls.key', m['key'], baseDir);
  for (const [k, v] of [['cert', m['cert']], ['key', m['key']]] as const) {
    if (isAbsent(v)) p.add(`node.tls.${k}`, `is required: both listeners serve this replica's certificate and key; expected ${PEM_FORM}`);
  }
  if (cert === undefined || key === undefined) return undefined;
  return ca === undefined ? { cert, key } : { ca, cert, key };
}

function buildElection(p: Problems, value: unknown, peers: readonly PeerConfig[]): VigilConfig['election'] {
  const m = readMap(p, 'election', value, CONFIG_KEYS.election);
  const d = DEFAULTS.election;
  const heartbeatIntervalMs = readDuration(p, 'election.heartbeatInterval', m['heartbeatInterval'], d.heartbeatIntervalMs);
  const electionTimeoutMs = readDuration(p, 'election.electionTimeout', m['electionTimeout'], d.electionTimeoutMs);
  const maxClockSkewMs = readDuration(p, 'election.maxClockSkew', m['maxClockSkew'], d.maxClockSkewMs);
  const secret = readString(p, 'election.secret', m['secret'], { secret: true });

  if (p.clean('election.heartbeatInterval', 'election.electionTimeout') && !(electionTimeoutMs > 2 * heartbeatIntervalMs)) {
    // A follower must be able to miss one heartbeat without starting an election.
    p.add(
      'election.electionTimeout',
      `must be more than 2 × election.heartbeatInterval (${formatDurationMs(heartbeatIntervalMs)}), ` +
        `i.e. more than ${formatDurationMs(2 * heartbeatIntervalMs)}; expected a duration such as "${formatDurationMs(4 * heartbeatIntervalMs)}"`,
    );
  }
  if (p.clean('election.secret')) {
    if (secret === '' && peers.length > 1) {
      p.add(
        'election.secret',
        `is required with more than one peer (peer messages are signed with it); expected a random string of at least ${MIN_SECRET_LENGTH} characters, e.g. "\${VIGIL_PEER_SECRET}"`,
      );
    } else if (secret !== '' && secret.length < MIN_SECRET_LENGTH) {
      p.add('election.secret', `is too short to resist guessing; expected at least ${MIN_SECRET_LENGTH} characters`);
    } else if (isPublicSecret(secret)) {
      p.add('election.secret', PUBLIC_SECRET_PROBLEM);
    }
  }
  return { heartbeatIntervalMs, electionTimeoutMs, secret, maxClockSkewMs };
}

function buildKafka(p: Problems, value: unknown, baseDir: string): KafkaConfig {
  const m = readMap(p, 'kafka', value, CONFIG_KEYS.kafka, { required: true });
  const d = DEFAULTS.kafka;
  const brokers = readBrokers(p, 'kafka.brokers', m['brokers']);
  const clientId = readString(p, 'kafka.clientId', m['clientId'], { default: d.clientId, nonEmpty: true });
  const ssl = readSsl(p, m['ssl'], baseDir);
  const connectionTimeoutMs = readDuration(p, 'kafka.connectionTimeout', m['connectionTimeout'], d.connectionTimeoutMs);
  const requestTimeoutMs = readDuration(p, 'kafka.requestTimeout', m['requestTimeout'], d.requestTimeoutMs);
  const kafka: Mutable<KafkaConfig> = {
    brokers,
    clientId,
    ssl,
    connectionTimeoutMs,
    requestTimeoutMs,
  };
  if (!isAbsent(m['controllers'])) kafka.controllers = readBrokers(p, 'kafka.controllers', m['controllers']);
  if (!isAbsent(m['sasl'])) {
    const s = readMap(p, 'kafka.sasl', m['sasl'], CONFIG_KEYS['kafka.sasl']);
    kafka.sasl = {
      mechanism: readEnum(p, 'kafka.sasl.mechanism', s['mechanism'], SASL_MECHANISMS, 'plain', { required: true }),
      username: readString(p, 'kafka.sasl.username', s['username'], { required: true, nonEmpty: true }),
      password: readString(p, 'kafka.sasl.password', s['password'], { required: true, nonEmpty: true, secret: true }),
    };
  }
  return kafka;
}

/** A YAML list of host:port, or one comma-separated string (what `${KAFKA_BROKERS}` gives). */
function readBrokers(p: Problems, at: string, value: unknown): string[] {
  const expected = `a list of ${HOST_PORT_FORM}`;
  const items =
    typeof value === 'string'
      ? value.split(',').map((s) => s.trim())
      : readList(p, at, value, expected, { required: true, nonEmpty: true });
  const brokers: string[] = [];
  items.forEach((item, i) => {
    const itemPath = typeof value === 'string' ? at : indexPath(at, i);
    const text = typeof item === 'string' ? item.trim() : undefined;
    if (text === undefined || parseHostPort(text) === undefined) {
      const got = typeof item === 'string' ? JSON.stringify(item) : describeKind(item);
      p.add(itemPath, `expected ${HOST_PORT_FORM}; got ${got}`);
      return;
    }
    brokers.push(text);
  });
  return brokers;
}

function readSsl(p: Problems, value: unknown, baseDir: string): KafkaSslConfig | false {
  return readTls(p, 'kafka.ssl', value, baseDir);
}

function buildRedis(p: Problems, value: unknown, baseDir: string): VigilConfig['redis'] {
  const m = readMap(p, 'redis', value, CONFIG_KEYS.redis, { required: true });
  const hasUrl = !isAbsent(m['url']);
  const hasSentinel = !isAbsent(m['sentinel']);
  if (!isAbsent(value) && isMap(value) && hasUrl === hasSentinel) {
    p.add(
      'redis',
      hasUrl
        ? 'expected exactly one of url or sentinel; got both'
        : 'expected url (e.g. "redis://127.0.0.1:6379") or sentinel ({ name, sentinels: ["host:26379"] })',
    );
  }
  const redis: Mutable<VigilConfig['redis']> = {};
  // Credentials and TLS of the Redis server itself, in either mode.
  const username = isAbsent(m['username']) ? undefined : readString(p, 'redis.username', m['username'], { nonEmpty: true });
  let password = isAbsent(m['password'])
    ? undefined
    : readString(p, 'redis.password', m['password'], { nonEmpty: true, secret: true });
  const tls = readTls(p, 'redis.tls', m['tls'], baseDir);

  if (hasUrl) {
    redis.url = readUrl(p, 'redis.url', m['url'], { schemes: ['redis', 'rediss'], example: 'redis://127.0.0.1:6379' });
    if (p.clean('redis.url') && redis.url !== '') {
      const u = new URL(redis.url);
      if (u.username !== '' || u.password !== '') {
        // Two sources for one credential: whichever won would surprise someone.
        for (const key of ['username', 'password'] as const) {
          if (!isAbsent(m[key])) p.add(`redis.${key}`, `is also given in redis.url; put the credentials in one place (e.g. redis.password: "\${VIGIL_REDIS_PASSWORD}" and a URL without them)`);
        }
      }
      const rediss = u.protocol === 'rediss:';
      if (!rediss && tls !== false) {
        p.add('redis.tls', 'applies to rediss:// URLs only; expected redis.url to start with "rediss://" (or remove redis.tls)');
      } else if (rediss && !isAbsent(m['tls']) && tls === false && p.clean('redis.tls')) {
        p.add('redis.tls', 'is false but redis.url is rediss:// (always TLS); expected a "redis://" URL, or remove redis.tls: false');
      }
      // rediss:// alone trusts the system CAs, as it always has.
      if (rediss) redis.tls = tls === false ? { rejectUnauthorized: true } : tls;
    }
  }
  if (hasSentinel) {
    const s = readMap(p, 'redis.sentinel', m['sentinel'], CONFIG_KEYS['redis.sentinel']);
    const name = readString(p, 'redis.sentinel.name', s['name'], { required: true, nonEmpty: true });
    const list = readList(p, 'redis.sentinel.sentinels', s['sentinels'], `a list of ${HOST_PORT_FORM}`, {
      required: true,
      nonEmpty: true,
    });
    const sentinels: HostPort[] = list.map((item, i) => readHostPort(p, indexPath('redis.sentinel.sentinels', i), item));
    const sentinel: Mutable<RedisSentinelConfig> = { name, sentinels };
    // redis.sentinel.password predates redis.password and means the same: the master's.
    if (!isAbsent(s['password'])) {
      if (password !== undefined) {
        p.add('redis.sentinel.password', 'is the same setting as redis.password (the master and replicas\' password); expected only redis.password');
      } else {
        password = readString(p, 'redis.sentinel.password', s['password'], { nonEmpty: true, secret: true });
      }
    }
    if (!isAbsent(s['sentinelUsername'])) {
      sentinel.sentinelUsername = readString(p, 'redis.sentinel.sentinelUsername', s['sentinelUsername'], { nonEmpty: true });
    }
    if (!isAbsent(s['sentinelPassword'])) {
      sentinel.sentinelPassword = readString(p, 'redis.sentinel.sentinelPassword', s['sentinelPassword'], { nonEmpty: true, secret: true });
    }
    if (sentinel.sentinelUsername !== undefined && isAbsent(s['sentinelPassword'])) {
      p.add('redis.sentinel.sentinelPassword', 'is required when redis.sentinel.sentinelUsername is set (an ACL user logs in with a password); expected e.g. "${VIGIL_SENTINEL_PASSWORD}"');
    }
    const sentinelTls = readTls(p, 'redis.sentinel.sentinelTls', s['sentinelTls'], baseDir);
    if (sentinelTls !== false) sentinel.sentinelTls = sentinelTls;
    if (tls !== false) redis.tls = tls;
    redis.sentinel = sentinel;
  }
  if (username !== undefined && password === undefined) {
    p.add('redis.password', 'is required when redis.username is set (an ACL user logs in with a password); expected e.g. "${VIGIL_REDIS_PASSWORD}"');
  }
  if (username !== undefined) redis.username = username;
  if (password !== undefined) redis.password = password;
  return redis;
}

const GLOB_FORM = 'a list of name globs such as ["orders-*", "payments"] ("*" any run of characters, "?" one)';

function readGlobs(p: Problems, at: string, value: unknown, def: readonly string[]): string[] {
  if (isAbsent(value)) return [...def];
  return readList(p, at, value, GLOB_FORM).map((item, i) =>
    readString(p, indexPath(at, i), item, { required: true, nonEmpty: true, form: { expected: 'a name glob' } }),
  );
}

function readGlob(p: Problems, at: string, value: unknown): string {
  return readString(p, at, value, { default: '*', nonEmpty: true, form: { expected: 'a name glob such as "payments-*"' } });
}

function buildMonitor(p: Problems, value: unknown): VigilConfig['monitor'] {
  const m = readMap(p, 'monitor', value, CONFIG_KEYS.monitor);
  const d = DEFAULTS.monitor;
  const pollIntervalMs = readDuration(p, 'monitor.pollInterval', m['pollInterval'], d.pollIntervalMs);
  // The default never exceeds the configured poll interval.
  const incidentDefault = Math.min(d.incidentPollIntervalMs, pollIntervalMs);
  const incidentPollIntervalMs = readDuration(p, 'monitor.incidentPollInterval', m['incidentPollInterval'], incidentDefault);
  if (p.clean('monitor.pollInterval', 'monitor.incidentPollInterval') && incidentPollIntervalMs > pollIntervalMs) {
    p.add(
      'monitor.incidentPollInterval',
      `must not exceed monitor.pollInterval (${formatDurationMs(pollIntervalMs)}): it is the faster rate used during incidents; expected a duration such as "250ms"`,
    );
  }
  const filter = (key: 'groups' | 'topics') => {
    const at = `monitor.${key}` as const;
    const f = readMap(p, at, m[key], CONFIG_KEYS[at]);
    return {
      include: readGlobs(p, `${at}.include`, f['include'], d.include),
      exclude: readGlobs(p, `${at}.exclude`, f['exclude'], d.exclude),
    };
  };
  const offsetsSource = readEnum(p, 'monitor.offsetsSource', m['offsetsSource'], OFFSETS_SOURCES, d.offsetsSource);
  return { pollIntervalMs, incidentPollIntervalMs, groups: filter('groups'), topics: filter('topics'), offsetsSource };
}

function buildLag(p: Problems, value: unknown): VigilConfig['lag'] {
  const m = readMap(p, 'lag', value, CONFIG_KEYS.lag);
  const d = DEFAULTS.lag;
  const thresholdMs = readDuration(p, 'lag.threshold', m['threshold'], d.thresholdMs);
  const resolveBelowMs = readDuration(p, 'lag.resolveBelow', m['resolveBelow'], d.resolveBelowMs);
  const resolveForMs = readDuration(p, 'lag.resolveFor', m['resolveFor'], d.resolveForMs, { minMs: 0 });
  const severity = readEnum(p, 'lag.severity', m['severity'], SEVERITIES, d.severity);
  const warnAheadMs = readDuration(p, 'lag.warnAhead', m['warnAhead'], d.warnAheadMs, { minMs: 0 });
  if (p.clean('lag.threshold', 'lag.resolveBelow') && !(resolveBelowMs < thresholdMs)) {
    p.add('lag.resolveBelow', resolveBelowMessage(thresholdMs, 'lag.threshold'));
  }
  if (p.clean('lag.threshold', 'lag.warnAhead') && !(warnAheadMs < thresholdMs)) {
    p.add('lag.warnAhead', warnAheadMessage(thresholdMs, 'lag.threshold'));
  }
  // Overrides inherit from these; judge them only against valid global values.
  const globalOk = p.clean('lag.threshold', 'lag.resolveBelow');

  const items = readList(p, 'lag.overrides', m['overrides'], 'a list of { group, topic, threshold, resolveBelow, severity, warnAhead }');
  const overrides: LagOverride[] = items.map((item, i) => {
    const at = indexPath('lag.overrides', i);
    const o = readMap(p, at, item, CONFIG_KEYS['lag.overrides[]'], { required: true });
    const group = readGlob(p, keyPath(at, 'group'), o['group']);
    const topic = readGlob(p, keyPath(at, 'topic'), o['topic']);
    if (isMap(item) && isAbsent(o['group']) && isAbsent(o['topic'])) {
      p.add(at, 'expected group and/or topic globs: an override without them matches everything (set lag.threshold instead)');
    }
    if (isMap(item) && isAbsent(o['threshold']) && isAbsent(o['resolveBelow']) && isAbsent(o['severity']) && isAbsent(o['warnAhead'])) {
      p.add(at, 'changes nothing; expected at least one of threshold, resolveBelow, severity or warnAhead');
    }
    const oThreshold = readDuration(p, keyPath(at, 'threshold'), o['threshold'], thresholdMs);
    // An override that only lowers the threshold keeps the global hysteresis ratio, so
    // "threshold: 5s" resolves below 4 s with the default 10 s / 8 s.
    const scaledResolve = isAbsent(o['threshold']) ? resolveBelowMs : Math.floor((oThreshold * resolveBelowMs) / thresholdMs);
    const oResolve = readDuration(p, keyPath(at, 'resolveBelow'), o['resolveBelow'], scaledResolve);
    const oSeverity = readEnum(p, keyPath(at, 'severity'), o['severity'], SEVERITIES, severity);
    // "0s" turns an inherited early warning off for the matching groups/topics
    const oWarnAhead = readDuration(p, keyPath(at, 'warnAhead'), o['warnAhead'], warnAheadMs, { minMs: 0 });
    const givenResolve = !isAbsent(o['resolveBelow']);
    const inputsOk =
      p.clean(keyPath(at, 'threshold'), keyPath(at, 'resolveBelow')) &&
      (!isAbsent(o['threshold']) || p.clean('lag.threshold')) &&
      (givenResolve || globalOk);
    if (inputsOk && !(oResolve < oThreshold)) {
      const thresholdFrom = isAbsent(o['threshold']) ? 'lag.threshold' : `${at}.threshold`;
      p.add(givenResolve ? keyPath(at, 'resolveBelow') : keyPath(at, 'threshold'), resolveBelowMessage(oThreshold, thresholdFrom));
    }
    const warnInputsOk =
      p.clean(keyPath(at, 'threshold'), keyPath(at, 'warnAhead')) &&
      (!isAbsent(o['threshold']) || p.clean('lag.threshold')) &&
      (!isAbsent(o['warnAhead']) || p.clean('lag.warnAhead'));
    if (warnInputsOk && !(oWarnAhead < oThreshold)) {
      const thresholdFrom = isAbsent(o['threshold']) ? 'lag.threshold' : `${at}.threshold`;
      p.add(isAbsent(o['warnAhead']) ? keyPath(at, 'threshold') : keyPath(at, 'warnAhead'), warnAheadMessage(oThreshold, thresholdFrom));
    }
    return { group, topic, thresholdMs: oThreshold, resolveBelowMs: oResolve, severity: oSeverity, warnAheadMs: oWarnAhead };
  });
  return { thresholdMs, resolveBelowMs, resolveForMs, severity, warnAheadMs, overrides };
}

function warnAheadMessage(thresholdMs: number, thresholdPath: string): string {
  // a group one message behind is at least 0 s old, so it is always within a lead of the whole threshold
  return `must be below ${thresholdPath} (${formatDurationMs(thresholdMs)}), else every group one message behind is warned about; expected a duration such as "${formatDurationMs(Math.floor(thresholdMs * 0.3))}", or "0s" for no early warning`;
}

function resolveBelowMessage(thresholdMs: number, thresholdPath: string): string {
  // Hysteresis: resolving at or above the firing threshold would flap on every wobble.
  return `must be below ${thresholdPath} (${formatDurationMs(thresholdMs)}) so an alert cannot flap; expected a duration such as "${formatDurationMs(Math.floor(thresholdMs * 0.8))}"`;
}

function buildCanary(p: Problems, value: unknown): VigilConfig['canary'] {
  const m = readMap(p, 'canary', value, CONFIG_KEYS.canary);
  const d = DEFAULTS.canary;
  return {
    enabled: readBoolean(p, 'canary.enabled', m['enabled'], d.enabled),
    topic: readString(p, 'canary.topic', m['topic'], {
      default: d.topic,
      form: { test: (s) => TOPIC_RE.test(s), expected: 'a Kafka topic name (letters, digits, ".", "_", "-"; at most 249)' },
    }),
    intervalMs: readDuration(p, 'canary.interval', m['interval'], d.intervalMs),
  };
}

/**
 * The channels, and the runbook base every page links to (src/alerting/runbook.ts), copied
 * onto each channel. The default base is this replica's own public url (peers[].url) + "/runbook", which
 * every replica serves (src/http/runbook.ts); it is only as reachable as that url is, so
 * set alerting.runbookUrl where on-call's browser cannot reach the peers' addresses.
 */
function buildAlerting(p: Problems, value: unknown, peers: readonly PeerConfig[], nodeId: string): VigilConfig['alerting'] {
  const a = readMap(p, 'alerting', value, CONFIG_KEYS.alerting);
  const self = peers.find((peer) => peer.id === nodeId);
  const runbookUrl = readRunbookUrl(p, a['runbookUrl'], self === undefined || self.url === '' ? '' : `${self.url}/runbook`);
  const channels = buildChannels(p, a['channels']).map((c) => ({ ...c, runbookUrl }));
  return { channels, runbookUrl };
}

const RUNBOOK_URL_EXAMPLE = 'https://vigil.example.com/runbook';

function readRunbookUrl(p: Problems, value: unknown, def: string): string {
  const at = 'alerting.runbookUrl';
  const url = readUrl(p, at, value, { schemes: ['http', 'https'], example: RUNBOOK_URL_EXAMPLE, default: def, base: true });
  if (isAbsent(value) || !p.clean(at)) return url;
  if (new URL(url).hash !== '' || url.includes('#')) {
    p.add(at, `must not carry a "#" fragment: vigil appends "#<alert anchor>" to it; expected a base URL such as "${RUNBOOK_URL_EXAMPLE}"`);
    return def;
  }
  return url;
}

function buildChannels(p: Problems, value: unknown): ChannelConfig[] {
  const items = readList(p, 'alerting.channels', value, 'a list of channels, each { type: webhook|slack|pagerduty|alertmanager, ... }');
  const channels: ChannelConfig[] = [];
  const firstByName = new Map<string, number>();
  const http = ['http', 'https'] as const;
  items.forEach((item, i) => {
    const at = indexPath('alerting.channels', i);
    if (!isMap(item)) {
      p.add(at, `expected a mapping with a type (${CHANNEL_TYPES.join(', ')}); got ${describeKind(item)}`);
      return;
    }
    if (isAbsent(item['type'])) {
      p.add(keyPath(at, 'type'), `is required; expected one of ${CHANNEL_TYPES.map((t) => `"${t}"`).join(', ')}`);
      return;
    }
    const type = readEnum(p, keyPath(at, 'type'), item['type'], CHANNEL_TYPES, 'webhook');
    if (!p.clean(keyPath(at, 'type'))) return;
    const m = readMap(p, at, item, CONFIG_KEYS[`alerting.channels[] ${type}`]);
    const name = readString(p, keyPath(at, 'name'), m['name'], { default: `${type}-${i}`, form: nameForm });
    if (p.clean(keyPath(at, 'name'))) {
      const seen = firstByName.get(name);
      if (seen !== undefined) {
        p.add(keyPath(at, 'name'), `duplicate channel name "${name}" (also alerting.channels[${seen}]); names label metrics and must be unique`);
      } else {
        firstByName.set(name, i);
      }
    }
    const url = (example: string, opts: { default?: string; base?: boolean } = {}) =>
      readUrl(p, keyPath(at, 'url'), m['url'], { schemes: http, example, required: opts.default === undefined, ...opts });
    switch (type) {
      case 'webhook':
        channels.push({
          type,
          name,
          url: url('https://hooks.example.com/vigil'),
          headers: readHeaders(p, keyPath(at, 'headers'), m['headers']),
        });
        break;
      case 'slack':
        channels.push({ type, name, url: url('https://hooks.slack.com/services/T000/B000/XXXX') });
        break;
      case 'pagerduty':
        channels.push({
          type,
          name,
          routingKey: readString(p, keyPath(at, 'routingKey'), m['routingKey'], {
            required: true,
            nonEmpty: true,
            secret: true,
            form: { expected: 'the integration key of a PagerDuty Events API v2 integration' },
          }),
          url: url(DEFAULTS.pagerdutyUrl, { default: DEFAULTS.pagerdutyUrl }),
        });
        break;
      case 'alertmanager':
        channels.push({ type, name, url: url('http://alertmanager:9093', { base: true }) });
        break;
      default: {
        const unreachable: never = type;
        throw new Error(`unhandled channel type ${String(unreachable)}`);
      }
    }
  });
  return channels;
}

// RFC 9110 token characters.
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function readHeaders(p: Problems, at: string, value: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  if (isAbsent(value)) return headers;
  if (!isMap(value)) {
    p.add(at, `expected a mapping of header name to value, such as { Authorization: "Bearer \${HOOK_TOKEN}" }; got ${describeKind(value)}`);
    return headers;
  }
  for (const [name, v] of Object.entries(value)) {
    const hp = keyPath(at, name);
    if (!HEADER_NAME_RE.test(name)) {
      p.add(hp, 'is not a valid HTTP header name; expected letters, digits and "-"');
      continue;
    }
    // Header values are often credentials: never echoed.
    // `X-Retry: 3` is a number to YAML, but a header value is text.
    const text = readString(p, hp, typeof v === 'number' ? String(v) : v, {
      required: true,
      secret: true,
      form: { test: (s) => !/[\r\n]/.test(s), expected: 'a header value on one line' },
    });
    headers[name] = text;
  }
  return headers;
}

const RATE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const RATE_FORM = 'a rate in bytes per second such as "50MiB", "100MB" or 52428800';

function readByteRate(p: Problems, at: string, value: unknown, def: number): number {
  if (isAbsent(value)) return def;
  let bytes: number | undefined;
  if (typeof value === 'number') bytes = value;
  else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*(?:\/s)?\s*$/i.exec(value);
    if (m) bytes = Math.round(Number(m[1]) * (RATE_UNITS[(m[2] ?? 'b').toLowerCase()] as number));
  }
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 1) {
    p.add(at, `expected ${RATE_FORM}; got ${JSON.stringify(value)}`);
    return def;
  }
  return Math.round(bytes);
}

function buildRemediation(p: Problems, value: unknown): VigilConfig['remediation'] {
  const m = readMap(p, 'remediation', value, CONFIG_KEYS.remediation);
  const d = DEFAULTS.remediation;
  return {
    mode: readEnum(p, 'remediation.mode', m['mode'], REMEDIATION_MODES, d.mode),
    brokerDownGraceMs: readDuration(p, 'remediation.brokerDownGrace', m['brokerDownGrace'], d.brokerDownGraceMs),
    hungAfterMs: readDuration(p, 'remediation.hungAfter', m['hungAfter'], d.hungAfterMs),
    recoverGraceMs: readDuration(p, 'remediation.recoverGrace', m['recoverGrace'], d.recoverGraceMs),
    maxPartitionMovesPerBroker: readInteger(p, 'remediation.maxPartitionMovesPerBroker', m['maxPartitionMovesPerBroker'], d.maxPartitionMovesPerBroker),
    allowUncleanElection: readBoolean(p, 'remediation.allowUncleanElection', m['allowUncleanElection'], d.allowUncleanElection),
    maxBrokersDownFraction: readFraction(p, 'remediation.maxBrokersDownFraction', m['maxBrokersDownFraction'], d.maxBrokersDownFraction),
    cooldownMs: readDuration(p, 'remediation.cooldown', m['cooldown'], d.cooldownMs, { minMs: 0 }),
    maxPlanSize: readInteger(p, 'remediation.maxPlanSize', m['maxPlanSize'], d.maxPlanSize),
    throttleBytesPerSec: readByteRate(p, 'remediation.throttle', m['throttle'], d.throttleBytesPerSec),
  };
}

function buildHttp(p: Problems, value: unknown): VigilConfig['http'] {
  const m = readMap(p, 'http', value, CONFIG_KEYS.http);
  const adminToken = readString(p, 'http.adminToken', m['adminToken'], { secret: true });
  const maxConnections = readInteger(p, 'http.maxConnections', m['maxConnections'], DEFAULTS.http.maxConnections, { min: 16, max: 65_536 });
  if (p.clean('http.adminToken') && adminToken !== '' && adminToken.length < MIN_SECRET_LENGTH) {
    p.add('http.adminToken', `is too short to resist guessing; expected at least ${MIN_SECRET_LENGTH} characters, or leave it empty to disable the admin endpoints`);
  } else if (p.clean('http.adminToken') && isPublicSecret(adminToken)) {
    p.add('http.adminToken', PUBLIC_SECRET_PROBLEM);
  }
  return { adminToken, maxConnections };
}

function isPublicSecret(value: string): boolean {
  return PUBLIC_SECRETS.includes(value.trim()) || PLACEHOLDER_SECRET_RE.test(value);
}

const PUBLIC_SECRET_PROBLEM =
  'is a published demo value or a placeholder, so anyone could forge it; expected a random string of your own, ' +
  'e.g. the output of "openssl rand -hex 32" (vigil demo makes its own)';

/** Freezes the whole tree, so no part of vigil can change the config it was started with. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

