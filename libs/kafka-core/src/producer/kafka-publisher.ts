import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { MetricsHooks } from '../metrics/metrics-hooks';
import {
  KAFKA_CLIENT,
  KafkaClientPort,
  KafkaProducerPort,
  OutgoingRecord,
  RecordMetadata,
} from '../client/kafka-client.port';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KafkaCoreModuleOptions, PUBLISHER_DEFAULTS } from '../kafka-core.options';
import { EventOptions, prepareEvent } from './envelope';
import { RecordAccumulator } from './record-accumulator';

export type SendOptions = Omit<EventOptions, 'topic'>;

export interface SendResult {
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
}

/** One event of a `sendBatch`, with its own key and headers. */
export interface BatchEntry<T extends object = object> {
  event: T;
  options?: SendOptions;
}

/**
 * The `KafkaTemplate` analogue: JSON events with the standard envelope, acks=all, idempotent.
 * Concurrent sends share produce requests (see RecordAccumulator); each call still learns the
 * partition and offset of its own records.
 */
@Injectable()
export class KafkaPublisher implements OnApplicationShutdown {
  private producer?: Promise<KafkaProducerPort>;
  private readonly accumulator: RecordAccumulator;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly client: KafkaClientPort,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
    @Optional() hooks?: MetricsHooks,
  ) {
    const producer = { ...PUBLISHER_DEFAULTS, ...options.producer };
    this.accumulator = new RecordAccumulator(
      () => this.connected(),
      {
        lingerMs: producer.lingerMs,
        maxBatchRecords: producer.maxBatchRecords,
        requestTimeoutMs: producer.sendTimeoutMs,
      },
      () => this.replaceProducer(),
      () => hooks?.publisher,
    );
  }

  /** Publishes one event to `topic`; resolves once the broker acknowledged it (acks=all). */
  async send<T extends object>(topic: string, event: T, options: SendOptions = {}): Promise<SendResult> {
    const [result] = await this.sendBatch(topic, [{ event, options }]);
    return result;
  }

  /** Publishes an event to the topic of its `@EventContract`. */
  async publish<T extends object>(event: T, options: EventOptions = {}): Promise<SendResult> {
    const prepared = prepareEvent(event, options, this.options.clientId);
    const [metadata] = await this.accumulator.append(prepared.topic, [prepared]);
    return { eventId: prepared.eventId, ...metadata };
  }

  /** Publishes several events to one topic in one request, in order; results in the same order. */
  async sendBatch<T extends object>(topic: string, entries: readonly BatchEntry<T>[]): Promise<SendResult[]> {
    const prepared = entries.map(({ event, options }) =>
      prepareEvent(event, { ...options, topic }, this.options.clientId),
    );
    const written = await this.accumulator.append(topic, prepared);
    return written.map((metadata, i) => ({ eventId: prepared[i].eventId, ...metadata }));
  }

  /**
   * Sends records as they are (dead letters keep the original bytes; the outbox relay its rows), without
   * lingering: these callers have gathered what they send already.
   */
  sendRecords(topic: string, records: OutgoingRecord[]): Promise<RecordMetadata[]> {
    return this.accumulator.append(topic, records, true);
  }

  /** Produce requests made and records sent so far. */
  stats(): { requests: number; records: number } {
    return { ...this.accumulator.stats };
  }

  private connected(): Promise<KafkaProducerPort> {
    if (!this.producer) {
      const producer = this.client.producer({
        compression: this.options.producer?.compression,
        retries: this.options.producer?.retries,
      });
      this.producer = producer.connect().then(() => producer);
      // A failed connect is retried by the next send instead of being cached forever.
      this.producer.catch(() => (this.producer = undefined));
    }
    return this.producer;
  }

  /**
   * After a failed request the idempotent producer's sequence numbers no longer match what the broker
   * wrote (kafkajs rolls back every partition of the request, including those that were written), so a
   * later send could be taken for a duplicate and dropped. A new producer gets a new producer id and
   * starts afresh: records re-sent after a failure may then be duplicated, never lost.
   */
  private replaceProducer(): void {
    const failed = this.producer;
    this.producer = undefined;
    void failed?.then((producer) => producer.disconnect()).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.accumulator.drain().catch(() => undefined);
    const producer = await this.producer?.catch(() => undefined);
    this.producer = undefined;
    await producer?.disconnect();
  }
}
