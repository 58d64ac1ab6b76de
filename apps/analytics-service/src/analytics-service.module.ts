import { DynamicModule, Module } from '@nestjs/common';
import { topicsOfService } from '@app/contracts';
import { PlatformModule, ServiceConfig } from '@app/platform';
import { AnalyticsFactListener } from './facts/analytics-fact.listener';
import { AnalyticsFactsRepository } from './facts/analytics-facts.repository';
import { ANALYTICS_MIGRATIONS } from './migrations';
import { AnalyticsController } from './queries/analytics.controller';
import { AnalyticsQueries } from './queries/analytics-queries';

@Module({})
export class AnalyticsServiceModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: AnalyticsServiceModule,
      imports: [
        PlatformModule.forService(config, {
          topics: topicsOfService('analytics-service'),
          migrations: ANALYTICS_MIGRATIONS,
        }),
      ],
      controllers: [AnalyticsController],
      providers: [AnalyticsFactsRepository, AnalyticsFactListener, AnalyticsQueries],
    };
  }
}
