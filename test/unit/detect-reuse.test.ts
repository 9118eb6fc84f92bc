/**
 * detect's reuse of unchanged caught-up groups (src/monitor/detect.ts, docs/design.md §3.9):
 * a group handed over as the same object as last cycle keeps its lag entries and stall
 * blocks without a walk over its rows. The result must be exactly what a full walk gives:
 * each sequence of snapshots is detected twice, as built (unchanged groups are the same
 * objects) and as deep copies (nothing is the same object, nothing is reused).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DETECT_OPTIONS, type DetectMemory, type DetectResult, detect, emptyDetectMemory } from '../../src/monitor/detect';
import type { GroupTopicRule } from '../../src/monitor/findings';
import type { GroupPartitionLag, GroupState, KafkaSnapshot } from '../../src/monitor/snapshot';
import { RULE, T0, group, snapshot, topicPartitions, unreachableSnapshot } from '../fakes/snapshots';

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WARN: GroupTopicRule = { ...RULE, warnAheadMs: 3_000 };
const OPTS = { ...DEFAULT_DETECT_OPTIONS, stallWindowMs: 5_000 };

/** 40 cycles of 30 groups over topics a (4 partitions, 6 from cycle 20) and b (3): most groups unchanged each cycle. */
function sequence(seed: number): KafkaSnapshot[] {
  const rnd = random(seed);
  const out: KafkaSnapshot[] = [];
  let groups: GroupState[] = [];
  const ends = new Map<string, number>();
  for (let cycle = 0; cycle < 40; cycle++) {
    const aCount = cycle < 20 ? 4 : 6;
    const partitions = [...topicPartitions('a', aCount, [1, 2, 3]), ...topicPartitions('b', 3, [1, 2, 3])];
    const takenAtMs = T0 + cycle * 1000;
    if (cycle === 25) {
      out.push(unreachableSnapshot(takenAtMs));
      continue;
    }
    groups = Array.from({ length: 30 }, (_, i) => {
      const before = groups[i];
      // most groups stay the very same object (the observer's unchanged group), some change
      if (before !== undefined && rnd() < 0.7) return before;
      const name = `g${i}`;
      const rows: GroupPartitionLag[] = [];
      const clean = rnd() < 0.6; // every row caught up (the groups reuse is for)
      for (const [topic, count] of [['a', aCount], ['b', 3]] as const) {
        if (i % 5 === 4 && topic === 'b') continue;
        for (let p = 0; p < count; p++) {
          const key = `${name}/${topic}/${p}`;
          const end = (ends.get(key) ?? 100) + (rnd() < 0.3 ? 5 : 0);
          ends.set(key, end);
          const roll = clean ? 0 : rnd();
          if (roll < 0.6) rows.push({ topic, partition: p, committed: end, end, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0 });
          else if (roll < 0.9) {
            const seconds = Math.round(rnd() * 16);
            rows.push({ topic, partition: p, committed: end - 5, end, lagMessages: 5, breach: seconds > 10, aboveResolveBelow: seconds > 8, lagSeconds: seconds, breachAtMs: takenAtMs + (10 - seconds) * 1000, breachAtExact: rnd() < 0.5 });
          } else rows.push({ topic, partition: p, committed: end, end: null, lagMessages: null, breach: null, aboveResolveBelow: null, lagSeconds: null, error: 'end offset unavailable' });
        }
      }
      const rules: Record<string, GroupTopicRule> = i % 3 === 0 ? { a: WARN } : {};
      const g = group(name, rows, rules, { coordinator: 1 + (i % 3) });
      // a group whose offsets could not be read, now and then
      if (rnd() < 0.05) return { ...g, partitions: [], error: 'coordinator not available' };
      // a topic the group has rows of but no rule for, now and then
      if (i % 7 === 6) return { ...g, rules: new Map([...g.rules].filter(([t]) => t !== 'b')) };
      return g;
    });
    out.push(snapshot({ takenAtMs, partitions, groups }));
  }
  return out;
}

function run(snaps: readonly KafkaSnapshot[]): DetectResult[] {
  let memory: DetectMemory = emptyDetectMemory();
  return snaps.map((s) => {
    const r = detect(s, memory, OPTS);
    memory = r.memory;
    return r;
  });
}

describe('detect: unchanged caught-up groups reused', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`gives exactly what a full walk gives (seed ${seed})`, () => {
      const snaps = sequence(seed);
      const reused = run(snaps);
      const walked = run(snaps.map((s) => structuredClone(s)));
      let sameEntries = 0;
      for (let i = 0; i < snaps.length; i++) {
        const a = reused[i] as DetectResult;
        const b = walked[i] as DetectResult;
        assert.deepEqual(a.findings, b.findings, `cycle ${i}: findings`);
        assert.deepEqual([...a.lag.byScope], [...b.lag.byScope], `cycle ${i}: lag view`);
        assert.deepEqual([...a.lag.unreadableGroups], [...b.lag.unreadableGroups], `cycle ${i}: unreadable groups`);
        assert.deepEqual([...a.memory.stalls.at], [...b.memory.stalls.at], `cycle ${i}: stall blocks`);
        assert.deepEqual([...a.memory.stalls.values], [...b.memory.stalls.values], `cycle ${i}: stall values`);
        assert.deepEqual(a.memory.leaders, b.memory.leaders, `cycle ${i}: leaders`);
        const before = reused[i - 1];
        if (before !== undefined) for (const [scope, entry] of a.lag.byScope) if (before.lag.byScope.get(scope) === entry) sameEntries++;
      }
      assert.ok(sameEntries > 200, `unchanged groups were reused (${sameEntries} entries carried over)`);
      assert.ok(walked.some((r) => r.findings.some((f) => f.kind === 'ConsumerStalled')), 'the sequence stalls somewhere');
      assert.ok(walked.some((r) => r.findings.some((f) => f.kind === 'ConsumerDeliveryLag')), 'the sequence breaches somewhere');
    });
  }

  it('a stall window keeps running while the group is reused, and the stall is found once its end moves', () => {
    const partitions = topicPartitions('a', 2, [1, 2, 3]);
    const caughtUp = group('svc', [0, 1].map((p) => ({ topic: 'a', partition: p, committed: 100, end: 100, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0 })));
    let memory = emptyDetectMemory();
    for (let s = 0; s < 10; s++) memory = detect(snapshot({ takenAtMs: T0 + s * 1000, partitions, groups: [caughtUp] }), memory, OPTS).memory;
    assert.equal(memory.caughtUp?.get('svc')?.state, caughtUp, 'the group is kept for reuse');
    // the end moves past the committed offset, which has not moved for 10 s: stalled at once
    const behind = group('svc', [0, 1].map((p) => ({ topic: 'a', partition: p, committed: 100, end: 120, lagMessages: 20, breach: false, aboveResolveBelow: false, lagSeconds: 2 })));
    const r = detect(snapshot({ takenAtMs: T0 + 10_000, partitions, groups: [behind] }), memory, OPTS);
    const stalled = r.findings.find((f) => f.kind === 'ConsumerStalled');
    assert.ok(stalled !== undefined && stalled.kind === 'ConsumerStalled');
    assert.equal(stalled.stalledForMs, 10_000);
    assert.equal(r.memory.caughtUp?.has('svc'), false, 'a group behind is not kept');
  });
});
