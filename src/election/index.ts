/**
 * The election core (docs/design.md §2). See README.md in this folder for the driver contract.
 */
export { ElectionNode, type ElectionNodeOptions } from './node';
export { parseMessage } from './messages';
export {
  resolveTiming,
  maxSafeLeaseMs,
  DEFAULT_MAX_CLOCK_DRIFT_RATIO,
  DEFAULT_MAX_BACKOFF_EXPONENT,
  type ElectionTiming,
  type ElectionTimingOptions,
} from './timing';
export type * from './types';
