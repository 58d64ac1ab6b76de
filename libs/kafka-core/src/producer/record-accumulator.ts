import { KafkaProducerPort, OutgoingRecord, ProduceError, RecordMetadata } from '../client/kafka-client.port';
import type { PublisherObserver } from '../metrics/metrics-hooks';

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
  /** Rejects the caller once its time is up, whether it is still queued or in flight. */
  deadline: NodeJS.Timeout;
  settled: boolean;
}

/**
 * Micro-batching of concurrent sends (the producer linger kafkajs lacks). One request is in flight at
 * a time, as the idempotent producer wants; whatever arrives meanwhile leaves together in the next one,
 * in arrival order, so per-partition order is the order of the calls.
 *
 * A caller whose time runs out is rejected, but its request stays "in flight" until the client gives
 * up on it: starting another one meanwhile could write records out of order. A request that fails is
 * reported through `onFailure` (the publisher replaces its producer then, see KafkaPublisher).
 */
export class RecordAccumulator {
  private queue: Pending[] = [];
  private queuedRecords = 0;
  private inFlight?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private immediate?: NodeJS.Immediate;
  /** Produce requests made and records they carried, for tests and metrics. */
  readonly stats = { requests: 0, records: 0 };

  constructor(
    private readonly producer: () => Promise<KafkaProducerPort>,
    private readonly options: AccumulatorOptions,
    private readonly onFailure: (error: Error) => void = () => undefined,
    private readonly observe?: () => PublisherObserver | undefined,
  ) {}

  /**
   * Queues records for the next request. A batch (more than one record) is already worth a request
   * of its own, so it does not linger; `now` skips the linger for any append.
   */
  append(topic: string, records: OutgoingRecord[], now = records.length > 1): Promise<RecordMetadata[]> {
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        topic,
        records,
        resolve,
        reject,
        settled: false,
        deadline: setTimeout(() => this.expire(pending), this.options.requestTimeoutMs),
      };
      this.queue.push(pending);
      this.queuedRecords += records.length;
      this.schedule(now);
    });
  }

  private expire(pending: Pending): void {
    if (pending.settled) return;
    pending.settled = true;
    const index = this.queue.indexOf(pending);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.queuedRecords -= pending.records.length;
    }
    pending.reject(new PublishTimeoutError(this.options.requestTimeoutMs, pending.records.length));
  }

  private schedule(now = false): void {
    if (this.inFlight || this.immediate || this.queue.length === 0) return;
    // A full batch leaves at once, even when a linger is already counting down.
    if (now || this.queuedRecords >= this.options.maxBatchRecords || this.options.lingerMs <= 0) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.flush();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
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

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const taken = this.take();
    this.inFlight = this.send(taken).finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
  }

  private async send(taken: Pending[]): Promise<void> {
    const settle = (p: Pending) => {
      clearTimeout(p.deadline);
      if (p.settled) return false;
      p.settled = true;
      return true;
    };
    // Records of one topic travel as one list; each caller's slice is cut back out afterwards.
    const byTopic = new Map<string, OutgoingRecord[]>();
    const slices = taken.map((p) => {
      const list = byTopic.get(p.topic) ?? [];
      byTopic.set(p.topic, list);
      const start = list.length;
      list.push(...p.records);
      return start;
    });
    const topics = [...byTopic.keys()];
    try {
      const batches = [...byTopic].map(([topic, records]) => ({ topic, records }));
      this.stats.requests++;
      this.stats.records += batches.reduce((sum, b) => sum + b.records.length, 0);
      const observer = this.observe?.();
      const started = performance.now();
      const counts = observer ? batches.map((b) => ({ topic: b.topic, records: b.records.length })) : [];
      let written: RecordMetadata[][];
      try {
        written = await (await this.producer()).send(batches);
      } catch (error) {
        observer?.request(counts, (performance.now() - started) / 1_000, true);
        throw error;
      }
      observer?.request(counts, (performance.now() - started) / 1_000, false);
      const byTopicResult = new Map(batches.map((b, i) => [b.topic, written[i]]));
      taken.forEach((p, i) => {
        const metadata = byTopicResult.get(p.topic) as RecordMetadata[];
        if (settle(p)) p.resolve(metadata.slice(slices[i], slices[i] + p.records.length));
      });
    } catch (error) {
      this.onFailure(error as Error);
      taken.forEach((p, i) => {
        if (settle(p)) p.reject(ownSlice(error as Error, topics.indexOf(p.topic), p, slices[i]));
      });
    }
  }

  /** Sends what is queued now and waits for it, `timeoutMs` at most (shutdown). */
  async drain(timeoutMs = this.options.requestTimeoutMs): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.inFlight) && Date.now() < until) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.flush();
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

/** A refusal that says which records were written anyway, cut to one caller's records. */
function ownSlice(error: Error, topicIndex: number, p: Pending, start: number): Error {
  if (!(error instanceof ProduceError) || !error.written) return error;
  return new ProduceError(error.message, error.retriable, {
    cause: error.cause,
    written: [error.written[topicIndex]?.slice(start, start + p.records.length) ?? []],
  });
}
