import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { EmrPatientRecord, EmrPatientUpdatedEvent } from '@app/contracts';
import { KafkaPublisher } from '@app/kafka-core';
import { Meta, RequestMeta } from '@app/platform';

@Controller('emr')
export class EmrController {
  constructor(private readonly publisher: KafkaPublisher) {}

  /**
   * Accepts one EMR update and publishes it to emr-sync-events; 202 because the listener applies it
   * (idempotently, by EMR version) once consumed. Nothing is written here, so no outbox is needed.
   * The body is validated by the contract's own record class, so the endpoint and the event agree.
   */
  @Post('patient-updates')
  @HttpCode(202)
  async accept(@Body() body: EmrPatientRecord, @Meta() meta: RequestMeta) {
    const event = Object.assign(new EmrPatientUpdatedEvent(), { ...body, receivedAt: new Date() });
    const sent = await this.publisher.publish(event, { correlationId: meta.correlationId });
    return { eventId: sent.eventId, partition: sent.partition, offset: sent.offset };
  }
}
