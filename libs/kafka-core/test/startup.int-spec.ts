import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Admin } from 'kafkajs';
import { Ctx, KafkaContext, KafkaCoreModule, KafkaListener, KafkaListenerRegistry } from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import { createTopic, produce, startListenerApp } from '../../../test/support/listener-app';
import { eventually } from '../../../test/support/service-app';

describe('listener startup (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('resolves a topicPattern to the matching topics, leaving out their retry and dead-letter topics', async () => {
    const prefix = uniqueName('pat');
    const a = await createTopic(admin, `${prefix}-a`, 1);
    const b = await createTopic(admin, `${prefix}-b`, 2);
    await createTopic(admin, 'unrelated', 1);
    const groupId = uniqueName('g-pat');
    const seen: string[] = [];

    @Injectable()
    class PatternListener {
      @KafkaListener({ id: 'pattern', topicPattern: new RegExp(`^${prefix}-`), groupId, fromBeginning: true })
      handle(@Ctx() ctx: KafkaContext) {
        seen.push(ctx.topic);
      }
    }

    await produce(a, [{ value: '{}' }]);
    await produce(b, [{ value: '{}' }, { value: '{}' }]);
    const app = await startListenerApp([PatternListener]);
    try {
      await eventually(async () => (seen.length === 3 ? true : undefined));
      expect(app.app.get(KafkaListenerRegistry).status('pattern').topics).toEqual([a, b].sort());
      // The dead-letter topics were provisioned for the matched topics and are not consumed.
      const names = await admin.listTopics();
      expect(names).toEqual(expect.arrayContaining([`${a}-dlq`, `${b}-dlq`]));
    } finally {
      await app.close();
    }
    expect(seen.sort()).toEqual([a, b, b].sort());
  });

  it('gives up on an unreachable broker with a sentence naming it', async () => {
    @Injectable()
    class Unused {
      @KafkaListener({ topics: ['never'], groupId: 'never' })
      handle() {}
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaCoreModule.forRoot({
          brokers: ['127.0.0.1:1'],
          clientId: 'unreachable',
          startupTimeoutMs: 1_500,
        }),
      ],
      providers: [Unused],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const started = Date.now();
    await expect(app.init()).rejects.toThrow(/Kafka is not reachable at 127\.0\.0\.1:1 after \d+ s/);
    expect(Date.now() - started).toBeLessThan(10_000);
    await app.close().catch(() => undefined);
  });
});
