import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, register } from 'prom-client';
import { FastHistogram } from './fast-histogram';
import { KafkaListenerRegistry } from '../container/listener-registry';
import { BreakerState, ListenerCounters } from '../container/listener-status';
import { KafkaBrokerHealthIndicator } from '../health/kafka-broker.health';
import { ConsumerLagMonitor } from '../monitoring/consumer-lag';
import { ProcessingRates } from '../monitoring/processing-rates';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { KAFKA_METRICS } from './metric-names';
import { ListenerObserver, MetricsHooks, OperatorObserver, PublisherObserver } from './metrics-hooks';

type Definition = { name: string; help: string; labelNames: readonly string[]; buckets?: readonly number[] };

const COUNTER_FIELDS: [keyof typeof KAFKA_METRICS, keyof ListenerCounters][] = [
  ['recordsProcessed', 'processed'],
  ['recordsFailed', 'failed'],
  ['recordsRetried', 'retried'],
  ['recordsDeadLettered', 'deadLettered'],
  ['recordsSkipped', 'skipped'],
];

/** Ordered by how much fetching is held back, so `> 0` means "not closed". */
const BREAKER_VALUES: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * kafka-core's Prometheus metrics (prom-client's default registry, which the service's /metrics
 * endpoint serves). Counters, gauges and lag are read from the containers, the relay and the admin API
 * when Prometheus scrapes; only durations are observed as records pass, through cached label children.
 * Metrics are created when the application starts and removed when it stops, so an application
 * started after another in the same process reports its own listeners.
 */
@Injectable()
export class KafkaMetrics
  implements OnModuleInit, OnApplicationShutdown, ListenerObserver, PublisherObserver, OperatorObserver
{
  private readonly names: string[] = [];
  private durationsMetric?: FastHistogram;
  private producerLatency?: { observe(value: number): void };
  private producerSent?: Counter;
  private producerFailed?: Counter;
  private pauseActions?: Counter;

  constructor(
    private readonly registry: KafkaListenerRegistry,
    private readonly lag: ConsumerLagMonitor,
    private readonly rates: ProcessingRates,
    private readonly broker: KafkaBrokerHealthIndicator,
    private readonly hooks: MetricsHooks,
    private readonly outbox: OutboxRelayService,
  ) {}

  onModuleInit(): void {
    this.hooks.listener = this;
    this.hooks.publisher = this;
    this.hooks.operator = this;
    for (const [metric, field] of COUNTER_FIELDS) {
      this.counter(KAFKA_METRICS[metric], (counter) => {
        for (const status of this.registry.list()) {
          for (const [topic, counters] of Object.entries(status.countersByTopic)) {
            counter.inc({ topic, group: status.groupId, listener: status.id }, counters[field]);
          }
        }
      });
    }
    this.counter(KAFKA_METRICS.commits, (counter) => {
      for (const s of this.registry.list()) {
        counter.inc({ group: s.groupId, listener: s.id, ack_mode: s.ackMode }, s.counters.commits);
      }
    });
    this.gauge(KAFKA_METRICS.inFlight, (gauge) => {
      for (const s of this.registry.list()) gauge.set({ group: s.groupId, listener: s.id }, s.inFlight);
    });
    this.gauge(KAFKA_METRICS.backpressureActive, (gauge) => {
      for (const s of this.registry.list()) {
        gauge.set({ group: s.groupId, listener: s.id }, s.backpressure ? 1 : 0);
      }
    });
    this.gauge(KAFKA_METRICS.listenerUp, (gauge) => {
      for (const s of this.registry.list()) {
        gauge.set(
          { group: s.groupId, listener: s.id },
          s.state === 'running' || s.state === 'paused' ? 1 : 0,
        );
      }
    });
    this.listenerGauges();
    this.gauge(KAFKA_METRICS.processingRate, (gauge) => {
      for (const s of this.registry.list())
        gauge.set({ group: s.groupId, listener: s.id }, this.rates.rate(s.id));
    });
    this.gauge(KAFKA_METRICS.consumerLag, async (gauge) => {
      // While the broker is away the series disappear rather than report a stale number.
      const lags = await this.lag.lag().catch(() => []);
      for (const l of lags) {
        for (const p of l.partitions) {
          gauge.set({ topic: p.topic, partition: String(p.partition), group: l.groupId }, p.lag);
        }
      }
    });
    this.gauge(KAFKA_METRICS.connectivity, async (gauge) =>
      gauge.set((await this.broker.reachable()) ? 1 : 0),
    );

    const outbox = this.outbox;
    if (outbox.enabled) {
      const backlog = () => outbox.backlog()?.catch(() => undefined);
      this.gauge(KAFKA_METRICS.outboxBacklog, async (g) => {
        const b = await backlog();
        if (b) g.set(b.pending);
      });
      this.gauge(KAFKA_METRICS.outboxOldestAge, async (g) => {
        const b = await backlog();
        if (b) g.set(b.oldestAgeMs / 1_000);
      });
      this.gauge(KAFKA_METRICS.outboxParkedRows, async (g) => {
        const b = await backlog();
        if (b) g.set(b.parked);
      });
      this.counter(KAFKA_METRICS.outboxPublished, (c) => c.inc(outbox.counters()?.published ?? 0));
      this.counter(KAFKA_METRICS.outboxFailed, (c) => c.inc(outbox.counters()?.failed ?? 0));
      this.counter(KAFKA_METRICS.outboxParked, (c) => c.inc(outbox.counters()?.parked ?? 0));
      this.gauge(KAFKA_METRICS.outboxLeader, (g) => g.set(outbox.counters()?.leader ? 1 : 0));
    }

    this.durationsMetric = this.histogram(KAFKA_METRICS.processingDuration);
    this.producerLatency = this.histogram(KAFKA_METRICS.producerLatency).child({});
    this.producerSent = this.counter(KAFKA_METRICS.producerRecordsSent);
    this.producerFailed = this.counter(KAFKA_METRICS.producerErrors);
    this.pauseActions = this.counter(KAFKA_METRICS.pauseActions);
  }

  /** What needs a look, per listener: a stuck record, an outage waited out, the breaker, a pause. */
  private listenerGauges(): void {
    this.gauge(KAFKA_METRICS.oldestInFlightAge, (gauge) => {
      const now = Date.now();
      for (const s of this.registry.list()) {
        const since = s.oldestInFlight?.since;
        gauge.set({ group: s.groupId, listener: s.id }, since === undefined ? 0 : (now - since) / 1_000);
      }
    });
    this.gauge(KAFKA_METRICS.retrying, (gauge) => {
      for (const s of this.registry.list())
        gauge.set({ group: s.groupId, listener: s.id }, s.retrying ? 1 : 0);
    });
    this.gauge(KAFKA_METRICS.breakerState, (gauge) => {
      for (const s of this.registry.list()) {
        if (s.breaker) gauge.set({ group: s.groupId, listener: s.id }, BREAKER_VALUES[s.breaker.state]);
      }
    });
    this.gauge(KAFKA_METRICS.listenerPaused, (gauge) => {
      for (const s of this.registry.list()) gauge.set({ group: s.groupId, listener: s.id }, s.paused ? 1 : 0);
    });
  }

  pauseAction(action: 'pause' | 'resume', groupId: string, listenerId: string): void {
    this.pauseActions?.inc({ group: groupId, listener: listenerId, action });
  }

  durations(topic: string, groupId: string, listenerId: string): { observe(seconds: number): void } {
    return (
      this.durationsMetric?.child({ topic, group: groupId, listener: listenerId }) ?? {
        observe: () => undefined,
      }
    );
  }

  request(topics: { topic: string; records: number }[], seconds: number, failed: boolean): void {
    this.producerLatency?.observe(seconds);
    for (const { topic, records } of topics)
      (failed ? this.producerFailed : this.producerSent)?.inc({ topic }, records);
  }

  onApplicationShutdown(): void {
    this.hooks.listener = undefined;
    this.hooks.publisher = undefined;
    this.hooks.operator = undefined;
    for (const name of this.names) register.removeSingleMetric(name);
    this.names.length = 0;
  }

  private claim(name: string): void {
    // The newest application owns the name (see the class comment).
    register.removeSingleMetric(name);
    this.names.push(name);
  }

  /** A counter whose values are read at scrape time (reset, then set to the running totals). */
  private counter(definition: Definition, read?: (counter: Counter) => void): Counter {
    this.claim(definition.name);
    return new Counter({
      name: definition.name,
      help: definition.help,
      labelNames: [...definition.labelNames],
      ...(read && {
        collect(this: Counter) {
          this.reset();
          read(this);
        },
      }),
    });
  }

  private gauge(definition: Definition, read: (gauge: Gauge) => void | Promise<void>): Gauge {
    this.claim(definition.name);
    return new Gauge({
      name: definition.name,
      help: definition.help,
      labelNames: [...definition.labelNames],
      async collect(this: Gauge) {
        this.reset();
        await read(this);
      },
    });
  }

  private histogram(definition: Definition): FastHistogram {
    this.claim(definition.name);
    const histogram = new FastHistogram(definition.name, definition.help, definition.buckets ?? []);
    histogram.register();
    return histogram;
  }
}
