import { Acknowledgment } from '@app/kafka-core/ctx-host/kafka.context';
import { invokeHandler } from '@app/kafka-core/pipeline/invoke-handler';
import { FakeKafkaClient } from './fake-kafka-client';
import { append, ContainerHarness, gate } from './listener-container.harness';

/**
 * Item 7: records awaiting acknowledge() count against maxInFlight until acknowledged, fetching
 * pauses at the bound, and a nack made after the handler returned is honoured.
 */
describe('ListenerContainer manual acknowledgment', () => {
  let h: ContainerHarness;
  afterEach(async () => {
    await h.stopAll();
    expect(h.fake.batchErrors).toEqual([]);
  });

  it('hands over exactly maxInFlight unacknowledged records, then one more per acknowledge()', async () => {
    const fake = new FakeKafkaClient().createTopic('t', 1);
    h = new ContainerHarness(fake);
    append(
      fake,
      0,
      Array.from({ length: 10 }, (_, i): [string, string] => [`k${i}`, `v${i}`]),
    );
    const acks = new Map<string, Acknowledgment>();
    // The handler behind the real invokeHandler, which tells the acknowledgment when it returned.
    const container = h.container(
      { id: 'manual', ackMode: 'manual', maxInFlight: 3 },
      h.pipeline('manual', invokeHandler),
      {},
      async (_payload, context, ack) => void acks.set(`v${context.offset}`, ack),
    );
    await container.start();
    const consumer = fake.consumers[0];
    const handed = () => h.calls.map((c) => c.value);
    /** The bound holds fetching: paused, and nothing moves any more. */
    const atBound = async () => {
      await fake.waitFor(() => container.status().backpressure && consumer.paused().length === 1, {
        timeoutMs: 1_000,
        what: 'the in-flight bound to pause fetching',
      });
      await fake.settle();
    };

    await atBound();
    expect(handed()).toEqual(['v0', 'v1', 'v2']);
    expect(container.status().inFlight).toBe(3);
    expect(h.committed(0)).toBeUndefined();

    acks.get('v0')?.acknowledge();
    await fake.waitFor(() => h.committed(0) === '1', { what: 'v0 committed' });
    await atBound();
    expect(handed()).toEqual(['v0', 'v1', 'v2', 'v3']);

    // Out of order: v2 done does not commit past v1; still one slot per acknowledgment.
    acks.get('v2')?.acknowledge();
    await atBound();
    expect(handed()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(h.committed(0)).toBe('1');

    acks.get('v1')?.acknowledge();
    await fake.waitFor(() => h.committed(0) === '3', { what: 'v1 and v2 committed' });
    await atBound();
    expect(handed()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);

    for (let i = 3; i < 10; i++) {
      await fake.waitFor(() => acks.has(`v${i}`), { what: `v${i} handed over` });
      acks.get(`v${i}`)?.acknowledge();
    }
    await fake.waitFor(() => h.committed(0) === '10', { what: 'everything committed' });
    expect(handed()).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
    expect(container.status().backpressure).toBe(false);
  });

  it('honours a nack made after the handler returned: the record comes again after the delay', async () => {
    const fake = new FakeKafkaClient().createTopic('t', 1);
    h = new ContainerHarness(fake);
    append(fake, 0, [
      ['a', 'n0'],
      ['b', 'n1'],
    ]);
    const acks = new Map<string, Acknowledgment>();
    const container = h.container(
      { id: 'manual', ackMode: 'manual' },
      h.pipeline('manual', invokeHandler),
      {},
      async (_payload, context, ack) => {
        const value = `n${context.offset}`;
        // n0's first delivery is left unacknowledged for the test to nack; everything else is acknowledged.
        if (value === 'n0' && !acks.has(value)) acks.set(value, ack);
        else ack.acknowledge();
      },
    );
    await container.start();
    await fake.waitFor(() => h.handled('n1'), { what: 'n1 handled' });
    expect(h.committed(0)).toBeUndefined();

    const NACK_MS = 200;
    const nackedAt = Date.now();
    acks.get('n0')?.nack(NACK_MS);
    await fake.waitFor(() => h.committed(0) === '2', { timeoutMs: 2_000, what: 'n0 again, then committed' });
    expect(h.calls.map((c) => `${c.value}@${c.attempt}`)).toEqual(['n0@1', 'n1@1', 'n0@1']);
    expect(h.calls[2].at - nackedAt).toBeGreaterThanOrEqual(NACK_MS - 5);
  });
});

describe('ListenerContainer key-ordered buffer', () => {
  let h: ContainerHarness;
  afterEach(async () => {
    await h.stopAll();
    expect(h.fake.batchErrors).toEqual([]);
  });

  it('reads no more than its buffer of a backlog while handlers are slow, then drains it all', async () => {
    const fake = new FakeKafkaClient({ maxBatchSize: 500 }).createTopic('t', 1);
    h = new ContainerHarness(fake);
    append(
      fake,
      0,
      Array.from({ length: 3_000 }, (_, i): [string, string] => [`k${i % 100}`, `v${i}`]),
    );
    const release = gate();
    const container = h.container(
      { id: 'buffered', concurrency: { keyOrdered: true, maxInFlight: 2 } },
      h.pipeline('buffered', async () => {
        await release.wait;
        return { status: 'success' };
      }),
    );
    await container.start();
    const consumer = fake.consumers[0];
    await fake.waitFor(() => container.status().backpressure && consumer.paused().length === 1, {
      what: 'the buffer to pause fetching',
    });
    await fake.settle();
    // max(1000, 256 × maxInFlight), checked per batch of 500: a key-ordered batch returns at once, so
    // this is what bounds memory.
    expect(container.status().inFlight).toBe(1_000);
    release.open();
    await fake.waitFor(() => h.committed(0) === '3000', { what: 'the whole backlog handled' });
    expect(h.calls).toHaveLength(3_000);
  });
});
