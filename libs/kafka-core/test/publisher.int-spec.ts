import { Injectable } from '@nestjs/common';
import { Admin, IHeaders } from 'kafkajs';
import {
  EventContract,
  KafkaCoreModuleOptions,
  KafkaListener,
  KafkaPublisher,
  MAX_HEADER_VALUE_LENGTH,
  Payload,
  SendResult,
} from '@app/kafka-core';
import { endOffsetSum, rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  createTopic,
  ListenerApp,
  produce,
  startListenerApp,
  until,
} from '../../../test/support/listener-app';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

function stringHeaders(headers: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers ?? {}).map(([name, value]) => [
      name,
      String(Array.isArray(value) ? value[value.length - 1] : value),
    ]),
  );
}

/**
 * Reads a topic from the beginning with a plain kafkajs consumer until `count` records arrived, and
 * checks by the high-water marks that the topic holds no more than that. `fetched` adds up the size
 * of the fetch responses, i.e. the bytes the records took on the wire.
 */
async function readTopic(
  admin: Admin,
  topic: string,
  count: number,
  fetched = { bytes: 0 },
): Promise<ReadRecord[]> {
  const read: ReadRecord[] = [];
  const consumer = rawKafka().consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  consumer.on(consumer.events.REQUEST, ({ payload }) => {
    if (payload.apiName === 'Fetch') fetched.bytes += payload.size;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) =>
        void read.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? '',
          headers: stringHeaders(message.headers),
        }),
    });
    await until(() => read.length >= count);
  } finally {
    await consumer.disconnect();
  }
  expect(read).toHaveLength(count);
  expect(await endOffsetSum(admin, topic)).toBe(count);
  return read;
}

const at = (read: ReadRecord[], result: { partition: number; offset: string }) =>
  read.filter((r) => r.partition === result.partition && r.offset === result.offset);

describe('KafkaPublisher (real broker)', () => {
  let admin: Admin;
  let app: ListenerApp;
  let publisher: KafkaPublisher;
  const clientId = uniqueName('publisher');

  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
    app = await startListenerApp([], { clientId });
    publisher = app.app.get(KafkaPublisher);
  });
  afterAll(async () => {
    await app?.close();
    await admin.disconnect();
  });

  it('64 concurrent sends share a few requests; each learns the partition and offset its record was written at', async () => {
    const topic = await createTopic(admin, 'concurrent', 3);
    const before = publisher.stats();

    const results = await Promise.all(
      Array.from({ length: 64 }, (_, n) =>
        publisher.send(topic, { n }, { key: n % 2 === 0 ? `k${n % 7}` : null }),
      ),
    );

    const after = publisher.stats();
    expect(after.records - before.records).toBe(64);
    // Micro-batching: without it every send would be its own produce request.
    expect(after.requests - before.requests).toBeLessThanOrEqual(8);

    expect(new Set(results.map((r) => `${r.partition}:${r.offset}`)).size).toBe(64);
    expect(new Set(results.map((r) => r.eventId)).size).toBe(64);
    const read = await readTopic(admin, topic, 64);
    results.forEach((result, n) => {
      expect(result.topic).toBe(topic);
      const [record] = at(read, result);
      expect(record).toBeDefined();
      expect(JSON.parse(record.value)).toEqual({ n });
      expect(record.headers['event-id']).toBe(result.eventId);
    });
  });

  it('sendBatch: one request, results in call order, offsets consecutive per partition; one key keeps one partition in call order', async () => {
    const topic = await createTopic(admin, 'batch', 3);
    const entries = Array.from({ length: 30 }, (_, i) => ({
      event: { key: `k${i % 5}`, seq: Math.floor(i / 5) },
      options: { key: `k${i % 5}` },
    }));
    const before = publisher.stats();

    const results = await publisher.sendBatch(topic, entries);

    expect(publisher.stats().requests - before.requests).toBe(1);
    expect(results).toHaveLength(30);
    // Per partition, the results in call order take the offsets 0, 1, 2, … of the fresh topic.
    const byPartition = new Map<number, SendResult[]>();
    for (const result of results)
      byPartition.set(result.partition, [...(byPartition.get(result.partition) ?? []), result]);
    for (const list of byPartition.values()) {
      expect(list.map((r) => r.offset)).toEqual(list.map((_, i) => String(i)));
    }
    const read = await readTopic(admin, topic, 30);
    results.forEach((result, i) => {
      const [record] = at(read, result);
      expect(record.key).toBe(entries[i].options.key);
      expect(JSON.parse(record.value)).toEqual(entries[i].event);
      expect(record.headers['event-id']).toBe(result.eventId);
    });
    for (let k = 0; k < 5; k++) {
      const ofKey = results.filter((_, i) => i % 5 === k);
      expect(new Set(ofKey.map((r) => r.partition)).size).toBe(1);
      const offsets = ofKey.map((r) => Number(r.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      const seqs = read
        .filter((r) => r.key === `k${k}`)
        .sort((a, b) => Number(a.offset) - Number(b.offset))
        .map((r) => (JSON.parse(r.value) as { seq: number }).seq);
      expect(seqs).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  it('every record carries a well-formed envelope', async () => {
    const topic = await createTopic(admin, 'envelope', 1);
    class PainScoreRecorded {
      constructor(readonly score: number) {}
    }
    const start = Date.now();
    const result = await publisher.send(topic, new PainScoreRecorded(4));
    const end = Date.now();

    expect(result.eventId).toMatch(UUID_V7);
    const [record] = await readTopic(admin, topic, 1);
    const headers = record.headers;
    expect(headers['event-id']).toBe(result.eventId);
    expect(headers['event-type']).toBe('PainScoreRecorded');
    expect(headers['schema-version']).toBe('1');
    expect(new Date(headers['occurred-at']).toISOString()).toBe(headers['occurred-at']);
    expect(Date.parse(headers['occurred-at'])).toBeGreaterThanOrEqual(start);
    expect(Date.parse(headers['occurred-at'])).toBeLessThanOrEqual(end);
    expect(headers['correlation-id']).toBe(result.eventId);
    expect(headers['causation-id']).toBeUndefined();
    expect(headers.source).toBe(clientId);
    expect(headers.traceparent).toMatch(TRACEPARENT);
    expect(TRACEPARENT.exec(headers.traceparent)?.[1]).not.toBe('0'.repeat(32));
    expect(JSON.parse(record.value)).toEqual({ score: 4 });
  });

  it('explicit envelope fields are kept, and header values beyond the cap are cut', async () => {
    const topic = await createTopic(admin, 'envelope-options', 1);
    const occurredAt = new Date('2024-02-29T12:34:56.789Z');
    const long = (c: string) => c.repeat(MAX_HEADER_VALUE_LENGTH + 300);

    const explicit = await publisher.send(
      topic,
      { n: 1 },
      {
        eventId: 'evt-fixed-1',
        eventType: 'pain.score-recorded',
        schemaVersion: 3,
        occurredAt,
        correlationId: 'corr-1',
        causationId: 'cause-1',
        headers: { tenant: 'clinic-7' },
      },
    );
    expect(explicit.eventId).toBe('evt-fixed-1');
    await publisher.send(
      topic,
      { n: 2 },
      {
        eventType: long('t'),
        correlationId: long('c'),
        causationId: long('u'),
        headers: { note: long('n') },
      },
    );

    const [first, second] = (await readTopic(admin, topic, 2)).sort(
      (a, b) => Number(a.offset) - Number(b.offset),
    );
    expect(first.headers).toMatchObject({
      'event-id': 'evt-fixed-1',
      'event-type': 'pain.score-recorded',
      'schema-version': '3',
      'occurred-at': '2024-02-29T12:34:56.789Z',
      'correlation-id': 'corr-1',
      'causation-id': 'cause-1',
      tenant: 'clinic-7',
    });
    const capped = MAX_HEADER_VALUE_LENGTH;
    expect(capped).toBe(512);
    expect(second.headers['event-type']).toBe('t'.repeat(capped));
    expect(second.headers['correlation-id']).toBe('c'.repeat(capped));
    expect(second.headers['causation-id']).toBe('u'.repeat(capped));
    expect(second.headers.note).toBe('n'.repeat(capped));
    for (const value of Object.values(second.headers)) expect(value.length).toBeLessThanOrEqual(capped);
  });

  it('publish() routes by the @EventContract: topic, key, event type and schema version', async () => {
    const topic = await createTopic(admin, 'contract', 3);

    @EventContract<PainReported>({
      topic,
      type: 'pain.reported',
      version: 2,
      key: (event) => event.patientId,
    })
    class PainReported {
      constructor(
        readonly patientId: string,
        readonly level: number,
      ) {}
    }

    const results = await Promise.all([
      publisher.publish(new PainReported('patient-1', 3)),
      publisher.publish(new PainReported('patient-2', 5)),
      publisher.publish(new PainReported('patient-1', 6)),
    ]);

    expect(results.map((r) => r.topic)).toEqual([topic, topic, topic]);
    const read = await readTopic(admin, topic, 3);
    const expected = [
      ['patient-1', 3],
      ['patient-2', 5],
      ['patient-1', 6],
    ];
    results.forEach((result, i) => {
      const [record] = at(read, result);
      expect(record.key).toBe(expected[i][0]);
      expect(JSON.parse(record.value)).toEqual({ patientId: expected[i][0], level: expected[i][1] });
      expect(record.headers).toMatchObject({
        'event-id': result.eventId,
        'event-type': 'pain.reported',
        'schema-version': '2',
      });
    });
    expect(results[0].partition).toBe(results[2].partition);
    expect(Number(results[0].offset)).toBeLessThan(Number(results[2].offset));
  });

  it('publish() of a class without a contract needs a topic', async () => {
    class Unrouted {
      readonly n = 1;
    }
    await expect(publisher.publish(new Unrouted())).rejects.toThrow(
      'No topic for Unrouted: pass { topic } or decorate the class with @EventContract',
    );

    const topic = await createTopic(admin, 'no-contract', 1);
    const result = await publisher.publish(new Unrouted(), { topic, key: 'k' });
    const [record] = await readTopic(admin, topic, 1);
    expect(result).toMatchObject({ topic, partition: 0, offset: '0' });
    expect(record.key).toBe('k');
    expect(record.headers['event-type']).toBe('Unrouted');
  });
});

describe('KafkaPublisher compression (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('gzip: what is sent compressed is read back intact', async () => {
    const topic = await createTopic(admin, 'gzip', 2);
    const app = await startListenerApp([], { producer: { compression: 'gzip' } });
    try {
      const publisher = app.app.get(KafkaPublisher);
      const events = Array.from({ length: 40 }, (_, n) => ({ n, text: 'pain diary entry '.repeat(100) }));
      const results = await Promise.all(events.map((event) => publisher.send(topic, event)));
      const fetched = { bytes: 0 };
      const read = await readTopic(admin, topic, 40, fetched);
      results.forEach((result, n) => {
        const [record] = at(read, result);
        expect(JSON.parse(record.value)).toEqual(events[n]);
        expect(record.headers['event-id']).toBe(result.eventId);
      });
      // The records really travelled compressed: far fewer bytes came back than the values alone hold.
      const valueBytes = read.reduce((sum, r) => sum + Buffer.byteLength(r.value), 0);
      expect(fetched.bytes).toBeGreaterThan(0);
      expect(fetched.bytes).toBeLessThan(valueBytes / 4);
    } finally {
      await app.close();
    }
  });

  it('lz4 without its codec package: sends fail with an error naming the package, and nothing is written', async () => {
    const topic = await createTopic(admin, 'lz4', 1);
    const app = await startListenerApp([], { producer: { compression: 'lz4' } });
    try {
      const publisher = app.app.get(KafkaPublisher);
      const message = 'Compression "lz4" needs the package kafkajs-lz4: npm install kafkajs-lz4';
      await expect(publisher.send(topic, { n: 1 })).rejects.toThrow(message);
      // Not a one-off: every later send says the same.
      await expect(publisher.sendBatch(topic, [{ event: { n: 2 } }, { event: { n: 3 } }])).rejects.toThrow(
        message,
      );
      expect(await endOffsetSum(admin, topic)).toBe(0);
    } finally {
      await app.close();
    }
  });
});

describe('context propagation from a handled record to what its handler publishes (real broker)', () => {
  const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
  const SPAN_ID = '00f067aa0ba902b7';
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  /** A listener on one topic that, for each record, publishes a follow-up event to another. */
  async function handleAndPublish(
    options: Partial<KafkaCoreModuleOptions>,
  ): Promise<{ published: ReadRecord; result: SendResult }> {
    const input = await createTopic(admin, 'ctx-in', 1);
    const output = await createTopic(admin, 'ctx-out', 1);
    const results: SendResult[] = [];

    @Injectable()
    class FollowUp {
      constructor(private readonly publisher: KafkaPublisher) {}

      @KafkaListener({ topics: [input], groupId: uniqueName('g-ctx'), fromBeginning: true })
      async handle(@Payload() payload: { visit: string }) {
        // The context must survive an asynchronous hop inside the handler.
        await new Promise((resolve) => setTimeout(resolve, 10));
        results.push(await this.publisher.send(output, { followUpOf: payload.visit }));
      }
    }

    const app = await startListenerApp([FollowUp], options);
    try {
      await produce(input, [
        {
          key: 'visit-1',
          value: JSON.stringify({ visit: 'visit-1' }),
          headers: {
            'event-id': 'incoming-event-1',
            'correlation-id': 'journey-42',
            traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
          },
        },
      ]);
      const [published] = await readTopic(admin, output, 1);
      await until(() => results.length === 1);
      return { published, result: results[0] };
    } finally {
      await app.close();
    }
  }

  it('keeps the correlation id, names the handled event as the cause and continues its trace', async () => {
    const { published, result } = await handleAndPublish({});
    expect(JSON.parse(published.value)).toEqual({ followUpOf: 'visit-1' });
    expect(published.headers['event-id']).toBe(result.eventId);
    expect(published.headers['event-id']).not.toBe('incoming-event-1');
    expect(published.headers['correlation-id']).toBe('journey-42');
    expect(published.headers['causation-id']).toBe('incoming-event-1');
    const [, traceId, spanId, flags] = TRACEPARENT.exec(published.headers.traceparent) ?? [];
    expect(traceId).toBe(TRACE_ID);
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe(SPAN_ID);
    expect(flags).toBe('01');
  });

  it('propagateContext: false publishes as if outside any handler', async () => {
    const { published, result } = await handleAndPublish({ propagateContext: false });
    expect(published.headers['event-id']).toBe(result.eventId);
    expect(published.headers['correlation-id']).toBe(result.eventId);
    expect(published.headers['causation-id']).toBeUndefined();
    const [, traceId] = TRACEPARENT.exec(published.headers.traceparent) ?? [];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe(TRACE_ID);
  });
});
