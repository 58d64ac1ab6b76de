import { Logger } from '@nestjs/common';
import { NotificationChannel, OutgoingNotification } from './notification-channel';

/** The fallback channel: one log line per notification, for environments without a receiver. */
export class LogChannel implements NotificationChannel {
  readonly name = 'log';
  private readonly logger = new Logger('LogChannel');

  async send(notification: OutgoingNotification): Promise<void> {
    this.logger.log(
      `Notification ${notification.id} to ${notification.recipient} [${notification.priority}]: ${notification.subject}`,
    );
  }
}
