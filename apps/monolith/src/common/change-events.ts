import { AUDIT_ACTIONS, AuditEvent, LogLevel, OperationLogEvent } from '@app/contracts';
import { elapsedMs } from '@app/platform';

export const SERVICE_NAME = 'monolith';

export interface AuditInput {
  /** `<Entity>/<id>`, e.g. `Patient/<uuid>`. */
  streamId: string;
  eventType: string;
  action: (typeof AUDIT_ACTIONS)[number];
  actor: string;
  purpose: string;
  patientId?: string;
  /** The state after a C, the changed fields after a U. */
  data: Record<string, unknown>;
  outcome?: 'success' | 'failure';
}

export function auditEvent(input: AuditInput, occurredAt = new Date()): AuditEvent {
  return Object.assign(new AuditEvent(), {
    streamId: input.streamId,
    eventType: input.eventType,
    action: input.action,
    actor: input.actor,
    outcome: input.outcome ?? 'success',
    sourceService: SERVICE_NAME,
    purpose: input.purpose,
    patientId: input.patientId,
    data: input.data,
    occurredAt,
  });
}

export interface LogInput {
  /** Same name as the audit event type of the change, e.g. `assessment.recorded`. */
  operation: string;
  message: string;
  level?: LogLevel;
  /** `patientId`, `ward` and `painScore` become analytics dimensions; no names or other identifiers. */
  context: Record<string, unknown>;
  /** `performance.now()` when handling began. */
  startedAt: number;
}

export function operationLog(input: LogInput, occurredAt = new Date()): OperationLogEvent {
  return Object.assign(new OperationLogEvent(), {
    service: SERVICE_NAME,
    level: input.level ?? 'info',
    operation: input.operation,
    message: input.message,
    context: input.context,
    durationMs: elapsedMs(input.startedAt),
    occurredAt,
  });
}
