/**
 * The failover timeline on the page of the alert that caused it (docs/design.md §4.8, issue
 * 10 item 4): which entries belong to which alert (src/alerting/failover-match.ts), decide
 * attaching them while the alert is open — an entry recorded after it fired updates the
 * record and pages nothing, the resolved page carries it, one recorded after it resolved
 * goes nowhere — the text every channel shows, and GET /api/v1/failovers?kind=.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AlertRecord, type AlertState, activeAlerts, emptyAlertState, parseAlertState, serializeAlertState } from '../../src/alerting/alert-state';
import { alertmanagerAlert, buildRequest } from '../../src/alerting/channels';
import { decide } from '../../src/alerting/decide';
import { HANDOVER_LEAD_MS, attachFailovers, belongsTo, failoverText } from '../../src/alerting/failover-match';
import type { Notification } from '../../src/alerting/types';
import type { ChannelConfig } from '../../src/config/types';
import type { FailoverEntry } from '../../src/monitor/failovers';
import type { Finding } from '../../src/monitor/findings';
import { parseFailoverKinds, storedEntry } from '../../src/reconcile/failover-journal';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const at = (s: number): number => T0 + s * 1000;
const CTX = { cluster: 'local', lag: { byScope: new Map(), unreadableGroups: new Set<string>() } };
const KEY = 'local/BrokerUnreachable/3';

const brokerDown = (sinceS = 0): Finding => ({ kind: 'BrokerUnreachable', broker: 3, address: 'kafka-3:9092', sinceMs: at(sinceS), error: 'connection refused' });

/** A partitions entry as src/monitor/failovers.ts makes it. */
function partitionsEntry(cause: string, fromS: number, toS: number | null, opts: { offline?: number; summary?: string; partitions?: number } = {}): FailoverEntry {
  const broker = Number(cause.split(':')[1]);
  return {
    kind: 'partitions',
    timeMs: at(fromS),
    endMs: toS === null ? null : at(toS),
    from: broker,
    to: [1],
    reason: `${cause}`,
    leaderlessMs: toS === null ? null : (toS - fromS) * 1000,
    precisionMs: 500,
    summary: opts.summary ?? `broker ${broker} unreachable, then fenced: 412 partitions moved, 410 led again within 1.2 s, 2 offline for up to 9.1 s`,
    detail: { cause, partitions: opts.partitions ?? 412, moved: 412, offline: opts.offline ?? 2, stillLeaderless: 0, windows: [] },
  };
}

function controllerEntry(from: number, fromS: number, toS: number): FailoverEntry {
  return {
    kind: 'controller',
    timeMs: at(fromS),
    endMs: at(toS),
    from,
    to: 1,
    reason: `controller ${from} unreachable (its node is down or cut off)`,
    leaderlessMs: (toS - fromS) * 1000,
    precisionMs: 500,
    summary: `KRaft controller ${from} → 1 (epoch 7 → 8): controller ${from} unreachable (its node is down or cut off); leaderless for ${(toS - fromS).toFixed(1)} s`,
    detail: { fromEpoch: 7, toEpoch: 8 },
  };
}

const vigilEntry: FailoverEntry = {
  kind: 'vigil', timeMs: at(1), endMs: at(1), from: 'vigil-1', to: 'vigil-2', reason: 'x', leaderlessMs: 38, precisionMs: 0,
  summary: 'vigil vigil-1 → vigil-2 (term 4): x', detail: { term: 4 },
};

/** decide, one call per second, with the timeline's entries as the journal would hold them then. */
class Pages {
  state: AlertState = emptyAlertState();
  readonly sent: Notification[] = [];
  cycle(s: number, findings: readonly Finding[], failovers: readonly FailoverEntry[] = []): Notification[] {
    const before = this.state;
    const r = decide(findings, before, at(s), { ...CTX, failovers });
    this.state = r.state;
    this.sent.push(...r.notifications);
    return r.notifications;
  }
  /** the open alert as the API and the Alertmanager re-posts see it at second `s` */
  firing(s: number, key = KEY) {
    return activeAlerts(this.state, 'local', at(s)).find((a) => a.key === key);
  }
}

const SUMMARY = 'broker 3 unreachable, then fenced: 412 partitions moved, 410 led again within 1.2 s, 2 offline for up to 9.1 s';

describe('which failover entry belongs to which alert', () => {
  const record = (f: Finding, startsS = 0): AlertRecord => ({ finding: f as AlertRecord['finding'], severity: 'critical', startsAtMs: at(startsS), quietSinceMs: null });

  it("a broker's alert takes its own partitions (down, fenced or handed over) and the controller election away from it, no other broker's", () => {
    const r = record(brokerDown(0));
    assert.ok(belongsTo(r, partitionsEntry('broker:3', 0, 9), at(10)));
    assert.ok(!belongsTo(r, partitionsEntry('broker:2', 0, 9), at(10)), 'another broker');
    assert.ok(belongsTo(r, controllerEntry(3, 0, 2), at(10)));
    assert.ok(!belongsTo(r, controllerEntry(2, 0, 2), at(10)), "another node's controller election");
    assert.ok(!belongsTo(r, vigilEntry, at(10)), "vigil's own elections belong to no alert");
    assert.ok(!belongsTo(r, partitionsEntry('preferred:3', 1, 1), at(10)), 'taking leadership back is not the failure');
    // a controlled shutdown hands leadership over before the broker stops answering
    assert.ok(belongsTo(r, partitionsEntry('handover:3', -20, -5), at(10)));
    assert.ok(!belongsTo(r, partitionsEntry('handover:3', -90, -5 - HANDOVER_LEAD_MS / 1000), at(10)), 'a handover long before is another story');
  });

  it('an entry over before the incident began is an earlier incident’s, and one not begun yet is none', () => {
    const r = record(brokerDown(100), 100);
    assert.ok(!belongsTo(r, partitionsEntry('broker:3', 0, 9), at(110)), 'the previous outage of the same broker');
    assert.ok(belongsTo(r, partitionsEntry('broker:3', 100, null), at(110)), 'still leaderless: open-ended');
    assert.ok(!belongsTo(r, partitionsEntry('broker:3', 120, 125), at(110)), 'from the future of this decide');
  });

  it('the other alerts that cause or end a failover take theirs', () => {
    const offline = record({ kind: 'PartitionOffline', topics: [{ topic: 'orders', partitions: [0] }] }, 9);
    assert.ok(belongsTo(offline, partitionsEntry('broker:3', 0, 12, { offline: 1 }), at(20)), 'the episode began before the partitions went offline');
    assert.ok(!belongsTo(offline, partitionsEntry('broker:3', 0, 12, { offline: 0 }), at(20)), 'no partition was offline in it');
    const imbalance = record({ kind: 'PreferredLeaderImbalance', broker: 3, partitions: 140 }, 0);
    assert.ok(belongsTo(imbalance, partitionsEntry('preferred:3', 300, 300), at(301)));
    assert.ok(!belongsTo(imbalance, partitionsEntry('preferred:2', 300, 300), at(301)));
    const leaderless = record({ kind: 'ControllerQuorumLeaderless', sinceMs: at(0), lastLeaderId: 3, lastEpoch: 7 }, 5);
    assert.ok(belongsTo(leaderless, controllerEntry(3, 0, 7), at(8)));
    const voter = record({ kind: 'ControllerVoterLagging', voter: 3, leaderId: 1, sinceMs: at(0), lagRecords: null, thresholdMs: 5000 }, 5);
    assert.ok(belongsTo(voter, controllerEntry(3, 0, 2), at(8)));
    assert.ok(!belongsTo(voter, controllerEntry(2, 0, 2), at(8)));
    const lag = record({ kind: 'ConsumerStalled', group: 'g', topic: 't', partitions: [0], stalledForMs: 60_000 } as Finding, 0);
    assert.ok(!belongsTo(lag, partitionsEntry('broker:3', 0, 9), at(10)), 'a consumer alert causes no failover');
  });

  it('attaches each entry once, oldest first, and leaves the record as it was when nothing is new', () => {
    const r = record(brokerDown(0));
    const entries = [partitionsEntry('broker:3', 1, 9), controllerEntry(3, 0, 2)];
    const once = attachFailovers(r, entries, at(10));
    assert.deepEqual(once.failovers?.map((a) => a.kind), ['controller', 'partitions']);
    assert.equal(attachFailovers(once, entries, at(11)), once, 'the same object: decide sees no change');
    assert.equal(attachFailovers(r, [partitionsEntry('broker:2', 1, 9)], at(10)), r);
  });
});

describe('the summary a page shows', () => {
  it('one entry: "failover: <its summary>"; several: numbered, at most three, the rest counted', () => {
    const a = (i: number) => ({ id: String(i), kind: 'partitions' as const, timeMs: i, summary: `s${i}` });
    assert.equal(failoverText({}), undefined);
    assert.equal(failoverText({ failovers: [a(1)] }), 'failover: s1');
    assert.equal(failoverText({ failovers: [a(1), a(2)] }), 'failovers: (1) s1; (2) s2');
    assert.equal(failoverText({ failovers: [a(1), a(2), a(3), a(4)], failoversNotKept: 2 }), 'failovers: (1) s1; (2) s2; (3) s3; and 3 more (GET /api/v1/failovers)');
    // a stored record is data: a damaged entry is left out, never thrown on
    assert.equal(failoverText({ failovers: [{ nope: true } as never, a(5)] }), 'failover: s5');
  });
});

describe('decide with the failover timeline', () => {
  it('broker down: the page fires before anything moved; the entry recorded while it is open updates the alert without a page; the resolved page carries it', () => {
    const p = new Pages();
    const fired = p.cycle(0, [brokerDown(0)]);
    assert.deepEqual(fired.map((n) => n.alert.status), ['firing']);
    assert.equal(fired[0]?.alert.failover, undefined);
    assert.doesNotMatch(fired[0]?.alert.summary ?? '', /failover/);
    for (let s = 1; s < 10; s++) assert.deepEqual(p.cycle(s, [brokerDown(0)]), []);

    // the controller fenced broker 3 and its partitions have new leaders: the journal has the entry
    const entry = partitionsEntry('broker:3', 0, 9.5);
    const before = p.state;
    assert.deepEqual(p.cycle(10, [brokerDown(0)], [vigilEntry, entry]), [], 'no page for it');
    assert.notEqual(p.state, before, 'the record changed: the loop stores it');
    assert.equal(p.firing(10)?.failover, `failover: ${SUMMARY}`);
    assert.equal(p.firing(10)?.summary, `broker 3 (kafka-3:9092) unreachable for 10 s: connection refused; failover: ${SUMMARY}`);
    const settled = p.state;
    assert.deepEqual(p.cycle(11, [brokerDown(0)], [vigilEntry, entry]), []);
    assert.equal(p.state, settled, 'the same entry again changes nothing');

    // a successor continues the incident from the stored state, entry included
    const stored = parseAlertState(serializeAlertState(p.state));
    p.state = stored;
    for (let s = 20; s < 23; s++) assert.deepEqual(p.cycle(s, [], [entry]), []);
    const resolved = p.cycle(23, [], [entry]);
    assert.deepEqual(resolved.map((n) => n.alert.status), ['resolved']);
    assert.equal(resolved[0]?.alert.summary, `broker 3 (kafka-3:9092) reachable again (unreachable for 20 s); failover: ${SUMMARY}`);
    assert.equal(resolved[0]?.id, `${KEY}@${new Date(at(0)).toISOString()}#resolved`, 'the notification id is the incident’s, unchanged');
    assert.equal(p.sent.length, 2, 'two pages: firing and resolved, nothing more');
  });

  it('an entry recorded in the resolving cycle is the resolved page’s; one recorded after it resolved is attached to nothing, nor to the next incident', () => {
    const p = new Pages();
    p.cycle(0, [brokerDown(0)]);
    for (let s = 5; s < 8; s++) p.cycle(s, []);
    const resolved = p.cycle(8, [], [partitionsEntry('broker:3', 0, 4)]);
    assert.match(resolved[0]?.alert.summary ?? '', /reachable again .*; failover: broker 3 unreachable/);

    const q = new Pages();
    q.cycle(0, [brokerDown(0)]);
    for (let s = 5; s < 9; s++) q.cycle(s, []);
    assert.doesNotMatch(q.sent[1]?.alert.summary ?? '', /failover/, 'resolved before the entry');
    const late = partitionsEntry('broker:3', 0, 7);
    assert.deepEqual(q.cycle(10, [], [late]), [], 'no page for an incident that is over');
    assert.deepEqual(q.state.alerts, {});
    const again = q.cycle(40, [brokerDown(40)], [late]);
    assert.equal(again[0]?.alert.failover, undefined, 'the next outage of broker 3 does not take the last one’s entry');
  });

  it('an entry already recorded when the alert fires is on the firing page (a controlled shutdown before the broker stops answering)', () => {
    const p = new Pages();
    const handover = partitionsEntry('handover:3', -8, -6, { offline: 0, summary: 'broker 3 handed leadership over while up (controlled shutdown, reassignment or leader election): 140 partitions moved, 140 led again within 0.0 s' });
    const fired = p.cycle(0, [brokerDown(0)], [handover]);
    assert.match(fired[0]?.alert.summary ?? '', /^broker 3 \(kafka-3:9092\) unreachable: connection refused; failover: broker 3 handed leadership over while up/);
  });

  it('several entries for one alert: the controller election and the partitions of a combined node, in time order', () => {
    const p = new Pages();
    p.cycle(0, [brokerDown(0)]);
    p.cycle(3, [brokerDown(0)], [controllerEntry(3, 0, 1.5)]);
    p.cycle(10, [brokerDown(0)], [controllerEntry(3, 0, 1.5), partitionsEntry('broker:3', 0.5, 9.5)]);
    assert.equal(p.firing(10)?.failover, `failovers: (1) ${controllerEntry(3, 0, 1.5).summary}; (2) ${SUMMARY}`);
  });

  it('the KRaft quorum without a leader: the resolved page says which election ended it', () => {
    const p = new Pages();
    const f: Finding = { kind: 'ControllerQuorumLeaderless', sinceMs: at(0), lastLeaderId: 3, lastEpoch: 7 };
    p.cycle(5, [f]);
    const e = controllerEntry(3, 0, 6.2);
    p.cycle(7, [], [e]);
    p.cycle(8, [], [e]);
    p.cycle(9, [], [e]);
    const resolved = p.cycle(10, [], [e]);
    assert.equal(resolved[0]?.alert.summary, `the KRaft controller quorum has a leader again (none seen for 7 s); failover: ${e.summary}`);
  });

  it('while Kafka is unreachable an open alert still takes its entry (nothing resolves)', () => {
    const p = new Pages();
    p.cycle(0, [brokerDown(0)]);
    assert.deepEqual(p.cycle(5, [{ kind: 'KafkaUnreachable', error: 'all brokers down' }], [partitionsEntry('broker:3', 0, 4)]).map((n) => n.alert.key), ['local/KafkaUnreachable']);
    assert.equal(p.firing(5)?.failover, `failover: ${SUMMARY}`);
  });
});

describe('every channel shows it where it shows the summary', () => {
  const p = new Pages();
  p.cycle(0, [brokerDown(0)]);
  p.cycle(10, [brokerDown(0)], [partitionsEntry('broker:3', 0, 9.5)]);
  const firing = p.firing(10) as NonNullable<ReturnType<Pages['firing']>>;
  for (let s = 20; s <= 23; s++) p.cycle(s, []);
  const resolved = p.sent.find((n) => n.alert.status === 'resolved') as Notification;
  const ctx = { sentBy: { nodeId: 'vigil-2', term: 7 }, nowMs: at(30) };
  const body = (c: ChannelConfig, alert = firing) => buildRequest(c, { id: 'x', alert }, ctx).body as any;
  const tail = `; failover: ${SUMMARY}`;

  it('webhook: in summary (the body keeps its documented fields)', () => {
    const hook: ChannelConfig = { type: 'webhook', name: 'hook', url: 'https://hooks.example.com/vigil', headers: {} };
    assert.ok(body(hook).summary.endsWith(tail));
    assert.ok(body(hook, resolved.alert).summary.endsWith(tail));
    assert.equal(body(hook).failover, undefined, 'no new field in the version-1 body');
  });

  it('Slack: in the fallback text and the summary section', () => {
    const slack: ChannelConfig = { type: 'slack', name: 'slack', url: 'https://hooks.slack.com/services/T/B/X' };
    for (const a of [firing, resolved.alert]) {
      const b = body(slack, a);
      assert.ok(b.text.endsWith(tail));
      assert.ok(b.blocks[1].text.text.endsWith(tail));
    }
  });

  it('PagerDuty: in the trigger’s summary (and custom_details); a resolve carries no text, as PagerDuty ignores it', () => {
    const pd: ChannelConfig = { type: 'pagerduty', name: 'pd', routingKey: 'R0UTINGKEY0123456789abcdef012345', url: 'https://events.pagerduty.com/v2/enqueue' };
    const trigger = body(pd);
    assert.ok(trigger.payload.summary.endsWith(tail));
    assert.ok(trigger.payload.custom_details.summary.endsWith(tail));
    assert.deepEqual(Object.keys(body(pd, resolved.alert)), ['routing_key', 'event_action', 'dedup_key']);
  });

  it('Alertmanager: in the summary annotation, firing (each re-post) and resolved', () => {
    assert.ok(alertmanagerAlert(firing, ctx.sentBy, ctx.nowMs).annotations['summary']?.endsWith(tail));
    assert.ok(alertmanagerAlert(resolved.alert, ctx.sentBy, ctx.nowMs).annotations['summary']?.endsWith(tail));
    assert.deepEqual(alertmanagerAlert(firing, ctx.sentBy, ctx.nowMs).labels, { alertname: 'BrokerUnreachable', cluster: 'local', severity: 'critical', key: KEY, broker: '3' }, 'labels (the identity) unchanged');
  });
});

describe('GET /api/v1/failovers?kind=', () => {
  const q = (s: string) => parseFailoverKinds(new URLSearchParams(s));

  it('takes one or more of vigil, controller, partitions, comma-separated or repeated', () => {
    assert.equal(q(''), null);
    assert.deepEqual([...(q('kind=controller') ?? [])], ['controller']);
    assert.deepEqual([...(q('kind=controller,partitions') ?? [])].sort(), ['controller', 'partitions']);
    assert.deepEqual([...(q('kind=vigil&kind=partitions') ?? [])].sort(), ['partitions', 'vigil']);
  });

  it('answers 400 naming the kinds for any other', () => {
    for (const bad of ['kind=', 'kind=leader', 'kind=controller,', 'kind=CONTROLLER']) {
      assert.throws(() => q(bad), (err: any) => err.status === 400 && err.code === 'BAD_REQUEST' && /kind must be one or more of vigil, controller, partitions/.test(err.message), bad);
    }
    assert.throws(() => q('kind=partition'), (err: any) => /got "partition" \(partition leader changes are kind "partitions"\)/.test(err.message));
  });

  it('a stored entry reads back as the tracker made it; a damaged one as none', () => {
    const e = partitionsEntry('broker:3', 0, 9);
    const { kind, timeMs, ...data } = e;
    assert.deepEqual(storedEntry({ id: '1-0', kind, timeMs, nodeId: 'vigil-1', term: 3, data }), e);
    assert.equal(storedEntry({ id: '1-1', kind: 'other', timeMs, nodeId: 'vigil-1', term: 3, data }), null);
    assert.equal(storedEntry({ id: '1-2', kind, timeMs, nodeId: 'vigil-1', term: 3, data: { summary: 1 } }), null);
  });
});
