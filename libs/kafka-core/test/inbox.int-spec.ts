import { Injectable, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Admin } from 'kafkajs';
import { Database, openDatabase, SqlExecutor } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import {
  Ack,
  Acknowledgment,
  Ctx,
  ENVELOPE_HEADERS,
  KafkaContext,
  KafkaCoreModule,
  KafkaCoreModuleOptions,
  KafkaHeaders,
  KafkaListener,
  KafkaListenerRegistry,
  KafkaOutbox,
  Payload,
  Tx,
} from '@app/kafka-core';
import { rawKafka, testBrokers, uniqueName } from '../../../test/support/kafka';
import {
  collect,
  committedOffsets,
  createTopic,
  headersOf,
  ListenerApp,
  produce,
  startListenerApp,
  TestRecord,
  until,
} from '../../../test/support/listener-app';

/**
 * createTopic, tried again when a freshly started broker answers the leader check before it knows the
 * new topic (kafkajs gives up on UNKNOWN_TOPIC_OR_PARTITION there); the half-made topic is left alone.
 */
async function newTopic(admin: Admin, prefix: string, partitions: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createTopic(admin, prefix, partitions);
    } catch (error) {
      if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION' || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

interface Effect {
  event_id: string;
  note: string;
}

interface InboxRow {
  group_id: string;
  event_id: string;
  topic: string;
  partition: number;
  offset: string;
}

/** A record carrying an envelope event id, the way redelivered or re-published events arrive. */
const withEventId = (eventId: string, note: string, headers: Record<string, string> = {}): TestRecord => ({
  key: 'patient-1',
  value: JSON.stringify({ note }),
  headers: { [ENVELOPE_HEADERS.eventId]: eventId, ...headers },
});

/**
 * The effect a handler has on the service's own tables. No unique constraint on purpose: a second
 * insert for one event must show up as a second row rather than be hidden by the table.
 */
const EFFECTS_TABLE = `CREATE TABLE effects (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id text NOT NULL,
  note text NOT NULL
)`;

const effectsOf = async (db: Database) =>
  (await db.query<Effect>('SELECT event_id, note FROM effects ORDER BY seq')).rows;
const inboxOf = async (db: Database) =>
  (
    await db.query<InboxRow>(
      'SELECT group_id, event_id, topic, partition, "offset" FROM kafka_inbox ORDER BY "offset"',
    )
  ).rows;

describe('idempotent inbox (real broker, real PostgreSQL)', () => {
  let admin: Admin;
  let server: TestDatabase;
  let schemas = 0;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
    server = await createTestDatabase('kc_inbox');
  });
  afterEach(async () => {
    // Last in, first out: observers and apps stop before the databases they use are closed.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    await admin.disconnect();
    await server.drop();
  });

  /** A schema of its own per test: kafka-core's tables start empty, the effects table exists. */
  async function serviceDatabase(kind: 'postgres' | 'embedded' = 'postgres'): Promise<Database> {
    const url = kind === 'postgres' ? server.url : undefined;
    const db = await openDatabase({ url, schema: `svc_${++schemas}` });
    cleanups.push(() => db.close());
    await db.exec(EFFECTS_TABLE);
    return db;
  }

  async function start(...args: Parameters<typeof startListenerApp>): Promise<ListenerApp> {
    const app = await startListenerApp(...args);
    // A test may close its app to restart it; the cleanup then waits on that close instead of repeating it.
    let closing: Promise<void> | undefined;
    const close = () => (closing ??= app.close());
    cleanups.push(close);
    return { app: app.app, close };
  }

  const countersOf = (app: ListenerApp) => app.app.get(KafkaListenerRegistry).list()[0].counters;
  const committedTo = (groupId: string, topic: string, offset: number) =>
    until(async () => (await committedOffsets(admin, groupId, topic))[0] === offset);

  it('handles an event delivered three times (once more after a restart) exactly once', async () => {
    const db = await serviceDatabase();
    const topic = await newTopic(admin, 'inbox-dup', 1);
    const groupId = uniqueName('g-inbox-dup');
    const calls: string[] = [];

    @Injectable()
    class PainListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, inbox: true })
      async handle(
        @Payload() payload: { note: string },
        @KafkaHeaders(ENVELOPE_HEADERS.eventId) eventId: string,
        @Tx() tx: SqlExecutor,
      ) {
        calls.push(`${eventId}:${payload.note}`);
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [eventId, payload.note]);
      }
    }

    await produce(topic, [
      withEventId('evt-a', 'first delivery'),
      withEventId('evt-a', 'second delivery'),
      withEventId('evt-b', 'another event'),
    ]);
    const first = await start([PainListener], { database: db });
    await committedTo(groupId, topic, 3);
    expect(countersOf(first)).toMatchObject({ processed: 2, skipped: 1, failed: 0 });
    await first.close();

    // The third delivery reaches a new instance of the service, whose only memory is the database.
    await produce(topic, [withEventId('evt-a', 'after restart')]);
    const second = await start([PainListener], { database: db });
    await committedTo(groupId, topic, 4);
    expect(countersOf(second)).toMatchObject({ processed: 0, skipped: 1, failed: 0 });

    expect(calls).toEqual(['evt-a:first delivery', 'evt-b:another event']);
    expect(await effectsOf(db)).toEqual([
      { event_id: 'evt-a', note: 'first delivery' },
      { event_id: 'evt-b', note: 'another event' },
    ]);
    expect(await inboxOf(db)).toEqual([
      { group_id: groupId, event_id: 'evt-a', topic, partition: 0, offset: '0' },
      { group_id: groupId, event_id: 'evt-b', topic, partition: 0, offset: '2' },
    ]);
  });

  it('rolls back a failed attempt with its inbox row, so the retry is handled and not taken for a duplicate', async () => {
    const db = await serviceDatabase();
    const topic = await newTopic(admin, 'inbox-retry', 1);
    const groupId = uniqueName('g-inbox-retry');
    const attempts: number[] = [];

    @Injectable()
    class FlakyListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        inbox: true,
        retry: { attempts: 3, initialDelayMs: 100, jitter: 0 },
      })
      async handle(@Payload() payload: { note: string }, @Ctx() ctx: KafkaContext) {
        attempts.push(ctx.attempt);
        // The context offers the same transaction as @Tx().
        await ctx.transaction?.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [
          'evt-flaky',
          `${payload.note} (attempt ${ctx.attempt})`,
        ]);
        if (ctx.attempt === 1) throw new Error('chart service unavailable');
      }
    }

    await produce(topic, [withEventId('evt-flaky', 'pain 7')]);
    const app = await start([FlakyListener], { database: db });
    await committedTo(groupId, topic, 1);

    expect(attempts).toEqual([1, 2]);
    expect(countersOf(app)).toMatchObject({ processed: 1, retried: 1, skipped: 0, deadLettered: 0 });
    expect(await effectsOf(db)).toEqual([{ event_id: 'evt-flaky', note: 'pain 7 (attempt 2)' }]);
    expect((await inboxOf(db)).map((row) => row.event_id)).toEqual(['evt-flaky']);
  });

  it('dead-letters a record whose handler always fails, leaving no inbox row and no effect, and goes on', async () => {
    const db = await serviceDatabase();
    const topic = await newTopic(admin, 'inbox-dlq', 1);
    const groupId = uniqueName('g-inbox-dlq');
    const attempts: string[] = [];

    @Injectable()
    class PoisonedListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        inbox: true,
        retry: { attempts: 2, initialDelayMs: 50, jitter: 0 },
      })
      async handle(
        @Payload() payload: { note: string },
        @KafkaHeaders(ENVELOPE_HEADERS.eventId) eventId: string,
        @Tx() tx: SqlExecutor,
      ) {
        attempts.push(eventId);
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [eventId, payload.note]);
        if (payload.note === 'poison') throw new Error('cannot be handled');
      }
    }

    await produce(topic, [
      withEventId('evt-poison', 'poison'),
      withEventId('evt-ok-1', 'fine'),
      withEventId('evt-ok-2', 'fine'),
    ]);
    const app = await start([PoisonedListener], { database: db });
    const deadLetters = await collect(`${topic}-dlq`);
    cleanups.push(() => deadLetters.stop());
    await committedTo(groupId, topic, 3);
    await until(() => deadLetters.messages.length >= 1);

    expect(attempts).toEqual(['evt-poison', 'evt-poison', 'evt-ok-1', 'evt-ok-2']);
    expect(deadLetters.messages).toHaveLength(1);
    expect(headersOf(deadLetters.messages[0])[ENVELOPE_HEADERS.eventId]).toBe('evt-poison');
    expect(JSON.parse(String(deadLetters.messages[0].value))).toEqual({ note: 'poison' });
    expect(countersOf(app)).toMatchObject({ processed: 2, deadLettered: 1 });
    expect(await effectsOf(db)).toEqual([
      { event_id: 'evt-ok-1', note: 'fine' },
      { event_id: 'evt-ok-2', note: 'fine' },
    ]);
    expect((await inboxOf(db)).map((row) => row.event_id)).toEqual(['evt-ok-1', 'evt-ok-2']);
  });

  it('enqueues one outbox event for an input delivered twice, caused by the input and in its correlation', async () => {
    const db = await serviceDatabase();
    const topic = await newTopic(admin, 'inbox-outbox', 1);
    const outTopic = uniqueName('inbox-outbox-out');
    const groupId = uniqueName('g-inbox-outbox');

    @Injectable()
    class AssessmentListener {
      constructor(private readonly outbox: KafkaOutbox) {}

      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, inbox: true })
      async handle(@Payload() payload: { note: string }, @Tx() tx: SqlExecutor) {
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', ['evt-input', payload.note]);
        await this.outbox.enqueue(
          tx,
          { assessed: payload.note },
          { topic: outTopic, key: 'patient-1', eventType: 'pain.assessed' },
        );
      }
    }

    const correlation = { [ENVELOPE_HEADERS.correlationId]: 'visit-42' };
    await produce(topic, [
      withEventId('evt-input', 'pain 5', correlation),
      withEventId('evt-input', 'pain 5', correlation),
    ]);
    // No relay: the rows stay in the table to be looked at.
    await start([AssessmentListener], { database: db, outbox: { relay: false } });
    await committedTo(groupId, topic, 2);

    const { rows } = await db.query<{
      id: string;
      aggregatetype: string;
      aggregateid: string;
      type: string;
      payload: string;
      headers: Record<string, string>;
    }>('SELECT id, aggregatetype, aggregateid, type, payload, headers FROM kafka_outbox');
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ aggregatetype: outTopic, aggregateid: 'patient-1', type: 'pain.assessed' });
    expect(JSON.parse(row.payload)).toEqual({ assessed: 'pain 5' });
    expect(row.headers).toMatchObject({
      [ENVELOPE_HEADERS.eventId]: row.id,
      [ENVELOPE_HEADERS.causationId]: 'evt-input',
      [ENVELOPE_HEADERS.correlationId]: 'visit-42',
    });
    expect(row.id).not.toBe('evt-input');
    expect(await effectsOf(db)).toHaveLength(1);
  });

  describe('bootstrap refuses an inbox listener that cannot work', () => {
    /**
     * Boots like startListenerApp but keeps hold of the application, so it can be closed after the
     * failed init: the outbox relay has already started by then and would otherwise keep running.
     */
    async function bootstrapError(providers: Provider[], options: Partial<KafkaCoreModuleOptions> = {}) {
      const moduleRef = await Test.createTestingModule({
        imports: [
          KafkaCoreModule.forRoot({ brokers: testBrokers(), clientId: uniqueName('app'), ...options }),
        ],
        providers,
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      try {
        await app.init();
        return undefined;
      } catch (error) {
        return error as Error;
      } finally {
        await app.close();
      }
    }

    it('without a database', async () => {
      @Injectable()
      class NoDatabaseListener {
        @KafkaListener({ id: 'no-db', topics: ['inbox-no-db'], groupId: 'g-no-db', inbox: true })
        handle() {}
      }
      expect(await bootstrapError([NoDatabaseListener])).toEqual(
        expect.objectContaining({
          message:
            '@KafkaListener no-db: "inbox" needs a database: set "database" in the KafkaCoreModule options',
        }),
      );
    });

    it("with ackMode 'manual'", async () => {
      const db = await serviceDatabase();

      @Injectable()
      class ManualAckListener {
        @KafkaListener({
          id: 'manual-inbox',
          topics: ['inbox-manual'],
          groupId: 'g-manual',
          inbox: true,
          ackMode: 'manual',
        })
        handle(@Ack() ack: Acknowledgment) {
          ack.acknowledge();
        }
      }
      expect(await bootstrapError([ManualAckListener], { database: db })).toEqual(
        expect.objectContaining({
          message: '@KafkaListener manual-inbox: "inbox" listeners acknowledge on commit: use ackMode "auto"',
        }),
      );
    });
  });

  it('works the same on the embedded database (PGlite)', async () => {
    const db = await serviceDatabase('embedded');
    expect(db.kind).toBe('pglite');
    const topic = await newTopic(admin, 'inbox-pglite', 1);
    const groupId = uniqueName('g-inbox-pglite');

    @Injectable()
    class EmbeddedListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, inbox: true })
      async handle(
        @Payload() payload: { note: string },
        @KafkaHeaders(ENVELOPE_HEADERS.eventId) eventId: string,
        @Tx() tx: SqlExecutor,
      ) {
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [eventId, payload.note]);
      }
    }

    await produce(topic, [
      withEventId('evt-a', 'first'),
      withEventId('evt-a', 'second'),
      withEventId('evt-b', 'other'),
      withEventId('evt-a', 'third'),
    ]);
    const app = await start([EmbeddedListener], { database: db });
    await committedTo(groupId, topic, 4);

    expect(countersOf(app)).toMatchObject({ processed: 2, skipped: 2, failed: 0 });
    expect(await effectsOf(db)).toEqual([
      { event_id: 'evt-a', note: 'first' },
      { event_id: 'evt-b', note: 'other' },
    ]);
    expect((await inboxOf(db)).map((row) => row.event_id)).toEqual(['evt-a', 'evt-b']);
  });
});
