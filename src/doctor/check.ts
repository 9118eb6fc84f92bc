/**
 * `vigil doctor`'s results as data (pure): each check is one line — ok, warn or FAIL, what
 * was found, and what to do about it. The probes (kafka-probe.ts, redis-probe.ts,
 * peer-probe.ts, test-page.ts) produce checks; this module orders, renders and judges them.
 *
 * Exit status: 0 when nothing failed (warnings allowed), 1 when a check failed. A config
 * that cannot be loaded never gets here: the CLI exits 2 as `vigil check-config` does.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  /** Stable id, e.g. "kafka.bootstrap", "kafka.acl.read-topic", "peer.vigil-2". */
  readonly id: string;
  readonly status: CheckStatus;
  /** What was found, in one line. */
  readonly found: string;
  /** What to do; absent when there is nothing to do. */
  readonly fix?: string;
}

export interface DoctorReport {
  /** The config file checked, as given. */
  readonly config: string;
  /** This replica's id (node.id), whose view the checks take. */
  readonly nodeId: string;
  readonly checkedAt: string;
  readonly checks: readonly Check[];
}

export function check(id: string, status: CheckStatus, found: string, fix?: string): Check {
  return fix === undefined || fix === '' ? { id, status, found } : { id, status, found, fix };
}

export function doctorExitCode(checks: readonly Check[]): 0 | 1 {
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

const LABELS: Readonly<Record<CheckStatus, string>> = { ok: 'ok', warn: 'WARN', fail: 'FAIL' };

/** One line per check (`STATUS  id  found — fix: …`), then a summary line. */
export function renderDoctorReport(report: DoctorReport): string {
  const width = Math.max(0, ...report.checks.map((c) => c.id.length));
  const lines = report.checks.map((c) => {
    const text = c.fix === undefined ? c.found : `${c.found} — fix: ${c.fix}`;
    return `${LABELS[c.status].padEnd(4)}  ${c.id.padEnd(width)}  ${oneLine(text)}`;
  });
  const count = (s: CheckStatus) => report.checks.filter((c) => c.status === s).length;
  const failed = count('fail');
  const warned = count('warn');
  const verdict = failed > 0 ? 'vigil cannot run as configured' : warned > 0 ? 'vigil can run; read the warnings' : 'vigil can run';
  lines.push('', `vigil doctor (${report.nodeId}, ${report.config}): ${count('ok')} ok, ${warned} warning(s), ${failed} failed — ${verdict}`);
  return `${lines.join('\n')}\n`;
}

/** The --json document: the report and its exit code. */
export function doctorJson(report: DoctorReport): string {
  return `${JSON.stringify({ ...report, exitCode: doctorExitCode(report.checks) })}\n`;
}

/** Whatever a probe found goes on one line: newlines (a server's message) become spaces. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** "a, b, c and 4 more": names in a line stay readable however many there are. */
export function listNames(names: readonly string[], max = 5): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** Quotes a word for a POSIX shell when it needs it, so a printed fix can be pasted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_.,:/=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
