import { AckMode, KafkaListenerOptions } from '../decorators/kafka-listener.decorator';
import { Acknowledgment, KafkaContext } from '../ctx-host/kafka.context';
import { BackoffOptions, DEFAULT_BACKOFF, validateBackoff } from '../errors/backoff';
import type { Middleware } from '../pipeline/pipeline';
import { ClassifierOptions } from '../errors/error-classifier';

/**
 * Calls the user's method (through Nest's context pipeline when enhancers apply); returns what the
 * method returns, a promise or a plain value.
 */
export type Invoker = (payload: unknown, context: KafkaContext, ack: Acknowledgment) => unknown;

export type PayloadClass = new (...args: never[]) => object;

/** One method of a listener; a plain method listener has exactly one, the default. */
export interface ListenerRoute {
  methodName: string;
  eventType?: string;
  isDefault: boolean;
  payload?: PayloadClass;
  invoke: Invoker;
}

export interface ListenerConcurrency {
  /** Partitions handled at once. */
  partitions: number;
  keyOrdered: boolean;
  /** In-flight bound inside the key-ordered scheduler. */
  maxInFlight: number;
}

/** A discovered listener as plain data: what to consume, how, and whom to call. */
export interface ListenerDefinition {
  id: string;
  topics: string[];
  topicPattern?: RegExp;
  groupId: string;
  fromBeginning: boolean;
  autoStartup: boolean;
  ackMode: AckMode;
  concurrency: ListenerConcurrency;
  retry: {
    backoff: BackoffOptions;
    classifier: ClassifierOptions;
    /** Backoff of infrastructure failures: unlimited attempts, capped delay. */
    transient: Omit<BackoffOptions, 'attempts'>;
  };
  circuitBreaker?: { consecutiveFailures: number; failureRate?: FailureRate; openMs: number };
  /** The listener's own middlewares, innermost (the module's come first, in the runtime). */
  middlewares: Middleware[];
  /** Delays of the non-blocking retry topic, when the listener uses one. */
  retryTopics?: { delaysMs: number[] };
  /** Explicit topic, `false` for none, undefined for `<topic>-dlq`. */
  deadLetter: string | false | undefined;
  maxInFlight?: number;
  rateLimit?: number;
  batch: boolean;
  handlerTimeoutMs?: number;
  /** Handled inside an inbox transaction, once per event id and group. */
  inbox: boolean;
  unknownEventType: 'dead-letter' | 'skip';
  sessionTimeoutMs: number;
  commitIntervalMs: number;
  /** True when the listener is a class dispatching on the `event-type` header. */
  routed: boolean;
  routes: ListenerRoute[];
}

export interface FailureRate {
  threshold: number;
  windowMs: number;
  minCalls: number;
}

/** Infrastructure outages are waited out: half a second, doubling, at most 30 s apart. */
export const TRANSIENT_BACKOFF: Omit<BackoffOptions, 'attempts'> = {
  initialDelayMs: 500,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 0.2,
};

export const CIRCUIT_BREAKER_DEFAULTS = { consecutiveFailures: 5, openMs: 30_000 } as const;

export type ListenerDefaults = Omit<KafkaListenerOptions, 'id' | 'topics' | 'topicPattern'>;

/** Thrown at bootstrap for a listener that cannot work, naming it. */
export class ListenerConfigurationError extends Error {
  constructor(id: string, problems: string[]) {
    super(`@KafkaListener ${id}: ${problems.join('; ')}`);
    this.name = 'ListenerConfigurationError';
  }
}

const ACK_MODES: AckMode[] = ['auto', 'manual', 'manual-immediate'];
const isPositiveInt = (n: unknown) => Number.isInteger(n) && (n as number) > 0;
const isClass = (value: unknown) =>
  typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));

/**
 * Merges module defaults with the decorator's options and checks them, so a broken listener fails the
 * application's start with a sentence naming it, never at its first record.
 */
export function defineListener(
  options: KafkaListenerOptions,
  defaults: ListenerDefaults,
  fallbackId: string,
  routes: ListenerRoute[],
  routed: boolean,
): ListenerDefinition {
  const merged: KafkaListenerOptions = { ...defaults, ...options };
  const id = merged.id ?? fallbackId;
  const problems: string[] = [];

  const topics = merged.topics ?? [];
  if (topics.length === 0 && !merged.topicPattern) problems.push('name "topics" or a "topicPattern"');
  if (topics.length > 0 && merged.topicPattern)
    problems.push('use either "topics" or "topicPattern", not both');
  if (merged.topicPattern && !(merged.topicPattern instanceof RegExp))
    problems.push('"topicPattern" must be a RegExp');
  if (!merged.groupId) problems.push('"groupId" is required (or a module default)');

  const ackMode = merged.ackMode ?? 'auto';
  if (!ACK_MODES.includes(ackMode))
    problems.push(`unknown ackMode "${ackMode}" (use ${ACK_MODES.join(', ')})`);

  let concurrency: ListenerConcurrency = { partitions: 1, keyOrdered: false, maxInFlight: 1 };
  if (typeof merged.concurrency === 'number') {
    if (!isPositiveInt(merged.concurrency)) problems.push('"concurrency" must be a positive integer');
    else concurrency = { partitions: merged.concurrency, keyOrdered: false, maxInFlight: 1 };
  } else if (merged.concurrency) {
    if (merged.concurrency.keyOrdered !== true || !isPositiveInt(merged.concurrency.maxInFlight)) {
      problems.push('"concurrency" as an object needs keyOrdered: true and a positive integer maxInFlight');
    } else {
      // Every assigned partition feeds the same key scheduler, so all of them are fetched at once.
      concurrency = { partitions: 1_000, keyOrdered: true, maxInFlight: merged.concurrency.maxInFlight };
    }
  }

  const retryOptions = merged.retry === false ? { attempts: 1 } : (merged.retry ?? {});
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...retryOptions };
  problems.push(...validateBackoff(backoff).map((p) => `retry: ${p}`));

  for (const [name, value] of [
    ['maxInFlight', merged.maxInFlight],
    ['rateLimit', merged.rateLimit],
    ['handlerTimeoutMs', merged.handlerTimeoutMs],
  ] as const) {
    if (value !== undefined && !(typeof value === 'number' && value > 0))
      problems.push(`"${name}" must be a positive number`);
  }
  if (merged.retryTopics) {
    const delays = merged.retryTopics.delaysMs;
    if (!Array.isArray(delays) || delays.length === 0 || delays.some((d) => !isPositiveInt(d))) {
      problems.push('"retryTopics.delaysMs" must be a non-empty list of positive integers (ms)');
    }
    if (merged.topicPattern)
      problems.push('"retryTopics" needs explicit "topics" (each gets a <topic>-retry)');
    if (merged.batch) problems.push('"retryTopics" cannot be combined with "batch"');
  }
  // A batch is one delivery: per-record bounds would hold back part of it (Spring refuses them too).
  for (const option of ['maxInFlight', 'rateLimit'] as const) {
    if (merged.batch && merged[option] !== undefined)
      problems.push(`"${option}" works per record: a "batch" listener cannot honour it`);
  }
  if (merged.batch && merged.circuitBreaker)
    problems.push('"circuitBreaker" works per record, not with "batch"');
  if (merged.batch && ackMode !== 'auto')
    problems.push('"batch" listeners acknowledge the whole batch: use ackMode "auto"');
  if (merged.batch && concurrency.keyOrdered)
    problems.push('"batch" cannot be combined with key-ordered concurrency');
  if (merged.batch && routed) problems.push('"batch" cannot be combined with per-event-type handlers');

  if (merged.inbox) {
    if (merged.batch) problems.push('"inbox" works per record: it cannot be combined with "batch"');
    // A manual acknowledgment could commit the offset before the inbox transaction commits.
    if (ackMode !== 'auto') problems.push('"inbox" listeners acknowledge on commit: use ackMode "auto"');
  }

  const transient = { ...TRANSIENT_BACKOFF, ...(merged.retry ? merged.retry.transient : undefined) };
  problems.push(...validateBackoff({ ...transient, attempts: 1 }).map((p) => `retry.transient: ${p}`));
  let circuitBreaker: ListenerDefinition['circuitBreaker'];
  if (merged.circuitBreaker) {
    const cb = { ...CIRCUIT_BREAKER_DEFAULTS, ...merged.circuitBreaker };
    if (!isPositiveInt(cb.consecutiveFailures))
      problems.push('"circuitBreaker.consecutiveFailures" must be a positive integer');
    if (!isPositiveInt(cb.openMs)) problems.push('"circuitBreaker.openMs" must be a positive integer (ms)');
    const rate = cb.failureRate;
    if (
      rate &&
      !(
        rate.threshold > 0 &&
        rate.threshold <= 1 &&
        isPositiveInt(rate.windowMs) &&
        isPositiveInt(rate.minCalls)
      )
    ) {
      problems.push('"circuitBreaker.failureRate" needs threshold in (0, 1], windowMs and minCalls > 0');
    }
    circuitBreaker = { consecutiveFailures: cb.consecutiveFailures, failureRate: rate, openMs: cb.openMs };
  }
  const middlewares = merged.middlewares ?? [];
  if (!Array.isArray(middlewares) || middlewares.some((m) => typeof m !== 'function'))
    problems.push('"middlewares" must be a list of functions (next) => handler');

  const payloads = [merged.payload, ...routes.map((r) => r.payload)].filter((p) => p !== undefined);
  if (payloads.some((p) => !isClass(p)))
    problems.push('"payload" must be a class (decorated with class-validator)');

  if (routes.length === 0) problems.push('a class-level @KafkaListener needs @KafkaHandler methods');
  const types = routes.filter((r) => r.eventType).map((r) => r.eventType);
  const duplicate = types.find((t, i) => types.indexOf(t) !== i);
  if (duplicate) problems.push(`two handlers for event type "${duplicate}"`);
  if (routes.filter((r) => r.isDefault).length > 1) problems.push('more than one default @KafkaHandler');
  if (routed && routes.some((r) => !r.eventType && !r.isDefault)) {
    problems.push('each @KafkaHandler needs an eventType or isDefault: true');
  }

  if (problems.length > 0) throw new ListenerConfigurationError(id, problems);
  return {
    id,
    topics: [...topics],
    topicPattern: merged.topicPattern,
    groupId: merged.groupId as string,
    fromBeginning: merged.fromBeginning ?? false,
    autoStartup: merged.autoStartup ?? true,
    ackMode,
    concurrency,
    retry: {
      backoff,
      classifier: { nonRetryable: retryOptions.nonRetryable, retryable: retryOptions.retryable },
      transient,
    },
    circuitBreaker,
    middlewares: [...middlewares],
    retryTopics: merged.retryTopics ? { delaysMs: [...merged.retryTopics.delaysMs] } : undefined,
    deadLetter: merged.deadLetter,
    maxInFlight: merged.maxInFlight,
    rateLimit: merged.rateLimit,
    batch: merged.batch ?? false,
    handlerTimeoutMs: merged.handlerTimeoutMs,
    inbox: merged.inbox ?? false,
    unknownEventType: merged.unknownEventType ?? 'dead-letter',
    sessionTimeoutMs: merged.sessionTimeoutMs ?? 30_000,
    commitIntervalMs: merged.commitIntervalMs ?? 1_000,
    routed,
    routes: routes.map((r) => ({ ...r, payload: r.payload ?? merged.payload })),
  };
}

/** The route for a record's event type, or undefined when none fits. */
export function routeFor(
  definition: ListenerDefinition,
  eventType: string | undefined,
): ListenerRoute | undefined {
  if (!definition.routed) return definition.routes[0];
  return (
    definition.routes.find((r) => r.eventType !== undefined && r.eventType === eventType) ??
    definition.routes.find((r) => r.isDefault)
  );
}
