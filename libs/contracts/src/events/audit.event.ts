import { Type } from 'class-transformer';
import { IsDate, IsIn, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { EventContract } from '@app/kafka-core';
import { TOPICS } from '../topics';

export const AUDIT_ACTIONS = ['C', 'R', 'U', 'D', 'E'] as const;

/**
 * One audited action on one entity, modelled on FHIR AuditEvent: who (actor), what (action, event
 * type, entity stream), when, where (source service), outcome and why (purpose). Keyed by stream, so
 * one entity's events stay in order.
 */
@EventContract<AuditEvent>({
  topic: TOPICS.auditEvents,
  type: 'audit.recorded',
  version: 1,
  key: (e) => e.streamId,
})
export class AuditEvent {
  /** The audited entity, e.g. `Patient/42`. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  streamId: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  eventType: string;

  @IsIn(AUDIT_ACTIONS)
  action: (typeof AUDIT_ACTIONS)[number];

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  actor: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  outcome: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  sourceService: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  purpose?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  patientId?: string;

  /** The entity's changed fields (its state after a C, the changes after a U). */
  @IsObject()
  data: Record<string, unknown>;

  @Type(() => Date)
  @IsDate()
  occurredAt: Date;
}
