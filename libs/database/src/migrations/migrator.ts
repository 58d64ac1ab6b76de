import { Umzug, UmzugStorage } from 'umzug';
import { Database, SqlExecutor } from '../database.port';

/** One forward-only SQL migration; names sort in the order they apply. */
export interface SqlMigration {
  name: string;
  up: string;
}

const TABLE = 'schema_migrations';
// Any constant works; it only has to be the same for every process migrating one database.
const MIGRATION_LOCK_KEY = 7_164_302;

/** Serialises migrating processes; released when the transaction ends. */
async function lockMigrations(tx: SqlExecutor): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
}

async function ensureTable(db: Database): Promise<void> {
  // IF NOT EXISTS alone is not safe when two processes create the table at the same moment.
  await db.transaction(async (tx) => {
    await lockMigrations(tx);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
  });
}

/** Umzug keeps the bookkeeping in the service's own schema through the database port. */
class PortStorage implements UmzugStorage<Database> {
  constructor(private readonly db: Database) {}

  async executed(): Promise<string[]> {
    await ensureTable(this.db);
    const { rows } = await this.db.query<{ name: string }>(`SELECT name FROM ${TABLE} ORDER BY name`);
    return rows.map((row) => row.name);
  }

  async logMigration({ name }: { name: string }): Promise<void> {
    // Already written by the migration's own transaction; kept idempotent for Umzug's bookkeeping call.
    await this.db.query(`INSERT INTO ${TABLE} (name) VALUES ($1) ON CONFLICT DO NOTHING`, [name]);
  }

  async unlogMigration({ name }: { name: string }): Promise<void> {
    await this.db.query(`DELETE FROM ${TABLE} WHERE name = $1`, [name]);
  }
}

/**
 * Applies pending migrations. Each runs in one transaction together with its bookkeeping row, under a
 * transaction-scoped advisory lock, so services starting side by side never apply one twice.
 */
export async function migrate(db: Database, migrations: readonly SqlMigration[]): Promise<string[]> {
  const umzug = new Umzug<Database>({
    context: db,
    storage: new PortStorage(db),
    logger: undefined,
    migrations: migrations.map((migration) => ({
      name: migration.name,
      up: () =>
        db.transaction(async (tx) => {
          await lockMigrations(tx);
          const done = await tx.query(`SELECT 1 FROM ${TABLE} WHERE name = $1`, [migration.name]);
          if (done.rowCount > 0) return;
          await tx.exec(migration.up);
          await tx.query(`INSERT INTO ${TABLE} (name) VALUES ($1)`, [migration.name]);
        }),
    })),
  });
  const applied = await umzug.up();
  return applied.map((m) => m.name);
}
