import { DynamicModule, Module } from '@nestjs/common';
import { topicsFor } from '@app/contracts';
import { PlatformModule, ServiceConfig } from '@app/platform';
import { AuditEventListener } from './audit/audit-event.listener';
import { AuditStore } from './audit/audit-store';
import { LogEntriesController } from './log-entries/log-entries.controller';
import { LogEntriesRepository } from './log-entries/log-entries.repository';
import { OperationLogListener } from './log-entries/operation-log.listener';
import { LOGGING_MIGRATIONS } from './migrations';

@Module({})
export class LoggingServiceModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: LoggingServiceModule,
      imports: [
        PlatformModule.forService(config, {
          topics: topicsFor('logging-events', 'audit-events', 'analytics-events'),
          migrations: LOGGING_MIGRATIONS,
        }),
      ],
      controllers: [LogEntriesController],
      providers: [LogEntriesRepository, OperationLogListener, AuditStore, AuditEventListener],
    };
  }
}
