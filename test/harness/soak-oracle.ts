/**
 * The fault soak's judge (issue 8, "Prove it"): a pure function from what happened — the
 * truth of every consumer group's delivery latency, every page each receiver read, every
 * fault the driver injected, every replica exit — to counts and the list of findings.
 * No I/O, no clock: test/unit/soak-oracle.test.ts feeds it synthetic timelines.
 *
 * What a receiver "has" is what it answered 2xx: that is all the sender learns, so that
 * is what exactly-once is judged on. A page a receiver read but did not answer (black-
 * holed, or a slow answer the sender had stopped waiting for) is the at-least-once edge:
 * the sender never heard back and must send again. Such reads are counted apart, each
 * with the receiver fault that explains it; so are answered duplicates explained by the
 * sender dying (or being paused or cut off) between the receiver's answer and the
 * settle in Redis.
 *
 * Checks:
 * - every true lag incident (truth crossing the threshold for at least `requiredBreachMs`)
 *   paged once firing and once resolved on every receiver; no lag page without a true
 *   breach around its startsAt (a page while the truth was unknown — the workload had
 *   unacknowledged sends — is counted apart as unjudged);
 * Answered duplicates are the edge when the first copy's sender was killed, paused, stopped
 * or cut off around it, when Redis was down around it and another node sent the copy, or
 * when leadership moved to a newer term within `senderFaultBeforeMs` of the first answer
 * (the old leader's settle is refused by the fence; its attempt may even still be in
 * flight when the new leader finishes the claim).
 *
 * - per receiver and alert key: one answered copy per page (key, startsAt, status); a
 *   firing page is followed by its resolved one before the next firing (a second firing
 *   without a resolved between is a duplicate); every firing page resolved by the end
 *   unless the leader still reports it open; every page that reached one receiver reached
 *   every receiver;
 * - a page owed while its receiver was down or black-holed arrives within `backBoundMs`
 *   (black-holed: `blackholeBackBoundMs`) after the receiver came back;
 * - at most one node id per term across all pages; no page carrying a term older than
 *   one a receiver already read (a send crossing the newer leader's first page within
 *   `inFlightMs`, or released by SIGCONT of its paused sender, is in-flight reordering,
 *   counted apart);
 * - no replica exits unless the driver made it.
 */

export type ReceiverMode = 'up' | 'down' | 'blackhole' | 'slow';

/** What a receiver read: one HTTP request with a page. */
export interface ReadPage {
  readonly receiver: string;
  /** 'webhook': vigil's generic body; 'pagerduty': an Events API v2 event */
  readonly format: 'webhook' | 'pagerduty';
  readonly body: unknown;
  /** the request (with its body) had arrived */
  readonly receivedAtMs: number;
  /** the receiver answered 2xx and the sender was still there to read it */
  readonly answered: boolean;
  readonly answeredAtMs?: number;
  readonly mode: ReceiverMode;
}

export type FaultKind =
  | 'leader-kill'
  | 'leader-stop'
  | 'leader-term'
  | 'peer-partition'
  | 'broker-kill'
  | 'broker-pause'
  | 'redis-restart-aof'
  | 'redis-restart-wiped'
  | 'sentinel-failover'
  | 'receiver-down'
  | 'receiver-blackhole'
  | 'receiver-slow';

export interface FaultRecord {
  readonly id: number;
  readonly kind: FaultKind;
  /** replica id, broker id, receiver name or "redis" */
  readonly target: string;
  readonly startMs: number;
  /** when the driver undid it (restart done, SIGCONT sent, link back, receiver up) */
  readonly endMs: number;
}

export interface ReplicaExit {
  readonly replica: string;
  readonly atMs: number;
  readonly code: number | null;
  readonly signal: string | null;
  /** the driver caused it (SIGKILL, SIGTERM of a fault, or the final shutdown) */
  readonly expected: boolean;
}

export interface TruthSeries {
  /** the lag alert key vigil uses for this group and topic */
  readonly key: string;
  /** [atMs, true delivery latency ms] in time order; NaN = unknown at that moment */
  readonly samples: ReadonlyArray<readonly [number, number]>;
}

export interface SoakTimeline {
  readonly thresholdMs: number;
  readonly resolveBelowMs: number;
  readonly resolveForMs: number;
  readonly receivers: readonly string[];
  readonly truth: readonly TruthSeries[];
  readonly pages: readonly ReadPage[];
  readonly faults: readonly FaultRecord[];
  readonly exits: readonly ReplicaExit[];
  /** alert keys the leader still reported open when the soak ended */
  readonly openAtEnd: readonly string[];
}

export interface OracleOptions {
  /** a true incident must page when its breach lasted this long (default 4 s) */
  readonly requiredBreachMs?: number;
  /** slack around a true incident for a page's startsAt (measurement, poll; default 2.5 s) */
  readonly matchSlackMs?: number;
  /** owed page after a down receiver came back (default 2 s) */
  readonly backBoundMs?: number;
  /** owed page after a black-holed receiver came back: the attempt in flight times out first (default 6 s) */
  readonly blackholeBackBoundMs?: number;
  /** an older-term page arriving this soon after a newer term's first page is in flight (default 1 s) */
  readonly inFlightMs?: number;
  /** a sender fault this close to an answered copy explains a re-send (default 5 s before, 2 s after) */
  readonly senderFaultBeforeMs?: number;
  readonly senderFaultAfterMs?: number;
}

/** One page in receiver-neutral form. */
interface Norm {
  readonly read: ReadPage;
  readonly key: string;
  readonly status: 'firing' | 'resolved';
  /** the incident's identity; PagerDuty resolves inherit it from the trigger they close */
  startsAt: string | undefined;
  readonly endsAt: string | undefined;
  readonly sentBy: { nodeId: string; term: number } | undefined;
}

export interface TrueIncident {
  readonly key: string;
  readonly openMs: number;
  /** last moment the truth was at or above resolveBelow */
  readonly belowMs: number;
  readonly peakMs: number;
  readonly required: boolean;
}

export interface Finding {
  readonly what: string;
  readonly receiver?: string;
  readonly key?: string;
  readonly detail?: unknown;
}

export interface OracleReport {
  incidents: number;
  requiredIncidents: number;
  pagesByReceiver: Record<string, { answered: number; unanswered: number }>;
  duplicates: number;
  atLeastOnceEdge: number;
  lost: number;
  falsePages: number;
  /** lag pages whose truth was unknown in the 12 s before startsAt: neither true nor false */
  unjudgedPages: number;
  worstDelayAfterBackMs: number | null;
  worstDelayAfterBlackholeMs: number | null;
  lateAfterBack: number;
  termConflicts: number;
  staleTermPages: number;
  staleTermInFlight: number;
  crashes: number;
  findings: Finding[];
  edges: Finding[];
}

const LAG_ALERT = '/ConsumerDeliveryLag/';
const SENDER_FAULTS: readonly FaultKind[] = ['leader-kill', 'leader-stop', 'leader-term', 'peer-partition'];
const REDIS_FAULTS: readonly FaultKind[] = ['redis-restart-aof', 'redis-restart-wiped', 'sentinel-failover'];
const RECEIVER_FAULTS: readonly FaultKind[] = ['receiver-down', 'receiver-blackhole', 'receiver-slow'];
const PAGING_FAULTS: readonly FaultKind[] = [...SENDER_FAULTS, ...REDIS_FAULTS, 'broker-kill', 'broker-pause'];

/** True incidents of one series, with vigil's hysteresis (fire above threshold, resolve below resolveBelow for resolveFor). */
export function trueIncidents(series: TruthSeries, t: Pick<SoakTimeline, 'thresholdMs' | 'resolveBelowMs' | 'resolveForMs'>, requiredBreachMs: number): TrueIncident[] {
  const out: TrueIncident[] = [];
  let open: { openMs: number; belowMs: number; peakMs: number; lastAboveMs: number } | undefined;
  let belowSince: number | undefined;
  for (const [atMs, latencyMs] of series.samples) {
    if (Number.isNaN(latencyMs)) continue;
    if (open === undefined) {
      if (latencyMs > t.thresholdMs) {
        open = { openMs: atMs, belowMs: atMs, peakMs: latencyMs, lastAboveMs: atMs };
        belowSince = undefined;
      }
      continue;
    }
    open.peakMs = Math.max(open.peakMs, latencyMs);
    if (latencyMs > t.thresholdMs) open.lastAboveMs = atMs;
    if (latencyMs >= t.resolveBelowMs) {
      open.belowMs = atMs;
      belowSince = undefined;
    } else {
      belowSince ??= atMs;
      if (atMs - belowSince >= t.resolveForMs) {
        out.push(close(series.key, open, requiredBreachMs));
        open = undefined;
        belowSince = undefined;
      }
    }
  }
  // still open at the end of the truth: an incident all the same (it should be reported open)
  if (open !== undefined) out.push(close(series.key, open, requiredBreachMs));
  return out;
}

function close(key: string, o: { openMs: number; belowMs: number; peakMs: number; lastAboveMs: number }, requiredBreachMs: number): TrueIncident {
  return { key, openMs: o.openMs, belowMs: o.belowMs, peakMs: o.peakMs, required: o.lastAboveMs - o.openMs >= requiredBreachMs };
}

function normalize(read: ReadPage): Norm | undefined {
  const b = read.body as Record<string, unknown> | undefined;
  if (b === undefined || b === null || typeof b !== 'object') return undefined;
  if (read.format === 'webhook') {
    if (typeof b['key'] !== 'string' || (b['status'] !== 'firing' && b['status'] !== 'resolved')) return undefined;
    return {
      read,
      key: b['key'],
      status: b['status'],
      startsAt: typeof b['startsAt'] === 'string' ? b['startsAt'] : undefined,
      endsAt: typeof b['endsAt'] === 'string' ? b['endsAt'] : undefined,
      sentBy: sentByOf(b['sentBy']),
    };
  }
  const action = b['event_action'];
  if (typeof b['dedup_key'] !== 'string' || (action !== 'trigger' && action !== 'resolve')) return undefined;
  const details = ((b['payload'] as Record<string, unknown> | undefined)?.['custom_details'] ?? {}) as Record<string, unknown>;
  return {
    read,
    key: b['dedup_key'],
    status: action === 'trigger' ? 'firing' : 'resolved',
    startsAt: typeof details['startsAt'] === 'string' ? details['startsAt'] : undefined,
    endsAt: undefined,
    sentBy: sentByOf(details['sentBy']),
  };
}

function sentByOf(v: unknown): { nodeId: string; term: number } | undefined {
  const s = v as { nodeId?: unknown; term?: unknown } | undefined;
  return s && typeof s.nodeId === 'string' && typeof s.term === 'number' ? { nodeId: s.nodeId, term: s.term } : undefined;
}

const idOf = (n: Norm): string => `${n.key}@${n.startsAt ?? '?'}#${n.status}`;
const at = (n: Norm): number => n.read.answeredAtMs ?? n.read.receivedAtMs;

export function judgeSoak(t: SoakTimeline, o: OracleOptions = {}): OracleReport {
  const requiredBreachMs = o.requiredBreachMs ?? 4000;
  const slackMs = o.matchSlackMs ?? 2500;
  const backBoundMs = o.backBoundMs ?? 2000;
  const blackholeBackBoundMs = o.blackholeBackBoundMs ?? 6000;
  const inFlightMs = o.inFlightMs ?? 1000;
  const senderBeforeMs = o.senderFaultBeforeMs ?? 5000;
  const senderAfterMs = o.senderFaultAfterMs ?? 2000;
  const findings: Finding[] = [];
  const edges: Finding[] = [];
  const openAtEnd = new Set(t.openAtEnd);
  const faultsIn = (kinds: readonly FaultKind[], fromMs: number, toMs: number, target?: string) =>
    t.faults.filter((f) => kinds.includes(f.kind) && f.startMs <= toMs && f.endMs >= fromMs && (target === undefined || f.target === target));

  const report: OracleReport = {
    incidents: 0,
    requiredIncidents: 0,
    pagesByReceiver: {},
    duplicates: 0,
    atLeastOnceEdge: 0,
    lost: 0,
    falsePages: 0,
    unjudgedPages: 0,
    worstDelayAfterBackMs: null,
    worstDelayAfterBlackholeMs: null,
    lateAfterBack: 0,
    termConflicts: 0,
    staleTermPages: 0,
    staleTermInFlight: 0,
    crashes: 0,
    findings,
    edges,
  };
  const dup = (f: Finding) => {
    report.duplicates += 1;
    findings.push(f);
  };
  const lost = (f: Finding) => {
    report.lost += 1;
    findings.push(f);
  };
  const edge = (f: Finding) => {
    report.atLeastOnceEdge += 1;
    edges.push(f);
  };

  // --- pages per receiver, normalized; PagerDuty resolves take the identity of the trigger they close
  const byReceiver = new Map<string, Norm[]>();
  for (const r of t.receivers) byReceiver.set(r, []);
  for (const read of [...t.pages].sort((a, b) => a.receivedAtMs - b.receivedAtMs)) {
    const n = normalize(read);
    if (n === undefined) {
      findings.push({ what: 'unreadable page', receiver: read.receiver, detail: read.body });
      continue;
    }
    byReceiver.get(read.receiver)?.push(n);
  }
  for (const list of byReceiver.values()) {
    const lastTrigger = new Map<string, string | undefined>();
    for (const n of [...list].sort((a, b) => a.read.receivedAtMs - b.read.receivedAtMs)) {
      if (n.status === 'firing') lastTrigger.set(n.key, n.startsAt);
      else if (n.startsAt === undefined) n.startsAt = lastTrigger.get(n.key);
    }
  }

  // --- per receiver: copies, edges, pairing, alternation
  /** per receiver: identity → first answered copy */
  const delivered = new Map<string, Map<string, Norm>>();
  for (const [receiver, list] of byReceiver) {
    const answered = list.filter((n) => n.read.answered).sort((a, b) => at(a) - at(b));
    report.pagesByReceiver[receiver] = { answered: answered.length, unanswered: list.length - answered.length };
    const first = new Map<string, Norm>();
    for (const n of answered) {
      const id = idOf(n);
      const prev = first.get(id);
      if (prev === undefined) {
        first.set(id, n);
        continue;
      }
      // a re-send of a page the receiver had answered: the sender did not record it
      const sender = prev.sentBy?.nodeId;
      // A PagerDuty resolve event carries no payload, so its sender is unknown: then a fault of
      // any replica around the first copy may be what kept the answer from being recorded.
      const senderFaults = faultsIn(SENDER_FAULTS, prev.read.receivedAtMs - senderBeforeMs, at(prev) + senderAfterMs, sender);
      const redisDown = faultsIn(REDIS_FAULTS, prev.read.receivedAtMs - senderBeforeMs, at(prev) + senderAfterMs);
      const otherSender = n.sentBy?.nodeId !== sender;
      // Leadership moved (no fault needed: a lost quorum under load does it) while the first
      // copy was in flight, or before its sender could settle it: the settle is refused by
      // the fence and the new leader finishes the claim.
      const [older, newer] = (prev.sentBy?.term ?? 0) <= (n.sentBy?.term ?? 0) ? [prev, n] : [n, prev];
      const termMoved =
        older.sentBy !== undefined && newer.sentBy !== undefined && newer.sentBy.term > older.sentBy.term && newer.read.receivedAtMs - at(older) <= senderBeforeMs
          ? { leaderChange: { from: older.sentBy, to: newer.sentBy, whileInFlight: newer.read.receivedAtMs < at(older) } }
          : undefined;
      const explained = senderFaults[0] ?? (otherSender ? redisDown[0] : undefined) ?? termMoved;
      const f: Finding = {
        what: explained ? 'answered twice: the sender never recorded the first answer' : 'duplicate page',
        receiver,
        key: id,
        detail: { first: { readAtMs: prev.read.receivedAtMs, atMs: at(prev), sentBy: prev.sentBy }, again: { readAtMs: n.read.receivedAtMs, atMs: at(n), sentBy: n.sentBy }, ...(explained ? { fault: explained } : { nearbyFaults: faultsIn(PAGING_FAULTS, at(prev) - 10_000, at(n)) }) },
      };
      if (explained) edge(f);
      else dup(f);
    }
    // reads never answered: an edge when the page was answered some other time, else owed
    for (const n of list.filter((x) => !x.read.answered)) {
      const id = idOf(n);
      if (first.has(id)) {
        const fault = t.faults.find((f) => f.target === receiver && f.startMs <= n.read.receivedAtMs && f.endMs >= n.read.receivedAtMs - 100);
        edge({ what: `read while ${n.read.mode}, never answered; sent again`, receiver, key: id, detail: { atMs: n.read.receivedAtMs, sentBy: n.sentBy, fault } });
      }
    }
    delivered.set(receiver, first);

    // pairing and alternation, per key
    const keys = new Map<string, Norm[]>();
    for (const n of first.values()) keys.set(n.key, [...(keys.get(n.key) ?? []), n]);
    for (const [key, seq] of keys) {
      seq.sort((a, b) => at(a) - at(b));
      let last: Norm | undefined;
      for (const n of seq) {
        if (last !== undefined && last.status === n.status) {
          dup({ what: n.status === 'firing' ? 'firing again without a resolved between' : 'resolved again without a firing between', receiver, key, detail: { before: { startsAt: last.startsAt, atMs: at(last), sentBy: last.sentBy }, again: { startsAt: n.startsAt, atMs: at(n), sentBy: n.sentBy } } });
        }
        if (last === undefined && n.status === 'resolved') lost({ what: 'resolved without its firing page', receiver, key, detail: { startsAt: n.startsAt, atMs: at(n) } });
        last = n;
      }
      for (const n of seq.filter((x) => x.status === 'firing')) {
        const resolved = first.has(`${key}@${n.startsAt ?? '?'}#resolved`);
        const lastFiring = seq.filter((x) => x.status === 'firing').at(-1) === n;
        if (!resolved && !(lastFiring && openAtEnd.has(key))) lost({ what: 'firing page never resolved', receiver, key, detail: { startsAt: n.startsAt, atMs: at(n), sentBy: n.sentBy } });
      }
    }
  }

  // --- every page on every receiver
  const allIds = new Set<string>();
  for (const m of delivered.values()) for (const id of m.keys()) allIds.add(id);
  for (const id of allIds) {
    for (const [receiver, m] of delivered) {
      if (!m.has(id)) lost({ what: 'page delivered elsewhere, never to this receiver', receiver, key: id });
    }
  }

  // --- lag pages against the truth
  const incidents = t.truth.flatMap((s) => trueIncidents(s, t, requiredBreachMs));
  report.incidents = incidents.length;
  report.requiredIncidents = incidents.filter((i) => i.required).length;
  for (const [receiver, m] of delivered) {
    const firings = [...m.values()].filter((n) => n.status === 'firing' && n.key.includes(LAG_ALERT));
    const matched = new Map<TrueIncident, Norm[]>();
    for (const n of firings) {
      const startsMs = n.startsAt === undefined ? NaN : Date.parse(n.startsAt);
      const inc = incidents.find((i) => i.key === n.key && startsMs >= i.openMs - slackMs && startsMs <= i.belowMs + t.resolveForMs + slackMs);
      if (inc === undefined && truthUnknownBefore(t, n.key, startsMs)) {
        // the workload could not tell (records of failed sends may sit past its known end)
        report.unjudgedPages += 1;
        edges.push({ what: 'lag page while the truth was unknown (unacknowledged records)', receiver, key: n.key, detail: { startsAt: n.startsAt, sentBy: n.sentBy } });
        continue;
      }
      if (inc === undefined) {
        report.falsePages += 1;
        findings.push({ what: 'lag page without a true breach', receiver, key: n.key, detail: { startsAt: n.startsAt, sentBy: n.sentBy, truthNear: truthAround(t, n.key, startsMs) } });
        continue;
      }
      matched.set(inc, [...(matched.get(inc) ?? []), n]);
    }
    for (const inc of incidents) {
      const pages = matched.get(inc) ?? [];
      if (pages.length === 0 && inc.required) lost({ what: 'true incident never paged', receiver, key: inc.key, detail: inc });
      if (pages.length > 1) dup({ what: 'one true incident paged as several', receiver, key: inc.key, detail: { incident: inc, startsAt: pages.map((p) => p.startsAt) } });
    }
  }

  // --- delivery after a receiver came back
  for (const f of t.faults.filter((x) => x.kind === 'receiver-down' || x.kind === 'receiver-blackhole')) {
    const m = delivered.get(f.target);
    if (!m) continue;
    const resolvedEnds = new Map<string, number>();
    for (const dm of delivered.values()) for (const n of dm.values()) if (n.status === 'resolved' && n.endsAt) resolvedEnds.set(`${n.key}@${n.startsAt}`, Date.parse(n.endsAt));
    for (const n of m.values()) {
      const dueMs = n.status === 'firing' ? Date.parse(n.startsAt ?? '') : (resolvedEnds.get(`${n.key}@${n.startsAt}`) ?? NaN);
      if (!(dueMs < f.endMs) || !(at(n) > f.endMs)) continue;
      // owed before the receiver came back and not answered before: how long after?
      const delayMs = at(n) - f.endMs;
      // another fault on the way (a paging fault, or this receiver failing again) is what the wait measures then
      const overlapping = [...faultsIn(PAGING_FAULTS, f.endMs - 1000, at(n)), ...faultsIn(RECEIVER_FAULTS, f.endMs - 1000, at(n), f.target)].filter((x) => x.id !== f.id);
      const blackhole = f.kind === 'receiver-blackhole';
      if (overlapping.length > 0) continue;
      if (blackhole) report.worstDelayAfterBlackholeMs = Math.max(report.worstDelayAfterBlackholeMs ?? 0, delayMs);
      else report.worstDelayAfterBackMs = Math.max(report.worstDelayAfterBackMs ?? 0, delayMs);
      if (delayMs > (blackhole ? blackholeBackBoundMs : backBoundMs)) {
        report.lateAfterBack += 1;
        findings.push({ what: `owed page arrived ${delayMs} ms after the ${blackhole ? 'black-holed ' : ''}receiver came back`, receiver: f.target, key: idOf(n), detail: { fault: f, dueMs, answeredAtMs: at(n), sentBy: n.sentBy } });
      }
    }
  }

  // --- terms: one node per term; no older term after a newer one
  const nodesByTerm = new Map<number, Set<string>>();
  const reads = [...byReceiver.values()].flat().filter((n) => n.sentBy !== undefined).sort((a, b) => a.read.receivedAtMs - b.read.receivedAtMs);
  for (const n of reads) {
    const s = n.sentBy as { nodeId: string; term: number };
    const set = nodesByTerm.get(s.term) ?? new Set<string>();
    set.add(s.nodeId);
    nodesByTerm.set(s.term, set);
  }
  for (const [term, set] of nodesByTerm) {
    if (set.size > 1) {
      report.termConflicts += 1;
      findings.push({ what: 'pages from two nodes in one term', detail: { term, nodes: [...set] } });
    }
  }
  let newest: Norm | undefined;
  for (const n of reads) {
    const s = n.sentBy as { nodeId: string; term: number };
    if (newest === undefined || s.term > (newest.sentBy as { term: number }).term) {
      newest = n;
      continue;
    }
    if (s.term < (newest.sentBy as { term: number }).term) {
      const sinceMs = n.read.receivedAtMs - newest.read.receivedAtMs;
      const released = faultsIn(['leader-stop'], n.read.receivedAtMs - inFlightMs, n.read.receivedAtMs, s.nodeId);
      const f: Finding = { what: 'page with a term older than one already read', receiver: n.read.receiver, key: idOf(n), detail: { sentBy: s, atMs: n.read.receivedAtMs, newer: { sentBy: newest.sentBy, atMs: newest.read.receivedAtMs }, sinceMs, ...(released[0] ? { released: released[0] } : {}) } };
      if (sinceMs <= inFlightMs || released.length > 0) {
        report.staleTermInFlight += 1;
        edges.push(f);
      } else {
        report.staleTermPages += 1;
        findings.push(f);
      }
    }
  }

  // --- crashes
  for (const e of t.exits) {
    if (e.expected) continue;
    report.crashes += 1;
    findings.push({ what: 'replica exited on its own', key: e.replica, detail: e });
  }
  return report;
}

/** Some truth sample of `key` in the 12 s before `atMs` (and 1 s after) was unknown. */
function truthUnknownBefore(t: SoakTimeline, key: string, atMs: number): boolean {
  const s = t.truth.find((x) => x.key === key);
  if (!s || Number.isNaN(atMs)) return false;
  return s.samples.some(([ms, v]) => ms >= atMs - 12_000 && ms <= atMs + 1000 && Number.isNaN(v));
}

function truthAround(t: SoakTimeline, key: string, atMs: number): Array<readonly [number, number]> {
  const s = t.truth.find((x) => x.key === key);
  if (!s || Number.isNaN(atMs)) return [];
  return s.samples.filter(([ms]) => Math.abs(ms - atMs) <= 3000).filter((_, i) => i % 4 === 0);
}
