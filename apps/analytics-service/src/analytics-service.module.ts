import { DynamicModule, Module } from '@nestjs/common';
import { topicsFor } from '@app/contracts';
import { PlatformModule, ServiceConfig } from '@app/platform';

@Module({})
export class AnalyticsServiceModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: AnalyticsServiceModule,
      imports: [PlatformModule.forService(config, { topics: topicsFor('analytics-events') })],
    };
  }
}
