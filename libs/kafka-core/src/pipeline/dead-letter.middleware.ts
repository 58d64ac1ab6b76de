import { Logger } from '@nestjs/common';
import { ConsumedRecord, OutgoingRecord } from '../client/kafka-client.port';
import { PayloadValidationError } from '../errors/kafka-core.errors';
import { redactErrorText } from '../errors/redact';
import { deadLetterTopicName } from '../kafka-core.constants';
import { capHeader } from '../producer/envelope';
import { asError, InboundMessage, Middleware } from './pipeline';

/** Provenance header names on dead-lettered records. */
export const DLT_HEADERS = {
  originalTopic: 'dlt-original-topic',
  originalPartition: 'dlt-original-partition',
  originalOffset: 'dlt-original-offset',
  originalTimestamp: 'dlt-original-timestamp',
  group: 'dlt-group',
  listener: 'dlt-listener',
  attempts: 'dlt-attempts',
  firstFailureAt: 'dlt-first-failure-at',
  lastFailureAt: 'dlt-last-failure-at',
  errorClass: 'dlt-exception-class',
  errorMessage: 'dlt-exception-message',
  validationErrors: 'dlt-validation-errors',
  stackTrace: 'dlt-exception-stacktrace',
} as const;

export type DeadLetterPublish = (topic: string, record: OutgoingRecord) => Promise<void>;

export interface DeadLetterOptions {
  /** Stack traces can name internals; they go into headers only when asked for. */
  includeStackTrace?: boolean;
}

/** Where a failed record of this listener goes; undefined when dead-lettering is off. */
export function deadLetterDestination(
  message: Pick<InboundMessage, 'listener' | 'record'>,
): string | undefined {
  const configured = message.listener.deadLetter;
  if (configured === false) return undefined;
  return configured ?? deadLetterTopicName(message.record.topic);
}

export function deadLetterRecord(
  record: ConsumedRecord,
  error: Error,
  provenance: {
    groupId: string;
    listenerId: string;
    attempts: number;
    firstFailureAt?: Date;
    samePartition: boolean;
  },
  options: DeadLetterOptions = {},
): OutgoingRecord {
  const now = new Date().toISOString();
  const headers: Record<string, string> = {
    ...record.headers,
    [DLT_HEADERS.originalTopic]: record.topic,
    [DLT_HEADERS.originalPartition]: String(record.partition),
    [DLT_HEADERS.originalOffset]: record.offset,
    [DLT_HEADERS.originalTimestamp]: record.timestamp,
    [DLT_HEADERS.group]: provenance.groupId,
    [DLT_HEADERS.listener]: provenance.listenerId,
    [DLT_HEADERS.attempts]: String(provenance.attempts),
    [DLT_HEADERS.firstFailureAt]: (provenance.firstFailureAt ?? new Date(now)).toISOString(),
    [DLT_HEADERS.lastFailureAt]: now,
    [DLT_HEADERS.errorClass]:
      error.name && error.name !== 'Error' ? error.name : (error.constructor?.name ?? 'Error'),
    // Messages echo input (V8 quotes bad JSON): no part of the value may travel in a header.
    [DLT_HEADERS.errorMessage]: redactErrorText(error.message ?? '', record),
  };
  if (error instanceof PayloadValidationError) {
    headers[DLT_HEADERS.validationErrors] = capHeader(JSON.stringify(error.errors));
  }
  if (options.includeStackTrace && error.stack)
    headers[DLT_HEADERS.stackTrace] = redactErrorText(error.stack, record);
  // The original key and value bytes travel untouched; the derived topic has the same partition count.
  return {
    key: record.key,
    value: record.value,
    headers,
    partition: provenance.samePartition ? record.partition : undefined,
  };
}

/**
 * Final failures end here: published to the dead-letter topic with provenance, or logged and skipped
 * when the listener has none. A failed publish propagates, so the container does not commit.
 */
export function deadLetterMiddleware(
  publish: DeadLetterPublish,
  options: DeadLetterOptions = {},
): Middleware {
  const logger = new Logger('DeadLetter');
  // A catch handler rather than an async frame: the success path stays one promise.
  return (next) => (message) =>
    next(message).catch(async (thrown: unknown) => {
      const error = asError(thrown);
      const { record, listener } = message;
      const where = `${record.topic}/${record.partition}@${record.offset}`;
      const topic = deadLetterDestination(message);
      if (!topic) {
        logger.error(
          `${listener.id}: ${where} failed after ${message.attempt} attempt(s), skipped: ${error.name}: ${redactErrorText(error.message ?? '', record)}`,
        );
        return { status: 'skipped', error };
      }
      await publish(
        topic,
        deadLetterRecord(
          record,
          error,
          {
            groupId: listener.groupId,
            listenerId: listener.id,
            attempts: message.attempt,
            firstFailureAt: message.firstFailureAt,
            samePartition: listener.deadLetter === undefined,
          },
          options,
        ),
      );
      logger.warn(
        `${listener.id}: ${where} dead-lettered to ${topic} after ${message.attempt} attempt(s): ${error.name}`,
      );
      return { status: 'dead-lettered', error, topic };
    });
}
