import { ConsumedRecord } from '@app/kafka-core/client/kafka-client.port';
import { ListenerContainer } from '@app/kafka-core/container/listener-container';
import { defineListener, ListenerRoute } from '@app/kafka-core/discovery/listener-definition';
import { Handler } from '@app/kafka-core/pipeline/pipeline';
import { FakeKafkaClient } from './fake-kafka-client';

/** The real container on the fake client: the fake is good enough to drive it end to end. */
describe('ListenerContainer on the fake Kafka client (smoke)', () => {
  it('handles every record in partition order and commits each partition up to its end', async () => {
    const fake = new FakeKafkaClient({ maxBatchSize: 7 }).createTopic('orders', 3);
    for (let i = 0; i < 60; i++) fake.append('orders', i % 3, { key: `k${i % 5}`, value: `{"n":${i}}` });

    const route: ListenerRoute = { methodName: 'handle', isDefault: true, invoke: async () => undefined };
    const definition = defineListener(
      { id: 'smoke', topics: ['orders'], groupId: 'smoke-group', fromBeginning: true, concurrency: 3 },
      {},
      'Smoke.handle',
      [route],
      false,
    );
    const handled: ConsumedRecord[] = [];
    const pipeline: Handler = async (message) => {
      handled.push(message.record);
      return { status: 'success' };
    };
    const container = new ListenerContainer(definition, fake, pipeline, {
      shutdownTimeoutMs: 1_000,
      recoveryDelayMs: 100,
      deadLetter: async (_message, error) => ({ status: 'skipped', error }),
    });

    await container.start();
    const committedAll = () =>
      [0, 1, 2].every((p) => fake.committed('smoke-group', 'orders', p) === fake.endOffset('orders', p));
    await fake.waitFor(committedAll, { what: 'every partition committed to its end' });
    await container.stop();

    for (const p of [0, 1, 2]) {
      expect(fake.committed('smoke-group', 'orders', p)).toBe('20');
      expect(handled.filter((r) => r.partition === p).map((r) => r.offset)).toEqual(
        Array.from({ length: 20 }, (_, i) => String(i)),
      );
    }
    expect(fake.commits.every((c) => c.outcome === 'committed')).toBe(true);
    expect(fake.group('smoke-group').members).toEqual([]);
    expect(fake.batchErrors).toEqual([]);
  });
});
