import { FakeKafkaClient } from './fake-kafka-client';
import { append, ContainerHarness } from './listener-container.harness';

/**
 * Item 12: per-partition failure state goes with a revoked partition; start() after a crash
 * disconnects the crashed consumer; status() changes nothing.
 */
describe('ListenerContainer lifecycle', () => {
  let h: ContainerHarness;
  afterEach(async () => {
    await h.stopAll();
    expect(h.fake.batchErrors).toEqual([]);
  });

  it('forgets a revoked partition’s failures: a record failed twice comes back at attempt 1', async () => {
    const fake = new FakeKafkaClient().createTopic('t', 2);
    h = new ContainerHarness(fake);
    append(fake, 1, [['r', 'r']]);
    let failing = true;
    const a = h.container(
      { id: 'a', concurrency: 2 },
      h.pipeline('a', async (message) =>
        failing
          ? { status: 'retry', delayMs: message.attempt === 1 ? 50 : 2_000, error: new Error('r fails') }
          : { status: 'success' },
      ),
    );
    await a.start();
    await fake.waitFor(() => h.attempts('r').length === 2, { what: 'r failed twice' });

    // A second member takes p1 (and holds r unfinished); when it leaves, p1 comes back.
    const b = h.container(
      { id: 'b', concurrency: 2 },
      h.pipeline('b', async () => ({ status: 'retry', delayMs: 5_000, error: new Error('b holds r') })),
    );
    await b.start();
    expect(b.status().assignment).toEqual({ t: [1] });
    await fake.waitFor(() => h.calls.some((c) => c.by === 'b'), { what: 'b to try r' });
    failing = false;
    await b.stop();

    await fake.waitFor(() => h.committed(1) === '1', { what: 'r done by a' });
    expect(h.calls.map((c) => `${c.value}@${c.attempt} by ${c.by}`)).toEqual([
      'r@1 by a',
      'r@2 by a',
      'r@1 by b',
      'r@1 by a',
    ]);
  });

  it('start() after a crash without restart disconnects the crashed consumer and consumes again', async () => {
    const fake = new FakeKafkaClient().createTopic('t', 1);
    h = new ContainerHarness(fake);
    append(fake, 0, [['k', 'v0']]);
    const container = h.container(
      { id: 'crashy' },
      h.pipeline('crashy', async () => ({ status: 'success' })),
    );
    await container.start();
    await fake.waitFor(() => h.committed(0) === '1', { what: 'v0 committed' });

    const crashed = fake.consumers[0];
    await crashed.crash(new Error('broker gone'), false);
    expect(container.status().state).toBe('failed');
    append(fake, 0, [['k', 'v1']]);

    await container.start();
    expect(crashed.disconnectCalls).toBe(1);
    expect(fake.consumers).toHaveLength(2);
    expect(fake.group('g').members).toEqual([fake.consumers[1]]);
    expect(container.status().state).toBe('running');
    await fake.waitFor(() => h.committed(0) === '2', { what: 'v1 committed by the new consumer' });
    expect(h.calls.map((c) => c.value)).toEqual(['v0', 'v1']);
  });

  it('status() has no side effects: before any batch it creates nothing, and the first batch commits from the group’s position', async () => {
    const fake = new FakeKafkaClient().createTopic('t', 2);
    h = new ContainerHarness(fake);
    append(fake, 0, [
      ['k', 'v0'],
      ['k', 'v1'],
    ]);
    // A first run commits p0 up to 2.
    const first = h.container(
      { id: 'first' },
      h.pipeline('first', async () => ({ status: 'success' })),
    );
    await first.start();
    await fake.waitFor(() => h.committed(0) === '2', { what: 'the first run to commit' });
    await first.stop();

    let failedOnce = false;
    const container = h.container(
      { id: 'second', concurrency: 2 },
      h.pipeline('second', async (message) => {
        if (message.record.value?.toString() !== 'v2' || failedOnce) return { status: 'success' };
        failedOnce = true;
        return { status: 'retry', delayMs: 50, error: new Error('v2 fails once') };
      }),
    );
    await container.start();
    await fake.settle();
    const views = [container.status(), container.status(), container.status()];
    expect(views[0]).toMatchObject({ inFlight: 0, oldestInFlight: undefined, assignment: { t: [0, 1] } });
    expect(views[1]).toEqual(views[0]);
    expect(views[2]).toEqual(views[0]);

    append(fake, 0, [
      ['k', 'v2'],
      ['k', 'v3'],
    ]);
    await fake.waitFor(() => h.committed(0) === '4', { what: 'v2 and v3 committed' });
    expect(h.calls.filter((c) => c.by === 'second').map((c) => `${c.value}@${c.attempt}`)).toEqual([
      'v2@1',
      'v2@2',
      'v3@1',
    ]);
    expect(h.committed(1)).toBeUndefined();
    expect(container.status()).toMatchObject({ inFlight: 0, oldestInFlight: undefined });
  });
});
