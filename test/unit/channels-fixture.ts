/**
 * Alerts, channels and a manual clock shared by the channel and notifier tests.
 * The lag alert is the one of the docs/design.md §4 webhook example.
 */
import type { Notification, Alert } from '../../src/alerting/types';
import { notificationId } from '../../src/alerting/types';
import { createLogger, type Logger } from '../../src/log';
import type { Clock } from '../../src/util/clock';

export const SENT_BY = { nodeId: 'vigil-2', term: 7 } as const;

export const LAG_FIRING: Alert = {
  key: 'local/ConsumerDeliveryLag/orders-svc/orders',
  alert: 'ConsumerDeliveryLag',
  status: 'firing',
  severity: 'critical',
  cluster: 'local',
  group: 'orders-svc',
  topic: 'orders',
  partitions: [0, 3],
  lagSeconds: 12.4,
  threshold: 10,
  cause: 'consumer',
  summary: 'orders-svc is 12.4 s behind on orders (threshold 10 s); brokers healthy',
  startsAt: '2026-11-26T10:00:00.000Z',
  endsAt: null,
};

export const LAG_RESOLVED: Alert = {
  ...LAG_FIRING,
  status: 'resolved',
  lagSeconds: 3.2,
  summary: 'orders-svc is 3.2 s behind on orders (below 8 s for 30 s); resolved',
  endsAt: '2026-11-26T10:05:00.000Z',
};

/** An alert without group, topic, partitions, lag, threshold or cause. */
export const BROKER_FIRING: Alert = {
  key: 'local/BrokerUnreachable/2',
  alert: 'BrokerUnreachable',
  status: 'firing',
  severity: 'warning',
  cluster: 'local',
  broker: 2,
  summary: 'broker 2 (127.0.0.1:9093) unreachable for 4 s: connection refused',
  startsAt: '2026-11-26T10:00:00.000Z',
  endsAt: null,
};

export function notification(alert: Alert, plan?: string): Notification {
  return plan === undefined ? { id: notificationId(alert), alert } : { id: notificationId(alert), alert, plan };
}

/** The wall time of the manual clock at monotonic 0 (5 s after LAG_FIRING started). */
export const WALL_START_MS = Date.parse('2026-11-26T10:00:05.000Z');

/**
 * A manual clock: `sleep` records the pause, advances the clock and returns at once, so
 * retry schedules run without real waiting.
 */
export function manualTime() {
  let monoMs = 0;
  const sleeps: number[] = [];
  const clock: Clock = { monotonicMs: () => monoMs, wallMs: () => WALL_START_MS + monoMs };
  return {
    clock,
    sleeps,
    sleep: async (ms: number): Promise<void> => {
      sleeps.push(ms);
      monoMs += ms;
    },
    advance(ms: number): void {
      monoMs += ms;
    },
  };
}

/** A debug-level logger whose JSON lines are kept in memory. */
export function captureLogs(): { logger: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const chunks: string[] = [];
  // pino calls write() synchronously with one JSON line: the lines are there when log.x() returns.
  const destination = {
    write(line: string): boolean {
      chunks.push(line);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const logger = createLogger({ level: 'debug', nodeId: 'vigil-2', destination });
  const text = (): string => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
