/**
 * docs/design.md §10 "failover, leader hung (SIGSTOP): new leader p99 <= 1 s; deposed leader acts
 * 0 times" (anchor: KRaft 1 s election + 2 s fetch timeout).
 *
 *   npm run build && node scripts/run-bench.js failover-stop
 *   node dist/test/bench/failover-stop.bench.js [--trials 20]
 *
 * Three replicas, default timings, each running a guarded no-op every 10 ms through
 * `driver.runIfLeader` (`vigil run --guarded-noop-interval-ms 10`), which logs the first
 * and the last action of each leadership with CLOCK_MONOTONIC stamps. Each trial: wait for
 * a stable group, SIGSTOP the leader, wait for a new leader, SIGCONT the old one, wait
 * until it follows. Measured:
 *   electedMs / actingMs  SIGSTOP → the new leader's "candidate → leader" / "lease
 *                         acquired" log lines (monoMs, the clock read before the signal);
 *   deposed actions       guarded actions of the old leader stamped after the SIGSTOP:
 *                         must be 0 (a paused process runs nothing, so any such action
 *                         happened after SIGCONT, i.e. after its lease had ended);
 *   overlap               whether the old leader's last action is later than the new
 *                         leader's first action: must never happen;
 *   marginMs              new leader's first action − old leader's last action.
 * Prints one JSON line; exit 0 when actingMs p99 <= 1000 ms with 0 deposed actions and
 * no overlap.
 */
import * as os from 'node:os';
import { hostMonotonicMs, linesAfter, schedulingFromArgv, startReplicas, summarizeMs } from '../harness/replicas';
import { arg } from './util';

const TARGET_P99_MS = 1000;


async function main(): Promise<void> {
  const trials = arg('trials', 20);
  const load0 = os.loadavg()[0] as number;
  const group = await startReplicas({ count: 3, ...schedulingFromArgv(), name: 'bench-stop', runArgs: ['--guarded-noop-interval-ms', '10'] });
  const elected: number[] = [];
  const acting: number[] = [];
  const margins: number[] = [];
  let deposedActions = 0;
  let overlaps = 0;
  try {
    for (let t = 0; t < trials; t++) {
      const old = await group.waitForLeader({ timeoutMs: 30_000 });
      await group.waitForConnected();
      // Let the old leader act for a while, so "its last action" is a real one.
      await group.waitForLeader({ minTerm: old.term, intervalMs: 50 });
      const t0 = hostMonotonicMs();
      group.pause(old.nodeId);
      const next = await group.waitForLeader({ excluding: [old.nodeId], minTerm: old.term + 1, timeoutMs: 30_000, intervalMs: 100 });
      group.resume(old.nodeId);
      await group.waitForLeader({ minTerm: next.term, timeoutMs: 30_000 });
      const newLines = group.logLines(next.nodeId);
      const won = linesAfter(newLines, 'role change', t0, (l) => l['to'] === 'leader')[0];
      const lease = linesAfter(newLines, 'lease acquired', t0)[0];
      const firstNew = linesAfter(newLines, 'guarded actions started', t0, (l) => l['term'] === next.term)[0];
      if (!won || !lease || !firstNew) throw new Error(`trial ${t}: missing lines of the new leader ${next.nodeId}`);
      elected.push((won['monoMs'] as number) - t0);
      acting.push((lease['monoMs'] as number) - t0);
      const oldLines = group.logLines(old.nodeId);
      // The old leadership's episode closes after SIGCONT, when the first check fails.
      const stopped = oldLines.filter((l) => l['msg'] === 'guarded actions stopped' && l['term'] === old.term).pop();
      if (!stopped) throw new Error(`trial ${t}: the old leader ${old.nodeId} logged no end of its guarded actions`);
      const lastOld = stopped['lastMonoMs'] as number;
      if (lastOld > t0) deposedActions++;
      // Any episode the old replica started after the pause would be an action while deposed.
      // Any leadership episode the old replica began after the pause in a term up to the new
      // leader's would be acting while deposed (it can only lead again in a later term).
      deposedActions += linesAfter(oldLines, 'guarded actions started', t0, (l) => (l['term'] as number) <= next.term).length;
      const firstNewMs = firstNew['firstMonoMs'] as number;
      if (lastOld >= firstNewMs) overlaps++;
      margins.push(firstNewMs - lastOld);
    }
  } catch (err) {
    group.markFailed();
    console.error(group.logReport(30));
    throw err;
  } finally {
    await group.shutdown();
  }
  const actingSummary = summarizeMs(acting);
  const pass = actingSummary.p99 <= TARGET_P99_MS && deposedActions === 0 && overlaps === 0;
  console.log(
    JSON.stringify({
      bench: 'failover-stop',
      scheduling: schedulingFromArgv(),
      replicas: 3,
      trials: acting.length,
      electedMs: summarizeMs(elected),
      actingMs: actingSummary,
      deposedLeaderActionsAfterPause: deposedActions,
      overlappingActions: overlaps,
      marginMs: summarizeMs(margins),
      targetP99Ms: TARGET_P99_MS,
      pass,
      loadavg: { before: load0, after: os.loadavg()[0] },
    }),
  );
  process.exitCode = pass ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(2);
});
