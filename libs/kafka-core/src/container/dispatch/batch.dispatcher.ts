import { Logger } from '@nestjs/common';
import { BatchControls, RecordBatch } from '../../client/kafka-client.port';
import { IMPLICIT_ACK } from '../../ctx-host/record-acknowledgment';
import { failedIndex } from '../../errors/batch-listener-failed.error';
import { asError, Handler, InboundMessage, Outcome } from '../../pipeline/pipeline';
import { PartitionOffsetTracker } from '../offset-tracker';
import { Dispatcher, DispatchHost } from './dispatcher';

/** Disposes of a record that failed for good (the dead-letter middleware); throws when that fails. */
export type DeadLetter = (message: InboundMessage, error: Error) => Promise<Outcome>;

/**
 * Batch listeners: the fetched batch is one delivery through the same retry, deserialize, timeout
 * and middleware steps as a record. A failure names its record (BatchListenerFailedError) or is the
 * whole batch's: records before it are done, it is retried (the partition pauses and is read again
 * from it) or dead-lettered on its own, and the records after it come again in the next fetch.
 */
export class BatchDispatcher implements Dispatcher {
  readonly busy = false;
  private readonly logger: Logger;

  constructor(
    private readonly host: DispatchHost,
    private readonly pipeline: Handler,
    private readonly deadLetter: DeadLetter,
    private readonly recoveryDelayMs: number,
  ) {
    this.logger = new Logger(`KafkaListener ${host.definition.id}`);
  }

  async dispatch(
    batch: RecordBatch,
    controls: BatchControls,
    tracker: PartitionOffsetTracker,
  ): Promise<void> {
    if (!this.host.accepting(controls, batch.topic, batch.partition)) return;
    const { delivery, commits } = this.host;
    // Records finished already (read again after a rebalance) are not handed over twice.
    const records = batch.records.filter((record) => commits.track(tracker, record) !== 'done');
    if (records.length === 0) return controls.advance(batch.records[batch.records.length - 1].offset);
    const first = records[0];
    const failure = delivery.failureOf(first);
    const attempt = failure?.attempt ?? 1;
    const message = delivery.message(
      first,
      attempt,
      controls,
      IMPLICIT_ACK,
      failure?.firstFailureAt,
      records,
    );
    const done = (upTo: number) => {
      for (let i = 0; i < upTo; i++) tracker.complete(BigInt(records[i].offset));
      if (upTo > 0) controls.advance(records[upTo - 1].offset);
    };
    const counters = delivery.stats.tally(batch.topic);
    let outcome: Outcome;
    try {
      outcome = await delivery.invoke(message, this.pipeline);
    } catch (thrown) {
      // Final: the named record alone, or every record of the batch, goes to the dead-letter topic.
      const error = asError(thrown);
      const index = failedIndex(error, records.length);
      const cause = index === undefined ? error : asError(error.cause);
      const failing = index === undefined ? records : [records[index]];
      done(index ?? 0);
      counters.processed += index ?? 0;
      let disposed = 0;
      try {
        for (const record of failing) {
          await this.deadLetter(
            delivery.message(record, attempt, controls, IMPLICIT_ACK, failure?.firstFailureAt),
            cause,
          );
          tracker.complete(BigInt(record.offset));
          controls.advance(record.offset);
          delivery.stats.deadLettered(batch.topic);
          disposed++;
        }
        delivery.settledFailure(first);
      } catch (deadLetterError) {
        // Comes back at the attempt it had; nothing after the failing record moves on.
        this.logger.error(`batch at ${batch.topic}/${batch.partition}: ${asError(deadLetterError).message}`);
        this.host.retryLater(failing[disposed], this.recoveryDelayMs);
      }
      return;
    }
    if (outcome.status === 'retry') {
      const index = failedIndex(outcome.error, records.length) ?? 0;
      done(index);
      counters.processed += index;
      counters.retried++;
      const failing = records[index];
      if (!outcome.nack)
        delivery.failed(failing, index === 0 ? attempt : 1, index === 0 ? failure : undefined);
      if (outcome.transient) delivery.stats.transientFailure(failing, outcome.error);
      this.host.retryLater(failing, outcome.delayMs);
      return;
    }
    done(records.length);
    counters.processed += records.length;
    delivery.settledFailure(first);
  }

  lateNack(): void {}

  clear(): void {}
}
