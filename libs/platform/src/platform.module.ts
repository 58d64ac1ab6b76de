import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { Database, DATABASE, DatabaseModule, SqlMigration } from '@app/database';
import { KafkaAdminController, KafkaCoreModule, TopicDeclaration } from '@app/kafka-core';
import { schemaFor, ServiceConfig } from './config/service-config';
import { DatabaseHealthIndicator } from './health/database.health';
import { EventLoopHealthIndicator } from './health/event-loop.health';
import { HealthController } from './health/health.controller';

export interface PlatformOptions {
  /** Topics the service produces or consumes; provisioned at startup. */
  topics: TopicDeclaration[];
  /** The service's own schema migrations. */
  migrations?: readonly SqlMigration[];
}

/** What every service shares: its database, kafka-core, and the health endpoints. */
@Module({})
export class PlatformModule {
  static forService(config: ServiceConfig, options: PlatformOptions): DynamicModule {
    // The database is kafka-core's too: its outbox relay and inbox tables live in the service's schema.
    const kafka = KafkaCoreModule.forRootAsync({
      inject: [DATABASE],
      useFactory: (database: Database) => ({
        brokers: config.kafkaBrokers,
        clientId: config.service,
        security: config.kafkaSecurity,
        topics: options.topics,
        replicationFactor: config.replicationFactor,
        database,
        admin: { token: config.adminToken },
      }),
    });
    return {
      module: PlatformModule,
      global: true,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        DatabaseModule.forRoot({
          url: config.databaseUrl,
          dataDir: config.pgliteDataDir,
          schema: schemaFor(config.service),
          migrations: options.migrations,
        }),
        kafka,
        PrometheusModule.register({
          path: '/metrics',
          // Process metrics exist once per process (tests boot several services in one).
          defaultMetrics: { enabled: register.getSingleMetric('process_cpu_seconds_total') === undefined },
        }),
      ],
      controllers: [HealthController, KafkaAdminController],
      providers: [DatabaseHealthIndicator, EventLoopHealthIndicator],
      exports: [kafka],
    };
  }
}
