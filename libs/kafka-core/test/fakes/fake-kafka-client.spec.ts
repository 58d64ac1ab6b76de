import { Assignment, BatchControls, RecordBatch } from '@app/kafka-core/client/kafka-client.port';
import { FakeConsumer, FakeKafkaClient } from './fake-kafka-client';

/** A promise the test resolves: a handler that is "still working" until released. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

const offsets = (batch: RecordBatch) => batch.records.map((r) => r.offset);
const values = (batch: RecordBatch) => batch.records.map((r) => `${r.partition}:${r.value?.toString()}`);
const lastOffset = (batch: RecordBatch) => batch.records[batch.records.length - 1].offset;

type OnBatch = (batch: RecordBatch, controls: BatchControls) => Promise<void>;

async function member(
  fake: FakeKafkaClient,
  topic: string,
  onBatch: OnBatch,
  options: { groupId?: string; concurrency?: number; events?: string[]; name?: string } = {},
): Promise<FakeConsumer> {
  const consumer = fake.consumer({ groupId: options.groupId ?? 'g', sessionTimeoutMs: 10_000 });
  const name = options.name ?? consumer.memberId;
  consumer.onRebalancing(() => options.events?.push(`${name}:rebalancing`));
  consumer.onGroupJoin((a: Assignment) => options.events?.push(`${name}:join ${JSON.stringify(a)}`));
  await consumer.connect();
  await consumer.subscribe([topic], true);
  await consumer.run(onBatch, { partitionsConcurrently: options.concurrency ?? 1 });
  return consumer;
}

const advanceAll: OnBatch = async (batch, controls) => controls.advance(lastOffset(batch));

describe('FakeKafkaClient', () => {
  let fake: FakeKafkaClient;
  afterEach(async () => {
    await Promise.all(fake.consumers.map((c) => c.disconnect()));
    // A handler of these tests never throws; a throw here is a bug of the fake.
    expect(fake.batchErrors).toEqual([]);
  });

  it('hands out batches of at most maxBatchSize and fetches a batch returned without advance again', async () => {
    fake = new FakeKafkaClient({ maxBatchSize: 2 }).createTopic('t', 1);
    fake.append('t', 0, [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const seen: string[][] = [];
    let calls = 0;
    await member(fake, 't', async (batch, controls) => {
      seen.push(offsets(batch));
      if (++calls > 1) controls.advance(lastOffset(batch));
    });
    await fake.settle();
    expect(seen).toEqual([['0', '1'], ['0', '1'], ['2']]);
  });

  it('pauses and resumes exactly the partitions named, and keeps a whole-topic pause', async () => {
    fake = new FakeKafkaClient().createTopic('t', 4);
    const seen: string[] = [];
    const consumer = await member(fake, 't', async (batch, controls) => {
      seen.push(...values(batch));
      controls.advance(lastOffset(batch));
    });
    consumer.pause('t');
    consumer.pause('t', [1]);
    consumer.resume('t', [2]);
    consumer.pause('t', [3]);
    consumer.resume('t', [3]);
    for (const p of [0, 1, 2, 3]) fake.append('t', p, { value: 'x' });
    await fake.settle();
    expect(seen.sort()).toEqual(['2:x', '3:x']);
    expect(consumer.paused()).toEqual([{ topic: 't', partitions: [0, 1] }]);

    consumer.resume('t');
    consumer.pause('t', [0, 3]);
    consumer.resume('t', [3]);
    expect(consumer.paused()).toEqual([{ topic: 't', partitions: [0] }]);
    await fake.settle();
    expect(seen.sort()).toEqual(['1:x', '2:x', '3:x']);
  });

  it('with kafkajs pause semantics, a named pause turns a whole-topic pause into that partition only', async () => {
    fake = new FakeKafkaClient({ pauseSemantics: 'kafkajs' }).createTopic('t', 3);
    const consumer = await member(fake, 't', advanceAll);
    consumer.pause('t');
    expect(consumer.paused()).toEqual([{ topic: 't', partitions: [0, 1, 2] }]);
    // kafkajs src/consumer/subscriptionState.js: pause() with partitions sets pauseAll = false.
    consumer.pause('t', [1]);
    expect(consumer.paused()).toEqual([{ topic: 't', partitions: [1] }]);
  });

  it('fetches again only after every batch of a fetch settled: a sleeping batch stalls the others', async () => {
    fake = new FakeKafkaClient().createTopic('t', 2);
    const events: string[] = [];
    const sleeping = gate();
    fake.append('t', 0, { value: 'slow' });
    fake.append('t', 1, { value: 'a' });
    await member(
      fake,
      't',
      async (batch, controls) => {
        events.push(...values(batch));
        if (batch.partition === 0) {
          await sleeping.wait;
          events.push('0:done');
        }
        controls.advance(lastOffset(batch));
      },
      { concurrency: 2 },
    );
    await fake.waitFor(() => events.includes('1:a'), { what: 'the fast partition' });
    fake.append('t', 1, { value: 'b' });
    // Long enough for dozens of fetches, were the loop not waiting for partition 0.
    setTimeout(sleeping.open, 30);
    await fake.waitFor(() => events.includes('1:b'), { what: 'the record sent during the stall' });
    expect(events).toEqual(['0:slow', '1:a', '0:done', '1:b']);
  });

  it('moves the fetch position on seek and marks a batch in hand of that partition inactive', async () => {
    fake = new FakeKafkaClient().createTopic('t', 1);
    fake.append('t', 0, [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const seen: string[][] = [];
    const active: boolean[] = [];
    // The first batch may start before run() resolves, as in kafkajs.
    await member(fake, 't', async (batch, controls) => {
      seen.push(offsets(batch));
      controls.advance(lastOffset(batch));
      if (seen.length === 1) {
        active.push(controls.isActive());
        fake.consumers[0].seek('t', 0, '1');
        active.push(controls.isActive());
      }
    });
    await fake.settle();
    expect(seen).toEqual([
      ['0', '1', '2'],
      ['1', '2'],
    ]);
    expect(active).toEqual([true, false]);
  });

  it('rebalances after the batches in hand settled, heartbeats refused meanwhile, partitions round robin', async () => {
    fake = new FakeKafkaClient().createTopic('t', 4);
    const events: string[] = [];
    const working = gate();
    fake.append('t', 0, { value: 'long' });
    await member(
      fake,
      't',
      async (batch, controls) => {
        events.push(`A:batch ${values(batch).join()}`);
        await working.wait;
        await controls.heartbeat().catch((e: { type?: string }) => events.push(`A:heartbeat ${e.type}`));
        events.push(`A:batch done, active ${controls.isActive()}`);
        controls.advance(lastOffset(batch));
        await fake.consumers[0].commit([{ topic: 't', partition: 0, offset: '1' }]);
      },
      { events, name: 'A' },
    );
    await fake.waitFor(() => events.includes('A:batch 0:long'));
    const joining = member(fake, 't', advanceAll, { events, name: 'B' });
    await fake.waitFor(() => events.includes('A:rebalancing'), { what: 'the rebalance to start' });
    working.open();
    await joining;
    await fake.settle();
    expect(events).toEqual([
      'A:join {"t":[0,1,2,3]}',
      'A:batch 0:long',
      'A:rebalancing',
      'A:heartbeat REBALANCE_IN_PROGRESS',
      'A:batch done, active true',
      'A:join {"t":[0,2]}',
      'B:join {"t":[1,3]}',
    ]);
  });

  it('evicts a member whose batch outlasts the rebalance timeout; it joins again once the batch settles', async () => {
    fake = new FakeKafkaClient({ rebalanceTimeoutMs: 50 }).createTopic('t', 2);
    const events: string[] = [];
    const working = gate();
    fake.append('t', 0, { value: 'long' });
    let calls = 0;
    const stuck = await member(
      fake,
      't',
      async (batch, controls) => {
        if (calls++ > 0) return controls.advance(lastOffset(batch));
        await working.wait;
        events.push(`A:active ${controls.isActive()}`);
        await fake.consumers[0]
          .commit([{ topic: 't', partition: 0, offset: '1' }])
          .catch((e) => events.push(`A:commit ${e.type}`));
        await controls.heartbeat().catch((e: { type?: string }) => events.push(`A:heartbeat ${e.type}`));
      },
      { events, name: 'A' },
    );
    await member(fake, 't', advanceAll, { events, name: 'B' });
    expect(
      fake
        .group('g')
        .events.filter((e) => e.type === 'evicted')
        .map((e) => e.memberId),
    ).toEqual([stuck.memberId]);
    working.open();
    await fake.waitFor(() => events.filter((e) => e.startsWith('A:join')).length === 2, {
      what: 'A to rejoin',
    });
    await fake.settle();
    expect(events).toEqual([
      'A:join {"t":[0,1]}',
      'A:rebalancing',
      'B:join {"t":[0,1]}',
      'A:active false',
      'A:commit UNKNOWN_MEMBER_ID',
      'A:heartbeat UNKNOWN_MEMBER_ID',
      'B:rebalancing',
      'A:join {"t":[0]}',
      'B:join {"t":[1]}',
    ]);
    expect(fake.commits.map((c) => c.outcome)).toEqual(['refused']);
    // B handled the record while A was out, without committing: A, owning partition 0 again, reads it again.
    expect(calls).toBe(2);
  });

  it('records commits; after a rebalance a member fetches again from the committed offset', async () => {
    fake = new FakeKafkaClient({ maxBatchSize: 5 }).createTopic('t', 1);
    fake.append(
      't',
      0,
      [1, 2, 3, 4, 5].map((n) => ({ value: String(n) })),
    );
    const seen: string[][] = [];
    const consumer = await member(fake, 't', async (batch, controls) => {
      seen.push(offsets(batch));
      controls.advance(lastOffset(batch));
      if (seen.length === 1) await fake.consumers[0].commit([{ topic: 't', partition: 0, offset: '2' }]);
    });
    await fake.settle();
    await fake.rebalance('g');
    await fake.settle();
    expect(seen).toEqual([
      ['0', '1', '2', '3', '4'],
      ['2', '3', '4'],
    ]);
    expect(fake.committed('g', 't', 0)).toBe('2');
    expect(fake.commits).toEqual([
      {
        groupId: 'g',
        memberId: consumer.memberId,
        offsets: [{ topic: 't', partition: 0, offset: '2' }],
        outcome: 'committed',
      },
    ]);
  });

  it('hands a leaving or crashed member’s partitions to the others; disconnect is idempotent', async () => {
    fake = new FakeKafkaClient({ restartDelayMs: 20 }).createTopic('t', 2);
    const events: string[] = [];
    const a = await member(fake, 't', advanceAll, { events, name: 'A' });
    const b = await member(fake, 't', advanceAll, { events, name: 'B' });
    a.onCrash((error, restart) => events.push(`A:crash ${error.message} ${restart}`));
    await a.crash(new Error('gone'), true);
    await fake.waitFor(() => events.filter((e) => e === 'A:join {"t":[0]}').length === 2, { what: 'A back' });
    await Promise.all([b.disconnect(), b.disconnect()]);
    await b.disconnect();
    await fake.waitFor(() => events[events.length - 1] === 'A:join {"t":[0,1]}', { what: 'A alone' });
    expect(events.filter((e) => e.startsWith('A:'))).toEqual([
      'A:join {"t":[0,1]}',
      'A:rebalancing',
      'A:join {"t":[0]}',
      'A:crash gone true',
      'A:join {"t":[0]}',
      'A:rebalancing',
      'A:join {"t":[0,1]}',
    ]);
    expect(events.filter((e) => e.startsWith('B:'))).toEqual([
      'B:join {"t":[1]}',
      'B:rebalancing',
      'B:join {"t":[0,1]}',
      'B:rebalancing',
      'B:join {"t":[1]}',
    ]);
    expect(fake.group('g').members).toEqual([a]);
  });
});
