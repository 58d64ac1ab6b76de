import { Consumer, ConsumerConfig, Kafka, logLevel } from 'kafkajs';
// Deep imports: the raw arms (whose memory B10 measures) must not load the whole framework.
import type { KafkaSecurityOptions } from '@app/kafka-core/client/security/kafka-security';
import { kafkaSecurityFromEnv } from '@app/kafka-core/client/security/security-from-env';
import { kafkajsSecurity } from '@app/kafka-core/client/kafkajs/kafkajs-security';

/**
 * Fetch and session settings every consumer arm uses. They are kafka-core's consumer settings
 * (libs/kafka-core/src/client/kafkajs.client.ts), spelled out for the raw and Nest arms so that no
 * arm wins by fetching differently.
 */
export const FETCH = {
  maxWaitTimeInMs: 100,
  minBytes: 1,
  maxBytes: 10 * 1024 * 1024,
  maxBytesPerPartition: 1024 * 1024,
  sessionTimeout: 30_000,
  heartbeatInterval: 3_000,
  allowAutoTopicCreation: false,
} satisfies Partial<ConsumerConfig>;

export function brokersFromEnv(): string[] {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set (bench/run.js sets it for its broker)');
  return brokers.split(',');
}

/**
 * The broker the arms talk to and how: KAFKA_BROKERS plus the KAFKA_* security variables a service
 * reads (kafkaSecurityFromEnv), so arms in child processes inherit it with the environment.
 */
export interface KafkaConnection {
  brokers: string[];
  /** Absent: PLAINTEXT. */
  security?: KafkaSecurityOptions;
}

export function kafkaConnection(): KafkaConnection {
  return { brokers: brokersFromEnv(), security: kafkaSecurityFromEnv(process.env) };
}

/** The variables overKafka sets or clears; passwords only ever travel as file paths. */
const CONNECTION_ENV = [
  'KAFKA_BROKERS',
  'KAFKA_SECURITY_PROTOCOL',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD_FILE',
  'KAFKA_SSL_CA_FILE',
] as const;
export type ConnectionEnv = Partial<Record<(typeof CONNECTION_ENV)[number], string>>;

/**
 * Runs `fn` with the arms pointed at another broker (e.g. the secure one), then restores the
 * previous connection. Benchmarks run one at a time, so the process environment can carry it.
 */
export async function overKafka<T>(env: ConnectionEnv, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(CONNECTION_ENV.map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const name of CONNECTION_ENV) {
      if (values[name] === undefined) delete process.env[name];
      else process.env[name] = values[name];
    }
  };
  apply(env);
  try {
    kafkaConnection(); // A misconfiguration fails here, naming the variable, not in the middle of a run.
    return await fn();
  } finally {
    apply(saved);
  }
}

/** A plain kafkajs client over the current connection, with the same ssl/sasl kafka-core would use. */
export function rawKafka(clientId: string, connection = kafkaConnection()): Kafka {
  return new Kafka({
    clientId,
    brokers: connection.brokers,
    ...kafkajsSecurity(connection.security),
    logLevel: logLevel.NOTHING,
  });
}

export const uniqueName = (prefix: string): string =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** What a consumer group's kafkajs consumers did, as seen through kafkajs' instrumentation events. */
export interface GroupActivity {
  /** Non-empty batches handed to eachBatch / eachMessage. */
  batches: number;
  /** Records in those batches. */
  batchRecords: number;
  /** OffsetCommit requests that succeeded. */
  commits: number;
  /** Group joins (GROUP_JOIN events); every one after the first is a rebalance this member went through. */
  joins: number;
}

const activity = new Map<string, GroupActivity>();
let installed = false;

/**
 * Counts batches, commit requests and group joins of every kafkajs consumer created in this process,
 * by group. It only adds event listeners, so it observes kafka-core's consumers (and Nest's) without
 * touching their behaviour; each arm carries the same listeners.
 */
export function observeConsumers(): void {
  if (installed) return;
  installed = true;
  const original = Kafka.prototype.consumer;
  Kafka.prototype.consumer = function observedConsumer(this: Kafka, config: ConsumerConfig): Consumer {
    const consumer = original.call(this, config);
    const groupId = config.groupId;
    const entry = activity.get(groupId) ?? { batches: 0, batchRecords: 0, commits: 0, joins: 0 };
    activity.set(groupId, entry);
    consumer.on(consumer.events.START_BATCH_PROCESS, (event) => {
      entry.batches++;
      entry.batchRecords += event.payload.batchSize;
    });
    consumer.on(consumer.events.COMMIT_OFFSETS, () => {
      entry.commits++;
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      entry.joins++;
    });
    return consumer;
  };
}

export function groupActivity(groupId: string): GroupActivity {
  return { ...(activity.get(groupId) ?? { batches: 0, batchRecords: 0, commits: 0, joins: 0 }) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A clock shared by every process on the machine (CLOCK_MONOTONIC), in ms with µs resolution. */
export const monotonicMs = (): number => Number(process.hrtime.bigint() / 1000n) / 1000;
