import { Database, openDatabase, migrate, SqlMigration } from '@app/database';
import { createTestDatabase, TestDatabase } from './testing/test-database';

const MIGRATIONS: SqlMigration[] = [
  {
    name: '0001_items',
    up: 'CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL); CREATE INDEX items_name ON items (name);',
  },
  { name: '0002_items_note', up: 'ALTER TABLE items ADD COLUMN note text;' },
];

/** The same contract on both adapters: the library and the apps must not care which one runs. */
describe.each(['postgres', 'pglite'] as const)('database port on %s', (kind) => {
  let server: TestDatabase | undefined;
  let db: Database;

  beforeAll(async () => {
    if (kind === 'postgres') server = await createTestDatabase('kc_db');
    db = await openDatabase({ url: server?.url, schema: 'svc_a' });
  });

  afterAll(async () => {
    await db?.close();
    await server?.drop();
  });

  it('applies migrations once, in order, into the service schema', async () => {
    expect(await migrate(db, MIGRATIONS)).toEqual(['0001_items', '0002_items_note']);
    expect(await migrate(db, MIGRATIONS)).toEqual([]);
    const { rows } = await db.query<{ table_schema: string; column_name: string }>(
      `SELECT table_schema, column_name FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position`,
    );
    expect(rows).toEqual([
      { table_schema: 'svc_a', column_name: 'id' },
      { table_schema: 'svc_a', column_name: 'name' },
      { table_schema: 'svc_a', column_name: 'note' },
    ]);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [1, 'kept']);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO items (id, name) VALUES ($1, $2)', [2, 'discarded']);
        throw new Error('business rule');
      }),
    ).rejects.toThrow('business rule');
    const { rows, rowCount } = await db.query<{ id: number; name: string }>(
      'SELECT id, name FROM items ORDER BY id',
    );
    expect(rows).toEqual([{ id: 1, name: 'kept' }]);
    expect(rowCount).toBe(1);
  });

  it('reports affected rows', async () => {
    const result = await db.query('UPDATE items SET note = $1', ['n']);
    expect(result.rowCount).toBe(1);
  });

  it('delivers NOTIFY to a listener', async () => {
    const received: string[] = [];
    const unlisten = await db.listen('items_changed', (payload) => received.push(payload));
    await db.query(`SELECT pg_notify('items_changed', $1)`, ['hello']);
    const deadline = Date.now() + 5_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await unlisten();
    expect(received).toEqual(['hello']);
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(openDatabase({ url: server?.url, schema: 'x; DROP TABLE items' })).rejects.toThrow(
      'Invalid schema',
    );
  });
});

describe('migrations on a shared PostgreSQL server', () => {
  let server: TestDatabase;
  beforeAll(async () => (server = await createTestDatabase('kc_mig')));
  afterAll(() => server.drop());

  it('apply once when several service instances start at the same moment', async () => {
    const instances = await Promise.all(
      [1, 2, 3].map(() => openDatabase({ url: server.url, schema: 'svc_b' })),
    );
    try {
      const applied = await Promise.all(instances.map((db) => migrate(db, MIGRATIONS)));
      const { rows } = await instances[0].query<{ name: string }>(
        'SELECT name FROM schema_migrations ORDER BY name',
      );
      expect(rows.map((r) => r.name)).toEqual(['0001_items', '0002_items_note']);
      // Every instance ends with the full schema, whichever of them did the work.
      for (const db of instances) {
        await expect(db.query('SELECT id, name, note FROM items')).resolves.toMatchObject({ rowCount: 0 });
      }
      expect(applied).toHaveLength(3);
    } finally {
      await Promise.all(instances.map((db) => db.close()));
    }
  });
});
