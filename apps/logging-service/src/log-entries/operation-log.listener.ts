import { Injectable, Logger } from '@nestjs/common';
import { OperationLogEvent, TOPICS } from '@app/contracts';
import { SqlExecutor } from '@app/database';
import {
  Ctx,
  ENVELOPE_HEADERS,
  KafkaContext,
  KafkaListener,
  KafkaOutbox,
  Payload,
  Tx,
} from '@app/kafka-core';
import { analyticsFactFrom } from './analytics-fact';
import { LogEntriesRepository } from './log-entries.repository';

@Injectable()
export class OperationLogListener {
  private readonly logger = new Logger(OperationLogListener.name);

  constructor(
    private readonly entries: LogEntriesRepository,
    private readonly outbox: KafkaOutbox,
  ) {}

  /**
   * Invalid payloads never reach this method: kafka-core dead-letters them with the fields at fault.
   * The inbox hands over a transaction and skips events this group already handled; the analytics
   * fact is enqueued in that same transaction, so it is published iff the entry is stored.
   */
  @KafkaListener({
    id: 'operation-logs',
    topics: [TOPICS.loggingEvents],
    groupId: 'logging-service',
    fromBeginning: true,
    payload: OperationLogEvent,
    inbox: true,
  })
  async onOperationLog(
    @Payload() event: OperationLogEvent,
    @Ctx() context: KafkaContext,
    @Tx() tx: SqlExecutor,
  ): Promise<void> {
    const eventId = context.eventId;
    const stored = await this.entries.insert(
      event,
      {
        eventId,
        correlationId: context.headers[ENVELOPE_HEADERS.correlationId] ?? null,
        topic: context.topic,
        partition: context.partition,
        offset: context.offset,
      },
      tx,
    );
    // An entry already stored (the same event under another delivery) already had its fact.
    if (!stored) {
      this.logger.debug(`Event ${eventId} already stored; redelivery ignored`);
      return;
    }
    const fact = analyticsFactFrom(event, eventId);
    if (fact) await this.outbox.enqueue(tx, fact);
    else
      this.logger.warn(
        `No analytics fact for ${eventId.slice(0, 100)}…: its event id exceeds 100 characters`,
      );
  }
}
