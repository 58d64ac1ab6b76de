import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import {
  BatchListenerFailedError,
  Ctx,
  DLT_HEADERS,
  KafkaContext,
  KafkaListener,
  ListenerConfigurationError,
  Payload,
} from '@app/kafka-core';
import { endOffsetSum, rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  collect,
  committedOffsets,
  createTopic,
  headersOf,
  produce,
  startListenerApp,
} from '../../../test/support/listener-app';
import { sleep, untilOr } from './support/listener-probes';
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
    const topicsSeen = new Set<string>();

    @Injectable()
    class BatchListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, batch: true })
      handle(@Payload() payloads: { n: number }[], @Ctx() ctx: KafkaContext) {
        topicsSeen.add(ctx.topic);
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
    expect([...topicsSeen]).toEqual([topic]);
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
  it('BatchListenerFailedError(index): records before it are committed, it is retried then dead-lettered, the rest redelivered after it', async () => {
    const topic = await createTopic(admin, 'batch-index', 1);
    const groupId = uniqueName('g-batch-index');
    const calls: number[][] = [];

    @Injectable()
    class IndexedFailureListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        batch: true,
        retry: { attempts: 3, initialDelayMs: 1_000, jitter: 0 },
      })
      handle(@Payload() payloads: { n: number }[]) {
        calls.push(payloads.map((p) => p.n));
        const index = payloads.findIndex((p) => p.n === 4);
        if (index >= 0) throw new BatchListenerFailedError(index, new Error('chart rejected reading 4'));
      }
    }

    await produce(
      topic,
      Array.from({ length: 10 }, (_, n) => ({ value: JSON.stringify({ n }) })),
    );
    const app = await startListenerApp([IndexedFailureListener]);
    const dlq = await collect(`${topic}-dlq`);
    const committedSeen: number[] = [];
    const committed = async () => {
      const offset = (await committedOffsets(admin, groupId, topic))[0];
      if (committedSeen[committedSeen.length - 1] !== offset) committedSeen.push(offset);
      return offset;
    };
    try {
      // While record 4 waits out its backoff, exactly the records before it are committed.
      await untilOr(
        async () => (await committed()) === 4,
        () => ({ committedSeen, calls }),
        10_000,
      );
      await untilOr(
        async () => (await committed()) === 10,
        () => ({ committedSeen, calls }),
      );
      await untilOr(
        () => dlq.messages.length >= 1,
        () => dlq.messages.length,
        10_000,
      );
    } finally {
      await app.close();
      await dlq.stop();
    }

    expect(committedSeen.filter((o) => o !== -1)).toEqual([4, 10]);
    expect(calls[0]).toEqual(Array.from({ length: 10 }, (_, n) => n));
    // Records 0-3 were handled once; record 4 three times.
    expect(
      calls
        .slice(1)
        .flat()
        .filter((n) => n < 4),
    ).toEqual([]);
    // The first call held 4 in the middle; its two retries start at 4.
    const withFour = calls.filter((call) => call.includes(4));
    expect(withFour.map((call) => call[0])).toEqual([0, 4, 4]);
    const lastWithFour = calls.lastIndexOf(withFour[withFour.length - 1]);
    expect(calls.slice(lastWithFour + 1).flat()).toEqual([5, 6, 7, 8, 9]);
    expect(dlq.messages).toHaveLength(1);
    expect(dlq.messages[0].value?.toString()).toBe('{"n":4}');
    expect(headersOf(dlq.messages[0])).toMatchObject({
      [DLT_HEADERS.originalTopic]: topic,
      [DLT_HEADERS.originalPartition]: '0',
      [DLT_HEADERS.originalOffset]: '4',
      [DLT_HEADERS.group]: groupId,
      [DLT_HEADERS.attempts]: '3',
      [DLT_HEADERS.errorClass]: 'Error',
      [DLT_HEADERS.errorMessage]: 'chart rejected reading 4',
    });
  });

  it('a stop during a batch backoff stops at once: no attempts back to back, nothing dead-lettered, the batch uncommitted for the next owner', async () => {
    const topic = await createTopic(admin, 'batch-stop', 1);
    const groupId = uniqueName('g-batch-stop');
    const calls: { run: string; attempt: number; at: number; values: number[] }[] = [];
    let run = 'first';

    @Injectable()
    class FailingBatchListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        batch: true,
        retry: { attempts: 5, initialDelayMs: 5_000, jitter: 0 },
      })
      handle(@Payload() payloads: { n: number }[], @Ctx() ctx: KafkaContext) {
        calls.push({ run, attempt: ctx.attempt, at: Date.now(), values: payloads.map((p) => p.n) });
        if (run === 'first') throw new Error('downstream unavailable');
      }
    }

    await produce(
      topic,
      [0, 1, 2].map((n) => ({ value: JSON.stringify({ n }) })),
    );
    const first = await startListenerApp([FailingBatchListener], { shutdownTimeoutMs: 8_000 });
    await untilOr(
      () => calls.length >= 1,
      () => calls,
    );
    const stopping = Date.now();
    await first.close();
    const stopMs = Date.now() - stopping;

    // Closed: nothing of the first application runs any more, so these counts are final.
    expect(calls.map((c) => `${c.run}@${c.attempt}`)).toEqual(['first@1']);
    expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(0);
    expect((await committedOffsets(admin, groupId, topic))[0]).toBe(-1);
    // Well inside the 5 s backoff: the stop did not wait it out.
    expect(stopMs).toBeLessThan(3_000);

    run = 'second';
    const second = await startListenerApp([FailingBatchListener]);
    try {
      await untilOr(
        async () => (await committedOffsets(admin, groupId, topic))[0] === 3,
        () => calls,
      );
    } finally {
      await second.close();
    }
    expect(calls.filter((c) => c.run === 'second').flatMap((c) => c.values)).toEqual([0, 1, 2]);
  });

  it.each([
    ['handlerTimeoutMs', { handlerTimeoutMs: 300 }],
    ['maxInFlight', { maxInFlight: 5 }],
    ['rateLimit', { rateLimit: 20 }],
  ])('%s on a batch listener either works or fails bootstrap naming the listener', async (option, extra) => {
    const topic = await createTopic(admin, 'batch-option', 1);
    const groupId = uniqueName('g-batch-option');
    const calls: { attempt: number; at: number; size: number; abortedAt400?: boolean }[] = [];

    @Injectable()
    class OptionBatchListener {
      @KafkaListener({
        id: `batch-${option}`,
        topics: [topic],
        groupId,
        fromBeginning: true,
        batch: true,
        retry: { attempts: 3, initialDelayMs: 50, jitter: 0 },
        ...extra,
      })
      async handle(@Payload() payloads: unknown[], @Ctx() ctx: KafkaContext) {
        const call: (typeof calls)[number] = { attempt: ctx.attempt, at: Date.now(), size: payloads.length };
        calls.push(call);
        // Only the first call is slow: a working timeout aborts its signal at 300 ms.
        if (option === 'handlerTimeoutMs' && calls.length === 1) {
          await sleep(400);
          call.abortedAt400 = (ctx as KafkaContext & { signal?: AbortSignal }).signal?.aborted;
          await sleep(1_100);
        }
      }
    }

    await produce(
      topic,
      Array.from({ length: 40 }, (_, n) => ({ value: JSON.stringify({ n }) })),
    );
    let app: Awaited<ReturnType<typeof startListenerApp>>;
    try {
      app = await startListenerApp([OptionBatchListener]);
    } catch (error) {
      expect(error).toBeInstanceOf(ListenerConfigurationError);
      expect((error as Error).message).toContain(`@KafkaListener batch-${option}:`);
      expect((error as Error).message).toContain(option);
      return;
    }
    try {
      await untilOr(
        async () => (await committedOffsets(admin, groupId, topic))[0] === 40,
        () => calls,
      );
    } finally {
      await app.close();
    }
    if (option === 'handlerTimeoutMs') {
      // The slow first call's signal fired at the timeout.
      expect(calls[0].abortedAt400).toBe(true);
    } else if (option === 'maxInFlight') {
      expect(Math.max(...calls.map((c) => c.size))).toBeLessThanOrEqual(5);
    } else {
      // 40 records at 20 per second: the last call cannot start before ~1.5 s after the first.
      expect(calls[calls.length - 1].at - calls[0].at).toBeGreaterThanOrEqual(1_400);
    }
  });
});
