/**
 * Shell-style globs for group and topic names: "*" any run of characters, "?" one
 * character; everything else literal. Compiled once to a RegExp.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

export type NameFilter = (name: string) => boolean;

/** include/exclude lists of globs → a predicate. An empty include list matches all. */
export function nameFilter(include: readonly string[], exclude: readonly string[] = []): NameFilter {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  // loops, not some(): called for every group every cycle, without a closure per call
  const matches = (res: readonly RegExp[], name: string): boolean => {
    for (const r of res) if (r.test(name)) return true;
    return false;
  };
  return (name) => (inc.length === 0 || matches(inc, name)) && !matches(exc, name);
}
