import { DynamicModule, Module } from '@nestjs/common';
import { topicsFor } from '@app/contracts';
import { PlatformModule, ServiceConfig } from '@app/platform';
import { OperationLogsController } from './operation-logs/operation-logs.controller';

@Module({})
export class MonolithModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: MonolithModule,
      imports: [
        PlatformModule.forService(config, {
          topics: topicsFor('logging-events', 'audit-events', 'escalation-events', 'emr-sync-events'),
        }),
      ],
      controllers: [OperationLogsController],
    };
  }
}
