/**
 * A duration given on the command line (`--threshold 10s`, `--connect-timeout 3s`): the
 * same forms as in the config file, and the same refusal of a bare number, since
 * `--threshold 10` would otherwise mean something its author did not.
 */
import { VigilError } from '../errors';
import { durationProblem, parseDurationMs } from '../util/duration';

/** Milliseconds (> 0) from the flag's text, or a USAGE error naming the flag. */
export function durationFlagMs(flag: string, text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new VigilError('USAGE', `${flag}: "${text}" is not a duration: ${durationProblem(text)}`);
  if (ms <= 0) throw new VigilError('USAGE', `${flag}: must be longer than 0; got "${text}"`);
  return ms;
}
