import { Database, QueryResult, SqlExecutor } from '@app/database';

/**
 * An in-memory Database port holding kafka-core's outbox tables, for deterministic unit tests of the
 * relay. It recognises the relay's statements by their text and models what matters to it: sessions
 * (each `session()` is a new backend; its advisory lock goes with it), the leader lock, rows due,
 * backing off or parked, and faults a test can script (a session terminated, the lock gone while the
 * connection lives on, a database that stops answering).
 */
export interface FakeRow {
  seq: number;
  id: string;
  aggregatetype: string;
  aggregateid: string | null;
  type: string;
  payload: string;
  headers: Record<string, string>;
  attempts: number;
  availableAt: number;
  createdAt: number;
  publishedAt: number | null;
}

interface Session {
  id: number;
  alive: boolean;
}

const TERMINATED = 'Connection terminated unexpectedly';

export class FakeOutboxDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly schema = 'fake';
  rows: FakeRow[] = [];
  dead: (FakeRow & { reason: string })[] = [];
  relayIdle = false;
  /** The session holding the leader lock; 'outsider' when a test took it. */
  lockHolder: number | 'outsider' | undefined;
  /** Backends opened by `session()` so far, and lock attempts per session. */
  sessionsOpened = 0;
  readonly lockAttempts = new Map<number, number>();
  /** While set, every statement waits forever (a database that stopped answering). */
  hanging = false;
  private seq = 0;
  private nextSession = 0;
  private readonly sessions = new Map<number, Session>();
  private readonly listeners = new Set<() => void>();
  private readonly direct: Session = { id: -1, alive: true };

  /** Adds one committed outbox row; resolves its event id. */
  enqueue(topic: string, key: string | null, payload: object = {}): string {
    const seq = ++this.seq;
    const id = `e${seq}`;
    const now = Date.now();
    this.rows.push({
      seq,
      id,
      aggregatetype: topic,
      aggregateid: key,
      type: 'test.event',
      payload: JSON.stringify(payload),
      headers: {},
      attempts: 0,
      availableAt: now,
      createdAt: now,
      publishedAt: null,
    });
    if (this.relayIdle) for (const listener of this.listeners) listener();
    return id;
  }

  /** Ends a session's backend, as pg_terminate_backend does: its lock goes, its statements fail. */
  terminate(sessionId: number): void {
    const session = this.sessions.get(sessionId);
    if (session) session.alive = false;
    if (this.lockHolder === sessionId) this.lockHolder = undefined;
  }

  /** The session holding the lock, if a relay does. */
  get leaderSession(): number | undefined {
    return typeof this.lockHolder === 'number' ? this.lockHolder : undefined;
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    return this.run<T>(this.direct, sql, params);
  }

  async exec(): Promise<void> {
    throw new Error('exec is not used by the relay');
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return work(this.executor(this.direct));
  }

  async session<T>(work: (connection: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.hanging) await new Promise<never>(() => undefined);
    const session: Session = { id: ++this.nextSession, alive: true };
    this.sessions.set(session.id, session);
    this.sessionsOpened++;
    try {
      return await work(this.executor(session));
    } finally {
      // Released destroyed: the backend ends, and its advisory lock with it.
      this.terminate(session.id);
    }
  }

  async listen(_channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const listener = () => onNotify('');
    this.listeners.add(listener);
    return async () => void this.listeners.delete(listener);
  }

  async close(): Promise<void> {}

  private executor(session: Session): SqlExecutor {
    return {
      query: <T>(sql: string, params: unknown[] = []) => this.run<T>(session, sql, params),
      exec: () => this.exec(),
    };
  }

  private async run<T>(session: Session, sql: string, params: unknown[]): Promise<QueryResult<T>> {
    // A statement is a round trip: never answered in the caller's own turn.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.hanging) await new Promise<never>(() => undefined);
    if (!session.alive) throw new Error(TERMINATED);
    const result = this.execute(session, sql.replace(/\s+/g, ' ').trim(), params);
    return { rows: result as T[], rowCount: result.length };
  }

  private execute(session: Session, sql: string, params: unknown[]): object[] {
    const now = Date.now();
    const holds = this.lockHolder === session.id;
    if (sql.includes('pg_try_advisory_lock')) {
      this.lockAttempts.set(session.id, (this.lockAttempts.get(session.id) ?? 0) + 1);
      if (this.lockHolder === undefined) this.lockHolder = session.id;
      return [{ locked: this.lockHolder === session.id }];
    }
    if (sql.includes('pg_advisory_unlock')) {
      if (holds) this.lockHolder = undefined;
      return [{ pg_advisory_unlock: holds }];
    }
    if (sql.startsWith('SET ')) return [];
    if (sql.includes('FROM kafka_outbox o')) return this.claim(Number(params[1]), Number(params[0]), now);
    if (sql.startsWith('SELECT 1 FROM kafka_outbox WHERE published_at IS NULL AND available_at <= now()')) {
      return this.rows.some((r) => r.publishedAt === null && r.availableAt <= now) ? [{ '?column?': 1 }] : [];
    }
    if (sql.startsWith('UPDATE kafka_outbox_state SET relay_idle')) {
      this.relayIdle = params[0] as boolean;
      return [];
    }
    const published = sql.includes('DELETE FROM kafka_outbox WHERE seq = ANY')
      ? 'delete'
      : sql.includes('UPDATE kafka_outbox SET published_at = now() WHERE seq = ANY')
        ? 'mark'
        : undefined;
    if (published) {
      // The lock check is part of the statement when it mentions pg_locks.
      const checked = sql.includes('pg_locks');
      if (checked && !holds) return [{ held: false, rows: '0' }];
      const seqs = new Set((params[0] as string[]).map(Number));
      const hit = this.rows.filter((r) => seqs.has(r.seq));
      if (published === 'delete') this.rows = this.rows.filter((r) => !seqs.has(r.seq));
      else for (const r of hit) r.publishedAt = now;
      return checked ? [{ held: true, rows: String(hit.length) }] : hit.map(() => ({}));
    }
    if (sql.startsWith('UPDATE kafka_outbox SET attempts')) {
      const row = this.rows.find((r) => r.seq === Number(params[0]));
      if (row) {
        row.attempts = params[1] as number;
        row.availableAt = now + (params[3] as number);
      }
      return [];
    }
    if (sql.includes('INSERT INTO kafka_outbox_dead')) {
      const row = this.rows.find((r) => r.seq === Number(params[0]));
      if (row) {
        this.rows = this.rows.filter((r) => r !== row);
        this.dead.push({ ...row, attempts: params[1] as number, reason: params[2] as string });
      }
      return [];
    }
    if (sql.startsWith('DELETE FROM kafka_outbox WHERE published_at <')) {
      const before = (params[0] as Date).getTime();
      this.rows = this.rows.filter((r) => r.publishedAt === null || r.publishedAt >= before);
      return [];
    }
    if (sql.startsWith('DELETE FROM kafka_inbox')) return [];
    if (sql.startsWith('WITH waiting AS')) {
      const waiting = this.rows.filter(
        (r) => r.publishedAt === null && (r.attempts > 0 || r.availableAt <= now),
      );
      const since = waiting.map((r) => (r.attempts > 0 ? r.createdAt : r.availableAt));
      return [
        {
          pending: String(waiting.length),
          oldest_ms: since.length ? String(now - Math.min(...since)) : null,
          scheduled: String(
            this.rows.filter((r) => r.publishedAt === null && r.attempts === 0 && r.availableAt > now).length,
          ),
          parked: String(this.dead.length),
        },
      ];
    }
    throw new Error(`FakeOutboxDatabase does not know this statement: ${sql.slice(0, 80)}`);
  }

  private claim(afterSeq: number, limit: number, now: number): object[] {
    const due = this.rows.filter(
      (o) =>
        o.publishedAt === null &&
        o.availableAt <= now &&
        o.seq > afterSeq &&
        !this.rows.some(
          (e) =>
            e.publishedAt === null &&
            e.attempts > 0 &&
            e.aggregatetype === o.aggregatetype &&
            e.aggregateid === o.aggregateid &&
            e.seq < o.seq &&
            e.availableAt > now,
        ),
    );
    return due
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map((r) => ({
        seq: String(r.seq),
        id: r.id,
        aggregatetype: r.aggregatetype,
        aggregateid: r.aggregateid,
        type: r.type,
        payload: r.payload,
        headers: r.headers,
        attempts: r.attempts,
      }));
  }
}
