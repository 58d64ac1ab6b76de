/**
 * The thin port between kafka-core and a Kafka client library. kafkajs sits behind it today; no
 * client type crosses it, so another client can replace the adapter without touching the runtime.
 */
export type Headers = Record<string, string>;

export interface ConsumedRecord {
  topic: string;
  partition: number;
  /** Offsets stay strings: they are int64 on the wire. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
  timestamp: string;
}

export interface RecordBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
}

export interface BatchControls {
  /** Keeps group membership alive during long work; cheap when no heartbeat is due. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was revoked. */
  isActive(): boolean;
  /** Moves the fetch position past `offset` (taken for processing); committing is separate. */
  advance(offset: string): void;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka commits it. */
  offset: string;
}

export interface ConsumerConfig {
  groupId: string;
  /** Upper bound of a fetch wait; kafkajs defaults to 5 s, far too slow for interactive flows. */
  maxWaitTimeMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

export interface RunOptions {
  /** Partitions whose batches are handled at the same time. */
  partitionsConcurrently: number;
}

/** Partitions per topic. */
export type Assignment = Record<string, number[]>;

export interface ConsumerEvents {
  /** The member joined (or re-joined) its group with this assignment. */
  onGroupJoin(listener: (assignment: Assignment) => void): void;
  /** A rebalance starts: the last moment to commit for partitions that may move. */
  onRebalancing(listener: () => void): void;
  /** The client gave up on an error; it restarts itself when `restart` is true. */
  onCrash(listener: (error: Error, restart: boolean) => void): void;
}

export interface KafkaConsumerPort extends ConsumerEvents {
  connect(): Promise<void>;
  subscribe(topics: (string | RegExp)[], fromBeginning: boolean): Promise<void>;
  run(
    onBatch: (batch: RecordBatch, controls: BatchControls) => Promise<void>,
    options: RunOptions,
  ): Promise<void>;
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /**
   * Stops fetching these partitions until resumed; with a list, only the partitions named change.
   * Without one, the whole topic, partitions assigned later included. A batch already fetched still
   * arrives.
   */
  pause(topic: string, partitions?: number[]): void;
  /** Fetches these partitions again; with a list, only the partitions named change. */
  resume(topic: string, partitions?: number[]): void;
  /** Assigned partitions the client does not fetch because they are paused, as it reports them. */
  paused(): PausedPartitions[];
  /** The next fetch of this partition starts at `offset`. */
  seek(topic: string, partition: number, offset: string): void;
  /** Leaves the group and closes connections. Safe after a crash; calling it again changes nothing. */
  disconnect(): Promise<void>;
}

export interface PausedPartitions {
  topic: string;
  /** Ascending. */
  partitions: number[];
}

export interface OutgoingRecord {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Headers;
  partition?: number;
}

/** Where the broker wrote one record. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  /** Offsets stay strings: they are int64 on the wire. */
  offset: string;
}

export interface TopicRecords {
  topic: string;
  records: OutgoingRecord[];
}

export type CompressionCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface ProducerConfig {
  /** gzip is built in; snappy, lz4 and zstd need their kafkajs codec package installed. */
  compression?: CompressionCodec;
  /** Attempts after the first failure of a produce request, with exponential backoff. */
  retries?: number;
  initialRetryTimeMs?: number;
  maxRetryTimeMs?: number;
}

export interface KafkaProducerPort {
  connect(): Promise<void>;
  /**
   * One produce round trip for records of several topics (acks=all). Resolves to the metadata of
   * every record, in the order given, topic by topic.
   */
  send(batches: TopicRecords[]): Promise<RecordMetadata[][]>;
  disconnect(): Promise<void>;
}

export interface ClusterDescription {
  clusterId: string;
  brokers: number;
  controller: number | null;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Null when the group has not committed on this partition. */
  committed: string | null;
  end: string;
  lag: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface KafkaAdminPort {
  connect(): Promise<void>;
  describeCluster(): Promise<ClusterDescription>;
  /** Names of every topic in the cluster. */
  topicNames(): Promise<string[]>;
  /** Partition count per existing topic among `names`. */
  partitionCounts(names: string[]): Promise<Map<string, number>>;
  /**
   * Committed offset against the end of every partition of `topics` for one group. A partition the
   * group never committed counts everything still retained (end - start) as lag.
   */
  consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]>;
  /** `retention.ms` per topic (-1: kept forever). */
  retentionMs(names: string[]): Promise<Map<string, number>>;
  createTopics(topics: TopicSpec[]): Promise<void>;
  addPartitions(topic: string, count: number): Promise<void>;
  /**
   * Resolves once every partition of the topics has a leader. A topic another client just created
   * is not yet in every broker's metadata, and subscribing to it then fails.
   */
  awaitTopicsReady(names: string[], timeoutMs: number): Promise<void>;
  disconnect(): Promise<void>;
}

/** A produce request that failed; `retriable` when the broker could not be reached or asked to retry. */
export class ProduceError extends Error {
  /**
   * For a refused request: per batch and record, where the broker wrote it despite the refusal of
   * other partitions of the request, or undefined where it did not. Absent when nothing is known.
   */
  readonly written?: (RecordMetadata | undefined)[][];

  constructor(
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown; written?: (RecordMetadata | undefined)[][] },
  ) {
    super(message, options);
    this.name = 'ProduceError';
    this.written = options?.written;
  }
}

/** Errors from the port say whether trying the same call again may succeed (Kafka's own flag). */
export function isRetriable(error: unknown): boolean {
  return (error as { retriable?: boolean } | undefined)?.retriable === true;
}

export interface AdminOptions {
  /** Retries of retriable errors inside one call; default none (callers own their retrying). */
  retries?: number;
}

export interface KafkaClientPort {
  admin(options?: AdminOptions): KafkaAdminPort;
  consumer(config: ConsumerConfig): KafkaConsumerPort;
  producer(config?: ProducerConfig): KafkaProducerPort;
}

export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');
