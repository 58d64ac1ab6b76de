/** Header names of the standard envelope every published record carries. */
export const ENVELOPE_HEADERS = {
  eventId: 'event-id',
  eventType: 'event-type',
  schemaVersion: 'schema-version',
  occurredAt: 'occurred-at',
  correlationId: 'correlation-id',
  causationId: 'causation-id',
  source: 'source',
  traceparent: 'traceparent',
} as const;

/** Derived topic names; one retry and one dead-letter topic per consumed topic. */
export const retryTopicName = (topic: string): string => `${topic}-retry`;
export const deadLetterTopicName = (topic: string): string => `${topic}-dlq`;
