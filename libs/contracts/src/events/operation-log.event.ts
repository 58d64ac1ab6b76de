import { Type } from 'class-transformer';
import {
  IsDate,
  IsIn,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  Min,
} from 'class-validator';
import { EventContract } from '@app/kafka-core';
import { TOPICS } from '../topics';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** An operation log entry, published by any service to `logging-events`, keyed by operation. */
@EventContract<OperationLogEvent>({
  topic: TOPICS.loggingEvents,
  type: 'operation-log.recorded',
  version: 1,
  key: (event) => event.operation,
})
export class OperationLogEvent {
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  service: string;

  @IsIn(LOG_LEVELS)
  level: LogLevel;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  operation: string;

  @IsString()
  @MaxLength(2000)
  message: string;

  /** Domain details; `patientId`, `ward` and `painScore` here become analytics dimensions. */
  @IsOptional()
  @IsObject()
  context?: Record<string, unknown>;

  /** How long the operation took, for latency percentiles. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  durationMs?: number;

  @Type(() => Date)
  @IsDate()
  occurredAt: Date;
}
