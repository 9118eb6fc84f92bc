/**
 * Keeps firing alerts alive in Alertmanager (see ./alertmanager for why): the leader calls
 * `tick` every reconcile cycle with the alerts firing after decide, and each firing alert is
 * re-posted to every alertmanager channel once it has not been posted for `intervalMs`.
 *
 * Re-posts are not pages: Alertmanager folds a re-post into the alert it already has
 * (same labels, same startsAt), so they need no outbox claim and may repeat. They are still
 * deliveries (counted in vigil_notifications_total) and still pass `beforeSend`, so a
 * deposed leader does not keep alerts alive. A new leader starts with an empty refresher:
 * everything firing is due at its first tick, which is what a failover needs.
 *
 * An alert whose failover summary changed since the last tick (a failover timeline entry
 * its incident caused was recorded while it fires, src/alerting/failover-match.ts) is due at
 * once on every channel: Alertmanager replaces the annotations of the alert it has, so the
 * open alert's summary is updated in place — no page, and nothing the outbox sends.
 *
 * Invariant: a re-post never re-fires a resolved alert. Only alerts in the latest `tick`
 * list are re-posted, and each attempt re-checks (in its beforeSend) that the alert is
 * still in that list with the same startsAt — call `tick` with the post-decide list, or
 * `forget(key)`, before delivering a resolve.
 */
import type { ChannelConfig } from '../../config/types';
import type { Clock } from '../../util/clock';
import type { BeforeSend, DeliveryOutcome, Notifier } from '../notifier';
import { notificationId, type Alert } from '../types';
import { ALERTMANAGER_RESEND_INTERVAL_MS } from './alertmanager';
import type { SentBy } from './types';
import { appendTo } from '../../util/multimap';

export interface RefreshResult {
  readonly channel: string;
  readonly key: string;
  readonly outcome: DeliveryOutcome;
}

export interface AlertmanagerRefresherOptions {
  /** Re-post period; keep it well under ALERTMANAGER_FIRING_TTL_MS (default: a quarter of it). */
  intervalMs?: number;
  /** After a failed re-post, the channel is left alone this long (default intervalMs / 4). */
  failurePauseMs?: number;
}

export class AlertmanagerRefresher {
  private readonly channels: readonly ChannelConfig[];
  private readonly intervalMs: number;
  private readonly failurePauseMs: number;
  /** key → the firing alert as of the last tick */
  private firing = new Map<string, Alert>();
  /** `${channel}\n${key}` → monotonic ms of the last post (or attempt) */
  private readonly lastPostMs = new Map<string, number>();
  /** channel → monotonic ms before which it is not tried again after a failure */
  private readonly pausedUntilMs = new Map<string, number>();
  private running = false;

  constructor(
    private readonly notifier: Notifier,
    channels: readonly ChannelConfig[],
    private readonly clock: Clock,
    opts: AlertmanagerRefresherOptions = {},
  ) {
    this.channels = channels.filter((c) => c.type === 'alertmanager');
    this.intervalMs = opts.intervalMs ?? ALERTMANAGER_RESEND_INTERVAL_MS;
    this.failurePauseMs = opts.failurePauseMs ?? Math.round(this.intervalMs / 4);
  }

  /**
   * A firing alert was just delivered to `channel` by the normal path: its next re-post is an
   * interval away — unless `failover` (what the delivered page said of failovers) is not what
   * the alert says now: that page was decided before the alert's failover summary changed
   * and may have replaced a newer re-post in Alertmanager, so a re-post is due at once.
   */
  notePosted(channel: string, alertKey: string, failover?: string): void {
    const now = this.firing.get(alertKey);
    if (now !== undefined && now.failover !== failover) this.lastPostMs.delete(slot(channel, alertKey));
    else this.lastPostMs.set(slot(channel, alertKey), this.clock.monotonicMs());
  }

  /** The alert resolved (or is otherwise no longer to be kept alive). */
  forget(alertKey: string): void {
    this.firing.delete(alertKey);
    for (const c of this.channels) this.lastPostMs.delete(slot(c.name, alertKey));
  }

  /** Leadership lost: nothing is ours to keep alive; a later term starts afresh. */
  reset(): void {
    this.firing.clear();
    this.lastPostMs.clear();
    this.pausedUntilMs.clear();
  }

  /** (channel, alert) pairs due for a re-post now, in the order of the last tick's list. */
  due(): Array<{ channel: ChannelConfig; alert: Alert }> {
    const nowMs = this.clock.monotonicMs();
    const out: Array<{ channel: ChannelConfig; alert: Alert }> = [];
    for (const channel of this.channels) {
      if ((this.pausedUntilMs.get(channel.name) ?? -Infinity) > nowMs) continue;
      for (const alert of this.firing.values()) {
        const last = this.lastPostMs.get(slot(channel.name, alert.key));
        if (last === undefined || nowMs - last >= this.intervalMs) out.push({ channel, alert });
      }
    }
    return out;
  }

  /**
   * Takes the alerts firing now and re-posts those that are due, one attempt each (a missed
   * re-post is simply due again later). Returns at once with [] while a previous tick is
   * still posting, so a slow Alertmanager never piles up requests. Never throws.
   */
  async tick(firing: readonly Alert[], sentBy: SentBy, beforeSend?: BeforeSend): Promise<RefreshResult[]> {
    const before = this.firing;
    this.firing = new Map(firing.filter((a) => a.status === 'firing').map((a) => [a.key, a]));
    for (const [key, alert] of this.firing) {
      const was = before.get(key);
      // a new failover summary: due now (before the running check, so a busy tick does not lose it)
      if (was !== undefined && was.startsAt === alert.startsAt && was.failover !== alert.failover) {
        for (const c of this.channels) this.lastPostMs.delete(slot(c.name, key));
      }
    }
    for (const key of [...this.lastPostMs.keys()]) {
      if (!this.firing.has(key.slice(key.indexOf('\n') + 1))) this.lastPostMs.delete(key);
    }
    if (this.running) return [];
    this.running = true;
    try {
      const byChannel = new Map<string, Alert[]>();
      const channelOf = new Map<string, ChannelConfig>();
      for (const { channel, alert } of this.due()) {
        channelOf.set(channel.name, channel);
        appendTo(byChannel, channel.name, alert);
      }
      // Channels in parallel (one slow Alertmanager does not hold up another); alerts of a
      // channel one after another, stopping at the first failure: the rest stay due.
      const perChannel = [...byChannel.entries()].map(async ([name, alerts]) => {
        const channel = channelOf.get(name) as ChannelConfig;
        const results: RefreshResult[] = [];
        for (const alert of alerts) {
          // The caller's check first: it may await (a lease check), and the alert may
          // resolve meanwhile; the firing check is then the last word before the POST.
          const stillFiring: BeforeSend = async (info) =>
            (beforeSend === undefined || (await beforeSend(info))) && this.firing.get(alert.key)?.startsAt === alert.startsAt;
          const outcome = await this.notifier.deliver({ id: notificationId(alert), alert }, channel, sentBy, {
            beforeSend: stillFiring,
            maxAttempts: 1,
          });
          results.push({ channel: name, key: alert.key, outcome });
          if (outcome.outcome === 'aborted') continue;
          const nowMs = this.clock.monotonicMs();
          if (outcome.outcome !== 'delivered') {
            // Not marked posted: after the pause this alert and the rest are due again.
            this.pausedUntilMs.set(name, nowMs + this.failurePauseMs);
            break;
          }
          if (this.firing.has(alert.key)) this.lastPostMs.set(slot(name, alert.key), nowMs);
        }
        return results;
      });
      return (await Promise.all(perChannel)).flat();
    } finally {
      this.running = false;
    }
  }
}

function slot(channel: string, alertKey: string): string {
  return `${channel}\n${alertKey}`;
}
