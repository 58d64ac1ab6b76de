import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { OperationLogEvent } from '@app/contracts';
import { KafkaPublisher } from '@app/kafka-core';
import { RecordOperationLogDto } from './record-operation-log.dto';

@Controller('operation-logs')
export class OperationLogsController {
  constructor(private readonly publisher: KafkaPublisher) {}

  /** Records an operation log event; 202 because the logging-service stores it asynchronously. */
  @Post()
  @HttpCode(202)
  async record(@Body() body: RecordOperationLogDto, @Headers('x-correlation-id') correlationId?: string) {
    // An instance, not a literal: the class's @EventContract supplies topic, type, version and key.
    const event = Object.assign(new OperationLogEvent(), {
      service: 'monolith',
      ...body,
      occurredAt: new Date(),
    });
    const sent = await this.publisher.publish(event, { correlationId: correlationId?.slice(0, 128) });
    return { eventId: sent.eventId, topic: sent.topic, partition: sent.partition, offset: sent.offset };
  }
}
