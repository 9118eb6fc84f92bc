/**
 * detectSliced (src/monitor/detect.ts): the leader's settle walks the groups in slices with
 * the event loop let through between them (docs/design.md §3.9). Same steps as detect():
 * the same findings, lag view and memory, whatever the slicing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DETECT_OPTIONS, detect, detectSliced, emptyDetectMemory } from '../../src/monitor/detect';
import { TimeSlices } from '../../src/util/slices';
import { group, rowAt, snapshot, topicPartitions } from '../fakes/snapshots';

describe('detectSliced', () => {
  it('gives what detect() gives, letting the event loop through between slices', async () => {
    const partitions = topicPartitions('orders', 4, [1, 2, 3]);
    const groups = Array.from({ length: 1000 }, (_, g) => group(`g${g}`, [0, 1, 2, 3].map((p) => rowAt('orders', p, g % 7 === 0 ? 14 : g % 5 === 0 ? null : (g % 9) / 2))));
    const first = snapshot({ partitions, groups });
    const second = snapshot({ takenAtMs: (first.takenAtMs as number) + 1000, partitions, groups: groups.map((g, i) => (i % 3 === 0 ? group(g.group, g.partitions.map((r) => rowAt('orders', r.partition, 12))) : g)) });

    const plain1 = detect(first, emptyDetectMemory());
    const plain2 = detect(second, plain1.memory);

    // a clock that moves 1 ms a read: every check finds the slice due
    let now = 0;
    const slices = new TimeSlices({ monotonicMs: () => (now += 1) }, 5);
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    try {
      const sliced1 = await detectSliced(first, emptyDetectMemory(), DEFAULT_DETECT_OPTIONS, slices);
      const sliced2 = await detectSliced(second, sliced1.memory, DEFAULT_DETECT_OPTIONS, slices);
      assert.deepEqual(sliced1.findings, plain1.findings);
      assert.deepEqual(sliced2.findings, plain2.findings);
      assert.deepEqual([...sliced2.lag.byScope], [...plain2.lag.byScope]);
      assert.deepEqual(sliced2.memory, plain2.memory);
      assert.ok(plain2.findings.some((f) => f.kind === 'ConsumerDeliveryLag'), 'the snapshots breach somewhere');
    } finally {
      clearInterval(counting);
    }
    assert.ok(turns > 0, 'timers ran between slices');
  });

  it('writes the stall table into the one before last when it may, and never into a table a caller can still pass in', () => {
    const partitions = topicPartitions('orders', 2, [1, 2, 3]);
    const at = (t: number, committed: number) =>
      snapshot({ takenAtMs: 1_000_000 + t, partitions, groups: [group('svc', [0, 1].map((p) => ({ ...rowAt('orders', p, 3), committed, end: committed + 10 })))] });
    const m1 = detect(at(0, 100), emptyDetectMemory()).memory;
    const m2 = detect(at(1000, 100), m1).memory;
    const m3 = detect(at(2000, 100), m2).memory;
    assert.equal(m3.stalls.values, m1.stalls.values, "the third table reuses the first one's buffer");
    const before = [...m2.stalls.values];
    // detect from m2 again (a result thrown away, e.g. leadership lost mid-cycle): m2's spare is taken
    const again = detect(at(2000, 100), m2).memory;
    assert.notEqual(again.stalls.values, m3.stalls.values);
    assert.deepEqual([...again.stalls.values], [...m3.stalls.values], 'the same values either way');
    assert.deepEqual([...m2.stalls.values], before, 'm2 itself is untouched');
  });
});
