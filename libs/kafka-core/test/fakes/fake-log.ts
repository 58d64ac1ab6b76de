import { ConsumedRecord, Headers } from '@app/kafka-core/client/kafka-client.port';

/** A record as a test writes it: strings are turned into buffers, as the wire would. */
export interface FakeRecordInput {
  key?: string | Buffer | null;
  value?: string | Buffer | null;
  headers?: Headers;
  timestamp?: string;
}

const toBuffer = (v: string | Buffer | null | undefined): Buffer | null =>
  v === undefined || v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);

/** Error shaped like kafkajs' protocol errors: `type` names the Kafka error code. */
export class FakeKafkaError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly retriable = true,
  ) {
    super(message);
    this.name = 'KafkaJSProtocolError';
  }
}

/** Every topic's partitions as arrays of records; offsets are array indexes (no retention). */
export class FakeLog {
  private readonly topics = new Map<string, ConsumedRecord[][]>();
  private readonly listeners = new Set<() => void>();

  createTopic(name: string, partitions: number): void {
    const existing = this.topics.get(name);
    if (existing) {
      while (existing.length < partitions) existing.push([]);
      return;
    }
    this.topics.set(
      name,
      Array.from({ length: partitions }, () => []),
    );
    this.changed();
  }

  has(topic: string): boolean {
    return this.topics.has(topic);
  }

  topicNames(): string[] {
    return [...this.topics.keys()].sort();
  }

  partitionCount(topic: string): number {
    return this.partitions(topic).length;
  }

  /** Appends records to one partition; returns their offsets. */
  append(topic: string, partition: number, records: FakeRecordInput[]): string[] {
    const log = this.partition(topic, partition);
    const offsets = records.map((r) => {
      const offset = String(log.length);
      log.push({
        topic,
        partition,
        offset,
        key: toBuffer(r.key),
        value: toBuffer(r.value),
        headers: { ...(r.headers ?? {}) },
        timestamp: r.timestamp ?? String(Date.now()),
      });
      return offset;
    });
    this.changed();
    return offsets;
  }

  /** The offset the next record of the partition gets (Kafka's high watermark). */
  endOffset(topic: string, partition: number): number {
    return this.partition(topic, partition).length;
  }

  /** Up to `max` records from `offset` on. */
  read(topic: string, partition: number, offset: number, max: number): ConsumedRecord[] {
    return this.partition(topic, partition)
      .slice(offset, offset + max)
      .map((r) => ({ ...r, headers: { ...r.headers } }));
  }

  /** Every record of a partition, for assertions. */
  records(topic: string, partition: number): ConsumedRecord[] {
    return this.read(topic, partition, 0, Number.MAX_SAFE_INTEGER);
  }

  /** Called after every change (new topic or record), so idle fetch loops wake up. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private partitions(topic: string): ConsumedRecord[][] {
    const partitions = this.topics.get(topic);
    if (!partitions)
      throw new FakeKafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Unknown topic ${topic}: create it first`);
    return partitions;
  }

  private partition(topic: string, partition: number): ConsumedRecord[] {
    const log = this.partitions(topic)[partition];
    if (!log)
      throw new FakeKafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${topic} has no partition ${partition}`);
    return log;
  }
}
