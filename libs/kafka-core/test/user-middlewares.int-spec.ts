import { Injectable } from '@nestjs/common';
import { IsInt, Min } from 'class-validator';
import { Admin } from 'kafkajs';
import { Ctx, DLT_HEADERS, KafkaContext, KafkaListener, NonRetryableError, Payload } from '@app/kafka-core';
import type { Handler, InboundMessage, Middleware, Outcome } from '../src/pipeline/pipeline';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  collect,
  committedOffsets,
  createTopic,
  headersOf,
  produce,
  startListenerApp,
} from '../../../test/support/listener-app';
import { untilOr } from './support/listener-probes';

class Reading {
  @IsInt()
  @Min(0)
  n!: number;
}

/**
 * Item 13 of issue 11: users add middlewares module-wide and per listener. Module ones run outside
 * listener ones; both run after deserialization and validation, around the handler; what they
 * throw is retried and dead-lettered like the handler's own errors.
 */
describe('user middlewares (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('module middlewares wrap listener middlewares, which wrap the handler; both see the validated payload', async () => {
    const topic = await createTopic(admin, 'middlewares', 1);
    const groupId = uniqueName('g-middlewares');
    const trace: string[] = [];
    const payloads: { layer: string; isReading: boolean; payload: unknown }[] = [];

    const tracing =
      (layer: string): Middleware =>
      (next: Handler) =>
      async (message: InboundMessage): Promise<Outcome> => {
        payloads.push({ layer, isReading: message.payload instanceof Reading, payload: message.payload });
        trace.push(`${layer} before ${message.record.offset}`);
        const outcome = await next(message);
        trace.push(`${layer} after ${message.record.offset}: ${outcome.status}`);
        return outcome;
      };

    @Injectable()
    class ReadingListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        payload: Reading,
        middlewares: [tracing('listener')],
      })
      handle(@Payload() reading: Reading, @Ctx() ctx: KafkaContext) {
        trace.push(`handler ${ctx.offset}`);
      }
    }

    // Offset 1 is not JSON and offset 2 fails validation: neither reaches the middlewares.
    await produce(topic, [
      { value: JSON.stringify({ n: 1 }) },
      { value: '{not json' },
      { value: JSON.stringify({ n: -1 }) },
      { value: JSON.stringify({ n: 3 }) },
    ]);
    const app = await startListenerApp([ReadingListener], { middlewares: [tracing('module')] });
    try {
      await untilOr(
        async () => (await committedOffsets(admin, groupId, topic))[0] === 4,
        async () => ({ committed: await committedOffsets(admin, groupId, topic), trace }),
      );
    } finally {
      await app.close();
    }

    expect(trace).toEqual([
      'module before 0',
      'listener before 0',
      'handler 0',
      'listener after 0: success',
      'module after 0: success',
      'module before 3',
      'listener before 3',
      'handler 3',
      'listener after 3: success',
      'module after 3: success',
    ]);
    expect(payloads).toEqual([
      { layer: 'module', isReading: true, payload: { n: 1 } },
      { layer: 'listener', isReading: true, payload: { n: 1 } },
      { layer: 'module', isReading: true, payload: { n: 3 } },
      { layer: 'listener', isReading: true, payload: { n: 3 } },
    ]);
  });

  it("a middleware's errors are retried and dead-lettered like the handler's", async () => {
    const topic = await createTopic(admin, 'middleware-errors', 1);
    const groupId = uniqueName('g-middleware-errors');
    const handled: string[] = [];

    /** Refuses record 1 for good, and record 0 on its first attempt only. */
    const gate: Middleware = (next) => async (message) => {
      const n = (message.payload as { n: number }).n;
      if (n === 1) throw new NonRetryableError('consent withdrawn');
      if (n === 0 && message.attempt === 1) throw new Error('consent service unavailable');
      return next(message);
    };

    @Injectable()
    class GatedListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        retry: { attempts: 3, initialDelayMs: 100, jitter: 0 },
        middlewares: [gate],
      })
      handle(@Payload() payload: { n: number }, @Ctx() ctx: KafkaContext) {
        handled.push(`${payload.n}@${ctx.attempt}`);
      }
    }

    await produce(
      topic,
      [0, 1, 2].map((n) => ({ value: JSON.stringify({ n }) })),
    );
    const app = await startListenerApp([GatedListener]);
    const dlq = await collect(`${topic}-dlq`);
    try {
      await untilOr(
        async () => (await committedOffsets(admin, groupId, topic))[0] === 3,
        async () => ({ committed: await committedOffsets(admin, groupId, topic), handled }),
      );
      // Record 1 never reached the handler; record 0 did on its second attempt.
      expect(handled).toEqual(['0@2', '2@1']);
      await untilOr(
        () => dlq.messages.length >= 1,
        () => ({ handled, dead: dlq.messages.length }),
        10_000,
      );
    } finally {
      await app.close();
      await dlq.stop();
    }

    expect(dlq.messages.map((m) => headersOf(m))).toEqual([
      expect.objectContaining({
        [DLT_HEADERS.originalOffset]: '1',
        [DLT_HEADERS.errorClass]: 'NonRetryableError',
        [DLT_HEADERS.attempts]: '1',
      }),
    ]);
  });
});
