import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { EmrPatientUpdatedEvent } from '@app/contracts';
import { KafkaPublisher } from '@app/kafka-core';
import { Meta, RequestMeta } from '@app/platform';
import { EmrPatientUpdateDto } from './emr-update.dto';

@Controller('emr')
export class EmrController {
  constructor(private readonly publisher: KafkaPublisher) {}

  /**
   * Accepts one EMR update and publishes it to emr-sync-events; 202 because the listener applies it
   * (idempotently, by EMR version) once consumed. Nothing is written here, so no outbox is needed.
   */
  @Post('patient-updates')
  @HttpCode(202)
  async accept(@Body() body: EmrPatientUpdateDto, @Meta() meta: RequestMeta) {
    const event = Object.assign(new EmrPatientUpdatedEvent(), { ...body, receivedAt: new Date() });
    const sent = await this.publisher.publish(event, { correlationId: meta.correlationId });
    return { eventId: sent.eventId, partition: sent.partition, offset: sent.offset };
  }
}
