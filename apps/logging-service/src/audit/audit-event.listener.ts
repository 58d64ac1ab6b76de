import { Injectable } from '@nestjs/common';
import { Database, InjectDatabase } from '@app/database';
import { AuditEvent, TOPICS } from '@app/contracts';
import { Ctx, ENVELOPE_HEADERS, KafkaContext, KafkaListener, Payload } from '@app/kafka-core';
import { AuditStore } from './audit-store';

@Injectable()
export class AuditEventListener {
  constructor(
    private readonly store: AuditStore,
    @InjectDatabase() private readonly db: Database,
  ) {}

  /**
   * Appends each audit event to its stream, once: the store keys on the event id, so a redelivery or
   * a replay of the topic (kept forever) finds the event already there. No inbox for that reason: its
   * rows would have to be kept forever too. Per-key order on the topic is per-stream order in the store.
   */
  @KafkaListener({
    id: 'audit-events',
    topics: [TOPICS.auditEvents],
    groupId: 'logging-service-audit',
    fromBeginning: true,
    payload: AuditEvent,
  })
  async onAuditEvent(@Payload() event: AuditEvent, @Ctx() context: KafkaContext) {
    const headers = context.headers;
    await this.db.transaction((tx) =>
      this.store.append(tx, {
        ...event,
        eventId: context.eventId,
        correlationId: headers[ENVELOPE_HEADERS.correlationId] ?? null,
        causationId: headers[ENVELOPE_HEADERS.causationId] ?? null,
      }),
    );
  }
}
