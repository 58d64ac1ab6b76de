import { KafkaProducerPort, OutgoingRecord, RecordMetadata } from '../client/kafka-client.port';

export interface AccumulatorOptions {
  /**
   * How long a send waits for company when no request is in flight, in ms. 0 still gathers what is
   * sent in the same event-loop turn. Records sent while a request is in flight always wait for it.
   */
  lingerMs: number;
  /** Records merged into one request at most (a single `sendBatch` is never split). */
  maxBatchRecords: number;
  /** A request not acknowledged within this time fails its records. */
  requestTimeoutMs: number;
}

export class PublishTimeoutError extends Error {
  constructor(timeoutMs: number, records: number) {
    super(
      `${records} record(s) not acknowledged within ${timeoutMs} ms; they may still be written (at-least-once)`,
    );
    this.name = 'PublishTimeoutError';
  }
}

interface Pending {
  topic: string;
  records: OutgoingRecord[];
  resolve: (metadata: RecordMetadata[]) => void;
  reject: (error: Error) => void;
}

/**
 * Micro-batching of concurrent sends (the producer linger kafkajs lacks). One request is in flight at
 * a time, as the idempotent producer wants; whatever arrives meanwhile leaves together in the next one,
 * in arrival order, so per-partition order is the order of the calls.
 */
export class RecordAccumulator {
  private queue: Pending[] = [];
  private queuedRecords = 0;
  private inFlight = false;
  private timer?: NodeJS.Timeout;
  private immediate?: NodeJS.Immediate;
  /** Produce requests made and records they carried, for tests and metrics. */
  readonly stats = { requests: 0, records: 0 };

  constructor(
    private readonly producer: () => Promise<KafkaProducerPort>,
    private readonly options: AccumulatorOptions,
  ) {}

  append(topic: string, records: OutgoingRecord[]): Promise<RecordMetadata[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, records, resolve, reject });
      this.queuedRecords += records.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight || this.immediate) return;
    // A full batch leaves at once, even when a linger is already counting down.
    if (this.queuedRecords >= this.options.maxBatchRecords || this.options.lingerMs <= 0) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        void this.flush();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.options.lingerMs);
    }
  }

  private take(): Pending[] {
    let count = 0;
    let n = 0;
    while (
      n < this.queue.length &&
      (n === 0 || count + this.queue[n].records.length <= this.options.maxBatchRecords)
    ) {
      count += this.queue[n].records.length;
      n++;
    }
    const taken = this.queue.splice(0, n);
    this.queuedRecords -= count;
    return taken;
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const taken = this.take();
    try {
      // Records of one topic travel as one list; each caller's slice is cut back out afterwards.
      const byTopic = new Map<string, OutgoingRecord[]>();
      const slices = taken.map((p) => {
        const list = byTopic.get(p.topic) ?? [];
        byTopic.set(p.topic, list);
        const start = list.length;
        list.push(...p.records);
        return start;
      });
      const batches = [...byTopic].map(([topic, records]) => ({ topic, records }));
      const records = batches.reduce((sum, b) => sum + b.records.length, 0);
      this.stats.requests++;
      this.stats.records += records;
      // Connecting counts against the timeout too: a send is bounded as a whole.
      const written = await this.withTimeout(
        this.producer().then((producer) => producer.send(batches)),
        records,
      );
      const byTopicResult = new Map(batches.map((b, i) => [b.topic, written[i]]));
      taken.forEach((p, i) => {
        const metadata = byTopicResult.get(p.topic) as RecordMetadata[];
        p.resolve(metadata.slice(slices[i], slices[i] + p.records.length));
      });
    } catch (error) {
      for (const p of taken) p.reject(error as Error);
    } finally {
      this.inFlight = false;
      if (this.queue.length > 0) this.schedule();
    }
  }

  private withTimeout<T>(work: Promise<T>, records: number): Promise<T> {
    const timeoutMs = this.options.requestTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishTimeoutError(timeoutMs, records)), timeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  /** Sends what is queued now and waits for it (shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
        void this.flush();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
