import { Consumer, IHeaders } from 'kafkajs';
import { asAuthorizationFailure } from '../../errors/kafka-access.errors';
import {
  Assignment,
  BatchControls,
  Headers,
  KafkaConsumerPort,
  PausedPartitions,
  RecordBatch,
  RunOptions,
  TopicPartitionOffset,
} from '../kafka-client.port';

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

export class KafkajsConsumer implements KafkaConsumerPort {
  /**
   * Topics paused as a whole, each with the partitions resumed one by one since. kafkajs' own state
   * (src/consumer/subscriptionState.js, pause()) turns a whole-topic pause into a partition list
   * (`pauseAll = false`) as soon as some partitions are paused by name, silently resuming the topic's
   * other partitions; this record lets a named pause keep the whole-topic one.
   */
  private readonly wholeTopicPauses = new Map<string, Set<number>>();
  private leaving = false;
  private disconnecting?: Promise<void>;

  private topics: string[] = [];

  constructor(
    private readonly consumer: Consumer,
    /** Who consumes as which group, to name an ACL refusal. */
    private readonly access: { principal: string; groupId?: string } = { principal: 'ANONYMOUS' },
  ) {
    consumer.on(consumer.events.CRASH, (event) => {
      // kafkajs builds a new consumer group, with nothing paused, when it restarts after a crash.
      this.wholeTopicPauses.clear();
      // kafkajs arms its restart timer just after emitting CRASH (src/consumer/index.js, onCrash);
      // stop() clears it, so a crash during or after disconnect() cannot bring the member back.
      if (this.leaving && event.payload.restart) {
        setImmediate(() => void this.consumer.stop().catch(() => undefined));
      }
    });
  }

  connect(): Promise<void> {
    this.leaving = false;
    this.disconnecting = undefined;
    return this.consumer.connect();
  }

  async subscribe(topics: (string | RegExp)[], fromBeginning: boolean): Promise<void> {
    this.topics = topics.map(String);
    try {
      await this.consumer.subscribe({ topics, fromBeginning });
    } catch (error) {
      throw this.refusal(error, 'Describe');
    }
  }

  /** An ACL refusal named by operation, topics and group (kafkajs names neither). */
  private refusal(error: unknown, operation: string): unknown {
    const { principal, groupId } = this.access;
    return asAuthorizationFailure(error, principal, operation, { topics: this.topics, group: groupId });
  }

  run(
    onBatch: (batch: RecordBatch, controls: BatchControls) => Promise<void>,
    options: RunOptions,
  ): Promise<void> {
    this.wholeTopicPauses.clear();
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
    if (partitions?.length === 0) return;
    if (!partitions) {
      this.consumer.pause([{ topic }]);
      this.wholeTopicPauses.set(topic, new Set());
      return;
    }
    const resumed = this.wholeTopicPauses.get(topic);
    if (!resumed) {
      // Named partitions join kafkajs' paused set; nothing else changes.
      this.consumer.pause([{ topic, partitions }]);
      return;
    }
    // Under a whole-topic pause only partitions resumed since can change: pause the topic again
    // (which forgets those resumes) and resume the ones not named.
    const stillResumed = [...resumed].filter((p) => !partitions.includes(p));
    this.consumer.pause([{ topic }]);
    if (stillResumed.length > 0) this.consumer.resume([{ topic, partitions: stillResumed }]);
    this.wholeTopicPauses.set(topic, new Set(stillResumed));
  }

  resume(topic: string, partitions?: number[]): void {
    if (partitions?.length === 0) return;
    if (!partitions) {
      this.consumer.resume([{ topic }]);
      this.wholeTopicPauses.delete(topic);
      return;
    }
    // Exact in kafkajs: the named partitions leave the paused set and, under a whole-topic pause,
    // are marked resumed.
    this.consumer.resume([{ topic, partitions }]);
    const resumed = this.wholeTopicPauses.get(topic);
    for (const p of partitions) resumed?.add(p);
  }

  paused(): PausedPartitions[] {
    // kafkajs sorts with the default (string) order: 10 before 2.
    return this.consumer
      .paused()
      .map(({ topic, partitions }) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) }));
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
      listener(this.refusal(event.payload.error, 'Read') as Error, event.payload.restart),
    );
  }

  /**
   * After a crash kafkajs has already stopped the run and closed its connections; disconnecting
   * again only stops a pending restart. Concurrent and repeated calls share one attempt; a failed
   * attempt may be retried.
   */
  disconnect(): Promise<void> {
    this.leaving = true;
    this.disconnecting ??= this.leave().catch((error: unknown) => {
      this.disconnecting = undefined;
      throw error;
    });
    return this.disconnecting;
  }

  private async leave(): Promise<void> {
    // Called from a CRASH listener, kafkajs has not armed its restart timer yet; one turn later
    // stop() (inside disconnect) clears it.
    await new Promise((resolve) => setImmediate(resolve));
    await this.consumer.disconnect();
  }
}
