import { AUDIT_ACTIONS, AuditEvent, LogLevel, OperationLogEvent } from '@app/contracts';

export const SERVICE_NAME = 'notification-service';
/** The actor of what the service does by itself (deadlines, deliveries). */
export const SYSTEM_ACTOR = SERVICE_NAME;

export interface AuditInput {
  streamId: string;
  eventType: string;
  action: (typeof AUDIT_ACTIONS)[number];
  actor: string;
  patientId?: string | null;
  data: Record<string, unknown>;
  occurredAt: Date;
}

export function auditEvent(input: AuditInput): AuditEvent {
  return Object.assign(new AuditEvent(), {
    streamId: input.streamId,
    eventType: input.eventType,
    action: input.action,
    actor: input.actor,
    outcome: 'success',
    sourceService: SERVICE_NAME,
    purpose: 'notification',
    ...(input.patientId ? { patientId: input.patientId } : {}),
    data: input.data,
    occurredAt: input.occurredAt,
  });
}

export interface LogInput {
  level?: LogLevel;
  operation: string;
  message: string;
  context: Record<string, unknown>;
  startedAt: number;
}

export function operationLog(input: LogInput): OperationLogEvent {
  // Absent dimensions are left out rather than sent as null.
  const context = Object.fromEntries(
    Object.entries(input.context).filter(([, value]) => value !== undefined && value !== null),
  );
  return Object.assign(new OperationLogEvent(), {
    service: SERVICE_NAME,
    level: input.level ?? 'info',
    operation: input.operation,
    message: input.message.slice(0, 2000),
    context,
    durationMs: Math.max(0, Date.now() - input.startedAt),
    occurredAt: new Date(),
  });
}

export const notificationStream = (id: string) => `Notification/${id}`;
export const escalationStream = (id: string) => `Escalation/${id}`;
