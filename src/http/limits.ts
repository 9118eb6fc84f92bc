/**
 * The public listener's connection bound against the process's open-files limit: every
 * connection is a file descriptor, and one the flood takes is one the peer links, Kafka
 * and Redis cannot open (issue 8, defect 9: 200 held connections under a limit of 128
 * cost the leader its leadership).
 */
import * as fs from 'node:fs';

/** The soft RLIMIT_NOFILE of this process (Linux /proc), or undefined where unknown. */
export function openFilesSoftLimit(): number | undefined {
  try {
    const text = fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
    if (m === null || m[1] === 'unlimited') return undefined;
    return Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * At most half the descriptors go to public connections; the rest stay for the peer
 * listener and links, Kafka, Redis, files. Never below 8, so a tiny limit still serves.
 */
export function publicConnectionBound(configured: number, softLimit: number | undefined): number {
  if (softLimit === undefined) return configured;
  return Math.max(8, Math.min(configured, Math.floor(softLimit / 2)));
}

/** The peer listener's bound under the same limit (a quarter: it needs only a few). */
export function peerConnectionBound(configured: number, softLimit: number | undefined): number {
  if (softLimit === undefined) return configured;
  return Math.max(8, Math.min(configured, Math.floor(softLimit / 4)));
}
