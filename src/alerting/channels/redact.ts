/**
 * Keeping channel credentials out of logs and outcome reasons. Config already prints URLs
 * as scheme://host only (src/config `redactUrl`); this adds scrubbing of free text — error
 * messages and receivers' response bodies — which can echo a URL, a key or a header.
 */

/** Shorter strings are not scrubbed: replacing "/" or "ab" everywhere would garble logs and protect nothing. */
const MIN_SECRET_LENGTH = 4;

export const REDACTED = '[redacted]';

/**
 * The parts of a URL that can be credentials: user, password and query values always
 * (webhook URLs often carry ?token=); with `pathIsSecret` also the path and the whole URL
 * (a Slack or chat webhook's path is its credential; an Alertmanager path is not).
 */
export function urlSecrets(url: string, opts: { pathIsSecret: boolean }): string[] {
  const out: string[] = [];
  try {
    const u = new URL(url);
    out.push(u.username, u.password, u.search.slice(1), ...u.searchParams.values());
    if (opts.pathIsSecret) out.push(url, `${u.pathname}${u.search}`, u.pathname.length > 1 ? u.pathname : '');
  } catch {
    // not a URL: the whole string is all we can scrub
    out.push(url);
  }
  return out.filter((s) => s !== '');
}

/**
 * Replaces every occurrence of every secret by [redacted], longest first so a secret that
 * contains another is removed whole. Also URL-encoded forms, as error messages may carry
 * them that way.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  const list = [...new Set(secrets.flatMap((s) => [s, encodeURIComponent(s)]))]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of list) out = out.split(secret).join(REDACTED);
  return out;
}
