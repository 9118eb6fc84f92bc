/**
 * Typed readers for one raw YAML value each. A reader never throws: a bad value is
 * recorded as a problem naming the expected form, and the reader returns a fallback so
 * validation goes on and finds every other problem. Cross-field rules ask
 * `Problems.clean` first, so they only judge values that were themselves valid.
 *
 * `null` (a key written with no value) counts as absent: the default applies.
 */
import { DURATION_FORM, durationProblem, formatDurationMs, parseDurationMs } from '../util/duration';
import { describeKind, describeValue, keyPath, Problems, suggestKey } from './problems';

export type RawMap = Record<string, unknown>;

export function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

export function isMap(value: unknown): value is RawMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function listKeys(keys: readonly string[]): string {
  return keys.join(', ');
}

/**
 * A mapping with a fixed set of keys. Unknown keys are problems (with a "did you mean"
 * when one is close), so a typo never silently falls back to a default.
 * Returns {} when absent or not a mapping.
 */
export function readMap(
  p: Problems,
  path: string,
  value: unknown,
  keys: readonly string[],
  opts: { required?: boolean } = {},
): RawMap {
  if (isAbsent(value)) {
    if (opts.required) p.addMissing(path, `is required; expected a mapping with keys ${listKeys(keys)}`);
    return {};
  }
  if (!isMap(value)) {
    p.add(path, `expected a mapping with keys ${listKeys(keys)}; got ${describeKind(value)}`);
    return {};
  }
  for (const key of Object.keys(value)) {
    if (keys.includes(key)) continue;
    const hint = suggestKey(key, keys);
    p.add(
      keyPath(path, key),
      hint !== undefined
        ? `unknown key; did you mean "${hint}"?`
        : `unknown key; expected one of ${listKeys(keys)}`,
    );
  }
  return value;
}

export interface StringOptions {
  required?: boolean;
  default?: string;
  /** Reject ''. */
  nonEmpty?: boolean;
  /** Never echo the value in a message. */
  secret?: boolean;
  /** The expected form, for messages; `test` (when given) checks the text against it. */
  form?: { test?: (s: string) => boolean; expected: string };
}

export function readString(p: Problems, path: string, value: unknown, opts: StringOptions = {}): string {
  const fallback = opts.default ?? '';
  if (isAbsent(value)) {
    if (opts.required) p.add(path, `is required; expected ${opts.form?.expected ?? 'a string'}`);
    return fallback;
  }
  // YAML reads `clientId: 123` as a number; a name written that way is still meant as text.
  const text = typeof value === 'number' && !opts.secret ? String(value) : value;
  if (typeof text !== 'string') {
    p.add(path, `expected ${opts.form?.expected ?? 'a string'}; got ${describeKind(value)}`);
    return fallback;
  }
  if (opts.nonEmpty && text.trim() === '') {
    p.add(path, `must not be empty; expected ${opts.form?.expected ?? 'a non-empty string'}`);
    return fallback;
  }
  if (opts.form?.test && !opts.form.test(text)) {
    const got = opts.secret ? describeKind(text) : describeValue(text);
    p.add(path, `expected ${opts.form.expected}; got ${got}`);
    return fallback;
  }
  return text;
}

export function readBoolean(p: Problems, path: string, value: unknown, def: boolean): boolean {
  if (isAbsent(value)) return def;
  if (typeof value === 'boolean') return value;
  // `${VAR}` expansion yields text, so "true"/"false" are accepted as well.
  if (value === 'true') return true;
  if (value === 'false') return false;
  p.add(path, `expected true or false; got ${describeValue(value)}`);
  return def;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

export function readInteger(
  p: Problems,
  path: string,
  value: unknown,
  def: number,
  opts: { min?: number; max?: number } = {},
): number {
  if (isAbsent(value)) return def;
  const n = toNumber(value);
  const min = opts.min ?? 1;
  const range = opts.max === undefined ? `>= ${min}` : `from ${min} to ${opts.max}`;
  if (n === undefined || !Number.isInteger(n) || n < min || (opts.max !== undefined && n > opts.max)) {
    p.add(path, `expected a whole number ${range}; got ${describeValue(value)}`);
    return def;
  }
  return n;
}

/** A fraction in (0, 1]. */
export function readFraction(p: Problems, path: string, value: unknown, def: number): number {
  if (isAbsent(value)) return def;
  const n = toNumber(value);
  if (n === undefined || !(n > 0 && n <= 1)) {
    p.add(path, `expected a fraction greater than 0 and at most 1, such as 0.5; got ${describeValue(value)}`);
    return def;
  }
  return n;
}

/** A duration in milliseconds, at least `minMs` (1 by default: intervals must advance). */
export function readDuration(
  p: Problems,
  path: string,
  value: unknown,
  defMs: number,
  opts: { minMs?: number } = {},
): number {
  if (isAbsent(value)) return defMs;
  const ms = parseDurationMs(value);
  const minMs = opts.minMs ?? 1;
  if (ms === undefined) {
    p.add(path, `${durationProblem(value)}; got ${describeValue(value)}`);
    return defMs;
  }
  if (ms < minMs) {
    p.add(path, `expected ${DURATION_FORM} of at least ${formatDurationMs(minMs)}; got ${describeValue(value)}`);
    return defMs;
  }
  return ms;
}

/** One of `choices`; absent → `def`, or a problem when `required`. */
export function readEnum<T extends string>(
  p: Problems,
  path: string,
  value: unknown,
  choices: readonly T[],
  def: T,
  opts: { required?: boolean } = {},
): T {
  const expected = `one of ${choices.map((c) => `"${c}"`).join(', ')}`;
  if (isAbsent(value)) {
    if (opts.required) p.add(path, `is required; expected ${expected}`);
    return def;
  }
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  p.add(path, `expected ${expected}; got ${describeValue(value)}`);
  return def;
}

/** A YAML list; absent → []. */
export function readList(
  p: Problems,
  path: string,
  value: unknown,
  expected: string,
  opts: { required?: boolean; nonEmpty?: boolean } = {},
): unknown[] {
  if (isAbsent(value)) {
    if (opts.required) p.add(path, `is required; expected ${expected}`);
    return [];
  }
  if (!Array.isArray(value)) {
    p.add(path, `expected ${expected}; got ${describeKind(value)}`);
    return [];
  }
  if (opts.nonEmpty && value.length === 0) p.add(path, `must not be empty; expected ${expected}`);
  return value;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export const HOST_PORT_FORM = 'host:port such as "127.0.0.1:9092", "kafka-1.example.com:9092" or "[::1]:9092"';

/** "host:port", "[v6]:port" → { host, port }; undefined when the text does not fit. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([A-Za-z0-9._-]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] as string, port };
}

export function readHostPort(p: Problems, path: string, value: unknown, opts: { required?: boolean } = {}): HostPort {
  const fallback = { host: '', port: 0 };
  if (isAbsent(value)) {
    if (opts.required) p.add(path, `is required; expected ${HOST_PORT_FORM}`);
    return fallback;
  }
  const parsed = typeof value === 'string' ? parseHostPort(value.trim()) : undefined;
  if (!parsed) {
    p.add(path, `expected ${HOST_PORT_FORM}; got ${describeValue(value)}`);
    return fallback;
  }
  return parsed;
}

/**
 * A URL with one of the given schemes. Never echoed: webhook and Redis URLs often carry
 * credentials. `base: true` marks a base URL that paths get appended to; it is returned
 * without a trailing slash. Other URLs are kept exactly (a webhook may need its slash).
 */
export function readUrl(
  p: Problems,
  path: string,
  value: unknown,
  opts: { schemes: readonly string[]; example: string; required?: boolean; default?: string; base?: boolean },
): string {
  const schemes = opts.schemes.join(' or ');
  const expected = `${/^h/.test(schemes) ? 'an' : 'a'} ${schemes} URL such as "${opts.example}"`;
  if (isAbsent(value)) {
    if (opts.required) p.add(path, `is required; expected ${expected}`);
    return opts.default ?? '';
  }
  if (typeof value !== 'string') {
    p.add(path, `expected ${expected}; got ${describeKind(value)}`);
    return opts.default ?? '';
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    p.add(path, `expected ${expected}; got text that is not a URL`);
    return opts.default ?? '';
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!opts.schemes.includes(scheme)) {
    p.add(path, `expected ${expected}; got a "${scheme}:" URL`);
    return opts.default ?? '';
  }
  if (url.hostname === '') {
    p.add(path, `expected ${expected}; the URL has no host`);
    return opts.default ?? '';
  }
  return opts.base ? value.trim().replace(/\/+$/, '') : value.trim();
}
