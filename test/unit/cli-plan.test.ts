/**
 * `vigil plan` without a cluster (src/cli/plan.ts): the broker it picks when none is named,
 * the summary a person reads on stderr, and the usage errors. Against real brokers, with
 * the output run by Kafka's own kafka-reassign-partitions: test/integration/plan.test.ts.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { VigilError } from '../../src/errors';
import type { ClusterMetadata } from '../../src/kafka/types';
import { describePlan, describeUnclean, missingBroker, runPlan, uncleanHint } from '../../src/cli/plan';
import { electionJson, planRestoreReplicationFactor, planUncleanElect, reassignmentJson } from '../../src/remediation/plan';

const md = (live: number[], replicas: number[][]): ClusterMetadata => ({
  clusterId: 'c',
  controllerId: live[0] ?? null,
  brokers: live.map((nodeId) => ({ nodeId, host: 'h', port: 9092, rack: null })),
  topics: [{ topic: 't', isInternal: false, partitions: replicas.map((r, partition) => ({ partition, leader: r.find((x) => live.includes(x)) ?? -1, replicas: r, isr: r.filter((x) => live.includes(x)), offlineReplicas: [] })) }],
});

const usage = (re: RegExp) => (err: unknown) => err instanceof VigilError && err.code === 'USAGE' && re.test(err.message);

describe('vigil plan (issue 7)', () => {
  it('picks the one broker that holds replicas and is missing from the metadata', () => {
    assert.equal(missingBroker(md([1, 2, 3], [[1, 2], [2, 3]])), undefined);
    assert.equal(missingBroker(md([1, 2], [[1, 3], [3, 2]])), 3);
    assert.throws(() => missingBroker(md([1], [[1, 3], [4, 1]])), usage(/brokers 3, 4 hold replicas and are missing from the cluster; plan for one at a time with --broker <id>/));
  });

  it('tells a person what the plan does, what it skips and what to run after it', () => {
    const metadata = md([1, 2], [[3, 1], [3, 1, 2]]);
    // t-0 offline: its only in-sync replica was on broker 3
    const t = metadata.topics[0] as ClusterMetadata['topics'][number];
    const offline = { ...metadata, topics: [{ ...t, partitions: [{ ...(t.partitions[0] as (typeof t.partitions)[number]), leader: -1, isr: [] }, ...t.partitions.slice(1)] }] };
    const plan = planRestoreReplicationFactor({ metadata: offline, maxPlanSize: 1, throttleBytesPerSec: 1000, cause: 'broker:3', nowMs: 0, term: 0 }, 3);
    const text = describePlan(plan);
    assert.match(text, /^vigil plan: restore the replication factor of 1 partition that had a replica on broker 3 \(restore-rf, plan restore-rf-3-[0-9a-f]{12}\)$/m);
    assert.match(text, /skipped t-1: no live broker outside its replica set \(3,1,2\)/);
    assert.match(text, /--throttle 1000/);
    // broker 3 gone: Kafka's tool would try to set the rate on it too
    assert.match(describePlan(plan, true), /would also set the rate on broker 3, which is gone, and fail; throttle the live brokers 1, 2 instead .*leader.replication.throttled.rate=1000/);
    assert.match(text, /then elect the preferred leader of 1 partition/);
    assert.doesNotMatch(text, /REFUSED/);
  });

  it('refuses a bad --broker or --action before connecting anywhere', async () => {
    const sink = () => new PassThrough();
    await assert.rejects(runPlan({ brokers: '127.0.0.1:1', broker: 'three' }, sink(), sink()), usage(/--broker: expected a broker id/));
    await assert.rejects(runPlan({ brokers: '127.0.0.1:1', action: 'move' }, sink(), sink()), usage(/--action: expected one of lead-elsewhere, evict, restore-rf, unclean-elect; got "move"/));
    await assert.rejects(runPlan({ brokers: '127.0.0.1:1', action: 'unclean-elect', broker: '3' }, sink(), sink()), usage(/--broker does not apply to --action unclean-elect/));
  });

  it("unclean elections: the offline partitions with a live replica, as kafka-leader-election.sh --path-to-json-file reads them", () => {
    // broker 3 gone; t-0 (replicas 3,1) and t-2 (3,2) offline with a live out-of-sync replica, t-1 (3) with none
    const metadata = md([1, 2], [[3, 1], [3], [3, 2], [1, 2]]);
    const t = metadata.topics[0] as ClusterMetadata['topics'][number];
    const offline = { ...metadata, topics: [{ ...t, partitions: t.partitions.map((p) => (p.replicas[0] === 3 ? { ...p, leader: -1, isr: [3] } : p)) }] };
    const plan = planUncleanElect({ metadata: offline, maxPlanSize: 100, throttleBytesPerSec: 1000, cause: 'offline partitions', nowMs: 0, term: 0 });
    assert.deepEqual(electionJson(plan), { partitions: [{ topic: 't', partition: 0 }, { topic: 't', partition: 2 }] });
    assert.deepEqual(reassignmentJson(plan), { version: 1, partitions: [] }, 'it moves nothing');
    const text = describeUnclean(plan, true);
    assert.match(text, /^vigil plan: elect a leader outside the ISR for 2 offline partitions \(UNCLEAN: records not copied to the new leader are lost\) \(unclean-elect, plan unclean-elect--1-[0-9a-f]{12}\)$/m);
    assert.match(text, /skipped t-1: no live replica \(replicas 3\): bring one of them back/);
    assert.match(text, /kafka-leader-election\.sh --bootstrap-server <broker> --election-type unclean --path-to-json-file <this output>/);
    assert.doesNotMatch(text, /vigil itself would not/);
    assert.match(describeUnclean(plan, false), /vigil itself would not: remediation\.allowUncleanElection is false/);
    // beside a broker's plan (stdout stays the reassignment JSON): which partitions, and how to get them
    assert.equal(
      uncleanHint(plan),
      'vigil plan: with remediation.allowUncleanElection vigil would also elect a leader outside the ISR for 2 offline partitions (t-0, t-2): vigil plan --action unclean-elect prints them for kafka-leader-election.sh --election-type unclean --path-to-json-file\n',
    );
  });
});
