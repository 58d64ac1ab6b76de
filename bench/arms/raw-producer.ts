import { randomBytes } from 'node:crypto';
import { rawKafka } from '../lib/kafka';
import type { ProducerResult } from './java-producer-perf';

/** A raw kafkajs producer sending batches of 1000 records, acks=all, one send at a time (B0). */
export interface RawProducerOptions {
  topic: string;
  records: number;
  recordBytes: number;
  batchSize: number;
}

export async function rawProducer(options: RawProducerOptions): Promise<ProducerResult> {
  const producer = rawKafka('bench-raw-producer').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    // Random bytes like ProducerPerformance's, built beforehand so the timing covers sending only.
    const value = randomBytes(options.recordBytes);
    const batch = Array.from({ length: options.batchSize }, () => ({ value }));
    const started = performance.now();
    let sent = 0;
    while (sent < options.records) {
      const messages = batch.slice(0, Math.min(options.batchSize, options.records - sent));
      await producer.send({ topic: options.topic, acks: -1, messages });
      sent += messages.length;
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      records: sent,
      recordsPerSec: sent / seconds,
      mbPerSec: (sent * options.recordBytes) / seconds / (1024 * 1024),
    };
  } finally {
    await producer.disconnect();
  }
}
