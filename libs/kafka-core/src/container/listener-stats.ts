import { ConsumedRecord } from '../client/kafka-client.port';
import { redactErrorText } from '../errors/redact';
import type { ListenerObserver } from '../metrics/metrics-hooks';
import { emptyCounters, ListenerCounters, ListenerStatus } from './listener-status';

type Retrying = NonNullable<ListenerStatus['retrying']>;

/**
 * What a container counts: per-topic record counters, durations for the metrics, the transient
 * failure being waited out, the last dead letter. Observability reads these; nothing else writes them.
 */
export class ListenerStats {
  private readonly byTopic = new Map<string, ListenerCounters>();
  private readonly durationSeries = new Map<string, { observe(seconds: number): void }>();
  retrying?: Retrying;
  lastDeadLetterAt?: number;

  constructor(
    private readonly groupId: string,
    private readonly listenerId: string,
    private readonly observer?: ListenerObserver,
  ) {}

  /** The counters of one topic, created on first use. */
  tally(topic: string): ListenerCounters {
    let counters = this.byTopic.get(topic);
    if (!counters) {
      counters = emptyCounters();
      this.byTopic.set(topic, counters);
    }
    return counters;
  }

  /** Start of an attempt for the duration histogram; 0 when nobody observes. */
  started(): number {
    return this.observer ? performance.now() : 0;
  }

  finished(topic: string, started: number): void {
    if (!this.observer) return;
    let series = this.durationSeries.get(topic);
    if (!series) {
      series = this.observer.durations(topic, this.groupId, this.listenerId);
      this.durationSeries.set(topic, series);
    }
    series.observe((performance.now() - started) / 1_000);
  }

  transientFailure(record: ConsumedRecord, error: Error): void {
    this.retrying = {
      since: this.retrying?.since ?? Date.now(),
      attempts: (this.retrying?.attempts ?? 0) + 1,
      // Status is read over HTTP: the same redaction as dead-letter headers.
      lastError: redactErrorText(`${error.name}: ${error.message}`, record, 200),
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
    };
  }

  deadLettered(topic: string): void {
    const counters = this.tally(topic);
    counters.failed++;
    counters.deadLettered++;
    this.lastDeadLetterAt = Date.now();
  }

  totals(commits: number): { counters: ListenerCounters; countersByTopic: Record<string, ListenerCounters> } {
    const countersByTopic = Object.fromEntries([...this.byTopic].map(([t, c]) => [t, { ...c }]));
    const counters = { ...emptyCounters(), commits };
    for (const c of this.byTopic.values()) {
      counters.processed += c.processed;
      counters.failed += c.failed;
      counters.retried += c.retried;
      counters.deadLettered += c.deadLettered;
      counters.skipped += c.skipped;
    }
    return { counters, countersByTopic };
  }
}
