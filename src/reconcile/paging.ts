/**
 * The paging actor (docs/design.md §1 act step 3, §4): hands decided notifications to the
 * outbox (claim → send → settle, each fenced by term in Redis, the lease re-checked before
 * every attempt) and keeps firing alerts alive in Alertmanager (the refresher, whose every
 * re-post passes `fence.mayAct()` first).
 */
import type { AlertmanagerRefresher } from '../alerting/channels/alertmanager-refresh';
import type { Outbox } from '../alerting/outbox';
import type { Notification } from '../alerting/types';
import { describeError } from '../errors';
import type { Logger } from '../log';
import type { Actor, Decision, Owed, TermFence } from './actor';

export interface PagingActorOptions {
  readonly outbox: Outbox;
  /** present when an alertmanager channel is configured */
  readonly refresher?: AlertmanagerRefresher;
  /** this replica's id: the `sentBy` of every re-post */
  readonly nodeId: string;
  readonly logger: Logger;
}

export class PagingActor implements Actor {
  private readonly submitting = new Set<Promise<unknown>>();

  constructor(private readonly opts: PagingActorOptions) {}

  takeOver(fence: TermFence, owed: Owed): void {
    this.submit(fence.term, owed.notifications);
  }

  act(fence: TermFence, decision: Decision): void {
    if (decision.notifications.length > 0) this.submit(fence.term, decision.notifications);
    const { refresher } = this.opts;
    if (refresher) {
      void refresher.tick(decision.firing, { nodeId: this.opts.nodeId, term: fence.term }, async () => fence.mayAct()).catch(() => undefined);
    }
  }

  reset(): void {
    this.opts.refresher?.reset();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.submitting]);
  }

  /** Hands notifications to the outbox without waiting for the receivers. */
  private submit(term: number, notifications: readonly Notification[]): void {
    const { outbox, refresher } = this.opts;
    const p = outbox
      .submit(term, notifications)
      .then((report) => {
        for (const item of report.items) {
          if (item.outcome === 'delivered' && refresher) {
            const n = notifications.find((x) => x.id === item.id);
            if (n && n.alert.status === 'firing') refresher.notePosted(item.channel, n.alert.key, n.alert.failover);
          }
        }
      })
      .catch((err) => this.opts.logger.error({ err: describeError(err) }, 'outbox submit failed'))
      .finally(() => this.submitting.delete(p));
    this.submitting.add(p);
  }
}
