import { SqlExecutor } from '@app/database';
import { OutboxBacklog } from './outbox-relay.options';

export interface OutboxRow {
  seq: string;
  id: string;
  aggregatetype: string;
  aggregateid: string | null;
  type: string;
  payload: string;
  headers: Record<string, string> | string;
  attempts: number;
}

// One lock per schema: services sharing a PostgreSQL server each elect their own leader.
const LOCK_KEY = `hashtext('kafka-core.outbox.' || current_schema())::bigint`;

/**
 * Whether this backend holds the leader lock. A session-level advisory lock on one bigint key shows in
 * pg_locks with the key's high half in classid, its low half in objid and objsubid 1.
 */
const HOLDS_LOCK = `EXISTS (
  SELECT 1 FROM pg_locks
   WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND objsubid = 1
     AND ((classid::bigint << 32) | objid::bigint) = ${LOCK_KEY})`;

/**
 * Rows due now, oldest first, leaving out every row whose key has an earlier row still backing off:
 * a later row of one key never overtakes an earlier one.
 */
const CLAIM = `
  SELECT seq, id, aggregatetype, aggregateid, type, payload, headers, attempts
  FROM kafka_outbox o
  WHERE o.published_at IS NULL AND o.available_at <= now() AND o.seq > $2
    AND NOT EXISTS (
      SELECT 1 FROM kafka_outbox e
      WHERE e.published_at IS NULL AND e.attempts > 0
        AND e.aggregatetype = o.aggregatetype AND e.aggregateid = o.aggregateid
        AND e.seq < o.seq AND e.available_at > now())
  ORDER BY o.seq
  LIMIT $1`;

/** The published rows go (or are stamped) only if this backend still leads: one statement, no extra trip. */
const DONE = {
  delete: `WITH lead AS (SELECT ${HOLDS_LOCK} AS held),
     done AS (DELETE FROM kafka_outbox WHERE seq = ANY($1::bigint[]) AND (SELECT held FROM lead) RETURNING 1)
   SELECT (SELECT held FROM lead) AS held, (SELECT count(*) FROM done) AS rows`,
  mark: `WITH lead AS (SELECT ${HOLDS_LOCK} AS held),
     done AS (UPDATE kafka_outbox SET published_at = now()
               WHERE seq = ANY($1::bigint[]) AND (SELECT held FROM lead) RETURNING 1)
   SELECT (SELECT held FROM lead) AS held, (SELECT count(*) FROM done) AS rows`,
};

/** The leader lock was found gone: another relay may lead now, so this one must stop publishing. */
export class LeadershipLostError extends Error {
  constructor() {
    super('the outbox leader lock is no longer held by this session');
    this.name = 'LeadershipLostError';
  }
}

/** Every statement the relay runs on kafka_outbox, kafka_outbox_dead and kafka_outbox_state. */
export const outboxStore = {
  async tryLock(connection: SqlExecutor): Promise<boolean> {
    const { rows } = await connection.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(${LOCK_KEY}) AS locked`,
    );
    return rows[0]?.locked === true;
  },

  async unlock(connection: SqlExecutor): Promise<void> {
    await connection.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`);
  },

  async claim(connection: SqlExecutor, afterSeq: string, limit: number): Promise<OutboxRow[]> {
    const { rows } = await connection.query<OutboxRow>(CLAIM, [limit, afterSeq]);
    for (const row of rows) row.seq = String(row.seq);
    return rows;
  },

  /** Whether some row is due (scheduled or backing-off rows are left to the poll). */
  async hasDue(connection: SqlExecutor): Promise<boolean> {
    const { rowCount } = await connection.query(
      `SELECT 1 FROM kafka_outbox WHERE published_at IS NULL AND available_at <= now() LIMIT 1`,
    );
    return rowCount > 0;
  },

  /** Tells writers whether to notify (see the kafka_outbox_notify trigger). */
  async setIdle(connection: SqlExecutor, idle: boolean): Promise<void> {
    await connection.query(`UPDATE kafka_outbox_state SET relay_idle = $1`, [idle]);
  },

  /**
   * Deletes (or marks) rows the broker acknowledged, after checking in the same statement that this
   * session still holds the leader lock; throws LeadershipLostError when it does not.
   */
  async published(connection: SqlExecutor, rows: OutboxRow[], onPublished: 'delete' | 'mark'): Promise<void> {
    const seqs = rows.map((row) => row.seq);
    const { rows: result } = await connection.query<{ held: boolean }>(DONE[onPublished], [seqs]);
    if (result[0]?.held !== true) throw new LeadershipLostError();
  },

  /** Schedules another attempt of a refused row after `delayMs`. */
  async retryLater(
    connection: SqlExecutor,
    row: OutboxRow,
    attempts: number,
    reason: string,
    delayMs: number,
  ): Promise<void> {
    await connection.query(
      `UPDATE kafka_outbox SET attempts = $2, last_error = $3,
         available_at = now() + make_interval(secs => $4::double precision / 1000)
       WHERE seq = $1`,
      [row.seq, attempts, reason, delayMs],
    );
  },

  /** Moves a row out of the outbox into kafka_outbox_dead, in one statement: never in both, nor in neither. */
  async park(connection: SqlExecutor, row: OutboxRow, attempts: number, reason: string): Promise<void> {
    await connection.query(
      `WITH moved AS (DELETE FROM kafka_outbox WHERE seq = $1 RETURNING *)
       INSERT INTO kafka_outbox_dead
         (seq, id, aggregatetype, aggregateid, type, payload, headers, created_at, attempts, reason)
       SELECT seq, id, aggregatetype, aggregateid, type, payload, headers, created_at, $2, $3 FROM moved`,
      [row.seq, attempts, reason],
    );
  },

  /** Marked rows published before `before` (onPublished 'mark'). */
  async prunePublished(connection: SqlExecutor, before: Date): Promise<void> {
    await connection.query('DELETE FROM kafka_outbox WHERE published_at < $1', [before]);
  },

  async backlog(connection: SqlExecutor): Promise<OutboxBacklog> {
    // A row is due from its schedule (available_at) if it never failed; a failed row's available_at
    // is its backoff, so it counts from creation and keeps ageing while it retries.
    const { rows } = await connection.query<{
      pending: string;
      oldest_ms: string | null;
      scheduled: string;
      parked: string;
    }>(
      `WITH waiting AS (
         SELECT CASE WHEN attempts > 0 THEN created_at ELSE available_at END AS due_since
           FROM kafka_outbox
          WHERE published_at IS NULL AND (attempts > 0 OR available_at <= now()))
       SELECT (SELECT count(*) FROM waiting) AS pending,
              (SELECT extract(epoch FROM now() - min(due_since)) * 1000 FROM waiting) AS oldest_ms,
              (SELECT count(*) FROM kafka_outbox
                WHERE published_at IS NULL AND attempts = 0 AND available_at > now()) AS scheduled,
              (SELECT count(*) FROM kafka_outbox_dead) AS parked`,
    );
    const row = rows[0];
    return {
      pending: Number(row.pending),
      oldestAgeMs: row.oldest_ms === null ? 0 : Math.max(0, Math.round(Number(row.oldest_ms))),
      scheduled: Number(row.scheduled),
      parked: Number(row.parked),
    };
  },
};
