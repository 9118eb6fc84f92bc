/**
 * The leader's delivery-latency series (docs/design.md §7 `vigil_consumer_group_lag_seconds`,
 * `..._messages`, `vigil_consumer_group_breach_in_seconds`), one per group and topic, from
 * the same summary as GET /api/v1/lag, so metrics, API and pages agree.
 *
 * What was not measured is not exported: a 0 for "could not tell" made dashboards green
 * exactly while vigil was blind (issue 8). Instead each group/topic carries
 * `vigil_consumer_group_lag_last_measured_timestamp_seconds`, the time of the last cycle
 * that measured every one of its partitions; `time() - that` is how stale the picture is.
 *
 * The cycle only computes the figures per group/topic, in one pass over the rows with no
 * object per partition; the gauges take them when Prometheus scrapes (prom-client's
 * `collect`). At 10,000 groups, building the API's report and setting 40,000 labelled
 * values every cycle cost ~90 ms and ~100 MB of garbage a second (docs/design.md §3.9);
 * a scrape every 15 s or more costs that once.
 */
import type { Gauge } from 'prom-client';
import type { Metrics } from '../metrics';
import { breachInSecondsOf } from './lag-report';
import { SummaryAcc } from './latency';
import type { GroupPartitionLag, KafkaSnapshot } from './snapshot';
import type { TimeSlices } from '../util/slices';

type LagGauges = Pick<Metrics, 'consumerLagSeconds' | 'consumerLagMessages' | 'consumerBreachInSeconds' | 'consumerLagLastMeasuredSeconds'>;

/** One group/topic's figures, as GET /api/v1/lag's topic row gives them. */
interface TopicFigures {
  readonly group: string;
  readonly topic: string;
  readonly lagSeconds: number | null;
  readonly lagMessages: number | null;
  /** the soonest known breach (an upper bound when some partition is unknown); null when none is ahead */
  readonly breachInSeconds: number | null;
}

export class LagSeries {
  /** the last cycle's figures; empty while Kafka was unreadable or after clear() */
  private figures: readonly TopicFigures[] = [];
  /** group → topic → when every partition was last measured (ms); dropped when the pair is gone */
  private readonly lastMeasured = new Map<string, Map<string, number>>();
  /** the gauges whose scrape reads this series */
  private gauges: LagGauges | null = null;
  /**
   * Each group's figures last cycle with the rows they came from, when every row was caught
   * up (figures that do not depend on the time): the same rows again (the observer reuses an
   * idle group's rows) give the same figures without a pass over them.
   */
  private readonly caughtUp = new Map<string, { rows: readonly GroupPartitionLag[]; figures: readonly TopicFigures[] }>();
  /** the cycle each group was last in the snapshot: those not in this one are dropped after it */
  private readonly seen = new Map<string, number>();
  private cycle = 0;

  /** The figures from one cycle's snapshot, for the next scrape. */
  record(m: LagGauges, snapshot: KafkaSnapshot): void {
    const steps = this.recordSteps(m, snapshot);
    while (!steps.next().done) {
      // all at once
    }
  }

  /** record(), with the event loop let through between slices of the groups (the leader's settle). */
  async recordSliced(m: LagGauges, snapshot: KafkaSnapshot, slices: TimeSlices): Promise<void> {
    const steps = this.recordSteps(m, snapshot);
    while (!steps.next().done) if (slices.due()) await slices.next();
  }

  private *recordSteps(m: LagGauges, snapshot: KafkaSnapshot): Generator<void, void, void> {
    this.bind(m);
    // Kafka unreadable: nothing was measured; the timestamps stay and grow old.
    if (!snapshot.ok) {
      this.figures = [];
      return;
    }
    const figures: TopicFigures[] = [];
    // The maps are kept and updated in place (10,000 groups a cycle); groups and topics that
    // went away (or left the filter) are dropped after the walk: only what this cycle
    // reports is carried over.
    const cycle = ++this.cycle;
    const nowMs = snapshot.takenAtMs;
    let walked = 0;
    for (const g of snapshot.groups) {
      if (++walked % 128 === 0) yield;
      this.seen.set(g.group, cycle);
      const last = this.lastMeasured.get(g.group);
      if (g.error !== undefined) {
        // offsets unreadable this cycle: the group is still there, only unmeasured
        this.caughtUp.delete(g.group);
        continue;
      }
      const before = this.caughtUp.get(g.group);
      if (before !== undefined && before.rows === g.partitions && last !== undefined && last.size === before.figures.length) {
        // the same caught-up rows as last cycle: the same figures, every partition measured now
        for (const f of before.figures) {
          figures.push(f);
          last.set(f.topic, nowMs);
        }
        continue;
      }
      const topics = topicsOf(g.partitions, nowMs);
      // the group's map is updated in place while it holds exactly these topics (most cycles)
      const same = last !== undefined && last.size === topics.length && topics.every((t) => last.has(t.topic));
      let measured = same ? last : undefined;
      const mine: TopicFigures[] = [];
      for (const t of topics) {
        const summary = t.acc.result();
        const f = { group: g.group, topic: t.topic, lagSeconds: summary.lagSeconds, lagMessages: summary.lagMessages, breachInSeconds: t.breachInSeconds };
        figures.push(f);
        mine.push(f);
        if (same) {
          if (t.acc.allSecondsKnown) last.set(t.topic, nowMs);
          continue;
        }
        const atMs = t.acc.allSecondsKnown ? nowMs : last?.get(t.topic);
        if (atMs !== undefined) (measured ??= new Map()).set(t.topic, atMs);
      }
      if (measured !== undefined) this.lastMeasured.set(g.group, measured);
      else this.lastMeasured.delete(g.group);
      if (measured !== undefined && measured.size === mine.length && g.partitions.every(caughtUpRow)) this.caughtUp.set(g.group, { rows: g.partitions, figures: mine });
      else this.caughtUp.delete(g.group);
    }
    this.seen.forEach((at, group) => {
      if (at === cycle) return;
      this.seen.delete(group);
      this.lastMeasured.delete(group);
      this.caughtUp.delete(group);
    });
    this.figures = figures;
  }

  /** No longer leader: forget what was measured (the gauges are cleared with the others). */
  clear(): void {
    this.figures = [];
    this.lastMeasured.clear();
    this.caughtUp.clear();
    this.seen.clear();
  }

  /** The gauges fill themselves from this series when scraped. */
  private bind(m: LagGauges): void {
    if (this.gauges === m) return;
    this.gauges = m;
    const each = (gauge: Gauge, value: (f: TopicFigures) => number | null) =>
      collectFrom(gauge, () => {
        for (const f of this.figures) {
          const v = value(f);
          if (v !== null) gauge.set({ group: f.group, topic: f.topic }, v);
        }
      });
    each(m.consumerLagSeconds, (f) => f.lagSeconds);
    each(m.consumerLagMessages, (f) => f.lagMessages);
    each(m.consumerBreachInSeconds, (f) => f.breachInSeconds);
    collectFrom(m.consumerLagLastMeasuredSeconds, () => {
      for (const [group, topics] of this.lastMeasured) {
        for (const [topic, atMs] of topics) m.consumerLagLastMeasuredSeconds.set({ group, topic }, atMs / 1000);
      }
    });
  }
}

/** Caught up and measured: its figures are 0 whatever the time (no breach ahead). */
function caughtUpRow(p: GroupPartitionLag): boolean {
  return p.lagMessages === 0 && p.lagSeconds === 0 && p.breach === false;
}

/** Sets the gauge's values afresh at every scrape (whatever was set before is dropped). */
function collectFrom(gauge: Gauge, fill: () => void): void {
  (gauge as { collect?: () => void }).collect = () => {
    gauge.reset();
    fill();
  };
}

/** A group's rows summed per topic, in the order the topics first appear. */
function topicsOf(rows: readonly GroupPartitionLag[], nowMs: number): { topic: string; acc: SummaryAcc; breachInSeconds: number | null }[] {
  const out: { topic: string; acc: SummaryAcc; breachInSeconds: number | null }[] = [];
  let t: (typeof out)[number] | undefined;
  for (const p of rows) {
    if (t === undefined || t.topic !== p.topic) {
      t = out.find((x) => x.topic === p.topic);
      if (t === undefined) out.push((t = { topic: p.topic, acc: new SummaryAcc(), breachInSeconds: null }));
    }
    t.acc.add(p);
    const b = breachInSecondsOf(p.breach, p.lagMessages, p.breachAtMs, nowMs);
    if (b !== null && (t.breachInSeconds === null || b < t.breachInSeconds)) t.breachInSeconds = b;
  }
  return out;
}
