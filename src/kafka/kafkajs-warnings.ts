/**
 * kafkajs 2.2.4 (pinned; unmaintained upstream) hands setTimeout a negative delay in its
 * request queue (tulios/kafkajs#1751). Node clamps that to 1 ms, as it always has, but
 * since Node 24 it also prints a TimeoutNegativeWarning on stderr at the first Kafka
 * connection, which vigil's users would take for a fault. Installed once by the CLI, this
 * drops that warning when kafkajs caused it; every other warning still prints.
 */
export function silenceKafkajsNegativeTimeoutWarning(): void {
  const emit = process.emitWarning as (...args: unknown[]) => void;
  const filtered = (warning: unknown, ...rest: unknown[]): void => {
    const opt = rest[0];
    const type = typeof opt === 'string' ? opt : (opt as { type?: unknown } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning' && /[\\/]node_modules[\\/]kafkajs[\\/]/.test(new Error().stack ?? '')) return;
    emit.call(process, warning, ...rest);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
}
