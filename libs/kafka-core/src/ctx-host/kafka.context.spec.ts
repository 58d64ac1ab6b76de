import { ConsumedRecord } from '../client/kafka-client.port';
import { eventIdOf, KafkaContext } from './kafka.context';

const record = (headers: Record<string, string>): ConsumedRecord => ({
  topic: 'audit-events',
  partition: 1,
  offset: '42',
  key: null,
  value: null,
  headers,
  timestamp: '0',
});

describe('eventIdOf', () => {
  it("is the envelope's event id when there is one", () => {
    expect(eventIdOf(record({ 'event-id': '01a20b81-0a7e-77da-9349-fd6d1a129959' }))).toBe(
      '01a20b81-0a7e-77da-9349-fd6d1a129959',
    );
  });

  it('is the position for records without the envelope, the same on every delivery', () => {
    expect(eventIdOf(record({}))).toBe('audit-events-1-42');
    const context = new KafkaContext({
      record: record({}),
      listener: { id: 'l', groupId: 'g' },
      attempt: 2,
      heartbeat: async () => undefined,
    });
    expect(context.eventId).toBe('audit-events-1-42');
  });
});
