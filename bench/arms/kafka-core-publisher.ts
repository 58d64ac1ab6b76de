import { KafkaPublisher, PublisherOptions } from '@app/kafka-core';
import { KafkajsClient } from '@app/kafka-core/client/kafkajs.client';
import { runAsChild } from '../lib/child';
import { kafkaConnection } from '../lib/kafka';
import {
  benchEvents,
  concurrentSends,
  quietNestLogger,
  SendRateResult,
  sequentialBatches,
} from '../lib/publish-load';

/**
 * kafka-core's publisher without Nest, as a service gets it from the module: `send` from many
 * concurrent callers (B4), or `sendBatch` in a loop (B4b).
 */
export type PublisherLoad =
  | { kind: 'concurrent'; callers: number; durationMs: number; warmupMs: number }
  | { kind: 'batches'; total: number; batchSize: number; warmupBatches: number };

export interface KafkaCorePublisherOptions {
  topic: string;
  valueBytes: number;
  load: PublisherLoad;
  /** Publisher options (linger, batch size); absent: the module defaults. */
  producer?: PublisherOptions;
}

export async function kafkaCorePublisher(options: KafkaCorePublisherOptions): Promise<SendRateResult> {
  quietNestLogger();
  const { brokers, security } = kafkaConnection();
  const clientId = 'bench-kafka-core-publisher';
  const moduleOptions = { brokers, clientId, security, producer: options.producer };
  const publisher = new KafkaPublisher(new KafkajsClient({ brokers, clientId, security }), moduleOptions);
  const event = benchEvents(options.valueBytes);
  const { topic, load } = options;
  try {
    if (load.kind === 'concurrent') {
      const send = (seq: number) => publisher.send(topic, event(seq));
      // Unmeasured: connection, metadata, JIT.
      await concurrentSends(load.callers, load.warmupMs, send);
      const before = publisher.stats().requests;
      const result = await concurrentSends(load.callers, load.durationMs, send);
      return { ...result, requests: publisher.stats().requests - before };
    }
    const batch = (start: number, size: number) =>
      publisher.sendBatch(
        topic,
        Array.from({ length: size }, (_, i) => ({ event: event(start + i) })),
      );
    await sequentialBatches(load.warmupBatches * load.batchSize, load.batchSize, batch);
    const before = publisher.stats().requests;
    const result = await sequentialBatches(load.total, load.batchSize, batch);
    return { ...result, requests: publisher.stats().requests - before };
  } finally {
    await publisher.onApplicationShutdown();
  }
}

runAsChild(module, kafkaCorePublisher);
