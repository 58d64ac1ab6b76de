interface Job {
  key: string | null;
  task: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** A FIFO queue with O(1) push and shift; Array#shift copies the whole array. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** A task's answer meaning "run me again after `delayMs`, my key waiting with me". */
export class RunAgain {
  constructor(readonly delayMs: number) {}
}

/**
 * Key-ordered parallelism inside a partition, after Confluent's parallel-consumer KEY ordering:
 * records with different keys run concurrently, records of one key strictly in submission order,
 * and at most `maxInFlight` tasks run at once. Null keys carry no ordering, so each may run in
 * parallel with anything. Slots go to tasks in the order they became eligible to run.
 */
export class KeyOrderedScheduler {
  /** Tasks free to start, in the order they became eligible. */
  private readonly ready = new Fifo<Job>();
  /** Keys with a task running or ready, mapped to their later tasks. */
  private readonly blockedByKey = new Map<string, Fifo<Job>>();
  private runningCount = 0;
  private queuedCount = 0;
  private idleWaiters: (() => void)[] = [];
  /** Tasks waiting out a RunAgain delay: they hold their key, not a slot. */
  private readonly delayed = new Map<NodeJS.Timeout, Job>();

  constructor(private readonly maxInFlight: number) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be an integer >= 1 (got ${maxInFlight})`);
    }
  }

  /**
   * Queues `task` behind earlier tasks with the same key. Resolves or rejects with the task's own
   * result once it ran; a failure does not hold back the key's later tasks. A task resolving to a
   * RunAgain is run again after its delay; meanwhile its key's later tasks wait and its slot is free.
   */
  submit<T>(key: string | null, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job = { key, task, resolve: resolve as (value: unknown) => void, reject };
      this.queuedCount++;
      const blocked = key === null ? undefined : this.blockedByKey.get(key);
      if (blocked) {
        blocked.push(job);
      } else {
        if (key !== null) this.blockedByKey.set(key, new Fifo<Job>());
        this.ready.push(job);
      }
      this.pump();
    });
  }

  get running(): number {
    return this.runningCount;
  }

  /** Tasks submitted and not yet started. */
  get queued(): number {
    return this.queuedCount;
  }

  /** Tasks waiting out a RunAgain delay. */
  get waiting(): number {
    return this.delayed.size;
  }

  /** Drops every task not running (queued or waiting), resolving them with undefined: a stop. */
  clear(): void {
    const dropped: Job[] = [...this.delayed.values()];
    for (const timer of this.delayed.keys()) clearTimeout(timer);
    this.delayed.clear();
    for (let job = this.ready.shift(); job; job = this.ready.shift()) dropped.push(job);
    for (const blocked of this.blockedByKey.values()) {
      for (let job = blocked.shift(); job; job = blocked.shift()) dropped.push(job);
    }
    this.blockedByKey.clear();
    this.queuedCount = 0;
    for (const job of dropped) job.resolve(undefined);
    this.settleIdle();
  }

  /** Resolves when nothing is running, queued or waiting. */
  idle(): Promise<void> {
    if (this.runningCount === 0 && this.queuedCount === 0 && this.delayed.size === 0)
      return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.runningCount < this.maxInFlight) {
      const job = this.ready.shift();
      if (!job) return;
      this.start(job);
    }
  }

  private start(job: Job): void {
    this.queuedCount--;
    this.runningCount++;
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(job.task());
    } catch (error) {
      // A task that throws before returning its promise fails like one that rejects.
      result = Promise.reject(error);
    }
    result.then(
      (value) => {
        if (value instanceof RunAgain) return this.runAgain(job, value.delayMs);
        this.finish(job);
        job.resolve(value);
      },
      (error: unknown) => {
        this.finish(job);
        job.reject(error);
      },
    );
  }

  private runAgain(job: Job, delayMs: number): void {
    this.runningCount--;
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      this.queuedCount++;
      // Its key is still blocked by this very job, so nothing of the key ran meanwhile.
      this.ready.push(job);
      this.pump();
    }, delayMs);
    this.delayed.set(timer, job);
    this.pump();
  }

  private finish(job: Job): void {
    this.runningCount--;
    if (job.key !== null) {
      const blocked = this.blockedByKey.get(job.key);
      const next = blocked?.shift();
      if (next) this.ready.push(next);
      else this.blockedByKey.delete(job.key);
    }
    this.pump();
    this.settleIdle();
  }

  private settleIdle(): void {
    if (
      this.runningCount === 0 &&
      this.queuedCount === 0 &&
      this.delayed.size === 0 &&
      this.idleWaiters.length > 0
    ) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
