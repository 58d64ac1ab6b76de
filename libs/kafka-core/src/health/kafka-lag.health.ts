import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { HEALTH_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';
import { ConsumerLagMonitor } from '../monitoring/consumer-lag';

export type LagLevel = 'ok' | 'warning' | 'critical';

export function lagLevel(lag: number, thresholds: { warning: number; critical: number }): LagLevel {
  if (lag >= thresholds.critical) return 'critical';
  if (lag >= thresholds.warning) return 'warning';
  return 'ok';
}

/**
 * Consumer lag per listener against thresholds (warning 1000, critical 5000 by default): a warning
 * is reported and stays up; critical is down.
 */
@Injectable()
export class KafkaLagHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly lag: ConsumerLagMonitor,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
  ) {}

  async isHealthy(key = 'kafka-lag') {
    const indicator = this.health.check(key);
    const thresholds = { ...HEALTH_DEFAULTS.lag, ...this.options.health?.lag };
    let lags;
    try {
      lags = await this.lag.lag();
    } catch {
      return indicator.down({ reason: 'unavailable' });
    }
    const listeners = Object.fromEntries(
      lags.map((l) => [l.listenerId, { lag: l.total, level: lagLevel(l.total, thresholds) }]),
    );
    const critical = Object.values(listeners).some((l) => l.level === 'critical');
    const details = { listeners, thresholds };
    return critical ? indicator.down(details) : indicator.up(details);
  }
}
