import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import { Database, openDatabase, SqlExecutor } from '@app/database';
import {
  ENVELOPE_HEADERS,
  KafkaHeaders,
  KafkaListener,
  KafkaListenerRegistry,
  ListenerStatus,
  Payload,
  Tx,
} from '@app/kafka-core';
import { endOffsetSum, rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  committedOffsets,
  createTopic,
  produce,
  startListenerApp,
  until,
} from '../../../test/support/listener-app';
import { PrivatePostgres } from './support/private-postgres';

const OUTAGE_MS = 30_000;
const PARTITIONS = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records of one phase, each with its own event id (the inbox key) and a key spreading them over partitions. */
const records = (phase: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    key: `patient-${i % 5}`,
    value: JSON.stringify({ note: `${phase}-${i}` }),
    headers: { [ENVELOPE_HEADERS.eventId]: `${phase}-${i}` },
  }));

/**
 * The handler's effect on the service's tables. No unique constraint on purpose: an event handled
 * twice shows up as two rows.
 */
const EFFECTS_TABLE = `CREATE TABLE effects (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id text NOT NULL
)`;

describe('our own database outage never dead-letters business events (real broker, private PostgreSQL)', () => {
  let admin: Admin;
  let server: PrivatePostgres;
  let db: Database | undefined;

  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
    server = await PrivatePostgres.create();
  });
  afterAll(async () => {
    await db?.close().catch(() => undefined);
    await server?.destroy();
    await admin.disconnect();
  });

  it(`waits out ${OUTAGE_MS / 1_000} s of PostgreSQL down under an inbox listener: 0 dead letters, 0 lost, each effect once`, async () => {
    const database = await openDatabase({ url: server.url, schema: 'svc' });
    db = database;
    await database.exec(EFFECTS_TABLE);
    const topic = await createTopic(admin, 'db-outage', PARTITIONS);
    const groupId = uniqueName('g-db-outage');

    @Injectable()
    class AdmissionListener {
      @KafkaListener({
        id: 'admissions',
        topics: [topic],
        groupId,
        fromBeginning: true,
        inbox: true,
        // Handler errors would be dead-lettered after the third attempt; an outage must not be.
        retry: {
          attempts: 3,
          initialDelayMs: 100,
          transient: { initialDelayMs: 200, maxDelayMs: 2_000 },
        },
      })
      async handle(
        @Payload() _payload: { note: string },
        @KafkaHeaders(ENVELOPE_HEADERS.eventId) eventId: string,
        @Tx() tx: SqlExecutor,
      ) {
        await tx.query('INSERT INTO effects (event_id) VALUES ($1)', [eventId]);
      }
    }

    // The relay's own LISTEN session is another item's concern: only the inbox path is under test.
    const app = await startListenerApp([AdmissionListener], { database, outbox: { relay: false } });
    const status = (): ListenerStatus => app.app.get(KafkaListenerRegistry).status('admissions');
    const handledCount = async () =>
      Number((await database.query<{ n: string }>('SELECT count(*) AS n FROM effects')).rows[0].n);
    const committedSum = async () =>
      Object.values(await committedOffsets(admin, groupId, topic)).reduce((s, o) => s + Math.max(0, o), 0);
    const sent: string[] = [];
    const send = async (phase: string, count: number) => {
      const batch = records(phase, count);
      await produce(topic, batch);
      sent.push(...batch.map((r) => r.headers[ENVELOPE_HEADERS.eventId]));
    };

    let retryingWhileDown: ListenerStatus['retrying'];
    try {
      await send('before', 20);
      await until(async () => (await handledCount()) === 20);

      await server.stop();
      const downAt = Date.now();
      // Records keep arriving during the outage, one small batch a second.
      let tick = 0;
      while (Date.now() - downAt < OUTAGE_MS) {
        await send(`during-${tick++}`, 2);
        const retrying = status().retrying;
        if (retrying && !retryingWhileDown) retryingWhileDown = { ...retrying };
        await sleep(1_000);
      }
      const stillRetrying = status().retrying;
      await server.start();

      await send('after', 10);
      await until(async () => (await committedSum()) === sent.length, 90_000);
      await until(() => status().retrying === undefined);

      // A redelivery of a committed effect is skipped by the inbox, so `processed` may be lower.
      expect(status().counters).toMatchObject({ deadLettered: 0, failed: 0 });

      // While down: the listener said it was retrying, since when, and the last (redacted) error.
      expect(retryingWhileDown).toMatchObject({ topic, offset: expect.stringMatching(/^\d+$/) });
      expect(retryingWhileDown?.since).toBeGreaterThanOrEqual(downAt);
      expect(retryingWhileDown?.lastError).toMatch(
        /ECONNREFUSED|Connection terminated|terminating connection|shutting down/,
      );
      // Still the same episode at the end of the outage: `since` does not move while it lasts.
      expect(stillRetrying?.since).toBe(retryingWhileDown?.since);
      expect(stillRetrying?.attempts).toBeGreaterThan(retryingWhileDown?.attempts ?? 0);
    } finally {
      await app.close();
    }

    // 0 dead letters, 0 lost, each record's effect exactly once.
    expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(0);
    const effects = (
      await database.query<{ event_id: string; n: string }>(
        'SELECT event_id, count(*) AS n FROM effects GROUP BY event_id ORDER BY event_id COLLATE "C"',
      )
    ).rows;
    expect(effects.filter((e) => e.n !== '1')).toEqual([]);
    expect(effects.map((e) => e.event_id)).toEqual([...sent].sort());
  }, 180_000);
});
