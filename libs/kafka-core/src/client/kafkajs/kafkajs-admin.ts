import { Admin, ConfigResourceTypes } from 'kafkajs';
import { asAuthenticationFailure, asAuthorizationFailure } from '../../errors/kafka-access.errors';
import { ClusterDescription, KafkaAdminPort, PartitionLag, TopicSpec } from '../kafka-client.port';

/** Cluster metadata, offsets and topic management over a kafkajs admin client. */
export class KafkajsAdmin implements KafkaAdminPort {
  constructor(
    private readonly admin: Admin,
    /** Who the broker sees, to name an ACL refusal. */
    private readonly principal = 'ANONYMOUS',
    private readonly brokers: string[] = [],
  ) {}

  /** A refused login or certificate fails as what it is, not as "unreachable". */
  connect(): Promise<void> {
    return this.admin
      .connect()
      .catch((error: unknown) =>
        Promise.reject(asAuthenticationFailure(error, this.principal, this.brokers)),
      );
  }

  async describeCluster(): Promise<ClusterDescription> {
    const cluster = await this.admin
      .describeCluster()
      .catch((error: unknown) =>
        Promise.reject(asAuthenticationFailure(error, this.principal, this.brokers)),
      );
    return { clusterId: cluster.clusterId, brokers: cluster.brokers.length, controller: cluster.controller };
  }

  topicNames(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async partitionCounts(names: string[]): Promise<Map<string, number>> {
    const existing = new Set(await this.admin.listTopics());
    const present = names.filter((name) => existing.has(name));
    const counts = new Map<string, number>();
    if (present.length === 0) return counts;
    const { topics } = await this.admin
      .fetchTopicMetadata({ topics: present })
      .catch((error: unknown) => Promise.reject(this.refusal(error, 'Describe', present)));
    for (const topic of topics) counts.set(topic.name, topic.partitions.length);
    return counts;
  }

  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    // End offsets first: fetching them loads the cluster metadata the group lookup needs (a fresh
    // admin client has no brokers in its pool yet, and it does not retry).
    const endsByTopic = new Map<string, Awaited<ReturnType<Admin['fetchTopicOffsets']>>>();
    for (const topic of topics) endsByTopic.set(topic, await this.admin.fetchTopicOffsets(topic));
    // kafkajs does not retry this call; a coordinator still loading answers NOT_COORDINATOR at first.
    let committed: Awaited<ReturnType<Admin['fetchOffsets']>> = [];
    for (let attempt = 1; ; attempt++) {
      try {
        committed = await this.admin.fetchOffsets({ groupId, topics });
        break;
      } catch (error) {
        if (attempt >= 5 || (error as { retriable?: boolean }).retriable !== true) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
    const lags: PartitionLag[] = [];
    for (const topic of topics) {
      const ends = endsByTopic.get(topic) ?? [];
      const group = committed.find((t) => t.topic === topic)?.partitions ?? [];
      for (const end of ends) {
        const offset = group.find((p) => p.partition === end.partition)?.offset;
        const known = offset !== undefined && Number(offset) >= 0;
        const from = known ? BigInt(offset) : BigInt(end.low);
        const lag = BigInt(end.high) - from;
        lags.push({
          topic,
          partition: end.partition,
          committed: known ? offset : null,
          end: end.high,
          lag: Number(lag > 0n ? lag : 0n),
        });
      }
    }
    return lags;
  }

  async retentionMs(names: string[]): Promise<Map<string, number>> {
    const retention = new Map<string, number>();
    if (names.length === 0) return retention;
    const { resources } = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['retention.ms'],
      })),
    });
    for (const resource of resources) {
      const value = resource.configEntries.find((entry) => entry.configName === 'retention.ms')?.configValue;
      if (value !== undefined) retention.set(resource.resourceName, Number(value));
    }
    return retention;
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    try {
      await this.admin.createTopics({
        // kafkajs' own leader wait treats UNKNOWN_TOPIC_OR_PARTITION from a broker that has not seen
        // the new topic yet as fatal; awaitTopicsReady waits for leaders instead.
        waitForLeaders: false,
        topics: topics.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (error) {
      // Another instance may create the same topics at the same moment; that is success here.
      const nested =
        (error as { errors?: { topic?: string; type?: string; message?: string }[] }).errors ?? [];
      const failures = nested.filter((e) => e.type !== 'TOPIC_ALREADY_EXISTS');
      if (nested.length === 0)
        throw this.refusal(
          error,
          'Create',
          topics.map((t) => t.name),
        );
      const refused = failures
        .filter((e) => e.type === 'TOPIC_AUTHORIZATION_FAILED')
        .map((e) => e.topic ?? '');
      if (refused.length > 0) {
        // Topics may be provisioned by an administrator instead (see the README's Security section).
        throw this.refusal(error, 'Create', refused);
      }
      if (failures.length > 0) {
        const detail = failures.map((e) => `${e.topic}: ${e.type} (${e.message})`).join('; ');
        const wrapped = new Error(`Creating topics failed: ${detail}`, { cause: error });
        throw Object.assign(wrapped, {
          retriable: failures.every((e) => (e as { retriable?: boolean }).retriable),
        });
      }
    }
  }

  async addPartitions(topic: string, count: number): Promise<void> {
    await this.admin.createPartitions({ topicPartitions: [{ topic, count }] });
  }

  async awaitTopicsReady(names: string[], timeoutMs: number): Promise<void> {
    // An empty list would ask kafkajs for every topic of the cluster.
    if (names.length === 0) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: names });
        const ready =
          topics.length === names.length && topics.every((t) => t.partitions.every((p) => p.leader >= 0));
        if (ready) return;
      } catch (error) {
        if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline)
        throw new Error(`Topics without a leader after ${timeoutMs} ms: ${names.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private refusal(error: unknown, operation: string, topics: string[]): unknown {
    return asAuthorizationFailure(error, this.principal, operation, { topics });
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }
}
