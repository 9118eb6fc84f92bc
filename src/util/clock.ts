/**
 * The clocks vigil reads. Pure cores never read a clock: drivers pass time in.
 * `monotonicMs` is for durations and leases (never jumps); `wallMs` is for timestamps that
 * are compared with Kafka record timestamps or shown to people.
 */
export interface Clock {
  monotonicMs(): number;
  wallMs(): number;
}

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};
