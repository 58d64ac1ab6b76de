import { BatchControls, ConsumedRecord, RecordBatch } from '../../client/kafka-client.port';
import { KeyOrderedScheduler, RunAgain } from '../key-ordered-scheduler';
import { PartitionOffsetTracker } from '../offset-tracker';
import { HandedRecord } from '../record-delivery';
import { Dispatcher, DispatchHost } from './dispatcher';

/**
 * Key-ordered parallelism: the batch's records are handed to the key scheduler and the batch
 * returns at once, so kafkajs fetches on. A record to be tried later waits in the scheduler
 * holding only its key (not a slot, not the batch), tracked and so uncommitted meanwhile.
 */
export class KeyOrderedDispatcher implements Dispatcher {
  private readonly scheduler: KeyOrderedScheduler;

  constructor(private readonly host: DispatchHost) {
    this.scheduler = new KeyOrderedScheduler(host.definition.concurrency.maxInFlight);
  }

  get busy(): boolean {
    return this.scheduler.running >= this.host.definition.concurrency.maxInFlight;
  }

  async dispatch(
    batch: RecordBatch,
    controls: BatchControls,
    tracker: PartitionOffsetTracker,
  ): Promise<void> {
    const { commits, rateLimit } = this.host;
    const records = batch.records;
    let taken: string | undefined;
    // An index loop: entries() would allocate a pair per record.
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      if (!this.host.accepting(controls, batch.topic, batch.partition) || !this.host.admit(i === 0)) break;
      if (rateLimit) await rateLimit.acquire();
      taken = record.offset;
      // Read again after a rebalance: finished, or already waiting in the scheduler.
      if (commits.track(tracker, record) === 'new') this.submit(record, controls, tracker, 0);
    }
    if (taken !== undefined) controls.advance(taken);
  }

  lateNack({ record, controls, tracker }: HandedRecord, delayMs: number): void {
    this.submit(record, controls, tracker, delayMs);
  }

  clear(): void {
    this.scheduler.clear();
  }

  private submit(
    record: ConsumedRecord,
    controls: BatchControls,
    tracker: PartitionOffsetTracker,
    delayMs: number,
  ) {
    const key = record.key?.toString('utf8') ?? null;
    let wait = delayMs;
    void this.scheduler.submit(key, async () => {
      if (wait > 0) {
        const later = new RunAgain(wait);
        wait = 0;
        return later;
      }
      // Revoked (its tracker replaced) or stopping: the record stays uncommitted for whoever reads the
      // partition next. A rebalance that kept the partition leaves it ours, whatever the old batch's
      // controls say: the fetch after it finds the record pending and leaves it to this task.
      const { stopping, commits } = this.host;
      if (stopping || !commits.isCurrent(tracker)) return undefined;
      const outcome = await this.host.delivery.deliver(record, controls, tracker);
      return outcome.status === 'retry' ? new RunAgain(outcome.delayMs) : undefined;
    });
  }
}
