/**
 * Fuzzing the peer envelope (docs/design.md §2 "peer authentication"; issue 8, fuzzers): random
 * bodies and mutations of valid signed envelopes, a few seconds each, seeded (the seed is
 * printed). Whatever arrives, verification never throws; a body whose MAC does not match
 * is always rejected; a correctly signed body is either rejected with a known reason or is
 * exactly a well-formed election message from a peer. Over a real transport on loopback,
 * every bad request is answered 4xx, counted in vigil_peer_messages_rejected_total and
 * never reaches the election; the transport keeps working afterwards.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { createSigner, hmacHex, NonceCache, SIGNATURE_HEADER, verifyEnvelope, type VerifyContext } from '../../src/election/transport/envelope';
import { HttpPeerTransport } from '../../src/election/transport/http';
import { REJECT_REASONS } from '../../src/election/transport/types';
import { parseMessage } from '../../src/election/messages';
import type { Message } from '../../src/election/types';
import { HttpServer } from '../../src/http/server';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { fuzzFor, fuzzRun, mutate, randomBuffer } from '../harness/fuzz';
import type { Rng } from '../sim/prng';

const SECRET = 'fuzz-secret-0123456789abcdef';
const BUDGET_MS = 2500;

function randomMessage(rng: Rng): Message {
  const term = rng.int(0, 1000);
  switch (rng.int(0, 4)) {
    case 0:
      return { type: 'vote-request', term, preVote: rng.chance(0.5), transfer: rng.chance(0.2) };
    case 1:
      return { type: 'vote-response', term, preVote: rng.chance(0.5), granted: rng.chance(0.5), voterTerm: term };
    case 2:
      return { type: 'heartbeat', term, sentMs: rng.uniform(0, 1e6) };
    default:
      return { type: 'heartbeat-response', term, sentMs: rng.uniform(0, 1e6) };
  }
}

describe('peer envelope fuzzing (issue 8)', () => {
  it('verifyEnvelope: random and mutated bodies never throw; a MAC mismatch is always rejected; a signed body is rejected with a known reason or is a well-formed message', async () => {
    const { rng } = fuzzRun('peer envelope (pure)');
    const nowMs = 1_800_000_000_000;
    const ctx: VerifyContext = { selfId: 'b', secret: SECRET, peerIds: new Set(['a', 'c']), maxClockSkewMs: 5000, nowWallMs: nowMs, nonces: new NonceCache(5000) };
    const signer = createSigner({ selfId: 'a', secret: SECRET, wallMs: () => nowMs });
    const reasons = new Set<string>(REJECT_REASONS);
    const seen = new Map<string, number>();
    const n = await fuzzFor(BUDGET_MS, 2000, () => {
      const kind = rng.chance(0.8) ? 'message' : 'stream';
      const original = signer.sign(kind, rng.chance(0.9) ? 'b' : 'c', kind === 'message' ? randomMessage(rng) : undefined);
      let body: Buffer;
      let signature: string | undefined;
      let mustReject: boolean;
      switch (rng.int(0, 4)) {
        case 0: // random bytes, random or no signature
          body = randomBuffer(rng, 400);
          signature = rng.chance(0.2) ? undefined : randomBuffer(rng, 32).toString('hex');
          mustReject = true;
          break;
        case 1: {
          // a mutated valid envelope under its original signature
          body = original.body;
          for (let k = rng.int(1, 4); k > 0; k--) body = mutate(rng, body);
          signature = original.signature;
          mustReject = !body.equals(original.body);
          break;
        }
        case 2: {
          // a mutated envelope signed with the right secret: the checks after the MAC
          body = original.body;
          for (let k = rng.int(1, 4); k > 0; k--) body = mutate(rng, body);
          signature = hmacHex(SECRET, body);
          mustReject = false;
          break;
        }
        default:
          // a mangled signature header on a valid body
          body = original.body;
          signature = mutate(rng, Buffer.from(original.signature)).toString('latin1');
          // Hex is case-insensitive: "AB" and "ab" are the same MAC bytes.
          mustReject = signature.toLowerCase() !== original.signature;
      }
      const v = verifyEnvelope(kind, body, signature, ctx);
      if (v.ok) {
        assert.ok(!mustReject, `accepted a body whose signature does not match: ${body.toString('latin1').slice(0, 200)}`);
        assert.ok(ctx.peerIds.has(v.from), `accepted sender ${v.from}`);
        if (kind === 'message') {
          const parsed = parseMessage((JSON.parse(body.toString('utf8')) as { message: unknown }).message);
          assert.deepEqual(v.message, parsed);
          assert.notEqual(v.message, null);
        }
      } else {
        assert.ok(reasons.has(v.reason), `unknown reason ${v.reason}`);
        seen.set(v.reason, (seen.get(v.reason) ?? 0) + 1);
      }
    });
    assert.ok(n >= 2000);
    // The fuzzer reaches past the MAC: parsing and shape checks were exercised too.
    assert.ok((seen.get('bad-signature') ?? 0) > 0 && (seen.get('malformed') ?? 0) > 0, `reasons seen: ${JSON.stringify([...seen])}`);
  });

  describe('over a real transport on loopback', () => {
    const server = new HttpServer({ logger: silentLogger, name: 'peer' });
    const metrics = createMetrics({ nodeId: 'b', cluster: 'fuzz' });
    const received: Message[] = [];
    const transport = new HttpPeerTransport({
      selfId: 'b',
      // The peers' own listeners are closed ports: only what the fuzzer sends arrives.
      peers: [
        { id: 'a', url: 'http://127.0.0.1:9', peerUrl: 'http://127.0.0.1:9' },
        { id: 'b', url: 'http://127.0.0.1:9', peerUrl: 'http://127.0.0.1:9' },
      ],
      secret: SECRET,
      maxClockSkewMs: 5000,
      server,
      metrics,
      logger: silentLogger,
      reconnectMinDelayMs: 1000,
      reconnectMaxDelayMs: 1000,
    });
    after(async () => {
      await transport.close();
      await server.close();
    });

    it('every random or mutated request is answered 4xx, counted and never reaches the election; a valid message still does afterwards', async () => {
      const { rng } = fuzzRun('peer envelope (transport)');
      transport.start({ onMessage: (_from, m) => received.push(m), onConnectionLost: () => undefined, onConnectionRestored: () => undefined });
      const port = (await server.listen('127.0.0.1', 0)).port;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      const post = (path: string, body: Buffer, headers: Record<string, string>): Promise<number> =>
        new Promise((resolve) => {
          const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-length': String(body.length), ...headers } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', () => resolve(0));
          req.end(body);
        });
      const rejectedTotal = async (): Promise<number> => (await metrics.peerMessagesRejected.get()).values.reduce((s, v) => s + v.value, 0);
      const before = await rejectedTotal();
      const signer = createSigner({ selfId: 'a', secret: SECRET, wallMs: () => Date.now() });
      const paths = ['/internal/message', '/internal/message', '/internal/stream', '/internal/nope'];
      let sent = 0;
      await fuzzFor(BUDGET_MS, 200, async () => {
        const batch: Array<Promise<number>> = [];
        for (let k = 0; k < 8; k++) {
          const path = rng.pick(paths);
          const kind = path === '/internal/stream' ? 'stream' : 'message';
          const original = signer.sign(kind, 'b', kind === 'message' ? randomMessage(rng) : undefined);
          let body = original.body;
          const headers: Record<string, string> = {};
          if (rng.chance(0.3)) body = randomBuffer(rng, 300);
          else {
            for (let m = rng.int(1, 4); m > 0; m--) body = mutate(rng, body);
            if (body.equals(original.body)) body = Buffer.concat([body, Buffer.from(' ')]);
          }
          if (rng.chance(0.9)) headers[SIGNATURE_HEADER] = rng.chance(0.7) ? original.signature : randomBuffer(rng, 40).toString('hex');
          batch.push(post(path, body, headers));
          sent++;
        }
        for (const status of await Promise.all(batch)) assert.ok(status >= 400 && status < 500, `answered ${status}`);
      });
      assert.equal(received.length, 0, `a fuzzed request reached the election: ${JSON.stringify(received[0])}`);
      assert.equal((await rejectedTotal()) - before, sent, 'every fuzzed request is counted as rejected');
      const good = signer.sign('message', 'b', { type: 'heartbeat', term: 1, sentMs: 1 });
      assert.equal(await post('/internal/message', good.body, { [SIGNATURE_HEADER]: good.signature }), 204);
      assert.deepEqual(received, [{ type: 'heartbeat', term: 1, sentMs: 1 }]);
      agent.destroy();
    });
  });
});
