/** Name filters of monitor.groups / monitor.topics (src/util/glob.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameFilter } from '../../src/util/glob';

describe('nameFilter', () => {
  it('matches every name with no include list, and what an include glob matches otherwise', () => {
    assert.equal(nameFilter([])('anything'), true);
    const f = nameFilter(['orders-*', 'pay?']);
    assert.deepEqual(['orders-svc', 'orders-', 'pay1', 'pay', 'payments', 'x-orders-svc'].map(f), [true, true, true, false, false, false]);
  });

  it('drops what an exclude glob matches, include or not', () => {
    const f = nameFilter(['*'], ['*-test', 'tmp.*']);
    assert.deepEqual(['svc', 'svc-test', 'tmp.1', 'tmpx1'].map((n) => f(n)), [true, false, false, true]);
    assert.equal(nameFilter([], ['a'])('a'), false);
  });

  it('takes regular-expression characters literally', () => {
    const f = nameFilter(['a.b(c)+']);
    assert.equal(f('a.b(c)+'), true);
    assert.equal(f('axb(c)+'), false);
  });
});
