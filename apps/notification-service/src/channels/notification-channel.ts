import { NonRetryableError } from '@app/kafka-core';

/** The list of configured channels (`NotificationChannel[]`). */
export const NOTIFICATION_CHANNELS = Symbol('NOTIFICATION_CHANNELS');

/** What a channel delivers: the stored notification, as the recipient's system sees it. */
export interface OutgoingNotification {
  /** Stable across retries of the same notification: receivers drop duplicates by it. */
  id: string;
  kind: 'escalation' | 'request';
  escalationId: string | null;
  level: number | null;
  recipient: string;
  subject: string;
  body: string;
  priority: string;
  patientId: string | null;
  sentAt: Date;
}

/**
 * One way of reaching a recipient. `send` resolves once the channel took the notification and
 * rejects when it did not (the record is then retried). Pager, SMS or e-mail gateways are further
 * implementations of this interface, added to the NOTIFICATION_CHANNELS list under their own name.
 */
export interface NotificationChannel {
  readonly name: string;
  send(notification: OutgoingNotification): Promise<void>;
}

/** A notification asked for a channel this service does not have: no retry can fix that. */
export class UnknownChannelError extends NonRetryableError {
  constructor(
    readonly channel: string,
    available: string[],
  ) {
    super(`Unknown notification channel "${channel}" (available: ${available.join(', ')})`);
    this.name = 'UnknownChannelError';
  }
}
