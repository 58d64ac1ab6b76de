import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import { Ctx, DLT_HEADERS, KafkaContext, KafkaListener, Payload } from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  collect,
  committedOffsets,
  createTopic,
  produce,
  startListenerApp,
} from '../../../test/support/listener-app';
import { eventually } from '../../../test/support/service-app';

describe('batch listeners (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('hand whole fetched batches to the handler; undecodable records go to the DLQ alone', async () => {
    const topic = await createTopic(admin, 'batch', 1);
    const groupId = uniqueName('g-batch');
    const calls: number[][] = [];

    @Injectable()
    class BatchListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, batch: true })
      handle(@Payload() payloads: { n: number }[], @Ctx() ctx: KafkaContext) {
        expect(ctx.topic).toBe(topic);
        calls.push(payloads.map((p) => p.n));
      }
    }

    const values = Array.from({ length: 50 }, (_, n) => (n === 7 ? '{broken' : JSON.stringify({ n })));
    await produce(
      topic,
      values.map((value) => ({ value })),
    );
    const app = await startListenerApp([BatchListener]);
    // The dead-letter topic exists once the listener's startup has provisioned it.
    const dlq = await collect(`${topic}-dlq`);
    try {
      await eventually(async () =>
        (await committedOffsets(admin, groupId, topic))[0] === 50 ? true : undefined,
      );
      await eventually(async () => (dlq.messages.length === 1 ? true : undefined));
    } finally {
      await app.close();
      await dlq.stop();
    }
    const handled = calls.flat();
    expect(handled).toEqual(Array.from({ length: 50 }, (_, n) => n).filter((n) => n !== 7));
    // Fewer calls than records: the handler really received batches.
    expect(calls.length).toBeLessThan(25);
    expect(dlq.messages[0].value?.toString()).toBe('{broken');
    expect(dlq.messages[0].headers?.[DLT_HEADERS.errorClass]?.toString()).toBe('DeserializationError');
  });

  it('retries a failing batch whole, then dead-letters every record of it', async () => {
    const topic = await createTopic(admin, 'batch-fail', 1);
    const groupId = uniqueName('g-batch-fail');
    let calls = 0;

    @Injectable()
    class FailingBatchListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        batch: true,
        retry: { attempts: 2, initialDelayMs: 50, jitter: 0 },
      })
      handle() {
        calls++;
        throw new Error('downstream unavailable');
      }
    }

    await produce(
      topic,
      [1, 2, 3].map((n) => ({ value: JSON.stringify({ n }) })),
    );
    const app = await startListenerApp([FailingBatchListener]);
    const dlq = await collect(`${topic}-dlq`);
    try {
      await eventually(async () => (dlq.messages.length === 3 ? true : undefined));
      await eventually(async () =>
        (await committedOffsets(admin, groupId, topic))[0] === 3 ? true : undefined,
      );
    } finally {
      await app.close();
      await dlq.stop();
    }
    expect(dlq.messages.map((m) => m.value?.toString())).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(dlq.messages.every((m) => m.headers?.[DLT_HEADERS.attempts]?.toString() === '2')).toBe(true);
    expect(calls % 2).toBe(0);
  });
});
