import { HandlerTimeoutError } from '../errors/kafka-core.errors';
import { compose, Middleware } from './pipeline';
import { timeoutMiddleware } from './timeout.middleware';
import { fakeListener, fakeMessage } from '../testing/pipeline-fakes';

describe('compose', () => {
  it('runs the first middleware outermost', async () => {
    const order: string[] = [];
    const mark =
      (name: string): Middleware =>
      (next) =>
      async (message) => {
        order.push(`${name}>`);
        const outcome = await next(message);
        order.push(`<${name}`);
        return outcome;
      };
    const handler = compose([mark('a'), mark('b')], async () => {
      order.push('handler');
      return { status: 'success' };
    });
    await handler(fakeMessage());
    expect(order).toEqual(['a>', 'b>', 'handler', '<b', '<a']);
  });
});

describe('timeoutMiddleware', () => {
  it('aborts the signal at the timeout and fails with the timeout error once the handler gives up', async () => {
    const abortedAt: number[] = [];
    const started = Date.now();
    const cooperative = timeoutMiddleware(
      (message) =>
        new Promise((_, reject) =>
          message.context.signal.addEventListener('abort', () => {
            abortedAt.push(Date.now() - started);
            reject(new Error('aborted by the signal'));
          }),
        ),
    );
    await expect(cooperative(fakeMessage(fakeListener({ handlerTimeoutMs: 20 })))).rejects.toThrow(
      HandlerTimeoutError,
    );
    expect(abortedAt).toHaveLength(1);
    expect(abortedAt[0]).toBeGreaterThanOrEqual(15);
  });

  it('keeps waiting for a handler that ignores the signal, so nothing of its key runs beside it', async () => {
    let settledAt = 0;
    const stubborn = timeoutMiddleware(
      () =>
        new Promise((resolve) =>
          setTimeout(() => {
            settledAt = Date.now();
            resolve({ status: 'success' });
          }, 200),
        ),
    );
    const outcome = await stubborn(fakeMessage(fakeListener({ handlerTimeoutMs: 20 })));
    // The middleware returned only after the handler settled; its work was done, so it counts.
    expect(Date.now()).toBeGreaterThanOrEqual(settledAt);
    expect(settledAt).toBeGreaterThan(0);
    expect(outcome).toEqual({ status: 'success' });
  });

  it('does nothing without a timeout', async () => {
    const quick = timeoutMiddleware(async () => ({ status: 'success' }));
    await expect(quick(fakeMessage())).resolves.toEqual({ status: 'success' });
  });
});
