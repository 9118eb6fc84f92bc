import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeSlices } from '../../src/util/slices';
import { ManualTime } from '../fakes/manual-time';

describe('TimeSlices', () => {
  it('is due once its slice has run, and starts a new one after letting the event loop through', async () => {
    const time = new ManualTime(100);
    const slices = new TimeSlices(time, 10);
    assert.equal(slices.due(), false);
    time.nowMs = 109;
    assert.equal(slices.due(), false);
    time.nowMs = 110;
    assert.equal(slices.due(), true);

    // what was waiting on the event loop runs before the pass goes on
    const order: string[] = [];
    setImmediate(() => order.push('io'));
    await slices.next();
    order.push('pass');
    assert.deepEqual(order, ['io', 'pass']);
    assert.equal(slices.due(), false, 'a new slice from the time next() resumed');
  });

  it('breathe() lets the loop through only when due; restart() starts the slice over', async () => {
    const time = new ManualTime(0);
    const slices = new TimeSlices(time, 10);
    const order: string[] = [];
    setImmediate(() => order.push('io'));
    await slices.breathe();
    order.push('not due: no turn');
    time.nowMs = 25;
    await slices.breathe();
    order.push('due: after the turn');
    assert.deepEqual(order, ['not due: no turn', 'io', 'due: after the turn']);

    time.nowMs = 40;
    slices.restart();
    time.nowMs = 49;
    assert.equal(slices.due(), false);
  });
});

describe('TimeSlices.tick', () => {
  it('reads the clock once in 32 calls and says due then', () => {
    let reads = 0;
    let now = 0;
    const slices = new TimeSlices({ monotonicMs: () => (reads++, now) }, 10);
    reads = 0;
    now = 50; // long past due
    const answers = Array.from({ length: 64 }, () => slices.tick());
    assert.equal(reads, 2);
    assert.deepEqual([answers.indexOf(true), answers.lastIndexOf(true)], [31, 63]);
  });
});
