import { ConsumedRecord } from '../client/kafka-client.port';
import { KafkaContext } from '../ctx-host/kafka.context';
import { defineListener, ListenerDefinition, ListenerRoute } from '../discovery/listener-definition';
import { KafkaListenerOptions } from '../decorators/kafka-listener.decorator';
import { InboundMessage } from '../pipeline/pipeline';

/** Plain fakes for middleware unit tests: no Kafka involved. */
export function fakeRecord(overrides: Partial<ConsumedRecord> = {}): ConsumedRecord {
  return {
    topic: 'orders',
    partition: 2,
    offset: '41',
    key: Buffer.from('k1'),
    value: Buffer.from('{"id":1}'),
    headers: { 'event-id': 'e-1' },
    timestamp: '1700000000000',
    ...overrides,
  };
}

export function fakeListener(
  options: Partial<KafkaListenerOptions> = {},
  routes?: ListenerRoute[],
): ListenerDefinition {
  const route: ListenerRoute = { methodName: 'handle', isDefault: true, invoke: async () => undefined };
  return defineListener(
    { topics: ['orders'], groupId: 'g1', id: 'orders-listener', ...options },
    {},
    'Fake.handle',
    routes ?? [route],
    routes !== undefined,
  );
}

export function fakeMessage(listener = fakeListener(), record = fakeRecord(), attempt = 1): InboundMessage {
  const message = {
    record,
    listener,
    attempt,
    heartbeat: async () => undefined,
    ack: { acknowledge: () => undefined, nack: () => undefined },
  } as { -readonly [K in keyof InboundMessage]: InboundMessage[K] };
  message.context = new KafkaContext(message);
  return message;
}
