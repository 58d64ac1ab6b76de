import { DynamicModule, Module } from '@nestjs/common';
import { topicsFor } from '@app/contracts';
import { PlatformModule, ServiceConfig } from '@app/platform';

@Module({})
export class NotificationServiceModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: NotificationServiceModule,
      imports: [
        PlatformModule.forService(config, { topics: topicsFor('escalation-events', 'notification-events') }),
      ],
    };
  }
}
