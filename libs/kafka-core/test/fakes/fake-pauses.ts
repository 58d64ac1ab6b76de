import { Assignment, PausedPartitions } from '@app/kafka-core/client/kafka-client.port';

interface TopicPause {
  all: boolean;
  paused: Set<number>;
  resumed: Set<number>;
}

/**
 * `port`: the adapter's semantics (client/kafkajs/kafkajs-consumer.ts). `kafkajs`: kafkajs' own
 * (src/consumer/subscriptionState.js), as a consumer without the adapter sees them.
 */
export type PauseSemantics = 'port' | 'kafkajs';

/**
 * Paused partitions with the adapter's semantics (client/kafkajs/kafkajs-consumer.ts): a named
 * pause or resume changes only the partitions named; a whole-topic pause holds partitions assigned
 * later and survives named pauses. With `kafkajs` semantics a named pause turns a whole-topic pause
 * into a partition list, silently resuming the topic's other partitions, as kafkajs 2.2.4 does.
 */
export class FakePauses {
  private readonly topics = new Map<string, TopicPause>();

  constructor(private readonly semantics: PauseSemantics = 'port') {}

  pause(topic: string, partitions?: number[]): void {
    const state = this.topic(topic);
    if (!partitions) {
      Object.assign(state, { all: true, paused: new Set(), resumed: new Set() });
      return;
    }
    for (const p of partitions) {
      state.paused.add(p);
      state.resumed.delete(p);
    }
    if (this.semantics === 'kafkajs') state.all = false;
  }

  resume(topic: string, partitions?: number[]): void {
    const state = this.topic(topic);
    if (!partitions) {
      Object.assign(state, { all: false, paused: new Set(), resumed: new Set() });
      return;
    }
    for (const p of partitions) {
      state.paused.delete(p);
      if (state.all) state.resumed.add(p);
    }
  }

  isPaused(topic: string, partition: number): boolean {
    const state = this.topics.get(topic);
    if (!state) return false;
    return (state.all && !state.resumed.has(partition)) || state.paused.has(partition);
  }

  /** The assigned partitions paused, as kafkajs' consumer.paused() reports them (ascending here). */
  paused(assignment: Assignment): PausedPartitions[] {
    return Object.keys(assignment)
      .sort()
      .map((topic) => ({
        topic,
        partitions: assignment[topic].filter((p) => this.isPaused(topic, p)).sort((a, b) => a - b),
      }))
      .filter((t) => t.partitions.length > 0);
  }

  private topic(topic: string): TopicPause {
    let state = this.topics.get(topic);
    if (!state) {
      state = { all: false, paused: new Set(), resumed: new Set() };
      this.topics.set(topic, state);
    }
    return state;
  }
}
