import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { Database, InjectDatabase } from '@app/database';
import { AuditStore } from './audit-store';

/** Why and under which correlation id a reader reads (from `x-purpose` and `x-correlation-id`). */
export interface ReadContext {
  purpose: string;
  correlationId: string | null;
}

export interface AuditRead {
  /** The route pattern, e.g. `GET /audit/streams/:streamId/events`. */
  route: string;
  streamId?: string;
  query: Record<string, unknown>;
  /** Set when the read concerns one patient. */
  patientId?: string | null;
}

/** Reading the audit trail is itself audited: one R event per answered query, per reader stream. */
@Injectable()
export class AuditAccessLog {
  constructor(
    @InjectDatabase() private readonly db: Database,
    private readonly store: AuditStore,
  ) {}

  static streamOf(reader: string): string {
    return `AuditAccess/${reader}`;
  }

  async record(reader: string, context: ReadContext, read: AuditRead): Promise<void> {
    await this.db.transaction((tx) =>
      this.store.append(tx, {
        eventId: uuidv7(),
        streamId: AuditAccessLog.streamOf(reader),
        eventType: 'audit.read',
        action: 'R',
        actor: reader,
        outcome: 'success',
        sourceService: 'logging-service',
        purpose: context.purpose,
        patientId: read.patientId ?? null,
        data: { route: read.route, ...(read.streamId ? { streamId: read.streamId } : {}), query: read.query },
        correlationId: context.correlationId,
        occurredAt: new Date(),
      }),
    );
  }
}
