import { nextDelay, transientDelay } from '../errors/backoff';
import { classifyFailure } from '../errors/error-classifier';
import { asError, InboundMessage, Outcome } from './pipeline';
import type { Middleware } from './pipeline';

/**
 * The outcome of an infrastructure failure: the same record tried again in place after the capped
 * transient backoff, whatever attempts remain; the container never dead-letters it.
 */
export function transientRetry(message: InboundMessage, error: Error): Outcome {
  const delayMs = transientDelay(message.listener.retry.transient, message.attempt);
  return { status: 'retry', delayMs, error, transient: true };
}

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
    // The thrown value itself: asError wraps an Error of another realm (a vm context) and drops its `code`.
    const verdict = classifyFailure(thrown, classifier);
    if (verdict === 'transient') return transientRetry(message, error);
    if (verdict === 'retry') {
      const delayMs = nextDelay(backoff, message.attempt);
      if (delayMs !== undefined) return { status: 'retry' as const, delayMs, error };
    }
    throw error;
  });
};
