import {
  ConsumerConfig,
  KafkaAdminPort,
  KafkaClientPort,
  KafkaProducerPort,
  PartitionLag,
  RecordMetadata,
  TopicRecords,
} from '@app/kafka-core/client/kafka-client.port';
import { FakeConsumerGroup } from './fake-consumer-group';
import { FakeCommit, FakeConsumer } from './fake-consumer';
import { FakeLog, FakeRecordInput } from './fake-log';
import { PauseSemantics } from './fake-pauses';

export { FakeConsumer, FakeCommit } from './fake-consumer';
export { FakeConsumerGroup, GroupEvent } from './fake-consumer-group';
export { FakeKafkaError, FakeRecordInput } from './fake-log';

export interface FakeKafkaOptions {
  /** Records per batch at most; default 100. */
  maxBatchSize?: number;
  /** How long a rebalance waits for a member's batches before evicting it; default its session timeout. */
  rebalanceTimeoutMs?: number;
  /** Delay before a member that crashed with `restart` joins again; default 50 ms. */
  restartDelayMs?: number;
  /** `kafkajs`: pause and resume as kafkajs does without the adapter (the code before the port change). */
  pauseSemantics?: PauseSemantics;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Named in the error when the wait times out. */
  what?: string;
}

/**
 * An in-memory Kafka behind our client port, for deterministic unit tests of the listener
 * container: topics the test fills, groups whose members get partitions round robin, rebalances
 * that wait for the batches in hand, fetch loops with kafkajs' stall-until-settled behaviour, and a
 * record of every commit. Real timers, but nothing waits longer than it must.
 */
export class FakeKafkaClient implements KafkaClientPort {
  readonly log = new FakeLog();
  /** Every commit call, in order. */
  readonly commits: FakeCommit[] = [];
  readonly consumers: FakeConsumer[] = [];
  /** Errors thrown out of a member's onBatch (each crashed that member, as in kafkajs). */
  readonly batchErrors: Error[] = [];
  private readonly groups = new Map<string, FakeConsumerGroup>();
  private members = 0;

  constructor(private readonly options: FakeKafkaOptions = {}) {}

  createTopic(name: string, partitions = 1): this {
    this.log.createTopic(name, partitions);
    return this;
  }

  /** Appends records to a partition and returns their offsets. */
  append(topic: string, partition: number, records: FakeRecordInput | FakeRecordInput[]): string[] {
    return this.log.append(topic, partition, Array.isArray(records) ? records : [records]);
  }

  endOffset(topic: string, partition: number): string {
    return String(this.log.endOffset(topic, partition));
  }

  committed(groupId: string, topic: string, partition: number): string | undefined {
    return this.groups.get(groupId)?.committed(topic, partition);
  }

  group(groupId: string): FakeConsumerGroup {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new FakeConsumerGroup(groupId, this.log, this.options.rebalanceTimeoutMs);
      this.groups.set(groupId, group);
    }
    return group;
  }

  /** Forces a rebalance of the group (as a broker does when metadata changes). */
  rebalance(groupId: string): Promise<void> {
    return this.group(groupId).rebalance();
  }

  consumer(config: ConsumerConfig): FakeConsumer {
    this.members += 1;
    const consumer = new FakeConsumer({
      memberId: `${config.groupId}-member-${String(this.members).padStart(4, '0')}`,
      group: this.group(config.groupId),
      log: this.log,
      sessionTimeoutMs: config.sessionTimeoutMs ?? 30_000,
      maxWaitTimeMs: config.maxWaitTimeMs ?? 100,
      maxBatchSize: this.options.maxBatchSize ?? 100,
      restartDelayMs: this.options.restartDelayMs ?? 50,
      pauseSemantics: this.options.pauseSemantics,
      commits: this.commits,
      batchErrors: this.batchErrors,
    });
    this.consumers.push(consumer);
    return consumer;
  }

  /** Writes to the fake topics: the given partition, else by key, else round robin. */
  producer(): KafkaProducerPort {
    let next = 0;
    const partitionOf = (topic: string, key: string | Buffer | null | undefined) => {
      const count = this.log.partitionCount(topic);
      if (key === null || key === undefined) return next++ % count;
      let hash = 0;
      for (const byte of Buffer.from(key)) hash = (hash * 31 + byte) >>> 0;
      return hash % count;
    };
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async (batches: TopicRecords[]): Promise<RecordMetadata[][]> =>
        batches.map(({ topic, records }) =>
          records.map((r) => {
            const partition = r.partition ?? partitionOf(topic, r.key);
            const [offset] = this.log.append(topic, partition, [r]);
            return { topic, partition, offset };
          }),
        ),
    };
  }

  admin(): KafkaAdminPort {
    const log = this.log;
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      describeCluster: async () => ({ clusterId: 'fake', brokers: 1, controller: 0 }),
      topicNames: async () => log.topicNames(),
      partitionCounts: async (names) =>
        new Map(names.filter((n) => log.has(n)).map((n) => [n, log.partitionCount(n)])),
      consumerLag: async (groupId, topics) => this.lag(groupId, topics),
      retentionMs: async (names) => new Map(names.filter((n) => log.has(n)).map((n) => [n, -1])),
      createTopics: async (specs) => specs.forEach((t) => log.createTopic(t.name, t.partitions)),
      addPartitions: async (topic, count) => log.createTopic(topic, count),
      awaitTopicsReady: async (names) => {
        const missing = names.filter((n) => !log.has(n));
        if (missing.length > 0) throw new Error(`Topics without a leader: ${missing.join(', ')}`);
      },
    };
  }

  /** Polls (every macrotask turn) until the predicate holds. */
  async waitFor(predicate: () => boolean, options: WaitOptions = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 5_000);
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /**
   * Resolves once nothing moves: no rebalance pending, no batch in hand, and no running member with
   * records it could fetch (paused partitions do not count), for a few turns in a row.
   */
  async settle(options: WaitOptions = {}): Promise<void> {
    let quiet = 0;
    await this.waitFor(
      () => {
        const busy =
          [...this.groups.values()].some((g) => g.rebalancing) || this.consumers.some((c) => c.hasWork());
        quiet = busy ? 0 : quiet + 1;
        return quiet >= 3;
      },
      { what: 'the fake to settle', ...options },
    );
  }

  private lag(groupId: string, topics: string[]): PartitionLag[] {
    return topics.flatMap((topic) =>
      Array.from({ length: this.log.partitionCount(topic) }, (_, partition) => {
        const end = this.log.endOffset(topic, partition);
        const committed = this.committed(groupId, topic, partition) ?? null;
        return {
          topic,
          partition,
          committed,
          end: String(end),
          lag: Math.max(0, end - Number(committed ?? 0)),
        };
      }),
    );
  }
}
