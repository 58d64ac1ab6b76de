import { Logger } from '@nestjs/common';
import { Admin, Consumer } from 'kafkajs';
import { Database, migrate, openDatabase } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import {
  KAFKA_CORE_MIGRATIONS,
  KafkaOutbox,
  KafkaPublisher,
  OUTBOX_RELAY_DEFAULTS,
  OutboxRelay,
} from '@app/kafka-core';
import { KafkajsClient } from '@app/kafka-core/client/kafkajs.client';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import { headersOf, until } from '../../../test/support/listener-app';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startKafka } = require('../../../scripts/kafka/kafka');

interface KafkaHandle {
  brokers: string[];
  nodes: { id: number }[];
  stop(): Promise<void>;
  killNode(id: number, signal?: string): Promise<void>;
  startNode(id: number): Promise<void>;
}

class ItemChanged {
  constructor(
    readonly key: string,
    readonly seq: number,
  ) {}
}

/** The outbox rides out a broker crash: rows wait, untouched, and go out by themselves once it is back. */
describe('outbox relay across a broker outage (private broker, PostgreSQL)', () => {
  const clientId = uniqueName('outbox-outage');
  let kafka: KafkaHandle;
  let database: TestDatabase;
  let db: Database;
  let publisher: KafkaPublisher;
  let relay: OutboxRelay;
  let outbox: KafkaOutbox;
  const topic = uniqueName('outbox-outage');

  const withAdmin = async <T>(work: (admin: Admin) => Promise<T>): Promise<T> => {
    const admin = rawKafka(kafka.brokers).admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  };

  beforeAll(async () => {
    // The relay's warnings while the broker is gone are the expected part of this case.
    Logger.overrideLogger(false);
    // A private broker: killing the shared one would disturb the other suites.
    kafka = await startKafka({ port: 0 });
    database = await createTestDatabase('kc_outbox_outage');
    db = await openDatabase({ url: database.url, schema: 'outage' });
    await migrate(db, KAFKA_CORE_MIGRATIONS);
    await withAdmin((admin) =>
      admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
        waitForLeaders: true,
      }),
    );
    const options = { brokers: kafka.brokers, clientId, producer: { sendTimeoutMs: 2_000, retries: 1 } };
    outbox = new KafkaOutbox(options);
    publisher = new KafkaPublisher(new KafkajsClient({ brokers: kafka.brokers, clientId }), options);
    relay = new OutboxRelay(db, (t, records) => publisher.sendRecords(t, records), {
      ...OUTBOX_RELAY_DEFAULTS,
      pollIntervalMs: 200,
      brokerBackoff: { initialDelayMs: 100, multiplier: 2, maxDelayMs: 500, jitter: 0.2 },
    });
  }, 120_000);

  afterAll(async () => {
    await relay?.stop();
    await publisher?.onApplicationShutdown();
    await db?.close();
    await database?.drop();
    await kafka?.stop();
  });

  it('keeps the rows while the broker is down and publishes every one of them once it is back', async () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const next: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
    const ids = new Set<string>();
    const enqueueRound = async () => {
      const batch = keys.map((key) => ({ key, seq: next[key]++ }));
      const written = await db.transaction((tx) =>
        outbox.enqueueAll(
          tx,
          batch.map(({ key, seq }) => ({ event: new ItemChanged(key, seq), options: { topic, key } })),
        ),
      );
      written.forEach((id) => ids.add(id));
    };

    relay.start();
    // A first round while the broker is up: the producer is connected when the broker dies.
    await enqueueRound();
    await until(async () => (await relay.backlog()).pending === 0);
    expect(relay.counters.published).toBe(keys.length);

    const [node] = kafka.nodes;
    await kafka.killNode(node.id, 'SIGKILL');
    const failedBefore = relay.counters.failed;
    for (let round = 0; round < 10; round++) await enqueueRound();
    const waiting = ids.size - keys.length;

    // The relay keeps trying, round after round, and neither counts that against the rows nor parks them.
    await until(() => relay.counters.failed >= failedBefore + 2 * waiting, 30_000);
    const backlog = await relay.backlog();
    expect(backlog).toMatchObject({ pending: waiting, parked: 0 });
    expect(backlog.oldestAgeMs).toBeGreaterThan(0);
    const { rows } = await db.query<{ max: number; errors: string }>(
      'SELECT max(attempts) AS max, count(last_error) AS errors FROM kafka_outbox',
    );
    expect(rows[0]).toEqual({ max: 0, errors: '0' });
    expect(relay.counters.parked).toBe(0);

    await kafka.startNode(node.id);
    await until(async () => (await relay.backlog()).pending === 0, 45_000);
    expect(await relay.backlog()).toEqual({ pending: 0, oldestAgeMs: 0, scheduled: 0, parked: 0 });
    expect(relay.counters.published).toBe(ids.size);

    const consumer: Consumer = rawKafka(kafka.brokers).consumer({
      groupId: uniqueName('outage-observer'),
      maxWaitTimeInMs: 100,
    });
    // By position: a consumer that rejoins its group may be handed a record twice.
    const byPosition = new Map<
      string,
      { key: string; partition: number; offset: number; seq: number; id: string }
    >();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) =>
          void byPosition.set(`${partition}:${message.offset}`, {
            key: String(message.key),
            partition,
            offset: Number(message.offset),
            seq: (JSON.parse(String(message.value)) as ItemChanged).seq,
            id: headersOf(message)['event-id'],
          }),
      });
      // Waiting for the end offsets would not do: sends the publisher gave up on during the outage
      // may still land after the relay drained, so wait for every event instead (the diff below
      // names any that never came).
      await until(() => {
        const seen = new Set([...byPosition.values()].map((r) => r.id));
        return [...ids].every((id) => seen.has(id));
      }).catch(() => undefined);
    } finally {
      await consumer.disconnect();
    }

    const received = [...byPosition.values()];
    // At least once: nothing lost; copies are allowed.
    expect(new Set(received.map((r) => r.id))).toEqual(ids);
    const duplicates = received.length - ids.size;
    if (duplicates > 0) console.info(`outbox broker outage: ${duplicates} duplicate record(s) so far`);
    // Each key in order, counting each event at its first appearance.
    received.sort((x, y) => x.partition - y.partition || x.offset - y.offset);
    const firstSeen = new Set<string>();
    const sequences: Record<string, number[]> = {};
    for (const r of received) {
      if (firstSeen.has(r.id)) continue;
      firstSeen.add(r.id);
      (sequences[r.key] ??= []).push(r.seq);
    }
    for (const key of keys) expect(sequences[key]).toEqual(Array.from({ length: next[key] }, (_, i) => i));
  }, 120_000);
});
