/**
 * The watch over requests in flight (src/kafka/silence-watch.ts; docs/design.md §1): a
 * broker that stops answering under requests already sent has them abandoned once it also
 * fails a ping; a slow broker that answers its ping keeps its requests.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { SilenceWatch } from '../../src/kafka/silence-watch';

const DEADLINE_MS = 800;
const T0 = 1_764_150_000_000;

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** lets the promise callbacks the timers started run */
const settle = () => new Promise<void>((r) => setImmediate(r));

function rig() {
  const pings: { address: string; answer: Deferred<string | null> }[] = [];
  const silent: { address: string; why: string; sinceMs: number }[] = [];
  const watch = new SilenceWatch(
    (address) => {
      const answer = deferred<string | null>();
      pings.push({ address, answer });
      return answer.promise;
    },
    (address, why, sinceMs) => silent.push({ address, why, sinceMs }),
  );
  watch.deadlineMs = DEADLINE_MS;
  return { watch, pings, silent };
}

describe('the watch over requests in flight (docs/design.md §1)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
  afterEach(() => mock.timers.reset());

  it('abandons every request to a broker that answers neither them nor a ping, and reports it silent since the oldest', async () => {
    const { watch, pings, silent } = rig();
    const first = deferred<string>();
    const a = watch.run('b1:9092', () => first.promise);
    mock.timers.tick(100);
    const b = watch.run('b1:9092', () => new Promise<string>(() => undefined));
    const other = deferred<string>();
    const c = watch.run('b2:9092', () => other.promise);
    other.resolve('from b2');
    assert.equal(await c, 'from b2');

    mock.timers.tick(DEADLINE_MS - 100 - 1);
    await settle();
    assert.equal(pings.length, 0, 'no ping before the oldest request waited the deadline');
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(pings.map((p) => p.address), ['b1:9092']);
    mock.timers.tick(DEADLINE_MS);
    (pings[0] as { answer: Deferred<string | null> }).answer.resolve(`no answer within ${DEADLINE_MS} ms`);
    await assert.rejects(a, /not answered: the broker at b1:9092 answered neither this request nor a ping/);
    await assert.rejects(b, (err: Error & { code?: string }) => err.code === 'KAFKA_UNREACHABLE');
    assert.deepEqual(silent, [{ address: 'b1:9092', why: `no answer within ${DEADLINE_MS} ms`, sinceMs: T0 }]);
    assert.equal(watch.abandoned, 2);
    // a late answer changes nothing: the caller already has its failure
    first.resolve('late');
    await settle();
    assert.equal(watch.abandoned, 2);
  });

  it('leaves a slow broker that answers its ping its requests, and pings it again while one still waits', async () => {
    const { watch, pings, silent } = rig();
    const slow = deferred<string>();
    const a = watch.run('b1:9092', () => slow.promise);
    mock.timers.tick(DEADLINE_MS);
    await settle();
    (pings[0] as { answer: Deferred<string | null> }).answer.resolve(null);
    await settle();
    mock.timers.tick(DEADLINE_MS);
    await settle();
    assert.equal(pings.length, 2, 'pinged again after another deadline');
    (pings[1] as { answer: Deferred<string | null> }).answer.resolve(null);
    slow.resolve('slow answer');
    assert.equal(await a, 'slow answer');
    assert.deepEqual(silent, []);
    assert.equal(watch.abandoned, 0);
  });

  it('watches nothing until a ping deadline is set', async () => {
    const { watch, pings } = rig();
    watch.deadlineMs = null;
    const slow = deferred<string>();
    const a = watch.run('b1:9092', () => slow.promise);
    mock.timers.tick(10 * DEADLINE_MS);
    await settle();
    assert.equal(pings.length, 0);
    slow.resolve('answer');
    assert.equal(await a, 'answer');
  });
});
