/**
 * The one entry point that touches the file system and the process environment for
 * configuration: read the YAML file, parse it, compile it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { VigilError } from '../errors';
import { checkConfig, configInvalid } from './compile';
import type { Env } from './env';
import type { ConfigProblem } from './problems';
import type { VigilConfig } from './types';

/**
 * Loads and compiles the config file at `file`. Relative paths inside it resolve against
 * the file's directory. Throws VigilError CONFIG_READ_FAILED (file unreadable) or
 * CONFIG_INVALID (YAML syntax or any validation problem; context.problems lists all).
 */
export function loadConfig(file: string, env: Env = process.env): VigilConfig {
  const absolute = path.resolve(file);
  const text = readConfigFile(absolute);
  const raw = parseConfigYaml(text, file);
  const result = checkConfig(raw, env, { baseDir: path.dirname(absolute) });
  if (!result.ok) throw configInvalid(result.problems, file);
  return result.config;
}

export function readConfigFile(absolute: string): string {
  try {
    return fs.readFileSync(absolute, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (code ?? 'unreadable');
    throw new VigilError('CONFIG_READ_FAILED', `cannot read config file "${absolute}": ${why}; pass the path of a readable YAML file with --config`, {
      cause: err,
      context: { file: absolute },
    });
  }
}

/**
 * YAML text → plain JS tree. Syntax errors (all of them, with line and column) become
 * CONFIG_INVALID problems; the text itself is never echoed beyond the parser's message,
 * since the file may hold secrets.
 */
export function parseConfigYaml(text: string, file: string | undefined): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems: ConfigProblem[] = doc.errors.map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      return { path: '', message: `YAML syntax error at line ${line}, column ${col}: ${e.message}` };
    });
    throw configInvalid(problems, file);
  }
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // e.g. an alias cycle or an alias count that would expand without bound
    const message = err instanceof Error ? err.message : String(err);
    throw configInvalid([{ path: '', message: `YAML could not be resolved: ${message}` }], file);
  }
}
