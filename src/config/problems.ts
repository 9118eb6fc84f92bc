/**
 * Config problems: every one is collected, none stops validation, so an operator fixes
 * a file in one pass. A problem names the key path ("peers[1].id") and the expected form.
 */

export interface ConfigProblem {
  /** Key path such as "election.electionTimeout" or "peers[1].url"; '' for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

export class Problems {
  readonly list: ConfigProblem[] = [];
  /** Paths whose value is known bad at the source; later checks of them add nothing. */
  private readonly settled = new Set<string>();

  /** Required sections that are missing; what they would contain is not reported again. */
  private readonly missing = new Set<string>();

  add(path: string, message: string): void {
    if (this.settled.has(path)) return;
    for (const m of this.missing) {
      if (path.startsWith(`${m}.`) || path.startsWith(`${m}[`)) return;
    }
    this.list.push({ path, message });
  }

  /** A required section is absent: one problem for it, none for the keys it would hold. */
  addMissing(path: string, message: string): void {
    this.add(path, message);
    if (path !== '') this.missing.add(path);
  }

  /**
   * Records a problem that makes every later check of the same value redundant (an
   * unset variable: "must not be empty" would only repeat it).
   */
  addSettled(path: string, message: string): void {
    this.list.push({ path, message });
    this.settled.add(path);
  }

  get count(): number {
    return this.list.length;
  }

  /**
   * True when no problem was recorded at any of these paths or below them. Cross-field
   * rules check this first, so a bad value is reported once, not again by every rule
   * that reads it.
   */
  clean(...paths: string[]): boolean {
    return !this.list.some((pr) =>
      paths.some((q) => pr.path === q || pr.path.startsWith(`${q}.`) || pr.path.startsWith(`${q}[`)),
    );
  }
}

/** "node" + "id" → "node.id"; "" + "cluster" → "cluster". */
export function keyPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** "peers" + 1 → "peers[1]". */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** One line per problem, as `vigil check-config` prints them. */
export function formatProblem(p: ConfigProblem): string {
  return p.path === '' ? p.message : `${p.path}: ${p.message}`;
}

/**
 * A short description of a value for "got ..." in messages. Strings are echoed (cut
 * short), so callers must not pass secrets here.
 */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

/** What a value is, without echoing it (for fields that may hold secrets). */
export function describeKind(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  return `a ${typeof value}`;
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, '');
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(above + 1, (prev[j - 1] as number) + 1, diag + cost);
      diag = above;
    }
  }
  return prev[b.length] as number;
}

/**
 * The known key an unknown one was most likely meant to be: same key in another case
 * or style (heartbeat_interval), a unit-suffixed duration (electionTimeoutMs), or a
 * near typo. Undefined when nothing is close.
 */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  const norm = normalizeKey(unknown);
  const stripped = norm.replace(/(ms|seconds|secs|sec|s)$/, '');
  for (const k of known) {
    const kn = normalizeKey(k);
    if (kn === norm || kn === stripped) return k;
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(norm, normalizeKey(k));
    const limit = Math.max(2, Math.floor(k.length / 3));
    if (d <= limit && d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}
