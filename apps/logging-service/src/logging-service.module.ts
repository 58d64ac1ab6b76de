import { DynamicModule, Module } from '@nestjs/common';
import { topicsOfService } from '@app/contracts';
import { PlatformModule, ServiceConfig } from '@app/platform';
import { AuditAccessLog } from './audit/audit-access-log';
import { AuditEventListener } from './audit/audit-event.listener';
import { AuditReaderGuard } from './audit/audit-reader.guard';
import { AuditStore } from './audit/audit-store';
import { AuditController } from './audit/audit.controller';
import { LogEntriesController } from './log-entries/log-entries.controller';
import { LogEntriesRepository } from './log-entries/log-entries.repository';
import { OperationLogListener } from './log-entries/operation-log.listener';
import { LOGGING_SETTINGS, readLoggingSettings } from './logging.settings';
import { LOGGING_MIGRATIONS } from './migrations';

@Module({})
export class LoggingServiceModule {
  static register(config: ServiceConfig): DynamicModule {
    const settings = readLoggingSettings(config);
    return {
      module: LoggingServiceModule,
      imports: [
        PlatformModule.forService(config, {
          topics: topicsOfService('logging-service'),
          migrations: LOGGING_MIGRATIONS,
        }),
      ],
      controllers: [LogEntriesController, AuditController],
      providers: [
        { provide: LOGGING_SETTINGS, useValue: settings },
        LogEntriesRepository,
        OperationLogListener,
        AuditStore,
        AuditEventListener,
        AuditAccessLog,
        AuditReaderGuard,
      ],
    };
  }
}
