import { Admin } from 'kafkajs';
import { KafkajsClient } from '../client/kafkajs.client';
import { KafkaAdminPort } from '../client/kafka-client.port';
import { rawKafka, testBrokers, uniqueName } from '../../../../test/support/kafka';
import { provisionTopics } from './topic-provisioner';

describe('provisionTopics against the real broker', () => {
  let admin: KafkaAdminPort;
  let observer: Admin;

  beforeAll(async () => {
    admin = new KafkajsClient({ brokers: testBrokers(), clientId: 'provisioner-test' }).admin();
    await admin.connect();
    observer = rawKafka().admin();
    await observer.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
    await observer.disconnect();
  });

  async function partitions(names: string[]): Promise<Record<string, number>> {
    const { topics } = await observer.fetchTopicMetadata({ topics: names });
    return Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
  }

  it('creates topics with their derived retry and dead-letter topics, and configs', async () => {
    const consumed = uniqueName('consumed');
    const produced = uniqueName('produced');
    const report = await provisionTopics(
      admin,
      [
        { name: consumed, partitions: 3, consumed: true, configs: { 'retention.ms': '3600000' } },
        { name: produced, partitions: 2 },
      ],
      1,
    );
    expect(report.created.sort()).toEqual(
      [consumed, `${consumed}-dlq`, `${consumed}-retry`, produced].sort(),
    );
    expect(await partitions([consumed, `${consumed}-retry`, `${consumed}-dlq`, produced])).toEqual({
      [consumed]: 3,
      [`${consumed}-retry`]: 3,
      [`${consumed}-dlq`]: 3,
      [produced]: 2,
    });
    const configs = await observer.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* TOPIC */, name: consumed, configNames: ['retention.ms'] }],
    });
    expect(configs.resources[0].configEntries[0].configValue).toBe('3600000');
  });

  it('is idempotent, also when instances provision at the same moment', async () => {
    const name = uniqueName('shared');
    const declarations = [{ name, partitions: 2, consumed: true }];
    const reports = await Promise.all([1, 2, 3].map(() => provisionTopics(admin, declarations, 1)));
    expect(reports.every((r) => r.grown.length === 0)).toBe(true);
    const again = await provisionTopics(admin, declarations, 1);
    expect(again).toEqual({ created: [], grown: [], existing: [name, `${name}-retry`, `${name}-dlq`] });
    expect(await partitions([name])).toEqual({ [name]: 2 });
  });

  it('grows a topic declared with more partitions and never shrinks one', async () => {
    const name = uniqueName('growing');
    await provisionTopics(admin, [{ name, partitions: 1 }], 1);
    const grown = await provisionTopics(admin, [{ name, partitions: 4 }], 1);
    expect(grown.grown).toEqual([name]);
    expect(await partitions([name])).toEqual({ [name]: 4 });
    const shrink = await provisionTopics(admin, [{ name, partitions: 2 }], 1);
    expect(shrink.existing).toEqual([name]);
    expect(await partitions([name])).toEqual({ [name]: 4 });
  });

  it('fails clearly when the replication factor exceeds the brokers', async () => {
    await expect(
      provisionTopics(admin, [{ name: uniqueName('too-replicated'), partitions: 1 }], 3),
    ).rejects.toThrow(/INVALID_REPLICATION_FACTOR/);
  });
});
