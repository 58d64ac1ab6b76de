import { TopicPartitionOffset } from '../client/kafka-client.port';

/** Compacts the tracked-offset array once this many settled entries sit before the head. */
const COMPACT_THRESHOLD = 1024;

/**
 * Tracks one partition's in-flight offsets so that out-of-order completion never commits past an
 * unfinished record: Kafka commits a single position per partition, and everything below it counts
 * as consumed. Only tracked offsets block; gaps left by compaction or transaction markers do not.
 *
 * Each track and complete is O(1) amortized: completed offsets leave a map, and a head pointer
 * over the tracked offsets (in fetch order) advances past them.
 */
export class PartitionOffsetTracker {
  /** Tracked offsets in increasing order; those before `head` are completed. */
  private tracked: bigint[] = [];
  private head = 0;
  private lastTracked: bigint | undefined;
  /** Offsets tracked and not completed, with the clock time they were tracked. */
  private readonly pendingSince = new Map<bigint, number>();
  private anyCompleted = false;
  private committed: bigint | undefined;

  /** `initialPosition` is the partition's committed position (the next offset to read). */
  constructor(
    initialPosition?: bigint,
    private readonly clock: () => number = Date.now,
  ) {
    this.committed = initialPosition;
  }

  /**
   * Registers offsets handed to processing, in fetch order. An offset at or below the last tracked
   * one throws: re-reading earlier offsets (a seek back) must `reset` first.
   */
  track(offset: bigint): void {
    if (this.lastTracked !== undefined && offset <= this.lastTracked) {
      throw new RangeError(
        `Offset ${offset} tracked after ${this.lastTracked}: offsets must increase; reset() first`,
      );
    }
    this.tracked.push(offset);
    this.lastTracked = offset;
    this.pendingSince.set(offset, this.clock());
  }

  /** Set when its partition was revoked: work still holding it belongs to nobody. */
  revoked = false;

  /** The highest offset tracked since construction or reset. */
  get last(): bigint | undefined {
    return this.lastTracked;
  }

  isPending(offset: bigint): boolean {
    return this.pendingSince.has(offset);
  }

  /** Marks one offset done (ack). Unknown or already-completed offsets are ignored and return false. */
  complete(offset: bigint): boolean {
    if (!this.pendingSince.delete(offset)) return false;
    const tracked = this.tracked;
    while (this.head < tracked.length && !this.pendingSince.has(tracked[this.head])) this.head++;
    this.anyCompleted = true;
    if (this.head >= COMPACT_THRESHOLD && this.head * 2 >= tracked.length) {
      this.tracked = tracked.slice(this.head);
      this.head = 0;
    }
    return true;
  }

  /**
   * The next offset to commit: the oldest pending tracked offset, or one past the last tracked
   * offset when none is pending. Undefined while nothing completed since construction or reset.
   */
  committable(): bigint | undefined {
    if (!this.anyCompleted || this.lastTracked === undefined) return undefined;
    return this.head < this.tracked.length ? this.tracked[this.head] : this.lastTracked + 1n;
  }

  /** True when committable() moved past what `markCommitted` (or the constructor) last recorded. */
  hasUncommitted(): boolean {
    const position = this.committable();
    return position !== undefined && (this.committed === undefined || position > this.committed);
  }

  markCommitted(position: bigint): void {
    this.committed = position;
  }

  /** Offsets tracked but not completed, oldest first. */
  pending(): bigint[] {
    // Offsets are tracked in increasing order and Maps iterate in insertion order.
    return [...this.pendingSince.keys()];
  }

  get inFlight(): number {
    return this.pendingSince.size;
  }

  /** The oldest pending offset and when it was tracked (clock ms), for detecting a stuck record. */
  oldestPending(): { offset: bigint; since: number } | undefined {
    if (this.head >= this.tracked.length) return undefined;
    const offset = this.tracked[this.head];
    const since = this.pendingSince.get(offset);
    return since === undefined ? undefined : { offset, since };
  }

  /** Forgets everything: the partition was revoked, or the consumer seeks back. */
  reset(position?: bigint): void {
    this.tracked = [];
    this.head = 0;
    this.lastTracked = undefined;
    this.pendingSince.clear();
    this.anyCompleted = false;
    this.committed = position;
  }
}

/** One PartitionOffsetTracker per assigned topic-partition. */
export class OffsetTracker {
  private readonly partitions = new Map<
    string,
    { topic: string; partition: number; tracker: PartitionOffsetTracker }
  >();

  constructor(private readonly clock: () => number = Date.now) {}

  /** The partition's tracker, created on first use with `initialPosition` as its committed position. */
  forPartition(topic: string, partition: number, initialPosition?: bigint): PartitionOffsetTracker {
    const key = partitionKey(topic, partition);
    let entry = this.partitions.get(key);
    if (!entry) {
      entry = { topic, partition, tracker: new PartitionOffsetTracker(initialPosition, this.clock) };
      this.partitions.set(key, entry);
    }
    return entry.tracker;
  }

  /** Positions that moved past their last commit, in the shape Kafka commits. */
  committableOffsets(): TopicPartitionOffset[] {
    const offsets: TopicPartitionOffset[] = [];
    for (const { topic, partition, tracker } of this.partitions.values()) {
      const position = tracker.committable();
      if (position !== undefined && tracker.hasUncommitted()) {
        offsets.push({ topic, partition, offset: position.toString() });
      }
    }
    return offsets;
  }

  /** Records a successful commit; partitions revoked meanwhile are skipped. */
  markCommitted(offsets: readonly TopicPartitionOffset[]): void {
    for (const { topic, partition, offset } of offsets) {
      this.partitions.get(partitionKey(topic, partition))?.tracker.markCommitted(BigInt(offset));
    }
  }

  /** Drops the partition: after a rebalance its new owner commits it, and a re-assignment starts afresh. */
  revoke(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    const entry = this.partitions.get(key);
    if (entry) entry.tracker.revoked = true;
    this.partitions.delete(key);
  }

  /** Tracked partitions, without creating any (status reads must not change state). */
  entries(): IterableIterator<{ topic: string; partition: number; tracker: PartitionOffsetTracker }> {
    return this.partitions.values();
  }

  get totalInFlight(): number {
    let total = 0;
    for (const { tracker } of this.partitions.values()) total += tracker.inFlight;
    return total;
  }
}

// Kafka topic names only use [a-zA-Z0-9._-], so ':' cannot make two keys collide.
function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}
