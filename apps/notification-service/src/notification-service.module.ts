import { DynamicModule, Module } from '@nestjs/common';
import { topicsOfService } from '@app/contracts';
import { PlatformModule, ServiceConfig } from '@app/platform';
import { ChannelRegistry } from './channels/channel-registry';
import { LogChannel } from './channels/log.channel';
import { NOTIFICATION_CHANNELS, NotificationChannel } from './channels/notification-channel';
import { WebhookChannel } from './channels/webhook.channel';
import { NOTIFICATION_MIGRATIONS } from './migrations';
import { NOTIFICATION_SETTINGS, readNotificationSettings } from './notification.settings';
import { EscalationListener, NotificationEventsListener } from './notifications/notification.listeners';
import { NotificationsController } from './notifications/notifications.controller';
import { NotificationsRepository } from './notifications/notifications.repository';
import { NotificationsService } from './notifications/notifications.service';

@Module({})
export class NotificationServiceModule {
  static register(config: ServiceConfig): DynamicModule {
    const settings = readNotificationSettings(config.env);
    const channels: NotificationChannel[] = [new LogChannel()];
    if (settings.webhookUrl) channels.push(new WebhookChannel(settings.webhookUrl));
    return {
      module: NotificationServiceModule,
      imports: [
        PlatformModule.forService(config, {
          topics: topicsOfService('notification-service'),
          migrations: NOTIFICATION_MIGRATIONS,
        }),
      ],
      controllers: [NotificationsController],
      providers: [
        { provide: NOTIFICATION_SETTINGS, useValue: settings },
        { provide: NOTIFICATION_CHANNELS, useValue: channels },
        ChannelRegistry,
        NotificationsRepository,
        NotificationsService,
        EscalationListener,
        NotificationEventsListener,
      ],
    };
  }
}
