import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import { Database, openDatabase, SqlExecutor } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import {
  Ack,
  Acknowledgment,
  Ctx,
  ENVELOPE_HEADERS,
  KafkaContext,
  KafkaListener,
  Payload,
  Tx,
} from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  committedOffsets,
  createTopic,
  ListenerApp,
  produce,
  startListenerApp,
} from '../../../test/support/listener-app';
import { untilOr } from './support/listener-probes';

/**
 * Item 7 of issue 11: records awaiting `acknowledge()` count against `maxInFlight` until acknowledged;
 * a `nack(delay)` after the handler returned redelivers the record; with the inbox, a nack rolls the
 * inbox row back so the redelivery is handled rather than skipped as a duplicate.
 */
describe('manual acknowledgment, bounded and complete (real broker, real PostgreSQL)', () => {
  let admin: Admin;
  let server: TestDatabase;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
    server = await createTestDatabase('kc_ack_bound');
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    await admin.disconnect();
    await server.drop();
  });

  const start = async (...args: Parameters<typeof startListenerApp>): Promise<ListenerApp> => {
    const app = await startListenerApp(...args);
    let closing: Promise<void> | undefined;
    const close = () => (closing ??= app.close());
    cleanups.push(close);
    return { app: app.app, close };
  };
  const committed = async (groupId: string, topic: string) =>
    (await committedOffsets(admin, groupId, topic))[0];

  it('maxInFlight 5: five records are handed over while unacknowledged, then one more per acknowledgment', async () => {
    const topic = await createTopic(admin, 'ack-bound', 1);
    const groupId = uniqueName('g-ack-bound');
    const acks: { offset: number; ack: Acknowledgment }[] = [];
    let acknowledged = 0;
    // How many records the handler held unacknowledged at each handover, this one included.
    const outstandingAtHandover: number[] = [];

    @Injectable()
    class HoldingListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        ackMode: 'manual',
        maxInFlight: 5,
        commitIntervalMs: 100,
      })
      handle(@Ack() ack: Acknowledgment, @Ctx() ctx: KafkaContext) {
        acks.push({ offset: Number(ctx.offset), ack });
        outstandingAtHandover.push(acks.length - acknowledged);
      }
    }

    const total = 12;
    await produce(
      topic,
      Array.from({ length: total }, (_, n) => ({ value: JSON.stringify({ n }) })),
    );
    await start([HoldingListener]);
    await untilOr(
      () => acks.length >= 5,
      () => acks.length,
    );
    // Acknowledge the oldest record, one at a time, each time waiting for the next handover.
    while (acknowledged < total) {
      acks[acknowledged].ack.acknowledge();
      acknowledged++;
      const expected = Math.min(total, acknowledged + 5);
      await untilOr(
        () => acks.length >= expected,
        () => ({ handedOver: acks.length, acknowledged }),
        15_000,
      );
    }
    await untilOr(
      async () => (await committed(groupId, topic)) === total,
      () => committed(groupId, topic),
    );

    expect(Math.max(...outstandingAtHandover)).toBe(5);
    // Five at first, then each handover follows an acknowledgment: 1..5, then 5 every time after.
    expect(outstandingAtHandover).toEqual([1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5]);
    expect(acks.map((a) => a.offset)).toEqual(Array.from({ length: total }, (_, n) => n));
  });

  it('a nack(delay) called after the handler returned redelivers that record after the delay', async () => {
    const topic = await createTopic(admin, 'late-nack', 1);
    const groupId = uniqueName('g-late-nack');
    const deliveries: { offset: number; at: number; ack: Acknowledgment }[] = [];

    @Injectable()
    class LateNackListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        ackMode: 'manual',
        commitIntervalMs: 100,
      })
      handle(@Ack() ack: Acknowledgment, @Ctx() ctx: KafkaContext) {
        const offset = Number(ctx.offset);
        deliveries.push({ offset, at: Date.now(), ack });
        // Everything but record 0's first delivery is acknowledged straight away.
        if (offset !== 0 || deliveries.filter((d) => d.offset === 0).length > 1) ack.acknowledge();
      }
    }

    await produce(
      topic,
      [0, 1, 2].map((n) => ({ value: JSON.stringify({ n }) })),
    );
    await start([LateNackListener]);
    await untilOr(
      () => deliveries.some((d) => d.offset === 2),
      () => deliveries.map((d) => d.offset),
    );
    const nackedAt = Date.now();
    deliveries.find((d) => d.offset === 0)?.ack.nack(1_000);
    await untilOr(
      async () => (await committed(groupId, topic)) === 3,
      async () => ({
        committed: await committed(groupId, topic),
        delivered: deliveries.map((d) => d.offset),
      }),
      10_000,
    );

    const ofRecord0 = deliveries.filter((d) => d.offset === 0);
    expect(ofRecord0).toHaveLength(2);
    // Timers may fire a millisecond early; everything else only adds delay.
    expect(ofRecord0[1].at - nackedAt).toBeGreaterThanOrEqual(995);
  });

  it('inbox: a nack inside the handler rolls the inbox row back, so the redelivery is handled and its effect stored once', async () => {
    const db: Database = await openDatabase({ url: server.url, schema: `svc_${Date.now().toString(36)}` });
    cleanups.push(() => db.close());
    await db.exec(
      'CREATE TABLE effects (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id text NOT NULL, note text NOT NULL)',
    );
    const topic = await createTopic(admin, 'inbox-nack', 1);
    const groupId = uniqueName('g-inbox-nack');
    const calls: string[] = [];

    @Injectable()
    class NackingInboxListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, inbox: true })
      async handle(
        @Payload() payload: { note: string },
        @Ctx() ctx: KafkaContext,
        @Ack() ack: Acknowledgment,
        @Tx() tx: SqlExecutor,
      ) {
        const delivery = calls.length + 1;
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [
          ctx.eventId,
          `${payload.note}, delivery ${delivery}`,
        ]);
        if (delivery === 1) {
          calls.push('nacked');
          ack.nack(200);
        } else calls.push('handled');
      }
    }

    await produce(topic, [
      {
        key: 'patient-1',
        value: JSON.stringify({ note: 'pain 7' }),
        headers: { [ENVELOPE_HEADERS.eventId]: 'evt-nack' },
      },
    ]);
    await start([NackingInboxListener], { database: db });
    await untilOr(
      async () => (await committed(groupId, topic)) === 1,
      async () => ({ committed: await committed(groupId, topic), calls }),
    );

    expect(calls).toEqual(['nacked', 'handled']);
    expect((await db.query('SELECT event_id, note FROM effects ORDER BY seq')).rows).toEqual([
      { event_id: 'evt-nack', note: 'pain 7, delivery 2' },
    ]);
    expect((await db.query('SELECT group_id, event_id FROM kafka_inbox')).rows).toEqual([
      { group_id: groupId, event_id: 'evt-nack' },
    ]);
  });
});
