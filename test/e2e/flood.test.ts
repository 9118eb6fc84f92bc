/**
 * A connection flood on the public port (issue 8, defect 9: with 200 held connections and
 * an open-files limit of 128, /healthz stopped answering for 25 s and the leader lost its
 * leadership). Real replica processes under `prlimit --nofile=128`; the flood is plain
 * TCP connections to the leader's node.listen that send nothing or half a request and
 * hold on. Asserted on behaviour with deadlines: /healthz keeps answering, no replica
 * changes term or leader, and the server itself cuts the held connections.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { withLogsOnFailure } from '../harness/failure';
import { startReplicas } from '../harness/replicas';
import { waitFor } from '../harness/wait';

const OPEN_FILES_LIMIT = 128;
const FLOOD = 300;

/** Opens `count` connections to port; resolves once each has connected or failed. */
async function flood(port: number, count: number): Promise<net.Socket[]> {
  const sockets = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      new Promise<net.Socket>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        s.resume(); // read what the server sends (a 408), so its close is seen here
        s.once('connect', () => {
          // A third send half a request (slowloris), the rest nothing at all.
          if (i % 3 === 0) s.write('GET /healthz HTTP/1.1\r\nHost: flood\r\n');
          resolve(s);
        });
        s.once('close', () => resolve(s));
      }),
    ),
  );
  return sockets;
}

describe('a connection flood on the public port (issue 8, defect 9)', () => {
  it('more held connections than file descriptors: /healthz keeps answering, the election never notices, the held connections are cut', async () => {
    const g = await startReplicas({ count: 3, name: 'e2e-flood', openFilesLimit: OPEN_FILES_LIMIT });
    const held: net.Socket[] = [];
    try {
      await withLogsOnFailure(g, async () => {
        const leader = await g.waitForLeader();
        await g.waitForConnected();
        const port = g.get(leader.nodeId).port;
        for (let wave = 0; wave < 2; wave++) {
          held.push(...(await flood(port, FLOOD)));
          for (let i = 0; i < 10; i++) {
            const r = await g.request(leader.nodeId, 'GET', '/healthz', { timeoutMs: 2000 });
            assert.equal(r.status, 200, `wave ${wave}, probe ${i}: /healthz answered ${r.status}`);
          }
          const statuses = await Promise.all(g.replicas.map((r) => g.status(r.id, 2000)));
          for (const s of statuses) {
            assert.equal(s.term, leader.term, `${s.nodeId} moved to term ${s.term} (was ${leader.term}) during the flood`);
            assert.equal(s.leaderId, leader.nodeId, `${s.nodeId} follows ${String(s.leaderId)} during the flood`);
          }
        }
        // Nothing sent a full request on the held connections: the server closes them
        // (evicted at the bound, or cut by the header timeout) without the client's help.
        await waitFor(() => held.every((s) => s.destroyed), {
          timeoutMs: 15_000,
          intervalMs: 100,
          what: 'the server to close every held connection',
        });
        const after = await g.waitForLeader({ timeoutMs: 2000 });
        assert.equal(after.term, leader.term);
        assert.equal(after.nodeId, leader.nodeId);
      });
    } finally {
      for (const s of held) s.destroy();
      await g.shutdown();
    }
  });
});
