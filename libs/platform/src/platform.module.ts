import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Database, DATABASE, DatabaseModule, SqlMigration } from '@app/database';
import { KafkaCoreModule, TopicDeclaration } from '@app/kafka-core';
import { schemaFor, ServiceConfig } from './config/service-config';
import { DatabaseHealthIndicator } from './health/database.health';
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
        topics: options.topics,
        replicationFactor: config.replicationFactor,
        database,
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
      ],
      controllers: [HealthController],
      providers: [DatabaseHealthIndicator],
      exports: [kafka],
    };
  }
}
