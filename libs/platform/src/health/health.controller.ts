import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import {
  KafkaBrokerHealthIndicator,
  KafkaLagHealthIndicator,
  KafkaListenersHealthIndicator,
  OutboxHealthIndicator,
} from '@app/kafka-core';
import { DatabaseHealthIndicator } from './database.health';
import { EventLoopHealthIndicator } from './event-loop.health';

/** Status only, everywhere: no broker addresses, error texts or stack traces in the bodies. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly kafka: KafkaBrokerHealthIndicator,
    private readonly listeners: KafkaListenersHealthIndicator,
    private readonly lag: KafkaLagHealthIndicator,
    private readonly outbox: OutboxHealthIndicator,
    private readonly database: DatabaseHealthIndicator,
    private readonly eventLoop: EventLoopHealthIndicator,
  ) {}

  /** The process is alive and its event loop is not blocked; orchestrators restart it when this fails. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.eventLoop.isHealthy('event-loop')]);
  }

  /** Ready for traffic: broker and database answer, listeners joined and none stuck. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.kafka.isHealthy('kafka'),
      () => this.database.isHealthy('database'),
      () => this.listeners.isHealthy('kafka-listeners'),
    ]);
  }

  /**
   * Everything, for people and dashboards: readiness plus consumer lag and the outbox. Lag and a
   * backlog are not reasons to stop taking HTTP traffic, so they stay out of readiness.
   */
  @Get()
  @HealthCheck()
  all() {
    return this.health.check([
      () => this.kafka.isHealthy('kafka'),
      () => this.database.isHealthy('database'),
      () => this.listeners.isHealthy('kafka-listeners'),
      () => this.lag.isHealthy('kafka-lag'),
      () => this.outbox.isHealthy('outbox'),
    ]);
  }
}
