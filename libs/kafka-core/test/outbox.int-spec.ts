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
  OutboxRelayOptions,
} from '@app/kafka-core';
import { KafkajsClient } from '@app/kafka-core/client/kafkajs.client';
import { SendRecords } from '@app/kafka-core/outbox/outbox-relay.options';
import { endOffsetSum, rawKafka, testBrokers, uniqueName } from '../../../test/support/kafka';
import { createTopic, headersOf, until } from '../../../test/support/listener-app';

/** The event every case enqueues: its key and its place in that key's sequence. */
class ItemChanged {
  constructor(
    readonly key: string,
    readonly seq: number,
    readonly note = '',
  ) {}
}

interface Received {
  key: string;
  partition: number;
  offset: number;
  value: ItemChanged;
  headers: Record<string, string>;
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Every record of a topic, from the beginning, with the partition it is on; kept by position, since a
 * consumer that rejoins its group may be handed a record twice.
 */
async function observe(topic: string): Promise<{ received: Received[]; stop(): Promise<void> }> {
  const byPosition = new Map<string, Received>();
  const consumer: Consumer = rawKafka().consumer({
    groupId: uniqueName('outbox-observer'),
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) =>
      void byPosition.set(`${partition}:${message.offset}`, {
        key: String(message.key),
        partition,
        offset: Number(message.offset),
        value: JSON.parse(String(message.value)) as ItemChanged,
        headers: headersOf(message),
      }),
  });
  return {
    get received() {
      return [...byPosition.values()];
    },
    stop: () => consumer.disconnect(),
  };
}

/** Each key's sequence numbers in the order they were written (a key lives on one partition). */
function sequencesByKey(received: Received[]): Record<string, number[]> {
  const sorted = [...received].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const byKey: Record<string, number[]> = {};
  for (const r of sorted) (byKey[r.key] ??= []).push(r.value.seq);
  return byKey;
}

/** The same contract on both adapters: the outbox must not care which database it lives in. */
describe.each(['postgres', 'pglite'] as const)('transactional outbox on %s (real broker)', (kind) => {
  const clientId = uniqueName('outbox');
  const outbox = new KafkaOutbox({ brokers: testBrokers(), clientId });
  let publisher: KafkaPublisher;
  let admin: Admin;
  let server: TestDatabase | undefined;
  // One database per variant (an embedded instance takes seconds to start); emptied between cases.
  let db: Database;
  let extraHandles: Database[] = [];
  let relays: OutboxRelay[] = [];
  const afterThis: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    // The relay's "Leading…" chatter and the expected "parked" error would only clutter the output.
    Logger.overrideLogger(false);
    admin = rawKafka().admin();
    await admin.connect();
    publisher = newPublisher();
    if (kind === 'postgres') server = await createTestDatabase('kc_outbox');
    db = await openDatabase({ url: server?.url, schema: 'outbox_contract' });
    await migrate(db, KAFKA_CORE_MIGRATIONS);
  });

  afterEach(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    await Promise.all(extraHandles.map((handle) => handle.close()));
    relays = [];
    extraHandles = [];
    for (const cleanup of afterThis.splice(0)) await cleanup();
    await db.exec('TRUNCATE kafka_outbox, kafka_outbox_dead');
  });

  afterAll(async () => {
    await publisher?.onApplicationShutdown();
    await admin?.disconnect();
    await db?.close();
    await server?.drop();
  });

  function newPublisher(): KafkaPublisher {
    return new KafkaPublisher(new KafkajsClient({ brokers: testBrokers(), clientId }), {
      brokers: testBrokers(),
      clientId,
    });
  }

  const publish: SendRecords = (topic, records) => publisher.sendRecords(topic, records);

  function startRelay(
    handle: Database,
    options: Partial<OutboxRelayOptions> = {},
    send: SendRecords = publish,
  ): OutboxRelay {
    const relay = new OutboxRelay(handle, send, {
      ...OUTBOX_RELAY_DEFAULTS,
      pollIntervalMs: 200,
      leaderRetryMs: 200,
      ...options,
    });
    relay.start();
    relays.push(relay);
    return relay;
  }

  const drained = async (relay: OutboxRelay) => (await relay.backlog()).pending === 0;

  it('rollback: an event enqueued in a transaction that throws is never published', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY)');
    const topic = await createTopic(admin, 'outbox-rollback', 3);
    const sentinelTopic = await createTopic(admin, 'outbox-sentinel', 1);
    const relay = startRelay(db);

    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO orders (id) VALUES (1)');
        await outbox.enqueue(tx, new ItemChanged('a', 0), { topic, key: 'a' });
        await outbox.enqueueAll(tx, [
          { event: new ItemChanged('b', 0), options: { topic, key: 'b' } },
          { event: new ItemChanged('a', 1), options: { topic, key: 'a' } },
        ]);
        throw new Error('business rule violated');
      }),
    ).rejects.toThrow('business rule violated');

    // A committed row after the rolled-back ones: once it is out, the relay has claimed past them.
    await db.transaction((tx) => outbox.enqueue(tx, new ItemChanged('s', 0), { topic: sentinelTopic }));
    await until(async () => (await endOffsetSum(admin, sentinelTopic)) === 1 && (await drained(relay)));

    expect(await endOffsetSum(admin, topic)).toBe(0);
    expect(relay.counters.published).toBe(1);
    expect((await db.query('SELECT 1 FROM orders')).rowCount).toBe(0);
    expect((await db.query('SELECT 1 FROM kafka_outbox')).rowCount).toBe(0);
    expect(await relay.backlog()).toEqual({ pending: 0, oldestAgeMs: 0, scheduled: 0, parked: 0 });
  });

  it('a scheduled event is published once due, not before, and holds back no other event of its key', async () => {
    const topic = await createTopic(admin, 'outbox-scheduled', 1);
    const relay = startRelay(db);
    const committedAt = Date.now();
    await db.transaction(async (tx) => {
      await outbox.enqueue(tx, new ItemChanged('k', 0, 'later'), { topic, key: 'k', delayMs: 2_500 });
      await outbox.enqueue(tx, new ItemChanged('k', 1, 'now'), { topic, key: 'k' });
    });
    await expect(
      db.transaction((tx) => outbox.enqueue(tx, new ItemChanged('k', 2), { topic, delayMs: -1 })),
    ).rejects.toThrow('delayMs must be a number of ms from 0');

    // The immediate event of the same key is not held behind the scheduled one.
    await until(async () => (await endOffsetSum(admin, topic)) === 1, 10_000);
    const waiting = await relay.backlog();
    expect(waiting).toMatchObject({ pending: 0, scheduled: 1, parked: 0 });
    expect(waiting.oldestAgeMs).toBe(0);

    await until(async () => (await endOffsetSum(admin, topic)) === 2, 15_000);
    expect(Date.now() - committedAt).toBeGreaterThanOrEqual(2_500);
    const observer = await observe(topic);
    afterThis.push(() => observer.stop());
    await until(async () => observer.received.length === 2);
    expect(observer.received.map((r) => r.value.note)).toEqual(['now', 'later']);
    expect(await relay.backlog()).toEqual({ pending: 0, oldestAgeMs: 0, scheduled: 0, parked: 0 });
  });

  it('a sleeping relay is woken by the commit, not by its poll; a stopped one leaves writers silent', async () => {
    const topic = await createTopic(admin, 'outbox-wake', 1);
    const relay = startRelay(db, { pollIntervalMs: 60_000 });
    const idleFlag = async () =>
      (await db.query<{ relay_idle: boolean }>('SELECT relay_idle FROM kafka_outbox_state')).rows[0]
        .relay_idle;
    await until(async () => relay.counters.leader && (await idleFlag()));

    const committedAt = Date.now();
    await db.transaction((tx) => outbox.enqueue(tx, new ItemChanged('w', 0), { topic }));
    await until(async () => (await endOffsetSum(admin, topic)) === 1, 10_000);
    // Far below the 60 s poll: only the notification can have woken it.
    expect(Date.now() - committedAt).toBeLessThan(10_000);
    await until(idleFlag);

    await relay.stop();
    // A relay that left tells writers not to notify anyone.
    expect(await idleFlag()).toBe(false);
  });

  it('commit: exactly the enqueued events arrive, each key in order, with the envelope', async () => {
    const topic = await createTopic(admin, 'outbox-commit', 3);
    const relay = startRelay(db);
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
    const next: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
    const expected = new Map<string, { key: string; seq: number; correlationId?: string }>();

    // Eight transactions, keys interleaved within and across them; some with one enqueue per event,
    // some with one statement for all, some with a correlation id of their own.
    for (let t = 0; t < 8; t++) {
      const correlationId = t % 3 === 0 ? `order-${t}` : undefined;
      const batch = Array.from({ length: 6 }, (_, i) => keys[(t + i * 2) % keys.length]).map((key) => ({
        key,
        seq: next[key]++,
      }));
      const ids = await db.transaction(async (tx) => {
        if (t % 2 === 0) {
          return outbox.enqueueAll(
            tx,
            batch.map(({ key, seq }) => ({
              event: new ItemChanged(key, seq),
              options: { topic, key, eventType: 'item.changed', correlationId },
            })),
          );
        }
        const out: string[] = [];
        for (const { key, seq } of batch) {
          out.push(
            await outbox.enqueue(tx, new ItemChanged(key, seq), {
              topic,
              key,
              eventType: 'item.changed',
              correlationId,
            }),
          );
        }
        return out;
      });
      ids.forEach((id, i) => expected.set(id, { ...batch[i], correlationId }));
    }
    const total = expected.size;

    await until(async () => (await endOffsetSum(admin, topic)) >= total && (await drained(relay)));
    const observer = await observe(topic);
    try {
      await until(() => observer.received.length >= total);
      // Exactly once here: no failures, so nothing is sent twice.
      expect(await endOffsetSum(admin, topic)).toBe(total);
      expect(observer.received).toHaveLength(total);
      const received = observer.received;
      expect(new Set(received.map((r) => r.headers['event-id']))).toEqual(new Set(expected.keys()));

      for (const r of received) {
        const sent = expected.get(r.headers['event-id'])!;
        expect(r.key).toBe(sent.key);
        expect(r.value).toEqual({ key: sent.key, seq: sent.seq, note: '' });
        expect(r.headers['event-type']).toBe('item.changed');
        expect(r.headers['correlation-id']).toBe(sent.correlationId ?? r.headers['event-id']);
        expect(r.headers.traceparent).toMatch(TRACEPARENT);
        expect(r.headers.source).toBe(clientId);
        expect(r.headers['schema-version']).toBe('1');
      }
      // Records of a key never spread over partitions, and arrive in the order they were enqueued.
      for (const key of keys) {
        expect(new Set(received.filter((r) => r.key === key).map((r) => r.partition)).size).toBe(1);
      }
      const sequences = sequencesByKey(received);
      for (const key of keys) expect(sequences[key]).toEqual(Array.from({ length: next[key] }, (_, i) => i));
    } finally {
      await observer.stop();
    }
    expect(relay.counters.published).toBe(total);
    expect(relay.counters.parked).toBe(0);
    expect(await relay.backlog()).toEqual({ pending: 0, oldestAgeMs: 0, scheduled: 0, parked: 0 });
    expect((await db.query('SELECT 1 FROM kafka_outbox')).rowCount).toBe(0);
  });

  it('a row the broker refuses is retried, then parked, holding back only the later rows of its key', async () => {
    const topic = uniqueName('outbox-refused');
    // One partition: every key shares the produce requests the oversized row spoils.
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: '2000' }],
        },
      ],
      waitForLeaders: true,
    });
    // The publisher is seen through a window: what each request carried, whether the broker took it,
    // and which rows were parked at the moment the relay handed it over.
    const requests: { ids: string[]; ok: boolean; parkedBefore: string[] }[] = [];
    const send: SendRecords = async (t, records) => {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM kafka_outbox_dead');
      const entry = {
        ids: records.map((r) => r.headers?.['event-id'] ?? ''),
        ok: false,
        parkedBefore: rows.map((r) => r.id),
      };
      requests.push(entry);
      const written = await publisher.sendRecords(t, records);
      entry.ok = true;
      return written;
    };
    const relay = startRelay(
      db,
      { rowBackoff: { attempts: 2, initialDelayMs: 50, multiplier: 1, maxDelayMs: 50, jitter: 0 } },
      send,
    );

    const plan: [string, number, string?][] = [
      ['K', 0],
      ['K', 1, 'x'.repeat(5_000)],
      ['A', 0],
      ['B', 0],
      ['K', 2],
      ['A', 1],
      ['K', 3],
      ['B', 1],
    ];
    const later: [string, number][] = [
      ['A', 2],
      ['K', 4],
      ['B', 2],
    ];
    const enqueue = (rows: [string, number, string?][]) =>
      db.transaction((tx) =>
        outbox.enqueueAll(
          tx,
          rows.map(([key, seq, note]) => ({
            event: new ItemChanged(key, seq, note),
            options: { topic, key },
          })),
        ),
      );
    const firstIds = await enqueue(plan);
    const laterIds = await enqueue(later);
    const refusedId = firstIds[1];
    const laterOfK = [firstIds[4], firstIds[6], laterIds[1]];
    const otherKeys = new Set([firstIds[2], firstIds[3], firstIds[5], firstIds[7], laterIds[0], laterIds[2]]);

    await until(async () => {
      const backlog = await relay.backlog();
      return backlog.pending === 0 && backlog.parked === 1;
    });

    const { rows: dead } = await db.query<{
      id: string;
      aggregateid: string;
      attempts: number;
      reason: string;
    }>('SELECT id, aggregateid, attempts, reason FROM kafka_outbox_dead');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ id: refusedId, aggregateid: 'K', attempts: 2 });
    // The reason is the broker's own (MESSAGE_TOO_LARGE).
    expect(dead[0].reason).toMatch(/larger than the max message size/);
    expect(relay.counters.parked).toBe(1);

    // Tried twice, never accepted.
    expect(requests.filter((r) => r.ids.includes(refusedId) && !r.ok).length).toBeGreaterThanOrEqual(2);
    expect(requests.some((r) => r.ids.includes(refusedId) && r.ok)).toBe(false);
    // No later row of K was written before the refused row was parked (a refused request writes
    // nothing: one partition, one record batch)...
    for (const request of requests.filter((r) => r.ok && r.ids.some((id) => laterOfK.includes(id)))) {
      expect(request.parkedBefore).toContain(refusedId);
    }
    // ...while rows of the other keys were published meanwhile.
    expect(
      requests.some(
        (r) => r.ok && !r.parkedBefore.includes(refusedId) && r.ids.some((id) => otherKeys.has(id)),
      ),
    ).toBe(true);

    const observer = await observe(topic);
    try {
      await until(() => observer.received.length >= 10);
      expect(sequencesByKey(observer.received)).toEqual({ K: [0, 2, 3, 4], A: [0, 1, 2], B: [0, 1, 2] });
      expect(observer.received.map((r) => r.headers['event-id'])).not.toContain(refusedId);
    } finally {
      await observer.stop();
    }
    expect(await endOffsetSum(admin, topic)).toBe(10);
    expect(relay.counters.published).toBe(10);
  });

  // kafkajs rolls back the idempotence sequence of every partition of a request one partition refused,
  // although the broker appended the others; unless the producer is replaced, the one-by-one retry gets
  // OUT_OF_ORDER_SEQUENCE_NUMBER and a later request of the same shape is taken for a duplicate.
  it('a refused row costs nothing to rows of other partitions that shared its request', async () => {
    const topic = uniqueName('outbox-refused-multi');
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: '2000' }],
        },
      ],
      waitForLeaders: true,
    });
    // A publisher of its own: the defect leaves the producer's sequence numbers out of step.
    const ownPublisher = newPublisher();
    afterThis.push(() => ownPublisher.onApplicationShutdown());
    let added: Promise<string> | undefined;
    const send: SendRecords = async (t, records) => {
      try {
        return await ownPublisher.sendRecords(t, records);
      } catch (error) {
        // A row of D committed while the relay is busy with the refused one.
        added ??= db.transaction((tx) => outbox.enqueue(tx, new ItemChanged('D', 2), { topic, key: 'D' }));
        await added;
        throw error;
      }
    };
    const relay = startRelay(
      db,
      { rowBackoff: { attempts: 2, initialDelayMs: 50, multiplier: 1, maxDelayMs: 50, jitter: 0 } },
      send,
    );
    // With three partitions murmur2 puts D on partition 0 and K on partition 1.
    const [, , refusedId] = await db.transaction((tx) =>
      outbox.enqueueAll(tx, [
        { event: new ItemChanged('D', 0), options: { topic, key: 'D' } },
        { event: new ItemChanged('D', 1), options: { topic, key: 'D' } },
        { event: new ItemChanged('K', 0, 'x'.repeat(5_000)), options: { topic, key: 'K' } },
      ]),
    );
    await until(async () => {
      const backlog = await relay.backlog();
      return added !== undefined && backlog.pending === 0 && backlog.parked >= 1;
    });

    const written = await endOffsetSum(admin, topic);
    const observer = await observe(topic);
    try {
      await until(() => observer.received.length >= written);
      // D0 and D1 were written by the request K0 spoiled: they are done, never sent again behind D1.
      expect(sequencesByKey(observer.received)).toEqual({ D: [0, 1, 2] });
    } finally {
      await observer.stop();
    }
    const { rows: dead } = await db.query<{ id: string }>('SELECT id FROM kafka_outbox_dead');
    expect(dead.map((r) => r.id)).toEqual([refusedId]);
  });

  it("onPublished 'mark': published rows stay, stamped, and are not published again", async () => {
    const topic = await createTopic(admin, 'outbox-mark', 2);
    const sentinelTopic = await createTopic(admin, 'outbox-mark-sentinel', 1);
    const relay = startRelay(db, { onPublished: 'mark' });

    const ids = await db.transaction((tx) =>
      outbox.enqueueAll(
        tx,
        Array.from({ length: 6 }, (_, i) => ({
          event: new ItemChanged(`m${i % 2}`, Math.floor(i / 2)),
          options: { topic, key: `m${i % 2}` },
        })),
      ),
    );
    await until(async () => (await endOffsetSum(admin, topic)) === 6 && (await drained(relay)));

    const { rows } = await db.query<{ id: string; published_at: Date | null }>(
      'SELECT id, published_at FROM kafka_outbox ORDER BY seq',
    );
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(rows.every((r) => r.published_at !== null)).toBe(true);

    // Later rounds, of this relay and of a new one, pass over the marked rows.
    const sentinel = (seq: number) =>
      db.transaction((tx) => outbox.enqueue(tx, new ItemChanged('s', seq), { topic: sentinelTopic }));
    await sentinel(0);
    await until(async () => (await endOffsetSum(admin, sentinelTopic)) === 1 && (await drained(relay)));
    await relay.stop();
    const successor = startRelay(db, { onPublished: 'mark' });
    await sentinel(1);
    await until(async () => (await endOffsetSum(admin, sentinelTopic)) === 2 && (await drained(successor)));

    expect(await endOffsetSum(admin, topic)).toBe(6);
    expect(relay.counters.published).toBe(7);
    expect(successor.counters.published).toBe(1);
    expect((await db.query('SELECT 1 FROM kafka_outbox WHERE published_at IS NOT NULL')).rowCount).toBe(8);
  });

  /** A handle on the suite's schema whose backends carry their own application_name. */
  async function namedHandle(name: string): Promise<Database> {
    const url = new URL(server!.url);
    url.searchParams.set('application_name', name);
    const handle = await openDatabase({ url: url.toString(), schema: db.schema });
    extraHandles.push(handle);
    return handle;
  }

  /** The backends of one application_name whose last statement tried the leader lock. */
  const lockTries = async (name: string) =>
    (
      await db.query<{ pid: number; query_start: Date }>(
        `SELECT pid, query_start FROM pg_stat_activity
          WHERE application_name = $1 AND query LIKE '%pg_try_advisory_lock%'`,
        [name],
      )
    ).rows;

  (kind === 'postgres' ? it : it.skip)(
    'a follower retries the leader lock on one backend instead of opening a new one for every try',
    async () => {
      const leader = startRelay(await namedHandle(uniqueName('leader').replace(/-/g, '_')));
      await until(() => leader.counters.leader);
      const followerName = uniqueName('follower').replace(/-/g, '_');
      const follower = startRelay(await namedHandle(followerName), { leaderRetryMs: 50 });
      // Every try moves query_start; sample until ten tries were seen.
      const pids = new Set<number>();
      const tries = new Set<number>();
      await until(async () => {
        for (const row of await lockTries(followerName)) {
          pids.add(row.pid);
          tries.add(row.query_start.getTime());
        }
        return tries.size >= 10;
      });
      expect(pids.size).toBe(1);
      expect(follower.counters.leader).toBe(false);
    },
  );

  (kind === 'postgres' ? it : it.skip)(
    'a leader whose session is terminated stops publishing until it holds the lock again',
    async () => {
      const topic = await createTopic(admin, 'outbox-lost-session', 1);
      const name = uniqueName('lost').replace(/-/g, '_');
      const relay = startRelay(await namedHandle(name), { leaderRetryMs: 50 });
      await until(() => relay.counters.leader);

      // The test takes the lock the moment the leader's session dies, and keeps it a while.
      const holder = await namedHandle(uniqueName('holder').replace(/-/g, '_'));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      const holderDone = holder.session(async (connection) => {
        const key = `hashtext('kafka-core.outbox.' || current_schema())::bigint`;
        await db.query(
          `SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.locktype = 'advisory' AND a.application_name = $1`,
          [name],
        );
        await until(
          async () =>
            (await connection.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${key}) AS ok`)).rows[0].ok,
        );
        holding();
        await released;
        await connection.query(`SELECT pg_advisory_unlock(${key})`);
      });
      await held;
      const ids = await db.transaction((tx) =>
        outbox.enqueueAll(
          tx,
          [0, 1, 2].map((seq) => ({ event: new ItemChanged('L', seq), options: { topic, key: 'L' } })),
        ),
      );
      // The relay noticed and tries the lock again (on a new session, the old one is gone)...
      const triesSeen = new Set<number>();
      await until(async () => {
        for (const row of await lockTries(name)) triesSeen.add(row.query_start.getTime());
        return triesSeen.size >= 3;
      });
      expect(relay.counters.leader).toBe(false);
      // ...and published nothing meanwhile, through no other connection.
      expect(await endOffsetSum(admin, topic)).toBe(0);

      release();
      await holderDone;
      await until(async () => (await endOffsetSum(admin, topic)) === 3 && (await drained(relay)));
      const observer = await observe(topic);
      afterThis.push(() => observer.stop());
      await until(() => observer.received.length === 3);
      expect(observer.received.map((r) => r.headers['event-id'])).toEqual(ids);
      expect(relay.counters.leader).toBe(true);
    },
  );

  // One process owns an embedded database: two relays on it would be two loops of one process, not
  // two instances competing, so the leader election is a server-only case.
  (kind === 'postgres' ? it : it.skip)(
    'two relays on one database: one leads, rows go out once and in order, the other takes over',
    async () => {
      // A second instance of the service: its own pool on the same schema.
      const other = await openDatabase({ url: server!.url, schema: db.schema });
      extraHandles.push(other);
      const topic = await createTopic(admin, 'outbox-leader', 3);
      const a = startRelay(db, { leaderRetryMs: 100 });
      const b = startRelay(other, { leaderRetryMs: 100 });
      const leaders = () => [a, b].filter((relay) => relay.counters.leader);

      await until(() => leaders().length === 1);
      const keys = ['p', 'q', 'r', 's'];
      const next: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
      const ids = new Set<string>();
      const enqueueRound = async (handle: Database) => {
        const batch = keys.concat(keys.slice(0, 2)).map((key) => ({ key, seq: next[key]++ }));
        const written = await handle.transaction((tx) =>
          outbox.enqueueAll(
            tx,
            batch.map(({ key, seq }) => ({ event: new ItemChanged(key, seq), options: { topic, key } })),
          ),
        );
        written.forEach((id) => ids.add(id));
      };
      // Both instances write; whichever leads publishes.
      for (let t = 0; t < 10; t++) await enqueueRound(t % 2 === 0 ? db : other);
      await until(async () => (await endOffsetSum(admin, topic)) >= ids.size && (await drained(a)));
      expect(await endOffsetSum(admin, topic)).toBe(60);
      expect(leaders()).toHaveLength(1);
      const [leader] = leaders();
      const follower = leader === a ? b : a;
      expect(leader.counters.published).toBe(60);
      expect(follower.counters.published).toBe(0);

      // The leader stops (a rolling deploy); the other takes the lock over and publishes what follows.
      await leader.stop();
      await until(() => follower.counters.leader);
      for (let t = 0; t < 3; t++) await enqueueRound(t % 2 === 0 ? db : other);
      await until(async () => (await endOffsetSum(admin, topic)) >= ids.size && (await drained(follower)));
      expect(await endOffsetSum(admin, topic)).toBe(78);
      expect(follower.counters.published).toBe(18);

      const observer = await observe(topic);
      try {
        await until(() => observer.received.length >= 78);
        expect(new Set(observer.received.map((r) => r.headers['event-id']))).toEqual(ids);
        const sequences = sequencesByKey(observer.received);
        for (const key of keys)
          expect(sequences[key]).toEqual(Array.from({ length: next[key] }, (_, i) => i));
      } finally {
        await observer.stop();
      }
    },
  );
});
