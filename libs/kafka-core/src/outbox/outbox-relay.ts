import { Logger } from '@nestjs/common';
import { Database, SqlExecutor } from '@app/database';
import { isRetriable, OutgoingRecord, RecordMetadata } from '../client/kafka-client.port';
import { BackoffOptions, nextDelay } from '../errors/backoff';
import { ENVELOPE_HEADERS } from '../kafka-core.constants';
import { PublishTimeoutError } from '../producer/record-accumulator';
import { outboxChannel } from './kafka-core.migrations';

export interface OutboxRelayOptions {
  /** Rows claimed and published per round. Default 500. */
  batchSize: number;
  /** Fallback polling when no notification arrives (or the driver has none), in ms. Default 1000. */
  pollIntervalMs: number;
  /** How often a relay that is not the leader tries to become it, in ms. Default 1000. */
  leaderRetryMs: number;
  /** Per-row backoff for rows the broker refuses; after `attempts` the row is parked. */
  rowBackoff: BackoffOptions;
  /** Backoff of the whole relay while the broker is unreachable (attempts are not counted). */
  brokerBackoff: Omit<BackoffOptions, 'attempts'>;
  /** `delete` published rows (default), or `mark` them and delete them after `publishedRetentionMs`. */
  onPublished: 'delete' | 'mark';
  publishedRetentionMs: number;
  /** Inbox rows older than this are deleted; keep it longer than the topics' retention. */
  inboxRetentionMs: number;
  /** How often the leader prunes marked rows and old inbox rows, in ms. */
  housekeepingIntervalMs: number;
}

export const OUTBOX_RELAY_DEFAULTS: OutboxRelayOptions = {
  batchSize: 500,
  pollIntervalMs: 1_000,
  leaderRetryMs: 1_000,
  rowBackoff: { attempts: 5, initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 60_000, jitter: 0.2 },
  brokerBackoff: { initialDelayMs: 100, multiplier: 2, maxDelayMs: 5_000, jitter: 0.2 },
  onPublished: 'delete',
  publishedRetentionMs: 7 * 24 * 3_600_000,
  inboxRetentionMs: 14 * 24 * 3_600_000,
  housekeepingIntervalMs: 60_000,
};

/** What the relay did since it started, and whether it leads (metrics read this). */
export interface OutboxRelayCounters {
  published: number;
  failed: number;
  parked: number;
  leader: boolean;
}

export interface OutboxBacklog {
  /** Rows due and waiting to be published (scheduled rows not yet due are not counted). */
  pending: number;
  /** How long the longest-waiting due row has been due, in ms (0 when none). */
  oldestAgeMs: number;
  /** Rows scheduled for later (`delayMs`), not yet due. */
  scheduled: number;
  /** Rows parked in kafka_outbox_dead. */
  parked: number;
}

export type SendRecords = (topic: string, records: OutgoingRecord[]) => Promise<RecordMetadata[]>;

interface OutboxRow {
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
const LOCK_KEY = `hashtext('kafka-core.outbox.' || current_schema())`;

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

/** A send that failed because the broker could not be reached, not because it refused the rows. */
function isTransient(error: unknown): boolean {
  return error instanceof PublishTimeoutError || isRetriable(error);
}

/**
 * Publishes the outbox. Every instance runs one; the one holding the schema's advisory lock leads
 * (the lock lives on a dedicated connection, so a crashed leader's lock goes with its connection).
 * The leader claims due rows in order, publishes them in one request, and deletes them only after the
 * broker acknowledged: a crash in between publishes them again (at least once; the inbox dedupes).
 */
export class OutboxRelay {
  private readonly logger = new Logger('OutboxRelay');
  private running?: Promise<void>;
  private stopped = false;
  private wakeUp?: () => void;
  private woken = false;
  private brokerFailures = 0;
  private nextHousekeeping = 0;
  readonly counters: OutboxRelayCounters = { published: 0, failed: 0, parked: 0, leader: false };

  constructor(
    private readonly db: Database,
    private readonly send: SendRecords,
    private readonly options: OutboxRelayOptions = OUTBOX_RELAY_DEFAULTS,
  ) {}

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.running = this.run();
  }

  /** Finishes the round in progress, releases leadership and stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
    this.running = undefined;
  }

  /** Cuts the idle wait short (a notification arrived, or a caller knows rows are waiting). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async backlog(): Promise<OutboxBacklog> {
    // A row is due from its schedule (available_at) if it never failed; a failed row's available_at
    // is its backoff, so it counts from creation and keeps ageing while it retries.
    const { rows } = await this.db.query<{
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
  }

  private async run(): Promise<void> {
    let unlisten: (() => Promise<void>) | undefined;
    try {
      unlisten = await this.db.listen(outboxChannel(this.db.schema), () => this.wake());
    } catch (error) {
      this.logger.warn(`No outbox notifications (${(error as Error).message}); polling only`);
    }
    while (!this.stopped) {
      try {
        await this.db.session((connection) => this.leadIfElected(connection));
      } catch (error) {
        this.logger.warn(`Outbox relay: ${(error as Error).message}`);
      }
      // Notifications are for the leader; the others only retry the lock on their own schedule.
      if (!this.stopped) await this.idle(this.options.leaderRetryMs, false);
    }
    await unlisten?.().catch(() => undefined);
  }

  private async leadIfElected(connection: SqlExecutor): Promise<void> {
    const { rows } = await connection.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(${LOCK_KEY}) AS locked`,
    );
    if (!rows[0]?.locked) return;
    // The leader's own writes (deletes, its sleep flag) need not wait for the WAL flush: one lost in
    // a server crash only means rows published again. The session ends with the connection, and the
    // embedded database's single connection is the application's too, so it is left alone there.
    if (this.db.kind === 'postgres') await connection.query('SET synchronous_commit = off');
    this.counters.leader = true;
    this.logger.log('Leading the outbox relay');
    try {
      await this.lead(connection);
    } finally {
      this.counters.leader = false;
      await connection.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`).catch(() => undefined);
    }
  }

  /**
   * Claims and publishes until stopped; a database error ends leadership (the caller re-elects). The
   * next batch is claimed while the current one is on its way to the broker, and is dropped if the
   * current one does not go through cleanly (it could hold later rows of a failed key).
   */
  private async lead(connection: SqlExecutor): Promise<void> {
    let next: Promise<OutboxRow[]> | undefined;
    const discard = async () => {
      await next?.catch(() => undefined);
      next = undefined;
    };
    try {
      while (!this.stopped) {
        if (Date.now() >= this.nextHousekeeping) {
          await discard();
          await this.housekeeping(connection);
        }
        this.woken = false;
        const rows = next ? await next : await this.claim(connection, '0');
        next = undefined;
        if (rows.length === 0) {
          await this.sleep(connection);
          continue;
        }
        if (rows.length === this.options.batchSize) next = this.claim(connection, rows[rows.length - 1].seq);
        const { pause, clean } = await this.publish(connection, rows);
        if (!clean) await discard();
        if (pause > 0) await this.idle(pause);
      }
    } finally {
      await discard();
      await this.setIdle(connection, false).catch(() => undefined);
    }
  }

  private async claim(
    connection: SqlExecutor,
    afterSeq: string,
    limit = this.options.batchSize,
  ): Promise<OutboxRow[]> {
    const { rows } = await connection.query<OutboxRow>(CLAIM, [limit, afterSeq]);
    for (const row of rows) row.seq = String(row.seq);
    return rows;
  }

  /**
   * Tells writers to notify, claims once more (a row committed just before the flag was set would
   * otherwise wait for the poll), then sleeps until a notification or the poll interval.
   */
  private async sleep(connection: SqlExecutor): Promise<void> {
    await this.setIdle(connection, true);
    try {
      if (
        // Only due rows: one scheduled for later (or backing off) is picked up by the poll.
        (
          await connection.query(
            `SELECT 1 FROM kafka_outbox WHERE published_at IS NULL AND available_at <= now() LIMIT 1`,
          )
        ).rowCount > 0
      )
        return;
      await this.idle(this.options.pollIntervalMs);
    } finally {
      await this.setIdle(connection, false);
    }
  }

  private async setIdle(connection: SqlExecutor, idle: boolean): Promise<void> {
    await connection.query(`UPDATE kafka_outbox_state SET relay_idle = $1`, [idle]);
  }

  /** Publishes claimed rows: how long to pause before the next round, and whether all went out. */
  private async publish(
    connection: SqlExecutor,
    rows: OutboxRow[],
  ): Promise<{ pause: number; clean: boolean }> {
    try {
      await this.sendRows(rows);
    } catch (error) {
      this.counters.failed += rows.length;
      if (isTransient(error)) return { pause: this.brokerUnavailable(error), clean: false };
      // The broker refused something: find which rows, one by one, and keep the others flowing.
      return { pause: await this.isolate(connection, rows), clean: false };
    }
    this.brokerFailures = 0;
    await this.done(connection, rows);
    return { pause: 0, clean: true };
  }

  private async isolate(connection: SqlExecutor, rows: OutboxRow[]): Promise<number> {
    const blockedKeys = new Set<string>();
    for (const row of rows) {
      const key = row.aggregateid === null ? undefined : `${row.aggregatetype}\u0000${row.aggregateid}`;
      // A key whose earlier row failed waits with it, so the failed row is not overtaken.
      if (key && blockedKeys.has(key)) continue;
      try {
        await this.sendRows([row]);
        await this.done(connection, [row]);
      } catch (error) {
        if (isTransient(error)) return this.brokerUnavailable(error);
        if (key) blockedKeys.add(key);
        await this.rowFailed(connection, row, error as Error);
      }
    }
    return 0;
  }

  private brokerUnavailable(error: unknown): number {
    this.brokerFailures++;
    const delay = nextDelay(
      { ...this.options.brokerBackoff, attempts: Number.MAX_SAFE_INTEGER },
      this.brokerFailures,
    ) as number;
    if (this.brokerFailures === 1 || this.brokerFailures % 10 === 0) {
      this.logger.warn(`Outbox relay cannot publish (${(error as Error).message}); retrying in ${delay} ms`);
    }
    return delay;
  }

  private async rowFailed(connection: SqlExecutor, row: OutboxRow, error: Error): Promise<void> {
    const attempts = Number(row.attempts) + 1;
    const reason = `${error.name}: ${error.message}`.slice(0, 1_000);
    const delay = nextDelay(this.options.rowBackoff, attempts);
    if (delay === undefined) {
      // One statement moves the row, so it is never in both tables nor in neither.
      await connection.query(
        `WITH moved AS (DELETE FROM kafka_outbox WHERE seq = $1 RETURNING *)
         INSERT INTO kafka_outbox_dead
           (seq, id, aggregatetype, aggregateid, type, payload, headers, created_at, attempts, reason)
         SELECT seq, id, aggregatetype, aggregateid, type, payload, headers, created_at, $2, $3 FROM moved`,
        [row.seq, attempts, reason],
      );
      this.counters.parked++;
      this.logger.error(`Outbox row ${row.id} (${row.type} to ${row.aggregatetype}) parked: ${reason}`);
      return;
    }
    await connection.query(
      `UPDATE kafka_outbox SET attempts = $2, last_error = $3,
         available_at = now() + make_interval(secs => $4::double precision / 1000)
       WHERE seq = $1`,
      [row.seq, attempts, reason, delay],
    );
  }

  private async sendRows(rows: OutboxRow[]): Promise<void> {
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const row of rows) {
      const list = byTopic.get(row.aggregatetype) ?? [];
      byTopic.set(row.aggregatetype, list);
      const headers = typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers;
      list.push({
        key: row.aggregateid,
        value: row.payload,
        headers: { ...headers, [ENVELOPE_HEADERS.eventId]: row.id, [ENVELOPE_HEADERS.eventType]: row.type },
      });
    }
    // Appended in the same turn, the topics share one produce request.
    await Promise.all([...byTopic].map(([topic, records]) => this.send(topic, records)));
  }

  private async done(connection: SqlExecutor, rows: OutboxRow[]): Promise<void> {
    const seqs = rows.map((row) => String(row.seq));
    if (this.options.onPublished === 'mark') {
      await connection.query(`UPDATE kafka_outbox SET published_at = now() WHERE seq = ANY($1::bigint[])`, [
        seqs,
      ]);
    } else {
      await connection.query(`DELETE FROM kafka_outbox WHERE seq = ANY($1::bigint[])`, [seqs]);
    }
    this.counters.published += rows.length;
  }

  private async housekeeping(connection: SqlExecutor): Promise<void> {
    this.nextHousekeeping = Date.now() + this.options.housekeepingIntervalMs;
    // Infinity keeps rows forever (an inbox in front of a topic that never expires records).
    const prune = async (sql: string, retentionMs: number) => {
      if (Number.isFinite(retentionMs)) await connection.query(sql, [new Date(Date.now() - retentionMs)]);
    };
    await prune('DELETE FROM kafka_outbox WHERE published_at < $1', this.options.publishedRetentionMs);
    await prune('DELETE FROM kafka_inbox WHERE processed_at < $1', this.options.inboxRetentionMs);
  }

  /** Waits `ms`, or less when woken; a wake-up that came while busy ends the next wait at once. */
  private idle(ms: number, wakeable = true): Promise<void> {
    if (this.stopped || (wakeable && this.woken)) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        if (!wakeable && !this.stopped) return;
        this.wakeUp = undefined;
        done();
      };
    });
  }
}
