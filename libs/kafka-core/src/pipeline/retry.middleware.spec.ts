import { runInNewContext } from 'node:vm';
import { DatabaseError } from 'pg';
import { NonRetryableError } from '../errors/kafka-core.errors';
import { retryMiddleware } from './retry.middleware';
import { fakeListener, fakeMessage } from '../testing/pipeline-fakes';

class RemoteDown extends Error {}
class BadRequest extends Error {}

describe('retryMiddleware', () => {
  const failing = (error: Error) => retryMiddleware(async () => Promise.reject(error));
  const listener = fakeListener({
    retry: {
      attempts: 3,
      initialDelayMs: 100,
      multiplier: 3,
      maxDelayMs: 1_000,
      jitter: 0,
      nonRetryable: [BadRequest],
    },
  });

  it('passes a success through', async () => {
    await expect(
      retryMiddleware(async () => ({ status: 'success' }))(fakeMessage(listener)),
    ).resolves.toEqual({
      status: 'success',
    });
  });

  it('asks for a retry with the backoff delay while attempts remain', async () => {
    const error = new RemoteDown('down');
    await expect(failing(error)(fakeMessage(listener, undefined, 1))).resolves.toEqual({
      status: 'retry',
      delayMs: 100,
      error,
    });
    await expect(failing(error)(fakeMessage(listener, undefined, 2))).resolves.toEqual({
      status: 'retry',
      delayMs: 300,
      error,
    });
  });

  it('rethrows once the attempts are used up', async () => {
    await expect(failing(new RemoteDown('down'))(fakeMessage(listener, undefined, 3))).rejects.toThrow(
      'down',
    );
  });

  it('never retries errors classified as not retryable', async () => {
    await expect(failing(new BadRequest('no'))(fakeMessage(listener))).rejects.toThrow(BadRequest);
    await expect(failing(new NonRetryableError('poison'))(fakeMessage(listener))).rejects.toThrow(
      NonRetryableError,
    );
    await expect(failing(new TypeError('bug'))(fakeMessage(listener))).rejects.toThrow(TypeError);
  });

  it('with retry: false the first failure is final', async () => {
    const noRetry = fakeListener({ retry: false });
    await expect(failing(new RemoteDown('down'))(fakeMessage(noRetry))).rejects.toThrow('down');
  });

  describe('infrastructure (transient) failures', () => {
    const dbDown = () =>
      Object.assign(new DatabaseError('terminating connection due to administrator command', 0, 'error'), {
        code: '57P01',
      });
    const transientListener = fakeListener({
      retry: {
        attempts: 3,
        initialDelayMs: 100,
        jitter: 0,
        nonRetryable: [BadRequest],
        transient: { initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 5_000, jitter: 0 },
      },
    });

    it('asks for a transient retry in place with the capped transient backoff, whatever attempts remain', async () => {
      const error = dbDown();
      const outcomes = await Promise.all(
        [1, 2, 3, 4, 50].map((attempt) => failing(error)(fakeMessage(transientListener, undefined, attempt))),
      );
      expect(outcomes).toEqual(
        [1_000, 2_000, 4_000, 5_000, 5_000].map((delayMs) => ({
          status: 'retry',
          transient: true,
          delayMs,
          error,
        })),
      );
    });

    it('waits out an outage even with retry: false, using the default transient backoff', async () => {
      const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      const outcome = await failing(error)(fakeMessage(fakeListener({ retry: false }), undefined, 7));
      expect(outcome).toMatchObject({ status: 'retry', transient: true, error });
      // TRANSIENT_BACKOFF: 500 ms doubling, capped at 30 s, jitter 0.2.
      expect((outcome as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(24_000);
      expect((outcome as { delayMs: number }).delayMs).toBeLessThanOrEqual(30_000);
    });

    it('recognises an outage error from another realm (Node core errors inside a vm context, as under jest)', async () => {
      const foreign = runInNewContext(
        'Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })',
      ) as Error;
      expect(foreign instanceof Error).toBe(false);
      const retry = retryMiddleware(async () => Promise.reject(foreign));
      await expect(retry(fakeMessage(transientListener, undefined, 9))).resolves.toMatchObject({
        status: 'retry',
        transient: true,
        delayMs: 5_000,
      });
    });

    it('leaves an outage wrapped in NonRetryableError or a nonRetryable class final', async () => {
      await expect(
        failing(new NonRetryableError('give up', { cause: dbDown() }))(fakeMessage(transientListener)),
      ).rejects.toThrow('give up');
      await expect(
        failing(new BadRequest('rejected', { cause: dbDown() }))(fakeMessage(transientListener)),
      ).rejects.toThrow('rejected');
    });

    it('keeps the limited backoff for handler errors', async () => {
      const error = new RemoteDown('chart service returned 500');
      await expect(failing(error)(fakeMessage(transientListener, undefined, 1))).resolves.toEqual({
        status: 'retry',
        delayMs: 100,
        error,
      });
      await expect(failing(error)(fakeMessage(transientListener, undefined, 3))).rejects.toThrow(error);
    });
  });
});
