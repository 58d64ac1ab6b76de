import { HealthIndicatorService } from '@nestjs/terminus';
import { KafkaListenerRegistry } from '../container/listener-registry';
import { emptyCounters, ListenerStatus } from '../container/listener-status';
import { HEALTH_DEFAULTS } from '../kafka-core.options';
import {
  KafkaListenersHealthIndicator,
  listenerHealth,
  ListenerHealthLimits,
} from './kafka-listeners.health';

const NOW = 1_800_000_000_000;
const SECOND = 1_000;

const LIMITS: ListenerHealthLimits = {
  stuckAfterMs: 30 * SECOND,
  joinTimeoutMs: 60 * SECOND,
  retryingDegradedAfterMs: 60 * SECOND,
  pausedDegradedAfterMs: 900 * SECOND,
  deadLetterWindowMs: 900 * SECOND,
};

function status(overrides: Partial<ListenerStatus> = {}): ListenerStatus {
  return {
    id: 'pain-scores',
    groupId: 'g',
    topics: ['pain'],
    ackMode: 'auto',
    state: 'running',
    startedAt: NOW - 600 * SECOND,
    joinedAt: NOW - 590 * SECOND,
    assignment: { pain: [0, 1] },
    inFlight: 0,
    backpressure: false,
    counters: emptyCounters(),
    countersByTopic: {},
    ...overrides,
  };
}

const retrying = (since: number) => ({
  since,
  attempts: 7,
  lastError: 'Error: connect ECONNREFUSED',
  topic: 'pain',
  partition: 0,
  offset: '12',
});

describe('listenerHealth', () => {
  it('is plainly up with nothing to report', () => {
    expect(listenerHealth(status(), NOW, LIMITS)).toEqual({
      state: 'running',
      status: 'up',
      partitions: 2,
      inFlight: 0,
    });
  });

  it('is degraded, still up, while the last dead letter is within the window', () => {
    expect(listenerHealth(status({ lastDeadLetterAt: NOW - 899 * SECOND }), NOW, LIMITS)).toEqual({
      state: 'running',
      status: 'up',
      partitions: 2,
      inFlight: 0,
      degraded: true,
      reasons: [{ reason: 'dead-lettered', agoMs: 899 * SECOND }],
    });
    expect(listenerHealth(status({ lastDeadLetterAt: NOW - 901 * SECOND }), NOW, LIMITS)).not.toHaveProperty(
      'degraded',
    );
  });

  it('is degraded once a transient failure has been retried for longer than retryingDegradedAfterMs', () => {
    expect(listenerHealth(status({ retrying: retrying(NOW - 60 * SECOND) }), NOW, LIMITS)).not.toHaveProperty(
      'degraded',
    );
    expect(listenerHealth(status({ retrying: retrying(NOW - 61 * SECOND) }), NOW, LIMITS)).toMatchObject({
      status: 'up',
      degraded: true,
      reasons: [{ reason: 'retrying', forMs: 61 * SECOND }],
    });
  });

  it('is degraded when an operator paused it longer ago than pausedDegradedAfterMs', () => {
    const paused = (ago: number) =>
      listenerHealth(status({ state: 'paused', paused: { since: NOW - ago, by: 'ops' } }), NOW, LIMITS);
    expect(paused(900 * SECOND)).not.toHaveProperty('degraded');
    expect(paused(901 * SECOND)).toEqual({
      state: 'paused',
      status: 'up',
      partitions: 2,
      inFlight: 0,
      degraded: true,
      reasons: [{ reason: 'paused', forMs: 901 * SECOND }],
    });
  });

  it('is degraded at once while its breaker is open or half-open, not when closed', () => {
    const breaker = (state: 'open' | 'half-open' | 'closed') =>
      listenerHealth(
        status({ breaker: { state, since: NOW - 5 * SECOND, consecutiveFailures: 5 } }),
        NOW,
        LIMITS,
      );
    expect(breaker('open')).toMatchObject({
      degraded: true,
      reasons: [{ reason: 'breaker-open', forMs: 5_000 }],
    });
    expect(breaker('half-open')).toMatchObject({
      degraded: true,
      reasons: [{ reason: 'breaker-half-open', forMs: 5_000 }],
    });
    expect(breaker('closed')).not.toHaveProperty('degraded');
  });

  it('lists every reason that applies', () => {
    const health = listenerHealth(
      status({
        lastDeadLetterAt: NOW - SECOND,
        retrying: retrying(NOW - 120 * SECOND),
        breaker: { state: 'open', since: NOW - 2 * SECOND, consecutiveFailures: 9 },
      }),
      NOW,
      LIMITS,
    );
    expect(health).toMatchObject({ status: 'up', degraded: true });
    expect(health.status === 'up' && health.reasons?.map((r) => r.reason)).toEqual([
      'dead-lettered',
      'retrying',
      'breaker-open',
    ]);
  });

  it('stays down, not degraded, for failed, stuck and not-joined listeners', () => {
    const recent = { lastDeadLetterAt: NOW - SECOND };
    expect(listenerHealth(status({ ...recent, state: 'failed' }), NOW, LIMITS)).toEqual({
      state: 'failed',
      status: 'down',
      reason: 'failed',
    });
    expect(
      listenerHealth(
        status({
          ...recent,
          oldestInFlight: { topic: 'pain', partition: 1, offset: '3', since: NOW - 31 * SECOND },
        }),
        NOW,
        LIMITS,
      ),
    ).toEqual({
      state: 'running',
      status: 'down',
      reason: 'stuck',
      stuck: { topic: 'pain', partition: 1, offset: '3', forMs: 31 * SECOND },
    });
    expect(
      listenerHealth(status({ ...recent, joinedAt: undefined, startedAt: NOW - 61 * SECOND }), NOW, LIMITS),
    ).toEqual({ state: 'running', status: 'down', reason: 'not-joined' });
  });
});

describe('KafkaListenersHealthIndicator', () => {
  const indicatorWith = (statuses: ListenerStatus[]) =>
    new KafkaListenersHealthIndicator(
      new HealthIndicatorService(),
      { list: () => statuses } as unknown as KafkaListenerRegistry,
      { brokers: [], clientId: 'test', health: { deadLetterWindowMs: 60 * SECOND } },
    );

  beforeEach(() => jest.useFakeTimers({ now: NOW }));
  afterEach(() => jest.useRealTimers());

  it('stays up and says degraded when a listener dead-lettered within the window', () => {
    const result = indicatorWith([
      status({ id: 'a', lastDeadLetterAt: NOW - 10 * SECOND }),
      status({ id: 'b' }),
    ]).isHealthy('kafka-listeners');
    expect(result).toEqual({
      'kafka-listeners': {
        status: 'up',
        degraded: true,
        listeners: {
          a: {
            state: 'running',
            status: 'up',
            partitions: 2,
            inFlight: 0,
            degraded: true,
            reasons: [{ reason: 'dead-lettered', agoMs: 10 * SECOND }],
          },
          b: { state: 'running', status: 'up', partitions: 2, inFlight: 0 },
        },
      },
    });
  });

  it('uses the configured window over the default one', () => {
    expect(HEALTH_DEFAULTS.deadLetterWindowMs).toBeGreaterThan(61 * SECOND);
    const result = indicatorWith([status({ lastDeadLetterAt: NOW - 61 * SECOND })]).isHealthy('l');
    expect(result.l).toEqual({
      status: 'up',
      listeners: { 'pain-scores': { state: 'running', status: 'up', partitions: 2, inFlight: 0 } },
    });
  });

  it('goes down for a failed listener and still says another one is degraded', () => {
    const result = indicatorWith([
      status({ id: 'a', state: 'failed' }),
      status({ id: 'b', breaker: { state: 'open', since: NOW, consecutiveFailures: 5 } }),
    ]).isHealthy('l');
    expect(result.l).toMatchObject({ status: 'down', degraded: true, listeners: { a: { status: 'down' } } });
  });
});
