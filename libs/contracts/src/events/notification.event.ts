import { Type } from 'class-transformer';
import { IsDate, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { EventContract } from '@app/kafka-core';
import { TOPICS } from '../topics';

export const NOTIFICATION_PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type NotificationPriority = (typeof NOTIFICATION_PRIORITIES)[number];

/** Any service asks for a notification to be sent; keyed by recipient. */
@EventContract<NotificationRequestedEvent>({
  topic: TOPICS.notificationEvents,
  type: 'notification.requested',
  version: 1,
  key: (e) => e.recipient,
})
export class NotificationRequestedEvent {
  /** Who to notify: a person, a role or an on-call rota, e.g. `ward-3B-charge-nurse`. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  recipient: string;

  /** A channel name; absent: the service's default channel. */
  @IsOptional()
  @IsString()
  @MaxLength(50)
  channel?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  subject: string;

  @IsString()
  @MaxLength(2000)
  body: string;

  @IsIn(NOTIFICATION_PRIORITIES)
  priority: NotificationPriority;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  patientId?: string;
}

/**
 * The acknowledgment deadline of an escalation's notification at one level: scheduled through the
 * outbox when the notification is sent, so it fires even if the process that scheduled it is gone.
 * Unacknowledged by then, the escalation moves to the next level.
 */
@EventContract<EscalationAckDueEvent>({
  topic: TOPICS.notificationEvents,
  type: 'escalation.acknowledgement-due',
  version: 1,
  key: (e) => e.escalationId,
})
export class EscalationAckDueEvent {
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  escalationId: string;

  @IsInt()
  @Min(1)
  @Max(10)
  level: number;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  notificationId: string;

  @Type(() => Date)
  @IsDate()
  dueAt: Date;
}
