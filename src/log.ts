import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  level?: string;
  nodeId?: string;
  /** Where JSON lines go; stderr by default so that CLI stdout stays machine-readable. */
  destination?: NodeJS.WritableStream;
}

/** The root logger. Components take `root.child({ component: 'election' })`. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const base = opts.nodeId ? { nodeId: opts.nodeId } : {};
  return pino(
    { level: opts.level ?? 'info', base, timestamp: pino.stdTimeFunctions.isoTime },
    (opts.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A logger that discards everything (tests, one-shot CLI commands). */
export const silentLogger: Logger = pino({ level: 'silent' });
