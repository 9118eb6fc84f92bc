/**
 * Which lag rule applies to a group/topic: the first matching override, else lag.*.
 * One function, so the monitor, the API and `vigil plan` agree on it.
 */
import { globToRegExp } from '../util/glob';
import type { Severity, VigilConfig } from './types';

export interface LagRule {
  readonly thresholdMs: number;
  readonly resolveBelowMs: number;
  readonly resolveForMs: number;
  readonly severity: Severity;
  /** the early warning's lead; 0 = off */
  readonly warnAheadMs: number;
  /** Index into lag.overrides, or -1 for the global rule. */
  readonly overrideIndex: number;
}

type LagSection = VigilConfig['lag'];

interface Compiled {
  readonly global: LagRule;
  readonly overrides: readonly { readonly group: RegExp; readonly topic: RegExp; readonly rule: LagRule }[];
}

// The config is frozen, so compiled globs can be cached per lag section for its lifetime.
const cache = new WeakMap<LagSection, Compiled>();

function compile(lag: LagSection): Compiled {
  let c = cache.get(lag);
  if (c === undefined) {
    c = {
      global: { thresholdMs: lag.thresholdMs, resolveBelowMs: lag.resolveBelowMs, resolveForMs: lag.resolveForMs, severity: lag.severity, warnAheadMs: lag.warnAheadMs ?? 0, overrideIndex: -1 },
      overrides: lag.overrides.map((o, i) => ({
        group: globToRegExp(o.group),
        topic: globToRegExp(o.topic),
        rule: { thresholdMs: o.thresholdMs, resolveBelowMs: o.resolveBelowMs, resolveForMs: lag.resolveForMs, severity: o.severity, warnAheadMs: o.warnAheadMs ?? 0, overrideIndex: i },
      })),
    };
    cache.set(lag, c);
  }
  return c;
}

export function lagRuleFor(lag: LagSection, group: string, topic: string): LagRule {
  const c = compile(lag);
  for (const o of c.overrides) if (o.group.test(group) && o.topic.test(topic)) return o.rule;
  return c.global;
}
