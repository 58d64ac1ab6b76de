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
  it('fails a handler that outlives handlerTimeoutMs with a retryable timeout error', async () => {
    const slow = timeoutMiddleware(
      () => new Promise((resolve) => setTimeout(() => resolve({ status: 'success' }), 200)),
    );
    await expect(slow(fakeMessage(fakeListener({ handlerTimeoutMs: 20 })))).rejects.toThrow(
      HandlerTimeoutError,
    );
  });

  it('does nothing without a timeout', async () => {
    const quick = timeoutMiddleware(async () => ({ status: 'success' }));
    await expect(quick(fakeMessage())).resolves.toEqual({ status: 'success' });
  });
});
