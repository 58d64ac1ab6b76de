import { mkdirSync } from 'node:fs';
import { PGlite, Transaction } from '@electric-sql/pglite';
import { Database, QueryResult, SqlExecutor, assertIdentifier } from '../database.port';

/** Adapts a PGlite instance or one of its transactions to the port. */
export class PgliteExecutor implements SqlExecutor {
  constructor(private readonly target: PGlite | Transaction) {}

  async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const result = await this.target.query<T>(sql, params);
    return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
  }

  async exec(sql: string): Promise<void> {
    await this.target.exec(sql);
  }
}

/**
 * The embedded default: PostgreSQL compiled to WASM, one connection per process. PGlite queues
 * statements itself and runs transactions exclusively, so callers need no extra locking.
 */
export class PgliteDatabase extends PgliteExecutor implements Database {
  readonly kind = 'pglite' as const;

  private constructor(
    private readonly db: PGlite,
    readonly schema: string,
  ) {
    super(db);
  }

  static async open(dataDir: string | undefined, schema: string): Promise<PgliteDatabase> {
    assertIdentifier(schema, 'schema');
    // PGlite creates only the last path segment; a fresh clone has no parent folder yet.
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    const db = new PGlite(dataDir);
    await db.waitReady;
    // One connection, so a session-level search_path holds for every later statement.
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public;`);
    return new PgliteDatabase(db, schema);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => work(new PgliteExecutor(tx)));
  }

  session<T>(work: (connection: SqlExecutor) => Promise<T>): Promise<T> {
    return work(this);
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    assertIdentifier(channel, 'channel');
    const unsubscribe = await this.db.listen(channel, onNotify);
    return () => unsubscribe();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
