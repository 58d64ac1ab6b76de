import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { KafkaBrokerHealthIndicator } from '@app/kafka-core';
import { DatabaseHealthIndicator } from './database.health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly kafka: KafkaBrokerHealthIndicator,
    private readonly database: DatabaseHealthIndicator,
  ) {}

  /** The process answers; orchestrators restart it when this fails. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Ready for traffic: its broker and its database answer. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.kafka.isHealthy('kafka'),
      () => this.database.isHealthy('database'),
    ]);
  }
}
