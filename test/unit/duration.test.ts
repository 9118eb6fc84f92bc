/**
 * Duration values (docs/design.md §7 "durations like 100ms, 10s, 10m") in the config and on the
 * command line. Issue 8 defect 12: a bare number used to mean milliseconds, so
 * `lag.threshold: 10` and `vigil lag --threshold 10` meant 10 ms and reported a breach
 * on any lag. A bare number is refused now, and compound forms such as `1m30s` work.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { durationFlagMs } from '../../src/cli/duration-flag';
import { kafkaConfigFromOptions } from '../../src/cli/kafka-options';
import { runLag } from '../../src/cli/lag';
import { isVigilError } from '../../src/errors';
import { formatDurationMs, parseDurationMs } from '../../src/util/duration';

describe('parseDurationMs', () => {
  it('reads every unit, fractions, and compound forms largest unit first', () => {
    const cases: Array<[string, number]> = [
      ['250ms', 250], ['10s', 10_000], ['1.5s', 1_500], ['10m', 600_000], ['1h', 3_600_000], ['1d', 86_400_000],
      ['1m30s', 90_000], ['1h15m', 4_500_000], ['2h0m5s', 7_205_000], ['1s500ms', 1_500], [' 10s ', 10_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
  });

  it('takes 0 without a unit (it means the same in every unit)', () => {
    assert.equal(parseDurationMs(0), 0);
    assert.equal(parseDurationMs('0'), 0);
  });

  it('refuses a bare number, as a YAML number or as text from ${ENV}', () => {
    for (const value of [10, 1.5, '10', '1500']) assert.equal(parseDurationMs(value), undefined, String(value));
  });

  it('refuses units out of order or repeated, negatives, spaces inside and words', () => {
    for (const value of ['30s1m', '1s1s', '-1s', '10 s', '1m 30s', 'ten seconds', '', 's', '1x', null, [], {}]) {
      assert.equal(parseDurationMs(value), undefined, JSON.stringify(value));
    }
  });

  it('reads back what formatDurationMs writes', () => {
    for (const ms of [1, 250, 1_500, 10_000, 90_000, 600_000, 3_600_000]) assert.equal(parseDurationMs(formatDurationMs(ms)), ms);
  });
});

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isVigilError(err) && err.code === 'USAGE', String(err));
    return err.message;
  }
  assert.fail('expected a USAGE error');
}

describe('duration flags on the command line', () => {
  it('durationFlagMs takes the config forms and names the flag and both readings of a bare number', () => {
    assert.equal(durationFlagMs('--threshold', '1m30s'), 90_000);
    assert.match(usageMessage(() => durationFlagMs('--threshold', '10')), /^--threshold: "10" is not a duration: .*write "10s" for seconds or "10ms" for milliseconds$/);
    assert.match(usageMessage(() => durationFlagMs('--threshold', 'soon')), /^--threshold: "soon" is not a duration: expected a duration such as "250ms", "10s", "1m30s" or "1h"$/);
    assert.match(usageMessage(() => durationFlagMs('--threshold', '0')), /must be longer than 0/);
  });

  it('vigil lag --threshold 10 is a usage error before any broker is contacted', async () => {
    const out = new Writable({ write: (_c, _e, done) => done() });
    // port 9 (discard): nothing is listening; the flag must be refused before a connection is tried
    await assert.rejects(
      runLag({ brokers: '127.0.0.1:9', group: [], topic: [], threshold: '10' }, out),
      (err: unknown) => isVigilError(err) && err.code === 'USAGE' && /--threshold: .*"10s"/.test(err.message),
    );
  });

  it('--connect-timeout 3000 is a usage error; 1m30s is read', () => {
    assert.match(usageMessage(() => kafkaConfigFromOptions({ brokers: '127.0.0.1:9092', connectTimeout: '3000' })), /^--connect-timeout: .*"3000s"/);
    assert.equal(kafkaConfigFromOptions({ brokers: '127.0.0.1:9092', connectTimeout: '1m30s' }).connectionTimeoutMs, 90_000);
  });
});
