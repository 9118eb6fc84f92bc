/**
 * What every channel module produces: one HTTP request, as data. Channels are pure — they
 * turn (channel config, notification, who sends it, the time) into a URL, headers and a
 * JSON body. The notifier (src/alerting/notifier.ts) owns the network, retries, metrics
 * and logs, so the four channels share one delivery path and one set of rules.
 */
import type { Notification } from '../types';

/** The replica that sends, and its term: receivers can tell a deposed leader's page. */
export interface SentBy {
  readonly nodeId: string;
  readonly term: number;
}

export interface BuildContext {
  readonly sentBy: SentBy;
  /** Wall-clock time of the attempt (ms since the epoch); Alertmanager's endsAt uses it. */
  readonly nowMs: number;
}

/** One POST. The body is serialised with JSON.stringify as it is, field order included. */
export interface ChannelRequest {
  readonly url: string;
  /** Besides Content-Type and User-Agent, which the notifier sets unless these override them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** A channel module: its request, and the strings that must never reach a log. */
export interface ChannelModule<C> {
  build(channel: C, notification: Notification, ctx: BuildContext): ChannelRequest;
  /**
   * Credentials the config carries for this channel (routing keys, webhook paths, header
   * values). The notifier scrubs them from everything it logs or returns as a reason.
   */
  secrets(channel: C): readonly string[];
}
