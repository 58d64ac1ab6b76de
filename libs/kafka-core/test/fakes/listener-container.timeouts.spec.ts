import { compose } from '@app/kafka-core/pipeline/pipeline';
import { timeoutMiddleware } from '@app/kafka-core/pipeline/timeout.middleware';
import { FakeKafkaClient } from './fake-kafka-client';
import { append, ContainerHarness } from './listener-container.harness';

/**
 * Item 8: a timed-out handler keeps its key's slot until it settles; its signal aborts at the
 * timeout; nothing of its key (neither its own retry nor the key's next record) runs beside it.
 */
describe('ListenerContainer handler timeouts, key-ordered', () => {
  let h: ContainerHarness;
  afterEach(async () => {
    await h.stopAll();
    expect(h.fake.batchErrors).toEqual([]);
  });

  it('aborts the signal at the timeout and starts nothing of the key before the overrunning call settles', async () => {
    const fake = new FakeKafkaClient().createTopic('t', 1);
    h = new ContainerHarness(fake);
    const TIMEOUT_MS = 100;
    const OVERRUN_MS = 400;
    append(fake, 0, [
      ['k', 'a'],
      ['k', 'b'],
      ['other', 'c'],
    ]);
    const abortedAt = new Map<string, number>();
    let running = 0;
    const overlaps: string[] = [];
    let overran = false;
    const inner = h.pipeline('timeouts', async (message, call) => {
      const signal = message.context.signal;
      signal?.addEventListener('abort', () => abortedAt.set(`${call.value}@${call.attempt}`, Date.now()));
      if (call.key === 'k' && ++running > 1) overlaps.push(`${call.value}@${call.attempt}`);
      try {
        // a's first call overruns its timeout, ignoring the signal.
        if (call.value === 'a' && !overran) {
          overran = true;
          await new Promise((r) => setTimeout(r, OVERRUN_MS));
        }
        return { status: 'success' };
      } finally {
        if (call.key === 'k') running--;
      }
    });
    const container = h.container(
      { id: 'timeouts', concurrency: { keyOrdered: true, maxInFlight: 4 }, handlerTimeoutMs: TIMEOUT_MS },
      compose([timeoutMiddleware], inner),
      { recoveryDelayMs: 50 },
    );
    await container.start();

    await fake.waitFor(() => h.handled('b') && h.handled('c') && h.calls.every((call) => call.end), {
      what: 'a, b and c handled',
    });
    const a = h.calls.find((c) => c.value === 'a');
    const b = h.calls.find((c) => c.value === 'b');
    const c = h.calls.find((call) => call.value === 'c');
    // The other key ran while a overran.
    expect(c?.at).toBeLessThan(a?.end as number);
    // Nothing of key k beside a: b (and any retry of a) started after a settled.
    expect(overlaps).toEqual([]);
    expect(b?.at).toBeGreaterThanOrEqual(a?.end as number);
    expect(h.sequence('k')).toEqual(['a@1', 'b@1']);
    // The signal aborted at the timeout, while a was still running.
    expect([...abortedAt.keys()]).toEqual(['a@1']);
    const aborted = (abortedAt.get('a@1') as number) - (a?.at as number);
    expect(aborted).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(aborted).toBeLessThan(OVERRUN_MS);
    await fake.waitFor(() => h.committed(0) === '3', { what: 'every record committed' });
  });
});
