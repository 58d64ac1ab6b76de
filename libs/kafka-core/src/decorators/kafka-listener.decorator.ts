import type { Middleware } from '../pipeline/pipeline';
import { DiscoveryService } from '@nestjs/core';
import { BackoffOptions } from '../errors/backoff';
import { ErrorClass } from '../errors/error-classifier';

export type AckMode = 'auto' | 'manual' | 'manual-immediate';

/** Parallelism inside one partition: different keys together, one key strictly in order. */
export interface KeyOrderedConcurrency {
  keyOrdered: true;
  /** Records in flight at once per listener instance. */
  maxInFlight: number;
}

export interface RetryOptions extends Partial<BackoffOptions> {
  /** Errors that go straight to the dead-letter topic (with subclasses, and through `cause`). */
  nonRetryable?: ErrorClass[];
  /** Errors always retried, even when they would be classified as not retryable. */
  retryable?: ErrorClass[];
  /**
   * Backoff for infrastructure (transient) failures: database, broker, network and timeout errors.
   * These are retried for as long as they last, never dead-lettered; attempts are not limited.
   */
  transient?: Partial<Omit<BackoffOptions, 'attempts'>>;
}

/**
 * A circuit breaker over a listener's transient failures (a dependency down): open stops fetching
 * for the listener, after `openMs` one record probes (half-open), success closes it again.
 */
export interface CircuitBreakerOptions {
  /** Opens after this many transient failures in a row. Default 5. */
  consecutiveFailures?: number;
  /** Or when at least `minCalls` deliveries within `windowMs` failed at `threshold` (0..1) or more. */
  failureRate?: { threshold: number; windowMs: number; minCalls: number };
  /** Cool-down before the probe, in ms. Default 30000. */
  openMs?: number;
}

export interface KafkaListenerOptions {
  /** Listener id for logs, the registry and dead-letter provenance; defaults to `Class.method`. */
  id?: string;
  /** Topics to consume; or `topicPattern`. */
  topics?: string[];
  /** Regular expression over topic names, matched against the topics that exist at startup. */
  topicPattern?: RegExp;
  /** Consumer group; one group per listener. */
  groupId?: string;
  /** Where a group without committed offsets starts. Default: latest. */
  fromBeginning?: boolean;
  /** Start with the application (default) or only when started through the registry. */
  autoStartup?: boolean;
  /**
   * `auto`: a handler that returns acknowledges its record. `manual`: the handler calls
   * `ack.acknowledge()` (possibly later, out of order); commits are coalesced. `manual-immediate`:
   * each acknowledgment commits at once (the contiguous prefix only).
   */
  ackMode?: AckMode;
  /** Partitions processed in parallel (a number), or key-ordered parallelism inside partitions. */
  concurrency?: number | KeyOrderedConcurrency;
  /** Blocking retries: attempts and backoff, and which errors are not retried. `false`: none. */
  retry?: RetryOptions | false;
  /**
   * Non-blocking retries (Spring's retry topics): a retryable failure is forwarded to `<topic>-retry`
   * and handled again after each delay in turn, while the main partition keeps flowing; after the last
   * delay the record is dead-lettered. Only the group that failed a record re-handles it.
   */
  retryTopics?: { delaysMs: number[] };
  /** Dead-letter topic; default `<topic>-dlq`. `false`: log and skip failed records. */
  deadLetter?: string | false;
  /** Class the JSON value is transformed into (class-transformer) and validated against (class-validator). */
  payload?: new (...args: never[]) => object;
  /** Upper bound of records being processed at once (backpressure). */
  maxInFlight?: number;
  /** Records per second at most. */
  rateLimit?: number;
  /** Hand the handler all records of a fetched batch at once (payloads array). */
  batch?: boolean;
  /** A handler running longer than this fails with a retryable timeout error. */
  handlerTimeoutMs?: number;
  /** Records whose `event-type` has no handler: dead-letter (default) or skip. */
  unknownEventType?: 'dead-letter' | 'skip';
  /**
   * Idempotent inbox: each event id is handled once per group. The handler gets a database
   * transaction (`@Tx()` or `ctx.transaction`) that commits together with the inbox row; a redelivered
   * event is skipped. Needs `database` in the module options and `ackMode: 'auto'`.
   */
  inbox?: boolean;
  /** Consumer session timeout (ms); a member silent for longer is removed from the group. */
  sessionTimeoutMs?: number;
  /** How often completed offsets are committed at most (ms); commits are also made at batch end. */
  commitIntervalMs?: number;
  /** Stop fetching while a dependency is down (see CircuitBreakerOptions). `false`: none (default). */
  circuitBreaker?: CircuitBreakerOptions | false;
  /**
   * The listener's own middlewares (Spring's RecordInterceptor), innermost: after deserialization,
   * validation, the timeout and the inbox (they see the payload and the transaction), around the
   * handler; after the module's `middlewares`. What they throw is retried and dead-lettered like
   * the handler's own errors.
   */
  middlewares?: Middleware[];
}

/**
 * Marks a provider method (or a class whose methods are `@KafkaHandler`s) as a Kafka listener. It only
 * records the options; the explorer reads them once at bootstrap.
 */
export const KafkaListener = DiscoveryService.createDecorator<KafkaListenerOptions>();
