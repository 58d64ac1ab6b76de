import { Message } from 'kafkajs';
import { runAsChild } from '../lib/child';
import {
  benchEvents,
  concurrentSends,
  envelopeSizedHeaders,
  rawIdempotentProducer,
  SendRateResult,
  sequentialBatches,
} from '../lib/publish-load';
import type { PublisherLoad } from './kafka-core-publisher';

/**
 * The hand-written baseline of B4/B4b: a kafkajs producer configured as kafka-core's (idempotent,
 * acks=all, one request in flight), each caller awaiting its own `producer.send`.
 */
export interface RawIdempotentProducerOptions {
  topic: string;
  valueBytes: number;
  load: PublisherLoad;
  /** Carry headers the size of kafka-core's envelope (default), or the JSON value only. */
  headers: 'envelope-sized' | 'none';
}

export async function rawIdempotentProducerArm(
  options: RawIdempotentProducerOptions,
): Promise<SendRateResult> {
  const producer = await rawIdempotentProducer('bench-raw-idempotent');
  const event = benchEvents(options.valueBytes);
  const headers = options.headers === 'none' ? undefined : envelopeSizedHeaders('bench-raw-idempotent');
  // The caller serializes its own events, as the publisher does.
  const message = (seq: number): Message => ({ value: JSON.stringify(event(seq)), headers });
  const { topic, load } = options;
  try {
    if (load.kind === 'concurrent') {
      const send = (seq: number) => producer.send({ topic, acks: -1, messages: [message(seq)] });
      await concurrentSends(load.callers, load.warmupMs, send);
      const result = await concurrentSends(load.callers, load.durationMs, send);
      // Each send is its own produce request (one partition, one broker).
      return { ...result, requests: result.records };
    }
    const batch = (start: number, size: number) =>
      producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: size }, (_, i) => message(start + i)),
      });
    await sequentialBatches(load.warmupBatches * load.batchSize, load.batchSize, batch);
    return await sequentialBatches(load.total, load.batchSize, batch);
  } finally {
    await producer.disconnect();
  }
}

/** B5's baseline: the given records sent in batches of `batchSize`, one batch awaited at a time. */
export async function rawRecordBatches(options: {
  topic: string;
  records: Message[];
  batchSize: number;
}): Promise<SendRateResult> {
  const producer = await rawIdempotentProducer('bench-raw-batches');
  const { topic, records, batchSize } = options;
  try {
    // Unmeasured: metadata of the topic, as the relay arm's warm-up record.
    await producer.send({ topic, acks: -1, messages: [{ value: '{"warmup":true}' }] });
    return await sequentialBatches(records.length, batchSize, (start, size) =>
      producer.send({ topic, acks: -1, messages: records.slice(start, start + size) }),
    );
  } finally {
    await producer.disconnect();
  }
}

runAsChild(module, rawIdempotentProducerArm);
