import { Type } from 'class-transformer';
import {
  IsDate,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { EventContract } from '@app/kafka-core';
import { TOPICS } from '../topics';

/**
 * One analytic fact the logging-service derived from an operation log: what happened (event type,
 * e.g. `assessment.recorded`), where and when, and the measures analytics aggregates (latency, pain
 * score, whether it was an escalation). Keyed by event type.
 */
@EventContract<AnalyticsFactEvent>({
  topic: TOPICS.analyticsEvents,
  type: 'analytics.fact',
  version: 1,
  key: (e) => e.eventType,
})
export class AnalyticsFactEvent {
  /** The operation the fact is about, e.g. `assessment.recorded`, `pain.escalated`. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  eventType: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  service: string;

  /** The operation log event the fact was derived from. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  sourceEventId: string;

  @IsOptional()
  @IsNumber()
  @Min(0)
  durationMs?: number;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  patientId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(50)
  ward?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10)
  painScore?: number;

  @Type(() => Date)
  @IsDate()
  occurredAt: Date;
}
