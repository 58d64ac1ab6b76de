// The listener examples of the README, kept here so `npm run typecheck` proves they compile.
import { Injectable } from '@nestjs/common';
import { IsIn, IsString } from 'class-validator';
import {
  Ack,
  Acknowledgment,
  Ctx,
  KafkaContext,
  KafkaHandler,
  KafkaHeaders,
  KafkaListener,
  NonRetryableError,
  Payload,
} from '@app/kafka-core';

export class OperationLog {
  @IsString() operation: string;
  @IsIn(['debug', 'info', 'warn', 'error']) level: string;
}

@Injectable()
export class OperationLogListener {
  @KafkaListener({
    id: 'operation-logs',
    topics: ['logging-events'],
    groupId: 'logging-service',
    payload: OperationLog, // JSON -> class-transformer -> class-validator; invalid -> dead-letter topic
    retry: { attempts: 5, initialDelayMs: 200, multiplier: 2, maxDelayMs: 10_000, jitter: 0.2 },
    concurrency: { keyOrdered: true, maxInFlight: 64 }, // parallel across keys, in order per key
  })
  async onLog(@Payload() log: OperationLog, @Ctx() ctx: KafkaContext) {
    // ctx.topic, ctx.partition, ctx.offset, ctx.timestamp, ctx.key, ctx.headers, ctx.attempt, ctx.heartbeat()
    void ctx;
    if (log.operation === 'forbidden') throw new NonRetryableError('never retried: straight to the DLQ');
  }

  @KafkaListener({ topics: ['audit-events'], groupId: 'audit-writer', ackMode: 'manual' })
  async onAudit(@Payload() event: unknown, @Ack() ack: Acknowledgment) {
    // acknowledge later, even out of order: commits only ever cover the contiguous finished prefix
    setTimeout(() => ack.acknowledge(), 10);
  }
}

export class PatientCreated {
  @IsString() patientId: string;
}

@Injectable()
@KafkaListener({ topics: ['patient-events'], groupId: 'chart' })
export class PatientEvents {
  @KafkaHandler({ eventType: 'patient.created', payload: PatientCreated })
  created(@Payload() event: PatientCreated) {
    void event;
  }

  @KafkaHandler({ isDefault: true }) // unknown types; without a default they are dead-lettered
  other(@Payload() event: unknown, @KafkaHeaders('event-type') type: string) {
    void [event, type];
  }
}
