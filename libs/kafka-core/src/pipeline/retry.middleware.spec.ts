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
});
