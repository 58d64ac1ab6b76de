import { Logger } from '@nestjs/common';
import {
  Admin,
  CompressionCodecs,
  CompressionTypes,
  ConfigResourceTypes,
  Consumer,
  ICustomPartitioner,
  IHeaders,
  Kafka,
  logLevel,
  LogEntry,
  Message,
  Partitioners,
  Producer,
} from 'kafkajs';
import {
  Assignment,
  BatchControls,
  ClusterDescription,
  ConsumerConfig,
  Headers,
  KafkaAdminPort,
  KafkaClientPort,
  KafkaConsumerPort,
  KafkaProducerPort,
  AdminOptions,
  PartitionLag,
  CompressionCodec,
  ProduceError,
  ProducerConfig,
  RecordBatch,
  RecordMetadata,
  RunOptions,
  TopicPartitionOffset,
  TopicRecords,
  TopicSpec,
} from './kafka-client.port';

export interface KafkajsClientOptions {
  brokers: string[];
  clientId: string;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** kafkajs logs through Nest's logger; its INFO chatter (joins, commits) stays at debug. */
function nestLogCreator() {
  const logger = new Logger('kafkajs');
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const text = `${message} ${JSON.stringify(extra)}`;
      // Error responses are also thrown to the caller, which decides whether they matter (a topic
      // another instance created first does not); logging them here too would only alarm.
      // The publisher replaces its producer after a failed request, which keeps idempotence without
      // kafkajs' endless retries; its warning about limited retries does not apply.
      if (message.startsWith('Response ') || message.startsWith('Limiting retries for the idempotent'))
        logger.debug(text);
      else if (level === logLevel.ERROR) logger.error(text);
      else if (level === logLevel.WARN) logger.warn(text);
      else logger.debug(text);
    };
}

function toHeaders(raw: IHeaders | undefined): Headers {
  const headers: Headers = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    // Repeated headers keep the last value, as Spring's `lastHeader` does.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) headers[name] = last.toString();
  }
  return headers;
}

class KafkajsAdmin implements KafkaAdminPort {
  constructor(private readonly admin: Admin) {}

  connect(): Promise<void> {
    return this.admin.connect();
  }

  async describeCluster(): Promise<ClusterDescription> {
    const cluster = await this.admin.describeCluster();
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
    const { topics } = await this.admin.fetchTopicMetadata({ topics: present });
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
      if (nested.length === 0) throw error;
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

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }
}

class KafkajsConsumer implements KafkaConsumerPort {
  constructor(private readonly consumer: Consumer) {}

  connect(): Promise<void> {
    return this.consumer.connect();
  }

  subscribe(topics: (string | RegExp)[], fromBeginning: boolean): Promise<void> {
    return this.consumer.subscribe({ topics, fromBeginning });
  }

  run(
    onBatch: (batch: RecordBatch, controls: BatchControls) => Promise<void>,
    options: RunOptions,
  ): Promise<void> {
    return this.consumer.run({
      // Offsets are the container's business: kafkajs neither resolves nor commits on its own.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConcurrently,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const records = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key ?? null,
          value: m.value ?? null,
          headers: toHeaders(m.headers),
          timestamp: m.timestamp,
        }));
        await onBatch(
          { topic: batch.topic, partition: batch.partition, records },
          // kafkajs fetches from the last resolved offset: resolving means "taken", not "done".
          {
            heartbeat,
            isActive: () => isRunning() && !isStale(),
            advance: (offset) => resolveOffset(offset),
          },
        );
      },
    });
  }

  commit(offsets: TopicPartitionOffset[]): Promise<void> {
    return this.consumer.commitOffsets(offsets);
  }

  pause(topic: string, partitions?: number[]): void {
    this.consumer.pause([partitions ? { topic, partitions } : { topic }]);
  }

  resume(topic: string, partitions?: number[]): void {
    this.consumer.resume([partitions ? { topic, partitions } : { topic }]);
  }

  seek(topic: string, partition: number, offset: string): void {
    // With autoCommit off kafkajs only moves the fetch position; nothing is committed.
    this.consumer.seek({ topic, partition, offset });
  }

  onGroupJoin(listener: (assignment: Assignment) => void): void {
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => listener(event.payload.memberAssignment));
  }

  onRebalancing(listener: () => void): void {
    this.consumer.on(this.consumer.events.REBALANCING, () => listener());
  }

  onCrash(listener: (error: Error, restart: boolean) => void): void {
    this.consumer.on(this.consumer.events.CRASH, (event) =>
      listener(event.payload.error, event.payload.restart),
    );
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }
}

/**
 * Codecs kafkajs does not ship, each registered the way its package documents: snappy's module is
 * the codec, lz4's is a class holding it, zstd's a factory returning it.
 */
const CODEC_PACKAGES: Record<
  Exclude<CompressionCodec, 'none' | 'gzip'>,
  { name: string; type: CompressionTypes; load: (module: never) => unknown }
> = {
  snappy: { name: 'kafkajs-snappy', type: CompressionTypes.Snappy, load: (m) => m },
  lz4: {
    name: 'kafkajs-lz4',
    type: CompressionTypes.LZ4,
    load: (m: { default?: new () => { codec: unknown } } & (new () => { codec: unknown })) =>
      new (m.default ?? m)().codec,
  },
  zstd: { name: '@kafkajs/zstd', type: CompressionTypes.ZSTD, load: (m: () => unknown) => m() },
};

const registeredCodecs = new Set<CompressionTypes>();

/** Maps a codec name to kafkajs' type, registering the codec package the first time it is used. */
export function compressionType(codec: CompressionCodec = 'none'): CompressionTypes {
  if (codec === 'none') return CompressionTypes.None;
  if (codec === 'gzip') return CompressionTypes.GZIP;
  const entry = CODEC_PACKAGES[codec];
  if (!entry) throw new Error(`Unknown compression "${String(codec)}" (use none, gzip, snappy, lz4, zstd)`);
  // kafkajs' slots for these codecs hold functions that throw until a codec is registered.
  if (!registeredCodecs.has(entry.type)) {
    let codecModule: never;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      codecModule = require(entry.name) as never;
    } catch {
      throw new Error(`Compression "${codec}" needs the package ${entry.name}: npm install ${entry.name}`);
    }
    (CompressionCodecs as Record<number, unknown>)[entry.type] = entry.load(codecModule);
    registeredCodecs.add(entry.type);
  }
  return entry.type;
}

/**
 * Remembers the partition kafkajs chose for each message, so the per-partition base offsets of the
 * response can be turned into one offset per record. A message keeps its first partition when a
 * request is retried, so a keyless record cannot move to another partition between attempts.
 */
function recordingPartitioner(chosen: WeakMap<Message, number>): ICustomPartitioner {
  return () => {
    const partition = Partitioners.DefaultPartitioner();
    return (args) => {
      const known = chosen.get(args.message);
      if (known !== undefined) return known;
      const value = partition(args);
      chosen.set(args.message, value);
      return value;
    };
  };
}

/**
 * kafkajs retries retriable errors itself and then reports "retries exceeded", which it flags as not
 * retriable; for the caller that still means the broker was unreachable, so try again later.
 */
function produceError(error: Error & { retriable?: boolean; originalError?: Error }): ProduceError {
  const cause = error.originalError ?? error;
  const retriable =
    error.retriable === true ||
    error.name === 'KafkaJSNumberOfRetriesExceeded' ||
    (cause as { retriable?: boolean }).retriable === true;
  return new ProduceError(`${cause.name}: ${cause.message}`, retriable, { cause: error });
}

class KafkajsProducer implements KafkaProducerPort {
  constructor(
    private readonly producer: Producer,
    private readonly chosen: WeakMap<Message, number>,
    private readonly compression: CompressionTypes,
  ) {}

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(batches: TopicRecords[]): Promise<RecordMetadata[][]> {
    const topicMessages = batches.map(({ topic, records }) => ({
      topic,
      messages: records.map((r): Message => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        partition: r.partition,
      })),
    }));
    let written: Awaited<ReturnType<Producer['sendBatch']>>;
    try {
      written = await this.producer.sendBatch({ acks: -1, compression: this.compression, topicMessages });
    } catch (error) {
      throw produceError(error as Error);
    }
    const base = new Map<string, bigint>();
    for (const w of written) base.set(`${w.topicName}:${w.partition}`, BigInt(w.baseOffset ?? '-1'));
    // Records of one partition are written in the order given, so each gets the next offset.
    const next = new Map<string, bigint>();
    return topicMessages.map(({ topic, messages }) =>
      messages.map((message) => {
        const partition = message.partition ?? this.chosen.get(message) ?? -1;
        const key = `${topic}:${partition}`;
        const offset = next.get(key) ?? base.get(key) ?? -1n;
        next.set(key, offset + 1n);
        return { topic, partition, offset: offset.toString() };
      }),
    );
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

export class KafkajsClient implements KafkaClientPort {
  private readonly kafka: Kafka;
  private readonly adminKafka: Kafka;

  constructor(options: KafkajsClientOptions) {
    const config = {
      clientId: options.clientId,
      brokers: options.brokers,
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
      return new KafkajsAdmin(this.kafka.admin({ retry: { retries: options.retries } }));
    }
    return new KafkajsAdmin(this.adminKafka.admin({ retry: { retries: 0 } }));
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
    );
  }
}
