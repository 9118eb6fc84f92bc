import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderLagTable } from '../../src/cli/lag';
import { probeKey, type RecordProbe } from '../../src/kafka/types';
import { DeliveryLatency, type LatencyPort, PartitionIndex } from '../../src/monitor/delivery-latency';
import { partitionLag, summarize } from '../../src/monitor/latency';
import { collectLagReport, lagReportFromSnapshot, reportVerdict } from '../../src/monitor/lag-report';
import { nameFilter } from '../../src/util/glob';
import { MemoryKafka } from '../fakes/memory-kafka';

const NOW = 1_764_150_000_000;
const all = nameFilter([]);

describe('delivery latency of one partition (docs/design.md §3)', () => {
  /**
   * One partition 1 behind its end through the pipeline, with Kafka answering the lookup by
   * timestamp with `o` and the probe of the record at c with `probe`, then its report row.
   */
  async function behind(committed: number, end: number, o: number, probe: RecordProbe) {
    const answers: LatencyPort = {
      offsetsForTimestamp: async (tps) => tps.map((tp) => ({ ...tp, offset: o })),
      probeRecords: async (rs) => new Map(rs.map((r) => [probeKey(r.topic, r.partition, r.offset), probe])),
    };
    const index = new PartitionIndex([{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }]);
    const [measured] = await new DeliveryLatency(answers, { maxProbes: Number.POSITIVE_INFINITY, untested: 'unknown' }).measure(
      [{ group: 'g', topic: 't', partition: 1, idx: index.of('t', 1), committed, rule: { thresholdMs: 10_000, resolveBelowMs: 10_000 } }],
      index,
      NOW,
    );
    return partitionLag({ partition: 1, committed, end, ...(measured ? { measured } : {}) });
  }

  it('is zero when the group is caught up, whatever the record times', () => {
    assert.deepEqual(partitionLag({ partition: 0, committed: 10, end: 10 }), {
      partition: 0, committed: 10, end: 10, lagMessages: 0, lagSeconds: 0, breach: false,
    });
  });

  it('is the age of the record at the committed offset, breach by the exact test alone', async () => {
    const row = await behind(5, 9, 5, { kind: 'record', offset: 5, timestampMs: NOW - 12_400, exact: true });
    // c = o: the record at c is not older than now − threshold, so no breach even though an
    // (imagined) estimate might say otherwise
    assert.deepEqual(row, { partition: 1, committed: 5, end: 9, lagMessages: 4, lagSeconds: 12.4, breach: false });
  });

  it('treats +Infinity from the timestamp lookup as "every record is older": breach when behind', async () => {
    const row = await behind(3, 4, Number.POSITIVE_INFINITY, { kind: 'none' });
    assert.equal(row.breach, true);
  });

  it('reports unknown, not zero, when the end offset cannot be read', () => {
    const row = partitionLag({ partition: 0, committed: 3, end: null });
    assert.equal(row.lagSeconds, null);
    assert.equal(row.breach, null);
  });

  it('aggregates max seconds, summed messages, and a known breach over unknown parts', () => {
    assert.deepEqual(
      summarize([
        { lagSeconds: 3, lagMessages: 2, breach: false },
        { lagSeconds: 11, lagMessages: 5, breach: true },
        { lagSeconds: null, lagMessages: null, breach: null },
      ]),
      { lagSeconds: 11, lagMessages: null, breach: true },
    );
    assert.deepEqual(summarize([{ lagSeconds: 1, lagMessages: 1, breach: false }, { lagSeconds: null, lagMessages: 4, breach: null }]), {
      lagSeconds: 1, lagMessages: 5, breach: null,
    });
  });
});

describe('the lag report over a cluster', () => {
  function cluster(): MemoryKafka {
    const k = new MemoryKafka();
    k.createTopic('orders', 3);
    k.createTopic('audit', 1);
    // one record a second over the last 30 s, oldest first
    const stamps = Array.from({ length: 30 }, (_, i) => NOW - 30_000 + i * 1000);
    for (const p of [0, 1, 2]) k.produce('orders', p, stamps);
    k.produce('audit', 0, stamps);
    return k;
  }

  it('flags a breach exactly at the threshold boundary: a record exactly threshold old is not a breach, 1 ms older is', async () => {
    const k = cluster();
    k.produce('orders', 0, []);
    k.topics.get('orders')![0]!.timestampsMs[10] = NOW - 10_000; // exactly at the threshold
    k.topics.get('orders')![1]!.timestampsMs[10] = NOW - 10_001; // one millisecond past it
    k.topics.get('orders')![2]!.timestampsMs[10] = NOW - 9_999;
    for (const p of [0, 1, 2]) {
      // keep timestamps increasing around the edited record
      k.topics.get('orders')![p]!.timestampsMs[9] = NOW - 10_500;
      k.commit('svc', 'orders', p, 10);
    }
    const report = await collectLagReport(k, { thresholdMs: 10_000, groups: all, topics: all, nowMs: () => NOW });
    const parts = report.groups[0]!.topics[0]!.partitions;
    assert.deepEqual(parts.map((p) => [p.partition, p.lagSeconds, p.breach]), [
      [0, 10, false],
      [1, 10.001, true],
      [2, 9.999, false],
    ]);
  });

  it('orders groups and topics worst first and honours the group and topic globs', async () => {
    const k = cluster();
    k.commit('fast', 'orders', 0, 29);
    k.commit('slow', 'orders', 0, 2);
    k.commit('slow', 'audit', 0, 25);
    k.commit('other', 'orders', 1, 30);
    const report = await collectLagReport(k, { thresholdMs: 10_000, groups: nameFilter(['s*', 'fast']), topics: all, nowMs: () => NOW });
    assert.deepEqual(report.groups.map((g) => g.group), ['slow', 'fast']);
    assert.deepEqual(report.groups[0]!.topics.map((t) => t.topic), ['orders', 'audit']);
    assert.equal(report.groups[0]!.lagSeconds, 28);
    assert.equal(report.groups[0]!.breach, true);
    assert.equal(report.thresholdSeconds, 10);
    assert.equal(report.generatedAt, new Date(NOW).toISOString());

    const onlyAudit = await collectLagReport(k, { thresholdMs: 10_000, groups: all, topics: nameFilter(['audit']), nowMs: () => NOW });
    assert.deepEqual(onlyAudit.groups.map((g) => g.group), ['slow']);
  });

  it('marks partitions led by an unreachable broker unknown, and the verdict says it cannot claim "no breach"', async () => {
    const k = cluster();
    for (const p of [0, 1, 2]) k.commit('svc', 'orders', p, 30);
    k.down.add(k.part('orders', 1).leader);
    const report = await collectLagReport(k, { thresholdMs: 10_000, groups: all, topics: all, nowMs: () => NOW });
    const verdict = reportVerdict(report);
    assert.equal(verdict.breach, false);
    assert.ok(verdict.unknownPartitions >= 1);
    assert.match(verdict.reasons.join(';'), /Connection error/);
  });

  it('reports each group\'s type, state and members, and on each partition the members assigned it (several in a share group)', async () => {
    const k = cluster();
    for (const p of [0, 1, 2]) k.commit('shared', 'orders', p, 30);
    const member = (id: string, host: string, partitions: number[]) => ({ memberId: id, instanceId: null, clientId: `client-${id}`, host, assignment: [{ topic: 'orders', partitions }] });
    k.described.set('shared', { type: 'share', state: 'Stable', members: [member('a', '/10.0.0.1', [0, 1]), member('b', '/10.0.0.2', [1])] });
    const report = await collectLagReport(k, { thresholdMs: 10_000, groups: all, topics: all, nowMs: () => NOW });
    const g = report.groups.find((x) => x.group === 'shared');
    assert.deepEqual([g?.type, g?.state, g?.members], ['share', 'Stable', 2]);
    const consumers = (p: number) => g?.topics[0]?.partitions.find((r) => r.partition === p)?.consumers?.map((c) => c.clientId);
    assert.deepEqual([consumers(0), consumers(1), consumers(2)], [['client-a'], ['client-a', 'client-b'], undefined]);
    const lines = renderLagTable(report).split('\n');
    assert.match(lines.find((l) => /^shared\s+share\s+Stable\s+orders\s+1\s/.test(l)) ?? '', /\sclient-a,client-b\s+\/10\.0\.0\.1,\/10\.0\.0\.2$/);
    assert.match(lines.find((l) => /^shared\s+share\s+Stable\s+orders\s+2\s/.test(l)) ?? '', /\s-\s+-$/);
  });

  it('the service\'s report (GET /api/v1/lag) carries the same type, state, members and consumers from the snapshot', () => {
    const report = lagReportFromSnapshot(
      [
        {
          group: 'g',
          type: 'consumer',
          state: 'Reconciling',
          members: [{ memberId: 'm', instanceId: null, clientId: 'c', host: '/h', assignment: [{ topic: 'orders', partitions: [1] }] }],
          partitions: [
            { topic: 'orders', partition: 0, committed: 5, end: 5, lagMessages: 0, breach: false, aboveResolveBelow: false, lagSeconds: 0 },
            { topic: 'orders', partition: 1, committed: 5, end: 9, lagMessages: 4, breach: true, aboveResolveBelow: null, lagSeconds: 12 },
          ],
          rules: new Map(),
        },
      ],
      NOW,
      10_000,
    );
    const g = report.groups[0];
    assert.deepEqual([g?.type, g?.state, g?.members], ['consumer', 'Reconciling', 1]);
    assert.deepEqual(g?.topics[0]?.partitions.map((p) => [p.partition, p.consumers]), [
      [1, [{ memberId: 'm', clientId: 'c', host: '/h' }]],
      [0, undefined],
    ].sort((a, b) => (a[0] as number) - (b[0] as number)));
  });

  it('renders a table with one line per partition and a summary', async () => {
    const k = cluster();
    k.commit('svc', 'orders', 0, 5);
    const report = await collectLagReport(k, { thresholdMs: 10_000, groups: all, topics: all, nowMs: () => NOW });
    const text = renderLagTable(report);
    const lines = text.trim().split('\n');
    assert.match(lines[0]!, /^GROUP\s+TYPE\s+STATE\s+TOPIC\s+PARTITION\s+COMMITTED\s+END\s+LAG\s+LATENCY\s+BREACH\s+BREACH IN\s+CLIENT-ID\s+HOST$/);
    assert.match(lines[1]!, /^svc\s+simple\s+Empty\s+orders\s+0\s+5\s+30\s+25\s+25\.0s\s+yes\s+now\s+-\s+-$/);
    assert.match(lines.at(-1)!, /1 group\(s\), 1 partition\(s\); 1 group\(s\) over the 10s threshold/);
  });

  it('says how long each partition has until it breaches if the group commits nothing more: 0 in breach, null when caught up (docs/design.md §3.8)', async () => {
    const k = cluster();
    k.commit('svc', 'orders', 0, 5); // 25 s behind: in breach
    k.commit('svc', 'orders', 1, 26); // the record at 26 is 4 s old: breaches in 6 s
    k.commit('svc', 'orders', 2, 30); // caught up
    const report = await collectLagReport(k, { thresholdMs: 10_000, groups: all, topics: all, nowMs: () => NOW });
    const t = report.groups[0]!.topics[0]!;
    assert.deepEqual(t.partitions.map((p) => [p.partition, p.breachInSeconds, p.breachInExact]), [
      [0, 0, undefined],
      [1, 6, undefined],
      [2, null, undefined],
    ]);
    assert.equal(t.breachInSeconds, 0, 'a topic breaches as soon as its first partition does');
    assert.equal(report.groups[0]!.breachInSeconds, 0);
    const json = JSON.parse(JSON.stringify(report)) as { groups: { topics: { partitions: { breachInSeconds: unknown }[] }[] }[] };
    assert.deepEqual(json.groups[0]!.topics[0]!.partitions.map((p) => p.breachInSeconds), [0, 6, null], '--json carries breachInSeconds on every partition');

    const lines = renderLagTable(report).split('\n');
    assert.match(lines.find((l) => /^svc\s+\S+\s+\S+\s+orders\s+1\s/.test(l)) ?? '', /\s4\.0s\s+no\s+6\.0s\s/);
    assert.match(lines.find((l) => /^svc\s+\S+\s+\S+\s+orders\s+2\s/.test(l)) ?? '', /\s0\.0s\s+no\s+-\s/);

    const calm = await collectLagReport(k, { thresholdMs: 10_000, groups: all, topics: nameFilter(['audit']), nowMs: () => NOW });
    assert.deepEqual(calm.groups, [], 'no offsets on audit');
    k.commit('quiet', 'orders', 1, 30);
    const quiet = (await collectLagReport(k, { thresholdMs: 10_000, groups: nameFilter(['quiet']), topics: all, nowMs: () => NOW })).groups[0]!;
    assert.equal(quiet.breachInSeconds, null, 'nothing behind: no breach ahead');
  });

  it('the service\'s report carries the time to breach from the snapshot, marked when it is an estimate', () => {
    const part = { topic: 'orders', committed: 5, end: 9, lagMessages: 4, aboveResolveBelow: null };
    const report = lagReportFromSnapshot(
      [
        {
          group: 'g',
          state: 'Stable',
          partitions: [
            { ...part, partition: 0, breach: false, lagSeconds: 7, breachAtMs: NOW + 3_000, breachAtExact: true },
            { ...part, partition: 1, breach: false, lagSeconds: 8, breachAtMs: NOW + 2_000, breachAtExact: false },
            { ...part, partition: 2, breach: true, lagSeconds: 12, breachAtMs: NOW - 2_000, breachAtExact: true },
            { ...part, partition: 3, breach: false, lagSeconds: null },
            { ...part, partition: 4, breach: false, lagSeconds: 10, breachAtMs: NOW - 5, breachAtExact: false },
            { ...part, partition: 5, committed: 9, lagMessages: 0, breach: false, lagSeconds: 0 },
          ],
          rules: new Map(),
        },
      ],
      NOW,
      10_000,
    );
    const t = report.groups[0]!.topics[0]!;
    assert.deepEqual(t.partitions.map((p) => [p.partition, p.breachInSeconds, p.breachInExact]), [
      [0, 3, undefined],
      [1, 2, false],
      [2, 0, undefined],
      [3, null, undefined],
      [4, 0, false], // an estimate already past its instant, the exact test not yet in breach: due now
      [5, null, undefined],
    ]);
    assert.equal(t.breachInSeconds, 0);
  });
});
