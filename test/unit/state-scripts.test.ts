/**
 * The Lua scripts' documented headers match what they use (STYLE: BullMQ-style scripts
 * whose header lists KEYS, ARGV and return codes), and every fenced script starts with the
 * fence check (docs/design.md §6).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_SCRIPTS } from '../../src/state/scripts';

function indexes(text: string, name: 'KEYS' | 'ARGV'): Set<number> {
  return new Set([...text.matchAll(new RegExp(`${name}\\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1])));
}

describe('Redis Lua scripts', () => {
  for (const def of ALL_SCRIPTS) {
    it(`${def.name}: the header documents exactly the KEYS and ARGV the body uses, and the output`, () => {
      const end = def.lua.indexOf(']]');
      assert.ok(def.lua.startsWith('--[[') && end > 0, 'starts with a --[[ ... ]] header');
      const header = def.lua.slice(0, end);
      const body = def.lua.slice(end);
      assert.match(header, /Input:/);
      assert.match(header, /Output:/);
      const documentedKeys = indexes(header, 'KEYS');
      assert.deepEqual([...documentedKeys].sort(), Array.from({ length: def.numberOfKeys }, (_, i) => i + 1), 'KEYS[1..numberOfKeys] documented');
      for (const k of indexes(body, 'KEYS')) assert.ok(documentedKeys.has(k), `KEYS[${k}] used but not documented`);
      const documentedArgs = indexes(header, 'ARGV');
      for (const a of indexes(body, 'ARGV')) assert.ok(documentedArgs.has(a), `ARGV[${a}] used but not documented`);
      for (const a of documentedArgs) assert.ok(indexes(body, 'ARGV').has(a), `ARGV[${a}] documented but unused`);
      if (/KEYS\[1\] fence\n/.test(header) && /ARGV\[1\] term\n/.test(header)) {
        const refuse = body.search(/if term < fence then\s+return \{-1, fence\}/);
        assert.ok(refuse > 0, 'refuses a lower term');
        const writes = [...body.matchAll(/redis\.call\('(SET|HSET|HSETNX|HINCRBY|HDEL|RPUSH|ZADD|ZREM|DEL)'/g)].map((m) => m.index ?? 0);
        assert.ok(writes.length > 0, 'a fenced script writes something');
        for (const at of writes) assert.ok(at > refuse, 'every write comes after the fence check');
      }
    });
  }
});
