import { v7 as uuidv7 } from 'uuid';
import { ENVELOPE_HEADERS } from '../kafka-core.constants';
import { Headers } from '../client/kafka-client.port';

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
}

export function capHeader(value: string): string {
  return value.length > MAX_HEADER_VALUE_LENGTH ? value.slice(0, MAX_HEADER_VALUE_LENGTH) : value;
}

/** Standard envelope headers; a new event id (UUIDv7, time-ordered) unless one is given. */
export function envelopeHeaders(input: EnvelopeInput, extra: Headers = {}): Headers {
  const eventId = input.eventId ?? uuidv7();
  const headers: Headers = {
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, capHeader(v)])),
    [ENVELOPE_HEADERS.eventId]: eventId,
    [ENVELOPE_HEADERS.eventType]: capHeader(input.eventType),
    [ENVELOPE_HEADERS.schemaVersion]: String(input.schemaVersion ?? 1),
    [ENVELOPE_HEADERS.occurredAt]: (input.occurredAt ?? new Date()).toISOString(),
    [ENVELOPE_HEADERS.correlationId]: capHeader(input.correlationId ?? eventId),
    [ENVELOPE_HEADERS.source]: capHeader(input.source),
  };
  if (input.causationId) headers[ENVELOPE_HEADERS.causationId] = capHeader(input.causationId);
  return headers;
}
