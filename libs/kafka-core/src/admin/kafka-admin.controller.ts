import { Controller, Get, Headers, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { KafkaListenerRegistry } from '../container/listener-registry';
import { ListenerStatus } from '../container/listener-status';
import { lagLevel } from '../health/kafka-lag.health';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { HEALTH_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';
import { ConsumerLagMonitor, ListenerLag } from '../monitoring/consumer-lag';
import { ProcessingRates } from '../monitoring/processing-rates';
import { AdminTokenGuard } from './admin-token.guard';

/** Operators' view of the listeners, and pause/resume, behind the admin token. */
@Controller('kafka')
@UseGuards(AdminTokenGuard)
export class KafkaAdminController {
  constructor(
    private readonly registry: KafkaListenerRegistry,
    private readonly lag: ConsumerLagMonitor,
    private readonly rates: ProcessingRates,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
  ) {}

  /** Every listener: state, assignment, lag, in-flight records, counters and rate. */
  @Get('listeners')
  async listeners() {
    const lags = await this.lagByListener();
    return this.registry.list().map((status) => this.view(status, lags.get(status.id)));
  }

  /** Lag per listener and partition, with the thresholds' verdict. */
  @Get('lag')
  async consumerLag() {
    const thresholds = { ...HEALTH_DEFAULTS.lag, ...this.options.health?.lag };
    const lags = await this.lag.lag();
    return {
      thresholds,
      total: lags.reduce((sum, l) => sum + l.total, 0),
      listeners: lags.map((l) => ({ ...l, level: lagLevel(l.total, thresholds) })),
    };
  }

  @Post('listeners/:id/pause')
  @HttpCode(200)
  pause(@Param('id') id: string, @Headers('x-actor') actor?: string) {
    this.registry.pause(id, operator(actor));
    return this.view(this.registry.status(id));
  }

  @Post('listeners/:id/resume')
  @HttpCode(200)
  resume(@Param('id') id: string, @Headers('x-actor') actor?: string) {
    this.registry.resume(id, operator(actor));
    return this.view(this.registry.status(id));
  }

  private async lagByListener(): Promise<Map<string, ListenerLag>> {
    // The listing stays useful while the broker is away; lag is then reported as unknown.
    const lags = await this.lag.lag().catch(() => [] as ListenerLag[]);
    return new Map(lags.map((l) => [l.listenerId, l]));
  }

  private view(status: ListenerStatus, lag?: ListenerLag) {
    return {
      id: status.id,
      groupId: status.groupId,
      topics: status.topics,
      state: status.state,
      assignment: status.assignment,
      lag: lag ? { total: lag.total, partitions: lag.partitions } : null,
      inFlight: status.inFlight,
      oldestInFlight: status.oldestInFlight ?? null,
      retrying: status.retrying ?? null,
      breaker: status.breaker ?? null,
      paused: status.paused ?? null,
      lastDeadLetterAt: status.lastDeadLetterAt ?? null,
      processingRate: Math.round(this.rates.rate(status.id) * 10) / 10,
      counters: status.counters,
    };
  }
}

/**
 * Who acted, for the log: the admin token proves the right, and the caller may name themselves
 * (`x-actor`, capped and stripped of anything but a plain name, since it is not proof of identity).
 */
function operator(actor: string | undefined): string {
  const name = actor?.replace(/[^\w.@-]+/g, '').slice(0, 64);
  return name ? `admin-token (${name})` : 'admin-token';
}
