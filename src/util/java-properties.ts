/**
 * java.util.Properties#load, as the Kafka tools read `--command-config` files, so a file
 * that works with kafka-consumer-groups.sh means the same to vigil:
 *
 * - `#` or `!` as the first non-blank character makes a comment line (a trailing `\` on a
 *   comment line does not continue it);
 * - `key=value`, `key: value` and `key value`: the key ends at the first unescaped `=`,
 *   `:` or blank; blanks around the separator are dropped, trailing blanks of the value kept;
 * - a line ending in an odd number of `\` continues on the next, whose leading blanks are
 *   dropped;
 * - escapes `\t \n \r \f \uXXXX`, and `\` before any other character is that character.
 *
 * One departure: bytes are read as UTF-8 when they are valid UTF-8 (Java reads
 * ISO-8859-1), so a password with non-ASCII characters means what its author typed; other
 * bytes are read as ISO-8859-1, like Java. Pure; no I/O.
 */
import { VigilError } from '../errors';

/** Blank characters in the sense of Properties#load. */
const BLANK = new Set([' ', '\t', '\f']);

/** Decodes a properties file's bytes (see the module comment on the encoding). */
export function decodePropertiesBytes(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

/**
 * Key → value in file order; a repeated key keeps its last value (as Java does). `source`
 * names the file in error messages.
 */
export function parseJavaProperties(text: string, source = 'properties'): Map<string, string> {
  const out = new Map<string, string>();
  for (const { line, lineNo } of logicalLines(text)) {
    const { key, value } = splitKeyValue(line);
    out.set(unescape(key, source, lineNo), unescape(value, source, lineNo));
  }
  return out;
}

interface LogicalLine {
  /** Still escaped; continuation backslashes and the next line's leading blanks removed. */
  line: string;
  /** 1-based number of the natural line it starts on. */
  lineNo: number;
}

function* logicalLines(text: string): Generator<LogicalLine> {
  const natural = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < natural.length; i++) {
    const lineNo = i + 1;
    let line = stripLeadingBlanks(natural[i] as string);
    if (line === '' || line[0] === '#' || line[0] === '!') continue;
    while (endsWithContinuation(line)) {
      line = line.slice(0, -1);
      i++;
      if (i >= natural.length) break; // a `\` on the last line continues into nothing
      line += stripLeadingBlanks(natural[i] as string);
    }
    yield { line, lineNo };
  }
}

function stripLeadingBlanks(s: string): string {
  let i = 0;
  while (i < s.length && BLANK.has(s[i] as string)) i++;
  return s.slice(i);
}

/** An odd number of trailing backslashes: the last one is not itself escaped. */
function endsWithContinuation(line: string): boolean {
  let n = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

function splitKeyValue(line: string): { key: string; value: string } {
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === '\\') {
      i += 2; // the escaped character belongs to the key
      continue;
    }
    if (c === '=' || c === ':' || BLANK.has(c)) break;
    i++;
  }
  const key = line.slice(0, Math.min(i, line.length));
  let j = i;
  while (j < line.length && BLANK.has(line[j] as string)) j++;
  if (j < line.length && (line[j] === '=' || line[j] === ':')) j++;
  while (j < line.length && BLANK.has(line[j] as string)) j++;
  return { key, value: line.slice(j) };
}

const SIMPLE_ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f' };

function unescape(s: string, source: string, lineNo: number): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = s[++i];
    if (next === undefined) break;
    if (next === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new VigilError('CONFIG_INVALID', `${source} line ${lineNo}: malformed \\uXXXX escape "\\u${hex}"; write four hex digits, or \\\\ for a backslash`);
      }
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
      continue;
    }
    out += SIMPLE_ESCAPES[next] ?? next;
  }
  return out;
}
