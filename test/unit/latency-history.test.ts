/**
 * The leader's recent latency per group (GET /api/v1/lag/history, the status page's
 * sparklines, issue 11) stays bounded: a sample per group at most every step/2, none older
 * than the window, no group the latest snapshot no longer has.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupLatencyHistory } from '../../src/monitor/latency-history';

describe('GroupLatencyHistory (bounded, for the status page)', () => {
  it('keeps at most one sample per half step within the window, whatever the number of cycles', () => {
    const h = new GroupLatencyHistory(60_000, 5_000);
    for (let t = 0; t <= 600_000; t += 1000) h.record([{ group: 'a', lagSeconds: t / 1000 }], t);
    const doc = h.document(600_000);
    const a = doc.groups['a'] ?? assert.fail('group a missing');
    assert.ok(a.length <= (2 * 60) / 5 + 1, `${a.length} samples in a 60 s window at 5 s steps`);
    assert.ok(a.every(([t]) => t >= 540_000), 'nothing older than the window');
    assert.deepEqual(a[a.length - 1], [600_000, 600]);
    assert.equal(h.size(), a.length);
    assert.deepEqual([doc.windowSeconds, doc.stepSeconds], [60, 5]);
  });

  it('forgets groups the latest snapshot no longer has; unknown latency is null', () => {
    const h = new GroupLatencyHistory(60_000, 5_000);
    h.record([{ group: 'a', lagSeconds: 1 }, { group: 'b', lagSeconds: null }], 0);
    assert.deepEqual(h.document(0).groups, { a: [[0, 1]], b: [[0, null]] });
    h.record([{ group: 'b', lagSeconds: 2 }], 5_000);
    assert.deepEqual(Object.keys(h.document(5_000).groups), ['b']);
    assert.deepEqual(h.document(5_000).groups['b'], [[0, null], [5_000, 2]]);
  });
});
