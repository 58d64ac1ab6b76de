import { Injectable } from '@nestjs/common';
import { Database, InjectDatabase, SqlExecutor } from '@app/database';
import { OperationLogEvent } from '@app/contracts';
import { encodeLogCursor, LogCursor } from './log-cursor';

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
  operation?: string;
  correlationId?: string;
  from?: Date;
  to?: Date;
  /** Continue after this entry (exclusive), in the newest-first order. */
  after?: LogCursor;
  limit: number;
}

export interface LogPage {
  items: LogEntry[];
  nextCursor: string | null;
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

  /**
   * Newest first, keyset-paged on (occurred_at, event_id): a page continues strictly below the last
   * entry of the previous one, so entries stored meanwhile never shift later pages (no duplicates or
   * gaps, unlike OFFSET); an entry arriving late with an older time than the cursor still shows up on
   * a later page, one newer than the cursor belongs to a new search.
   */
  async find(query: LogQuery): Promise<LogPage> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const filters: [string, string | undefined][] = [
      ['service', query.service],
      ['level', query.level],
      ['operation', query.operation],
      ['correlation_id', query.correlationId],
    ];
    for (const [column, value] of filters) {
      if (value !== undefined) conditions.push(`${column} = ${param(value)}`);
    }
    if (query.from) conditions.push(`occurred_at >= ${param(query.from)}`);
    if (query.to) conditions.push(`occurred_at <= ${param(query.to)}`);
    if (query.after) {
      conditions.push(
        `(occurred_at, event_id) < (${param(query.after.occurredAt)}::timestamptz, ${param(query.after.eventId)}::text)`,
      );
    }
    // One row more than asked tells whether another page exists.
    const limit = param(query.limit + 1);
    const { rows } = await this.db.query<LogEntry & { cursorTime: string }>(
      `SELECT event_id AS "eventId", service, level, operation, message, context,
              correlation_id AS "correlationId", occurred_at AS "occurredAt",
              to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorTime"
         FROM log_entries
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY occurred_at DESC, event_id DESC
        LIMIT ${limit}`,
      params,
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(({ cursorTime: _, ...entry }) => entry),
      nextCursor:
        rows.length > query.limit && last
          ? encodeLogCursor({ occurredAt: last.cursorTime, eventId: last.eventId })
          : null,
    };
  }
}
