/**
 * TLS client settings as the YAML writes them (`kafka.ssl`, `redis.tls`,
 * `redis.sentinel.sentinelTls`): `true` for the system CAs, or a mapping whose PEM values
 * are inline text or file paths. Files are read here, at start-up, so a missing or wrong
 * file is a config problem naming its key path, not a connection error at 3 a.m.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeKind, Problems } from './problems';
import { isAbsent, isMap, readBoolean, readMap, readString } from './read';
import type { TlsConfig } from './types';

/** The keys of every TLS mapping. */
export const TLS_KEYS = ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const;

export const PEM_FORM = 'PEM text ("-----BEGIN ...") or the path of a PEM file (relative to the config file)';

/**
 * `at` holds absent/false (no TLS: returns false), true (system CAs) or a mapping with
 * TLS_KEYS. A client certificate needs its key and the reverse.
 */
export function readTls(p: Problems, at: string, value: unknown, baseDir: string): TlsConfig | false {
  if (isAbsent(value) || value === false || value === 'false') return false;
  if (value === true || value === 'true') return { rejectUnauthorized: true };
  if (!isMap(value)) {
    p.add(at, `expected true, false or a mapping with keys ${TLS_KEYS.join(', ')}; got ${describeKind(value)}`);
    return false;
  }
  const m = readMap(p, at, value, TLS_KEYS);
  const tls: { -readonly [K in keyof TlsConfig]: TlsConfig[K] } = {
    rejectUnauthorized: readBoolean(p, `${at}.rejectUnauthorized`, m['rejectUnauthorized'], true),
  };
  for (const key of ['ca', 'cert', 'key'] as const) {
    const pem = readPem(p, `${at}.${key}`, m[key], baseDir);
    if (pem !== undefined) tls[key] = pem;
  }
  if (!isAbsent(m['servername'])) tls.servername = readString(p, `${at}.servername`, m['servername'], { nonEmpty: true });
  // A client certificate is useless without its key, and the reverse.
  if (isAbsent(m['cert']) !== isAbsent(m['key'])) {
    const [missing, present] = isAbsent(m['cert']) ? ['cert', 'key'] : ['key', 'cert'];
    p.add(`${at}.${missing}`, `is required when ${at}.${present} is set (client certificates need both); expected ${PEM_FORM}`);
  }
  return tls;
}

/** PEM text, inline or read from a file; undefined (and a problem) when unusable. */
export function readPem(p: Problems, at: string, value: unknown, baseDir: string): string | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    p.add(at, `expected ${PEM_FORM}; got ${describeKind(value)}`);
    return undefined;
  }
  if (value.includes('-----BEGIN')) return value;
  const file = path.resolve(baseDir, value);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    p.add(at, `cannot read file "${file}" (${code}); expected ${PEM_FORM}`);
    return undefined;
  }
  if (!text.includes('-----BEGIN')) {
    p.add(at, `file "${file}" holds no PEM block; expected ${PEM_FORM}`);
    return undefined;
  }
  return text;
}
