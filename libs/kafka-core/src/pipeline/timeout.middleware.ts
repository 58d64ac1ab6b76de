import { HandlerTimeoutError } from '../errors/kafka-core.errors';
import { Middleware } from './pipeline';

/**
 * Past `handlerTimeoutMs` the handler's `ctx.signal` aborts. The call is still awaited: a timed-out
 * handler keeps its key's place until it settles, so neither its retry nor the key's next record
 * runs beside it, and shutdown waits for it. If it fails after the abort, it failed by timeout (a
 * retryable error); if it finishes anyway, its work is done and counts as a success.
 */
export const timeoutMiddleware: Middleware = (next) => async (message) => {
  const timeoutMs = message.listener.handlerTimeoutMs;
  if (!timeoutMs) return next(message);
  const controller = new AbortController();
  message.signal = controller.signal;
  const timer = setTimeout(() => controller.abort(new HandlerTimeoutError(timeoutMs)), timeoutMs);
  try {
    return await next(message);
  } catch (error) {
    // The abort's reason is the HandlerTimeoutError: what the handler threw after it is a consequence.
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
};
