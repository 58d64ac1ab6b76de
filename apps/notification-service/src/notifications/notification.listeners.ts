import { Injectable } from '@nestjs/common';
import {
  EscalationAckDueEvent,
  NotificationRequestedEvent,
  PainEscalationEvent,
  TOPICS,
} from '@app/contracts';
import { SqlExecutor } from '@app/database';
import {
  contractOf,
  Ctx,
  KafkaContext,
  KafkaHandler,
  KafkaListener,
  Payload,
  RetryOptions,
  Tx,
} from '@app/kafka-core';
import { WebhookDeliveryError } from '../channels/webhook.channel';
import { NotificationsService } from './notifications.service';

/**
 * A failing receiver is retried a few times quickly, then the record goes to the dead-letter topic:
 * retries block their partition, and other patients' escalations queue behind them. Delivery errors
 * are retryable even when caused by fetch's TypeError (which the classifier reads as a bug).
 */
export const DELIVERY_RETRY: RetryOptions = {
  attempts: 3,
  initialDelayMs: 200,
  multiplier: 2,
  maxDelayMs: 2_000,
  jitter: 0.2,
  retryable: [WebhookDeliveryError],
};

const typeOf = (eventClass: object) => contractOf(eventClass)?.type;

@Injectable()
export class EscalationListener {
  constructor(private readonly notifications: NotificationsService) {}

  /** The inbox skips redeliveries of a handled event, so one escalation event notifies once. */
  @KafkaListener({
    id: 'escalation-events',
    topics: [TOPICS.escalationEvents],
    groupId: 'notification-service',
    fromBeginning: true,
    payload: PainEscalationEvent,
    inbox: true,
    retry: DELIVERY_RETRY,
  })
  async onEscalation(
    @Payload() event: PainEscalationEvent,
    @Ctx() context: KafkaContext,
    @Tx() tx: SqlExecutor,
  ): Promise<void> {
    await this.notifications.openEscalation(event, context.eventId, tx);
  }
}

@Injectable()
@KafkaListener({
  id: 'notification-events',
  topics: [TOPICS.notificationEvents],
  groupId: 'notification-service-requests',
  fromBeginning: true,
  inbox: true,
  retry: DELIVERY_RETRY,
})
export class NotificationEventsListener {
  constructor(private readonly notifications: NotificationsService) {}

  @KafkaHandler({ eventType: typeOf(NotificationRequestedEvent), payload: NotificationRequestedEvent })
  async onRequested(
    @Payload() event: NotificationRequestedEvent,
    @Ctx() context: KafkaContext,
    @Tx() tx: SqlExecutor,
  ): Promise<void> {
    await this.notifications.request(event, context.eventId, tx);
  }

  @KafkaHandler({ eventType: typeOf(EscalationAckDueEvent), payload: EscalationAckDueEvent })
  async onAcknowledgementDue(
    @Payload() event: EscalationAckDueEvent,
    @Ctx() context: KafkaContext,
    @Tx() tx: SqlExecutor,
  ): Promise<void> {
    await this.notifications.acknowledgementDue(event, context.eventId, tx);
  }
}
