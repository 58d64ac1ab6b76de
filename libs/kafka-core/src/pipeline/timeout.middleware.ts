import { HandlerTimeoutError } from '../errors/kafka-core.errors';
import { Middleware } from './pipeline';

/** Fails a handler that runs past `handlerTimeoutMs` with a retryable error; the call itself is not aborted. */
export const timeoutMiddleware: Middleware = (next) => (message) => {
  const timeoutMs = message.listener.handlerTimeoutMs;
  if (!timeoutMs) return next(message);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandlerTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([next(message), timeout]).finally(() => clearTimeout(timer));
};
