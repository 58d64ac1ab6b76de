import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Database, openDatabase } from '@app/database';
import { createTestDatabase, TestDatabase } from './testing/test-database';

/**
 * The server ending a connection the adapter holds (restart, failover, `pg_terminate_backend`) must
 * surface as a failed statement at most, never as an 'error' event nobody handles (which ends the
 * process: under jest, an uncaught exception that fails the test).
 */
describe('pg adapter when the server ends its connections (real PostgreSQL)', () => {
  let server: TestDatabase;
  let admin: Client;
  let db: Database;
  let app: string;

  beforeAll(async () => {
    server = await createTestDatabase('kc_dbloss');
    admin = new Client({ connectionString: server.url });
    await admin.connect();
  });

  beforeEach(async () => {
    // A distinctive application_name, so the test terminates this pool's backends and nothing else.
    app = `dbloss_${randomBytes(4).toString('hex')}`;
    const url = new URL(server.url);
    url.searchParams.set('application_name', app);
    db = await openDatabase({ url: url.toString(), schema: 'svc' });
  });

  afterEach(async () => {
    await db?.close();
  });

  afterAll(async () => {
    await admin?.end();
    await server?.drop();
  });

  const terminateAll = async (): Promise<number> =>
    (
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [app],
      )
    ).rowCount ?? 0;

  const until = async (condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('a listener whose connection is terminated listens again, says so once, and hears later notifications', async () => {
    const heard: string[] = [];
    const unsubscribe = await db.listen('chan_loss', (payload) => heard.push(payload));
    await admin.query(`NOTIFY chan_loss, 'before'`);
    await until(() => heard.includes('before'));

    for (let round = 1; round <= 3; round++) {
      expect(await terminateAll()).toBeGreaterThanOrEqual(1);
      // The re-LISTEN is announced with an empty payload: notifications may have been missed.
      await until(() => heard.filter((p) => p === '').length === round);
      await admin.query(`NOTIFY chan_loss, 'after${round}'`);
      await until(() => heard.includes(`after${round}`));
    }
    expect(heard).toEqual(['before', '', 'after1', '', 'after2', '', 'after3']);

    const started = Date.now();
    await unsubscribe();
    expect(Date.now() - started).toBeLessThan(2_000);
    await admin.query(`NOTIFY chan_loss, 'gone'`);
    // A marker query after the NOTIFY: once it answers, the notification would have been delivered.
    await db.query('SELECT 1');
    expect(heard).not.toContain('gone');
  });

  it('a transaction whose backend is terminated fails, and the next one runs on a fresh connection', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY)');
    let inside!: () => void;
    const reached = new Promise<void>((resolve) => (inside = resolve));
    const failed = db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES (1)');
      inside();
      await tx.query('SELECT pg_sleep(30)');
    });
    await reached;
    await until(
      async () =>
        (
          await admin.query(
            `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep%'`,
            [app],
          )
        ).rowCount === 1,
    );
    expect(await terminateAll()).toBeGreaterThanOrEqual(1);
    await expect(failed).rejects.toThrow(/terminat/i);

    await db.transaction((tx) => tx.query('INSERT INTO t (id) VALUES (2)'));
    expect((await db.query<{ id: number }>('SELECT id FROM t ORDER BY id')).rows).toEqual([{ id: 2 }]);
  });

  it('a session whose backend is terminated while idle fails its next statement, nothing more', async () => {
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let ready!: () => void;
    const holding = new Promise<void>((resolve) => (ready = resolve));
    const session = db.session(async (connection) => {
      await connection.query('SELECT 1');
      ready();
      await paused;
      await connection.query('SELECT 1');
    });
    await holding;
    expect(await terminateAll()).toBeGreaterThanOrEqual(1);
    // Wait until the server has really closed it before the session touches the connection again.
    await until(
      async () =>
        (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [app])).rowCount ===
        0,
    );
    resume();
    await expect(session).rejects.toThrow();
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
