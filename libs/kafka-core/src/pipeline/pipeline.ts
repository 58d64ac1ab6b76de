import type { SqlExecutor } from '@app/database';
import { ConsumedRecord } from '../client/kafka-client.port';
import { Acknowledgment, KafkaContext } from '../ctx-host/kafka.context';
import { ListenerDefinition, ListenerRoute } from '../discovery/listener-definition';

/**
 * One delivery of one record (or, for batch listeners, of a batch) to one listener: the one object
 * that carries it from fetch to outcome. The handler's KafkaContext is a view of it.
 */
export interface InboundMessage {
  /** The record; for a batch, its first record. */
  readonly record: ConsumedRecord;
  /** Batch listeners: every record of the delivery, in offset order. */
  records?: readonly ConsumedRecord[];
  readonly listener: ListenerDefinition;
  /** 1 on first delivery. */
  readonly attempt: number;
  /** When this record first failed, for dead-letter provenance. */
  readonly firstFailureAt?: Date;
  readonly context: KafkaContext;
  readonly ack: Acknowledgment;
  readonly heartbeat: () => Promise<void>;
  /** Set by the deserialize middleware (an array of payloads for a batch). */
  route?: ListenerRoute;
  payload?: unknown;
  /** Set by the inbox middleware: the transaction the handler's writes belong in. */
  transaction?: SqlExecutor;
  /** Set by the timeout middleware. */
  signal?: AbortSignal;
}

/** What became of a delivery. The container turns outcomes into offsets; middlewares never commit. */
export type Outcome =
  | { status: 'success' }
  /**
   * Try the same record again after `delayMs`. `transient`: our own infrastructure failed (database,
   * broker, network), waited out without limit and never dead-lettered. `nack`: the handler asked for
   * it (`ack.nack(delay)`); no failed attempt is counted.
   */
  | { status: 'retry'; delayMs: number; error: Error; transient?: boolean; nack?: boolean }
  | { status: 'dead-lettered'; error: Error; topic: string }
  | { status: 'forwarded'; error: Error; topic: string }
  | { status: 'skipped'; error?: Error };

export type Handler = (message: InboundMessage) => Promise<Outcome>;
export type Middleware = (next: Handler) => Handler;

/** The first middleware runs outermost, as in watermill's router. */
export function compose(middlewares: readonly Middleware[], handler: Handler): Handler {
  return middlewares.reduceRight((next, middleware) => middleware(next), handler);
}

/** Errors from another realm (Node's own network errors under jest's vm) fail instanceof: duck-type them. */
export function asError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  const looksLikeError =
    typeof thrown === 'object' && thrown !== null && 'message' in thrown && 'stack' in thrown;
  return looksLikeError ? (thrown as Error) : new Error(String(thrown));
}
