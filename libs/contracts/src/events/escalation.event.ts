import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsDate,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { EventContract } from '@app/kafka-core';
import { TOPICS } from '../topics';

export const ESCALATION_SEVERITIES = ['moderate', 'high', 'critical'] as const;
export type EscalationSeverity = (typeof ESCALATION_SEVERITIES)[number];

export const ESCALATION_REASONS = ['threshold', 'rise'] as const;
export type EscalationReason = (typeof ESCALATION_REASONS)[number];

/**
 * A pain assessment crossed the escalation rule: a score at or above the threshold, or a rise of at
 * least the configured size since the patient's previous assessment. One event per triggering
 * assessment; keyed by patient, so one patient's escalations stay in order.
 */
@EventContract<PainEscalationEvent>({
  topic: TOPICS.escalationEvents,
  type: 'pain.escalated',
  version: 1,
  key: (e) => e.patientId,
})
export class PainEscalationEvent {
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  escalationId: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  patientId: string;

  @IsOptional()
  @IsString()
  @MaxLength(50)
  ward?: string;

  @IsIn(ESCALATION_SEVERITIES)
  severity: EscalationSeverity;

  @IsArray()
  @ArrayMinSize(1)
  @IsIn(ESCALATION_REASONS, { each: true })
  reasons: EscalationReason[];

  @IsInt()
  @Min(0)
  @Max(10)
  score: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10)
  previousScore?: number;

  /** The assessments that triggered it: the new one, and the previous one for a rise. */
  @IsArray()
  @ArrayMinSize(1)
  @IsString({ each: true })
  assessmentIds: string[];

  @Type(() => Date)
  @IsDate()
  raisedAt: Date;
}
