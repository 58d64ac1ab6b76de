/**
 * Thrown by a batch listener to name the record that failed (Spring's BatchListenerFailedException):
 * records before `index` are done and committed, the one at `index` is retried or dead-lettered on
 * its own, the rest are delivered again after it. Retry and dead-letter rules apply to `cause`.
 */
export class BatchListenerFailedError extends Error {
  constructor(
    readonly index: number,
    cause: unknown,
  ) {
    super(`Record ${index} of the batch failed`, { cause });
    this.name = 'BatchListenerFailedError';
  }
}

/** The index a batch failure names, or undefined when the whole batch failed. */
export function failedIndex(error: unknown, size: number): number | undefined {
  if (!(error instanceof BatchListenerFailedError)) return undefined;
  return Number.isInteger(error.index) && error.index >= 0 && error.index < size ? error.index : undefined;
}
