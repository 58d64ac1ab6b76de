import { v7 as uuidv7 } from 'uuid';
import { Headers } from '../client/kafka-client.port';
import { currentDelivery } from '../context/delivery-scope';
import { childTraceparent } from '../context/trace-context';
import { contractOf } from '../decorators/event-contract.decorator';
import { ENVELOPE_HEADERS } from '../kafka-core.constants';

/** Header values are capped: they are copied into every hop and must never carry a payload. */
export const MAX_HEADER_VALUE_LENGTH = 512;

export interface EnvelopeInput {
  eventType: string;
  source: string;
  schemaVersion?: number;
  correlationId?: string;
  causationId?: string;
  eventId?: string;
  occurredAt?: Date;
  traceparent?: string;
}

export function capHeader(value: string): string {
  return value.length > MAX_HEADER_VALUE_LENGTH ? value.slice(0, MAX_HEADER_VALUE_LENGTH) : value;
}

/** Standard envelope headers; a new event id (UUIDv7, time-ordered) unless one is given. */
export function envelopeHeaders(input: EnvelopeInput, extra: Headers = {}): Headers {
  // Cutting an event id could make two events one for the inbox: refuse it instead.
  if (
    input.eventId !== undefined &&
    (input.eventId.length === 0 || input.eventId.length > MAX_HEADER_VALUE_LENGTH)
  ) {
    throw new Error(
      `eventId must be 1 to ${MAX_HEADER_VALUE_LENGTH} characters (got ${input.eventId.length})`,
    );
  }
  const eventId = input.eventId ?? uuidv7();
  const headers: Headers = {};
  for (const name in extra) headers[name] = capHeader(String(extra[name]));
  headers[ENVELOPE_HEADERS.eventId] = eventId;
  headers[ENVELOPE_HEADERS.eventType] = capHeader(input.eventType);
  headers[ENVELOPE_HEADERS.schemaVersion] = String(input.schemaVersion ?? 1);
  headers[ENVELOPE_HEADERS.occurredAt] = (input.occurredAt ?? new Date()).toISOString();
  headers[ENVELOPE_HEADERS.correlationId] = capHeader(input.correlationId ?? eventId);
  headers[ENVELOPE_HEADERS.source] = capHeader(input.source);
  headers[ENVELOPE_HEADERS.traceparent] = input.traceparent ?? childTraceparent(undefined);
  if (input.causationId) headers[ENVELOPE_HEADERS.causationId] = capHeader(input.causationId);
  return headers;
}

/** What a caller may say about one event it publishes or enqueues. */
export interface EventOptions {
  /** Topic; defaults to the event class's `@EventContract`. */
  topic?: string;
  /** Record key; defaults to the contract's key function. */
  key?: string | null;
  /** Extra headers (values are capped like the envelope's). */
  headers?: Record<string, string>;
  eventType?: string;
  schemaVersion?: number;
  eventId?: string;
  occurredAt?: Date;
  /** Default: the correlation id of the record being handled, else the new event's id. */
  correlationId?: string;
  /** Default: the event id of the record being handled. */
  causationId?: string;
}

export interface PreparedEvent {
  topic: string;
  key: string | null;
  value: string;
  headers: Headers;
  eventId: string;
}

/**
 * Topic, key, JSON value and envelope of one event. Inside a handler the record being handled is the
 * cause: its correlation id carries over, its event id becomes the causation id, its trace continues.
 */
export function prepareEvent(event: object, options: EventOptions, source: string): PreparedEvent {
  const contract = contractOf(event);
  const topic = options.topic ?? contract?.topic;
  if (!topic) {
    throw new Error(
      `No topic for ${event.constructor.name}: pass { topic } or decorate the class with @EventContract`,
    );
  }
  const incoming = currentDelivery()?.record.headers;
  const headers = envelopeHeaders(
    {
      eventType: options.eventType ?? contract?.type ?? event.constructor.name,
      schemaVersion: options.schemaVersion ?? contract?.version,
      source,
      eventId: options.eventId,
      occurredAt: options.occurredAt,
      correlationId: options.correlationId ?? incoming?.[ENVELOPE_HEADERS.correlationId],
      causationId: options.causationId ?? incoming?.[ENVELOPE_HEADERS.eventId],
      traceparent: childTraceparent(incoming?.[ENVELOPE_HEADERS.traceparent]),
    },
    options.headers,
  );
  const key = options.key !== undefined ? options.key : (contract?.key?.(event) ?? null);
  return {
    topic,
    key: key ?? null,
    value: JSON.stringify(event),
    headers,
    eventId: headers[ENVELOPE_HEADERS.eventId],
  };
}
