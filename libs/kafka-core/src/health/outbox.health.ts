import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { HEALTH_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';
import { OutboxRelayService } from '../outbox/outbox-relay.service';

/**
 * The outbox: backlog and the age of its oldest row. A row older than `health.outbox.maxOldestAgeMs`
 * means events are not leaving (broker away, relay stuck): down. Parked rows are reported.
 */
@Injectable()
export class OutboxHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly outbox: OutboxRelayService,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
  ) {}

  async isHealthy(key = 'outbox') {
    const indicator = this.health.check(key);
    const backlog = this.outbox.backlog();
    if (!backlog) return indicator.up({ relay: 'disabled' });
    const maxOldestAgeMs =
      this.options.health?.outbox?.maxOldestAgeMs ?? HEALTH_DEFAULTS.outbox.maxOldestAgeMs;
    try {
      const { pending, oldestAgeMs, parked } = await backlog;
      const details = { pending, oldestAgeMs, parked, leader: this.outbox.counters()?.leader ?? false };
      return oldestAgeMs > maxOldestAgeMs ? indicator.down(details) : indicator.up(details);
    } catch {
      return indicator.down({ reason: 'unavailable' });
    }
  }
}
