import { Injectable } from '@nestjs/common';
import { Database, InjectDatabase, SqlExecutor } from '@app/database';

export const NOTIFICATION_STATUSES = ['sent', 'acknowledged', 'superseded', 'exhausted'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];
export type EscalationStatus = 'open' | 'acknowledged' | 'exhausted';

export interface Notification {
  id: string;
  kind: 'escalation' | 'request';
  escalationId: string | null;
  level: number | null;
  recipient: string;
  channel: string;
  subject: string;
  body: string;
  priority: string;
  patientId: string | null;
  status: NotificationStatus;
  sentAt: Date;
  acknowledgedAt: Date | null;
  acknowledgedBy: string | null;
  ackNote: string | null;
}

export interface Escalation {
  escalationId: string;
  patientId: string;
  ward: string | null;
  severity: string;
  score: number;
  previousScore: number | null;
  reasons: string[];
  currentLevel: number;
  status: EscalationStatus;
  raisedAt: Date;
  openedAt: Date;
  acknowledgedAt: Date | null;
  acknowledgedBy: string | null;
  exhaustedAt: Date | null;
  updatedAt: Date;
}

export type NewNotification = Omit<
  Notification,
  'status' | 'acknowledgedAt' | 'acknowledgedBy' | 'ackNote'
> & {
  sourceEventId: string;
};

export type NewEscalation = Omit<
  Escalation,
  'status' | 'openedAt' | 'acknowledgedAt' | 'acknowledgedBy' | 'exhaustedAt' | 'updatedAt' | 'currentLevel'
> & { sourceEventId: string; openedAt: Date };

export interface NotificationQuery {
  escalationId?: string;
  patientId?: string;
  status?: NotificationStatus;
  limit: number;
}

const NOTIFICATION_COLUMNS = `
  id, kind, escalation_id AS "escalationId", level, recipient, channel, subject, body, priority,
  patient_id AS "patientId", status, sent_at AS "sentAt", acknowledged_at AS "acknowledgedAt",
  acknowledged_by AS "acknowledgedBy", ack_note AS "ackNote"`;

const ESCALATION_COLUMNS = `
  escalation_id AS "escalationId", patient_id AS "patientId", ward, severity, score,
  previous_score AS "previousScore", reasons, current_level AS "currentLevel", status,
  raised_at AS "raisedAt", opened_at AS "openedAt", acknowledged_at AS "acknowledgedAt",
  acknowledged_by AS "acknowledgedBy", exhausted_at AS "exhaustedAt", updated_at AS "updatedAt"`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toEscalation(row: Escalation): Escalation {
  const reasons = row.reasons as unknown;
  return { ...row, reasons: typeof reasons === 'string' ? JSON.parse(reasons) : (reasons as string[]) };
}

@Injectable()
export class NotificationsRepository {
  constructor(@InjectDatabase() private readonly db: Database) {}

  /** False when the escalation is known already (re-published under another event id). */
  async insertEscalation(tx: SqlExecutor, e: NewEscalation): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO escalations (escalation_id, patient_id, ward, severity, score, previous_score, reasons,
                                current_level, status, raised_at, opened_at, updated_at, source_event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 'open', $8, $9, $9, $10)
       ON CONFLICT (escalation_id) DO NOTHING`,
      [
        e.escalationId,
        e.patientId,
        e.ward,
        e.severity,
        e.score,
        e.previousScore,
        JSON.stringify(e.reasons),
        e.raisedAt,
        e.openedAt,
        e.sourceEventId,
      ],
    );
    return rowCount > 0;
  }

  /**
   * The escalation, locked until `tx` ends: deadlines and acknowledgments of one escalation take
   * turns, so an acknowledgment never races a re-escalation.
   */
  async lockEscalation(tx: SqlExecutor, escalationId: string): Promise<Escalation | undefined> {
    const { rows } = await tx.query<Escalation>(
      `SELECT ${ESCALATION_COLUMNS} FROM escalations WHERE escalation_id = $1 FOR UPDATE`,
      [escalationId],
    );
    return rows[0] && toEscalation(rows[0]);
  }

  async findEscalation(escalationId: string): Promise<Escalation | undefined> {
    const { rows } = await this.db.query<Escalation>(
      `SELECT ${ESCALATION_COLUMNS} FROM escalations WHERE escalation_id = $1`,
      [escalationId],
    );
    return rows[0] && toEscalation(rows[0]);
  }

  async updateEscalation(
    tx: SqlExecutor,
    escalationId: string,
    changes: Partial<
      Pick<Escalation, 'currentLevel' | 'status' | 'acknowledgedAt' | 'acknowledgedBy' | 'exhaustedAt'>
    >,
    at: Date,
  ): Promise<Escalation> {
    const columns: Record<string, string> = {
      currentLevel: 'current_level',
      status: 'status',
      acknowledgedAt: 'acknowledged_at',
      acknowledgedBy: 'acknowledged_by',
      exhaustedAt: 'exhausted_at',
    };
    const params: unknown[] = [escalationId, at];
    const sets = Object.entries(changes).map(([field, value]) => {
      params.push(value);
      return `${columns[field]} = $${params.length}`;
    });
    const { rows } = await tx.query<Escalation>(
      `UPDATE escalations SET ${[...sets, 'updated_at = $2'].join(', ')}
        WHERE escalation_id = $1 RETURNING ${ESCALATION_COLUMNS}`,
      params,
    );
    return toEscalation(rows[0]);
  }

  async insertNotification(tx: SqlExecutor, n: NewNotification): Promise<Notification> {
    const { rows } = await tx.query<Notification>(
      `INSERT INTO notifications (id, kind, escalation_id, level, recipient, channel, subject, body, priority,
                                  patient_id, status, sent_at, source_event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'sent', $11, $12)
       RETURNING ${NOTIFICATION_COLUMNS}`,
      [
        n.id,
        n.kind,
        n.escalationId,
        n.level,
        n.recipient,
        n.channel,
        n.subject,
        n.body,
        n.priority,
        n.patientId,
        n.sentAt,
        n.sourceEventId,
      ],
    );
    return rows[0];
  }

  /** With `lock`, the row stays locked until `tx` ends. */
  async findNotification(
    id: string,
    executor: SqlExecutor = this.db,
    lock = false,
  ): Promise<Notification | undefined> {
    if (!UUID.test(id)) return undefined;
    const { rows } = await executor.query<Notification>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0];
  }

  async notificationAtLevel(
    tx: SqlExecutor,
    escalationId: string,
    level: number,
  ): Promise<Notification | undefined> {
    const { rows } = await tx.query<Notification>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE escalation_id = $1 AND level = $2`,
      [escalationId, level],
    );
    return rows[0];
  }

  async setNotificationStatus(
    tx: SqlExecutor,
    id: string,
    status: NotificationStatus,
  ): Promise<Notification> {
    const { rows } = await tx.query<Notification>(
      `UPDATE notifications SET status = $2 WHERE id = $1 RETURNING ${NOTIFICATION_COLUMNS}`,
      [id, status],
    );
    return rows[0];
  }

  async acknowledgeNotification(
    tx: SqlExecutor,
    id: string,
    by: string,
    note: string | null,
    at: Date,
  ): Promise<Notification> {
    const { rows } = await tx.query<Notification>(
      `UPDATE notifications SET status = 'acknowledged', acknowledged_by = $2, ack_note = $3, acknowledged_at = $4
        WHERE id = $1 RETURNING ${NOTIFICATION_COLUMNS}`,
      [id, by, note, at],
    );
    return rows[0];
  }

  async notificationsOf(escalationId: string): Promise<Notification[]> {
    const { rows } = await this.db.query<Notification>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE escalation_id = $1 ORDER BY level`,
      [escalationId],
    );
    return rows;
  }

  async findNotifications(query: NotificationQuery): Promise<Notification[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const filters: [string, string | undefined][] = [
      ['escalation_id', query.escalationId],
      ['patient_id', query.patientId],
      ['status', query.status],
    ];
    for (const [column, value] of filters) {
      if (value === undefined) continue;
      params.push(value);
      conditions.push(`${column} = $${params.length}`);
    }
    params.push(query.limit);
    const { rows } = await this.db.query<Notification>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY sent_at DESC, id
        LIMIT $${params.length}`,
      params,
    );
    return rows;
  }
}
