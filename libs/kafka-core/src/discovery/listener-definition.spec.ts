import { defineListener, ListenerConfigurationError, ListenerRoute, routeFor } from './listener-definition';

const route = (overrides: Partial<ListenerRoute> = {}): ListenerRoute => ({
  methodName: 'handle',
  isDefault: true,
  invoke: async () => undefined,
  ...overrides,
});

class Payload {}

function problem(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ListenerConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a ListenerConfigurationError');
}

describe('defineListener', () => {
  it('merges module defaults under the decorator options', () => {
    const definition = defineListener(
      { topics: ['a'], ackMode: 'manual' },
      { groupId: 'svc', ackMode: 'auto', retry: { attempts: 5 }, maxInFlight: 10 },
      'L.handle',
      [route()],
      false,
    );
    expect(definition).toMatchObject({
      id: 'L.handle',
      groupId: 'svc',
      ackMode: 'manual',
      maxInFlight: 10,
      autoStartup: true,
      concurrency: { partitions: 1, keyOrdered: false },
    });
    expect(definition.retry.backoff.attempts).toBe(5);
  });

  it('reads key-ordered concurrency', () => {
    const definition = defineListener(
      { topics: ['a'], groupId: 'g', concurrency: { keyOrdered: true, maxInFlight: 16 } },
      {},
      'L.h',
      [route()],
      false,
    );
    expect(definition.concurrency).toMatchObject({ keyOrdered: true, maxInFlight: 16 });
  });

  it.each([
    [{ groupId: 'g' }, 'name "topics" or a "topicPattern"'],
    [{ topics: ['a'] }, '"groupId" is required'],
    [{ topics: ['a'], groupId: 'g', ackMode: 'sometimes' }, 'unknown ackMode "sometimes"'],
    [{ topics: ['a'], groupId: 'g', concurrency: 0 }, '"concurrency" must be a positive integer'],
    [{ topics: ['a'], groupId: 'g', retry: { attempts: 0 } }, 'retry:'],
    [{ topics: ['a'], groupId: 'g', payload: () => ({}) }, '"payload" must be a class'],
    [{ topics: ['a'], groupId: 'g', payload: {} }, '"payload" must be a class'],
    [
      { topics: ['a'], groupId: 'g', batch: true, ackMode: 'manual' },
      '"batch" listeners acknowledge the whole batch',
    ],
    [{ topics: ['a'], groupId: 'g', rateLimit: -1 }, '"rateLimit" must be a positive number'],
  ])('refuses %p at bootstrap, naming the listener', (options, expected) => {
    const message = problem(() =>
      defineListener({ id: 'orders', ...(options as object) }, {}, 'L.h', [route()], false),
    );
    expect(message).toContain('@KafkaListener orders:');
    expect(message).toContain(expected);
  });

  it('refuses a routed class without handlers, duplicate event types and two defaults', () => {
    expect(problem(() => defineListener({ topics: ['a'], groupId: 'g' }, {}, 'Routed', [], true))).toContain(
      'needs @KafkaHandler methods',
    );
    const dup = [
      route({ eventType: 'x', isDefault: false }),
      route({ methodName: 'b', eventType: 'x', isDefault: false }),
    ];
    expect(problem(() => defineListener({ topics: ['a'], groupId: 'g' }, {}, 'Routed', dup, true))).toContain(
      'two handlers for event type "x"',
    );
    const defaults = [route(), route({ methodName: 'b' })];
    expect(
      problem(() => defineListener({ topics: ['a'], groupId: 'g' }, {}, 'Routed', defaults, true)),
    ).toContain('more than one default');
  });

  it('routes by event type with the listener payload as fallback class', () => {
    const routes = [
      route({ methodName: 'a', eventType: 'x', isDefault: false }),
      route({ methodName: 'fallback' }),
    ];
    const definition = defineListener(
      { topics: ['a'], groupId: 'g', payload: Payload },
      {},
      'R',
      routes,
      true,
    );
    expect(routeFor(definition, 'x')?.methodName).toBe('a');
    expect(routeFor(definition, 'y')?.methodName).toBe('fallback');
    expect(routeFor(definition, undefined)?.methodName).toBe('fallback');
    expect(definition.routes.every((r) => r.payload === Payload)).toBe(true);
  });
});
