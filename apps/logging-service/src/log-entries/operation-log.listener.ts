import { Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { OperationLogEvent, TOPICS } from '@app/contracts';
import { ConsumedRecord, ENVELOPE_HEADERS, KafkaListener } from '@app/kafka-core';
import { LogEntriesRepository } from './log-entries.repository';

@Injectable()
export class OperationLogListener {
  private readonly logger = new Logger(OperationLogListener.name);

  constructor(private readonly entries: LogEntriesRepository) {}

  @KafkaListener({
    id: 'operation-logs',
    topics: [TOPICS.loggingEvents],
    groupId: 'logging-service',
    fromBeginning: true,
  })
  async onOperationLog(payload: unknown, record: ConsumedRecord): Promise<void> {
    const event = plainToInstance(OperationLogEvent, payload);
    const errors = await validate(event);
    if (errors.length > 0) {
      throw new Error(`Invalid operation log: ${errors.map((e) => e.property).join(', ')}`);
    }
    const eventId = record.headers[ENVELOPE_HEADERS.eventId];
    if (!eventId) throw new Error('Record has no event-id header');
    const stored = await this.entries.insert(event, {
      eventId,
      correlationId: record.headers[ENVELOPE_HEADERS.correlationId] ?? null,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
    });
    if (!stored) this.logger.debug(`Event ${eventId} already stored; redelivery ignored`);
  }
}
