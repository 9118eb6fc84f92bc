/**
 * Recent delivery latency per consumer group, kept by the leader for the status page's
 * sparklines (GET /api/v1/lag/history): a page opened now shows the last minutes at once
 * instead of starting from an empty line.
 *
 * Bounded: at most one sample per group every `stepMs / 2` (the caller records every
 * `stepMs`; the slack absorbs timer jitter), over `windowMs` — at most 121 samples a group
 * with the defaults — and only the groups of the latest recorded snapshot. A new leader
 * starts empty: it keeps what it has seen since it took over.
 */
export interface LatencyHistoryDoc {
  readonly windowSeconds: number;
  readonly stepSeconds: number;
  /** per group, oldest first: [wall ms, seconds or null when it could not be measured] */
  readonly groups: Readonly<Record<string, readonly (readonly [number, number | null])[]>>;
}

export class GroupLatencyHistory {
  /** per group, flat [atMs, seconds (NaN = unknown), ...], oldest first */
  private readonly series = new Map<string, number[]>();

  constructor(
    readonly windowMs = 5 * 60_000,
    readonly stepMs = 5_000,
  ) {}

  /** One snapshot's figures, taken at `atMs` (wall ms). Groups absent from it are dropped. */
  record(groups: readonly { readonly group: string; readonly lagSeconds: number | null }[], atMs: number): void {
    const present = new Set<string>();
    for (const g of groups) {
      present.add(g.group);
      let s = this.series.get(g.group);
      if (!s) this.series.set(g.group, (s = []));
      const lastMs = s.length > 0 ? (s[s.length - 2] as number) : Number.NEGATIVE_INFINITY;
      if (atMs - lastMs < this.stepMs / 2) continue;
      s.push(atMs, g.lagSeconds ?? Number.NaN);
      let cut = 0;
      while (cut < s.length && (s[cut] as number) < atMs - this.windowMs) cut += 2;
      if (cut > 0) s.splice(0, cut);
    }
    for (const name of [...this.series.keys()]) if (!present.has(name)) this.series.delete(name);
  }

  /** The samples within the window before `nowMs`. */
  document(nowMs: number): LatencyHistoryDoc {
    const groups: Record<string, [number, number | null][]> = {};
    for (const [name, s] of this.series) {
      const out: [number, number | null][] = [];
      for (let i = 0; i < s.length; i += 2) {
        const t = s[i] as number;
        const v = s[i + 1] as number;
        if (t >= nowMs - this.windowMs) out.push([t, Number.isNaN(v) ? null : v]);
      }
      if (out.length > 0) groups[name] = out;
    }
    return { windowSeconds: this.windowMs / 1000, stepSeconds: this.stepMs / 1000, groups };
  }

  /** Samples held, all groups together (for tests of the bound). */
  size(): number {
    let n = 0;
    for (const s of this.series.values()) n += s.length / 2;
    return n;
  }
}
