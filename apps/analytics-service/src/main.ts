import 'reflect-metadata';
import { runService } from '@app/platform';
import { AnalyticsServiceModule } from './analytics-service.module';

void runService('analytics-service', AnalyticsServiceModule);
