/**
 * Errors the listener container understands. Classes extending `NonRetryableError` skip the
 * retry loop and go straight to the dead-letter topic, like the exceptions Spring Kafka's
 * DefaultErrorHandler classifies as not retryable (DeserializationException and friends).
 */
import { redactErrorText } from './redact';

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/** Throw from a handler to skip retries: the record goes straight to the dead-letter topic. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** The record value is not valid JSON, or not decodable at all: no retry can fix its bytes. */
export class DeserializationError extends NonRetryableError {
  readonly topic: string;
  readonly partition: number;
  /** Offsets stay strings: they are int64 on the wire. */
  readonly offset: string;

  constructor(topic: string, partition: number, offset: string, cause?: unknown) {
    // The parser's message quotes the bad input ("this is not"... is not valid JSON): drop the quotes.
    super(
      `Cannot deserialize record ${topic}-${partition}@${offset}` +
        (cause === undefined ? '' : `: ${redactErrorText(describe(cause))}`),
      { cause },
    );
    this.name = 'DeserializationError';
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
  }
}

export interface PayloadFieldError {
  field: string;
  constraints: string[];
}

/** The payload failed class-validator: the same bytes fail the same way on every attempt. */
export class PayloadValidationError extends NonRetryableError {
  readonly errors: PayloadFieldError[];

  constructor(errors: PayloadFieldError[], options?: { cause?: unknown }) {
    super(`Invalid payload: ${errors.map((e) => e.field).join(', ')}`, options);
    this.name = 'PayloadValidationError';
    this.errors = errors;
  }
}

/** No handler is registered for the record's event type (or the record carries none). */
export class UnknownEventTypeError extends NonRetryableError {
  readonly eventType: string | undefined;

  constructor(eventType: string | undefined) {
    super(eventType === undefined ? 'Record carries no event type' : `Unknown event type "${eventType}"`);
    this.name = 'UnknownEventTypeError';
    this.eventType = eventType;
  }
}

/** The handler did not settle in time. Retryable: a slow dependency may recover. */
export class HandlerTimeoutError extends Error {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`Handler did not complete within ${timeoutMs} ms`);
    this.name = 'HandlerTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** Every delivery attempt failed; `cause` is the last attempt's error. */
export class RetriesExhaustedError extends Error {
  readonly attempts: number;
  // Assigned in the constructor: a bare field declaration would reset it under ES2022 class fields.
  declare readonly cause: unknown;

  constructor(attempts: number, cause: unknown) {
    super(`Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${describe(cause)}`, { cause });
    this.name = 'RetriesExhaustedError';
    this.attempts = attempts;
  }
}
