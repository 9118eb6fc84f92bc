/**
 * A private network of Linux network namespaces for fault benchmarks: vigil replicas on
 * separate "hosts" whose links can be cut, without touching the machine's own network.
 *
 *   svc ns  ── service net 127.100.0.0/16 ──┬── replica ns 1 (127.100.0.11 / 127.101.0.11)
 *   (Kafka, Redis, receivers, the driver)   ├── replica ns 2 (127.100.0.12 / 127.101.0.12)
 *                                           └── replica ns 3 (127.100.0.13 / 127.101.0.13)
 *                   replicas among themselves: peer net 127.101.0.0/16
 *
 * Both nets are bridges inside a hub namespace. A replica "partitioned from its peers"
 * has its peer-net port taken off the bridge (packets vanish, as on a real partition: no
 * reset, no unreachable error) while its service-net link still reaches Kafka and Redis;
 * "isolated" takes both off.
 *
 * Only loopback-range addresses are used. Inside each namespace the broad
 * `local 127.0.0.0/8` route is narrowed to 127.0.0.1 and `route_localnet` is set, so the
 * 127.100/127.101 addresses route over the veth links like any other subnet. The root
 * namespace is never changed. Needs root (CAP_NET_ADMIN) and iproute2.
 */
import { execFileSync } from 'node:child_process';

export interface LabReplica {
  /** namespace name, for `ip netns exec` */
  readonly ns: string;
  /** address on the service net (Kafka, Redis, receivers, the public API) */
  readonly svcAddr: string;
  /** address on the peer net (the peer protocol) */
  readonly peerAddr: string;
}

export interface NetLab {
  readonly tag: string;
  /** the namespace of the driver and of the services it starts */
  readonly svcNs: string;
  /** the services' address on the service net */
  readonly svcAddr: string;
  readonly replicas: readonly LabReplica[];
  /** replica i (0-based) loses its peer links; Kafka and Redis stay reachable */
  cutPeers(i: number): void;
  healPeers(i: number): void;
  /** replica i loses every link */
  isolate(i: number): void;
  heal(i: number): void;
  /** the argv that runs `command args` inside replica i's namespace */
  wrap(i: number, command: string, args: readonly string[]): { command: string; args: string[] };
  /** deletes every namespace (and so every link) of the lab; safe to call twice */
  destroy(): void;
}

/** Enough to name a lab from inside its svc namespace (passed to the re-executed driver). */
export interface NetLabHandle {
  readonly tag: string;
  readonly replicas: number;
}

const PREFIX = 'vigil-lab-';
const HUB_SVC_BRIDGE = 'brsvc';
const HUB_PEER_BRIDGE = 'brpeer';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function ipOut(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function nsNames(tag: string, replicas: number): { hub: string; svc: string; replicas: string[] } {
  return {
    hub: `${PREFIX}${tag}-hub`,
    svc: `${PREFIX}${tag}-svc`,
    replicas: Array.from({ length: replicas }, (_, i) => `${PREFIX}${tag}-r${i + 1}`),
  };
}

function addrs(i: number): { svcAddr: string; peerAddr: string } {
  return { svcAddr: `127.100.0.${11 + i}`, peerAddr: `127.101.0.${11 + i}` };
}

/** Makes 127.x addresses other than 127.0.0.1 routable over the namespace's links. */
function openLoopbackRange(ns: string): void {
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1', 'net.ipv4.conf.default.route_localnet=1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  ip('-n', ns, 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local');
  ip('-n', ns, 'route', 'replace', 'local', '127.0.0.1', 'dev', 'lo', 'table', 'local');
}

/** A veth pair from `ns` (interface `name`, address `addr`) to a port on a hub bridge. */
function link(names: { hub: string }, ns: string, name: string, hubPort: string, bridge: string, addr: string): void {
  ip('link', 'add', name, 'netns', ns, 'type', 'veth', 'peer', 'name', hubPort, 'netns', names.hub);
  ip('-n', names.hub, 'link', 'set', hubPort, 'master', bridge);
  ip('-n', names.hub, 'link', 'set', hubPort, 'up');
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.conf.${name}.route_localnet=1`], { stdio: ['ignore', 'ignore', 'pipe'] });
  ip('-n', ns, 'addr', 'add', `${addr}/16`, 'dev', name);
  ip('-n', ns, 'link', 'set', name, 'up');
}

function deleteNamespaces(names: readonly string[]): void {
  for (const ns of names) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
}

/** Removes namespaces left by labs whose process is gone (a SIGKILLed benchmark). */
export function removeStaleLabs(): number {
  let removed = 0;
  let list = '';
  try {
    list = ipOut('netns', 'list');
  } catch {
    return 0;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^vigil-lab-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      deleteNamespaces([name]);
      removed += 1;
    }
  }
  return removed;
}

/** Whether this process may build a lab here (root, iproute2, namespaces allowed). */
export function netLabSupported(): { ok: true } | { ok: false; reason: string } {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'network namespaces need root' };
  try {
    ipOut('netns', 'list');
  } catch (err) {
    return { ok: false, reason: `iproute2 'ip netns' unavailable: ${(err as Error).message}` };
  }
  return { ok: true };
}

/**
 * Builds the lab. The tag starts with this process's pid so a lab whose creator died is
 * recognised and removed by the next run (removeStaleLabs).
 */
export function createNetLab(opts: { replicas: number }): NetLab {
  removeStaleLabs();
  const tag = `${process.pid}-${Date.now().toString(36).slice(-4)}`;
  const names = nsNames(tag, opts.replicas);
  const all = [names.hub, names.svc, ...names.replicas];
  try {
    for (const ns of all) ip('netns', 'add', ns);
    ip('-n', names.hub, 'link', 'set', 'lo', 'up');
    for (const br of [HUB_SVC_BRIDGE, HUB_PEER_BRIDGE]) {
      ip('-n', names.hub, 'link', 'add', br, 'type', 'bridge');
      ip('-n', names.hub, 'link', 'set', br, 'up');
    }
    openLoopbackRange(names.svc);
    link(names, names.svc, 'svc', 'hs0', HUB_SVC_BRIDGE, '127.100.0.1');
    names.replicas.forEach((ns, i) => {
      openLoopbackRange(ns);
      const a = addrs(i);
      link(names, ns, 'svc', `hs${i + 1}`, HUB_SVC_BRIDGE, a.svcAddr);
      link(names, ns, 'peer', `hp${i + 1}`, HUB_PEER_BRIDGE, a.peerAddr);
    });
  } catch (err) {
    deleteNamespaces(all);
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`could not build the network lab (needs root and iproute2): ${stderr || (err as Error).message}`);
  }
  return labFor(tag, opts.replicas);
}

/** The lab `handle` names, as seen from any namespace (e.g. the re-executed driver). */
export function labFor(tag: string, replicas: number): NetLab {
  const names = nsNames(tag, replicas);
  const port = (kind: 's' | 'p', i: number) => `h${kind}${i + 1}`;
  const attach = (kind: 's' | 'p', i: number, on: boolean) => {
    if (on) ip('-n', names.hub, 'link', 'set', port(kind, i), 'master', kind === 's' ? HUB_SVC_BRIDGE : HUB_PEER_BRIDGE);
    else ip('-n', names.hub, 'link', 'set', port(kind, i), 'nomaster');
  };
  let destroyed = false;
  return {
    tag,
    svcNs: names.svc,
    svcAddr: '127.100.0.1',
    replicas: names.replicas.map((ns, i) => ({ ns, ...addrs(i) })),
    cutPeers: (i) => attach('p', i, false),
    healPeers: (i) => attach('p', i, true),
    isolate: (i) => {
      attach('p', i, false);
      attach('s', i, false);
    },
    heal: (i) => {
      attach('p', i, true);
      attach('s', i, true);
    },
    wrap: (i, command, args) => ({ command: 'ip', args: ['netns', 'exec', names.replicas[i] as string, command, ...args] }),
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      deleteNamespaces([...names.replicas, names.svc, names.hub]);
    },
  };
}
