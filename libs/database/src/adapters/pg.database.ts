import { Pool, PoolClient } from 'pg';
import { Database, QueryResult, SqlExecutor, assertIdentifier } from '../database.port';
import { PgChannelListener } from './pg-channel-listener';
import { HeldClient } from './pg-held-client';

/** Adapts a `pg` pool or pool client (say, one inside the caller's own transaction) to the port. */
export class PgExecutor implements SqlExecutor {
  constructor(private readonly client: Pool | PoolClient) {}

  async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const result = await this.client.query(sql, params);
    return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
  }

  async exec(sql: string): Promise<void> {
    // Without parameters pg uses the simple query protocol, which accepts several statements.
    await this.client.query(sql);
  }
}

/** PostgreSQL server through a `pg` pool; every connection starts in the service's schema. */
export class PgDatabase extends PgExecutor implements Database {
  readonly kind = 'postgres' as const;

  private constructor(
    private readonly pool: Pool,
    readonly schema: string,
  ) {
    super(pool);
  }

  static async connect(url: string, schema: string, poolSize = 10): Promise<PgDatabase> {
    assertIdentifier(schema, 'schema');
    const pool = new Pool({
      connectionString: url,
      max: poolSize,
      // search_path is a startup parameter, so every pooled connection lands in the schema.
      options: `-c search_path=${schema},public`,
      connectionTimeoutMillis: 10_000,
      // A held connection whose server vanished without closing it (failover) is found by TCP.
      keepAlive: true,
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    const db = new PgDatabase(pool, schema);
    try {
      // Instances of one service start together; the lock keeps their CREATE SCHEMA from colliding.
      await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`schema:${schema}`]);
        await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      });
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return db;
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const held = await HeldClient.checkout(this.pool);
    const { client } = held;
    try {
      await client.query('BEGIN');
      const result = await work(new PgExecutor(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A ROLLBACK that fails means the connection is gone (or in an unknown state): destroy it.
      await client.query('ROLLBACK').catch((rollbackError: Error) => held.markBroken(rollbackError));
      throw error;
    } finally {
      held.release();
    }
  }

  async session<T>(work: (connection: SqlExecutor) => Promise<T>): Promise<T> {
    const held = await HeldClient.checkout(this.pool);
    try {
      return await work(new PgExecutor(held.client));
    } finally {
      // A connection that may still hold session state (an advisory lock, a SET) is closed, not pooled.
      held.release(true);
    }
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    assertIdentifier(channel, 'channel');
    const listener = new PgChannelListener(this.pool, channel, onNotify);
    await listener.start();
    return () => listener.close();
  }

  /**
   * Ends the pool; bounded, because pg-pool waits for every checked-out client, and one held by a
   * statement the server never answers would hold shutdown forever (the process exit closes it).
   */
  async close(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.pool.end(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref())),
    ]);
    clearTimeout(timer);
  }
}
