import { register } from 'prom-client';
import { KafkaListenerRegistry } from '../container/listener-registry';
import { emptyCounters, ListenerStatus } from '../container/listener-status';
import { KafkaBrokerHealthIndicator } from '../health/kafka-broker.health';
import { ConsumerLagMonitor } from '../monitoring/consumer-lag';
import { ProcessingRates } from '../monitoring/processing-rates';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { KafkaMetrics } from './kafka-metrics';
import { KAFKA_METRICS } from './metric-names';
import { MetricsHooks } from './metrics-hooks';

const NOW = 1_800_000_000_000;

function status(id: string, overrides: Partial<ListenerStatus> = {}): ListenerStatus {
  return {
    id,
    groupId: `g-${id}`,
    topics: ['pain'],
    ackMode: 'auto',
    state: 'running',
    assignment: { pain: [0] },
    inFlight: 0,
    backpressure: false,
    counters: emptyCounters(),
    countersByTopic: {},
    ...overrides,
  };
}

/** The values of one metric as `labels → value`, read the way a scrape reads them. */
async function valuesOf(name: string): Promise<Record<string, number>> {
  const metric = register.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return Object.fromEntries(
    values.map((v) => [
      Object.entries(v.labels)
        .map(([k, l]) => `${k}=${l}`)
        .join(','),
      v.value,
    ]),
  );
}

describe('KafkaMetrics: listener operations gauges', () => {
  let statuses: ListenerStatus[] = [];
  let metrics: KafkaMetrics;
  const hooks = new MetricsHooks();

  beforeEach(() => {
    jest.useFakeTimers({ now: NOW });
    metrics = new KafkaMetrics(
      { list: () => statuses } as unknown as KafkaListenerRegistry,
      { lag: async () => [] } as unknown as ConsumerLagMonitor,
      { rate: () => 0 } as unknown as ProcessingRates,
      { reachable: async () => true } as unknown as KafkaBrokerHealthIndicator,
      hooks,
      { enabled: false } as unknown as OutboxRelayService,
    );
    metrics.onModuleInit();
  });
  afterEach(() => {
    metrics.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('reports the breaker state as 0 closed, 1 half-open, 2 open, for listeners that have one', async () => {
    const breaker = (state: 'closed' | 'half-open' | 'open') => ({
      state,
      since: NOW,
      consecutiveFailures: 0,
    });
    statuses = [
      status('a', { breaker: breaker('closed') }),
      status('b', { breaker: breaker('half-open') }),
      status('c', { breaker: breaker('open') }),
      status('d'),
    ];
    expect(await valuesOf(KAFKA_METRICS.breakerState.name)).toEqual({
      'group=g-a,listener=a': 0,
      'group=g-b,listener=b': 1,
      'group=g-c,listener=c': 2,
    });
  });

  it('reports operator pauses, transient retrying and the oldest in-flight age', async () => {
    statuses = [
      status('a', { state: 'paused', paused: { since: NOW - 5_000, by: 'ops' } }),
      status('b', {
        retrying: {
          since: NOW - 1_000,
          attempts: 3,
          lastError: 'x',
          topic: 'pain',
          partition: 0,
          offset: '4',
        },
        oldestInFlight: { topic: 'pain', partition: 0, offset: '4', since: NOW - 42_500 },
      }),
    ];
    expect(await valuesOf(KAFKA_METRICS.listenerPaused.name)).toEqual({
      'group=g-a,listener=a': 1,
      'group=g-b,listener=b': 0,
    });
    expect(await valuesOf(KAFKA_METRICS.retrying.name)).toEqual({
      'group=g-a,listener=a': 0,
      'group=g-b,listener=b': 1,
    });
    expect(await valuesOf(KAFKA_METRICS.oldestInFlightAge.name)).toEqual({
      'group=g-a,listener=a': 0,
      'group=g-b,listener=b': 42.5,
    });
  });

  it('counts pause and resume actions reported through the hook', async () => {
    hooks.operator?.pauseAction('pause', 'g-a', 'a');
    hooks.operator?.pauseAction('pause', 'g-a', 'a');
    hooks.operator?.pauseAction('resume', 'g-a', 'a');
    expect(await valuesOf(KAFKA_METRICS.pauseActions.name)).toEqual({
      'group=g-a,listener=a,action=pause': 2,
      'group=g-a,listener=a,action=resume': 1,
    });
  });

  it('already exports dead letters per topic from the status counters', async () => {
    statuses = [status('a', { countersByTopic: { pain: { ...emptyCounters(), deadLettered: 3 } } })];
    expect(await valuesOf(KAFKA_METRICS.recordsDeadLettered.name)).toEqual({
      'topic=pain,group=g-a,listener=a': 3,
    });
  });
});
