import { Admin, Kafka, logLevel } from 'kafkajs';

export function testBrokers(): string[] {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers)
    throw new Error(
      'KAFKA_BROKERS is not set: run the tests through jest, whose global setup starts a broker',
    );
  return brokers.split(',');
}

/** A plain kafkajs client for assertions from the outside, independent of the code under test. */
export function rawKafka(brokers = testBrokers()): Kafka {
  return new Kafka({ clientId: 'test-observer', brokers, logLevel: logLevel.NOTHING });
}

/** Sum of high-water marks of a topic: grows by one per record published. */
export async function endOffsetSum(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

export const uniqueName = (prefix: string): string =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
