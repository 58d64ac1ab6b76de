import { Admin, Consumer, KafkaMessage } from 'kafkajs';
import { TOPICS } from '@app/contracts';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { DLT_HEADERS } from '@app/kafka-core';
import { MonolithModule } from '../../apps/monolith/src/monolith.module';
import { LoggingServiceModule } from '../../apps/logging-service/src/logging-service.module';
import type { LogEntry } from '../../apps/logging-service/src/log-entries/log-entries.repository';
import { AuditStore } from '../../apps/logging-service/src/audit/audit-store';
import { endOffsetSum, rawKafka, testBrokers, uniqueName } from '../support/kafka';
import { eventually, RunningService, startService } from '../support/service-app';

/**
 * The loop every later feature stands on: HTTP -> monolith -> Kafka -> logging-service -> PostgreSQL
 * -> HTTP, through the real broker and the real database, each service in its own schema.
 */
describe('walking skeleton: operation logs from the monolith to the logging-service', () => {
  let database: TestDatabase;
  let monolith: RunningService;
  let logging: RunningService;
  let admin: Admin;

  beforeAll(async () => {
    database = await createTestDatabase('kc_skeleton');
    const env = { KAFKA_BROKERS: testBrokers().join(','), DATABASE_URL: database.url };
    logging = await startService('logging-service', LoggingServiceModule, env);
    monolith = await startService('monolith', MonolithModule, env);
    admin = rawKafka().admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    await monolith?.close();
    await logging?.close();
    await database?.drop();
  });

  async function searchLogs(query: string): Promise<LogEntry[]> {
    const response = await fetch(`${logging.url}/logs?${query}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: LogEntry[] }).items;
  }

  it('provisions the declared topics with their retry and dead-letter companions', async () => {
    const metadata = await admin.fetchTopicMetadata({
      topics: [
        TOPICS.loggingEvents,
        `${TOPICS.loggingEvents}-retry`,
        `${TOPICS.loggingEvents}-dlq`,
        TOPICS.auditEvents,
      ],
    });
    expect(metadata.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(
      [
        ['audit-events', 2],
        ['logging-events', 3],
        ['logging-events-dlq', 3],
        ['logging-events-retry', 3],
      ].sort(),
    );
  });

  it('stores a posted operation log and finds it by correlation id', async () => {
    const correlationId = uniqueName('corr');
    const response = await fetch(`${monolith.url}/operation-logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-correlation-id': correlationId },
      body: JSON.stringify({
        operation: 'patient.create',
        level: 'info',
        message: 'created',
        context: { ward: '3B' },
      }),
    });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as {
      eventId: string;
      topic: string;
      partition: number;
      offset: string;
    };
    expect(accepted.topic).toBe('logging-events');
    expect(accepted.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const [stored] = await eventually(async () => {
      const items = await searchLogs(`correlationId=${correlationId}`);
      return items.length > 0 ? items : undefined;
    });
    expect(stored).toEqual({
      eventId: accepted.eventId,
      service: 'monolith',
      level: 'info',
      operation: 'patient.create',
      message: 'created',
      context: { ward: '3B' },
      correlationId,
      occurredAt: expect.any(String),
    });
  });

  it('answers a malformed body with 400 naming the fields, and publishes nothing', async () => {
    const before = await endOffsetSum(admin, TOPICS.loggingEvents);
    const response = await fetch(`${monolith.url}/operation-logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: '', level: 'loud', message: 'x', patientName: 'not allowed' }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fields: { field: string }[] };
    expect(body.fields.map((f) => f.field).sort()).toEqual(['level', 'operation', 'patientName']);
    expect(await endOffsetSum(admin, TOPICS.loggingEvents)).toBe(before);
  });

  it('refuses a malformed query with 400', async () => {
    const response = await fetch(`${logging.url}/logs?limit=100000&level=loud`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fields: { field: string }[] };
    expect(body.fields.map((f) => f.field).sort()).toEqual(['level', 'limit']);
  });

  it('dead-letters a record that is not JSON and keeps the partition flowing', async () => {
    const dlq: KafkaMessage[] = [];
    const consumer: Consumer = rawKafka().consumer({
      groupId: uniqueName('dlq-observer'),
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: `${TOPICS.loggingEvents}-dlq`, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void dlq.push(message) });

    const producer = rawKafka().producer();
    await producer.connect();
    const correlationId = uniqueName('after-poison');
    // Both on partition 0, poison first: the good record is only stored if the poison did not block.
    const [poison] = await producer.send({
      topic: TOPICS.loggingEvents,
      messages: [{ key: 'poison', value: '{not json', partition: 0, headers: { 'event-id': 'x' } }],
    });
    await producer.send({
      topic: TOPICS.loggingEvents,
      messages: [
        {
          key: 'good',
          partition: 0,
          value: JSON.stringify({
            service: 'test',
            level: 'warn',
            operation: 'after',
            message: 'ok',
            occurredAt: new Date(),
          }),
          headers: { 'event-id': '0190a000-0000-7000-8000-000000000001', 'correlation-id': correlationId },
        },
      ],
    });
    await producer.disconnect();

    await eventually(async () =>
      (await searchLogs(`correlationId=${correlationId}`)).length === 1 ? true : undefined,
    );
    const dead = await eventually(async () => dlq.find((m) => m.key?.toString() === 'poison'));
    await consumer.disconnect();

    expect(dead.value?.toString()).toBe('{not json');
    const header = (name: string) => dead.headers?.[name]?.toString();
    expect(header(DLT_HEADERS.originalTopic)).toBe(TOPICS.loggingEvents);
    expect(header(DLT_HEADERS.originalPartition)).toBe('0');
    expect(header(DLT_HEADERS.originalOffset)).toBe(poison.baseOffset);
    expect(header(DLT_HEADERS.group)).toBe('logging-service');
    expect(header(DLT_HEADERS.listener)).toBe('operation-logs');
    expect(header(DLT_HEADERS.errorClass)).toBe('DeserializationError');
    expect(header(DLT_HEADERS.attempts)).toBe('1');
  });

  it('reports live and ready', async () => {
    for (const service of [monolith, logging]) {
      const live = await fetch(`${service.url}/health/live`);
      expect(live.status).toBe(200);
      const ready = await fetch(`${service.url}/health/ready`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { status: string; info: Record<string, { status: string }> };
      expect(body.status).toBe('ok');
      expect(body.info.kafka.status).toBe('up');
      expect(body.info.database.status).toBe('up');
      // Status only: no broker address leaks into the public body.
      expect(JSON.stringify(body)).not.toContain(testBrokers()[0]);
    }
  });
  it('appends audit events from audit-events to their stream once, chained', async () => {
    const streamId = `Patient/${uniqueName('p')}`;
    const record = (n: number, data: Record<string, unknown>) => ({
      key: streamId,
      value: JSON.stringify({
        streamId,
        eventType: n === 1 ? 'patient.created' : 'patient.updated',
        action: n === 1 ? 'C' : 'U',
        actor: 'Practitioner/7',
        outcome: 'success',
        sourceService: 'monolith',
        data,
        occurredAt: new Date(Date.UTC(2026, 0, n)).toISOString(),
      }),
      headers: { 'event-id': `${streamId}-${n}`, 'event-type': 'audit.recorded' },
    });
    const producer = rawKafka().producer();
    await producer.connect();
    try {
      const first = record(1, { name: 'Ada' });
      // The first event delivered twice: the inbox and the store keep one.
      await producer.send({ topic: TOPICS.auditEvents, messages: [first, first, record(2, { ward: 'B' })] });
    } finally {
      await producer.disconnect();
    }
    const store = logging.app.get(AuditStore);
    const history = await eventually(async () => {
      const events = await store.history(streamId);
      return events.length >= 2 ? events : undefined;
    });
    expect(history.map((e) => e.version)).toEqual([1, 2]);
    expect(await store.verify(streamId)).toEqual({ streamId, valid: true, checked: 2 });
    expect((await store.stateAsOf(streamId, {})).state).toEqual({ name: 'Ada', ward: 'B' });
  });
});
