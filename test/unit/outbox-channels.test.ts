/**
 * Channels are independent (issue 8, defect 5): one black-holed receiver — a real loopback
 * server that accepts every request and never answers — must not delay another channel's
 * pages. The outbox with the real Notifier over real HTTP, on the in-memory StateStore.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Notifier } from '../../src/alerting/notifier';
import { Outbox } from '../../src/alerting/outbox';
import type { ChannelConfig } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { systemClock } from '../../src/util/clock';
import { sampleNotification } from '../contract/state-store.contract';
import { MemoryStateBackend } from '../fakes/memory-state';
import { waitFor } from '../harness/wait';
import { startWebhookSink } from '../harness/webhook-sink';

describe('Outbox channels do not share send slots (issue 8, defect 5)', () => {
  it('a black-holed channel does not delay a healthy one: the pager receives all 12 pages while the dead receiver holds its connections', async () => {
    const pager = await startWebhookSink();
    const blackHole = await startWebhookSink();
    blackHole.setDefaultResponse({ delayMs: 600_000 });
    const backend = new MemoryStateBackend();
    const store = backend.connect('local');
    const channels: ChannelConfig[] = [
      { type: 'webhook', name: 'slack-0', url: blackHole.url('/hook'), headers: {} },
      { type: 'webhook', name: 'pagerduty-1', url: pager.url('/hook'), headers: {} },
    ];
    const notifier = new Notifier({ logger: silentLogger, metrics: createMetrics({ nodeId: 'vigil-1', cluster: 'local' }) });
    const outbox = new Outbox({
      store,
      nodeId: 'vigil-1',
      channels: channels.map((c) => c.name),
      clock: systemClock,
      mayAct: (term) => term === 1,
      deliver: async (n, name, send) => {
        const channel = channels.find((c) => c.name === name) as ChannelConfig;
        return (await notifier.deliver(n, channel, { nodeId: 'vigil-1', term: send.term }, { beforeSend: send.beforeSend, signal: send.signal })).outcome;
      },
    });
    try {
      await waitFor(() => store.isUp(), { timeoutMs: 1000, what: 'the fake store to connect' });
      const pages = Array.from({ length: 12 }, (_, i) => sampleNotification(`local/BrokerUnreachable/${i}`));
      const draining = outbox.submit(1, pages);
      // Deadline below one attempt timeout (5 s): a shared slot would hold these pages
      // until the black hole's attempts time out, ~38 s with retries.
      const got = await pager.waitForRequests(12, { timeoutMs: 4_000 });
      assert.deepEqual(new Set(got.map((r) => (r.body as { key: string }).key)), new Set(pages.map((p) => p.alert.key)));
      assert.ok(blackHole.requests().length >= 1, 'the dead channel was tried meanwhile');
      const settled = async (): Promise<number> => {
        const entries = await Promise.all(pages.map((p) => store.readOutboxEntry(p.id)));
        return entries.filter((e) => e?.channels['pagerduty-1']?.state === 'delivered').length;
      };
      await waitFor(async () => (await settled()) === 12, { timeoutMs: 2_000, what: "the pager's deliveries to be settled" });
      // shutdown cancels the black hole's attempts: nothing was delivered there
      outbox.close();
      const report = await draining;
      assert.equal(report.items.filter((i) => i.channel === 'slack-0' && i.outcome === 'delivered').length, 0);
    } finally {
      outbox.close();
      await Promise.all([pager.close(), blackHole.close()]);
    }
  });
});
