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

describe('non-blocking retry topics (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('retries through <topic>-retry after each delay while the partition keeps flowing', async () => {
    const topic = await createTopic(admin, 'rt', 1);
    const groupId = uniqueName('g-rt');
    const deliveries: { n: number; attempt: number; at: number; topic: string }[] = [];

    @Injectable()
    class FlakyListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, retryTopics: { delaysMs: [400, 400] } })
      handle(@Payload() payload: { n: number }, @Ctx() ctx: KafkaContext) {
        deliveries.push({ n: payload.n, attempt: ctx.attempt, at: Date.now(), topic: ctx.topic });
        if (payload.n === 0 && ctx.attempt < 3) throw new Error('flaky downstream');
      }
    }

    await produce(
      topic,
      [0, 1, 2].map((n) => ({ key: `k${n}`, value: JSON.stringify({ n }) })),
    );
    const app = await startListenerApp([FlakyListener]);
    const dlq = await collect(`${topic}-dlq`);
    try {
      await eventually(async () => (deliveries.filter((d) => d.n === 0).length === 3 ? true : undefined));
      await eventually(async () =>
        (await committedOffsets(admin, groupId, topic))[0] === 3 ? true : undefined,
      );
    } finally {
      await app.close();
      await dlq.stop();
    }
    const first = deliveries.filter((d) => d.n === 0);
    expect(first.map((d) => d.attempt)).toEqual([1, 2, 3]);
    // The handler sees the original topic, not the retry topic.
    expect(first.every((d) => d.topic === topic)).toBe(true);
    expect(first[1].at - first[0].at).toBeGreaterThanOrEqual(380);
    expect(first[2].at - first[1].at).toBeGreaterThanOrEqual(380);
    // Records behind the failing one were handled before its first retry: nothing waited for it.
    const later = deliveries.filter((d) => d.n !== 0);
    expect(later).toHaveLength(2);
    expect(Math.max(...later.map((d) => d.at))).toBeLessThan(first[1].at);
    expect(dlq.messages).toHaveLength(0);
  });

  it('dead-letters after the last delay with the original provenance, and only the failing group retries', async () => {
    const topic = await createTopic(admin, 'rt-dlq', 1);
    const failingGroup = uniqueName('g-failing');
    const healthyGroup = uniqueName('g-healthy');
    const failing: number[] = [];
    const healthy: string[] = [];

    @Injectable()
    class Listeners {
      @KafkaListener({
        id: 'failing',
        topics: [topic],
        groupId: failingGroup,
        fromBeginning: true,
        retryTopics: { delaysMs: [100] },
      })
      fail(@Ctx() ctx: KafkaContext) {
        failing.push(ctx.attempt);
        throw new Error('always');
      }

      @KafkaListener({
        id: 'healthy',
        topics: [topic],
        groupId: healthyGroup,
        fromBeginning: true,
        retryTopics: { delaysMs: [100] },
      })
      ok(@Ctx() ctx: KafkaContext) {
        healthy.push(ctx.offset);
      }
    }

    await produce(topic, [{ key: 'k', value: '{"n":1}' }]);
    const app = await startListenerApp([Listeners]);
    const dlq = await collect(`${topic}-dlq`);
    try {
      await eventually(async () => (dlq.messages.length === 1 ? true : undefined));
      await eventually(async () =>
        (await committedOffsets(admin, healthyGroup, `${topic}-retry`))[0] === 1 ? true : undefined,
      );
    } finally {
      await app.close();
      await dlq.stop();
    }
    expect(failing).toEqual([1, 2]);
    // The healthy group read the retry record too (it shares the topic) but never handled it.
    expect(healthy).toEqual(['0']);
    const headers = dlq.messages[0].headers ?? {};
    expect(headers[DLT_HEADERS.originalTopic]?.toString()).toBe(topic);
    expect(headers[DLT_HEADERS.originalOffset]?.toString()).toBe('0');
    expect(headers[DLT_HEADERS.attempts]?.toString()).toBe('2');
    expect(headers[DLT_HEADERS.group]?.toString()).toBe(failingGroup);
    expect(dlq.messages[0].value?.toString()).toBe('{"n":1}');
    expect(Object.keys(headers).some((name) => name.startsWith('retry-'))).toBe(false);
  });
});
