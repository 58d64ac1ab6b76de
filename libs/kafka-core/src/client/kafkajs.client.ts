import { Kafka, logLevel, Message } from 'kafkajs';
import {
  AdminOptions,
  ConsumerConfig,
  KafkaAdminPort,
  KafkaClientPort,
  KafkaConsumerPort,
  KafkaProducerPort,
  ProducerConfig,
} from './kafka-client.port';
import { KafkajsAdmin } from './kafkajs/kafkajs-admin';
import { compressionType } from './kafkajs/kafkajs-codecs';
import { KafkajsConsumer } from './kafkajs/kafkajs-consumer';
import { nestLogCreator } from './kafkajs/kafkajs-logger';
import { KafkajsProducer, recordingPartitioner } from './kafkajs/kafkajs-producer';
import { kafkajsSecurity } from './kafkajs/kafkajs-security';
import { KafkaSecurityOptions, principalOf } from './security/kafka-security';

export { compressionType } from './kafkajs/kafkajs-codecs';

export interface KafkajsClientOptions {
  brokers: string[];
  clientId: string;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** TLS and SASL; absent: PLAINTEXT. */
  security?: KafkaSecurityOptions;
}

/** The port over kafkajs: one client per application, admin, consumers and producers made from it. */
export class KafkajsClient implements KafkaClientPort {
  private readonly kafka: Kafka;
  private readonly adminKafka: Kafka;
  /** Who the broker sees, for naming refusals (never a secret). */
  private readonly principal: string;
  private readonly brokers: string[];

  constructor(options: KafkajsClientOptions) {
    this.principal = principalOf(options.security);
    this.brokers = options.brokers;
    const config = {
      clientId: options.clientId,
      brokers: options.brokers,
      ...kafkajsSecurity(options.security),
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      logLevel: logLevel.WARN,
      logCreator: nestLogCreator(),
    };
    this.kafka = new Kafka(config);
    // Admin calls fail fast: their callers (startup wait, health probe) own the retrying. The retry
    // setting must sit on the client, since kafkajs' connection retrier reads it from there, and
    // would otherwise keep reconnecting in the background after the caller gave up.
    this.adminKafka = new Kafka({ ...config, retry: { retries: 0 } });
  }

  admin(options: AdminOptions = {}): KafkaAdminPort {
    if (options.retries) {
      // Group lookups answer "coordinator not available" for a while after a group or broker starts.
      return new KafkajsAdmin(
        this.kafka.admin({ retry: { retries: options.retries } }),
        this.principal,
        this.brokers,
      );
    }
    return new KafkajsAdmin(this.adminKafka.admin({ retry: { retries: 0 } }), this.principal, this.brokers);
  }

  consumer(config: ConsumerConfig): KafkaConsumerPort {
    return new KafkajsConsumer(
      this.kafka.consumer({
        groupId: config.groupId,
        maxWaitTimeInMs: config.maxWaitTimeMs ?? 100,
        sessionTimeout: config.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: config.heartbeatIntervalMs ?? 3_000,
        allowAutoTopicCreation: false,
      }),
      { principal: this.principal, groupId: config.groupId },
    );
  }

  producer(config: ProducerConfig = {}): KafkaProducerPort {
    const chosen = new WeakMap<Message, number>();
    const compression = compressionType(config.compression);
    return new KafkajsProducer(
      this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // murmur2 on the key, as the Java client: keyed records land where Java producers put them.
        createPartitioner: recordingPartitioner(chosen),
        retry: {
          retries: config.retries ?? 5,
          initialRetryTime: config.initialRetryTimeMs ?? 100,
          maxRetryTime: config.maxRetryTimeMs ?? 5_000,
        },
      }),
      chosen,
      compression,
      this.principal,
    );
  }
}
