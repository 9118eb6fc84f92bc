/**
 * `${VAR}` / `${VAR:-default}` expansion in string values (never in keys), before any
 * validation, so an expanded value is checked like one written in the file.
 * `$${` stands for a literal `${`.
 */
import { indexPath, keyPath, Problems } from './problems';

export type Env = Readonly<Record<string, string | undefined>>;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Expands one string; problems are recorded against `path`. */
export function expandString(text: string, env: Env, path: string, problems: Problems): string {
  if (!text.includes('$')) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i += 1;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end < 0) {
      problems.addSettled(path, 'unterminated "${"; expected ${NAME} or ${NAME:-default} (write $${ for a literal "${")');
      return out + text.slice(i);
    }
    const body = text.slice(i + 2, end);
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    if (!NAME_RE.test(name)) {
      problems.addSettled(path, `"\${${body}}" is not a variable reference; expected \${NAME} or \${NAME:-default} with NAME of letters, digits and "_"`);
    } else {
      const value = env[name];
      if (sep >= 0) {
        // Shell semantics: the default applies when the variable is unset or empty.
        out += value === undefined || value === '' ? body.slice(sep + 2) : value;
      } else if (value === undefined) {
        problems.addSettled(path, `environment variable ${name} is not set; set it, or write \${${name}:-default} to give a default`);
      } else {
        out += value;
      }
    }
    i = end + 1;
  }
  return out;
}

/** A copy of the parsed YAML tree with every string value expanded. */
export function expandEnv(value: unknown, env: Env, path: string, problems: Problems): unknown {
  if (typeof value === 'string') return expandString(value, env, path, problems);
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, indexPath(path, i), problems));
  if (value !== null && typeof value === 'object') {
    // No prototype: a "__proto__" key in the YAML stays an (unknown) key, not a prototype.
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = expandEnv(v, env, keyPath(path, k), problems);
    }
    return out;
  }
  return value;
}
