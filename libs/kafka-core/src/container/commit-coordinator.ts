import { ConsumedRecord, KafkaConsumerPort, TopicPartitionOffset } from '../client/kafka-client.port';
import { OffsetTracker, PartitionOffsetTracker } from './offset-tracker';

export const tpKey = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * The only place offsets are committed. Tracks, per assigned partition, which records were handed
 * to processing and which are done; commits each partition's contiguous done prefix at batch end,
 * on an interval, on rebalance and on stop. Commits run one after another, so an older commit can
 * never land after a newer one.
 */
export class CommitCoordinator {
  private readonly offsets = new OffsetTracker();
  private chain: Promise<void> = Promise.resolve();
  commits = 0;

  constructor(private readonly consumer: () => KafkaConsumerPort | undefined) {}

  /** The partition's tracker; the first fetch starts at the group's position, so that counts as committed. */
  tracker(topic: string, partition: number, firstOffset: string): PartitionOffsetTracker {
    return this.offsets.forPartition(topic, partition, BigInt(firstOffset));
  }

  /**
   * Registers a record handed to processing. A record read again (after a seek back, or because
   * kafkajs restarts from the committed offset after every rebalance) was tracked before: 'pending'
   * while it is still unfinished, 'done' once finished.
   */
  track(tracker: PartitionOffsetTracker, record: ConsumedRecord): 'new' | 'pending' | 'done' {
    const offset = BigInt(record.offset);
    const last = tracker.last;
    if (last !== undefined && offset <= last) return tracker.isPending(offset) ? 'pending' : 'done';
    tracker.track(offset);
    return 'new';
  }

  /** False once the partition was revoked (a new assignment gets a new tracker). */
  isCurrent(tracker: PartitionOffsetTracker): boolean {
    return !tracker.revoked;
  }

  /** Records handed over and not done yet, over every partition (the in-flight bound counts these). */
  get pending(): number {
    return this.offsets.totalInFlight;
  }

  /** Every partition's contiguous done prefix, in one request. */
  flush(): Promise<void> {
    return this.enqueue(() => this.offsets.committableOffsets());
  }

  flushPartition(topic: string, partition: number): Promise<void> {
    return this.enqueue(() =>
      this.offsets.committableOffsets().filter((o) => o.topic === topic && o.partition === partition),
    );
  }

  /** Forgets a partition: its records are someone else's, with whatever was committed before. */
  revoke(topic: string, partition: number): void {
    this.offsets.revoke(topic, partition);
  }

  /** Partitions being tracked, as keys (for revoke on a new assignment). */
  trackedKeys(): string[] {
    return [...this.offsets.entries()].map(({ topic, partition }) => tpKey(topic, partition));
  }

  /** Forgets everything (stop): a later start reads from the committed positions. */
  reset(): void {
    for (const { topic, partition } of [...this.offsets.entries()]) this.revoke(topic, partition);
  }

  oldestPending(): { topic: string; partition: number; offset: string; since: number } | undefined {
    let oldest: { topic: string; partition: number; offset: string; since: number } | undefined;
    for (const { topic, partition, tracker } of this.offsets.entries()) {
      const pending = tracker.oldestPending();
      if (pending && (oldest === undefined || pending.since < oldest.since)) {
        oldest = { topic, partition, offset: pending.offset.toString(), since: pending.since };
      }
    }
    return oldest;
  }

  private enqueue(select: () => TopicPartitionOffset[]): Promise<void> {
    const run = this.chain.then(async () => {
      const consumer = this.consumer();
      const offsets = select();
      if (!consumer || offsets.length === 0) return;
      await consumer.commit(offsets);
      this.commits++;
      this.offsets.markCommitted(offsets);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
