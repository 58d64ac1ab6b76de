import { Injectable, Logger } from '@nestjs/common';
import { OperationLogEvent, TOPICS } from '@app/contracts';
import {
  Ctx,
  ENVELOPE_HEADERS,
  KafkaContext,
  KafkaListener,
  NonRetryableError,
  Payload,
} from '@app/kafka-core';
import { LogEntriesRepository } from './log-entries.repository';

@Injectable()
export class OperationLogListener {
  private readonly logger = new Logger(OperationLogListener.name);

  constructor(private readonly entries: LogEntriesRepository) {}

  /** Invalid payloads never reach this method: kafka-core dead-letters them with the fields at fault. */
  @KafkaListener({
    id: 'operation-logs',
    topics: [TOPICS.loggingEvents],
    groupId: 'logging-service',
    fromBeginning: true,
    payload: OperationLogEvent,
  })
  async onOperationLog(@Payload() event: OperationLogEvent, @Ctx() context: KafkaContext): Promise<void> {
    const eventId = context.headers[ENVELOPE_HEADERS.eventId];
    if (!eventId) throw new NonRetryableError('Record has no event-id header');
    const stored = await this.entries.insert(event, {
      eventId,
      correlationId: context.headers[ENVELOPE_HEADERS.correlationId] ?? null,
      topic: context.topic,
      partition: context.partition,
      offset: context.offset,
    });
    if (!stored) this.logger.debug(`Event ${eventId} already stored; redelivery ignored`);
  }
}
