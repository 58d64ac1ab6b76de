import { nextDelay } from '../errors/backoff';
import { classify } from '../errors/error-classifier';
import { asError, Middleware } from './pipeline';

/**
 * Decides whether a failure is tried again (and after how long) or final. It does not wait: the
 * container carries the delay out without leaving the group (pause, seek back, resume).
 */
export const retryMiddleware: Middleware = (next) => (message) => {
  // Listeners with retry topics retry without blocking; see retry-topic.middleware.
  if (message.listener.retryTopics) return next(message);
  // A catch handler rather than an async frame: the success path stays one promise.
  return next(message).catch((thrown: unknown) => {
    const error = asError(thrown);
    const { backoff, classifier } = message.listener.retry;
    if (classify(error, classifier) === 'retry') {
      const delayMs = nextDelay(backoff, message.attempt);
      if (delayMs !== undefined) return { status: 'retry' as const, delayMs, error };
    }
    throw error;
  });
};
