/**
 * AnswerClock (src/kafka/answer-times.ts): per-broker answer times, a cycle's median and
 * slowest, and the 90th percentile over a rolling window of cycles (docs/design.md §4.3).
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
    assert.equal(a?.windowP90Ms, 40, 'never above the slowest answer');
    assert.deepEqual(out.get('b:9092'), { count: 1, p50Ms: 1_234.5, maxMs: 1_234.5, windowP90Ms: 1_234.5, windowCycles: 1 });
  });

  it('keeps a rolling window of the last cycles: slow answers age out, a cycle without answers still counts', () => {
    const clock = new AnswerClock(3);
    clock.record('a', 2_000);
    clock.cycle();
    clock.record('a', 3);
    let a = clock.cycle().get('a');
    assert.equal(a?.windowCycles, 2);
    assert.equal(a?.windowP90Ms, 2_000, 'the 90th percentile of 3 ms and 2 s is the slow one');
    a = clock.cycle().get('a'); // nothing answered (the broker unreachable)
    assert.deepEqual(a, { count: 0, p50Ms: null, maxMs: null, windowP90Ms: 2_000, windowCycles: 2 });
    clock.record('a', 4);
    a = clock.cycle().get('a');
    assert.equal(a?.windowCycles, 2, 'the 2 s cycle left the window of three');
    near(a?.windowP90Ms, 4);
  });

  it('forgets an address once its whole window is without an answer', () => {
    const clock = new AnswerClock(2);
    clock.record('gone', 5);
    assert.ok(clock.cycle().has('gone'));
    assert.ok(clock.cycle().has('gone'));
    assert.equal(clock.cycle().has('gone'), false);
  });

  it('takes the 90th percentile over every answer of the window, weighing cycles by their answers', () => {
    const clock = new AnswerClock();
    // nine cycles of ten fast answers, one cycle of ten slow ones: 10 % slow
    for (let c = 0; c < ANSWER_WINDOW_CYCLES; c++) {
      for (let i = 0; i < 10; i++) clock.record('a', c === 4 ? 800 : 2);
      const a = clock.cycle().get('a');
      if (c === ANSWER_WINDOW_CYCLES - 1) {
        near(a?.windowP90Ms, 2);
        assert.equal(a?.windowCycles, ANSWER_WINDOW_CYCLES);
      }
    }
    // one more slow cycle pushes a fast one out: 20 % slow
    for (let i = 0; i < 10; i++) clock.record('a', 800);
    near(clock.cycle().get('a')?.windowP90Ms, 800);
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
