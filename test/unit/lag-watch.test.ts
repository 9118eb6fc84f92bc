/**
 * `vigil lag --watch` (issue 11 item 6): a report every interval until Ctrl-C, redrawn in
 * place on a terminal, appended with a timestamp header into a pipe, one JSON object per
 * line with --json; an error while watching is shown and retried, not fatal; exit 0.
 */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { CLEAR_SCREEN, type WatchLagDeps, watchLag } from '../../src/cli/lag';
import { VigilError } from '../../src/errors';
import type { LagReport } from '../../src/monitor/lag-report';

function report(i: number): LagReport {
  return {
    generatedAt: `2026-12-03T21:00:0${i}.000Z`,
    thresholdSeconds: 10,
    groups: [{ group: `svc-${i}`, lagSeconds: i, lagMessages: i, breach: false, breachInSeconds: 10 - i, topics: [{ topic: 't', lagSeconds: i, lagMessages: i, breach: false, breachInSeconds: 10 - i, partitions: [{ partition: 0, committed: 1, end: 1 + i, lagMessages: i, lagSeconds: i, breach: false, breachInSeconds: 10 - i }] }] }],
  };
}

/** A stream that hands over each write at once (a PassThrough would deliver it later). */
function sink(onText: (text: string) => void): Writable {
  return Object.assign(new Writable(), {
    write: (chunk: string | Buffer) => {
      onText(String(chunk));
      return true;
    },
  });
}

interface Run { code: number; out: string; err: string; resets: number; waits: number[] }

/** Runs the loop over `steps` (a report number or an error), aborting after the last. */
async function run(steps: Array<number | Error>, opts: Partial<WatchLagDeps> = {}): Promise<Run> {
  const stop = new AbortController();
  let outText = '';
  let errText = '';
  const out = sink((t) => (outText += t));
  const err = sink((t) => (errText += t));
  let i = 0;
  let resets = 0;
  const waits: number[] = [];
  const code = await watchLag({
    collect: async () => {
      const step = steps[i++];
      if (i >= steps.length) stop.abort(); // Ctrl-C arrives while this last report is drawn
      if (step instanceof Error) throw step;
      return report(step as number);
    },
    reset: async () => void resets++,
    out,
    err,
    tty: false,
    json: false,
    intervalMs: 2000,
    signal: stop.signal,
    nowMs: () => Date.parse('2026-12-03T21:00:05.000Z'),
    wait: async (ms) => void waits.push(ms),
    ...opts,
  });
  return { code, out: outText, err: errText, resets, waits };
}

describe('vigil lag --watch', () => {
  it('into a pipe: each report after a timestamp header, separated by a blank line; exit 0 on Ctrl-C', async () => {
    const r = await run([1, 2, 3]);
    assert.equal(r.code, 0);
    assert.ok(!r.out.includes('\x1b'), 'no terminal control codes into a pipe');
    const reports = r.out.split('\n\nvigil lag, every 2s');
    assert.equal(reports.length, 2, 'the report in progress at Ctrl-C is not printed');
    assert.match(r.out, /^vigil lag, every 2s \(Ctrl-C to stop\): 2026-12-03T21:00:01\.000Z\nGROUP/);
    assert.match(r.out, /\n\nvigil lag, every 2s \(Ctrl-C to stop\): 2026-12-03T21:00:02\.000Z\nGROUP/);
    assert.deepEqual(r.waits, [2000, 2000]);
  });

  it('an error is shown on stderr and retried with fresh connections; the reports go on', async () => {
    const r = await run([1, new VigilError('KAFKA_UNREACHABLE', 'no broker answered (tried a:1)'), 2, 3]);
    assert.equal(r.code, 0);
    assert.equal(r.err, 'vigil: 2026-12-03T21:00:05.000Z: KAFKA_UNREACHABLE: no broker answered (tried a:1); retrying every 2s\n');
    assert.equal(r.resets, 1);
    assert.match(r.out, /svc-1[\s\S]*svc-2/);
  });

  it('on a terminal: clears the screen and homes the cursor before each report; an error is drawn over the last report', async () => {
    const r = await run([1, new Error('connect ECONNREFUSED'), 2, 3], { tty: true });
    const frames = r.out.split(CLEAR_SCREEN);
    assert.equal(frames[0], '', 'every frame starts with clear + home');
    assert.equal(frames.length, 4);
    assert.match(frames[1] as string, /^vigil lag, every 2s \(Ctrl-C to stop\): 2026-12-03T21:00:01\.000Z\n\nGROUP/);
    assert.match(frames[2] as string, /error: connect ECONNREFUSED; retrying every 2s\n\nlast report:\nGROUP[\s\S]*svc-1/);
    assert.match(frames[3] as string, /svc-2/);
    assert.equal(r.err, '');
  });

  it('with --json: one JSON object per line (NDJSON), no headers, errors on stderr', async () => {
    const r = await run([1, new Error('boom'), 2, 3], { json: true, tty: true });
    const lines = r.out.trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as LagReport).generatedAt), ['2026-12-03T21:00:01.000Z', '2026-12-03T21:00:02.000Z']);
    assert.match(r.err, /boom; retrying/);
  });

  it('Ctrl-C during a report that never comes ends the loop at once', async () => {
    const stop = new AbortController();
    const done = watchLag({
      collect: () => {
        stop.abort();
        return new Promise<LagReport>(() => undefined);
      },
      reset: async () => undefined,
      out: new PassThrough(),
      err: new PassThrough(),
      tty: false,
      json: false,
      intervalMs: 2000,
      signal: stop.signal,
      nowMs: () => 0,
    });
    assert.equal(await done, 0);
  });
});
