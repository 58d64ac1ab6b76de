import { FakeKafkaClient } from './fake-kafka-client';
import { append, ContainerHarness } from './listener-container.harness';

/**
 * Item 3: transient failures in a row open the breaker (fetching stops), after the cool-down one
 * record probes alone (half-open), and its success closes the breaker.
 */
describe('ListenerContainer circuit breaker', () => {
  let h: ContainerHarness;
  let sampler: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(sampler);
    await h.stopAll();
    expect(h.fake.batchErrors).toEqual([]);
  });

  it('opens after 3 transient failures, pauses every partition, probes once after openMs, closes on success', async () => {
    const fake = new FakeKafkaClient().createTopic('t', 3);
    h = new ContainerHarness(fake);
    const OPEN_MS = 300;
    for (const p of [0, 1, 2]) {
      append(fake, p, [
        [`d${p}`, `d${p}`],
        [`e${p}`, `e${p}`],
      ]);
    }
    let down = true;
    const container = h.container(
      { id: 'breaker', concurrency: 3, circuitBreaker: { consecutiveFailures: 3, openMs: OPEN_MS } },
      h.pipeline('breaker', async () => {
        if (down) return { status: 'retry', delayMs: 50, error: new Error('database down'), transient: true };
        // Long enough that a second call let in during half-open would overlap the probe.
        await new Promise((r) => setTimeout(r, 100));
        return { status: 'success' };
      }),
    );
    const states: string[] = [container.status().breaker?.state ?? 'none'];
    sampler = setInterval(() => {
      const state = container.status().breaker?.state ?? 'none';
      if (states[states.length - 1] !== state) states.push(state);
    }, 1);
    await container.start();

    await fake.waitFor(() => container.status().breaker?.state === 'open', { what: 'the breaker to open' });
    const openedAt = container.status().breaker?.since as number;
    expect(fake.consumers[0].paused()).toEqual([{ topic: 't', partitions: [0, 1, 2] }]);
    expect(h.calls.map((c) => `${c.value}@${c.attempt}`).sort()).toEqual(['d0@1', 'd1@1', 'd2@1']);
    down = false;

    await fake.waitFor(() => [0, 1, 2].every((p) => h.committed(p) === '2'), {
      what: 'every record committed after the breaker closed',
    });
    const after = h.calls.slice(3).sort((x, y) => x.at - y.at);
    const [probe, ...rest] = after;
    // One probe, after the cool-down, alone: the next call started once it had ended.
    expect(probe.at).toBeGreaterThanOrEqual(openedAt + OPEN_MS - 5);
    expect(rest[0].at).toBeGreaterThanOrEqual(probe.end as number);
    expect(after.map((c) => c.value).sort()).toEqual(['d0', 'd1', 'd2', 'e0', 'e1', 'e2']);
    expect(states).toEqual(['closed', 'open', 'half-open', 'closed']);
    expect(container.status().breaker).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
    expect(fake.consumers[0].paused()).toEqual([]);
  });
});
