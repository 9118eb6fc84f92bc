/**
 * The fault soak's oracle (issue 8, "Prove it") on synthetic timelines: it must count a
 * lost, doubled or false page, a late delivery after a receiver came back, two leaders in
 * one term, a stale term and a crash — and must not count what the at-least-once edge
 * explains.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FaultRecord, type ReadPage, type SoakTimeline, judgeSoak, trueIncidents } from '../harness/soak-oracle';

const KEY = 'soak/ConsumerDeliveryLag/g1/t';
const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Truth: 500 ms behind, stopped from 10 s to 35 s (breach 20.5 s to 35 s), then 500 ms again. */
function truthSamples(untilMs = 80_000): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  for (let t = 0; t <= untilMs; t += 250) {
    const latency = t >= 10_000 && t < 35_000 ? 500 + (t - 10_000) : 500;
    out.push([T0 + t, latency]);
  }
  return out;
}

const STARTS = iso(T0 + 21_000);
const ENDS = iso(T0 + 38_500);

function webhook(status: 'firing' | 'resolved', atMs: number, opts: { key?: string; startsAt?: string; term?: number; node?: string; answered?: boolean; mode?: ReadPage['mode'] } = {}): ReadPage {
  const answered = opts.answered ?? true;
  return {
    receiver: 'webhook',
    format: 'webhook',
    receivedAtMs: T0 + atMs,
    answered,
    ...(answered ? { answeredAtMs: T0 + atMs + 2 } : {}),
    mode: opts.mode ?? 'up',
    body: {
      version: 1,
      status,
      key: opts.key ?? KEY,
      startsAt: opts.startsAt ?? STARTS,
      endsAt: status === 'resolved' ? ENDS : null,
      sentBy: { nodeId: opts.node ?? 'vigil-1', term: opts.term ?? 3 },
    },
  };
}

function pd(action: 'trigger' | 'resolve', atMs: number, opts: { key?: string; startsAt?: string; term?: number; node?: string } = {}): ReadPage {
  const key = opts.key ?? KEY;
  return {
    receiver: 'pagerduty',
    format: 'pagerduty',
    receivedAtMs: T0 + atMs,
    answered: true,
    answeredAtMs: T0 + atMs + 2,
    mode: 'up',
    body:
      action === 'resolve'
        ? { routing_key: 'k', event_action: 'resolve', dedup_key: key }
        : { routing_key: 'k', event_action: 'trigger', dedup_key: key, payload: { custom_details: { startsAt: opts.startsAt ?? STARTS, sentBy: { nodeId: opts.node ?? 'vigil-1', term: opts.term ?? 3 } } } },
  };
}

function timeline(pages: ReadPage[], extra: Partial<SoakTimeline> = {}): SoakTimeline {
  return {
    thresholdMs: 10_000,
    resolveBelowMs: 8_000,
    resolveForMs: 3_000,
    receivers: ['webhook', 'pagerduty'],
    truth: [{ key: KEY, samples: truthSamples() }],
    pages,
    faults: [],
    exits: [],
    openAtEnd: [],
    ...extra,
  };
}

const clean = (): ReadPage[] => [webhook('firing', 21_500), pd('trigger', 21_500), webhook('resolved', 38_600), pd('resolve', 38_600)];

describe('soak oracle', () => {
  it('finds the true incident with the monitor hysteresis (fire above the threshold, resolve below resolveBelow for resolveFor)', () => {
    const incidents = trueIncidents({ key: KEY, samples: truthSamples() }, { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 3_000 }, 4000);
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0]?.openMs, T0 + 19_750);
    assert.equal(incidents[0]?.required, true);
  });

  it('a short breach is an incident that need not page', () => {
    const samples: Array<readonly [number, number]> = [];
    for (let t = 0; t <= 30_000; t += 250) samples.push([T0 + t, t >= 5_000 && t < 16_000 ? 500 + (t - 5_000) : 500]);
    const incidents = trueIncidents({ key: KEY, samples }, { thresholdMs: 10_000, resolveBelowMs: 8_000, resolveForMs: 3_000 }, 4000);
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0]?.required, false);
  });

  it('one firing and one resolved per receiver for a true incident: clean', () => {
    const r = judgeSoak(timeline(clean()));
    assert.deepEqual(
      { lost: r.lost, duplicates: r.duplicates, falsePages: r.falsePages, edge: r.atLeastOnceEdge, incidents: r.incidents },
      { lost: 0, duplicates: 0, falsePages: 0, edge: 0, incidents: 1 },
      JSON.stringify(r.findings),
    );
    assert.deepEqual(r.pagesByReceiver['pagerduty'], { answered: 2, unanswered: 0 });
  });

  it('a true incident a receiver never got is lost; a resolve that never came is lost', () => {
    const r = judgeSoak(timeline([webhook('firing', 21_500), pd('trigger', 21_500)]));
    // both receivers: firing never resolved
    assert.equal(r.lost, 2);
    const r2 = judgeSoak(timeline([webhook('firing', 21_500), webhook('resolved', 38_600)]));
    // pagerduty: the incident never paged, and both pages missing there
    assert.ok(r2.findings.some((f) => f.what === 'true incident never paged' && f.receiver === 'pagerduty'));
    assert.equal(r2.lost, 3);
  });

  it('an answered page sent again with no fault to explain it is a duplicate', () => {
    const r = judgeSoak(timeline([...clean(), webhook('firing', 25_000, { node: 'vigil-1', term: 3 })]));
    assert.equal(r.duplicates, 1);
    assert.equal(r.atLeastOnceEdge, 0);
  });

  it('a re-send after the first sender was killed right after the answer is the at-least-once edge', () => {
    const kill: FaultRecord = { id: 7, kind: 'leader-kill', target: 'vigil-1', startMs: T0 + 21_510, endMs: T0 + 25_000 };
    const r = judgeSoak(timeline([...clean(), webhook('firing', 22_500, { node: 'vigil-2', term: 4 })], { faults: [kill] }));
    assert.equal(r.duplicates, 0);
    assert.equal(r.atLeastOnceEdge, 1);
    assert.deepEqual((r.edges[0]?.detail as { fault: FaultRecord }).fault, kill);
  });

  it('a re-send by the leader of a newer term while the first copy was still in flight is the edge (leadership moved, no fault)', () => {
    const slowFirst: ReadPage = { ...webhook('firing', 21_500, { node: 'vigil-1', term: 3 }), answeredAtMs: T0 + 24_200 };
    const r = judgeSoak(timeline([slowFirst, webhook('firing', 22_600, { node: 'vigil-3', term: 4 }), pd('trigger', 21_500), webhook('resolved', 38_600, { node: 'vigil-3', term: 4 }), pd('resolve', 38_600)]));
    assert.equal(r.duplicates, 0, JSON.stringify(r.findings));
    assert.equal(r.atLeastOnceEdge, 1);
    assert.deepEqual((r.edges[0]?.detail as { fault: unknown }).fault, { leaderChange: { from: { nodeId: 'vigil-1', term: 3 }, to: { nodeId: 'vigil-3', term: 4 }, whileInFlight: true } });
  });

  it('a page read while black-holed and sent again is the at-least-once edge, with the receiver fault', () => {
    const hole: FaultRecord = { id: 3, kind: 'receiver-blackhole', target: 'webhook', startMs: T0 + 20_000, endMs: T0 + 24_000 };
    const pages = [webhook('firing', 21_500, { answered: false, mode: 'blackhole' }), webhook('firing', 27_000), pd('trigger', 21_500), webhook('resolved', 38_600), pd('resolve', 38_600)];
    const r = judgeSoak(timeline(pages, { faults: [hole] }));
    assert.equal(r.duplicates, 0);
    assert.equal(r.lost, 0);
    assert.equal(r.atLeastOnceEdge, 1);
    assert.equal((r.edges[0]?.detail as { fault: FaultRecord }).fault.id, 3);
  });

  it('a second firing without a resolved between is a duplicate (infra alerts alternate)', () => {
    const key = 'soak/BrokerUnreachable/2';
    const pages = [webhook('firing', 1000, { key, startsAt: iso(T0 + 900) }), webhook('firing', 5000, { key, startsAt: iso(T0 + 4900) }), webhook('resolved', 9000, { key, startsAt: iso(T0 + 4900) })];
    const r = judgeSoak(timeline(pages, { receivers: ['webhook'], truth: [] }));
    assert.ok(r.findings.some((f) => f.what === 'firing again without a resolved between'));
    assert.ok(r.duplicates >= 1);
  });

  it('a lag page with no true breach near its startsAt is false', () => {
    const r = judgeSoak(timeline([...clean(), webhook('firing', 60_000, { startsAt: iso(T0 + 60_000) }), webhook('resolved', 65_000, { startsAt: iso(T0 + 60_000) })], { receivers: ['webhook', 'pagerduty'] }));
    assert.equal(r.falsePages, 1);
  });

  it('a lag page while the truth was unknown is neither true nor false: counted apart', () => {
    const unknown = truthSamples().map(([ms, v]) => (ms >= T0 + 55_000 && ms < T0 + 58_000 ? ([ms, Number.NaN] as const) : ([ms, v] as const)));
    const pages = [...clean(), webhook('firing', 60_000, { startsAt: iso(T0 + 60_000) }), webhook('resolved', 65_000, { startsAt: iso(T0 + 60_000) })];
    const r = judgeSoak(timeline(pages, { receivers: ['webhook', 'pagerduty'], truth: [{ key: KEY, samples: unknown }] }));
    assert.equal(r.falsePages, 0);
    assert.equal(r.unjudgedPages, 1);
  });

  it('a PagerDuty resolve (no payload, sender unknown) sent again after a replica fault around the first copy is the edge', () => {
    const term: FaultRecord = { id: 9, kind: 'leader-term', target: 'vigil-3', startMs: T0 + 38_590, endMs: T0 + 41_000 };
    const pages = [...clean(), pd('resolve', 39_600)];
    const explained = judgeSoak(timeline(pages, { faults: [term] }));
    assert.equal(explained.duplicates, 0);
    assert.equal(explained.atLeastOnceEdge, 1);
    assert.equal(judgeSoak(timeline(pages)).duplicates, 1, 'without a fault it is a duplicate');
  });

  it('the wait after a receiver came back is not measured when the same receiver fails again meanwhile', () => {
    const hole: FaultRecord = { id: 1, kind: 'receiver-blackhole', target: 'pagerduty', startMs: T0 + 15_000, endMs: T0 + 30_000 };
    const downAgain: FaultRecord = { id: 2, kind: 'receiver-down', target: 'pagerduty', startMs: T0 + 31_000, endMs: T0 + 36_000 };
    const pages = [webhook('firing', 21_500), pd('trigger', 36_200), webhook('resolved', 38_600), pd('resolve', 38_600)];
    const r = judgeSoak(timeline(pages, { faults: [hole, downAgain] }));
    assert.equal(r.lateAfterBack, 0);
    assert.equal(r.worstDelayAfterBlackholeMs ?? null, null, 'the black hole\'s wait overlapped the second fault');
    assert.equal(r.worstDelayAfterBackMs, 202, 'the second fault\'s own wait is measured');
    assert.equal(judgeSoak(timeline(pages, { faults: [hole] })).lateAfterBack, 1, 'alone, the black hole\'s wait is late');
  });

  it('the delay of an owed page after its receiver came back is measured; past 2 s it is late', () => {
    const down: FaultRecord = { id: 1, kind: 'receiver-down', target: 'pagerduty', startMs: T0 + 15_000, endMs: T0 + 30_000 };
    const onTime = judgeSoak(timeline([webhook('firing', 21_500), pd('trigger', 30_800), webhook('resolved', 38_600), pd('resolve', 38_600)], { faults: [down] }));
    assert.equal(onTime.worstDelayAfterBackMs, 802);
    assert.equal(onTime.lateAfterBack, 0);
    const late = judgeSoak(timeline([webhook('firing', 21_500), pd('trigger', 33_000), webhook('resolved', 38_600), pd('resolve', 38_600)], { faults: [down] }));
    assert.equal(late.lateAfterBack, 1);
  });

  it('two nodes in one term, and an older term read well after a newer one, are found', () => {
    const key = 'soak/BrokerUnreachable/1';
    const pages = [
      webhook('firing', 1000, { key, startsAt: iso(T0 + 900), node: 'vigil-1', term: 5 }),
      webhook('resolved', 3000, { key, startsAt: iso(T0 + 900), node: 'vigil-2', term: 5 }),
      webhook('firing', 10_000, { key, startsAt: iso(T0 + 9_900), node: 'vigil-3', term: 6 }),
      webhook('resolved', 14_000, { key, startsAt: iso(T0 + 9_900), node: 'vigil-1', term: 5 }),
    ];
    const r = judgeSoak(timeline(pages, { receivers: ['webhook'], truth: [] }));
    assert.equal(r.termConflicts, 1);
    assert.equal(r.staleTermPages, 1);
  });

  it('an older term crossing the newer leader\'s first page in flight is counted apart', () => {
    const key = 'soak/BrokerUnreachable/1';
    const pages = [webhook('firing', 10_000, { key, startsAt: iso(T0 + 9_900), node: 'vigil-3', term: 6 }), webhook('resolved', 10_300, { key, startsAt: iso(T0 + 9_900), node: 'vigil-1', term: 5 })];
    const r = judgeSoak(timeline(pages, { receivers: ['webhook'], truth: [] }));
    assert.equal(r.staleTermPages, 0);
    assert.equal(r.staleTermInFlight, 1);
  });

  it('a replica exit the driver did not cause is a crash', () => {
    const r = judgeSoak(timeline(clean(), { exits: [{ replica: 'vigil-2', atMs: T0, code: 1, signal: null, expected: false }, { replica: 'vigil-1', atMs: T0, code: null, signal: 'SIGKILL', expected: true }] }));
    assert.equal(r.crashes, 1);
  });

  it('an alert the leader still reports open at the end is not a lost resolve', () => {
    const key = 'soak/PreferredLeaderImbalance/2';
    const pages = [webhook('firing', 1000, { key, startsAt: iso(T0 + 900) })];
    assert.equal(judgeSoak(timeline(pages, { receivers: ['webhook'], truth: [], openAtEnd: [key] })).lost, 0);
    assert.equal(judgeSoak(timeline(pages, { receivers: ['webhook'], truth: [] })).lost, 1);
  });
});
