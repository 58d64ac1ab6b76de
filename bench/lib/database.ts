import { Database, migrate, openDatabase, QueryResult, SqlExecutor } from '@app/database';
import { createTestDatabase } from '@app/database/testing/test-database';
import { ENVELOPE_HEADERS, KAFKA_CORE_MIGRATIONS, KafkaOutbox, OutboxEntry } from '@app/kafka-core';

/** The schema every outbox benchmark uses inside its own database. */
export const BENCH_SCHEMA = 'bench';

/** The business table of B6 and B8: one order row per transaction, beside its outbox row. */
const BUSINESS_TABLE = `
  CREATE TABLE IF NOT EXISTS bench_orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id text NOT NULL,
    status text NOT NULL,
    payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`;

export interface BenchDatabase {
  /** URL of the database, for arms that open their own pool (as a service would). */
  url: string;
  /** The scenario's own connection: seeding, truncating, checking. */
  db: Database;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/**
 * A database of its own on the real PostgreSQL (createTestDatabase), migrated with kafka-core's tables
 * and the business table; dropped when the scenario ends, so repeated runs leave nothing behind.
 */
export async function benchDatabase(prefix: string): Promise<BenchDatabase> {
  const created = await createTestDatabase(prefix);
  let db: Database | undefined;
  try {
    db = await openDatabase({ url: created.url, schema: BENCH_SCHEMA });
    await migrate(db, KAFKA_CORE_MIGRATIONS);
    await db.exec(BUSINESS_TABLE);
  } catch (error) {
    await db?.close().catch(() => undefined);
    await created.drop();
    throw error;
  }
  const open = db;
  return {
    url: created.url,
    db: open,
    drop: async () => {
      await open.close().catch(() => undefined);
      await created.drop();
    },
  };
}

export function openBenchDatabase(url: string, poolSize?: number): Promise<Database> {
  return openDatabase({ url, schema: BENCH_SCHEMA, poolSize });
}

/** An order event of ~`valueBytes` of JSON; the constructor name is its event type. */
export class OrderPlaced {
  constructor(
    readonly seq: number,
    readonly customerId: string,
    readonly pad: string,
  ) {}
}

/** Pads an OrderPlaced so that its JSON is about `valueBytes` long. */
export function orderEvent(seq: number, customers: number, valueBytes: number): OrderPlaced {
  const customerId = `customer-${seq % customers}`;
  const bare = JSON.stringify(new OrderPlaced(seq, customerId, '')).length;
  return new OrderPlaced(seq, customerId, 'x'.repeat(Math.max(0, valueBytes - bare)));
}

/** kafka-core's outbox without Nest: it reads only the client id (the `source` header) from the options. */
export function standaloneOutbox(clientId: string): KafkaOutbox {
  return new KafkaOutbox({ brokers: [], clientId });
}

/**
 * Fills kafka_outbox with `count` events for `topic` (keyed by customer), written by KafkaOutbox
 * itself so the rows are exactly what a service leaves there; then ANALYZE, as autovacuum would
 * have done for a backlog that built up over time.
 */
export async function fillOutbox(
  db: Database,
  options: { topic: string; count: number; valueBytes: number; customers: number },
): Promise<void> {
  const outbox = standaloneOutbox('bench-outbox-fill');
  const chunk = 2_000;
  for (let start = 0; start < options.count; start += chunk) {
    const entries: OutboxEntry[] = [];
    for (let seq = start; seq < Math.min(start + chunk, options.count); seq++) {
      const event = orderEvent(seq, options.customers, options.valueBytes);
      entries.push({ event, options: { topic: options.topic, key: event.customerId } });
    }
    await db.transaction((tx) => outbox.enqueueAll(tx, entries));
  }
  await db.exec('ANALYZE kafka_outbox');
}

export async function outboxCount(db: SqlExecutor): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM kafka_outbox');
  return Number(rows[0].n);
}

/** Empties the tables between runs; VACUUM would not give the space back as quickly. */
export async function resetTables(db: SqlExecutor): Promise<void> {
  await db.exec('TRUNCATE kafka_outbox, kafka_outbox_dead, kafka_inbox, bench_orders');
}

/** Names the relay's statements (they are kafka-core's SQL, matched by their text). */
export function relayStatementKind(sql: string): string {
  if (sql.includes('FROM kafka_outbox o')) return 'claim';
  if (sql.trimStart().startsWith('DELETE FROM kafka_outbox WHERE seq')) return 'delete';
  if (sql.includes('advisory')) return 'lock';
  if (sql.includes('published_at <') || sql.includes('kafka_inbox')) return 'housekeeping';
  return 'other';
}

/** Time spent per kind of statement, as seen from the caller of a connection. */
export interface StatementTimes {
  /** Statement kind → { count, ms, rows }. */
  [kind: string]: { count: number; ms: number; rows: number };
}

/**
 * Wraps a database so that every statement run through it (its sessions and transactions included)
 * is timed by kind. Only a wrapper around the port: the relay under test runs unchanged.
 */
export function timedDatabase(
  db: Database,
  kindOf: (sql: string) => string,
  onStatement?: (
    kind: string,
    result: QueryResult<unknown>,
    endedAt: number,
    ms: number,
    params: unknown[] | undefined,
  ) => void,
): { db: Database; times: StatementTimes } {
  const times: StatementTimes = {};
  const wrap = (executor: SqlExecutor): SqlExecutor => ({
    async query<T>(sql: string, params?: unknown[]) {
      const started = performance.now();
      const result = await executor.query<T>(sql, params);
      const ended = performance.now();
      const kind = kindOf(sql);
      const entry = (times[kind] ??= { count: 0, ms: 0, rows: 0 });
      entry.count++;
      entry.ms += ended - started;
      entry.rows += result.rowCount;
      onStatement?.(kind, result, ended, ended - started, params);
      return result;
    },
    exec: (sql: string) => executor.exec(sql),
  });
  const direct = wrap(db);
  return {
    times,
    db: {
      kind: db.kind,
      schema: db.schema,
      query: direct.query,
      exec: direct.exec,
      transaction: (work) => db.transaction((tx) => work(wrap(tx))),
      session: (work) => db.session((connection) => work(wrap(connection))),
      listen: (channel, onNotify) => db.listen(channel, onNotify),
      close: () => db.close(),
    },
  };
}

/**
 * The records the relay would send for the rows now in kafka_outbox (key, payload, headers plus the
 * event id and type), in seq order: what the raw baseline of B5 sends.
 */
export async function outboxRecords(
  db: SqlExecutor,
): Promise<{ key: string | null; value: string; headers: Record<string, string> }[]> {
  const { rows } = await db.query<{
    id: string;
    aggregateid: string | null;
    type: string;
    payload: string;
    headers: Record<string, string>;
  }>('SELECT id, aggregateid, type, payload, headers FROM kafka_outbox ORDER BY seq');
  return rows.map((row) => ({
    key: row.aggregateid,
    value: row.payload,
    headers: { ...row.headers, [ENVELOPE_HEADERS.eventId]: row.id, [ENVELOPE_HEADERS.eventType]: row.type },
  }));
}
