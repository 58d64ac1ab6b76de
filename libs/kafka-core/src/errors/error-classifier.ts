import { NonRetryableError } from './kafka-core.errors';
import { isTransientError } from './transient-errors';

export type ErrorClass = abstract new (...args: never[]) => Error;

export interface ClassifierOptions {
  /** Extra classes that go straight to the dead-letter topic. */
  nonRetryable?: ErrorClass[];
  /** Classes that are always retried, overriding the defaults and `nonRetryable`. */
  retryable?: ErrorClass[];
}

/** The error plus this many causes are inspected, like Spring's classifier traversing causes. */
const MAX_CAUSE_DEPTH = 5;

/**
 * Bugs in the handler's code: retrying runs the same code on the same record and fails the same
 * way. JavaScript's counterpart of the ClassCastException and NoSuchMethodException that
 * Spring's DefaultErrorHandler does not retry.
 */
const PROGRAMMING_ERRORS: ErrorClass[] = [TypeError, ReferenceError, SyntaxError, RangeError];

/**
 * A NestJS HttpException with a client-error status, duck-typed so kafka-core does not depend
 * on @nestjs/common's class identity: a ValidationPipe rejection is a 400. 408 and 429 say
 * "try again later", so they stay retryable.
 */
function isClientHttpError(error: object): boolean {
  const getStatus = (error as { getStatus?: unknown }).getStatus;
  if (typeof getStatus !== 'function') return false;
  let status: unknown;
  try {
    status = getStatus.call(error);
  } catch {
    return false;
  }
  return typeof status === 'number' && status >= 400 && status <= 499 && status !== 408 && status !== 429;
}

function isInstance(error: object, classes: readonly ErrorClass[]): boolean {
  return classes.some((c) => error instanceof c);
}

/**
 * Whether a failed delivery is worth another attempt. As in Spring's classifier, the error and
 * then each cause are inspected in turn and the first classified one decides, so an explicit
 * error wrapping another wins over its cause; at each level `retryable` beats every not-retryable
 * rule. Anything unclassified, including non-Error throwables, is retried.
 */
export function classify(error: unknown, options: ClassifierOptions = {}): 'retry' | 'fail' {
  const retryable = options.retryable ?? [];
  const nonRetryable: ErrorClass[] = [
    NonRetryableError,
    ...PROGRAMMING_ERRORS,
    ...(options.nonRetryable ?? []),
  ];
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth++) {
    if (typeof current !== 'object' || current === null) return 'retry';
    if (isInstance(current, retryable)) return 'retry';
    if (isInstance(current, nonRetryable) || isClientHttpError(current)) return 'fail';
    current = (current as { cause?: unknown }).cause;
  }
  return 'retry';
}

/**
 * Whether an explicit rule says "do not retry": at the first level (error, then causes) matching
 * `retryable`, `nonRetryable` or NonRetryableError, `retryable` says no and the others say yes.
 */
function explicitlyNonRetryable(error: unknown, options: ClassifierOptions): boolean {
  const nonRetryable: ErrorClass[] = [NonRetryableError, ...(options.nonRetryable ?? [])];
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth++) {
    if (typeof current !== 'object' || current === null) return false;
    if (isInstance(current, options.retryable ?? [])) return false;
    if (isInstance(current, nonRetryable)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The failure's class, in this order:
 * 1. `fail` when an explicit rule says so: the listener's `nonRetryable` classes or a
 *    NonRetryableError (validation, deserialization, unknown event type), in the error or a cause,
 *    unless a `retryable` class is met first. The handler's own verdict beats everything.
 * 2. `transient` for an infrastructure failure anywhere in the chain (see isTransientError): retried
 *    with the listener's capped transient backoff for as long as it lasts, never dead-lettered. It
 *    beats the programming-error rule, so `TypeError: fetch failed` caused by ECONNREFUSED waits.
 * 3. Otherwise `classify`: `fail` for programming errors and HTTP 4xx, `retry` (limited attempts,
 *    then the dead-letter topic) for the rest.
 */
export function classifyFailure(
  error: unknown,
  options: ClassifierOptions = {},
): 'transient' | 'retry' | 'fail' {
  if (explicitlyNonRetryable(error, options)) return 'fail';
  if (isTransientError(error)) return 'transient';
  return classify(error, options);
}
