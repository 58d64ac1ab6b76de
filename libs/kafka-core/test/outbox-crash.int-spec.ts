import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import { Database, migrate, openDatabase, SqlExecutor } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import {
  ENVELOPE_HEADERS,
  KAFKA_CORE_MIGRATIONS,
  KafkaHeaders,
  KafkaListener,
  KafkaListenerRegistry,
  KafkaOutbox,
  Payload,
  Tx,
} from '@app/kafka-core';
import { FixtureProcess, spawnFixture } from './fixtures/spawn-fixture';
import { endOffsetSum, rawKafka, testBrokers, uniqueName } from '../../../test/support/kafka';
import {
  collect,
  committedOffsets,
  createTopic,
  headersOf,
  ListenerApp,
  Sequenced,
  startListenerApp,
  until,
} from '../../../test/support/listener-app';

const SCHEMA = 'orders';

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

const processes: FixtureProcess[] = [];

/** Runs fixtures/relay-process.ts in a child process against the suite's database. */
function startRelayProcess(databaseUrl: string, env: Record<string, string>): FixtureProcess {
  const handle = spawnFixture('relay-process.ts', { DATABASE_URL: databaseUrl, SCHEMA, ...env });
  processes.push(handle);
  return handle;
}

/** Waits for the condition, and names what the relay process printed when it never comes true. */
async function untilWith(relay: FixtureProcess, condition: () => boolean | Promise<boolean>) {
  try {
    await until(condition);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nrelay process output:\n${relay.output()}`);
  }
}

const lines = (relay: FixtureProcess) => relay.output().split('\n');

function keyOrderViolations(handled: Sequenced[]): string[] {
  const last = new Map<string, number>();
  const violations: string[] = [];
  for (const { key, seq } of handled) {
    const previous = last.get(key);
    if (previous !== undefined && seq <= previous) violations.push(`${key}: ${seq} after ${previous}`);
    last.set(key, seq);
  }
  return violations;
}

describe('outbox relay killed between publish and delete (real broker, real PostgreSQL)', () => {
  let admin: Admin;
  let server: TestDatabase;
  let db: Database;
  let consumer: ListenerApp | undefined;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
    server = await createTestDatabase('kc_outbox_crash');
    db = await openDatabase({ url: server.url, schema: SCHEMA });
    await migrate(db, KAFKA_CORE_MIGRATIONS);
    // Keyed by event id, counting applications: a duplicate effect would show as applied > 1.
    await db.exec(`CREATE TABLE effects (
      event_id text PRIMARY KEY,
      key text NOT NULL,
      seq integer NOT NULL,
      applied integer NOT NULL DEFAULT 1
    )`);
  });
  afterEach(async () => {
    for (const { child } of processes.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await consumer?.close();
    consumer = undefined;
  });
  afterAll(async () => {
    await admin.disconnect();
    await db.close();
    await server.drop();
  });

  it('republishes what it had published; the inbox applies every event exactly once, in key order', async () => {
    const events = 60;
    const keys = 6;
    const batchSize = 20;
    const topic = await newTopic(admin, 'outbox-crash', 3);
    const groupId = uniqueName('g-outbox-crash');
    const observer = await collect(topic);

    // The service's writes: each transaction enqueues a few events, in per-key order.
    const outbox = new KafkaOutbox({ brokers: testBrokers(), clientId: 'orders-service' });
    const sequenced: Sequenced[] = Array.from({ length: events }, (_, i) => ({
      key: `k${i % keys}`,
      seq: Math.floor(i / keys),
    }));
    const ids: string[] = [];
    for (let i = 0; i < events; i += 10) {
      const entries = sequenced
        .slice(i, i + 10)
        .map((event) => ({ event, options: { topic, key: event.key, eventType: 'order.changed' } }));
      ids.push(...(await db.transaction((tx) => outbox.enqueueAll(tx, entries))));
    }

    // The consuming service: inbox listener, its effect in the inbox transaction.
    const firstDeliveries: Sequenced[] = [];
    @Injectable()
    class OrderProjection {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        inbox: true,
        concurrency: { keyOrdered: true, maxInFlight: 4 },
      })
      async handle(
        @Payload() event: Sequenced,
        @KafkaHeaders(ENVELOPE_HEADERS.eventId) eventId: string,
        @Tx() tx: SqlExecutor,
      ) {
        firstDeliveries.push(event);
        await tx.query(
          `INSERT INTO effects (event_id, key, seq) VALUES ($1, $2, $3)
           ON CONFLICT (event_id) DO UPDATE SET applied = effects.applied + 1`,
          [eventId, event.key, event.seq],
        );
      }
    }
    // The consumer has no relay of its own: the relay processes are the only publishers.
    consumer = await startListenerApp([OrderProjection], { database: db, outbox: { relay: false } });

    // First relay: publishes one batch, then stalls on the delete and is killed there.
    const crashing = startRelayProcess(server.url, {
      HANG_ON_DELETE: '1',
      BATCH_SIZE: String(batchSize),
    });
    await untilWith(crashing, () => lines(crashing).includes(`published ${batchSize}`));
    await untilWith(crashing, async () => (await endOffsetSum(admin, topic)) === batchSize);
    crashing.child.kill('SIGKILL');
    expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const publishedBeforeKill = await endOffsetSum(admin, topic);
    expect(publishedBeforeKill).toBe(batchSize);

    // Nothing was removed: the published rows wait to be published again.
    const remaining = await db.query<{ id: string; attempts: number }>(
      'SELECT id, attempts FROM kafka_outbox ORDER BY seq',
    );
    expect(remaining.rows.map((row) => row.id)).toEqual(ids);
    expect(remaining.rows.every((row) => row.attempts === 0)).toBe(true);

    // Second relay: takes over the leadership the dead one's connection held, publishes everything.
    const relay = startRelayProcess(server.url, { BATCH_SIZE: String(batchSize) });
    await untilWith(relay, async () => {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM kafka_outbox');
      return Number(rows[0].n) === 0;
    });
    const onTopic = await endOffsetSum(admin, topic);
    expect(onTopic).toBe(events + publishedBeforeKill);
    await until(async () => {
      const offsets = await committedOffsets(admin, groupId, topic);
      const ends = await admin.fetchTopicOffsets(topic);
      return ends.every((end) => offsets[end.partition] === Number(end.high));
    });
    await until(() => observer.messages.length === onTopic);
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    await observer.stop();

    // On the topic: the first batch twice (same event ids), the rest once.
    const deliveriesById = new Map<string, number>();
    for (const message of observer.messages) {
      const id = headersOf(message)[ENVELOPE_HEADERS.eventId];
      deliveriesById.set(id, (deliveriesById.get(id) ?? 0) + 1);
    }
    expect(ids.map((id) => deliveriesById.get(id))).toEqual(
      ids.map((_, i) => (i < publishedBeforeKill ? 2 : 1)),
    );
    expect(deliveriesById.size).toBe(events);
    const duplicatesDelivered = onTopic - events;
    expect(duplicatesDelivered).toBeGreaterThan(0);

    // In the consumer: every event applied exactly once, the duplicates skipped by the inbox.
    const effects = await db.query<{ event_id: string; applied: number }>(
      'SELECT event_id, applied FROM effects',
    );
    const applied = new Map(effects.rows.map((row) => [row.event_id, row.applied]));
    const lost = ids.filter((id) => !applied.has(id)).length;
    const duplicateEffects = effects.rows.reduce((sum, row) => sum + row.applied - 1, 0);
    expect({ lost, duplicateEffects, effects: effects.rows.length }).toEqual({
      lost: 0,
      duplicateEffects: 0,
      effects: events,
    });
    const { rows: inbox } = await db.query<{ n: string }>('SELECT count(*) AS n FROM kafka_inbox');
    expect(Number(inbox[0].n)).toBe(events);
    const counters = consumer.app.get(KafkaListenerRegistry).list()[0].counters;
    expect(counters).toMatchObject({ processed: events, skipped: duplicatesDelivered, failed: 0 });
    expect(firstDeliveries).toHaveLength(events);
    expect(keyOrderViolations(firstDeliveries)).toEqual([]);

    console.log(
      `outbox relay SIGKILLed after publishing ${publishedBeforeKill} of ${events} events: ` +
        `${onTopic} records delivered, ${duplicatesDelivered} duplicate deliveries skipped by the inbox, ` +
        `lost ${lost}, duplicate effects ${duplicateEffects}`,
    );
  });
});
