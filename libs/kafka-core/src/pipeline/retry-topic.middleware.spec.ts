import { DatabaseError } from 'pg';
import { OutgoingRecord, ProduceError } from '../client/kafka-client.port';
import { NonRetryableError } from '../errors/kafka-core.errors';
import { fakeListener, fakeMessage } from '../testing/pipeline-fakes';
import { RETRY_HEADERS, retryTopicMiddleware } from './retry-topic.middleware';

describe('retryTopicMiddleware', () => {
  const forwarded: { topic: string; record: OutgoingRecord }[] = [];
  const publish = async (topic: string, record: OutgoingRecord) => void forwarded.push({ topic, record });
  beforeEach(() => (forwarded.length = 0));

  const listener = fakeListener({
    retryTopics: { delaysMs: [1_000, 5_000] },
    retry: { transient: { initialDelayMs: 200, multiplier: 3, maxDelayMs: 2_000, jitter: 0 } },
  });
  const failing = (error: Error, send = publish) =>
    retryTopicMiddleware(send)(async () => Promise.reject(error));
  const dbDown = () =>
    Object.assign(new DatabaseError('the database system is starting up', 0, 'error'), { code: '57P03' });

  it('forwards a handler error with a delay left to <topic>-retry', async () => {
    const error = new Error('chart service returned 500');
    await expect(failing(error)(fakeMessage(listener, undefined, 1))).resolves.toEqual({
      status: 'forwarded',
      error,
      topic: 'orders-retry',
    });
    expect(forwarded.map((f) => [f.topic, f.record.headers?.[RETRY_HEADERS.attempt]])).toEqual([
      ['orders-retry', '2'],
    ]);
  });

  it('does not forward an outage: the record waits in place with the transient backoff', async () => {
    const error = dbDown();
    const outcomes = await Promise.all(
      [1, 2, 3, 9].map((attempt) => failing(error)(fakeMessage(listener, undefined, attempt))),
    );
    expect(outcomes).toEqual(
      [200, 600, 1_800, 2_000].map((delayMs) => ({ status: 'retry', transient: true, delayMs, error })),
    );
    expect(forwarded).toEqual([]);
  });

  it('waits in place when the broker refuses the forward (a retriable produce error)', async () => {
    const refused = new ProduceError('KafkaJSConnectionError: Connection error', true);
    const down = async () => Promise.reject(refused);
    await expect(
      failing(new Error('chart service returned 500'), down)(fakeMessage(listener)),
    ).resolves.toEqual({
      status: 'retry',
      transient: true,
      delayMs: 200,
      error: refused,
    });
  });

  it('lets a non-retriable forward failure and final errors through to the dead-letter middleware', async () => {
    const tooLarge = new ProduceError('MESSAGE_TOO_LARGE', false);
    await expect(
      failing(new Error('x'), async () => Promise.reject(tooLarge))(fakeMessage(listener)),
    ).rejects.toBe(tooLarge);
    await expect(failing(new Error('x'))(fakeMessage(listener, undefined, 3))).rejects.toThrow('x');
    await expect(
      failing(new NonRetryableError('bad', { cause: dbDown() }))(fakeMessage(listener)),
    ).rejects.toThrow('bad');
    expect(forwarded).toEqual([]);
  });
});
