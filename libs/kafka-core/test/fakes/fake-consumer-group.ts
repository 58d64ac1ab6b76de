import { Assignment, TopicPartitionOffset } from '@app/kafka-core/client/kafka-client.port';
import { FakeKafkaError, FakeLog } from './fake-log';
import type { FakeConsumer } from './fake-consumer';

export interface GroupEvent {
  type: 'joined' | 'left' | 'evicted' | 'rebalance-started' | 'rebalance-completed';
  /** Empty for rebalance events. */
  memberId: string;
  /** The generation the event belongs to (completed: the new one). */
  generation: number;
  at: number;
}

/**
 * A consumer group as the broker's coordinator sees it: members, generations, committed offsets.
 * A rebalance asks every member to finish the batches in hand (kafkajs rejoins only after its
 * fetch settled), evicts a member that takes longer than the rebalance timeout, then hands out the
 * partitions round robin over the members sorted by id, as kafkajs' RoundRobinAssigner does.
 */
export class FakeConsumerGroup {
  readonly members: FakeConsumer[] = [];
  readonly events: GroupEvent[] = [];
  generation = 0;
  private readonly offsets = new Map<string, string>();
  private pending?: Promise<void>;
  private preparing = false;

  constructor(
    readonly groupId: string,
    private readonly log: FakeLog,
    private readonly rebalanceTimeoutMs: number | undefined,
  ) {}

  /** True from the moment a rebalance is asked for until the new assignment is handed out. */
  get rebalancing(): boolean {
    return this.preparing;
  }

  waitForRebalance(): Promise<void> {
    return this.pending ?? Promise.resolve();
  }

  committed(topic: string, partition: number): string | undefined {
    return this.offsets.get(`${topic}:${partition}`);
  }

  /** Kafka accepts a commit from any current member, whatever it is assigned; not from others. */
  commit(member: FakeConsumer, offsets: TopicPartitionOffset[]): void {
    if (!this.members.includes(member)) {
      throw new FakeKafkaError(
        'UNKNOWN_MEMBER_ID',
        `The coordinator is not aware of member ${member.memberId}`,
      );
    }
    for (const o of offsets) this.offsets.set(`${o.topic}:${o.partition}`, o.offset);
  }

  join(member: FakeConsumer): Promise<void> {
    if (!this.members.includes(member)) {
      this.members.push(member);
      this.record('joined', member.memberId);
    }
    return this.rebalance();
  }

  /** A member leaving (disconnect, crash) makes the others rebalance; nobody waits for that here. */
  leave(member: FakeConsumer, type: 'left' | 'evicted' = 'left'): void {
    const index = this.members.indexOf(member);
    if (index < 0) return;
    this.members.splice(index, 1);
    this.record(type, member.memberId);
    if (this.members.length > 0) void this.rebalance();
  }

  rebalance(): Promise<void> {
    if (!this.pending) {
      this.preparing = true;
      this.pending = this.run();
    }
    return this.pending;
  }

  private async run(): Promise<void> {
    // Let joins and leaves of the same moment fold into this rebalance.
    await null;
    this.record('rebalance-started', '');
    const waiting = [...this.members];
    for (const member of waiting) member.rebalanceStarted();
    await Promise.all(waiting.map((member) => this.settleOrEvict(member)));
    const assignments = this.assign();
    this.generation += 1;
    this.preparing = false;
    this.pending = undefined;
    this.record('rebalance-completed', '');
    for (const member of this.sorted()) member.assigned(assignments.get(member) ?? {}, this.generation);
  }

  private sorted(): FakeConsumer[] {
    return [...this.members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
  }

  private async settleOrEvict(member: FakeConsumer): Promise<void> {
    const timeoutMs = this.rebalanceTimeoutMs ?? member.sessionTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      member.idle().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!settled && this.members.includes(member)) {
      this.members.splice(this.members.indexOf(member), 1);
      this.record('evicted', member.memberId);
      member.evicted();
    }
  }

  private assign(): Map<FakeConsumer, Assignment> {
    const sorted = this.sorted();
    const topics = [...new Set(sorted.flatMap((m) => m.topics))].filter((t) => this.log.has(t)).sort();
    const result = new Map<FakeConsumer, Assignment>();
    let i = 0;
    for (const topic of topics) {
      const eligible = sorted.filter((m) => m.topics.includes(topic));
      for (let partition = 0; partition < this.log.partitionCount(topic); partition++) {
        const member = eligible[i++ % eligible.length];
        const assignment = result.get(member) ?? {};
        (assignment[topic] ??= []).push(partition);
        result.set(member, assignment);
      }
    }
    return result;
  }

  private record(type: GroupEvent['type'], memberId: string): void {
    this.events.push({ type, memberId, generation: this.generation, at: Date.now() });
  }
}
