/**
 * One registry of vigil's errors. Every error a user can see has a stable code, says
 * whether retrying can help, and a message that names the problem and what to do next.
 * Messages are built here and nowhere else, so the CLI, the API and the logs agree.
 */

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_READ_FAILED'
  | 'USAGE'
  | 'KAFKA_UNREACHABLE'
  | 'KAFKA_REQUEST_FAILED'
  | 'KAFKA_AUTH_FAILED'
  | 'KAFKA_REQUEST_REFUSED'
  | 'KAFKA_API_UNSUPPORTED'
  // a Kafka mutation not sent because the sender no longer leads (remediation, docs/design.md §5.3)
  | 'LEASE_LOST'
  | 'KAFKA_RECORDS_MALFORMED'
  | 'KAFKA_RECORDS_UNSUPPORTED'
  | 'REDIS_UNAVAILABLE'
  | 'FENCED'
  | 'NOT_LEADER'
  | 'PEER_REJECTED'
  | 'STATE_PERSIST_FAILED'
  | 'INTERNAL';

export interface VigilErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  /** Structured context a person or a log query needs (never secrets). */
  context?: Record<string, unknown>;
}

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: VigilErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VigilError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.context = opts.context ?? {};
  }
}

export function isVigilError(err: unknown): err is VigilError {
  return err instanceof VigilError;
}

/** A short, single-line description of any thrown value, for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const msg = err.message.split('\n')[0] ?? '';
    return msg.length > 0 ? msg : err.name;
  }
  return String(err);
}
