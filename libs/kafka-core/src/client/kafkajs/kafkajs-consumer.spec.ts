import { Consumer } from 'kafkajs';
import { KafkajsConsumer } from './kafkajs-consumer';

/**
 * A stand-in for a kafkajs consumer reproducing the order of its crash handling
 * (src/consumer/index.js, onCrash): stop, emit CRASH, then arm the restart timer, which only
 * stop() clears. A real crash with restart takes kafkajs' retries (seconds) to provoke.
 */
function crashingConsumer() {
  const listeners: ((event: { payload: { error: Error; restart: boolean } }) => void)[] = [];
  let restartTimeout: NodeJS.Timeout | undefined;
  const state = { restarts: 0, disconnects: 0 };
  const consumer = {
    events: {
      CRASH: 'consumer.crash',
      GROUP_JOIN: 'consumer.group_join',
      REBALANCING: 'consumer.rebalancing',
    },
    on: (event: string, listener: (typeof listeners)[number]) => {
      if (event === 'consumer.crash') listeners.push(listener);
    },
    stop: async () => clearTimeout(restartTimeout),
    disconnect: async () => {
      await consumer.stop();
      state.disconnects += 1;
    },
    connect: async () => undefined,
    crash: (restart: boolean) => {
      for (const listener of listeners) listener({ payload: { error: new Error('broker gone'), restart } });
      if (restart) restartTimeout = setTimeout(() => (state.restarts += 1), 100);
    },
  };
  return { consumer, state };
}

describe('KafkajsConsumer.disconnect around a crash', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it('stops the restart kafkajs arms after CRASH when called from the crash listener', async () => {
    const { consumer, state } = crashingConsumer();
    const adapter = new KafkajsConsumer(consumer as unknown as Consumer);
    let leaving: Promise<void> | undefined;
    adapter.onCrash(() => (leaving = adapter.disconnect()));

    consumer.crash(true);
    await leaving;
    jest.runOnlyPendingTimers();

    expect(state).toEqual({ restarts: 0, disconnects: 1 });
  });

  it('stops a restart armed by a crash that arrives after disconnect began', async () => {
    const { consumer, state } = crashingConsumer();
    const adapter = new KafkajsConsumer(consumer as unknown as Consumer);

    const leaving = adapter.disconnect();
    consumer.crash(true);
    await leaving;
    await new Promise((resolve) => setImmediate(resolve));
    jest.runOnlyPendingTimers();

    expect(state).toEqual({ restarts: 0, disconnects: 1 });
  });

  it('shares one attempt between calls, and disconnects again after a new connect', async () => {
    const { consumer, state } = crashingConsumer();
    const adapter = new KafkajsConsumer(consumer as unknown as Consumer);

    await Promise.all([adapter.disconnect(), adapter.disconnect()]);
    await adapter.disconnect();
    expect(state.disconnects).toBe(1);
    await adapter.connect();
    await adapter.disconnect();
    expect(state.disconnects).toBe(2);
  });
});
