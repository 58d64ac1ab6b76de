import { DynamicModule, Module } from '@nestjs/common';
import { topicsOfService } from '@app/contracts';
import { PlatformModule, ServiceConfig } from '@app/platform';
import { AssessmentsController } from './assessments/assessments.controller';
import { AssessmentsService } from './assessments/assessments.service';
import { EmrController } from './emr/emr.controller';
import { EmrSyncListener } from './emr/emr-sync.listener';
import { EmrSyncService } from './emr/emr-sync.service';
import { MONOLITH_MIGRATIONS } from './migrations';
import { MONOLITH_SETTINGS, readMonolithSettings } from './monolith.settings';
import { OperationLogsController } from './operation-logs/operation-logs.controller';
import { PatientsController } from './patients/patients.controller';
import { PatientsService } from './patients/patients.service';
import { ProtocolsController } from './protocols/protocols.controller';
import { ProtocolsService } from './protocols/protocols.service';

@Module({})
export class MonolithModule {
  static register(config: ServiceConfig): DynamicModule {
    // Read before anything starts, so a bad value stops the service with a sentence naming it.
    const settings = readMonolithSettings(config.env);
    return {
      module: MonolithModule,
      imports: [
        PlatformModule.forService(config, {
          topics: topicsOfService('monolith'),
          migrations: MONOLITH_MIGRATIONS,
        }),
      ],
      controllers: [
        OperationLogsController,
        PatientsController,
        AssessmentsController,
        ProtocolsController,
        EmrController,
      ],
      providers: [
        { provide: MONOLITH_SETTINGS, useValue: settings },
        PatientsService,
        AssessmentsService,
        ProtocolsService,
        EmrSyncService,
        EmrSyncListener,
      ],
    };
  }
}
