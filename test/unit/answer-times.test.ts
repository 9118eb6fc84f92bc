/**
 * AnswerClock (src/kafka/answer-times.ts): per-broker answer times, a cycle's median and
 * slowest, and over a rolling window of cycles the median of the cycles' slowest answers
 * (docs/design.md §4.3).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANSWER_WINDOW_CYCLES, AnswerClock } from '../../src/kafka/answer-times';

/** within the histogram's bucket width (2^(1/4), about 19 %) */
function near(actual: number | null | undefined, expected: number): void {
  assert.ok(actual !== null && actual !== undefined && actual >= expected && actual <= expected * 1.19, `${actual} is not within a bucket above ${expected}`);
}

describe('AnswerClock: answer times per broker (docs/design.md §4.3)', () => {
  it("reports a cycle's count, median (to within a bucket) and exact slowest answer per address", () => {
    const clock = new AnswerClock();
    for (const ms of [2, 3, 4, 5, 40]) clock.record('a:9092', ms);
    clock.record('b:9092', 1_234.5);
    const out = clock.cycle();
    const a = out.get('a:9092');
    assert.equal(a?.count, 5);
    near(a?.p50Ms, 4);
    assert.equal(a?.maxMs, 40);
    assert.equal(a?.windowCycles, 1);
    assert.equal(a?.windowSlowestMs, 40);
    assert.deepEqual(out.get('b:9092'), { count: 1, p50Ms: 1_234.5, maxMs: 1_234.5, windowSlowestMs: 1_234.5, windowCycles: 1 });
  });

  it('keeps a rolling window of the last cycles: slow answers age out, a cycle without answers still counts', () => {
    const clock = new AnswerClock(3);
    clock.record('a', 2_000);
    clock.cycle();
    clock.record('a', 3);
    clock.record('a', 2_500);
    let a = clock.cycle().get('a');
    assert.equal(a?.windowCycles, 2);
    assert.equal(a?.windowSlowestMs, 2_250, 'the median of the two cycles\' slowest answers');
    a = clock.cycle().get('a'); // nothing answered (the broker unreachable)
    assert.deepEqual(a, { count: 0, p50Ms: null, maxMs: null, windowSlowestMs: 2_250, windowCycles: 2 });
    clock.record('a', 4);
    a = clock.cycle().get('a');
    assert.equal(a?.windowCycles, 2, 'the first cycle left the window of three');
    assert.equal(a?.windowSlowestMs, (2_500 + 4) / 2);
  });

  it('forgets an address once its whole window is without an answer', () => {
    const clock = new AnswerClock(2);
    clock.record('gone', 5);
    assert.ok(clock.cycle().has('gone'));
    assert.ok(clock.cycle().has('gone'));
    assert.equal(clock.cycle().has('gone'), false);
  });

  it('is slow when most cycles have a slow answer, however few of their answers are slow; one slow cycle is not', () => {
    const clock = new AnswerClock();
    const cycleOf = (slow: boolean) => {
      // a cycle's requests go out in phases: a stall holds one of ten
      for (let i = 0; i < 10; i++) clock.record('a', slow && i === 0 ? 800 : 2);
      return clock.cycle().get('a');
    };
    let a = cycleOf(true);
    for (let c = 1; c < ANSWER_WINDOW_CYCLES; c++) a = cycleOf(false);
    assert.equal(a?.windowCycles, ANSWER_WINDOW_CYCLES);
    assert.equal(a?.windowSlowestMs, 2, 'one stalled cycle in ten');
    for (let c = 0; c < ANSWER_WINDOW_CYCLES / 2; c++) a = cycleOf(true);
    assert.equal(a?.windowSlowestMs, (800 + 2) / 2, 'half of them');
    a = cycleOf(true);
    assert.equal(a?.windowSlowestMs, 800, 'most of them');
    near(a?.p50Ms, 2);
  });

  it('times a request from its send to its answer; an error answer and a timeout count, a lost connection does not', async () => {
    let now = 1_000;
    const clock = new AnswerClock(ANSWER_WINDOW_CYCLES, () => now);
    const after = <T>(ms: number, outcome: () => T) => async () => {
      now += ms;
      return outcome();
    };
    assert.equal(await clock.time('a', after(120, () => 'answer')), 'answer');
    const fail = (name: string) => () => {
      throw Object.assign(new Error(name), { name });
    };
    await assert.rejects(clock.time('a', after(300, fail('KafkaJSProtocolError'))));
    await assert.rejects(clock.time('a', after(30_000, fail('KafkaJSRequestTimeoutError'))));
    await assert.rejects(clock.time('a', after(5, fail('KafkaJSConnectionError'))));
    await assert.rejects(clock.time('b', after(5, fail('KafkaJSConnectionClosedError'))));
    const out = clock.cycle();
    assert.equal(out.get('a')?.count, 3);
    assert.equal(out.get('a')?.maxMs, 30_000);
    assert.equal(out.has('b'), false, 'never answered');
  });
});
