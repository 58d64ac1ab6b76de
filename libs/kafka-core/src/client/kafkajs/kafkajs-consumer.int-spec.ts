import { Admin, Producer } from 'kafkajs';
import { rawKafka, testBrokers, uniqueName } from '../../../../../test/support/kafka';
import { ConsumedRecord, KafkaConsumerPort } from '../kafka-client.port';
import { KafkajsClient } from '../kafkajs.client';

const waitFor = async (what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('KafkajsConsumer against the real broker', () => {
  let admin: Admin;
  let producer: Producer;
  const client = new KafkajsClient({ brokers: testBrokers(), clientId: 'kafkajs-consumer-test' });
  const open: KafkaConsumerPort[] = [];

  beforeAll(async () => {
    admin = rawKafka().admin();
    producer = rawKafka().producer();
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterAll(async () => {
    await Promise.all(open.map((c) => c.disconnect().catch(() => undefined)));
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  async function topicWith(partitions: number): Promise<string> {
    const topic = uniqueName('adapter');
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    return topic;
  }

  /** A running member alone in a new group, with every partition of `topic` assigned. */
  async function runningConsumer(
    topic: string,
    onBatch: (records: ConsumedRecord[]) => void,
  ): Promise<KafkaConsumerPort> {
    const consumer = client.consumer({ groupId: uniqueName('adapter-group'), maxWaitTimeMs: 50 });
    open.push(consumer);
    let joined = false;
    consumer.onGroupJoin(() => (joined = true));
    await consumer.connect();
    await consumer.subscribe([topic], true);
    await consumer.run(
      async (batch, controls) => {
        onBatch(batch.records);
        const last = batch.records[batch.records.length - 1];
        if (last) controls.advance(last.offset);
      },
      { partitionsConcurrently: 1 },
    );
    await waitFor('group join', () => joined);
    return consumer;
  }

  const send = (topic: string, partition: number, value: string) =>
    producer.send({ topic, messages: [{ partition, value }] });

  it('keeps a whole-topic pause when partitions are then paused by name', async () => {
    const topic = await topicWith(3);
    const seen: string[] = [];
    const consumer = await runningConsumer(topic, (records) =>
      seen.push(...records.map((r) => `${r.partition}:${r.value?.toString()}`)),
    );

    consumer.pause(topic);
    // kafkajs alone would now fetch partitions 0 and 2 again (subscriptionState.js sets pauseAll=false).
    consumer.pause(topic, [1]);
    consumer.resume(topic, [2]);
    await send(topic, 0, 'held');
    await send(topic, 2, 'first');
    await waitFor('the record of the resumed partition', () => seen.includes('2:first'));
    // kafkajs fetches again only after every batch of a fetch settled: once a record sent later
    // arrives, anything fetchable from partition 0 would have arrived too.
    await send(topic, 2, 'second');
    await waitFor('a record sent after', () => seen.includes('2:second'));
    expect(seen).toEqual(['2:first', '2:second']);
    expect(consumer.paused()).toEqual([{ topic, partitions: [0, 1] }]);

    consumer.pause(topic, [2]);
    expect(consumer.paused()).toEqual([{ topic, partitions: [0, 1, 2] }]);
    consumer.resume(topic, [0, 2]);
    expect(consumer.paused()).toEqual([{ topic, partitions: [1] }]);
    consumer.pause(topic, [0]);
    expect(consumer.paused()).toEqual([{ topic, partitions: [0, 1] }]);
    consumer.resume(topic);
    expect(consumer.paused()).toEqual([]);
    await waitFor('the held record after resume', () => seen.includes('0:held'));
  });

  it('changes only the partitions named by an explicit pause or resume', async () => {
    const topic = await topicWith(12);
    const consumer = await runningConsumer(topic, () => undefined);

    consumer.pause(topic, [2, 10, 0]);
    consumer.resume(topic, [10]);
    consumer.pause(topic, [11]);
    consumer.resume(topic, []);
    consumer.pause(topic, []);
    // Ascending numerically (kafkajs itself sorts 10 before 2).
    expect(consumer.paused()).toEqual([{ topic, partitions: [0, 2, 11] }]);
  });

  it('disconnects a consumer that crashed without restarting, as often as asked', async () => {
    const topic = await topicWith(1);
    const groupId = uniqueName('adapter-crash');
    const consumer = client.consumer({ groupId, maxWaitTimeMs: 50 });
    open.push(consumer);
    const crashes: { message: string; restart: boolean }[] = [];
    let inListener: Promise<void> | undefined;
    consumer.onCrash((error, restart) => {
      crashes.push({ message: error.message, restart });
      // The container may leave from its crash listener, while kafkajs is still inside onCrash.
      inListener = consumer.disconnect();
    });
    await consumer.connect();
    await consumer.subscribe([topic], true);
    await consumer.run(
      () => Promise.reject(Object.assign(new Error('handler gave up'), { retriable: false })),
      { partitionsConcurrently: 1 },
    );
    await send(topic, 0, 'poison');
    await waitFor('the crash', () => crashes.length > 0);
    expect(crashes).toEqual([{ message: 'handler gave up', restart: false }]);

    await expect(inListener).resolves.toBeUndefined();
    await expect(Promise.all([consumer.disconnect(), consumer.disconnect()])).resolves.toEqual([
      undefined,
      undefined,
    ]);
    const { groups } = await admin.describeGroups([groupId]);
    expect(groups[0].members).toEqual([]);
  });
});
