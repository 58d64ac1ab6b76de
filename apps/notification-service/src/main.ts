import 'reflect-metadata';
import { runService } from '@app/platform';
import { NotificationServiceModule } from './notification-service.module';

void runService('notification-service', NotificationServiceModule);
