import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  KAFKA_CLIENT,
  KafkaClientPort,
  KafkaProducerPort,
  OutgoingRecord,
  PartitionWrite,
} from '../client/kafka-client.port';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KafkaCoreModuleOptions } from '../kafka-core.options';
import { envelopeHeaders } from './envelope';

export interface SendOptions {
  key?: string;
  headers?: Record<string, string>;
  eventType?: string;
  correlationId?: string;
  causationId?: string;
}

export interface SendResult {
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
}

/** The `KafkaTemplate` analogue: JSON events with the standard envelope, acks=all, idempotent. */
@Injectable()
export class KafkaPublisher implements OnApplicationShutdown {
  private producer?: Promise<KafkaProducerPort>;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly client: KafkaClientPort,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
  ) {}

  async send(topic: string, event: object, options: SendOptions = {}): Promise<SendResult> {
    const headers = envelopeHeaders(
      {
        eventType: options.eventType ?? event.constructor.name,
        source: this.options.clientId,
        correlationId: options.correlationId,
        causationId: options.causationId,
      },
      options.headers,
    );
    const [written] = await this.sendRecords(topic, [
      { key: options.key ?? null, value: JSON.stringify(event), headers },
    ]);
    return { eventId: headers['event-id'], topic, partition: written.partition, offset: written.baseOffset };
  }

  /** Sends records as they are (dead letters keep the original bytes). */
  async sendRecords(topic: string, records: OutgoingRecord[]): Promise<PartitionWrite[]> {
    return (await this.connected()).send(topic, records);
  }

  private connected(): Promise<KafkaProducerPort> {
    if (!this.producer) {
      const producer = this.client.producer();
      this.producer = producer.connect().then(() => producer);
      // A failed connect is retried by the next send instead of being cached forever.
      this.producer.catch(() => (this.producer = undefined));
    }
    return this.producer;
  }

  async onApplicationShutdown(): Promise<void> {
    const producer = await this.producer?.catch(() => undefined);
    this.producer = undefined;
    await producer?.disconnect();
  }
}
