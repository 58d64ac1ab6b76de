import { Logger } from '@nestjs/common';
import {
  Assignment,
  BatchControls,
  ConsumedRecord,
  KafkaClientPort,
  KafkaConsumerPort,
  RecordBatch,
} from '../client/kafka-client.port';
import { ListenerDefinition } from '../discovery/listener-definition';
import { retryTopicName } from '../kafka-core.constants';
import { asError, Handler } from '../pipeline/pipeline';
import { CircuitBreaker } from './circuit-breaker';
import { CommitCoordinator, tpKey } from './commit-coordinator';
import { ContainerSettings } from './container-settings';
export type { ContainerSettings } from './container-settings';
import { createDispatcher } from './dispatch/create-dispatcher';
import { Dispatcher, DispatchHost } from './dispatch/dispatcher';
import { ListenerState, ListenerStatus } from './listener-status';
import { ListenerStats } from './listener-stats';
import { InFlightBound, inFlightBound } from './in-flight-bound';
import { PartitionPauses } from './partition-pauses';
import { RateLimiter } from './rate-limiter';
import { RetryScheduling } from './retry-scheduling';
import { DeliveryHost, HandedRecord, RecordDelivery } from './record-delivery';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Owns exactly one consumer for one listener: its lifecycle (start, stop, operator pause), its
 * assignment, and the timers that bring paused partitions back. Records go fetch → dispatcher (in
 * order, key-ordered or batch) → delivery (pipeline, outcome) → commit coordinator, the only place
 * offsets are committed. Nothing waits inside a fetched batch: waiting means a paused partition or a
 * key held in the scheduler, so one record never stalls the others or the group's rebalances.
 */
export class ListenerContainer implements DispatchHost, DeliveryHost {
  private readonly logger: Logger;
  private consumer?: KafkaConsumerPort;
  private state: ListenerState = 'stopped';
  private assignment: Assignment = {};
  private startedAt?: number;
  private joinedAt?: number;
  private operatorPause?: { since: number; by: string };
  private commitTimer?: NodeJS.Timeout;
  readonly commits = new CommitCoordinator(() => this.consumer);
  private readonly pauses = new PartitionPauses(() => this.consumer);
  private readonly retries = new RetryScheduling(this.pauses, () => this.consumer);
  private readonly stats: ListenerStats;
  readonly delivery: RecordDelivery;
  private readonly dispatcher: Dispatcher;
  readonly rateLimit?: RateLimiter;
  /** Records handed over and unfinished at most; fetching pauses there and resumes below `resumeBelow`. */
  private readonly bound?: InFlightBound;

  constructor(
    readonly definition: ListenerDefinition,
    private readonly client: KafkaClientPort,
    pipeline: Handler,
    private readonly settings: ContainerSettings,
  ) {
    this.logger = new Logger(`KafkaListener ${definition.id}`);
    this.stats = new ListenerStats(definition.groupId, definition.id, settings.observer);
    const breaker = definition.circuitBreaker ? new CircuitBreaker(definition.circuitBreaker) : undefined;
    this.delivery = new RecordDelivery(
      definition,
      pipeline,
      this.stats,
      this,
      settings.recoveryDelayMs,
      breaker,
    );
    // A bucket holding a whole second of tokens would let twice the rate through in a second.
    if (definition.rateLimit) {
      this.rateLimit = new RateLimiter(definition.rateLimit, Math.max(1, definition.rateLimit / 10));
    }
    this.dispatcher = createDispatcher(this, pipeline, settings);
    this.bound = inFlightBound(definition);
  }

  get stopping(): boolean {
    return this.state === 'stopping';
  }

  status(): ListenerStatus {
    const running = this.state === 'running' && this.operatorPause !== undefined;
    return {
      id: this.definition.id,
      groupId: this.definition.groupId,
      topics: this.definition.topics,
      ackMode: this.definition.ackMode,
      state: running ? 'paused' : this.state,
      startedAt: this.startedAt,
      joinedAt: this.joinedAt,
      assignment: this.assignment,
      inFlight: this.commits.pending,
      backpressure: this.pauses.holds('backpressure') || this.dispatcher.busy,
      oldestInFlight: this.commits.oldestPending(),
      retrying: this.stats.retrying && { ...this.stats.retrying },
      breaker: this.delivery.breaker?.view(),
      paused: this.operatorPause && { ...this.operatorPause },
      lastDeadLetterAt: this.stats.lastDeadLetterAt,
      ...this.stats.totals(this.commits.commits),
    };
  }

  async start(): Promise<void> {
    if (this.state !== 'stopped' && this.state !== 'failed') return;
    // A consumer that crashed for good still holds its connections and timers.
    await this.teardown();
    this.state = 'starting';
    this.startedAt = Date.now();
    this.joinedAt = undefined;
    const consumer = this.client.consumer({
      groupId: this.definition.groupId,
      sessionTimeoutMs: this.definition.sessionTimeoutMs,
    });
    this.consumer = consumer;
    if (this.operatorPause) this.pauses.hold('operator');
    consumer.onGroupJoin((assignment) => this.onAssigned(assignment));
    consumer.onRebalancing(() => void this.commits.flush().catch(() => undefined));
    consumer.onCrash((error, restart) => {
      this.logger.error(`consumer crashed (${restart ? 'restarting' : 'not restarting'}): ${error.message}`);
      // Without a restart nothing consumes any more: health must say so rather than "running".
      if (!restart) this.state = 'failed';
    });
    try {
      await consumer.connect();
      await consumer.subscribe(this.subscription(), this.definition.fromBeginning);
      await consumer.run((batch, controls) => this.onBatch(batch, controls), {
        partitionsConcurrently: this.definition.concurrency.partitions,
      });
    } catch (error) {
      this.state = 'failed';
      await this.teardown();
      throw error;
    }
    if (this.state === 'starting') this.state = 'running';
    this.commitTimer = setInterval(
      () => void this.commits.flush().catch(() => undefined),
      this.definition.commitIntervalMs,
    );
    this.commitTimer.unref();
  }

  private subscription(): (string | RegExp)[] {
    // Patterns were resolved to topic names at startup.
    const { topics, retryTopics } = this.definition;
    return retryTopics ? [...topics, ...topics.map(retryTopicName)] : topics;
  }

  /** Stops fetching, lets running handlers finish (bounded), commits what finished, leaves the group. */
  async stop(): Promise<void> {
    if (!this.consumer || this.state === 'stopping') return;
    this.state = 'stopping';
    this.clearTimers();
    // Records not yet started (queued or waiting keys, unacknowledged manual records) stay
    // uncommitted and are redelivered to whoever consumes next.
    this.dispatcher.clear();
    const deadline = Date.now() + this.settings.shutdownTimeoutMs;
    while (this.delivery.active > 0 && Date.now() < deadline) await sleep(20);
    if (this.delivery.active > 0) {
      this.logger.warn(
        `${this.delivery.active} handler(s) still running after ${this.settings.shutdownTimeoutMs} ms; their records will be redelivered`,
      );
    }
    await this.commits
      .flush()
      .catch((error) => this.logger.warn(`final commit failed: ${asError(error).message}`));
    await this.teardown();
    this.state = 'stopped';
  }

  /** The operator's pause: holds across retries, rebalances and later assignments until resume. */
  pause(by = 'unknown'): boolean {
    if (!this.consumer || this.state !== 'running' || this.operatorPause) return false;
    this.operatorPause = { since: Date.now(), by };
    this.pauses.hold('operator');
    this.logger.log(`paused by ${by}`);
    return true;
  }

  resume(by = 'unknown'): boolean {
    if (!this.operatorPause) return false;
    const pausedMs = Date.now() - this.operatorPause.since;
    this.operatorPause = undefined;
    this.pauses.release('operator');
    this.logger.log(`resumed by ${by} after ${pausedMs} ms`);
    return true;
  }

  accepting(controls: BatchControls, topic: string, partition: number): boolean {
    return (
      controls.isActive() &&
      (this.state === 'running' || this.state === 'starting') &&
      !this.pauses.isPaused(topic, partition)
    );
  }

  admit(first = true): boolean {
    const bound = this.bound;
    if (bound === undefined || (!bound.exact && !first) || this.commits.pending < bound.max) return true;
    this.pauses.hold('backpressure');
    return false;
  }

  changed(): void {
    const bound = this.bound;
    if (bound !== undefined && this.commits.pending < bound.resumeBelow && this.pauses.holds('backpressure'))
      this.pauses.release('backpressure');
    const breaker = this.delivery.breaker;
    if (breaker) this.retries.syncBreaker(breaker);
  }

  acknowledged(record: ConsumedRecord): void {
    if (this.definition.ackMode === 'manual-immediate') {
      void this.commits
        .flushPartition(record.topic, record.partition)
        .catch((error) => this.logger.warn(`immediate commit failed: ${asError(error).message}`));
    }
    this.changed();
  }

  lateNack(handed: HandedRecord, delayMs: number): void {
    if (this.state !== 'running' || !this.commits.isCurrent(handed.tracker)) return;
    this.dispatcher.lateNack(handed, delayMs);
  }

  retryLater(record: ConsumedRecord, delayMs: number): void {
    if (this.state !== 'stopping') this.retries.later(record, delayMs);
  }

  private onAssigned(assignment: Assignment): void {
    const assigned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => tpKey(t, p))));
    for (const key of [...this.commits.trackedKeys(), ...this.retries.keys()]) {
      if (assigned.has(key)) continue;
      // Revoked: its records will be someone else's, with whatever was committed before.
      const at = key.lastIndexOf(':');
      const [topic, partition] = [key.slice(0, at), Number(key.slice(at + 1))];
      this.commits.revoke(topic, partition);
      this.delivery.forgetPartition(topic, partition);
      this.retries.forget(key);
    }
    this.assignment = assignment;
    this.pauses.assign(assignment);
    this.joinedAt = Date.now();
  }

  private async onBatch(batch: RecordBatch, controls: BatchControls): Promise<void> {
    // Fetched before a pause took hold: returning unresolved reads it again after the pause.
    if (this.pauses.isPaused(batch.topic, batch.partition) || batch.records.length === 0) return;
    const tracker = this.commits.tracker(batch.topic, batch.partition, batch.records[0].offset);
    await this.dispatcher.dispatch(batch, controls, tracker);
    // A read-ahead buffer is checked per batch: past it, fetching waits until records finish.
    this.admit();
    await this.commits
      .flushPartition(batch.topic, batch.partition)
      .catch((error) =>
        this.logger.warn(
          `commit failed (records will be committed later or redelivered): ${asError(error).message}`,
        ),
      );
  }

  private clearTimers(): void {
    clearInterval(this.commitTimer);
    this.retries.clear();
  }

  /** Leaves the group (bounded) and forgets this run's state; a later start reads committed positions. */
  private async teardown(): Promise<void> {
    this.clearTimers();
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) {
      // kafkajs waits for the batch in hand before leaving; bound that wait with a timer that does
      // not keep the process alive after close.
      const bound = new Promise<void>((resolve) =>
        setTimeout(resolve, this.settings.shutdownTimeoutMs).unref(),
      );
      await Promise.race([consumer.disconnect(), bound]).catch(() => undefined);
    }
    this.dispatcher.clear();
    this.commits.reset();
    this.delivery.clear();
    this.pauses.clear();
    this.assignment = {};
    this.joinedAt = undefined;
  }
}
