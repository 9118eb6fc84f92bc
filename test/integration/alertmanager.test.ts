/**
 * A real Alertmanager (Debian prometheus-alertmanager) receives vigil's alerts through the
 * alertmanager channel and routes them (issue 4, docs/design.md §4 "Channels", §9 "Alertmanager is
 * a real receiver"): ConsumerDeliveryLag to one webhook receiver, everything else to
 * another, firing and then resolved (send_resolved), labels intact; a re-post keeps the
 * alert alive (later endsAt) without making it a new alert.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ALERTMANAGER_FIRING_TTL_MS, AlertmanagerRefresher, alertmanagerLabels } from '../../src/alerting/channels';
import { Notifier } from '../../src/alerting/notifier';
import { notificationId, type Alert } from '../../src/alerting/types';
import type { ChannelConfig } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { systemClock } from '../../src/util/clock';
import { withLogsOnFailure, type LogSource } from '../harness/failure';
import { freePort } from '../harness/ports';
import { spawnTracked, tailFile, type TrackedProcess } from '../harness/procs';
import { waitFor } from '../harness/wait';
import { startWebhookSink, type RecordedRequest, type WebhookSink } from '../harness/webhook-sink';

const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';
const SENT_BY = { nodeId: 'vigil-1', term: 3 };
/** Upper bounds for a loaded 2-core machine; group_wait/group_interval below are 200 ms / 1 s. */
const START_TIMEOUT_MS = 30_000;
const NOTIFY_TIMEOUT_MS = 20_000;

interface Alertmanager extends LogSource {
  readonly url: string;
  readonly proc: TrackedProcess;
  shutdown(): Promise<void>;
}

/**
 * Alertmanager on a free loopback port, clustering off, storage and config in a temp dir.
 * Routes alertname=ConsumerDeliveryLag to <sink>/am/lag and the rest to <sink>/am/other.
 */
async function startAlertmanager(sink: WebhookSink): Promise<Alertmanager> {
  if (!fs.existsSync(ALERTMANAGER_BIN)) {
    throw new Error(`${ALERTMANAGER_BIN} not found; install the Debian package prometheus-alertmanager (scripts/setup.sh)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-alertmanager-'));
  const port = await freePort();
  const configFile = path.join(dir, 'alertmanager.yml');
  const logFile = path.join(dir, 'alertmanager.log');
  fs.writeFileSync(
    configFile,
    [
      'route:',
      '  receiver: vigil-other',
      "  group_by: ['alertname', 'key']",
      '  group_wait: 200ms',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      '  routes:',
      '    - receiver: vigil-lag',
      '      matchers: [\'alertname="ConsumerDeliveryLag"\']',
      'receivers:',
      '  - name: vigil-lag',
      '    webhook_configs:',
      `      - url: "${sink.url('/am/lag')}"`,
      '        send_resolved: true',
      '  - name: vigil-other',
      '    webhook_configs:',
      `      - url: "${sink.url('/am/other')}"`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  );
  const proc = spawnTracked({
    name: `alertmanager :${port}`,
    command: ALERTMANAGER_BIN,
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=debug',
    ],
    logFile,
    cwd: dir,
  });
  let failed = false;
  const am: Alertmanager = {
    url: `http://127.0.0.1:${port}`,
    proc,
    logReport: (lines = 60) => `--- alertmanager :${port}: last ${lines} lines of ${logFile} ---\n${tailFile(logFile, lines)}`,
    markFailed() {
      failed = true;
    },
    async shutdown() {
      await proc.kill();
      if (failed) console.error(`alertmanager test: kept ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const exited = proc.exited.then((s) => {
      throw new Error(`alertmanager exited during start (${s.signal ?? `code ${s.code}`})\n${am.logReport(30)}`);
    });
    exited.catch(() => undefined);
    await Promise.race([
      waitFor(async () => (await fetch(`${am.url}/-/ready`)).ok, { timeoutMs: START_TIMEOUT_MS, what: `alertmanager on port ${port} to be ready` }),
      exited,
    ]);
  } catch (err) {
    am.markFailed();
    console.error(am.logReport(30));
    await am.shutdown();
    throw err;
  }
  return am;
}

/** Alertmanager's webhook body (version 4), the parts we check. */
interface AmWebhook {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; generatorURL: string }>;
}

function webhookOf(req: RecordedRequest | undefined): AmWebhook {
  assert.ok(req, 'a webhook arrived');
  return req.body as AmWebhook;
}

/** GET /api/v2/alerts (active, silenced and inhibited included). */
async function alertsIn(am: Alertmanager): Promise<Array<{ labels: Record<string, string>; startsAt: string; endsAt: string; status: { state: string } }>> {
  const res = await fetch(`${am.url}/api/v2/alerts`);
  assert.equal(res.status, 200);
  return (await res.json()) as Array<{ labels: Record<string, string>; startsAt: string; endsAt: string; status: { state: string } }>;
}

describe('alertmanager channel against a real Alertmanager', () => {
  let sink: WebhookSink;
  let am: Alertmanager;

  before(async () => {
    sink = await startWebhookSink();
    am = await startAlertmanager(sink);
  });
  after(async () => {
    await am?.shutdown();
    await sink?.close();
  });

  it('routes a ConsumerDeliveryLag alert to its receiver firing, keeps it alive on re-post, and sends resolved', () =>
    withLogsOnFailure(am, async () => {
      const metrics = createMetrics({ nodeId: SENT_BY.nodeId, cluster: 'it' });
      const notifier = new Notifier({ logger: silentLogger, metrics });
      const channel: ChannelConfig = { type: 'alertmanager', name: 'am', url: am.url, runbookUrl: 'http://127.0.0.1:9464/runbook' };

      const startsAt = new Date(Date.now() - 5_000).toISOString();
      const lag: Alert = {
        key: 'it/ConsumerDeliveryLag/orders-svc/orders',
        alert: 'ConsumerDeliveryLag',
        status: 'firing',
        severity: 'critical',
        cluster: 'it',
        group: 'orders-svc',
        topic: 'orders',
        partitions: [0, 3],
        lagSeconds: 12.4,
        threshold: 10,
        cause: 'consumer',
        summary: 'orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy',
        startsAt,
        endsAt: null,
      };
      const broker: Alert = {
        key: 'it/BrokerUnreachable/2',
        alert: 'BrokerUnreachable',
        status: 'firing',
        severity: 'warning',
        cluster: 'it',
        broker: 2,
        summary: 'broker 2 unreachable for 4 s: connection refused',
        startsAt,
        endsAt: null,
      };

      // Firing: each alert reaches the receiver its alertname routes to, labels intact.
      for (const alert of [lag, broker]) {
        const outcome = await notifier.deliver({ id: notificationId(alert), alert }, channel, SENT_BY);
        assert.equal(outcome.outcome, 'delivered', JSON.stringify(outcome));
      }
      const firing = webhookOf((await sink.waitForRequests(1, { path: '/am/lag', timeoutMs: NOTIFY_TIMEOUT_MS }))[0]);
      assert.equal(firing.receiver, 'vigil-lag');
      assert.equal(firing.status, 'firing');
      assert.equal(firing.alerts.length, 1);
      assert.deepEqual(firing.alerts[0]?.labels, alertmanagerLabels(lag));
      assert.deepEqual(firing.alerts[0]?.labels, {
        alertname: 'ConsumerDeliveryLag',
        cluster: 'it',
        severity: 'critical',
        key: 'it/ConsumerDeliveryLag/orders-svc/orders',
        group: 'orders-svc',
        topic: 'orders',
      });
      assert.equal(firing.alerts[0]?.annotations['summary'], lag.summary);
      assert.equal(firing.alerts[0]?.annotations['cause'], 'consumer');
      // the runbook entry survives Alertmanager: its Source link and the runbook_url annotation
      assert.equal(firing.alerts[0]?.generatorURL, 'http://127.0.0.1:9464/runbook#consumerdeliverylag-consumer');
      assert.equal(firing.alerts[0]?.annotations['runbook_url'], 'http://127.0.0.1:9464/runbook#consumerdeliverylag-consumer');
      assert.equal(Date.parse(firing.alerts[0]?.startsAt ?? ''), Date.parse(startsAt));

      const other = webhookOf((await sink.waitForRequests(1, { path: '/am/other', timeoutMs: NOTIFY_TIMEOUT_MS }))[0]);
      assert.equal(other.receiver, 'vigil-other');
      assert.deepEqual(other.alerts.map((a) => a.labels['alertname']), ['BrokerUnreachable']);
      assert.equal(other.alerts[0]?.labels['broker'], '2');

      // Re-post (what the leader does every resend interval): same alert, later endsAt.
      const before = (await alertsIn(am)).find((a) => a.labels['key'] === lag.key);
      assert.equal(before?.status.state, 'active');
      const refresher = new AlertmanagerRefresher(notifier, [channel], systemClock, { intervalMs: 1 });
      // endsAt is stamped from the wall clock in ms: make sure the re-post's stamp is later.
      const firstPostMs = Date.parse(before?.endsAt ?? '') - ALERTMANAGER_FIRING_TTL_MS;
      await waitFor(() => Date.now() > firstPostMs + 5, { timeoutMs: 1000, what: 'the wall clock to pass the first post' });
      const refreshed = await refresher.tick([lag], SENT_BY);
      assert.deepEqual(refreshed.map((r) => r.outcome.outcome), ['delivered']);
      const afterRefresh = (await alertsIn(am)).filter((a) => a.labels['key'] === lag.key);
      assert.equal(afterRefresh.length, 1, 'a re-post is the same alert to Alertmanager');
      assert.ok(Date.parse(afterRefresh[0]?.endsAt ?? '') > Date.parse(before?.endsAt ?? ''), 'the re-post extended endsAt');
      assert.equal(Date.parse(afterRefresh[0]?.startsAt ?? ''), Date.parse(startsAt));

      // Resolved: the real endsAt (now) resolves it; send_resolved brings a resolved webhook.
      refresher.forget(lag.key);
      const resolved: Alert = { ...lag, status: 'resolved', lagSeconds: 2, endsAt: new Date().toISOString() };
      assert.equal((await notifier.deliver({ id: notificationId(resolved), alert: resolved }, channel, SENT_BY)).outcome, 'delivered');
      const resolvedHook = await waitFor(
        () => sink.requests({ path: '/am/lag' }).map(webhookOf).find((w) => w.status === 'resolved'),
        { timeoutMs: NOTIFY_TIMEOUT_MS, what: 'a resolved webhook from Alertmanager on /am/lag' },
      );
      assert.equal(resolvedHook.alerts.length, 1);
      assert.equal(resolvedHook.alerts[0]?.status, 'resolved');
      assert.deepEqual(resolvedHook.alerts[0]?.labels, alertmanagerLabels(lag));
      assert.equal(Date.parse(resolvedHook.alerts[0]?.endsAt ?? ''), Date.parse(resolved.endsAt ?? ''));
      assert.equal(
        sink.requests({ path: '/am/lag' }).filter((r) => webhookOf(r).status === 'firing').length,
        1,
        'the re-post did not page again',
      );

      const counted = (await metrics.notifications.get()).values.find((v) => v.labels['channel'] === 'am' && v.labels['outcome'] === 'delivered');
      assert.equal(counted?.value, 4, 'two firing, one re-post, one resolved');
    }));
});
