import {
  Assignment,
  BatchControls,
  KafkaConsumerPort,
  PausedPartitions,
  RecordBatch,
  RunOptions,
  TopicPartitionOffset,
} from '@app/kafka-core/client/kafka-client.port';
import { FakeConsumerGroup } from './fake-consumer-group';
import { FakeKafkaError, FakeLog } from './fake-log';
import { FakePauses, PauseSemantics } from './fake-pauses';

type OnBatch = (batch: RecordBatch, controls: BatchControls) => Promise<void>;

export interface FakeCommit {
  groupId: string;
  memberId: string;
  offsets: TopicPartitionOffset[];
  /** `dropped`: kafkajs ignores commits while its runner stops; `refused`: not a member any more. */
  outcome: 'committed' | 'dropped' | 'refused';
}

export interface FakeConsumerSettings {
  memberId: string;
  group: FakeConsumerGroup;
  log: FakeLog;
  sessionTimeoutMs: number;
  maxWaitTimeMs: number;
  maxBatchSize: number;
  restartDelayMs: number;
  /** Whose pause semantics the member has: the adapter's (default) or kafkajs' own. */
  pauseSemantics?: PauseSemantics;
  commits: FakeCommit[];
  /** Errors thrown out of onBatch, which crash the member. */
  batchErrors: Error[];
}

/** What kafkajs keeps per run (its ConsumerGroup): pauses and pending seeks die with a crash. */
interface RunState {
  onBatch: OnBatch;
  options: RunOptions;
  pauses: FakePauses;
  seeks: Map<string, number>;
}

const tp = (topic: string, partition: number) => `${topic}:${partition}`;
const notInitialized = () =>
  new Error('Consumer group was not initialized, consumer#run must be called first');

/**
 * One member of a fake group with kafkajs' observable behaviour: a fetch loop handing out batches
 * of the assigned, non-paused partitions and fetching again only once every batch of the fetch has
 * settled; fetch positions that move only by `advance` or `seek` and restart from the committed
 * offsets after every rebalance (kafkajs builds a new OffsetManager on each sync).
 */
export class FakeConsumer implements KafkaConsumerPort {
  topics: string[] = [];
  assignment: Assignment = {};
  generation = 0;
  /** Batches handed to `onBatch` and not yet settled. */
  readonly inFlightBatches = new Set<RecordBatch>();
  /** Calls of disconnect(): a crashed member still holds its connections until one. */
  disconnectCalls = 0;
  private fromBeginning = false;
  private run$?: RunState;
  private running = false;
  private wasEvicted = false;
  private readonly positions = new Map<string, number>();
  private fetching?: Promise<unknown>;
  private loop?: Promise<void>;
  private wake?: () => void;
  private restartTimer?: NodeJS.Timeout;
  private disconnecting?: Promise<void>;
  private stopping?: Promise<RunState | undefined>;
  private readonly joinListeners: ((assignment: Assignment) => void)[] = [];
  private readonly rebalancingListeners: (() => void)[] = [];
  private readonly crashListeners: ((error: Error, restart: boolean) => void)[] = [];

  constructor(private readonly s: FakeConsumerSettings) {
    s.log.onChange(() => this.wakeUp());
  }

  get memberId(): string {
    return this.s.memberId;
  }

  get sessionTimeoutMs(): number {
    return this.s.sessionTimeoutMs;
  }

  /** Running and a member of its group (not stopped, crashed or evicted). */
  get isMember(): boolean {
    return this.running && this.s.group.members.includes(this);
  }

  async connect(): Promise<void> {
    this.disconnecting = undefined;
  }

  async subscribe(topics: (string | RegExp)[], fromBeginning: boolean): Promise<void> {
    const names = topics.flatMap((t) =>
      typeof t === 'string' ? [t] : this.s.log.topicNames().filter((name) => t.test(name)),
    );
    const unknown = names.filter((name) => !this.s.log.has(name));
    if (unknown.length > 0)
      throw new FakeKafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Unknown topics: ${unknown.join(', ')}`);
    this.topics = [...new Set([...this.topics, ...names])];
    this.fromBeginning = fromBeginning;
  }

  /** Resolves once the member joined its group, as kafkajs' run() does. */
  async run(onBatch: OnBatch, options: RunOptions): Promise<void> {
    if (this.run$) return;
    this.run$ = {
      onBatch,
      options,
      pauses: new FakePauses(this.s.pauseSemantics),
      seeks: new Map(),
    };
    this.running = true;
    await this.s.group.join(this);
    this.loop = this.fetchLoop();
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (!this.run$) throw notInitialized();
    const base = { groupId: this.s.group.groupId, memberId: this.memberId, offsets };
    // kafkajs' runner ignores commits once it stops (runner.js, commitOffsets).
    if (!this.running) {
      this.s.commits.push({ ...base, outcome: 'dropped' });
      return;
    }
    try {
      this.s.group.commit(this, offsets);
      this.s.commits.push({ ...base, outcome: 'committed' });
    } catch (error) {
      this.s.commits.push({ ...base, outcome: 'refused' });
      throw error;
    }
  }

  pause(topic: string, partitions?: number[]): void {
    this.runState().pauses.pause(topic, partitions);
  }

  resume(topic: string, partitions?: number[]): void {
    this.runState().pauses.resume(topic, partitions);
    this.wakeUp();
  }

  paused(): PausedPartitions[] {
    return this.run$?.pauses.paused(this.assignment) ?? [];
  }

  /** Applied at the next fetch, as kafkajs does; a batch of that partition in hand turns inactive. */
  seek(topic: string, partition: number, offset: string): void {
    this.runState().seeks.set(tp(topic, partition), Number(offset));
    this.wakeUp();
  }

  onGroupJoin(listener: (assignment: Assignment) => void): void {
    this.joinListeners.push(listener);
  }

  onRebalancing(listener: () => void): void {
    this.rebalancingListeners.push(listener);
  }

  onCrash(listener: (error: Error, restart: boolean) => void): void {
    this.crashListeners.push(listener);
  }

  /** Waits for the batches in hand (as kafkajs' stop does), then leaves the group. */
  disconnect(): Promise<void> {
    this.disconnectCalls++;
    clearTimeout(this.restartTimer);
    this.disconnecting ??= this.stopRun().then(() => undefined);
    return this.disconnecting;
  }

  /**
   * The client gives up, as kafkajs' onCrash: stops the run (after the batches in hand), leaves the
   * group, forgets pauses and seeks, then tells the crash listeners; restarts after a delay when
   * asked to.
   */
  async crash(error: Error, restart = false): Promise<void> {
    const run = await this.stopRun();
    if (!run) return;
    for (const listener of this.crashListeners) listener(error, restart);
    if (restart && !this.disconnecting) {
      this.restartTimer = setTimeout(() => void this.run(run.onBatch, run.options), this.s.restartDelayMs);
    }
  }

  /** Resolves when no batch is in hand. */
  async idle(): Promise<void> {
    while (this.fetching) await this.fetching;
  }

  /** Fetchable now: records at or after the position of an assigned, non-paused partition. */
  hasWork(): boolean {
    if (!this.running) return false;
    if (this.fetching) return true;
    return this.fetchablePartitions().some(
      ([topic, partition]) => this.position(topic, partition) < this.s.log.endOffset(topic, partition),
    );
  }

  // ---- called by the group ----

  rebalanceStarted(): void {
    this.wakeUp();
    if (this.generation === 0) return;
    for (const listener of this.rebalancingListeners) listener();
  }

  assigned(assignment: Assignment, generation: number): void {
    this.assignment = assignment;
    this.generation = generation;
    this.positions.clear();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const p of partitions) {
        const committed = this.s.group.committed(topic, p);
        const start = this.fromBeginning ? 0 : this.s.log.endOffset(topic, p);
        this.positions.set(tp(topic, p), committed !== undefined ? Number(committed) : start);
      }
    }
    for (const listener of this.joinListeners) listener(structuredClone(assignment));
    this.wakeUp();
  }

  /** Out of the group; it joins again as a new member (no rebalance notice) once its batch settles. */
  evicted(): void {
    this.wasEvicted = true;
    this.assignment = {};
    this.generation = 0;
  }

  // ---- internals ----

  /** Shared by a crash and a disconnect arriving together. */
  private stopRun(): Promise<RunState | undefined> {
    this.stopping ??= this.stopRunOnce().finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  private async stopRunOnce(): Promise<RunState | undefined> {
    const run = this.run$;
    if (!run) return undefined;
    this.running = false;
    this.wakeUp();
    await this.idle();
    await this.loop;
    this.run$ = undefined;
    this.s.group.leave(this);
    this.assignment = {};
    this.generation = 0;
    return run;
  }

  private async fetchLoop(): Promise<void> {
    while (this.running) {
      if (this.wasEvicted) {
        // kafkajs meets UNKNOWN_MEMBER_ID at its next heartbeat and joins again.
        this.wasEvicted = false;
        await this.s.group.join(this);
        continue;
      }
      if (this.s.group.rebalancing) {
        await this.s.group.waitForRebalance();
        continue;
      }
      const batches = this.fetch();
      if (batches.length === 0) {
        await this.sleepUntilWoken();
        continue;
      }
      // Set before any batch starts, so a rebalance asked for from inside onBatch waits for it.
      const fetching = Promise.resolve().then(() => this.dispatch(batches));
      this.fetching = fetching;
      const failure = await fetching;
      this.fetching = undefined;
      if (failure) {
        this.s.batchErrors.push(failure);
        // kafkajs retries the fetch a few times first; the fake gives up at once.
        void this.crash(failure, (failure as { retriable?: boolean }).retriable !== false);
        return;
      }
    }
  }

  private fetch(): RecordBatch[] {
    const batches: RecordBatch[] = [];
    for (const [topic, partitions] of Object.entries(this.assignment)) {
      for (const partition of partitions) {
        const key = tp(topic, partition);
        const seek = this.run$?.seeks.get(key);
        if (seek !== undefined) {
          this.positions.set(key, seek);
          this.run$?.seeks.delete(key);
        }
        if (this.isPaused(topic, partition)) continue;
        const records = this.s.log.read(
          topic,
          partition,
          this.position(topic, partition),
          this.s.maxBatchSize,
        );
        if (records.length > 0) batches.push({ topic, partition, records });
      }
    }
    return batches;
  }

  /** Hands the batches to `partitionsConcurrently` workers; resolves with the first failure. */
  private async dispatch(batches: RecordBatch[]): Promise<Error | undefined> {
    const run = this.run$;
    if (!run) return undefined;
    const queue = [...batches];
    let failure: Error | undefined;
    const worker = async () => {
      for (let batch = queue.shift(); batch; batch = queue.shift()) {
        if (!this.running) return;
        this.inFlightBatches.add(batch);
        try {
          await run.onBatch(batch, this.controls(batch));
        } catch (error) {
          failure ??= error as Error;
        } finally {
          this.inFlightBatches.delete(batch);
        }
      }
    };
    const workers = Math.max(1, Math.min(run.options.partitionsConcurrently, batches.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return failure;
  }

  private controls({ topic, partition }: RecordBatch): BatchControls {
    const generation = this.generation;
    const key = tp(topic, partition);
    const current = () => this.running && this.generation === generation;
    return {
      heartbeat: async () => {
        if (this.wasEvicted)
          throw new FakeKafkaError('UNKNOWN_MEMBER_ID', 'The coordinator is not aware of this member');
        if (this.s.group.rebalancing && this.s.group.members.includes(this))
          throw new FakeKafkaError(
            'REBALANCE_IN_PROGRESS',
            'The group is rebalancing, so a rejoin is needed',
          );
      },
      // kafkajs: isRunning() && !isStale(), stale meaning a seek of this partition is pending.
      isActive: () =>
        current() &&
        !(this.run$?.seeks.has(key) ?? false) &&
        (this.assignment[topic] ?? []).includes(partition),
      advance: (offset) => {
        if (current()) this.positions.set(key, Number(offset) + 1);
      },
    };
  }

  private isPaused(topic: string, partition: number): boolean {
    return this.run$?.pauses.isPaused(topic, partition) ?? false;
  }

  /** kafkajs refuses pause, resume and seek outside a run (no consumer group yet, or after a crash). */
  private runState(): RunState {
    if (!this.run$) throw notInitialized();
    return this.run$;
  }

  private fetchablePartitions(): [string, number][] {
    return Object.entries(this.assignment).flatMap(([topic, partitions]) =>
      partitions.filter((p) => !this.isPaused(topic, p)).map((p): [string, number] => [topic, p]),
    );
  }

  private position(topic: string, partition: number): number {
    const key = tp(topic, partition);
    return this.run$?.seeks.get(key) ?? this.positions.get(key) ?? 0;
  }

  /** Like a broker's long poll: new records, a resume, a seek or a rebalance end the wait. */
  private sleepUntilWoken(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), this.s.maxWaitTimeMs);
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }

  private wakeUp(): void {
    this.wake?.();
  }
}
