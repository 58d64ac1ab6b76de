import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Longest event-loop stall since the previous probe that still counts as alive. */
export const MAX_EVENT_LOOP_DELAY_MS = 5_000;

/**
 * Liveness: the event loop is not blocked. A probe answered at all proves the loop runs now; the
 * histogram tells whether it stalled for long since the previous probe (a busy loop that answers
 * late is as bad as a dead one for an orchestrator).
 */
@Injectable()
export class EventLoopHealthIndicator implements OnModuleDestroy {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });

  constructor(private readonly health: HealthIndicatorService) {
    this.delay.enable();
  }

  isHealthy(key = 'event-loop', maxDelayMs = MAX_EVENT_LOOP_DELAY_MS) {
    const indicator = this.health.check(key);
    // Nanoseconds; max since the last reset, so one stall is reported once.
    const maxMs = Math.round(this.delay.max / 1e6);
    const p99Ms = Math.round(this.delay.percentile(99) / 1e6);
    this.delay.reset();
    const details = { maxDelayMs: maxMs, p99DelayMs: p99Ms };
    return maxMs > maxDelayMs ? indicator.down(details) : indicator.up(details);
  }

  onModuleDestroy(): void {
    this.delay.disable();
  }
}
