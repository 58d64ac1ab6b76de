import { BatchControls, ConsumedRecord, RecordBatch } from '../../client/kafka-client.port';
import { ListenerDefinition } from '../../discovery/listener-definition';
import { CommitCoordinator } from '../commit-coordinator';
import { PartitionOffsetTracker } from '../offset-tracker';
import { RateLimiter } from '../rate-limiter';
import { HandedRecord, RecordDelivery } from '../record-delivery';

/** What a dispatch strategy may use of its container. */
export interface DispatchHost {
  readonly definition: ListenerDefinition;
  readonly delivery: RecordDelivery;
  readonly commits: CommitCoordinator;
  readonly rateLimit?: RateLimiter;
  /** The container is consuming, the partition is still ours, and nothing holds it paused. */
  accepting(controls: BatchControls, topic: string, partition: number): boolean;
  /**
   * False once the in-flight bound is reached (fetching then pauses until records finish). An exact
   * bound (`maxInFlight`) is asked per record; a read-ahead buffer only at a batch's first record.
   */
  admit(first: boolean): boolean;
  /** Leaves the batch: the partition pauses, reads from `record` again after `delayMs`. */
  retryLater(record: ConsumedRecord, delayMs: number): void;
  /** Whether the container is stopping (queued work is dropped, not started). */
  readonly stopping: boolean;
}

/**
 * How the records of a fetched batch reach the pipeline: in partition order, key-ordered in
 * parallel, or as one batch. A strategy never sleeps inside a batch: whatever has to wait leaves it
 * (a paused partition, a key held in the scheduler), so kafkajs fetches the other partitions on.
 */
export interface Dispatcher {
  dispatch(batch: RecordBatch, controls: BatchControls, tracker: PartitionOffsetTracker): Promise<void>;
  /** A manual-ack handler nacked after it returned. */
  lateNack(handed: HandedRecord, delayMs: number): void;
  /** Records started and not finished, for backpressure status. */
  readonly busy: boolean;
  /** Drops what waits to run (stop). */
  clear(): void;
}
