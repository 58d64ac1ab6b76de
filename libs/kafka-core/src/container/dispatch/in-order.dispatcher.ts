import { BatchControls, RecordBatch } from '../../client/kafka-client.port';
import { PartitionOffsetTracker } from '../offset-tracker';
import { HandedRecord } from '../record-delivery';
import { Dispatcher, DispatchHost } from './dispatcher';

/**
 * Records of a partition one after another. A record to be tried again later ends the batch: its
 * partition pauses and is read again from it after the delay, while other partitions keep flowing.
 */
export class InOrderDispatcher implements Dispatcher {
  readonly busy = false;

  constructor(private readonly host: DispatchHost) {}

  async dispatch(
    batch: RecordBatch,
    controls: BatchControls,
    tracker: PartitionOffsetTracker,
  ): Promise<void> {
    const { delivery, commits, rateLimit } = this.host;
    const records = batch.records;
    // The fetch position moves once per batch, past the last record taken (not one call per record).
    let taken: string | undefined;
    try {
      // An index loop: entries() would allocate a pair per record.
      for (let i = 0; i < records.length; i++) {
        const record = records[i];
        if (!this.host.accepting(controls, batch.topic, batch.partition) || !this.host.admit(i === 0)) return;
        // Guarded await: awaiting an absent limiter would still cost a microtask per record.
        if (rateLimit) await rateLimit.acquire();
        // Finished already (read again after a rebalance): nothing to do but move past it.
        if (commits.track(tracker, record) === 'done') {
          taken = record.offset;
          continue;
        }
        const outcome = await delivery.deliver(record, controls, tracker);
        if (outcome.status === 'retry') {
          this.host.retryLater(record, outcome.delayMs);
          return;
        }
        taken = record.offset;
      }
    } finally {
      if (taken !== undefined) controls.advance(taken);
    }
  }

  lateNack({ record }: HandedRecord, delayMs: number): void {
    // Read again from the nacked record: it and the records after it come back (Spring's nack).
    this.host.retryLater(record, delayMs);
  }

  clear(): void {}
}
