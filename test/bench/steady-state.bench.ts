/**
 * docs/design.md §10 "leader changes in 10 min steady state, CPU saturated: 0".
 *
 *   npm run build && node scripts/run-bench.js steady-state          (10 minutes)
 *   node dist/test/bench/steady-state.bench.js [--minutes 10] [--burners 2] [--rt 1 | --nice -10]
 *
 * `--rt 1` starts the replicas under SCHED_RR priority 1 (`chrt -r 1`), `--nice N` under
 * nice N; the default is the ordinary scheduling class at nice 0, like the burners.
 * Three replicas with default timings elect a leader; then `--burners` busy-loop
 * processes (one per core by default) saturate the CPUs for the whole run, at the same
 * priority as the replicas. Every second the benchmark reads each replica's status; at
 * the end it counts, from the replicas' logs, role changes and leader changes
 * ("leader is now known" after the first) since the burners started. It also reports the
 * largest "last contact" a replica reported for a peer (how close a heartbeat gap came to
 * the 400 ms election timeout) and the load average. Prints one JSON line; exit 0 when
 * there were 0 leader changes.
 */
import * as os from 'node:os';
import path from 'node:path';
import { spawnTracked, type TrackedProcess } from '../harness/procs';
import { hostMonotonicMs, linesAfter, schedulingFromArgv, startReplicas } from '../harness/replicas';
import { arg } from './util';


async function main(): Promise<void> {
  const minutes = arg('minutes', 10);
  const burnerCount = arg('burners', os.cpus().length);
  const scheduling = schedulingFromArgv();
  const group = await startReplicas({ count: 3, name: 'bench-steady', ...scheduling });
  const burners: TrackedProcess[] = [];
  let leaderChanges = 0;
  let roleChanges = 0;
  let maxLastContactSeconds = 0;
  let statusFailures = 0;
  const loads: number[] = [];
  let leaderId = '';
  let term = 0;
  try {
    const leader = await group.waitForLeader({ timeoutMs: 30_000 });
    await group.waitForConnected();
    leaderId = leader.nodeId;
    term = leader.term;
    for (let i = 0; i < burnerCount; i++) {
      burners.push(
        spawnTracked({ name: `burner ${i}`, command: process.execPath, args: ['-e', 'for (;;) {}'], logFile: path.join(group.dir, `burner-${i}.log`) }),
      );
    }
    const t0 = hostMonotonicMs();
    const endMs = t0 + minutes * 60_000;
    while (hostMonotonicMs() < endMs) {
      await new Promise((r) => setTimeout(r, 1000));
      loads.push(os.loadavg()[0] as number);
      for (const r of group.replicas) {
        try {
          const s = await group.status(r.id, 5000);
          // Followers do not talk to each other: only the leader's view of its followers
          // and a follower's view of its leader say how late a heartbeat round came.
          for (const p of s.peers) {
            if (s.role !== 'leader' && p.id !== s.leaderId) continue;
            if (p.lastContactSeconds !== null && p.lastContactSeconds > maxLastContactSeconds) maxLastContactSeconds = p.lastContactSeconds;
          }
        } catch {
          statusFailures++;
        }
      }
    }
    for (const r of group.replicas) {
      const lines = group.logLines(r.id);
      roleChanges += linesAfter(lines, 'role change', t0).length;
      leaderChanges = Math.max(leaderChanges, lines.filter((l) => l['msg'] === 'leader is now known' && l['previous'] !== null && typeof l['time'] === 'string').filter((l) => Date.parse(l['time'] as string) >= Date.now() - (hostMonotonicMs() - t0)).length);
    }
    const final = await group.waitForLeader({ timeoutMs: 30_000 });
    if (final.nodeId !== leaderId || final.term !== term) leaderChanges = Math.max(leaderChanges, 1);
  } finally {
    await Promise.all(burners.map((b) => b.kill()));
    await group.shutdown();
  }
  const pass = leaderChanges === 0 && roleChanges === 0;
  console.log(
    JSON.stringify({
      bench: 'steady-state',
      replicas: 3,
      minutes,
      burners: burnerCount,
      replicaScheduling: scheduling.rtPriority !== undefined ? `SCHED_RR ${scheduling.rtPriority}` : `nice ${scheduling.nice ?? 0}`,
      leaderChanges,
      roleChanges,
      maxPeerLastContactSeconds: Math.round(maxLastContactSeconds * 1000) / 1000,
      statusFailures,
      loadavg: { min: Math.min(...loads), max: Math.max(...loads), mean: Math.round((loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length)) * 10) / 10 },
      target: 0,
      pass,
    }),
  );
  process.exitCode = pass ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(2);
});
