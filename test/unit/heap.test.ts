/**
 * The replica's heap growth bound (src/util/heap.ts, docs/design.md §3.9): set unless node was
 * given its own, overridden by VIGIL_HEAP_GROWING_PERCENT, refused with the fix when that is
 * not a whole number from 0 to 1000.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEAP_GROWING_PERCENT, boundHeapGrowth } from '../../src/util/heap';

describe('boundHeapGrowth', () => {
  it("bounds the growth at vigil's percent by default", () => {
    assert.deepEqual(boundHeapGrowth({}, []), { growingPercent: HEAP_GROWING_PERCENT, source: 'vigil' });
  });

  it("leaves node's own --heap-growing-percent alone", () => {
    assert.deepEqual(boundHeapGrowth({ VIGIL_HEAP_GROWING_PERCENT: '80' }, ['--heap-growing-percent=30']), { growingPercent: null, source: 'node flags' });
  });

  it('takes VIGIL_HEAP_GROWING_PERCENT, and 0 for V8 own growth', () => {
    assert.deepEqual(boundHeapGrowth({ VIGIL_HEAP_GROWING_PERCENT: '100' }, []), { growingPercent: 100, source: 'VIGIL_HEAP_GROWING_PERCENT' });
    assert.deepEqual(boundHeapGrowth({ VIGIL_HEAP_GROWING_PERCENT: '0' }, []), { growingPercent: null, source: 'VIGIL_HEAP_GROWING_PERCENT' });
    assert.deepEqual(boundHeapGrowth({ VIGIL_HEAP_GROWING_PERCENT: ' ' }, []), { growingPercent: HEAP_GROWING_PERCENT, source: 'vigil' });
  });

  it('refuses a value that is not a whole number from 0 to 1000, naming the fix', () => {
    for (const bad of ['fifty', '-5', '12.5', '5000']) {
      assert.throws(() => boundHeapGrowth({ VIGIL_HEAP_GROWING_PERCENT: bad }, []), (err: Error) => err.message.includes(`"${bad}"`) && /whole number from 0/.test(err.message));
    }
  });
});
