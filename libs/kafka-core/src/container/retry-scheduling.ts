import { ConsumedRecord, KafkaConsumerPort } from '../client/kafka-client.port';
import { CircuitBreaker } from './circuit-breaker';
import { tpKey } from './commit-coordinator';
import { PartitionPauses } from './partition-pauses';

/**
 * Waiting without sleeping: a record to be tried later pauses its partition, which is rewound to
 * it and resumed by a timer; an open circuit breaker pauses the listener until its cool-down ends.
 * The group heartbeats and rebalances meanwhile as if nothing waited.
 */
export class RetryScheduling {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private breakerTimer?: NodeJS.Timeout;

  constructor(
    private readonly pauses: PartitionPauses,
    private readonly consumer: () => KafkaConsumerPort | undefined,
  ) {}

  /** Pause the partition, read again from `record`, resume once the delay is over. */
  later(record: ConsumedRecord, delayMs: number): void {
    const consumer = this.consumer();
    if (!consumer) return;
    const { topic, partition } = record;
    const key = tpKey(topic, partition);
    this.pauses.hold('retry', topic, partition);
    consumer.seek(topic, partition, record.offset);
    clearTimeout(this.timers.get(key));
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.pauses.release('retry', topic, partition);
    }, delayMs);
    this.timers.set(key, timer);
  }

  /** Partitions waiting on a timer, as keys. */
  keys(): string[] {
    return [...this.timers.keys()];
  }

  /** The partition was revoked: its pause went with it. */
  forget(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  /** Open: nothing fetched until the cool-down ends; then fetching resumes and one record probes. */
  syncBreaker(breaker: CircuitBreaker): void {
    const open = breaker.state === 'open';
    if (open === this.pauses.holds('breaker')) return;
    clearTimeout(this.breakerTimer);
    if (!open) return this.pauses.release('breaker');
    this.pauses.hold('breaker');
    this.breakerTimer = setTimeout(() => this.pauses.release('breaker'), breaker.remainingOpenMs());
  }

  clear(): void {
    clearTimeout(this.breakerTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
