import type { FailureRate } from '../discovery/listener-definition';
import type { BreakerState } from './listener-status';

export interface BreakerSettings {
  consecutiveFailures: number;
  failureRate?: FailureRate;
  openMs: number;
}

/**
 * A circuit breaker over transient failures (a dependency down), after Resilience4j's: closed
 * counts failures in a row and the failure rate over a time window; past a threshold it opens for
 * `openMs`; then one delivery probes (half-open): success closes it, failure opens it again. Pure:
 * the container turns its transitions into pauses.
 */
export class CircuitBreaker {
  state: BreakerState = 'closed';
  since: number;
  consecutiveFailures = 0;
  private probing = false;
  private calls: { at: number; failed: boolean }[] = [];

  constructor(
    private readonly settings: BreakerSettings,
    private readonly clock: () => number = Date.now,
  ) {
    this.since = clock();
  }

  /**
   * Whether a delivery may run now; in half-open only one (the probe) at a time. Moves open to
   * half-open once the cool-down has passed.
   */
  tryAcquire(): boolean {
    if (this.state === 'open') {
      if (this.clock() - this.since < this.settings.openMs) return false;
      this.transition('half-open');
    }
    if (this.state === 'half-open') {
      if (this.probing) return false;
      this.probing = true;
    }
    return true;
  }

  view(): { state: BreakerState; since: number; consecutiveFailures: number } {
    return { state: this.state, since: this.since, consecutiveFailures: this.consecutiveFailures };
  }

  /** Time left before a probe may run (0 when closed or the cool-down passed). */
  remainingOpenMs(): number {
    return this.state === 'open' ? Math.max(0, this.settings.openMs - (this.clock() - this.since)) : 0;
  }

  onSuccess(): void {
    this.probing = false;
    this.consecutiveFailures = 0;
    this.record(false);
    if (this.state !== 'closed') this.transition('closed');
  }

  /** A transient failure; returns true when it opened the breaker. */
  onFailure(): boolean {
    this.probing = false;
    this.consecutiveFailures++;
    this.record(true);
    if (this.state === 'half-open' || (this.state === 'closed' && this.tripped())) {
      this.transition('open');
      return true;
    }
    return false;
  }

  /** A delivery that ended neither way (a business failure, a nack): frees the probe slot. */
  onNeutral(): void {
    this.probing = false;
  }

  private tripped(): boolean {
    if (this.consecutiveFailures >= this.settings.consecutiveFailures) return true;
    const rate = this.settings.failureRate;
    if (!rate || this.calls.length < rate.minCalls) return false;
    const failed = this.calls.filter((c) => c.failed).length;
    return failed / this.calls.length >= rate.threshold;
  }

  private record(failed: boolean): void {
    const rate = this.settings.failureRate;
    if (!rate) return;
    const now = this.clock();
    this.calls.push({ at: now, failed });
    const from = now - rate.windowMs;
    while (this.calls.length > 0 && this.calls[0].at < from) this.calls.shift();
  }

  private transition(state: BreakerState): void {
    this.state = state;
    this.since = this.clock();
    if (state === 'closed') this.calls = [];
  }
}
