/**
 * decide (docs/design.md §4 "Alerts"): alert keys, the firing → resolved lifecycle with one
 * notification per transition, the delivery-lag hysteresis (fire at lag.threshold by the
 * exact test, resolve below lag.resolveBelow for lag.resolveFor), per-group/topic
 * overrides, severities, summaries, and state that a new leader can continue from
 * (serialised as JSON). Driven through detect on synthetic snapshots, one cycle a second,
 * as the reconcile loop does (docs/design.md §1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AlertState, activeAlerts, emptyAlertState, openLagIncidents, parseAlertState, serializeAlertState,
} from '../../src/alerting/alert-state';
import { DEFAULT_HOLD_MS, decide } from '../../src/alerting/decide';
import type { Notification } from '../../src/alerting/types';
import { notificationId } from '../../src/alerting/types';
import { lagRuleFor } from '../../src/config/lag-rule';
import type { VigilConfig } from '../../src/config/types';
import { isVigilError } from '../../src/errors';
import { DEFAULT_DETECT_OPTIONS, type DetectMemory, detect, emptyDetectMemory } from '../../src/monitor/detect';
import type { GroupTopicRule } from '../../src/monitor/findings';
import type { GroupPartitionLag, KafkaSnapshot } from '../../src/monitor/snapshot';
import {
  RULE, T0, broker, downBroker, group, partition, rowAt, snapshot, topicPartitions, unreachableSnapshot, withPartitions,
} from '../fakes/snapshots';

/** The leader's loop without I/O: observe is the given snapshot, act collects notifications. */
class Loop {
  memory: DetectMemory = emptyDetectMemory();
  state: AlertState = emptyAlertState();
  readonly sent: Notification[] = [];

  constructor(readonly cluster = 'local') {}

  cycle(snap: KafkaSnapshot): Notification[] {
    const d = detect(snap, this.memory, DEFAULT_DETECT_OPTIONS);
    this.memory = d.memory;
    const r = decide(d.findings, deepFrozen(this.state), snap.takenAtMs, { cluster: this.cluster, lag: d.lag });
    this.state = r.state;
    this.sent.push(...r.notifications);
    return r.notifications;
  }

  /** Every transition so far as "status key" lines. */
  transitions(): string[] {
    return this.sent.map((n) => `${n.alert.status} ${n.alert.key}`);
  }
}

/** decide must not modify its input state: freezing it makes any attempt throw. */
function deepFrozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFrozen(v);
  }
  return value;
}

const ORDERS = topicPartitions('orders', 4, [1, 2, 3], 3, 2);
const at = (s: number) => T0 + s * 1000;

/** group orders-svc on orders, every partition at the given latency (seconds; null = unknown) */
function lagSnapshot(s: number, latencies: readonly (number | null)[], rule: GroupTopicRule = RULE, extra: Partial<Parameters<typeof snapshot>[0]> = {}): KafkaSnapshot {
  const rows: GroupPartitionLag[] = latencies.map((l, p) => rowAt('orders', p, l, rule));
  return snapshot({ takenAtMs: at(s), partitions: ORDERS, groups: [group('orders-svc', rows, { orders: rule })], ...extra });
}

describe('decide: a delivery-lag page (docs/design.md §4)', () => {
  it('fires one ConsumerDeliveryLag notification carrying the generic body fields, the cause and the DESIGN summary', () => {
    const loop = new Loop();
    const [n, ...rest] = loop.cycle(lagSnapshot(0, [12.4, 3, 2, 11]));
    assert.deepEqual(rest, []);
    assert.ok(n);
    assert.deepEqual(n.alert, {
      key: 'local/ConsumerDeliveryLag/orders-svc/orders', alert: 'ConsumerDeliveryLag', status: 'firing', severity: 'warning',
      cluster: 'local', summary: 'orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy',
      startsAt: '2025-11-26T10:00:00.000Z', endsAt: null,
      group: 'orders-svc', topic: 'orders', partitions: [0, 3], lagSeconds: 12.4, threshold: 10, cause: 'consumer',
    });
    assert.equal(n.id, notificationId(n.alert));
    assert.equal(n.id, 'local/ConsumerDeliveryLag/orders-svc/orders@2025-11-26T10:00:00.000Z#firing');
  });

  it('names the unreachable broker leading the lagging partitions', () => {
    // leaders p0→1, p1→2, p2→3, p3→1
    const loop = new Loop();
    const snap = lagSnapshot(12, [12.4, 1, 1, 11], RULE, { brokers: [downBroker(1, at(0)), broker(2), broker(3)] });
    const notes = loop.cycle(snap);
    const lag = notes.find((n) => n.alert.alert === 'ConsumerDeliveryLag');
    assert.equal(lag?.alert.cause, 'broker:1');
    assert.equal(lag?.alert.summary, 'orders-svc is 12.4 s behind on orders (threshold 10 s); partitions 0, 3 are led by broker 1, which is unreachable');
    const down = notes.find((n) => n.alert.alert === 'BrokerUnreachable');
    assert.equal(down?.alert.summary, 'broker 1 (127.0.0.1:9092) unreachable for 12 s: connect ECONNREFUSED 127.0.0.1:9092');
    assert.equal(down?.alert.severity, 'critical');
  });

  it('says which partitions have no leader when the cause is partition-offline', () => {
    const loop = new Loop();
    const parts = withPartitions(ORDERS, partition('orders', 2, -1, [3, 1, 2], { isr: [3], minIsr: 2 }));
    const notes = loop.cycle(lagSnapshot(0, [1, 1, 15, 1], RULE, { partitions: parts }));
    const lag = notes.find((n) => n.alert.alert === 'ConsumerDeliveryLag');
    assert.equal(lag?.alert.summary, 'orders-svc is 15 s behind on orders (threshold 10 s); partition 2 has no leader');
    assert.equal(lag?.alert.cause, 'partition-offline');
  });
});

describe('decide: delivery-lag hysteresis (docs/design.md §4, §10 "false pages")', () => {
  it('never pages while latency oscillates between 8 and 9.5 s for 10 minutes of 1 s cycles', () => {
    const loop = new Loop();
    for (let s = 0; s <= 600; s++) {
      // four partitions on different phases, each within [8, 9.5]
      const lat = [0, 1, 2, 3].map((p) => 8 + 0.75 * (1 + Math.sin((2 * Math.PI * (s + 7 * p)) / 37)));
      loop.cycle(lagSnapshot(s, lat));
    }
    assert.deepEqual(loop.sent, []);
  });

  it('pages in the same cycle the latency crosses 10 s, and not at exactly 10 s', () => {
    const loop = new Loop();
    const series = [9.5, 9.8, 10, 10.3, 10.8, 11.5];
    const firedAt = series.findIndex((l, s) => loop.cycle(lagSnapshot(s, [l, 1, 1, 1])).length > 0);
    assert.equal(firedAt, 3);
    assert.deepEqual(loop.transitions(), ['firing local/ConsumerDeliveryLag/orders-svc/orders']);
  });

  it('resolves only after every partition has been below resolveBelow for resolveFor', () => {
    const loop = new Loop();
    let s = 0;
    loop.cycle(lagSnapshot(s++, [12, 1, 1, 1]));
    // between resolveBelow (8 s) and threshold (10 s): still firing however long
    for (let i = 0; i < 120; i++) assert.deepEqual(loop.cycle(lagSnapshot(s++, [9, 1, 1, 1])), []);
    // below 8 s: resolves after exactly 30 s of it
    const belowFrom = s;
    let resolvedAt = -1;
    for (let i = 0; i < 40 && resolvedAt < 0; i++, s++) if (loop.cycle(lagSnapshot(s, [7.5, 1, 1, 1])).length > 0) resolvedAt = s;
    assert.equal(resolvedAt - belowFrom, RULE.resolveForMs / 1000);
    const [firing, resolved] = loop.sent;
    assert.equal(resolved?.alert.status, 'resolved');
    assert.equal(resolved?.alert.startsAt, firing?.alert.startsAt);
    assert.equal(resolved?.alert.endsAt, new Date(at(resolvedAt)).toISOString());
    assert.equal(resolved?.alert.summary, 'orders-svc caught up on orders: below 8 s for 30 s (threshold 10 s)');
    assert.equal(resolved?.alert.lagSeconds, 7.5);
    assert.equal(resolved?.id, `local/ConsumerDeliveryLag/orders-svc/orders@${firing?.alert.startsAt}#resolved`);
    assert.deepEqual(loop.state.alerts, {});
  });

  it('keeps one incident when the lag breaches again inside resolveFor', () => {
    const loop = new Loop();
    let s = 0;
    loop.cycle(lagSnapshot(s++, [12, 1, 1, 1]));
    for (let i = 0; i < 20; i++) loop.cycle(lagSnapshot(s++, [2, 1, 1, 1]));
    for (let i = 0; i < 5; i++) loop.cycle(lagSnapshot(s++, [13, 1, 1, 1]));
    for (let i = 0; i < 31; i++) loop.cycle(lagSnapshot(s++, [2, 1, 1, 1]));
    assert.deepEqual(loop.transitions(), ['firing local/ConsumerDeliveryLag/orders-svc/orders', 'resolved local/ConsumerDeliveryLag/orders-svc/orders']);
    assert.equal(loop.sent[0]?.alert.startsAt, loop.sent[1]?.alert.startsAt);
  });

  it('never fires on unknown data, and unknown data never resolves (nor counts towards resolveFor)', () => {
    const loop = new Loop();
    for (let s = 0; s < 60; s++) loop.cycle(lagSnapshot(s, [null, null, 1, 1]));
    assert.deepEqual(loop.sent, []);

    let s = 100;
    loop.cycle(lagSnapshot(s++, [12, 1, 1, 1]));
    for (let i = 0; i < 120; i++) loop.cycle(lagSnapshot(s++, [null, 1, 1, 1]));
    assert.equal(loop.sent.length, 1, 'unknown must not resolve');
    // 20 s below, one unknown cycle, then below again: the 30 s start over after the gap
    for (let i = 0; i < 20; i++) loop.cycle(lagSnapshot(s++, [1, 1, 1, 1]));
    loop.cycle(lagSnapshot(s++, [null, 1, 1, 1]));
    for (let i = 0; i < 30; i++) loop.cycle(lagSnapshot(s++, [1, 1, 1, 1]));
    assert.equal(loop.sent.length, 1, 'resolved before 30 s below had passed since the unknown cycle');
    loop.cycle(lagSnapshot(s++, [1, 1, 1, 1]));
    assert.deepEqual(loop.transitions().at(-1), 'resolved local/ConsumerDeliveryLag/orders-svc/orders');
  });

  it('updates a firing alert (seconds, partitions, cause) without paging again, and keeps the cause it paged with', () => {
    const loop = new Loop();
    loop.cycle(lagSnapshot(0, [12, 1, 1, 1], RULE, { brokers: [downBroker(1, at(0)), broker(2), broker(3)] }));
    for (let s = 1; s < 30; s++) loop.cycle(lagSnapshot(s, [12 + s, 11 + s, 1, 1]));
    const lagAlerts = loop.sent.filter((n) => n.alert.alert === 'ConsumerDeliveryLag');
    assert.equal(lagAlerts.length, 1);
    assert.equal(lagAlerts[0]?.alert.cause, 'broker:1');
    // broker 1 is healthy again but was bad within the last minute: still the cause
    let [active] = activeAlerts(loop.state, 'local', at(29)).filter((a) => a.alert === 'ConsumerDeliveryLag');
    assert.equal(active?.cause, 'broker:1');
    const record = () => loop.state.alerts['local/ConsumerDeliveryLag/orders-svc/orders'];
    assert.deepEqual(record()?.lag?.causeTouch, { role: 'leader', now: false, healthySinceMs: at(0) });
    // a minute after it recovered, the lag is the consumer's
    for (let s = 30; s < 62; s++) loop.cycle(lagSnapshot(s, [12 + s, 11 + s, 1, 1]));
    [active] = activeAlerts(loop.state, 'local', at(61)).filter((a) => a.alert === 'ConsumerDeliveryLag');
    assert.equal(active?.cause, 'consumer');
    assert.deepEqual(active?.partitions, [0, 1]);
    assert.equal(active?.lagSeconds, 73);
    assert.equal(loop.sent.filter((n) => n.alert.alert === 'ConsumerDeliveryLag').length, 1, 'a change of cause does not page');
    assert.equal(record()?.lag?.pagedCause, 'broker:1');
    assert.equal(record()?.lag?.causeSinceMs, at(61));
  });

  it('closes the lag alert of a group that is no longer reported, after resolveFor, but not of one that could not be read', () => {
    const loop = new Loop();
    loop.cycle(lagSnapshot(0, [12, 1, 1, 1]));
    const unreadable = (s: number) => snapshot({ takenAtMs: at(s), partitions: ORDERS, groups: [group('orders-svc', [], { orders: RULE }, { error: 'coordinator not available' })] });
    for (let s = 1; s < 100; s++) loop.cycle(unreadable(s));
    assert.equal(loop.sent.length, 1);
    let s = 100;
    for (; loop.sent.length === 1 && s < 200; s++) loop.cycle(snapshot({ takenAtMs: at(s), partitions: ORDERS }));
    assert.equal(s - 1 - 100, RULE.resolveForMs / 1000);
    assert.equal(loop.sent[1]?.alert.summary, 'orders-svc no longer reports offsets on orders; closing the lag alert');
  });
});

describe('decide: ConsumerBreachAhead, the early warning (docs/design.md §3.8, lag.warnAhead)', () => {
  const WARN: GroupTopicRule = { ...RULE, warnAheadMs: 3_000 };
  const WARN_KEY = 'local/ConsumerBreachAhead/orders-svc/orders';
  const LAG_KEY = 'local/ConsumerDeliveryLag/orders-svc/orders';
  /** orders-svc on orders at these latencies, each row's breach instant known (exact unless `exact` is false) */
  function warnSnapshot(s: number, latencies: readonly number[], exact = true): KafkaSnapshot {
    const rows = latencies.map((l, p) => (l <= 0 ? rowAt('orders', p, 0, WARN) : { ...rowAt('orders', p, l, WARN), breachAtMs: at(s) - l * 1000 + WARN.thresholdMs, breachAtExact: exact }));
    return snapshot({ takenAtMs: at(s), partitions: ORDERS, groups: [group('orders-svc', rows, { orders: WARN })] });
  }

  it('warns once, as a warning, when a partition will breach within warnAhead: "will be 10 s behind in 3 s unless it commits"', () => {
    const loop = new Loop();
    assert.deepEqual(loop.cycle(warnSnapshot(0, [6.5, 1, 1, 0])), [], '3.5 s ahead: not yet');
    const [n, ...rest] = loop.cycle(warnSnapshot(1, [7, 1, 1, 0]));
    assert.deepEqual(rest, []);
    assert.deepEqual(n?.alert, {
      key: WARN_KEY, alert: 'ConsumerBreachAhead', status: 'firing', severity: 'warning', cluster: 'local',
      summary: 'orders-svc will be 10 s behind on orders in 3 s unless it commits (partition 0)',
      startsAt: new Date(at(1)).toISOString(), endsAt: null, group: 'orders-svc', topic: 'orders', partitions: [0], threshold: 10,
    });
    for (let s = 2; s < 10; s++) assert.deepEqual(loop.cycle(warnSnapshot(s, [7.2, 1, 1, 0])), [], 'no second page while it stays near');
  });

  it('says "about" when the instant is estimated, and is a warning whatever the rule severity', () => {
    const loop = new Loop();
    const rule = { ...WARN, severity: 'critical' as const };
    const rows = [{ ...rowAt('orders', 0, 8, rule), breachAtMs: at(0) + 2_000, breachAtExact: false }];
    const [n] = loop.cycle(snapshot({ takenAtMs: at(0), partitions: ORDERS, groups: [group('orders-svc', rows, { orders: rule })] }));
    assert.equal(n?.alert.summary, 'orders-svc will be 10 s behind on orders in about 2 s unless it commits (partition 0)');
    assert.equal(n?.alert.severity, 'warning');
  });

  it('resolves at once when the breach page takes over, and opens no warning while the lag alert fires', () => {
    const loop = new Loop();
    let s = 0;
    loop.cycle(warnSnapshot(s++, [8, 1, 1, 0]));
    const crossing = loop.cycle(warnSnapshot(s++, [10.5, 1, 1, 0]));
    assert.deepEqual(crossing.map((n) => `${n.alert.status} ${n.alert.key}`).sort(), [`firing ${LAG_KEY}`, `resolved ${WARN_KEY}`]);
    assert.equal(crossing.find((n) => n.alert.key === WARN_KEY)?.alert.summary, 'orders-svc is in breach on orders: the ConsumerDeliveryLag alert takes over from this warning');
    // recovering between resolveBelow and threshold, within warnAhead of a new breach: the lag alert is still the story
    for (let i = 0; i < 20; i++) assert.deepEqual(loop.cycle(warnSnapshot(s++, [8.5, 1, 1, 0])), []);
    assert.deepEqual(Object.keys(loop.state.alerts), [LAG_KEY]);
  });

  it('pages once, not at every crossing, for a group oscillating across the warn line for 10 minutes; never for one just below it', () => {
    const across = new Loop();
    const below = new Loop();
    for (let s = 0; s <= 600; s++) {
      // the warn line is at 7 s of latency (3 s ahead of 10 s)
      const wave = (1 + Math.sin((2 * Math.PI * s) / 37)) / 2;
      across.cycle(warnSnapshot(s, [6.5 + wave, 1, 1, 0]));
      below.cycle(warnSnapshot(s, [6 + 0.9 * wave, 1, 1, 0]));
    }
    assert.deepEqual(across.transitions(), [`firing ${WARN_KEY}`]);
    assert.deepEqual(below.sent, []);
  });

  it('resolves once every partition has been clear of warnAhead + (threshold − resolveBelow) for resolveFor', () => {
    const loop = new Loop();
    let s = 0;
    loop.cycle(warnSnapshot(s++, [7.5, 1, 1, 0]));
    // committed past: now 6 s old, 4 s ahead, inside the 5 s band: still open however long
    for (let i = 0; i < 60; i++) assert.deepEqual(loop.cycle(warnSnapshot(s++, [6, 1, 1, 0])), []);
    const clearFrom = s;
    let resolvedAt = -1;
    for (let i = 0; i < 40 && resolvedAt < 0; i++, s++) if (loop.cycle(warnSnapshot(s, [4, 1, 1, 0])).length > 0) resolvedAt = s;
    assert.equal(resolvedAt - clearFrom, WARN.resolveForMs / 1000);
    assert.equal(loop.sent.at(-1)?.alert.summary, 'orders-svc keeps up on orders again: no partition predicted to reach 10 s behind soon');
    assert.deepEqual(loop.state.alerts, {});
  });

  it('a warning survives a new leader: the stored state parses and continues', () => {
    const loop = new Loop();
    loop.cycle(warnSnapshot(0, [7.5, 1, 1, 0]));
    const next = new Loop();
    next.state = parseAlertState(serializeAlertState(loop.state));
    next.memory = loop.memory;
    assert.deepEqual(next.cycle(warnSnapshot(1, [7.8, 1, 1, 0])), []);
    assert.deepEqual(Object.keys(next.state.alerts), [WARN_KEY]);
  });
});

describe('decide: per-group/topic overrides with globs and severities (docs/design.md §4, §7)', () => {
  const lagSection: VigilConfig['lag'] = {
    thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 30_000, severity: 'warning',
    overrides: [
      { group: 'payments-*', topic: '*', thresholdMs: 5_000, resolveBelowMs: 4_000, severity: 'critical' },
      { group: '*', topic: 'audit-?', thresholdMs: 60_000, resolveBelowMs: 50_000, severity: 'info' },
    ],
  };
  const ruleOf = (g: string, t: string): GroupTopicRule => {
    const { overrideIndex: _, ...rule } = lagRuleFor(lagSection, g, t);
    return rule;
  };
  const parts = [...ORDERS, ...topicPartitions('audit-1', 1, [1, 2, 3])];
  const groupAt = (name: string, topic: string, latency: number) => {
    const rule = ruleOf(name, topic);
    return group(name, [rowAt(topic, 0, latency, rule)], { [topic]: rule });
  };

  it('pages a payments-* group at 6 s as critical with threshold 5, leaves other groups at 6 s alone, and honours an info override', () => {
    const loop = new Loop();
    loop.cycle(snapshot({
      partitions: parts,
      groups: [groupAt('payments-eu', 'orders', 6), groupAt('orders-svc', 'orders', 6), groupAt('archiver', 'audit-1', 61), groupAt('reports', 'audit-1', 30)],
    }));
    assert.deepEqual(loop.sent.map((n) => [n.alert.group, n.alert.severity, n.alert.threshold]), [['payments-eu', 'critical', 5], ['archiver', 'info', 60]]);
    assert.equal(loop.sent[0]?.alert.summary, 'payments-eu is 6 s behind on orders (threshold 5 s); brokers healthy');
  });

  it('resolves an override incident by its own resolveBelow', () => {
    const loop = new Loop();
    loop.cycle(snapshot({ takenAtMs: at(0), partitions: parts, groups: [groupAt('payments-eu', 'orders', 6)] }));
    // 4.5 s is below the global resolveBelow but above the override's 4 s: stays open
    for (let s = 1; s <= 60; s++) loop.cycle(snapshot({ takenAtMs: at(s), partitions: parts, groups: [groupAt('payments-eu', 'orders', 4.5)] }));
    assert.equal(loop.sent.length, 1);
    for (let s = 61; s <= 91; s++) loop.cycle(snapshot({ takenAtMs: at(s), partitions: parts, groups: [groupAt('payments-eu', 'orders', 3)] }));
    assert.equal(loop.sent[1]?.alert.status, 'resolved');
    assert.equal(loop.sent[1]?.alert.severity, 'critical');
  });
});

describe('decide: other alerts, keys and severities (docs/design.md §4)', () => {
  /** A snapshot with one instance of every alert kind except KafkaUnreachable. */
  function troubled(s: number): KafkaSnapshot {
    const parts = withPartitions(
      ORDERS,
      partition('orders', 0, 2, [1, 2, 3], { isr: [2, 3], minIsr: 2 }),
      partition('orders', 3, 3, [1, 2, 3], { isr: [3], minIsr: 2 }),
      partition('orders', 1, -1, [2, 3, 1], { isr: [2], minIsr: 2 }),
    );
    const lenient = { ...RULE, thresholdMs: 3_600_000, resolveBelowMs: 3_000_000 };
    return snapshot({
      takenAtMs: at(s),
      brokers: [broker(1), broker(2), broker(3), downBroker(4, at(0))],
      partitions: parts,
      groups: [
        group('orders-svc', [rowAt('orders', 0, 12)]),
        group('batch', [{ topic: 'orders', partition: 2, committed: 100, end: 101 + s, lagMessages: 1 + s, breach: false, aboveResolveBelow: false, lagSeconds: 1 }], { orders: lenient }),
      ],
      canary: [{ broker: 2, latencyMs: 4_000, ok: true }],
    });
  }

  it('keys each alert by cluster, name and scope, with the documented severity, and pages each once however often it repeats', () => {
    const loop = new Loop('prod');
    for (let s = 0; s < 120; s++) loop.cycle(troubled(s));
    const got = loop.sent.map((n) => [n.alert.status, n.alert.key, n.alert.severity]).sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    assert.deepEqual(got, [
      ['firing', 'prod/BrokerUnreachable/4', 'critical'],
      ['firing', 'prod/CanaryDegraded/2', 'warning'],
      ['firing', 'prod/ConsumerDeliveryLag/orders-svc/orders', 'warning'],
      ['firing', 'prod/ConsumerStalled/batch/orders', 'warning'],
      ['firing', 'prod/PartitionOffline', 'critical'],
      ['firing', 'prod/PartitionUnderMinIsr/1', 'critical'],
      ['firing', 'prod/PartitionUnderMinIsr/2', 'critical'],
      ['firing', 'prod/PartitionUnderReplicated/1', 'warning'],
      ['firing', 'prod/PartitionUnderReplicated/2', 'warning'],
      ['firing', 'prod/PreferredLeaderImbalance/1', 'warning'],
    ]);
    const lag = loop.sent.find((n) => n.alert.alert === 'ConsumerDeliveryLag');
    assert.equal(lag?.alert.summary, 'orders-svc is 12 s behind on orders (threshold 10 s); partition 0 is led by broker 2, whose canary takes 4 s from produce to consume');
  });

  it('leaves the state object untouched when a cycle changes nothing (the store can skip the write)', () => {
    const parts = withPartitions(ORDERS, partition('orders', 0, 1, [1, 2, 3], { isr: [1, 2], minIsr: 2 }));
    const loop = new Loop();
    loop.cycle(snapshot({ takenAtMs: at(0), partitions: parts }));
    const before = loop.state;
    loop.cycle(snapshot({ takenAtMs: at(1), partitions: parts }));
    assert.equal(loop.state, before);
  });

  it('resolves a non-lag alert once its finding has been absent for the hold, not when it flaps', () => {
    const bad = withPartitions(ORDERS, partition('orders', 0, 1, [1, 2, 3], { isr: [1, 2], minIsr: 2 }));
    const loop = new Loop();
    const holdS = DEFAULT_HOLD_MS / 1000;
    let s = 0;
    loop.cycle(snapshot({ takenAtMs: at(s++), partitions: bad }));
    // absent for less than the hold, back, absent again: still one incident
    for (let i = 0; i < holdS; i++) loop.cycle(snapshot({ takenAtMs: at(s++), partitions: ORDERS }));
    loop.cycle(snapshot({ takenAtMs: at(s++), partitions: bad }));
    assert.equal(loop.sent.length, 1);
    const healthyFrom = s;
    while (loop.sent.length === 1 && s < 100) loop.cycle(snapshot({ takenAtMs: at(s++), partitions: ORDERS }));
    assert.equal(s - 1 - healthyFrom, holdS);
    assert.equal(loop.sent[1]?.alert.summary, 'broker 3 is back in the in-sync replicas of every partition');
    assert.equal(loop.sent[1]?.alert.startsAt, loop.sent[0]?.alert.startsAt);
  });

  it('does not resolve other alerts for lack of data while Kafka is unreachable; their clocks restart when it returns', () => {
    const loop = new Loop();
    const parts = withPartitions(ORDERS, partition('orders', 0, 1, [1, 2, 3], { isr: [1, 2], minIsr: 2 }));
    loop.cycle(lagSnapshot(0, [12, 1, 1, 1], RULE, { partitions: parts }));
    for (let s = 1; s <= 120; s++) loop.cycle(unreachableSnapshot(at(s)));
    assert.deepEqual(loop.transitions(), [
      'firing local/PartitionUnderReplicated/3',
      'firing local/ConsumerDeliveryLag/orders-svc/orders',
      'firing local/KafkaUnreachable',
    ]);
    assert.equal(loop.sent[2]?.alert.severity, 'critical');
    assert.equal(loop.sent[2]?.alert.summary, 'Kafka cluster unreachable: could not reach any Kafka broker; tried 127.0.0.1:9092');
    // back and healthy: each resolves after its own clock, counted from the return
    const back = 121;
    const resolvedAt = new Map<string, number>();
    for (let s = back; s <= back + 40; s++) for (const n of loop.cycle(lagSnapshot(s, [1, 1, 1, 1]))) resolvedAt.set(n.alert.alert, s - back);
    assert.deepEqual(Object.fromEntries(resolvedAt), { KafkaUnreachable: 3, PartitionUnderReplicated: 3, ConsumerDeliveryLag: 30 });
    assert.equal(loop.sent.find((n) => n.alert.key === 'local/KafkaUnreachable' && n.alert.status === 'resolved')?.alert.summary, 'Kafka cluster reachable again (unreachable for 2 min)');
  });
});

describe('decide: state a new leader continues from (docs/design.md §4, §6)', () => {
  it('round-trips through JSON, and a new leader on the parsed state neither pages again nor loses the resolve', () => {
    const brokerDown = { brokers: [broker(1), downBroker(2, at(0)), broker(3)] };
    const a = new Loop();
    for (let s = 0; s < 10; s++) a.cycle(lagSnapshot(s, [12 + s, 1, 1, 1], RULE, brokerDown));
    const text = serializeAlertState(a.state);
    assert.deepEqual(parseAlertState(text), a.state);

    // the new leader: fresh detect memory, stored alert state
    const b = new Loop();
    b.state = parseAlertState(text);
    for (let s = 10; s < 20; s++) b.cycle(lagSnapshot(s, [12 + s, 1, 1, 1], RULE, brokerDown));
    assert.equal(b.sent.length, 0, 'the new leader paged again for open incidents');
    for (let s = 20; s < 60; s++) b.cycle(lagSnapshot(s, [1, 1, 1, 1]));
    const firstIds = a.sent.map((n) => n.id);
    assert.deepEqual(b.sent.map((n) => n.id).sort(), [
      firstIds.find((id) => id.includes('BrokerUnreachable'))?.replace('#firing', '#resolved'),
      firstIds.find((id) => id.includes('ConsumerDeliveryLag'))?.replace('#firing', '#resolved'),
    ].sort());
  });

  it('lists open lag incidents for the observer (which runs the resolveBelow test for them)', () => {
    const loop = new Loop();
    loop.cycle(lagSnapshot(0, [12, 1, 1, 1]));
    assert.deepEqual(openLagIncidents(loop.state), [{ group: 'orders-svc', topic: 'orders', resolveBelowMs: 8_000 }]);
  });

  it('rejects a stored state it cannot continue from, with a code and what to do', () => {
    for (const bad of ['not json', '{"version":2,"alerts":{}}', '{"version":1,"alerts":{"k":{"finding":{"kind":"Nope"}}}}', '{"version":1,"alerts":{"k":{"finding":{"kind":"ConsumerDeliveryLag"},"severity":"warning","startsAtMs":1,"quietSinceMs":null}}}']) {
      assert.throws(() => parseAlertState(bad), (err: unknown) => isVigilError(err) && err.code === 'STATE_PERSIST_FAILED' && /delete the stored alert state/.test(err.message), bad);
    }
  });
});

describe('decide: OffsetsStreamDenied (docs/design.md §3.6)', () => {
  it('pages once (info) while the commit stream may not read __consumer_offsets, and resolves once it may', () => {
    const loop = new Loop();
    const reason = "TOPIC_AUTHORIZATION_FAILED: vigil's principal may not Read __consumer_offsets";
    const denied = (s: number) => ({ ...snapshot({ takenAtMs: at(s) }), offsetsStreamDenied: reason }) as KafkaSnapshot;
    const [n, ...rest] = loop.cycle(denied(0));
    assert.deepEqual(rest, []);
    assert.ok(n);
    assert.deepEqual([n.alert.key, n.alert.severity, n.alert.status], ['local/OffsetsStreamDenied', 'info', 'firing']);
    assert.match(n.alert.summary, /^vigil streams no commits \(TOPIC_AUTHORIZATION_FAILED.*\): every group's committed offsets are polled.*grant DESCRIBE and READ on the topic __consumer_offsets/);
    for (let s = 1; s < 5; s++) assert.deepEqual(loop.cycle(denied(s)), [], 'still denied: nothing new');
    loop.cycle(snapshot({ takenAtMs: at(5) }));
    for (let s = 6; s <= 5 + DEFAULT_HOLD_MS / 1000; s++) loop.cycle(snapshot({ takenAtMs: at(s) }));
    assert.deepEqual(loop.transitions(), ['firing local/OffsetsStreamDenied', 'resolved local/OffsetsStreamDenied']);
  });
});
