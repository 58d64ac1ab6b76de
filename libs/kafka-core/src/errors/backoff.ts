/**
 * Exponential backoff between delivery attempts, after Spring Kafka's
 * ExponentialBackOffWithMaxRetries, with jitter so partitions failing together do not retry in
 * lockstep against a recovering dependency.
 */
export interface BackoffOptions {
  /** Total deliveries including the first, like Spring's `maxAttempts`; 1 disables retries. */
  attempts: number;
  initialDelayMs: number;
  multiplier: number;
  /** Caps the delay before and after jitter. */
  maxDelayMs: number;
  /** Fraction in [0, 1]: each delay is scaled by a factor drawn uniformly from [1 - jitter, 1 + jitter]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  attempts: 3,
  initialDelayMs: 200,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 0.2,
};

/** Human-readable problems with the options; empty when they are usable. */
export function validateBackoff(o: BackoffOptions): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(o.attempts) || o.attempts < 1) {
    problems.push(`attempts must be an integer >= 1 (got ${o.attempts})`);
  }
  if (!(o.initialDelayMs >= 0) || !Number.isFinite(o.initialDelayMs)) {
    problems.push(`initialDelayMs must be a finite number >= 0 (got ${o.initialDelayMs})`);
  }
  if (!(o.maxDelayMs >= 0) || !Number.isFinite(o.maxDelayMs)) {
    problems.push(`maxDelayMs must be a finite number >= 0 (got ${o.maxDelayMs})`);
  } else if (o.maxDelayMs < o.initialDelayMs) {
    problems.push(
      `maxDelayMs must be >= initialDelayMs (got maxDelayMs ${o.maxDelayMs} < initialDelayMs ${o.initialDelayMs})`,
    );
  }
  if (!(o.multiplier >= 1) || !Number.isFinite(o.multiplier)) {
    problems.push(`multiplier must be a finite number >= 1 (got ${o.multiplier})`);
  }
  if (!(o.jitter >= 0 && o.jitter <= 1)) {
    problems.push(`jitter must be between 0 and 1 (got ${o.jitter})`);
  }
  return problems;
}

/**
 * Delay before attempt `failedAttempts + 1`, after `failedAttempts` (>= 1) failed attempts, or
 * undefined when no attempt is left. `random` returns a number in [0, 1), like Math.random.
 */
export function nextDelay(
  o: BackoffOptions,
  failedAttempts: number,
  random: () => number = Math.random,
): number | undefined {
  if (!Number.isInteger(failedAttempts) || failedAttempts < 1) {
    throw new RangeError(`failedAttempts must be an integer >= 1 (got ${failedAttempts})`);
  }
  if (failedAttempts >= o.attempts) return undefined;
  // Overflows to Infinity for large exponents, which the cap absorbs.
  const base = Math.min(o.maxDelayMs, o.initialDelayMs * o.multiplier ** (failedAttempts - 1));
  const factor = 1 - o.jitter + 2 * o.jitter * random();
  return Math.max(0, Math.round(Math.min(o.maxDelayMs, base * factor)));
}

/**
 * Delay before the next try of an infrastructure (transient) failure, after `failedAttempts` failed
 * attempts: the same exponential curve with jitter, capped, and never exhausted. Total for any count
 * (a count below 1 counts as 1), since the caller is already handling a failure.
 */
export function transientDelay(
  o: Omit<BackoffOptions, 'attempts'>,
  failedAttempts: number,
  random: () => number = Math.random,
): number {
  const n = Number.isFinite(failedAttempts) ? Math.max(1, Math.floor(failedAttempts)) : 1;
  // 0 × Infinity is NaN: with no initial delay the curve stays at 0 however long the outage.
  const grown = o.initialDelayMs === 0 ? 0 : o.initialDelayMs * o.multiplier ** (n - 1);
  const base = Math.min(o.maxDelayMs, grown);
  const factor = 1 - o.jitter + 2 * o.jitter * random();
  return Math.max(0, Math.round(Math.min(o.maxDelayMs, base * factor)));
}
