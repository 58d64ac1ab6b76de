import { Injectable } from '@nestjs/common';
import { SqlExecutor } from '@app/database';
import { AuditEvent, TOPICS } from '@app/contracts';
import { Ctx, ENVELOPE_HEADERS, KafkaContext, KafkaListener, Payload, Tx } from '@app/kafka-core';
import { AuditStore } from './audit-store';

@Injectable()
export class AuditEventListener {
  constructor(private readonly store: AuditStore) {}

  /**
   * Appends each audit event to its stream, once (the inbox skips redeliveries; the store also keys
   * on the event id). Per-key order on the topic is per-stream order in the store.
   */
  @KafkaListener({
    id: 'audit-events',
    topics: [TOPICS.auditEvents],
    groupId: 'logging-service-audit',
    fromBeginning: true,
    payload: AuditEvent,
    inbox: true,
  })
  async onAuditEvent(@Payload() event: AuditEvent, @Ctx() context: KafkaContext, @Tx() tx: SqlExecutor) {
    const headers = context.headers;
    await this.store.append(tx, {
      ...event,
      eventId: headers[ENVELOPE_HEADERS.eventId] ?? `${context.topic}-${context.partition}-${context.offset}`,
      correlationId: headers[ENVELOPE_HEADERS.correlationId] ?? null,
      causationId: headers[ENVELOPE_HEADERS.causationId] ?? null,
    });
  }
}
