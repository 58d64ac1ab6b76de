import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Database, InjectDatabase, SqlExecutor } from '@app/database';

export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';

/** One audited event, modelled on FHIR AuditEvent (who, what, when, where, outcome, why). */
export interface AuditEventInput {
  eventId: string;
  /** The audited entity's stream, e.g. `Patient/42`. */
  streamId: string;
  eventType: string;
  action: AuditAction;
  actor: string;
  outcome: string;
  sourceService: string;
  purpose?: string | null;
  patientId?: string | null;
  /** The entity's changed fields (or its state), folded to rebuild it as of a version or time. */
  data: Record<string, unknown>;
  correlationId?: string | null;
  causationId?: string | null;
  occurredAt: Date;
}

export interface StoredAuditEvent extends AuditEventInput {
  position: string;
  version: number;
  prevHash: string | null;
  hash: string;
}

export interface VerifyResult {
  streamId: string;
  valid: boolean;
  checked: number;
  /** The first version whose hash does not match its content and predecessor. */
  firstBrokenVersion?: number;
}

/** Canonical JSON: keys sorted at every level, so the hash does not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value instanceof Date ? value.toISOString() : (value ?? null));
}

/** The chain link: a digest of the event's content and its predecessor's hash. */
export function auditHash(event: Omit<StoredAuditEvent, 'hash' | 'position'>): string {
  const content = canonical({
    eventId: event.eventId,
    streamId: event.streamId,
    version: event.version,
    eventType: event.eventType,
    action: event.action,
    actor: event.actor,
    outcome: event.outcome,
    sourceService: event.sourceService,
    purpose: event.purpose ?? null,
    patientId: event.patientId ?? null,
    data: event.data,
    correlationId: event.correlationId ?? null,
    causationId: event.causationId ?? null,
    occurredAt: new Date(event.occurredAt).toISOString(),
    prevHash: event.prevHash,
  });
  return createHash('sha256').update(content).digest('hex');
}

interface Row {
  position: string;
  event_id: string;
  stream_id: string;
  version: number;
  event_type: string;
  action: AuditAction;
  actor: string;
  outcome: string;
  source_service: string;
  purpose: string | null;
  patient_id: string | null;
  data: Record<string, unknown> | string;
  correlation_id: string | null;
  causation_id: string | null;
  occurred_at: Date | string;
  prev_hash: string | null;
  hash: string;
}

function fromRow(row: Row): StoredAuditEvent {
  return {
    position: String(row.position),
    eventId: row.event_id,
    streamId: row.stream_id,
    version: Number(row.version),
    eventType: row.event_type,
    action: row.action,
    actor: row.actor,
    outcome: row.outcome,
    sourceService: row.source_service,
    purpose: row.purpose,
    patientId: row.patient_id,
    data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    occurredAt: new Date(row.occurred_at),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export interface AuditSearch {
  actor?: string;
  eventType?: string;
  patientId?: string;
  /** occurred_at window, both ends inclusive. */
  from?: Date;
  to?: Date;
  /** Global position to continue after (exclusive). */
  after?: string;
  limit: number;
}

export interface AuditPage {
  items: StoredAuditEvent[];
  /** The last item's position when more matching events exist now; null otherwise. */
  nextCursor: string | null;
}

/**
 * One lock for every append, in the two-key advisory space (kept apart from the single-key locks
 * kafka-core and the migrator take).
 */
const APPEND_LOCK = [0x61756474, 1] as const;

/**
 * The event-sourced audit store: append-only streams with a version per event and a hash chain per
 * stream.
 *
 * Every append takes one transaction-scoped advisory lock, global to the store. That keeps versions
 * gap-free and each event chained to the one before it, and it makes global positions commit in
 * order: a position is drawn only while holding the lock, and PostgreSQL makes a commit visible
 * before it releases the transaction's locks. So once a reader sees position P, every lower
 * position is already committed (or rolled back, leaving a harmless gap), and paging with
 * `position > last seen` can never step over a row that commits later. Appends of different streams
 * therefore queue behind each other; an append is a few short statements, which the audit volume
 * affords.
 */
@Injectable()
export class AuditStore {
  constructor(@InjectDatabase() private readonly db: Database) {}

  /** Appends through `tx` (an inbox transaction); a known event id is not appended twice. */
  async append(tx: SqlExecutor, input: AuditEventInput): Promise<StoredAuditEvent> {
    await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [...APPEND_LOCK]);
    const existing = await tx.query<Row>('SELECT * FROM audit_events WHERE event_id = $1', [input.eventId]);
    if (existing.rows[0]) return fromRow(existing.rows[0]);
    const last = await tx.query<{ version: number; hash: string }>(
      'SELECT version, hash FROM audit_events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1',
      [input.streamId],
    );
    const version = last.rows[0] ? Number(last.rows[0].version) + 1 : 1;
    const prevHash = last.rows[0]?.hash ?? null;
    // Hashed as it will read back from jsonb: undefined members dropped, dates as ISO strings.
    const data = JSON.parse(JSON.stringify(input.data)) as Record<string, unknown>;
    const hash = auditHash({ ...input, data, version, prevHash });
    const { rows } = await tx.query<Row>(
      `INSERT INTO audit_events (event_id, stream_id, version, event_type, action, actor, outcome, source_service,
                                 purpose, patient_id, data, correlation_id, causation_id, occurred_at, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING *`,
      [
        input.eventId,
        input.streamId,
        version,
        input.eventType,
        input.action,
        input.actor,
        input.outcome,
        input.sourceService,
        input.purpose ?? null,
        input.patientId ?? null,
        JSON.stringify(data),
        input.correlationId ?? null,
        input.causationId ?? null,
        input.occurredAt,
        prevHash,
        hash,
      ],
    );
    return fromRow(rows[0]);
  }

  /**
   * The stream's latest version and the one patient its events name (null when they name none or
   * several); undefined for an unknown stream.
   */
  async streamSummary(streamId: string): Promise<{ version: number; patientId: string | null } | undefined> {
    const { rows } = await this.db.query<{ version: number | null; patient_id: string | null }>(
      `SELECT max(version) AS version,
              CASE WHEN count(DISTINCT patient_id) = 1 THEN min(patient_id) END AS patient_id
         FROM audit_events WHERE stream_id = $1`,
      [streamId],
    );
    const row = rows[0];
    return row?.version == null ? undefined : { version: Number(row.version), patientId: row.patient_id };
  }

  /**
   * Events matching the filters in global position order, after `after`. Safe under concurrent
   * appends because positions commit in order (see the class comment): a client that continues
   * from the last position it saw misses nothing and sees nothing twice.
   */
  async search(query: AuditSearch): Promise<AuditPage> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.actor !== undefined) conditions.push(`actor = ${param(query.actor)}`);
    if (query.eventType !== undefined) conditions.push(`event_type = ${param(query.eventType)}`);
    if (query.patientId !== undefined) conditions.push(`patient_id = ${param(query.patientId)}`);
    if (query.from) conditions.push(`occurred_at >= ${param(query.from)}`);
    if (query.to) conditions.push(`occurred_at <= ${param(query.to)}`);
    if (query.after !== undefined) conditions.push(`position > ${param(query.after)}::bigint`);
    // One row more than asked tells whether another page exists.
    const { rows } = await this.db.query<Row>(
      `SELECT * FROM audit_events ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY position LIMIT ${param(query.limit + 1)}`,
      params,
    );
    const items = rows.slice(0, query.limit).map(fromRow);
    return {
      items,
      nextCursor: rows.length > query.limit ? items[items.length - 1].position : null,
    };
  }

  /** A stream's events from `fromVersion` on, `limit` at most, in version order. */
  async history(streamId: string, fromVersion = 1, limit = 100): Promise<StoredAuditEvent[]> {
    const { rows } = await this.db.query<Row>(
      'SELECT * FROM audit_events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3',
      [streamId, fromVersion, limit],
    );
    return rows.map(fromRow);
  }

  /**
   * The entity's state as of a version or a time: the fold of its events' data (later fields win;
   * a D event empties it).
   */
  async stateAsOf(
    streamId: string,
    at: { version?: number; time?: Date },
  ): Promise<{ version: number; state: Record<string, unknown> | null }> {
    const { rows } = await this.db.query<Row>(
      `SELECT * FROM audit_events WHERE stream_id = $1
          AND ($2::integer IS NULL OR version <= $2) AND ($3::timestamptz IS NULL OR occurred_at <= $3)
        ORDER BY version`,
      [streamId, at.version ?? null, at.time ?? null],
    );
    let state: Record<string, unknown> | null = null;
    let version = 0;
    for (const event of rows.map(fromRow)) {
      version = event.version;
      if (event.action === 'R' || event.action === 'E') continue;
      state = event.action === 'D' ? null : { ...(state ?? {}), ...event.data };
    }
    return { version, state };
  }

  /** Recomputes the stream's chain; names the first version whose hash or link does not match. */
  async verify(streamId: string): Promise<VerifyResult> {
    const { rows } = await this.db.query<Row>(
      'SELECT * FROM audit_events WHERE stream_id = $1 ORDER BY version',
      [streamId],
    );
    let prevHash: string | null = null;
    let expectedVersion = 1;
    for (const event of rows.map(fromRow)) {
      const broken =
        event.version !== expectedVersion ||
        event.prevHash !== prevHash ||
        auditHash({ ...event, prevHash }) !== event.hash;
      if (broken) return { streamId, valid: false, checked: rows.length, firstBrokenVersion: event.version };
      prevHash = event.hash;
      expectedVersion++;
    }
    return { streamId, valid: true, checked: rows.length };
  }
}
