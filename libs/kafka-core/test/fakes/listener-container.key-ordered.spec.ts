import { FakeKafkaClient } from './fake-kafka-client';
import { append, ContainerHarness } from './listener-container.harness';

/**
 * Item 4: a key-ordered record waiting out a retry leaves the batch. Other keys of its partition
 * and other partitions keep flowing and committing, its own key waits behind it, and the group's
 * rebalances do not wait for its backoff.
 */
describe('ListenerContainer key-ordered: a waiting key stalls nothing else', () => {
  let h: ContainerHarness;
  afterEach(async () => {
    await h.stopAll();
    expect(h.fake.batchErrors).toEqual([]);
  });

  const BACKOFF_MS = 1_500;

  /** p0: b0 b1 a0 b2 b3 a1 b4 (a0 at offset 2); p1: c0..c4. a0 fails once with a long backoff. */
  function setup(fake: FakeKafkaClient, partitions = 2, waitingPartition = 0) {
    h = new ContainerHarness(fake.createTopic('t', partitions));
    const other = waitingPartition === 0 ? 1 : 0;
    append(fake, waitingPartition, [
      ['b', 'b0'],
      ['b', 'b1'],
      ['a', 'a0'],
      ['b', 'b2'],
      ['b', 'b3'],
      ['a', 'a1'],
      ['b', 'b4'],
    ]);
    append(
      fake,
      other,
      [0, 1, 2, 3, 4].map((i) => ['c', `c${i}`]),
    );
    // Fails once: the first call of a0, whoever makes it.
    let failed = false;
    const decide = (by: string) =>
      h.pipeline(by, async (message) => {
        if (message.record.value?.toString() === 'a0' && !failed) {
          failed = true;
          return { status: 'retry', delayMs: BACKOFF_MS, error: new Error('a0 fails once') };
        }
        return { status: 'success' };
      });
    return { decide };
  }

  it('handles and commits other keys and partitions while one record waits; its key waits behind it', async () => {
    const fake = new FakeKafkaClient();
    const { decide } = setup(fake);
    const container = h.container(
      { id: 'ko', concurrency: { keyOrdered: true, maxInFlight: 4 } },
      decide('ko'),
    );
    await container.start();

    await fake.waitFor(() => h.committed(1) === '5' && h.committed(0) === '2', {
      what: 'p1 committed to its end and p0 up to the waiting record',
    });
    // New records of other keys, sent while a0 waits: they need a new fetch.
    append(fake, 0, [['b', 'b5']]);
    append(fake, 1, [['c', 'c5']]);
    await fake.waitFor(() => h.handled('b5') && h.handled('c5'), {
      timeoutMs: BACKOFF_MS - 500,
      what: 'records sent during the backoff to be handled before it ends',
    });
    expect(h.attempts('a0')).toEqual([1]);
    expect(h.handled('a1')).toBe(false);
    await fake.waitFor(() => h.committed(1) === '6', { timeoutMs: 400, what: 'p1 committed past c5' });
    // The committed offset of the waiting record's partition stops exactly at it.
    expect(h.committed(0)).toBe('2');

    await fake.waitFor(() => h.committed(0) === '8', { what: 'a0 retried and p0 committed to its end' });
    expect(h.sequence('a')).toEqual(['a0@1', 'a0@2', 'a1@1']);
    const [first, retry] = h.calls.filter((c) => c.value === 'a0');
    expect(retry.at - (first.end as number)).toBeGreaterThanOrEqual(BACKOFF_MS - 20);
    const a1 = h.calls.find((c) => c.value === 'a1');
    expect(a1?.at).toBeGreaterThanOrEqual(retry.end as number);
    expect(h.sequence('b')).toEqual(['b0@1', 'b1@1', 'b2@1', 'b3@1', 'b4@1', 'b5@1']);
    expect(h.sequence('c')).toEqual(['c0@1', 'c1@1', 'c2@1', 'c3@1', 'c4@1', 'c5@1']);
  });

  it('lets a forced rebalance complete while the record waits, without eviction or duplicates', async () => {
    const fake = new FakeKafkaClient({ rebalanceTimeoutMs: 300 });
    const { decide } = setup(fake);
    const container = h.container(
      { id: 'ko', concurrency: { keyOrdered: true, maxInFlight: 4 } },
      decide('ko'),
    );
    await container.start();
    await fake.waitFor(() => h.attempts('a0').length === 1 && h.handled('c4') && h.handled('b4'), {
      what: 'a0 waiting and the others handled',
    });

    const started = Date.now();
    await fake.rebalance('g');
    expect(fake.group('g').events.filter((e) => e.type === 'evicted')).toEqual([]);
    expect(Date.now() - started).toBeLessThan(300);
    // Still the only member, still fetching: a record sent after the rebalance is handled during the backoff.
    append(fake, 1, [['c', 'c5']]);
    await fake.waitFor(() => h.handled('c5'), { timeoutMs: 800, what: 'c5 during the backoff' });
    expect(h.attempts('a0')).toEqual([1]);

    await fake.waitFor(() => h.committed(0) === '7' && h.committed(1) === '6', {
      what: 'a0 retried after the rebalance and every partition committed to its end',
    });
    // Read again from the committed offset after the rebalance, nothing was handed over twice.
    expect(h.sequence('a')).toEqual(['a0@1', 'a0@2', 'a1@1']);
    expect(h.sequence('b')).toEqual(['b0@1', 'b1@1', 'b2@1', 'b3@1', 'b4@1']);
    expect(h.sequence('c')).toEqual(['c0@1', 'c1@1', 'c2@1', 'c3@1', 'c4@1', 'c5@1']);
  });

  it('lets a second member join while the record waits; the partition moves and its key keeps order', async () => {
    const fake = new FakeKafkaClient({ rebalanceTimeoutMs: 300 });
    // Three partitions: when a second member joins, p1 (the waiting one) moves to it.
    const { decide } = setup(fake, 3, 1);
    const first = h.container(
      { id: 'ko-1', concurrency: { keyOrdered: true, maxInFlight: 4 } },
      decide('ko-1'),
    );
    await first.start();
    await fake.waitFor(() => h.attempts('a0').length === 1 && h.handled('c4') && h.handled('b4'), {
      what: 'a0 waiting and the others handled',
    });
    await fake.waitFor(() => h.committed(1) === '2', { what: 'p1 committed up to a0' });

    const second = h.container(
      { id: 'ko-2', concurrency: { keyOrdered: true, maxInFlight: 4 } },
      decide('ko-2'),
    );
    const started = Date.now();
    await second.start();
    expect(fake.group('g').events.filter((e) => e.type === 'evicted')).toEqual([]);
    expect(Date.now() - started).toBeLessThan(300);
    expect(second.status().assignment).toEqual({ t: [1] });

    // The new owner reads p1 from the committed offset: a0 first (no failure known to it), then a1.
    await fake.waitFor(() => h.committed(1) === '7', { timeoutMs: 1_000, what: 'p1 done by the new owner' });
    const a = h.calls.filter((c) => c.key === 'a').map((c) => `${c.value}@${c.attempt} by ${c.by}`);
    expect(a).toEqual(['a0@1 by ko-1', 'a0@1 by ko-2', 'a1@1 by ko-2']);
  });
});
