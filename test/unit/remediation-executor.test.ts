/**
 * The remediation executor (src/remediation/executor.ts) against an in-memory cluster and
 * the in-memory state store: which plans it makes from detect's findings, each mode, the
 * guards, give-back, and the fencing — a deposed leader sends nothing, a new leader
 * finishes a plan exactly once. The same behaviour against real Kafka and Redis is in
 * test/integration/remediation.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/defaults';
import type { VigilConfig } from '../../src/config/types';
import { createLogger, silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { detect, emptyDetectMemory } from '../../src/monitor/detect';
import type { Finding } from '../../src/monitor/findings';
import type { BrokerState, KafkaSnapshot } from '../../src/monitor/snapshot';
import type { TermFence } from '../../src/reconcile/actor';
import { HUNG_CONFIRM_MS, PROPOSAL_KEEP_MS, REFUSAL_RETRY_MS, RemediationActor } from '../../src/remediation/executor';
import { decide } from '../../src/alerting/decide';
import { emptyAlertState, parseAlertState, serializeAlertState } from '../../src/alerting/alert-state';
import { REMEDIATION_KEY, parseRemediationDoc } from '../../src/remediation/record';
import { describedQuorum } from '../fakes/memory-kafka';
import { MemoryRemediationKafka } from '../fakes/memory-remediation';
import { MemoryStateBackend, type MemoryStateStore } from '../fakes/memory-state';
import { T0, broker } from '../fakes/snapshots';
import { waitFor } from '../harness/wait';

type Remediation = VigilConfig['remediation'];

interface Leader {
  actor: RemediationActor;
  store: MemoryStateStore;
  term: number;
  leading: boolean;
  fence(): TermFence;
}

class World {
  readonly backend = new MemoryStateBackend();
  readonly kafka = new MemoryRemediationKafka([1, 2, 3]);
  nowMs = T0;
  readonly metrics = createMetrics({ nodeId: 'a', cluster: 'test' });
  /** brokers that answer nothing (still in the metadata) since when */
  readonly hung = new Map<number, number>();
  /** brokers gone from the metadata (still reported, as the observer does for brokers it saw before) */
  readonly gone = new Set<number>();
  /** each broker's typical slowest answer, ms (BrokerState.answers; none when absent) */
  readonly answersMs = new Map<number, number>();
  /** report the controller quorum leaderless (detect needs its grace across cycles; injected here) */
  quorumLeaderless = false;
  /** the executor's timers, on this world's clock: `advance` fires them */
  private readonly timerList = new Map<number, { dueMs: number; fn: () => void }>();
  private timerSeq = 0;
  readonly timers = {
    set: (fn: () => void, delayMs: number): unknown => {
      const id = ++this.timerSeq;
      this.timerList.set(id, { dueMs: this.nowMs + delayMs, fn });
      return id;
    },
    clear: (handle: unknown): void => {
      this.timerList.delete(handle as number);
    },
  };

  /** Moves the clock on by `ms`, firing the executor's timers due on the way (in order). */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      const due = [...this.timerList].filter(([, t]) => t.dueMs <= end).sort((a, b) => a[1].dueMs - b[1].dueMs)[0];
      if (!due) break;
      this.timerList.delete(due[0]);
      this.nowMs = due[1].dueMs;
      due[1].fn();
    }
    this.nowMs = end;
  }

  /** when the executor's next timer is due, if any */
  nextTimerMs(): number | undefined {
    const dues = [...this.timerList.values()].map((t) => t.dueMs);
    return dues.length > 0 ? Math.min(...dues) : undefined;
  }

  constructor(readonly remediation: Partial<Remediation> = {}) {
    // 6 partitions over 3 brokers, RF 3; broker 3 leads orders-2 and orders-5
    for (let p = 0; p < 6; p++) this.kafka.add('orders', p, [1, 2, 3].map((_, i) => ((p + i) % 3) + 1));
  }

  async leader(nodeId: string, term: number): Promise<Leader> {
    const l = await this.follower(nodeId);
    await this.promote(l, term);
    return l;
  }

  /** A replica that does not lead (yet): its actor is made, nothing taken over. */
  async follower(nodeId: string): Promise<Leader> {
    const store = this.backend.connect('test');
    await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'the fake store to connect' });
    const clock = { wallMs: () => this.nowMs, monotonicMs: () => this.nowMs };
    const actor = new RemediationActor({
      kafka: this.kafka,
      store,
      config: { ...DEFAULTS.remediation, mode: 'auto', maxPartitionMovesPerBroker: 10, hungAfterMs: 2_000, recoverGraceMs: 60_000, cooldownMs: 300_000, ...this.remediation },
      nodeId,
      clock,
      timers: this.timers,
      metrics: this.metrics,
      logger: process.env.REM_DEBUG ? createLogger({ level: 'debug' }) : silentLogger,
    });
    const l: Leader = {
      actor,
      store,
      term: 0,
      leading: false,
      fence: () => ({ term: l.term, mayAct: () => l.leading }),
    };
    return l;
  }

  /** The replica leads in `term`: the fence raised, the actor takes over. */
  async promote(l: Leader, term: number): Promise<void> {
    assert.equal((await l.store.raiseFence(term)).status, 'ok');
    l.term = term;
    l.leading = true;
    l.actor.takeOver(l.fence());
    await l.actor.idle();
  }

  snapshot(): KafkaSnapshot {
    const brokers: BrokerState[] = this.kafka.brokers.map((id) => {
      const since = this.hung.get(id);
      const ms = this.answersMs.get(id);
      const answers = ms === undefined ? {} : { answers: { count: 4, p50Ms: ms, maxMs: ms, windowSlowestMs: ms, windowCycles: 10 } };
      return since === undefined ? broker(id, answers) : broker(id, { reachable: false, error: 'request timed out', unreachableSinceMs: since });
    });
    for (const id of this.gone) brokers.push(broker(id, { inMetadata: false, reachable: false, error: 'connect ECONNREFUSED', unreachableSinceMs: this.nowMs }));
    const partitions = [...this.kafka.partitions].map(([key, p]) => {
      const [topic, part] = key.split('/') as [string, string];
      return { topic, partition: Number(part), leader: p.leader, replicas: [...p.replicas], isr: [...p.isr], offlineReplicas: [], minIsr: 2 };
    });
    const quorum = describedQuorum([1, 2, 3], 1, this.nowMs);
    return { ok: true, takenAtMs: this.nowMs, clusterId: 'mem', controllerId: 1, brokers, partitions, groups: [], canary: null, quorum };
  }

  /** One reconcile cycle's act step, with detect's real findings; waits for the pass. */
  async cycle(l: Leader, extra: readonly Finding[] = []): Promise<void> {
    const snapshot = this.snapshot();
    const findings = [...detect(snapshot, emptyDetectMemory()).findings, ...extra];
    if (this.quorumLeaderless) findings.push({ kind: 'ControllerQuorumLeaderless', sinceMs: this.nowMs - 10_000, lastLeaderId: 1, lastEpoch: 7 });
    l.actor.act(l.fence(), { notifications: [], firing: [], findings, snapshot });
    await l.actor.idle();
  }

  /** Broker 3 hangs and is evicted, then answers again; the clock moves on by `healthyMs`. */
  async evictThenRecover(l: Leader, healthyMs: number): Promise<void> {
    this.hung.set(3, this.nowMs - 3_000);
    await this.cycle(l);
    this.hung.clear();
    await this.cycle(l);
    this.nowMs += healthyMs;
  }

  async doc(store: MemoryStateStore) {
    const stored = await store.readAlertState(REMEDIATION_KEY);
    assert.ok(stored, 'a remediation document in the store');
    return parseRemediationDoc(stored.data);
  }

  replicasOf(): string[] {
    return [...this.kafka.partitions].map(([k, p]) => `${k}=${p.replicas.join(',')}@${p.leader}`);
  }

  actions(outcome: string): number {
    const m = this.metrics.remediationActions as unknown as { hashMap: Record<string, { value: number; labels: Record<string, string> }> };
    return Object.values(m.hashMap).filter((v) => v.labels['outcome'] === outcome).reduce((a, v) => a + v.value, 0);
  }
}

describe('remediation executor', () => {
  it('auto: a broker hung for hungAfter is evicted from its in-sync replica sets and its partitions led elsewhere; a shorter pause moves nothing', async () => {
    const w = new World();
    const l = await w.leader('a', 1);
    w.hung.set(3, w.nowMs);
    w.nowMs += 1_500; // a GC-length pause
    await w.cycle(l);
    assert.equal(w.kafka.sent.length, 0, "nothing sent for a pause shorter than hungAfter");

    w.nowMs += 600;
    await w.cycle(l);
    // dropping the leader from the replica set makes the controller elect the new first
    // replica: the election step finds nothing left to elect
    assert.deepEqual(
      w.kafka.sent.map((s) => s.api),
      ['AlterPartitionReassignments'],
    );
    for (const [key, p] of w.kafka.partitions) {
      assert.ok(!p.replicas.includes(3), `${key}: broker 3 dropped (${p.replicas})`);
      assert.notEqual(p.leader, 3, `${key}: not led by 3`);
    }
    const doc = await w.doc(l.store);
    assert.equal(doc.plans.length, 1);
    const [rec] = doc.plans;
    assert.equal(rec?.status, 'done');
    assert.equal(rec?.plan.kind, 'evict');
    assert.equal(rec?.approvedBy, 'auto');
    assert.match(rec?.plan.cause ?? '', /^broker:3 hung \(no answer for 2\.1 s, still in the metadata\)$/);
    assert.equal(rec?.intent, undefined, 'no intent left open');
    assert.equal(w.actions('ok'), 1);

    // still hung next cycle: nothing left to move, nothing sent again
    w.nowMs += 1_000;
    await w.cycle(l);
    assert.equal(w.kafka.sent.length, 1);
  });

  it('a broker silent in a cycle is checked again as it reaches hungAfter: still silent, it is evicted then, not at the next cycle; answering by then, nothing moves', async () => {
    for (const answers of [false, true]) {
      const w = new World();
      const l = await w.leader('a', 1);
      const silentSince = w.nowMs;
      w.hung.set(3, silentSince);
      w.nowMs += 1_000;
      await w.cycle(l);
      assert.equal(w.kafka.sent.length, 0, 'silent for 1 s: nothing yet');
      // the check is armed to prove the silence right at hungAfter (a ping sent just before)
      assert.equal(w.nextTimerMs(), silentSince + 2_000 - HUNG_CONFIRM_MS);
      if (!answers) w.kafka.silent.add(3);
      // the check fires; its ping window ends at hungAfter, before the next cycle would run
      w.advance(1_000);
      await waitFor(async () => (await l.actor.idle(), answers || w.kafka.sent.length > 0), { timeoutMs: 2_000, what: 'the pass the check queued' });
      if (answers) {
        assert.equal(w.kafka.sent.length, 0, 'a broker that answers by hungAfter (a GC pause) moves nothing');
        assert.equal((await w.doc(l.store).catch(() => ({ plans: [] }))).plans.length, 0);
      } else {
        assert.deepEqual(w.kafka.sent.map((s) => s.api), ['AlterPartitionReassignments']);
        const [rec] = (await w.doc(l.store)).plans;
        assert.equal(rec?.plan.kind, 'evict');
        assert.match(rec?.plan.cause ?? '', /^broker:3 hung \(no answer for 2\.0 s/);
      }
    }
  });

  it('dry-run: the plan is proposed and nothing moves until a person executes it; a proposal stands while its broker keeps stalling and is dropped once it has been healthy for PROPOSAL_KEEP_MS', async () => {
    const w = new World({ mode: 'dry-run' });
    const l = await w.leader('a', 1);
    const before = w.replicasOf();
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(l);
    await w.cycle(l);
    assert.equal(w.kafka.sent.length, 0);
    assert.deepEqual(w.replicasOf(), before);
    const view = l.actor.view();
    assert.equal(view.mode, 'dry-run');
    assert.equal(view.plans.length, 1, 'proposed once, not once per cycle');
    const id = view.plans[0]?.plan.id as string;
    assert.equal(view.plans[0]?.status, 'proposed');

    const out = await l.actor.execute(l.fence(), id);
    assert.equal(out.status, 'executing');
    await l.actor.idle();
    assert.deepEqual(w.kafka.sent.map((s) => s.api), ['AlterPartitionReassignments']);
    const rec = (await w.doc(l.store)).plans[0];
    assert.equal(rec?.status, 'done');
    assert.equal(rec?.approvedBy, 'operator');
    assert.equal((await l.actor.execute(l.fence(), id)).status, 'not-proposed');
    assert.equal((await l.actor.execute(l.fence(), 'no-such-plan')).status, 'not-found');

    // a new proposal; the broker answers again, then stalls again (a limping broker): the
    // same proposal stands throughout; healthy for PROPOSAL_KEEP_MS, it is dropped, never run
    const w2 = new World({ mode: 'dry-run' });
    const l2 = await w2.leader('a', 1);
    w2.hung.set(2, w2.nowMs - 3_000);
    await w2.cycle(l2);
    const proposal = l2.actor.view().plans[0]?.plan.id;
    w2.hung.clear();
    w2.nowMs += 4_000;
    await w2.cycle(l2);
    w2.hung.set(2, w2.nowMs - 3_000);
    await w2.cycle(l2);
    w2.hung.clear();
    await w2.cycle(l2);
    assert.deepEqual(l2.actor.view().plans.map((r) => [r.plan.id, r.status]), [[proposal, 'proposed']], 'one standing proposal');
    w2.nowMs += PROPOSAL_KEEP_MS - 1;
    await w2.cycle(l2);
    assert.equal(l2.actor.view().plans[0]?.status, 'proposed', 'not yet healthy for PROPOSAL_KEEP_MS');
    w2.nowMs += 1;
    await w2.cycle(l2);
    assert.equal(l2.actor.view().plans[0]?.status, 'dropped');
    assert.deepEqual(w2.kafka.sent, []);
  });

  it('a dry-run proposal still standing when the mode becomes auto is dropped and the plan made again and run (it used to block auto until it was dropped)', async () => {
    const w = new World({ mode: 'dry-run' });
    const a = await w.leader('a', 1);
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(a);
    assert.equal(a.actor.view().plans[0]?.status, 'proposed');
    // the replicas restart with mode: auto (same Redis); a new leader takes over
    a.leading = false;
    const autoWorld = Object.assign(w, { remediation: { ...w.remediation, mode: 'auto' as const } });
    const b = await autoWorld.leader('b', 2);
    await autoWorld.cycle(b);
    const plans = (await w.doc(b.store)).plans;
    assert.deepEqual(plans.map((r) => [r.plan.kind, r.status]), [['evict', 'done'], ['evict', 'dropped']]);
    assert.match(plans[1]?.reason ?? '', /mode is auto now/);
    assert.deepEqual(w.kafka.sent.map((s) => s.api), ['AlterPartitionReassignments']);
  });

  it('dry-run proposals and refusals are findings that page with the plan; they resolve when the plan runs', async () => {
    const w = new World({ mode: 'dry-run' });
    const l = await w.leader('a', 1);
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(l);
    const [proposed] = l.actor.findings();
    assert.equal(proposed?.kind, 'RemediationProposed');
    const ctx = { cluster: 'test', lag: { byScope: new Map(), unreadableGroups: new Set<string>() } };
    const fired = decide(l.actor.findings(), emptyAlertState(), w.nowMs, ctx);
    const page = fired.notifications[0];
    assert.equal(page?.alert.key, 'test/RemediationProposed/evict/3');
    assert.equal(page?.alert.broker, 3);
    assert.match(page?.alert.summary ?? '', /^vigil would drop broker 3 from 6 in-sync replica sets \(broker:3 hung \(no answer for 3\.0 s, still in the metadata\)\); dry-run: nothing moves until a person runs it: POST \/api\/v1\/plans\/evict-3-[0-9a-f]{12}\/execute$/);
    assert.match(page?.plan ?? '', /^evict plan evict-3-[0-9a-f]{12}: 6 partition moves, 2 preferred elections\. GET \/api\/v1\/plans lists every move/);
    // the stored alert state with this alert reads back (a successor continues the incident)
    assert.deepEqual(parseAlertState(serializeAlertState(fired.state)), fired.state);
    await l.actor.execute(l.fence(), l.actor.view().plans[0]?.plan.id as string);
    await l.actor.idle();
    assert.deepEqual(l.actor.findings(), [], 'executed: no longer a proposal');

    const r = new World({ maxPlanSize: 2 });
    const rl = await r.leader('a', 1);
    r.hung.set(3, r.nowMs - 3_000);
    await r.cycle(rl);
    const [refused] = rl.actor.findings();
    assert.equal(refused?.kind, 'RemediationRefused');
    const refusedDecision = decide(rl.actor.findings(), emptyAlertState(), r.nowMs, ctx);
    assert.deepEqual(parseAlertState(serializeAlertState(refusedDecision.state)), refusedDecision.state);
    const refusedPage = refusedDecision.notifications[0];
    assert.match(refusedPage?.alert.summary ?? '', /^vigil did not drop broker 3 from 6 in-sync replica sets \(broker:3 hung .*\): 6 partition moves exceed remediation.maxPlanSize \(2\)/);
    r.nowMs += 2 * REFUSAL_RETRY_MS;
    assert.deepEqual(rl.actor.findings(), [], 'a refusal not made again is no longer a finding');
  });

  it('off: no plan at all', async () => {
    const w = new World({ mode: 'off' });
    const l = await w.leader('a', 1);
    w.hung.set(3, w.nowMs - 10_000);
    await w.cycle(l);
    assert.deepEqual(l.actor.view().plans, []);
    assert.equal(w.kafka.sent.length, 0);
    assert.equal(await l.store.readAlertState(REMEDIATION_KEY), undefined);
  });

  it('give back: after recoverGrace of health the original replica order and preferred leaders return, throttled while broker 3 catches up, and only what vigil changed', async () => {
    const w = new World();
    const l = await w.leader('a', 1);
    const before = w.replicasOf();
    w.kafka.add('other', 0, [3, 1]); // not in sync on 3? in sync: evicted too; then a person moves it
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(l);
    // a person changes other/0 while vigil holds it: give-back must leave it alone
    await w.kafka.alterReassignments([{ topic: 'other', partition: 0, replicas: [1] }]);
    const sentBefore = w.kafka.sent.length;
    w.hung.clear();
    await w.cycle(l); // healthy from now
    w.nowMs += 59_000;
    await w.cycle(l);
    assert.equal(w.kafka.sent.length, sentBefore, 'nothing before recoverGrace');
    w.nowMs += 1_000;
    await w.cycle(l);
    // broker 3 must catch up: throttle set, reassignment in flight
    assert.deepEqual(w.kafka.sent.slice(sentBefore).map((s) => s.api), ['IncrementalAlterConfigs', 'AlterPartitionReassignments']);
    assert.ok(w.kafka.configs.get('broker:3')?.get('follower.replication.throttled.rate'), 'rate set on the broker catching up');
    assert.equal(w.kafka.ongoing.size, 6);
    await w.cycle(l);
    assert.equal(w.kafka.sent.length, sentBefore + 2, 'waits while the copies are in flight');
    w.kafka.completeCopies();
    await w.cycle(l);
    assert.deepEqual(w.kafka.sent.slice(sentBefore + 2).map((s) => s.api), ['ElectLeaders', 'IncrementalAlterConfigs']);
    w.kafka.partitions.delete('other/0');
    assert.deepEqual(w.replicasOf(), before, 'order and preferred leaders as before');
    for (const [resource, cfg] of w.kafka.configs) assert.equal(cfg.size, 0, `${resource}: throttles removed (${[...cfg.keys()]})`);
    const doc = await w.doc(l.store);
    const giveBack = doc.plans[0];
    assert.equal(giveBack?.plan.kind, 'give-back');
    assert.equal(giveBack?.status, 'done');
    assert.deepEqual(giveBack?.plan.skipped.map((s) => `${s.topic}-${s.partition}`), ['other-0']);
    assert.equal(doc.plans[1]?.givenBackBy, giveBack?.plan.id);

    // healthy on: nothing more to give back
    w.nowMs += 120_000;
    await w.cycle(l);
    assert.equal(w.kafka.sent.length, sentBefore + 4);
  });

  it('cooldown: a broker that hangs again soon after it got its partitions back is not moved off again (no back and forth)', async () => {
    const w = new World({ recoverGraceMs: 10_000, cooldownMs: 300_000 });
    const l = await w.leader('a', 1);
    await w.evictThenRecover(l, 10_000);
    await w.cycle(l);
    w.kafka.completeCopies();
    await w.cycle(l);
    const sent = w.kafka.sent.length;
    assert.equal((await w.doc(l.store)).plans[0]?.status, 'done');
    w.nowMs += 5_000;
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(l);
    assert.equal(w.kafka.sent.length, sent, 'every partition is cooling down: nothing sent');
    // after the cooldown the same hang moves it off again
    w.nowMs += 300_000;
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(l);
    assert.ok(w.kafka.sent.length > sent);
  });

  it('guards: a foreign reassignment in flight, a leaderless controller quorum, too many brokers down, a plan too large — each refused with its reason, nothing sent, nothing cancelled', async () => {
    const cases: Array<{ name: string; world: () => World; setup: (w: World) => Promise<void> | void; reason: RegExp }> = [
      {
        name: 'foreign',
        world: () => new World(),
        setup: async (w) => {
          w.kafka.add('foreign', 0, [1, 2]);
          w.kafka.partitions.get('foreign/0')!.isr = [1, 2];
          await w.kafka.alterReassignments([{ topic: 'foreign', partition: 0, replicas: [1, 2, 3] }]);
          w.kafka.sent.length = 0;
        },
        reason: /^another reassignment is in flight that vigil did not start \(foreign-0\); vigil never cancels it$/,
      },
      { name: 'quorum', world: () => new World(), setup: (w) => void (w.quorumLeaderless = true), reason: /controller quorum has no leader/ },
      {
        name: 'down',
        world: () => new World({ maxBrokersDownFraction: 0.3 }),
        setup: () => undefined,
        reason: /^1 of 3 brokers are down, more than remediation.maxBrokersDownFraction \(0.3\)/,
      },
      { name: 'size', world: () => new World({ maxPlanSize: 2 }), setup: () => undefined, reason: /exceed remediation.maxPlanSize \(2\)/ },
    ];
    for (const c of cases) {
      const w = c.world();
      const l = await w.leader('a', 1);
      await c.setup(w);
      w.hung.set(3, w.nowMs - 3_000);
      await w.cycle(l);
      const rec = (await w.doc(l.store)).plans[0];
      assert.equal(rec?.status, 'refused', c.name);
      assert.match(rec?.reason ?? '', c.reason, c.name);
      assert.equal(w.kafka.sent.length, 0, `${c.name}: nothing sent`);
      if (c.name === 'foreign') assert.equal(w.kafka.ongoing.size, 1, 'the foreign reassignment is still in flight');
      // refused plans are not made again every cycle
      await w.cycle(l);
      assert.equal(l.actor.view().plans.length, 1, `${c.name}: refused once per retry interval`);
    }
  });

  it('fencing: a deposed leader records no intent and sends nothing; the new leader finishes the plan exactly once', async () => {
    const w = new World({ recoverGraceMs: 10_000 });
    const a = await w.leader('a', 1);
    // give-back has three requests (throttle, reassign, elect + unthrottle); depose A right
    // after its first request: B (term 2) raises the fence before A's next step
    await w.evictThenRecover(a, 10_000);
    const sentByA: string[] = [];
    let b: Leader | undefined;
    w.kafka.onMutation = (m) => {
      sentByA.push(m.api);
      if (m.api === 'IncrementalAlterConfigs' && b === undefined) a.leading = false;
    };
    await w.cycle(a);
    w.kafka.onMutation = undefined;
    assert.deepEqual(sentByA, ['IncrementalAlterConfigs'], 'A stopped after losing its lease');
    const afterA = w.kafka.sent.length;

    const stored = (await w.doc(a.store)).plans[0];
    assert.equal(stored?.plan.kind, 'give-back');
    assert.equal(stored?.status, 'executing', 'the plan is still executing for B to finish');
    assert.equal(stored?.intent?.step, 'reassign', "A's intent for the step it did not send is on record");
    assert.equal(stored?.intent?.term, 1);

    // B takes over in term 2 and resumes the plan at that step at once
    b = await w.leader('b', 2);
    assert.deepEqual(w.kafka.sent.slice(afterA).map((s) => s.api), ['AlterPartitionReassignments']);
    const afterB = w.kafka.sent.length;
    // A's lease looks valid again (the brief overlap the election admits): the fence still stops it
    a.leading = true;
    await w.cycle(a);
    assert.equal(w.kafka.sent.length, afterB, 'A, fenced, sends nothing');
    await w.cycle(b);
    w.kafka.completeCopies();
    await w.cycle(b);
    const apis = w.kafka.sent.slice(afterA).map((s) => s.api);
    assert.deepEqual(apis, ['AlterPartitionReassignments', 'ElectLeaders', 'IncrementalAlterConfigs']);
    const moved = w.kafka.sent.filter((s) => s.api === 'AlterPartitionReassignments').flatMap((s) => s.partitions);
    // evict moved each partition once, give-back once: no partition is in two give-back requests
    assert.equal(moved.length, new Set(moved).size * 2);
    assert.equal((await w.doc(b.store)).plans[0]?.status, 'done');
    assert.ok(w.metrics.fencedWritesRejected, 'fenced writes are counted');
  });

  it('slow broker (a lag cause that answers): leadership moved first; evicted only if groups still lag because of it 10 s later; a consumer cause moves nothing', async () => {
    const w = new World();
    const l = await w.leader('a', 1);
    const lag = (cause: `broker:${number}` | 'consumer'): Finding => ({ kind: 'ConsumerDeliveryLag', group: 'orders-svc', topic: 'orders', partitions: [2], lagSeconds: 14, thresholdMs: 10_000, cause });
    await w.cycle(l, [lag('consumer')]);
    assert.equal(w.kafka.sent.length, 0, 'a slow consumer: nothing to move');

    await w.cycle(l, [lag('broker:3')]);
    const lead = (await w.doc(l.store)).plans[0];
    assert.equal(lead?.plan.kind, 'lead-elsewhere');
    assert.equal(lead?.status, 'done');
    assert.match(lead?.plan.cause ?? '', /^broker:3 slow/);
    for (const [key, p] of w.kafka.partitions) {
      assert.notEqual(p.leader, 3, `${key} led elsewhere`);
      assert.ok(p.replicas.includes(3), `${key} keeps broker 3 (leadership only)`);
    }
    w.nowMs += 5_000;
    await w.cycle(l, [lag('broker:3')]);
    assert.equal(l.actor.view().plans.length, 1, 'not evicted 5 s later');
    w.nowMs += 5_000;
    await w.cycle(l, [lag('broker:3')]);
    const evict = (await w.doc(l.store)).plans[0];
    assert.equal(evict?.plan.kind, 'evict');
    assert.match(evict?.plan.cause ?? '', /still lag because of it 10\.0 s after its leadership moved/);
    assert.equal(evict?.status, 'done');
    for (const p of w.kafka.partitions.values()) assert.ok(!p.replicas.includes(3));
  });

  it('slow broker by answer times (docs/design.md §4.3): its plan says so; a broker slow to answer is never where leadership goes', async () => {
    const w = new World();
    w.kafka.add('pay', 0, [3, 2, 1]); // led by 3, broker 2 next in line
    const l = await w.leader('a', 1);
    for (const [id, ms] of [[1, 4], [2, 2_300], [3, 4]] as const) w.answersMs.set(id, ms);
    const lag = (cause: `broker:${number}`): Finding => ({ kind: 'ConsumerDeliveryLag', group: 'orders-svc', topic: 'orders', partitions: [2], lagSeconds: 14, thresholdMs: 10_000, cause });
    // broker 3 is the named cause (its canary, say); 2 answers slowly but no group lags because of it
    await w.cycle(l, [lag('broker:3')]);
    const lead = (await w.doc(l.store)).plans[0];
    assert.equal(lead?.plan.kind, 'lead-elsewhere');
    assert.equal(lead?.plan.cause, 'broker:3 slow: consumer groups lag because of it');
    assert.equal(w.kafka.get('pay', 0).leader, 1, 'led by 1, not by the slow-answering broker 2');

    const w2 = new World();
    const l2 = await w2.leader('a', 1);
    for (const [id, ms] of [[1, 4], [2, 4], [3, 2_300]] as const) w2.answersMs.set(id, ms);
    await w2.cycle(l2, [lag('broker:3')]);
    assert.equal((await w2.doc(l2.store)).plans[0]?.plan.cause, 'broker:3 slow: consumer groups lag because of it (it answers in up to 2.3 s a cycle, the others in 4 ms)');
  });

  it('copies are limited to maxPartitionMovesPerBroker in flight per broker; the rest follow as they finish', async () => {
    const w = new World({ maxPartitionMovesPerBroker: 2, recoverGraceMs: 10_000 });
    const l = await w.leader('a', 1);
    await w.evictThenRecover(l, 10_000);
    await w.cycle(l);
    const inFlight: number[] = [];
    for (let i = 0; i < 5 && w.kafka.ongoing.size > 0; i++) {
      inFlight.push(w.kafka.ongoing.size);
      w.kafka.completeCopies();
      await w.cycle(l);
    }
    assert.deepEqual(inFlight, [2, 2, 2], 'six copies into broker 3, two at a time');
    assert.equal((await w.doc(l.store)).plans[0]?.status, 'done');
  });

  it('restore-rf: a broker gone for brokerDownGrace is replaced, also in the partitions vigil had evicted it from', async () => {
    const w = new World({ brokerDownGraceMs: 60_000 });
    w.kafka.brokers.push(4);
    const l = await w.leader('a', 1);
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(l); // evicted while hung
    // Kafka fences it: it leaves the metadata
    w.kafka.brokers.splice(w.kafka.brokers.indexOf(3), 1);
    w.hung.delete(3);
    w.gone.add(3);
    await w.cycle(l);
    w.nowMs += 60_000;
    await w.cycle(l);
    w.kafka.completeCopies();
    await w.cycle(l);
    const restore = (await w.doc(l.store)).plans[0];
    assert.equal(restore?.plan.kind, 'restore-rf');
    assert.equal(restore?.status, 'done');
    for (const [key, p] of w.kafka.partitions) assert.deepEqual([...p.replicas].sort(), [1, 2, 4], `${key} back at 3 replicas on live brokers`);
    assert.equal((await w.doc(l.store)).plans[1]?.givenBackBy, restore?.plan.id, 'the eviction is settled by the restore');
  });

  it('offline partitions: paged only by default; with allowUncleanElection an UNCLEAN election for those with a live replica (dry-run proposes it), none for those without', async () => {
    for (const [allow, mode] of [[false, 'auto'], [true, 'dry-run'], [true, 'auto']] as const) {
      const w = new World({ allowUncleanElection: allow, mode });
      // orders-0 lost its only in-sync replica (3, gone); 1 and 2 hold out-of-sync copies.
      // orders-1 lives on 3 alone: nothing to elect.
      w.kafka.add('orders', 0, [3, 1, 2], [3], -1).add('orders', 1, [3], [3], -1);
      w.kafka.brokers.splice(w.kafka.brokers.indexOf(3), 1);
      w.gone.add(3);
      const l = await w.leader('a', 1);
      await w.cycle(l);
      const plans = (await l.store.readAlertState(REMEDIATION_KEY)) ? (await w.doc(l.store)).plans : [];
      const unclean = plans.filter((r) => r.plan.kind === 'unclean-elect');
      if (!allow) {
        assert.deepEqual(unclean, [], 'no unclean plan without allowUncleanElection');
        assert.equal(w.kafka.get('orders', 0).leader, -1);
        continue;
      }
      assert.equal(unclean.length, 1);
      const rec = unclean[0];
      assert.deepEqual(rec?.plan.elections, [{ topic: 'orders', partition: 0 }]);
      assert.deepEqual(rec?.plan.skipped.map((x) => `${x.topic}-${x.partition}`), ['orders-1']);
      assert.match(rec?.plan.reason ?? '', /UNCLEAN/);
      if (mode === 'dry-run') {
        assert.equal(rec?.status, 'proposed');
        assert.equal(w.kafka.sent.length, 0);
        assert.ok(l.actor.findings().some((f) => f.kind === 'RemediationProposed' && f.plan === 'unclean-elect'));
        continue;
      }
      assert.equal(rec?.status, 'done');
      assert.deepEqual(w.kafka.sent, [{ api: 'ElectLeaders', partitions: ['orders/0'], unclean: true }]);
      assert.equal(w.kafka.get('orders', 0).leader, 1, 'the first live replica leads');
      // still offline (orders-1): no election again at once
      await w.cycle(l);
      assert.equal(w.kafka.sent.length, 1);
    }
  });

  it('each move is checked again when sent: one whose ISR shrank below min.insync.replicas is not dropped, one Kafka refuses is not sent again', async () => {
    const w = new World({ mode: 'dry-run' });
    const l = await w.leader('a', 1);
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(l);
    const id = l.actor.view().plans[0]?.plan.id as string;
    // after the plan was made: orders/0's ISR loses broker 1; orders/1 is refused by Kafka
    const p0 = w.kafka.get('orders', 0);
    p0.isr = p0.isr.filter((r) => r !== 1);
    w.kafka.refuse.add('orders/1');
    assert.equal((await l.actor.execute(l.fence(), id)).status, 'executing');
    await l.actor.idle();
    await w.cycle(l);
    assert.ok(w.kafka.get('orders', 0).replicas.includes(3), 'orders/0 keeps broker 3: dropping it would leave 1 in-sync replica');
    assert.ok(w.kafka.get('orders', 1).replicas.includes(3), 'orders/1: refused by Kafka');
    for (const p of [2, 3, 4, 5]) assert.ok(!w.kafka.get('orders', p).replicas.includes(3), `orders/${p} moved`);
    const rec = (await w.doc(l.store)).plans.find((r) => r.plan.id === id);
    assert.equal(rec?.status, 'done');
    assert.deepEqual(rec?.failed, ['orders/1']);
    const sentFor1 = w.kafka.sent.filter((s) => s.partitions.includes('orders/1')).length;
    assert.equal(sentFor1, 1, 'the refused move was sent once');
  });

  it('Redis losing the plan document: the leader writes its plans again, fenced, instead of forgetting them', async () => {
    const w = new World({ cooldownMs: 0 });
    const l = await w.leader('a', 1);
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(l);
    w.backend.stop();
    w.backend.start();
    await waitFor(() => l.store.isUp(), { timeoutMs: 1000, what: 'the store back' });
    assert.equal(await l.store.readAlertState(REMEDIATION_KEY), undefined, 'the document is gone');
    w.hung.set(2, w.nowMs - 3_000); // another plan: the next write finds the document gone
    await w.cycle(l);
    const doc = await w.doc(l.store);
    assert.deepEqual(doc.plans.map((r) => `${r.plan.kind}-${r.plan.broker} ${r.status}`).sort(), ['evict-2 refused', 'evict-3 done']);
  });

  it("Redis losing the plans and the leader stopping before writing them again: a follower's copy carries them on, and the give-back still happens", async () => {
    for (const keepsCopy of [true, false]) {
      const w = new World({ cooldownMs: 0 });
      const a = await w.leader('a', 1);
      const b = await w.follower('b');
      const before = w.replicasOf();
      w.hung.set(3, w.nowMs - 3_000);
      await w.cycle(a);
      assert.equal((await w.doc(a.store)).plans[0]?.status, 'done', 'broker 3 evicted');
      if (keepsCopy) await b.actor.follow?.();
      // Redis loses its data; the leader stops before it writes its plans again
      a.leading = false;
      a.actor.reset();
      w.backend.stop();
      w.backend.start();
      await waitFor(() => b.store.isUp(), { timeoutMs: 1000, what: 'the store back' });
      await b.actor.follow?.(); // nothing stored now: the copy stands
      await w.promote(b, 2);
      w.hung.clear();
      await w.cycle(b);
      w.nowMs += 60_000;
      await w.cycle(b);
      await w.cycle(b);
      w.kafka.completeCopies();
      await w.cycle(b);
      if (keepsCopy) {
        assert.deepEqual(w.replicasOf(), before, "broker 3's partitions given back by the successor");
        const doc = await w.doc(b.store);
        assert.deepEqual(doc.plans.map((r) => `${r.plan.kind} ${r.status}`), ['give-back done', 'evict done']);
      } else {
        assert.notDeepEqual(w.replicasOf(), before, 'without a copy the successor does not know what vigil moved');
      }
    }
  });

  it('Kafka unreachable mid-plan: the step is retried on the next cycle, with nothing lost', async () => {
    const w = new World();
    const l = await w.leader('a', 1);
    w.hung.set(3, w.nowMs - 3_000);
    w.kafka.down = true;
    await w.cycle(l);
    assert.equal((await w.doc(l.store)).plans[0]?.status, 'executing');
    w.kafka.down = false;
    await w.cycle(l);
    assert.equal((await w.doc(l.store)).plans[0]?.status, 'done');
    for (const p of w.kafka.partitions.values()) assert.ok(!p.replicas.includes(3));
  });

  it('Redis down: nothing is planned or sent (no intent can be recorded)', async () => {
    const w = new World();
    const l = await w.leader('a', 1);
    w.backend.stop();
    await waitFor(() => !l.store.isUp(), { timeoutMs: 1000, what: 'the store to report down' });
    w.hung.set(3, w.nowMs - 3_000);
    await w.cycle(l);
    assert.equal(w.kafka.sent.length, 0);
  });
});
