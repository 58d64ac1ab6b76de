import { Logger } from '@nestjs/common';
import { BatchControls, ConsumedRecord } from '../client/kafka-client.port';
import { KafkaContext } from '../ctx-host/kafka.context';
import { AcknowledgmentSink, RecordAcknowledgment } from '../ctx-host/record-acknowledgment';
import { ListenerDefinition } from '../discovery/listener-definition';
import { asError, Handler, InboundMessage, Outcome } from '../pipeline/pipeline';
import { retryView } from '../pipeline/retry-topic.middleware';
import { CircuitBreaker } from './circuit-breaker';
import { tpKey } from './commit-coordinator';
import { ListenerStats } from './listener-stats';
import { PartitionOffsetTracker } from './offset-tracker';

/** A record as handed to its handler: enough to acknowledge or redeliver it later. */
export interface HandedRecord {
  record: ConsumedRecord;
  controls: BatchControls;
  tracker: PartitionOffsetTracker;
}

interface FailureState {
  attempt: number;
  firstFailureAt: Date;
}

/** What a delivery tells its container beyond the outcome. */
export interface DeliveryHost {
  /** A record of a manual-ack listener was acknowledged (after its tracker marked it done). */
  acknowledged(record: ConsumedRecord): void;
  /** A manual-ack handler nacked after it returned: the container redelivers after `delayMs`. */
  lateNack(handed: HandedRecord, delayMs: number): void;
  /** Something finished, or the breaker moved: pauses may need lifting. */
  changed(): void;
}

/**
 * One delivery of one record through the pipeline, turned into tracker state, counters, the
 * attempt and first-failure time of a record being retried, and the circuit breaker's inputs.
 */
export class RecordDelivery {
  private readonly logger: Logger;
  /** Attempts of records being retried, per partition (dropped with the partition). */
  private readonly failures = new Map<string, Map<string, FailureState>>();
  /** Handlers running now; shutdown waits for these. */
  active = 0;

  /** Manual acknowledgments of this listener's records, to the tracker and the container. */
  private readonly acks: AcknowledgmentSink<HandedRecord> = {
    acknowledged: ({ record, tracker }) => {
      if (tracker.complete(BigInt(record.offset))) this.host.acknowledged(record);
    },
    lateNack: (handed, delayMs) => this.host.lateNack(handed, delayMs),
  };

  constructor(
    private readonly definition: ListenerDefinition,
    private readonly pipeline: Handler,
    readonly stats: ListenerStats,
    private readonly host: DeliveryHost,
    private readonly recoveryDelayMs: number,
    readonly breaker?: CircuitBreaker,
  ) {
    this.logger = new Logger(`KafkaListener ${definition.id}`);
  }

  forgetPartition(topic: string, partition: number): void {
    this.failures.delete(tpKey(topic, partition));
  }

  clear(): void {
    this.failures.clear();
  }

  /** Attempt and first failure of a record, for a batch delivered from it. */
  failureOf(record: ConsumedRecord): FailureState | undefined {
    return this.failures.size > 0
      ? this.failures.get(tpKey(record.topic, record.partition))?.get(record.offset)
      : undefined;
  }

  failed(record: ConsumedRecord, attempt: number, previous?: FailureState): void {
    const key = tpKey(record.topic, record.partition);
    const partition = this.failures.get(key) ?? new Map<string, FailureState>();
    partition.set(record.offset, {
      attempt: attempt + 1,
      firstFailureAt: previous?.firstFailureAt ?? new Date(),
    });
    this.failures.set(key, partition);
  }

  settledFailure(record: ConsumedRecord): void {
    if (this.failures.size === 0) return;
    const key = tpKey(record.topic, record.partition);
    const partition = this.failures.get(key);
    if (partition?.delete(record.offset) && partition.size === 0) this.failures.delete(key);
  }

  /** The message a delivery carries from the pipeline to the handler (its context is a view of it). */
  message(
    record: ConsumedRecord,
    attempt: number,
    controls: BatchControls,
    ack: InboundMessage['ack'],
    firstFailureAt?: Date,
    records?: readonly ConsumedRecord[],
  ): InboundMessage {
    const message = {
      record,
      records,
      listener: this.definition,
      attempt,
      firstFailureAt,
      ack,
      heartbeat: () => controls.heartbeat(),
    } as { -readonly [K in keyof InboundMessage]: InboundMessage[K] };
    message.context = new KafkaContext(message);
    return message;
  }

  /** One pass through a pipeline, counted as running (shutdown waits) and timed. */
  async invoke(message: InboundMessage, pipeline: Handler = this.pipeline): Promise<Outcome> {
    const started = this.stats.started();
    this.active++;
    try {
      return await pipeline(message);
    } finally {
      this.active--;
      this.stats.finished(message.record.topic, started);
    }
  }

  /** A throw out of the pipeline: the failure could not be disposed of (the dead-letter publish). */
  private undisposed(message: InboundMessage, thrown: unknown): Outcome {
    // The record stays uncommitted and comes back at the attempt it had (it is not a new failure).
    const error = asError(thrown);
    const { topic, partition, offset } = message.record;
    this.logger.error(
      `${topic}/${partition}@${offset}: ${error.message}; retrying in ${this.recoveryDelayMs} ms`,
    );
    this.stats.transientFailure(message.record, error);
    return { status: 'retry', delayMs: this.recoveryDelayMs, error, transient: true, nack: true };
  }

  async deliver(
    record: ConsumedRecord,
    controls: BatchControls,
    tracker: PartitionOffsetTracker,
  ): Promise<Outcome> {
    const offset = BigInt(record.offset);
    const waiting = this.definition.retryTopics ? retryView(record) : undefined;
    if (waiting && waiting.group !== this.definition.groupId) {
      // Another group's failure: only the group that failed a record handles it again.
      tracker.complete(offset);
      return { status: 'skipped' };
    }
    if (waiting && waiting.dueAt > Date.now()) {
      return {
        status: 'retry',
        delayMs: waiting.dueAt - Date.now(),
        error: new Error('not due'),
        nack: true,
      };
    }
    const breaker = this.breaker;
    if (breaker && !breaker.tryAcquire()) {
      const delayMs = breaker.remainingOpenMs() || 1_000;
      return { status: 'retry', delayMs, error: new Error('circuit breaker open'), nack: true };
    }
    const failure = this.failureOf(record);
    const manual = this.definition.ackMode !== 'auto';
    // Auto acknowledgment needs no sink: returning is the acknowledgment.
    const ack = manual
      ? new RecordAcknowledgment(this.acks, { record, controls, tracker })
      : new RecordAcknowledgment(undefined, undefined);
    const view = waiting?.record ?? record;
    const attempt = waiting?.attempt ?? failure?.attempt ?? 1;
    const message = this.message(
      view,
      attempt,
      controls,
      ack,
      waiting?.firstFailureAt ?? failure?.firstFailureAt,
    );
    // invoke()'s steps written out here: one async frame less on every record.
    const started = this.stats.started();
    this.active++;
    let outcome: Outcome;
    try {
      outcome = await this.pipeline(message);
    } catch (thrown) {
      outcome = this.undisposed(message, thrown);
    } finally {
      this.active--;
      this.stats.finished(view.topic, started);
    }
    this.account(record, view.topic, outcome, attempt, failure, tracker, offset);
    return outcome;
  }

  private account(
    record: ConsumedRecord,
    topic: string,
    outcome: Outcome,
    attempt: number,
    failure: FailureState | undefined,
    tracker: PartitionOffsetTracker,
    offset: bigint,
  ): void {
    const counters = this.stats.tally(topic);
    const breaker = this.breaker;
    if (outcome.status === 'retry') {
      if (outcome.nack) {
        breaker?.onNeutral();
        return;
      }
      counters.retried++;
      this.failed(record, attempt, failure);
      if (outcome.transient) {
        this.stats.transientFailure(record, outcome.error);
        if (breaker?.onFailure()) {
          this.logger.warn(`circuit breaker open after ${breaker.consecutiveFailures} transient failure(s)`);
          this.host.changed();
        }
      } else breaker?.onNeutral();
      return;
    }
    switch (outcome.status) {
      case 'success':
        counters.processed++;
        if (this.definition.ackMode === 'auto') tracker.complete(offset);
        // The dependency answers again.
        this.stats.retrying = undefined;
        if (breaker) {
          const was = breaker.state;
          breaker.onSuccess();
          if (was !== 'closed') this.logger.log('circuit breaker closed');
        }
        break;
      case 'forwarded':
        counters.retried++;
        tracker.complete(offset);
        break;
      case 'dead-lettered':
        this.stats.deadLettered(topic);
        tracker.complete(offset);
        break;
      case 'skipped':
        if (outcome.error) counters.failed++;
        counters.skipped++;
        tracker.complete(offset);
        break;
    }
    if (outcome.status !== 'success') breaker?.onNeutral();
    if (failure) this.settledFailure(record);
    this.host.changed();
  }
}
