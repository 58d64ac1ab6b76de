import { INestApplicationContext, ModuleMetadata, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Admin, Consumer, IHeaders, KafkaMessage } from 'kafkajs';
import { eventually } from './service-app';
import { KafkaCoreModule, KafkaCoreModuleOptions } from '@app/kafka-core';
import { rawKafka, testBrokers, uniqueName } from './kafka';

export interface ListenerApp {
  app: INestApplicationContext;
  close(): Promise<void>;
}

/**
 * Boots kafka-core with the given listener providers against the test broker, the way an
 * application does (listeners start on bootstrap, stop on close).
 */
export async function startListenerApp(
  providers: Provider[],
  options: Partial<KafkaCoreModuleOptions> = {},
  extra: Pick<ModuleMetadata, 'imports'> = {},
): Promise<ListenerApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KafkaCoreModule.forRoot({ brokers: testBrokers(), clientId: uniqueName('app'), ...options }),
      ...(extra.imports ?? []),
    ],
    providers,
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  app.enableShutdownHooks();
  await app.init();
  return { app, close: () => app.close() };
}

/** Creates a topic with a random name and waits for its leaders. */
export async function createTopic(
  admin: Admin,
  prefix: string,
  partitions = 1,
  configEntries: { name: string; value: string }[] = [],
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const topic = uniqueName(prefix);
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }],
        waitForLeaders: true,
      });
      return topic;
    } catch (error) {
      // kafkajs' leader wait gives up when a freshly started broker has not yet seen the new topic.
      if (attempt >= 3 || (error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
    }
  }
}

export interface TestRecord {
  key?: string | null;
  value: string | Buffer | null;
  partition?: number;
  headers?: IHeaders;
}

export async function produce(topic: string, records: TestRecord[]): Promise<void> {
  const producer = rawKafka().producer();
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 1000) {
      await producer.send({ topic, acks: -1, messages: records.slice(i, i + 1000) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** The group's committed offset per partition (-1 when none). */
export async function committedOffsets(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<Record<number, number>> {
  const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries(result.partitions.map((p) => [p.partition, Number(p.offset)]));
}

/** Reads everything that arrives on a topic (e.g. a dead-letter topic) from the beginning. */
export async function collect(topic: string): Promise<{ messages: KafkaMessage[]; stop(): Promise<void> }> {
  const messages: KafkaMessage[] = [];
  const consumer: Consumer = rawKafka().consumer({ groupId: uniqueName('observer'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  return { messages, stop: () => consumer.disconnect() };
}

/** Waits (up to 30 s: the machine is shared) until the condition holds. */
export const until = (condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) =>
  eventually(async () => ((await condition()) ? true : undefined), timeoutMs);

/** Header values of a consumed record as strings (the last value of a repeated header). */
export function headersOf(message: KafkaMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(message.headers ?? {}).map(([name, value]) => [
      name,
      String(Array.isArray(value) ? value[value.length - 1] : value),
    ]),
  );
}

/** A record's payload in ordering tests: its key and its place in that key's sequence. */
export interface Sequenced {
  key: string;
  seq: number;
}

/** `count` records over `keys` keys, each key with its own 0, 1, 2, … sequence; a key always lands on one partition. */
export function keyedRecords(count: number, keys: number, partitions: number): TestRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const k = i % keys;
    const value: Sequenced = { key: `k${k}`, seq: Math.floor(i / keys) };
    return { key: value.key, value: JSON.stringify(value), partition: k % partitions };
  });
}
