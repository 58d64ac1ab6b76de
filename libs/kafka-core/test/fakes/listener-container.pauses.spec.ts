import { ListenerContainer } from '@app/kafka-core/container/listener-container';
import { FakeConsumer, FakeKafkaClient } from './fake-kafka-client';
import { PauseSemantics } from './fake-pauses';
import { append, ContainerHarness, gate } from './listener-container.harness';

/**
 * Item 6: an operator's pause holds across retries, rebalances and partitions assigned later, until
 * resume; the status never says paused while a partition fetches. Run on the adapter's pause
 * semantics and on kafkajs' own, where a named pause silently resumes the topic's other partitions.
 */
describe.each<PauseSemantics>(['port', 'kafkajs'])(
  'ListenerContainer operator pause (%s pauses)',
  (pauseSemantics) => {
    let h: ContainerHarness;
    let sampler: NodeJS.Timeout | undefined;
    const violations: string[] = [];

    afterEach(async () => {
      clearInterval(sampler);
      violations.length = 0;
      await h.stopAll();
      expect(h.fake.batchErrors).toEqual([]);
    });

    /** Checks, every millisecond, that a container saying "paused" fetches none of its partitions. */
    function watch(container: ListenerContainer, consumer: () => FakeConsumer) {
      sampler = setInterval(() => {
        const status = container.status();
        if (status.state !== 'paused') return;
        const assigned = JSON.stringify(
          Object.entries(status.assignment).map(([topic, ps]) => ({ topic, partitions: ps })),
        );
        const paused = JSON.stringify(consumer().paused());
        if (assigned !== paused) violations.push(`paused, assigned ${assigned}, consumer paused ${paused}`);
      }, 1);
    }

    it('holds across a retry whose timer fires during the pause: nothing is handled until resume', async () => {
      const fake = new FakeKafkaClient({ pauseSemantics }).createTopic('t', 2);
      h = new ContainerHarness(fake);
      const working = gate();
      const RETRY_MS = 150;
      append(fake, 0, [['x', 'x0']]);
      const container = h.container(
        { id: 'paused', concurrency: 2 },
        h.pipeline('paused', async (message) => {
          if (message.record.value?.toString() === 'x0' && message.attempt === 1) {
            await working.wait;
            return { status: 'retry', delayMs: RETRY_MS, error: new Error('x0 fails once') };
          }
          return { status: 'success' };
        }),
      );
      await container.start();
      const consumer = fake.consumers[0];
      watch(container, () => consumer);
      await fake.waitFor(() => h.handled('x0'), { what: 'x0 in the handler' });

      container.pause('alice');
      expect(container.status().state).toBe('paused');
      const atPause = container.status().paused;
      working.open();
      append(fake, 0, [['x', 'x1']]);
      append(fake, 1, [['y', 'y0']]);
      const x0 = h.calls[0];
      await fake.waitFor(() => x0.end !== undefined, { what: 'x0 to return its retry' });
      // The retry's timer fires during the pause: the pause must still cover every partition after it.
      await fake.waitFor(() => Date.now() > (x0.end as number) + RETRY_MS + 100, { what: 'the retry timer' });
      expect(consumer.paused()).toEqual([{ topic: 't', partitions: [0, 1] }]);
      expect(container.status().state).toBe('paused');
      const afterTimer = container.status().paused;

      container.resume('alice');
      const resumedAt = Date.now();
      expect(container.status().state).toBe('running');
      expect(container.status().paused).toBeUndefined();
      await fake.waitFor(() => h.committed(0) === '2' && h.committed(1) === '1', {
        what: 'everything committed',
      });
      expect(h.calls.map((c) => `${c.value}@${c.attempt}`).sort()).toEqual(['x0@1', 'x0@2', 'x1@1', 'y0@1']);
      // Everything after x0's first call ran after the resume.
      expect(
        h.calls
          .slice(1)
          .filter((c) => c.at < resumedAt)
          .map((c) => c.value),
      ).toEqual([]);
      expect(violations).toEqual([]);
      // Who paused, and since when, as the status reported it during the pause.
      expect(atPause?.by).toBe('alice');
      expect(afterTimer).toEqual(atPause);
    });

    it('holds across a rebalance: partitions assigned later stay paused until resume', async () => {
      const fake = new FakeKafkaClient({ pauseSemantics }).createTopic('t', 4);
      h = new ContainerHarness(fake);
      const a = h.container(
        { id: 'a', concurrency: 4 },
        h.pipeline('a', async () => ({ status: 'success' })),
      );
      const b = h.container(
        { id: 'b', concurrency: 4 },
        h.pipeline('b', async () => ({ status: 'success' })),
      );
      await a.start();
      await b.start();
      const consumerA = fake.consumers[0];
      expect(a.status().assignment).toEqual({ t: [0, 2] });
      watch(a, () => consumerA);

      a.pause('alice');
      await b.stop();
      await fake.waitFor(() => JSON.stringify(a.status().assignment) === '{"t":[0,1,2,3]}', {
        what: 'a to own every partition',
      });
      expect(consumerA.paused()).toEqual([{ topic: 't', partitions: [0, 1, 2, 3] }]);
      for (const p of [0, 1, 2, 3]) append(fake, p, [[`k${p}`, `v${p}`]]);
      // Nothing fetchable: the fake settles with the records unread.
      await fake.settle();
      expect(a.status().state).toBe('paused');
      const during = a.status().paused;

      a.resume('bob');
      const resumedAt = Date.now();
      await fake.waitFor(() => [0, 1, 2, 3].every((p) => h.committed(p) === '1'), {
        what: 'everything committed',
      });
      expect(h.calls.map((c) => `${c.value} by ${c.by}`).sort()).toEqual([
        'v0 by a',
        'v1 by a',
        'v2 by a',
        'v3 by a',
      ]);
      expect(h.calls.filter((c) => c.at < resumedAt)).toEqual([]);
      expect(consumerA.paused()).toEqual([]);
      expect(violations).toEqual([]);
      expect(during?.by).toBe('alice');
    });
  },
);
