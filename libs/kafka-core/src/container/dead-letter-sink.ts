import { ConsumedRecord } from '../client/kafka-client.port';
import { deadLetterTopicName } from '../kafka-core.constants';
import { KafkaPublisher } from '../producer/kafka-publisher';
import { capHeader } from '../producer/envelope';
import { ListenerDefinition } from '../discovery/listener-definition';
import { DeadLetterSink } from './listener-container';

/** Provenance header names on dead-lettered records. */
export const DLT_HEADERS = {
  originalTopic: 'dlt-original-topic',
  originalPartition: 'dlt-original-partition',
  originalOffset: 'dlt-original-offset',
  originalTimestamp: 'dlt-original-timestamp',
  group: 'dlt-group',
  listener: 'dlt-listener',
  attempts: 'dlt-attempts',
  errorClass: 'dlt-exception-class',
  errorMessage: 'dlt-exception-message',
  failedAt: 'dlt-failed-at',
} as const;

/** Control characters and line breaks are dropped so a message cannot forge log or header lines. */
function sanitize(message: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point here
  return capHeader(message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim());
}

/**
 * Publishes the record's original key and value bytes to `<topic>-dlq`, same partition, with
 * provenance headers. It throws when the broker refuses, so the offset is not committed.
 */
export function deadLetterSink(publisher: KafkaPublisher): DeadLetterSink {
  return async (record: ConsumedRecord, error: Error, attempts: number, listener: ListenerDefinition) => {
    await publisher.sendRecords(deadLetterTopicName(record.topic), [
      {
        key: record.key,
        value: record.value,
        partition: record.partition,
        headers: {
          ...record.headers,
          [DLT_HEADERS.originalTopic]: record.topic,
          [DLT_HEADERS.originalPartition]: String(record.partition),
          [DLT_HEADERS.originalOffset]: record.offset,
          [DLT_HEADERS.originalTimestamp]: record.timestamp,
          [DLT_HEADERS.group]: listener.groupId,
          [DLT_HEADERS.listener]: listener.id,
          [DLT_HEADERS.attempts]: String(attempts),
          [DLT_HEADERS.errorClass]: error.constructor?.name ?? 'Error',
          [DLT_HEADERS.errorMessage]: sanitize(error.message ?? String(error)),
          [DLT_HEADERS.failedAt]: new Date().toISOString(),
        },
      },
    ]);
  };
}
