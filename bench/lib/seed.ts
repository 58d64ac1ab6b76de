import { Admin } from 'kafkajs';
import { rawKafka, uniqueName } from './kafka';

/** A JSON record value of exactly `size` bytes (ASCII), with a sequence number and a timestamp field. */
export function jsonValue(seq: number, size: number, fields: Record<string, unknown> = {}): string {
  const head = JSON.stringify({ seq, type: 'bench.record', ...fields, pad: '' });
  const pad = Math.max(0, size - head.length);
  return `${head.slice(0, -2)}${'x'.repeat(pad)}"}`;
}

export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = rawKafka('bench-admin').admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Topics this process created, for cleaning up a broker the bench did not start. */
const created: string[] = [];

export async function createTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  created.push(topic);
  await withAdmin((admin) =>
    admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    }),
  );
  return topic;
}

export interface SeedOptions {
  count: number;
  valueBytes: number;
  partitions: number;
  /** Distinct keys; records go to partitions by key hash. Absent: unkeyed, spread evenly by hand. */
  keys?: number;
}

/** Pre-seeds a topic with JSON records in batches of 1000, acks=all, and returns when all are written. */
export async function seedJson(topic: string, options: SeedOptions): Promise<void> {
  const producer = rawKafka('bench-seed').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const inFlight: Promise<unknown>[] = [];
    for (let start = 0; start < options.count; start += 1000) {
      const messages = [];
      for (let seq = start; seq < Math.min(start + 1000, options.count); seq++) {
        const value = jsonValue(seq, options.valueBytes);
        messages.push(
          options.keys
            ? { key: `key-${seq % options.keys}`, value }
            : { partition: seq % options.partitions, value },
        );
      }
      inFlight.push(producer.send({ topic, acks: -1, messages }));
      // A few sends in flight keep seeding quick without queueing the whole data set in memory.
      if (inFlight.length >= 8) await Promise.all(inFlight.splice(0));
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
}

/** Sum of the partitions' end offsets: how many records the topic holds (none deleted here). */
export async function topicSize(topic: string): Promise<number> {
  return withAdmin(async (admin) =>
    (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0),
  );
}

/** Deletes the topics this process created and those derived from them (`<topic>-dlq`, `<topic>-retry`). */
export async function deleteCreatedTopics(): Promise<number> {
  if (created.length === 0) return 0;
  return withAdmin(async (admin) => {
    const existing = await admin.listTopics();
    const ours = existing.filter((name) => created.some((t) => name === t || name.startsWith(`${t}-`)));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours });
    return ours.length;
  });
}
