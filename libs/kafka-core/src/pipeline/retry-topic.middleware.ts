import { ConsumedRecord } from '../client/kafka-client.port';
import { classifyFailure } from '../errors/error-classifier';
import { retryTopicName } from '../kafka-core.constants';
import { DeadLetterPublish } from './dead-letter.middleware';
import { asError, Middleware } from './pipeline';
import { transientRetry } from './retry.middleware';

/** Headers a record carries while it waits in a retry topic. */
export const RETRY_HEADERS = {
  originalTopic: 'retry-original-topic',
  originalPartition: 'retry-original-partition',
  originalOffset: 'retry-original-offset',
  originalTimestamp: 'retry-original-timestamp',
  group: 'retry-group',
  attempt: 'retry-attempt',
  dueAt: 'retry-due-at',
  firstFailureAt: 'retry-first-failure-at',
} as const;

/** A record read back from a retry topic, seen as the original it stands for. */
export interface RetryView {
  record: ConsumedRecord;
  group: string;
  attempt: number;
  dueAt: number;
  firstFailureAt?: Date;
}

/** Undefined for a record that did not come through a retry topic. */
export function retryView(record: ConsumedRecord): RetryView | undefined {
  const h = record.headers;
  if (!h[RETRY_HEADERS.originalTopic] || !h[RETRY_HEADERS.group]) return undefined;
  const headers = Object.fromEntries(Object.entries(h).filter(([name]) => !name.startsWith('retry-')));
  return {
    record: {
      ...record,
      topic: h[RETRY_HEADERS.originalTopic],
      partition: Number(h[RETRY_HEADERS.originalPartition]),
      offset: h[RETRY_HEADERS.originalOffset],
      timestamp: h[RETRY_HEADERS.originalTimestamp],
      headers,
    },
    group: h[RETRY_HEADERS.group],
    attempt: Number(h[RETRY_HEADERS.attempt]) || 2,
    dueAt: Number(h[RETRY_HEADERS.dueAt]) || 0,
    firstFailureAt: h[RETRY_HEADERS.firstFailureAt] ? new Date(h[RETRY_HEADERS.firstFailureAt]) : undefined,
  };
}

/**
 * Non-blocking retries: a retryable failure with a delay left is forwarded to `<topic>-retry` (same
 * partition, original bytes) with the attempt, the due time and the failing group, and its own offset
 * is done. Final failures fall through to the dead-letter middleware. An infrastructure failure is
 * not forwarded (its retries there would run out and dead-letter it): the record waits in place with
 * the transient backoff, as under the blocking retry middleware.
 */
export function retryTopicMiddleware(publish: DeadLetterPublish): Middleware {
  return (next) => async (message) => {
    try {
      return await next(message);
    } catch (thrown) {
      const error = asError(thrown);
      const { listener, record, attempt } = message;
      // The thrown value itself: asError wraps an Error of another realm and drops its `code`.
      const verdict = classifyFailure(thrown, listener.retry.classifier);
      if (verdict === 'transient') return transientRetry(message, error);
      const delayMs = listener.retryTopics?.delaysMs[attempt - 1];
      if (delayMs === undefined || verdict !== 'retry') throw error;
      const topic = retryTopicName(record.topic);
      const forwarded = publish(topic, {
        key: record.key,
        value: record.value,
        partition: record.partition,
        headers: {
          ...record.headers,
          [RETRY_HEADERS.originalTopic]: record.topic,
          [RETRY_HEADERS.originalPartition]: String(record.partition),
          [RETRY_HEADERS.originalOffset]: record.offset,
          [RETRY_HEADERS.originalTimestamp]: record.timestamp,
          [RETRY_HEADERS.group]: listener.groupId,
          [RETRY_HEADERS.attempt]: String(attempt + 1),
          [RETRY_HEADERS.dueAt]: String(Date.now() + delayMs),
          [RETRY_HEADERS.firstFailureAt]: (message.firstFailureAt ?? new Date()).toISOString(),
        },
      });
      // The broker refusing the forward is our outage too: wait in place rather than dead-letter.
      const refused = await forwarded.then(
        () => undefined,
        (publishError: unknown) => ({ publishError }),
      );
      if (refused === undefined) return { status: 'forwarded', error, topic };
      const publishError = asError(refused.publishError);
      if (classifyFailure(refused.publishError) === 'transient') return transientRetry(message, publishError);
      throw publishError;
    }
  };
}
