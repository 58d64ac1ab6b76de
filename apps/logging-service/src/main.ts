import 'reflect-metadata';
import { runService } from '@app/platform';
import { LoggingServiceModule } from './logging-service.module';

void runService('logging-service', LoggingServiceModule);
