import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newClusterId } from '../../src/local/kafka';

describe('newClusterId', () => {
  it('never starts with "-" (kafka-storage would read it as an option) and is 22 base64url characters', () => {
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x00)];
    assert.ok(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-'), 'the first draw is one the tool would reject');
    let calls = 0;
    const id = newClusterId(() => draws[calls++] as Buffer);
    assert.equal(calls, 2);
    assert.equal(id, 'AAAAAAAAAAAAAAAAAAAAAA');
    for (let i = 0; i < 1000; i++) assert.match(newClusterId(), /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
