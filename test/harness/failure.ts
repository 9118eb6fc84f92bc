/**
 * Shows what the real servers were doing when a test fails. Wrap a test body:
 *
 *   it('moves leadership off a killed broker', () =>
 *     withLogsOnFailure([kafka, redis], async () => { ... }));
 *
 * On failure it prints each source's log tail to stderr (the test runner shows it beside
 * the failure), marks the sources failed so their logs survive shutdown, and rethrows.
 */

export interface LogSource {
  logReport(lines?: number): string;
  markFailed(): void;
}

export async function withLogsOnFailure<T>(
  sources: LogSource | ReadonlyArray<LogSource | undefined>,
  body: () => T | Promise<T>,
  lines = 80,
): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const list = Array.isArray(sources) ? sources : [sources as LogSource];
    for (const source of list) {
      if (!source) continue;
      source.markFailed();
      console.error(source.logReport(lines));
    }
    throw err;
  }
}
