/**
 * Delivers one notification to one channel (docs/design.md §4 "retries with backoff; delivery
 * outcome counted per channel"): builds the channel's request (pure, ./channels), POSTs it
 * with Node's fetch, retries what can succeed later, and reports the outcome as data.
 *
 *   delivered  a 2xx answer
 *   rejected   a 4xx other than 408/429 (or a redirect): the receiver refuses this request
 *              and will refuse it again — a config problem, never retried
 *   failed     every attempt failed (5xx, 408, 429, timeout, connection error); gave up
 *   aborted    `beforeSend` said no (the caller lost its lease) or the caller's signal fired
 *
 * `deliver` never throws and never sends after `beforeSend` declined: the caller (the
 * outbox, docs/design.md §4) re-checks its leader lease there immediately before each attempt, so
 * a deposed leader stops paging between two retries. Time and randomness are injected
 * (clock, sleep, random) so the retry schedule is tested on a manual clock.
 *
 * Secrets: routing keys, webhook URLs' paths and header values are scrubbed from every log
 * line and every reason string (receivers' error bodies and fetch errors can echo them).
 */
import type { ChannelConfig } from '../config/types';
import { redactUrl } from '../config/summary';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { systemClock, type Clock } from '../util/clock';
import { VERSION } from '../version';
import { buildRequest, channelSecrets, scrub, type SentBy } from './channels';
import type { Notification } from './types';

export type DeliveryOutcome =
  | { readonly outcome: 'delivered'; readonly attempts: number; readonly httpStatus: number }
  | { readonly outcome: 'rejected'; readonly attempts: number; readonly httpStatus: number; readonly reason: string }
  | { readonly outcome: 'failed'; readonly attempts: number; readonly reason: string }
  | { readonly outcome: 'aborted'; readonly attempts: number; readonly reason: string };

export type DeliveryOutcomeKind = DeliveryOutcome['outcome'];

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Pause before the 2nd attempt; each later pause is `multiplier` times the previous. */
  readonly initialDelayMs: number;
  readonly multiplier: number;
  /** Upper bound of one pause (before jitter). */
  readonly maxDelayMs: number;
  /**
   * Fraction of each pause that is random: the pause is uniform in
   * [base × (1 − jitter), base], so replicas and channels retrying together spread out.
   */
  readonly jitter: number;
  /** A 429/503 Retry-After is honoured up to this long; longer asks are capped. */
  readonly maxRetryAfterMs: number;
}

/**
 * Defaults: six attempts over about 4 s (0.25 + 0.5 + 1 + 1 + 1 s of pauses, less with
 * jitter); what still fails is left in the outbox, which keeps retrying across minutes and
 * failovers (src/alerting/outbox.ts). The pause is capped at 1 s so that a receiver that
 * comes back gets its page within about a second, not after a long backoff; a few attempts
 * a second per channel (the outbox probes a failing channel with one page at a time) do not
 * hammer a receiver that is down.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  initialDelayMs: 250,
  multiplier: 2,
  maxDelayMs: 1_000,
  jitter: 0.5,
  maxRetryAfterMs: 30_000,
};

/** A receiver that has not answered within this is treated as down for this attempt. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 5_000;

/** Receivers' error bodies are quoted in reasons up to this length. */
const MAX_REASON_BODY_CHARS = 300;

export interface AttemptInfo {
  readonly channel: string;
  readonly notificationId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

/** Called immediately before each HTTP attempt; false (or a throw) means: do not send. */
export type BeforeSend = (info: AttemptInfo) => Promise<boolean>;

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface NotifierOptions {
  logger: Logger;
  metrics: Pick<Metrics, 'notifications'>;
  /** wallMs stamps payloads (Alertmanager's endsAt); monotonicMs times attempts. */
  clock?: Clock;
  /** The pause between attempts; resolves early when the signal fires. */
  sleep?: Sleep;
  /** Uniform in [0, 1): jitter. */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  attemptTimeoutMs?: number;
  /** Default hook for every delivery; a deliver() option replaces it. */
  beforeSend?: BeforeSend;
}

export interface DeliverOptions {
  beforeSend?: BeforeSend;
  /** Fewer (or more) attempts for this delivery, e.g. 1 for Alertmanager refreshes. */
  maxAttempts?: number;
  /** Stops retrying (outcome aborted) and cancels the attempt in flight: shutdown. */
  signal?: AbortSignal;
}

/**
 * The pause before retry number `retry` (1 = before the 2nd attempt):
 * min(maxDelayMs, initialDelayMs × multiplier^(retry−1)) × (1 − jitter × random).
 */
export function backoffDelayMs(
  retry: number,
  policy: Pick<RetryPolicy, 'initialDelayMs' | 'multiplier' | 'maxDelayMs' | 'jitter'>,
  random: () => number,
): number {
  const baseMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (retry - 1));
  return Math.round(baseMs * (1 - policy.jitter * random()));
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const dateMs = Date.parse(text);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/** One attempt's result, before retry policy: what the answer means for the delivery. */
type AttemptResult =
  | { readonly kind: 'ok'; readonly httpStatus: number }
  | { readonly kind: 'retriable'; readonly reason: string; readonly retryAfterMs?: number }
  | { readonly kind: 'rejected'; readonly httpStatus: number; readonly reason: string };

/** 408 (timeout) and 429 (rate limit) say "later"; other 4xx say "never"; 5xx say "later". */
export function classifyStatus(httpStatus: number): 'ok' | 'retriable' | 'rejected' {
  if (httpStatus >= 200 && httpStatus < 300) return 'ok';
  if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) return 'retriable';
  return 'rejected';
}

export const defaultSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class Notifier {
  private readonly log: Logger;
  private readonly metrics: Pick<Metrics, 'notifications'>;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly policy: RetryPolicy;
  private readonly attemptTimeoutMs: number;
  private readonly beforeSend: BeforeSend | undefined;

  constructor(opts: NotifierOptions) {
    this.log = opts.logger.child({ component: 'notifier' });
    this.metrics = opts.metrics;
    this.clock = opts.clock ?? systemClock;
    this.sleep = opts.sleep ?? defaultSleep;
    this.random = opts.random ?? Math.random;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
    this.beforeSend = opts.beforeSend;
  }

  async deliver(notification: Notification, channel: ChannelConfig, sentBy: SentBy, opts: DeliverOptions = {}): Promise<DeliveryOutcome> {
    const outcome = await this.run(notification, channel, sentBy, opts);
    this.metrics.notifications.inc({ channel: channel.name, outcome: outcome.outcome });
    return outcome;
  }

  private async run(notification: Notification, channel: ChannelConfig, sentBy: SentBy, opts: DeliverOptions): Promise<DeliveryOutcome> {
    const secrets = channelSecrets(channel);
    const clean = (text: string): string => scrub(text, secrets);
    const target = redactUrl(channel.url);
    const log = this.log.child({
      channel: channel.name,
      channelType: channel.type,
      target,
      notificationId: clean(notification.id),
      alertKey: clean(notification.alert.key),
      alertStatus: notification.alert.status,
      // nodeId is bound by the root logger (src/log); the term changes, so it is bound here.
      term: sentBy.term,
    });
    const beforeSend = opts.beforeSend ?? this.beforeSend;
    const maxAttempts = Math.max(1, opts.maxAttempts ?? this.policy.maxAttempts);
    let lastReason = '';

    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (opts.signal?.aborted) {
        return this.aborted(log, attempt - 1, `stopped before attempt ${attempt}: the delivery was cancelled (shutdown)`);
      }
      if (beforeSend !== undefined) {
        let go: boolean;
        let why = 'beforeSend declined (this replica may no longer hold the leader lease)';
        try {
          go = await beforeSend({ channel: channel.name, notificationId: notification.id, attempt });
        } catch (err) {
          go = false;
          why = `beforeSend threw (${clean(errorText(err))}); not sending without a confirmed lease`;
        }
        if (!go) return this.aborted(log, attempt - 1, `stopped before attempt ${attempt}: ${why}`);
      }

      const startedMs = this.clock.monotonicMs();
      const result = await this.attempt(notification, channel, sentBy, clean, opts.signal);
      const durationMs = Math.round(this.clock.monotonicMs() - startedMs);

      switch (result.kind) {
        case 'ok':
          log.info({ attempt, httpStatus: result.httpStatus, durationMs }, 'notification delivered');
          return { outcome: 'delivered', attempts: attempt, httpStatus: result.httpStatus };
        case 'rejected': {
          const reason =
            `${result.reason}; the receiver refused the request and a retry would not help: ` +
            `check channel "${channel.name}" (url, credentials) under alerting.channels`;
          log.error({ attempt, httpStatus: result.httpStatus, durationMs, reason }, 'notification rejected; not retried');
          return { outcome: 'rejected', attempts: attempt, httpStatus: result.httpStatus, reason };
        }
        case 'retriable': {
          lastReason = result.reason;
          if (opts.signal?.aborted) {
            return this.aborted(log, attempt, `stopped after attempt ${attempt} (${result.reason}): the delivery was cancelled (shutdown)`);
          }
          if (attempt === maxAttempts) break;
          const backoffMs = backoffDelayMs(attempt, this.policy, this.random);
          const delayMs =
            result.retryAfterMs === undefined ? backoffMs : Math.max(backoffMs, Math.min(result.retryAfterMs, this.policy.maxRetryAfterMs));
          log.warn({ attempt, durationMs, reason: result.reason, retryInMs: delayMs }, 'notification attempt failed; retrying');
          await this.sleep(delayMs, opts.signal);
          break;
        }
        default: {
          const unreachable: never = result;
          throw new Error(`unhandled attempt result ${JSON.stringify(unreachable)}`);
        }
      }
    }

    const reason =
      `gave up after ${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'}; last: ${lastReason}; ` +
      `check that ${target} is reachable from this replica and healthy`;
    log.error({ attempts: maxAttempts, reason }, 'notification failed');
    return { outcome: 'failed', attempts: maxAttempts, reason };
  }

  private aborted(log: Logger, attempts: number, reason: string): DeliveryOutcome {
    log.warn({ attempts, reason }, 'notification aborted');
    return { outcome: 'aborted', attempts, reason };
  }

  /** One POST with its own timeout. Never throws: every failure is a result. */
  private async attempt(
    notification: Notification,
    channel: ChannelConfig,
    sentBy: SentBy,
    clean: (text: string) => string,
    signal: AbortSignal | undefined,
  ): Promise<AttemptResult> {
    const request = buildRequest(channel, notification, { sentBy, nowMs: this.clock.wallMs() });
    const headers = new Headers({ 'content-type': 'application/json', 'user-agent': `vigil/${VERSION}` });
    // set() replaces case-insensitively: a configured Content-Type wins instead of doubling up.
    for (const [name, value] of Object.entries(request.headers)) headers.set(name, value);
    const timeout = AbortSignal.timeout(this.attemptTimeoutMs);
    try {
      const response = await fetch(request.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(request.body),
        // A redirected POST would become a GET or land elsewhere: treat it as misconfiguration.
        redirect: 'manual',
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      });
      // Read the body (small for every receiver we know) so the connection can be reused,
      // and to quote it when the answer is an error.
      const text = await response.text().catch(() => '');
      const httpStatus = response.status;
      const quoted = oneLine(clean(text), MAX_REASON_BODY_CHARS);
      const what = `HTTP ${httpStatus}${quoted === '' ? '' : `: ${quoted}`}`;
      switch (classifyStatus(httpStatus)) {
        case 'ok':
          return { kind: 'ok', httpStatus };
        case 'rejected':
          return { kind: 'rejected', httpStatus, reason: httpStatus >= 300 && httpStatus < 400 ? `${what} (a redirect: configure the final URL)` : what };
        case 'retriable': {
          const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), this.clock.wallMs());
          return retryAfterMs === undefined ? { kind: 'retriable', reason: what } : { kind: 'retriable', reason: what, retryAfterMs };
        }
      }
    } catch (err) {
      if (timeout.aborted) return { kind: 'retriable', reason: `no answer within ${this.attemptTimeoutMs} ms (timed out)` };
      if (signal?.aborted) return { kind: 'retriable', reason: 'cancelled' };
      return { kind: 'retriable', reason: clean(errorText(err)) };
    }
  }
}

/** fetch() wraps the useful part ("connect ECONNREFUSED 127.0.0.1:9000") in err.cause. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `${err.message}: ${cause.message}${typeof code === 'string' && !cause.message.includes(code) ? ` (${code})` : ''}`;
  }
  return err.message;
}

function oneLine(text: string, maxChars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars)}…`;
}
