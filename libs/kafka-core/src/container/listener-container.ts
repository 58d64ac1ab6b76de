import { Logger } from '@nestjs/common';
import {
  Assignment,
  BatchControls,
  ConsumedRecord,
  KafkaClientPort,
  KafkaConsumerPort,
  RecordBatch,
} from '../client/kafka-client.port';
import { Acknowledgment, KafkaContext } from '../ctx-host/kafka.context';
import { ListenerDefinition } from '../discovery/listener-definition';
import { parseJson, toPayload } from '../pipeline/deserialize.middleware';
import { asError, Handler, InboundMessage, Outcome } from '../pipeline/pipeline';
import { retryView } from '../pipeline/retry-topic.middleware';
import { retryTopicName } from '../kafka-core.constants';
import { nextDelay } from '../errors/backoff';
import { classify } from '../errors/error-classifier';
import { InFlightLimiter } from './in-flight-limiter';
import { KeyOrderedScheduler } from './key-ordered-scheduler';
import type { ListenerObserver } from '../metrics/metrics-hooks';
import { emptyCounters, ListenerCounters, ListenerState, ListenerStatus } from './listener-status';
import { OffsetTracker, PartitionOffsetTracker } from './offset-tracker';
import { RateLimiter } from './rate-limiter';

export interface ContainerSettings {
  /** Told the duration of every delivery attempt (metrics). */
  observer?: ListenerObserver;
  /** How long `stop()` waits for in-flight records before it commits what finished and leaves. */
  shutdownTimeoutMs: number;
  /** Delay before a record whose failure could not even be recorded (e.g. dead-letter publish) is tried again. */
  recoveryDelayMs: number;
  /** Disposes of a record that failed for good (dead letter, or skip); throws when that fails. */
  deadLetter: (message: InboundMessage, error: Error) => Promise<Outcome>;
}

interface FailureState {
  attempt: number;
  firstFailureAt: Date;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const tpKey = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * Owns exactly one consumer for one listener: fetches batches, schedules records (in partition
 * order, or key-ordered in parallel), turns pipeline outcomes into completed offsets, and is the only
 * place offsets are committed: at batch end, on an interval for late manual acks, on rebalance and
 * on stop. Blocking retries pause the partition and seek back instead of sleeping inside the batch,
 * so a long backoff never costs the group membership.
 */
export class ListenerContainer {
  private readonly logger: Logger;
  private consumer?: KafkaConsumerPort;
  private state: ListenerState = 'stopped';
  private assignment: Assignment = {};
  private readonly offsets = new OffsetTracker();
  private readonly lastTracked = new Map<string, bigint>();
  private readonly failures = new Map<string, FailureState>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  /** Commits are per listener; record counts per topic (see tally). */
  private readonly counters = emptyCounters();
  private readonly topicCounters = new Map<string, ListenerCounters>();
  private readonly durationSeries = new Map<string, { observe(seconds: number): void }>();
  private startedAt?: number;
  private joinedAt?: number;
  private commitTimer?: NodeJS.Timeout;
  /** Records inside the pipeline right now; shutdown waits for these. */
  private active = 0;
  private commitChain: Promise<void> = Promise.resolve();
  private readonly scheduler?: KeyOrderedScheduler;
  private readonly inFlightLimit?: InFlightLimiter;
  private readonly rateLimit?: RateLimiter;

  constructor(
    readonly definition: ListenerDefinition,
    private readonly client: KafkaClientPort,
    private readonly pipeline: Handler,
    private readonly settings: ContainerSettings,
  ) {
    this.logger = new Logger(`KafkaListener ${definition.id}`);
    if (definition.concurrency.keyOrdered)
      this.scheduler = new KeyOrderedScheduler(definition.concurrency.maxInFlight);
    if (definition.maxInFlight) this.inFlightLimit = new InFlightLimiter(definition.maxInFlight);
    // A bucket holding a whole second of tokens would let twice the rate through in a second.
    if (definition.rateLimit) {
      this.rateLimit = new RateLimiter(definition.rateLimit, Math.max(1, definition.rateLimit / 10));
    }
  }

  status(): ListenerStatus {
    const countersByTopic = Object.fromEntries([...this.topicCounters].map(([t, c]) => [t, { ...c }]));
    const counters = { ...emptyCounters(), commits: this.counters.commits };
    for (const c of this.topicCounters.values()) {
      counters.processed += c.processed;
      counters.failed += c.failed;
      counters.retried += c.retried;
      counters.deadLettered += c.deadLettered;
      counters.skipped += c.skipped;
    }
    return {
      id: this.definition.id,
      groupId: this.definition.groupId,
      topics: this.definition.topics,
      ackMode: this.definition.ackMode,
      state: this.state,
      startedAt: this.startedAt,
      joinedAt: this.joinedAt,
      assignment: this.assignment,
      inFlight: this.offsets.totalInFlight,
      backpressure: this.backpressure(),
      oldestInFlight: this.oldestInFlight(),
      counters,
      countersByTopic,
    };
  }

  /** The counters of one topic, created on first use. */
  private tally(topic: string): ListenerCounters {
    let counters = this.topicCounters.get(topic);
    if (!counters) {
      counters = emptyCounters();
      this.topicCounters.set(topic, counters);
    }
    return counters;
  }

  /** Holding back: the in-flight bound (or the key scheduler's) is reached. */
  private backpressure(): boolean {
    if (
      this.inFlightLimit &&
      this.definition.maxInFlight &&
      this.inFlightLimit.inFlight >= this.definition.maxInFlight
    )
      return true;
    return this.scheduler !== undefined && this.scheduler.running >= this.definition.concurrency.maxInFlight;
  }

  async start(): Promise<void> {
    if (this.state !== 'stopped' && this.state !== 'failed') return;
    this.state = 'starting';
    this.startedAt = Date.now();
    this.joinedAt = undefined;
    const consumer = this.client.consumer({
      groupId: this.definition.groupId,
      sessionTimeoutMs: this.definition.sessionTimeoutMs,
    });
    consumer.onGroupJoin((assignment) => this.onAssigned(assignment));
    consumer.onRebalancing(() => void this.flush().catch(() => undefined));
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
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    this.consumer = consumer;
    this.state = 'running';
    this.commitTimer = setInterval(
      () => void this.flush().catch(() => undefined),
      this.definition.commitIntervalMs,
    );
    this.commitTimer.unref();
  }

  private subscription(): (string | RegExp)[] {
    // Patterns were resolved to topic names at startup.
    const { topics, retryTopics } = this.definition;
    return retryTopics ? [...topics, ...topics.map(retryTopicName)] : topics;
  }

  /** Stops fetching, lets in-flight records finish (bounded), commits them, and leaves the group. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || this.state === 'stopping') return;
    this.state = 'stopping';
    clearInterval(this.commitTimer);
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    const deadline = Date.now() + this.settings.shutdownTimeoutMs;
    // Handlers already running finish; records not yet started (queued keys, unacknowledged manual
    // records) stay uncommitted and are redelivered to whoever consumes next.
    while (this.active > 0 && Date.now() < deadline) await sleep(20);
    if (this.active > 0) {
      this.logger.warn(
        `${this.active} handler(s) still running after ${this.settings.shutdownTimeoutMs} ms; their records will be redelivered`,
      );
    }
    await this.flush().catch((error) => this.logger.warn(`final commit failed: ${asError(error).message}`));
    // kafkajs waits for the batch in hand before leaving; bound that wait, with a timer that does not
    // keep the process alive after close.
    const bound = new Promise<void>((resolve) =>
      setTimeout(resolve, this.settings.shutdownTimeoutMs).unref(),
    );
    await Promise.race([consumer.disconnect(), bound]).catch(() => undefined);
    this.consumer = undefined;
    // A later start reads from the committed positions; nothing of this run's tracking carries over.
    for (const key of this.lastTracked.keys()) {
      const [topic, partition] = splitKey(key);
      this.offsets.revoke(topic, partition);
    }
    this.lastTracked.clear();
    this.failures.clear();
    this.assignment = {};
    this.state = 'stopped';
    this.joinedAt = undefined;
  }

  pause(): void {
    if (!this.consumer || this.state !== 'running') return;
    for (const topic of Object.keys(this.assignment)) this.consumer.pause(topic);
    this.state = 'paused';
  }

  resume(): void {
    if (!this.consumer || this.state !== 'paused') return;
    for (const topic of Object.keys(this.assignment)) this.consumer.resume(topic);
    // Partitions waiting out a retry backoff stay paused until their own timer fires.
    for (const key of this.retryTimers.keys()) {
      const [topic, partition] = splitKey(key);
      this.consumer.pause(topic, [partition]);
    }
    this.state = 'running';
  }

  /** Commits every partition's contiguous completed prefix in one request. */
  flush(): Promise<void> {
    return this.enqueueCommit(() => this.offsets.committableOffsets());
  }

  private commitPartition(topic: string, partition: number): Promise<void> {
    return this.enqueueCommit(() =>
      this.offsets.committableOffsets().filter((o) => o.topic === topic && o.partition === partition),
    );
  }

  /** Commits run one after another so a slow older commit can never land after a newer one. */
  private enqueueCommit(select: () => { topic: string; partition: number; offset: string }[]): Promise<void> {
    const run = this.commitChain.then(async () => {
      const consumer = this.consumer;
      const offsets = select();
      if (!consumer || offsets.length === 0) return;
      await consumer.commit(offsets);
      this.counters.commits++;
      this.offsets.markCommitted(offsets);
    });
    this.commitChain = run.catch(() => undefined);
    return run;
  }

  private onAssigned(assignment: Assignment): void {
    const assigned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => tpKey(t, p))));
    for (const key of this.lastTracked.keys()) {
      if (assigned.has(key)) continue;
      // Revoked: its records will be someone else's, with whatever was committed before.
      const [topic, partition] = splitKey(key);
      this.offsets.revoke(topic, partition);
      this.lastTracked.delete(key);
      clearTimeout(this.retryTimers.get(key));
      this.retryTimers.delete(key);
    }
    this.assignment = assignment;
    this.joinedAt = Date.now();
  }

  private async onBatch(batch: RecordBatch, controls: BatchControls): Promise<void> {
    const key = tpKey(batch.topic, batch.partition);
    // The first fetch starts at the group's position, so that is what counts as already committed.
    const tracker = this.offsets.forPartition(
      batch.topic,
      batch.partition,
      BigInt(batch.records[0]?.offset ?? 0),
    );
    if (this.definition.batch) await this.runAsBatch(batch, controls, key, tracker);
    else if (this.scheduler) await this.runKeyOrdered(batch, controls, key, tracker);
    else await this.runInOrder(batch, controls, key, tracker);
    await this.commitPartition(batch.topic, batch.partition).catch((error) =>
      this.logger.warn(
        `commit failed (records will be committed later or redelivered): ${asError(error).message}`,
      ),
    );
  }

  private async runInOrder(
    batch: RecordBatch,
    controls: BatchControls,
    key: string,
    tracker: PartitionOffsetTracker,
  ) {
    // The fetch position moves once per batch, past the last record taken (not one call per record).
    let taken: string | undefined;
    try {
      for (const record of batch.records) {
        if (!this.accepting(controls)) return;
        // Guarded awaits: awaiting an absent limiter would still cost a microtask per record.
        if (this.rateLimit) await this.rateLimit.acquire();
        const release = this.inFlightLimit ? await this.inFlightLimit.acquire() : undefined;
        try {
          this.track(key, tracker, record);
          const outcome = await this.deliver(record, controls, tracker);
          if (outcome.status === 'retry') {
            this.scheduleRetry(record, outcome.delayMs);
            return;
          }
          taken = record.offset;
        } finally {
          release?.();
        }
      }
    } finally {
      if (taken !== undefined) controls.advance(taken);
    }
  }

  private async runKeyOrdered(
    batch: RecordBatch,
    controls: BatchControls,
    key: string,
    tracker: PartitionOffsetTracker,
  ) {
    const scheduler = this.scheduler as KeyOrderedScheduler;
    const tasks: Promise<void>[] = [];
    let taken: string | undefined;
    for (const record of batch.records) {
      if (!this.accepting(controls)) break;
      if (this.rateLimit) await this.rateLimit.acquire();
      this.track(key, tracker, record);
      taken = record.offset;
      const recordKey = record.key?.toString('utf8') ?? null;
      tasks.push(
        scheduler.submit(recordKey, async () => {
          const release = this.inFlightLimit ? await this.inFlightLimit.acquire() : undefined;
          try {
            // Retries wait in line for their key only; other keys of the partition keep flowing.
            while (this.state !== 'stopping') {
              const outcome = await this.deliver(record, controls, tracker);
              if (outcome.status !== 'retry') return;
              await this.sleepWithHeartbeat(outcome.delayMs, controls);
            }
          } finally {
            release?.();
          }
        }),
      );
      // Feed the scheduler without queueing a whole large batch at once.
      while (scheduler.queued > this.definition.concurrency.maxInFlight * 4) await sleep(1);
    }
    if (taken !== undefined) controls.advance(taken);
    await Promise.all(tasks);
  }

  /**
   * Batch listeners get every valid payload of a fetched batch in one call. Records that do not
   * deserialize are disposed of one by one first; a failing call is retried whole (in line, with
   * heartbeats), and when retries run out every record of it is dead-lettered.
   */
  private async runAsBatch(
    batch: RecordBatch,
    controls: BatchControls,
    key: string,
    tracker: PartitionOffsetTracker,
  ) {
    const route = this.definition.routes[0];
    const records = batch.records;
    if (records.length === 0 || !this.accepting(controls)) return;
    const valid: { record: ConsumedRecord; payload: unknown }[] = [];
    this.active++;
    try {
      for (const record of records) {
        this.track(key, tracker, record);
        try {
          valid.push({ record, payload: await toPayload(parseJson(record), route.payload) });
        } catch (error) {
          await this.dispose(record, asError(error), 1, controls, tracker);
        }
      }
      for (let attempt = 1; valid.length > 0; attempt++) {
        const first = valid[0].record;
        const context = this.contextFor(first, attempt, controls);
        try {
          await route.invoke(
            valid.map((v) => v.payload),
            context,
            { acknowledge: () => undefined, nack: () => undefined },
          );
          for (const { record } of valid) tracker.complete(BigInt(record.offset));
          this.tally(batch.topic).processed += valid.length;
          break;
        } catch (thrown) {
          const error = asError(thrown);
          const delayMs =
            classify(error, this.definition.retry.classifier) === 'retry'
              ? nextDelay(this.definition.retry.backoff, attempt)
              : undefined;
          if (delayMs !== undefined) {
            this.tally(batch.topic).retried++;
            await this.sleepWithHeartbeat(delayMs, controls);
            continue;
          }
          for (const { record } of valid) await this.dispose(record, error, attempt, controls, tracker);
          break;
        }
      }
    } catch (error) {
      // A dead letter could not be written: nothing after the first record moves on; try again later.
      this.logger.error(
        `batch at ${batch.topic}/${batch.partition}@${records[0].offset}: ${asError(error).message}`,
      );
      this.scheduleRetry(records[0], this.settings.recoveryDelayMs);
      return;
    } finally {
      this.active--;
    }
    controls.advance(records[records.length - 1].offset);
  }

  private async dispose(
    record: ConsumedRecord,
    error: Error,
    attempt: number,
    controls: BatchControls,
    tracker: PartitionOffsetTracker,
  ): Promise<void> {
    const context = this.contextFor(record, attempt, controls);
    const message: InboundMessage = {
      record,
      listener: this.definition,
      attempt,
      context,
      ack: { acknowledge: () => undefined, nack: () => undefined },
    };
    const outcome = await this.settings.deadLetter(message, error);
    const counters = this.tally(record.topic);
    counters.failed++;
    if (outcome.status === 'dead-lettered') counters.deadLettered++;
    else counters.skipped++;
    tracker.complete(BigInt(record.offset));
  }

  private contextFor(record: ConsumedRecord, attempt: number, controls: BatchControls): KafkaContext {
    return new KafkaContext({
      record,
      groupId: this.definition.groupId,
      listenerId: this.definition.id,
      attempt,
      heartbeat: () => controls.heartbeat(),
    });
  }

  private accepting(controls: BatchControls): boolean {
    return controls.isActive() && (this.state === 'running' || this.state === 'paused');
  }

  private track(key: string, tracker: PartitionOffsetTracker, record: ConsumedRecord): void {
    const offset = BigInt(record.offset);
    const last = this.lastTracked.get(key);
    // A record re-read after a seek back is still tracked (and pending) from its first delivery.
    if (last !== undefined && offset <= last) return;
    tracker.track(offset);
    this.lastTracked.set(key, offset);
  }

  /** One delivery through the pipeline, turned into tracker state. */
  private async deliver(
    record: ConsumedRecord,
    controls: BatchControls,
    tracker: PartitionOffsetTracker,
  ): Promise<Outcome> {
    // Most records never fail: build the failure key only when there are failures to look up.
    const failureKey =
      this.failures.size > 0 ? `${record.topic}:${record.partition}:${record.offset}` : undefined;
    const failure = failureKey ? this.failures.get(failureKey) : undefined;
    const offset = BigInt(record.offset);
    const waiting = this.definition.retryTopics ? retryView(record) : undefined;
    if (waiting && waiting.group !== this.definition.groupId) {
      // Another group's failure: only the group that failed a record handles it again.
      tracker.complete(offset);
      return { status: 'skipped' };
    }
    if (waiting && waiting.dueAt > Date.now()) {
      return { status: 'retry', delayMs: waiting.dueAt - Date.now(), error: new Error('not due yet') };
    }
    const ack = new RecordAcknowledgment(() => this.acknowledged(record, tracker));
    const attempt = waiting?.attempt ?? failure?.attempt ?? 1;
    const firstFailureAt = waiting?.firstFailureAt ?? failure?.firstFailureAt;
    const view = waiting?.record ?? record;
    const context = this.contextFor(view, attempt, controls);

    let outcome: Outcome;
    const observer = this.settings.observer;
    const started = observer ? performance.now() : 0;
    this.active++;
    try {
      outcome = await this.pipeline({
        record: view,
        listener: this.definition,
        attempt,
        firstFailureAt,
        context,
        ack,
      });
    } catch (thrown) {
      // Only reached when a failure could not be disposed of (the dead-letter publish failed): the
      // record stays uncommitted and is tried again later, as a new attempt would be.
      const error = asError(thrown);
      this.logger.error(
        `${record.topic}/${record.partition}@${record.offset}: ${error.message}; retrying in ${this.settings.recoveryDelayMs} ms`,
      );
      return { status: 'retry', delayMs: this.settings.recoveryDelayMs, error };
    } finally {
      this.active--;
      if (observer) {
        let series = this.durationSeries.get(view.topic);
        if (!series) {
          series = observer.durations(view.topic, this.definition.groupId, this.definition.id);
          this.durationSeries.set(view.topic, series);
        }
        series.observe((performance.now() - started) / 1_000);
      }
    }
    if (ack.nackDelayMs !== undefined && outcome.status === 'success') {
      return { status: 'retry', delayMs: ack.nackDelayMs, error: new Error('nack') };
    }

    const counters = this.tally(view.topic);
    switch (outcome.status) {
      case 'success':
        counters.processed++;
        if (this.definition.ackMode === 'auto') tracker.complete(offset);
        break;
      case 'retry':
        counters.retried++;
        this.failures.set(`${record.topic}:${record.partition}:${record.offset}`, {
          attempt: attempt + 1,
          firstFailureAt: failure?.firstFailureAt ?? new Date(),
        });
        return outcome;
      case 'forwarded':
        counters.retried++;
        tracker.complete(offset);
        break;
      case 'dead-lettered':
        counters.failed++;
        counters.deadLettered++;
        tracker.complete(offset);
        break;
      case 'skipped':
        if (outcome.error) counters.failed++;
        counters.skipped++;
        tracker.complete(offset);
        break;
    }
    if (failureKey) this.failures.delete(failureKey);
    return outcome;
  }

  private acknowledged(record: ConsumedRecord, tracker: PartitionOffsetTracker): void {
    if (!tracker.complete(BigInt(record.offset))) return;
    if (this.definition.ackMode === 'manual-immediate') {
      void this.commitPartition(record.topic, record.partition).catch((error) =>
        this.logger.warn(`immediate commit failed: ${asError(error).message}`),
      );
    }
  }

  /** Pause the partition, rewind to the failed record, and resume once the backoff is over. */
  private scheduleRetry(record: ConsumedRecord, delayMs: number): void {
    const consumer = this.consumer;
    if (!consumer) return;
    const key = tpKey(record.topic, record.partition);
    consumer.pause(record.topic, [record.partition]);
    consumer.seek(record.topic, record.partition, record.offset);
    clearTimeout(this.retryTimers.get(key));
    const timer = setTimeout(() => {
      this.retryTimers.delete(key);
      if (this.consumer === consumer && this.state === 'running')
        consumer.resume(record.topic, [record.partition]);
    }, delayMs);
    this.retryTimers.set(key, timer);
  }

  private async sleepWithHeartbeat(ms: number, controls: BatchControls): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && this.state !== 'stopping') {
      await sleep(Math.min(1_000, until - Date.now()));
      await controls.heartbeat().catch(() => undefined);
    }
  }

  private oldestInFlight(): { topic: string; partition: number; offset: string; since: number } | undefined {
    let oldest: { topic: string; partition: number; offset: string; since: number } | undefined;
    for (const [topic, partitions] of Object.entries(this.assignment)) {
      for (const partition of partitions) {
        const pending = this.offsets.forPartition(topic, partition).oldestPending();
        if (pending && (oldest === undefined || pending.since < oldest.since)) {
          oldest = { topic, partition, offset: pending.offset.toString(), since: pending.since };
        }
      }
    }
    return oldest;
  }
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf(':');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/** The handle a manual-ack handler receives; acknowledging twice is harmless. */
class RecordAcknowledgment implements Acknowledgment {
  private done = false;
  nackDelayMs?: number;

  constructor(private readonly onAcknowledge: () => void) {}

  acknowledge(): void {
    if (this.done) return;
    this.done = true;
    this.onAcknowledge();
  }

  nack(delayMs = 0): void {
    if (this.done) return;
    this.nackDelayMs = delayMs;
  }
}
