import { Assignment, KafkaConsumerPort } from '../client/kafka-client.port';
import { tpKey } from './commit-coordinator';

/** Why fetching stops: an operator, the circuit breaker, the in-flight bound, a record's backoff. */
export type PauseReason = 'operator' | 'breaker' | 'backpressure' | 'retry';

/**
 * Every reason to stop fetching, per partition and listener-wide, in one place. A partition fetches
 * only while no reason holds it; a listener-wide reason holds partitions assigned later too. The
 * consumer is always told explicit partition lists: kafkajs turns a whole-topic pause into a
 * partition list when some partitions are paused later, resuming the rest
 * (kafkajs src/consumer/subscriptionState.js, pause()).
 */
export class PartitionPauses {
  private readonly listenerWide = new Set<PauseReason>();
  private readonly byPartition = new Map<string, Set<PauseReason>>();
  private assignment: Assignment = {};

  constructor(private readonly consumer: () => KafkaConsumerPort | undefined) {}

  hold(reason: PauseReason, topic?: string, partition?: number): void {
    if (topic === undefined || partition === undefined) this.listenerWide.add(reason);
    else {
      const key = tpKey(topic, partition);
      const reasons = this.byPartition.get(key) ?? new Set<PauseReason>();
      reasons.add(reason);
      this.byPartition.set(key, reasons);
    }
    this.apply();
  }

  release(reason: PauseReason, topic?: string, partition?: number): void {
    if (topic === undefined || partition === undefined) this.listenerWide.delete(reason);
    else {
      const key = tpKey(topic, partition);
      this.byPartition.get(key)?.delete(reason);
      if (this.byPartition.get(key)?.size === 0) this.byPartition.delete(key);
    }
    this.apply();
  }

  holds(reason: PauseReason): boolean {
    return this.listenerWide.has(reason);
  }

  /** Asked for every record: no key is built while no partition has a reason of its own. */
  isPaused(topic: string, partition: number): boolean {
    if (this.listenerWide.size > 0) return true;
    return this.byPartition.size > 0 && (this.byPartition.get(tpKey(topic, partition))?.size ?? 0) > 0;
  }

  /** A new assignment: per-partition reasons of partitions no longer held are dropped. */
  assign(assignment: Assignment): void {
    this.assignment = assignment;
    const assigned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => tpKey(t, p))));
    for (const key of this.byPartition.keys()) if (!assigned.has(key)) this.byPartition.delete(key);
    this.apply();
  }

  clear(): void {
    this.listenerWide.clear();
    this.byPartition.clear();
    this.assignment = {};
  }

  /** Tells the consumer the whole picture; cheap, and only called when something changed. */
  private apply(): void {
    const consumer = this.consumer();
    if (!consumer) return;
    for (const [topic, partitions] of Object.entries(this.assignment)) {
      const paused = partitions.filter((p) => this.isPaused(topic, p));
      const fetching = partitions.filter((p) => !this.isPaused(topic, p));
      if (paused.length > 0) consumer.pause(topic, paused);
      if (fetching.length > 0) consumer.resume(topic, fetching);
    }
  }
}
