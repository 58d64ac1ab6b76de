import { Database, migrate, openDatabase } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { LOGGING_MIGRATIONS } from '../migrations';
import { AuditEventInput, AuditStore } from './audit-store';

describe('audit store (real PostgreSQL)', () => {
  let server: TestDatabase;
  let db: Database;
  let store: AuditStore;

  beforeAll(async () => {
    server = await createTestDatabase('kc_audit');
    db = await openDatabase({ url: server.url, schema: 'logging' });
    await migrate(db, LOGGING_MIGRATIONS);
    store = new AuditStore(db);
  });

  afterAll(async () => {
    await db?.close();
    await server?.drop();
  });

  const event = (streamId: string, n: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput => ({
    eventId: `${streamId}-e${n}`,
    streamId,
    eventType: n === 1 ? 'patient.created' : 'patient.updated',
    action: n === 1 ? 'C' : 'U',
    actor: 'Practitioner/7',
    outcome: 'success',
    sourceService: 'monolith',
    patientId: streamId.split('/')[1],
    data: n === 1 ? { name: 'Ada', ward: 'A' } : { ward: `W${n}` },
    occurredAt: new Date(Date.UTC(2026, 0, n)),
    ...overrides,
  });

  const appendAll = (events: AuditEventInput[]) =>
    db.transaction(async (tx) => {
      for (const e of events) await store.append(tx, e);
    });

  it('numbers each stream from 1 and chains every event to the one before', async () => {
    await appendAll([1, 2, 3].map((n) => event('Patient/1', n)));
    const history = await store.history('Patient/1');
    expect(history.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(history[0].prevHash).toBeNull();
    expect(history[1].prevHash).toBe(history[0].hash);
    expect(history[2].prevHash).toBe(history[1].hash);
    expect(await store.verify('Patient/1')).toEqual({ streamId: 'Patient/1', valid: true, checked: 3 });
  });

  it('appends a known event id once', async () => {
    await appendAll([event('Patient/2', 1), event('Patient/2', 1)]);
    expect((await store.history('Patient/2')).map((e) => e.version)).toEqual([1]);
  });

  it('folds the state as of a version and as of a time', async () => {
    await appendAll([1, 2, 3].map((n) => event('Patient/3', n)));
    expect(await store.stateAsOf('Patient/3', { version: 2 })).toEqual({
      version: 2,
      state: { name: 'Ada', ward: 'W2' },
    });
    expect(await store.stateAsOf('Patient/3', { time: new Date(Date.UTC(2026, 0, 1, 12)) })).toEqual({
      version: 1,
      state: { name: 'Ada', ward: 'A' },
    });
    expect((await store.stateAsOf('Patient/3', {})).state).toEqual({ name: 'Ada', ward: 'W3' });
  });

  it('refuses updates and deletes in the database itself', async () => {
    await appendAll([event('Patient/4', 1)]);
    await expect(
      db.query(`UPDATE audit_events SET actor = 'x' WHERE stream_id = 'Patient/4'`),
    ).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(db.query(`DELETE FROM audit_events WHERE stream_id = 'Patient/4'`)).rejects.toThrow(
      /append-only: DELETE refused/,
    );
    expect(await store.verify('Patient/4')).toMatchObject({ valid: true, checked: 1 });
  });

  it('names the first broken version when a row is tampered with behind the triggers', async () => {
    await appendAll([1, 2, 3].map((n) => event('Patient/5', n)));
    // What a superuser could do: switch triggers off for the session and rewrite history.
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(
        `UPDATE audit_events SET data = '{"ward":"forged"}' WHERE stream_id = 'Patient/5' AND version = 2`,
      );
    });
    expect(await store.verify('Patient/5')).toEqual({
      streamId: 'Patient/5',
      valid: false,
      checked: 3,
      firstBrokenVersion: 2,
    });
  });

  it('hashes data as it reads back, so dates and undefined members keep the chain valid', async () => {
    await appendAll([
      event('Patient/6', 1, {
        data: { name: 'Ada', seenAt: new Date(Date.UTC(2026, 0, 1)), note: undefined },
      }),
    ]);
    expect(await store.verify('Patient/6')).toMatchObject({ valid: true, checked: 1 });
    expect((await store.history('Patient/6'))[0].data).toEqual({
      name: 'Ada',
      seenAt: '2026-01-01T00:00:00.000Z',
    });
  });

  describe('paging on the global position while appends are in flight', () => {
    const inFlightAppends = async () =>
      Number(
        (
          await db.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          )
        ).rows[0].n,
      );

    it('shows no later position while an earlier one is uncommitted', async () => {
      const actor = `Practitioner/inflight-${Date.now()}`;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let appended!: () => void;
      const firstAppended = new Promise<void>((resolve) => (appended = resolve));

      // The first append draws its position, then its transaction stays open.
      const first = db.transaction(async (tx) => {
        await store.append(tx, event('Patient/7', 1, { eventId: 'inflight-1', actor }));
        appended();
        await released;
      });
      await firstAppended;
      try {
        // A second append, to another stream, must wait for the first to commit.
        let secondDone = false;
        const second = appendAll([event('Patient/8', 1, { eventId: 'inflight-2', actor })]).finally(
          () => (secondDone = true),
        );
        // Until it either waits on the lock or (wrongly) commits ahead of the first.
        const deadline = Date.now() + 10_000;
        while (!secondDone && (await inFlightAppends()) === 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect((await store.search({ actor, limit: 10 })).items.map((e) => e.eventId)).toEqual([]);
        release();
        await Promise.all([first, second]);
      } finally {
        release();
        await first;
      }
      const { items } = await store.search({ actor, limit: 10 });
      expect(items.map((e) => e.eventId)).toEqual(['inflight-1', 'inflight-2']);
      expect(BigInt(items[0].position) < BigInt(items[1].position)).toBe(true);
    });

    it('pages through concurrent appends of many streams without gaps or duplicates', async () => {
      const actor = `Practitioner/busy-${Date.now()}`;
      const writers = 8;
      const perWriter = 12;
      let writing = true;
      const write = Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let n = 1; n <= perWriter; n++) {
            await db.transaction(async (tx) => {
              await store.append(tx, event(`Patient/busy-${w}`, n, { eventId: `busy-${w}-${n}`, actor }));
              // Holds the transaction open a little, so commits and reads interleave.
              await tx.query('SELECT pg_sleep($1)', [Math.random() * 0.01]);
            });
          }
        }),
      ).finally(() => (writing = false));

      const seen: { eventId: string; position: bigint }[] = [];
      let after: string | undefined;
      const readPage = async () => {
        const page = await store.search({ actor, after, limit: 7 });
        for (const e of page.items) seen.push({ eventId: e.eventId, position: BigInt(e.position) });
        if (page.items.length > 0) after = page.items[page.items.length - 1].position;
        return page;
      };
      while (writing) await readPage();
      await write;
      while ((await readPage()).nextCursor !== null);

      const ids = seen.map((e) => e.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(
        Array.from({ length: writers }, (_, w) =>
          Array.from({ length: perWriter }, (_, n) => `busy-${w}-${n + 1}`),
        )
          .flat()
          .sort(),
      );
      expect(seen.every((e, i) => i === 0 || e.position > seen[i - 1].position)).toBe(true);
    });
  });
});

describe('audit store (embedded database)', () => {
  it('migrates, appends and refuses updates there too', async () => {
    const db = await openDatabase({ schema: 'logging' });
    try {
      await migrate(db, LOGGING_MIGRATIONS);
      const store = new AuditStore(db);
      const input: AuditEventInput = {
        eventId: 'e1',
        streamId: 'Patient/9',
        eventType: 'patient.created',
        action: 'C',
        actor: 'Practitioner/1',
        outcome: 'success',
        sourceService: 'monolith',
        data: { name: 'Grace' },
        occurredAt: new Date(),
      };
      await db.transaction((tx) => store.append(tx, input));
      expect(await store.verify('Patient/9')).toMatchObject({ valid: true, checked: 1 });
      await expect(db.query(`DELETE FROM audit_events`)).rejects.toThrow(/append-only/);
    } finally {
      await db.close();
    }
  });
});
