import { Injectable } from '@nestjs/common';
import { Database, InjectDatabase, SqlExecutor } from '@app/database';
import { OperationLogEvent } from '@app/contracts';

export interface LogEntry {
  eventId: string;
  service: string;
  level: string;
  operation: string;
  message: string;
  context: Record<string, unknown> | null;
  correlationId: string | null;
  occurredAt: string;
}

export interface LogEntrySource {
  eventId: string;
  correlationId: string | null;
  topic: string;
  partition: number;
  offset: string;
}

export interface LogQuery {
  service?: string;
  level?: string;
  correlationId?: string;
  limit: number;
}

@Injectable()
export class LogEntriesRepository {
  constructor(@InjectDatabase() private readonly db: Database) {}

  /**
   * Stores one entry through `tx` (the listener's inbox transaction). Still idempotent on the event id,
   * so entries stay unique whoever writes them.
   */
  async insert(
    event: OperationLogEvent,
    source: LogEntrySource,
    tx: SqlExecutor = this.db,
  ): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO log_entries (event_id, service, level, operation, message, context, correlation_id, occurred_at,
                                source_topic, source_partition, source_offset)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        source.eventId,
        event.service,
        event.level,
        event.operation,
        event.message,
        event.context ? JSON.stringify(event.context) : null,
        source.correlationId,
        event.occurredAt,
        source.topic,
        source.partition,
        source.offset,
      ],
    );
    return rowCount > 0;
  }

  async find(query: LogQuery): Promise<LogEntry[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const filters: [string, string | undefined][] = [
      ['service', query.service],
      ['level', query.level],
      ['correlation_id', query.correlationId],
    ];
    for (const [column, value] of filters) {
      if (value === undefined) continue;
      params.push(value);
      conditions.push(`${column} = $${params.length}`);
    }
    params.push(query.limit);
    const { rows } = await this.db.query<LogEntry>(
      `SELECT event_id AS "eventId", service, level, operation, message, context,
              correlation_id AS "correlationId", occurred_at AS "occurredAt"
         FROM log_entries
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY occurred_at DESC, event_id DESC
        LIMIT $${params.length}`,
      params,
    );
    return rows;
  }
}
