import { Logger } from '@nestjs/common';
import {
  ConsumedRecord,
  KafkaClientPort,
  KafkaConsumerPort,
  RecordBatch,
  BatchControls,
} from '../client/kafka-client.port';
import { ListenerDefinition } from '../discovery/listener-definition';

/** Where a record goes when it cannot be processed; must throw if the record could not be parked. */
export type DeadLetterSink = (
  record: ConsumedRecord,
  error: Error,
  attempts: number,
  listener: ListenerDefinition,
) => Promise<void>;

export interface ContainerOptions {
  /** Attempts per record before it is dead-lettered. */
  maxAttempts: number;
  /** First retry delay; doubles per attempt. */
  retryDelayMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Owns one consumer for one listener: fetches batches, calls the handler per record in partition
 * order, and commits the next offset once per batch. It is the only place offsets are committed.
 */
export class ListenerContainer {
  private readonly logger: Logger;
  private consumer?: KafkaConsumerPort;

  constructor(
    readonly definition: ListenerDefinition,
    private readonly client: KafkaClientPort,
    private readonly deadLetter: DeadLetterSink,
    private readonly options: ContainerOptions,
  ) {
    this.logger = new Logger(`KafkaListener ${definition.id}`);
  }

  get running(): boolean {
    return this.consumer !== undefined;
  }

  async start(): Promise<void> {
    const consumer = this.client.consumer({ groupId: this.definition.groupId });
    await consumer.connect();
    await consumer.subscribe(this.definition.topics, this.definition.fromBeginning);
    await consumer.run((batch, controls) => this.onBatch(consumer, batch, controls));
    this.consumer = consumer;
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    // kafkajs lets the batch in hand finish before it leaves the group.
    await consumer?.disconnect();
  }

  private async onBatch(
    consumer: KafkaConsumerPort,
    batch: RecordBatch,
    controls: BatchControls,
  ): Promise<void> {
    let next: string | undefined;
    for (const record of batch.records) {
      if (!controls.isActive()) break;
      await this.process(record, controls);
      next = (BigInt(record.offset) + 1n).toString();
    }
    // One commit per batch and partition, of the position after the last finished record.
    if (next !== undefined) {
      await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    }
  }

  private async process(record: ConsumedRecord, controls: BatchControls): Promise<void> {
    let payload: unknown;
    try {
      payload = record.value === null ? null : JSON.parse(record.value.toString('utf8'));
    } catch (error) {
      // Bytes that are not JSON will never parse; retrying only blocks the partition.
      await this.deadLetter(record, error as Error, 1, this.definition);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.definition.handler(payload, record);
        return;
      } catch (error) {
        if (attempt >= this.options.maxAttempts) {
          this.logger.error(
            `${record.topic}/${record.partition}@${record.offset} failed ${attempt} times, dead-lettering: ${(error as Error).message}`,
          );
          await this.deadLetter(record, error as Error, attempt, this.definition);
          return;
        }
        await sleep(this.options.retryDelayMs * 2 ** (attempt - 1));
        await controls.heartbeat();
      }
    }
  }
}
