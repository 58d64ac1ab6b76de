import { AnalyticsFactEvent, OperationLogEvent } from '@app/contracts';

/** Limits of AnalyticsFactEvent: a fact that breaks them would be refused by its consumers. */
const MAX_SOURCE_EVENT_ID = 100;
const MAX_PATIENT_ID = 100;
const MAX_WARD = 50;

const text = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' && value.trim() !== '' && value.length <= max ? value : undefined;

const painScore = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 10 ? value : undefined;

/**
 * The analytic fact an operation log stands for. Context values of the wrong type or out of range are
 * left out (a log is never refused for its free-form context); undefined when the log's id cannot
 * name the fact's source.
 */
export function analyticsFactFrom(log: OperationLogEvent, eventId: string): AnalyticsFactEvent | undefined {
  if (eventId.length > MAX_SOURCE_EVENT_ID) return undefined;
  const context = log.context ?? {};
  // Absent dimensions stay undefined, so they are left out of the payload rather than sent as null.
  const fact: Partial<AnalyticsFactEvent> = {
    eventType: log.operation,
    service: log.service,
    sourceEventId: eventId,
    durationMs: log.durationMs,
    patientId: text(context.patientId, MAX_PATIENT_ID),
    ward: text(context.ward, MAX_WARD),
    painScore: painScore(context.painScore),
    occurredAt: log.occurredAt,
  };
  return Object.assign(new AnalyticsFactEvent(), fact);
}
