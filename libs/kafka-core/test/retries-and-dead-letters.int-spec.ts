import { Injectable, Logger } from '@nestjs/common';
import { IsInt, IsNotEmpty, IsString, Max, Min } from 'class-validator';
import { Admin, ConfigResourceTypes, KafkaMessage } from 'kafkajs';
import {
  Ctx,
  DLT_HEADERS,
  KafkaContext,
  KafkaListener,
  KafkaListenerRegistry,
  NonRetryableError,
  Payload,
} from '@app/kafka-core';
import { endOffsetSum, rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  collect,
  committedOffsets,
  createTopic,
  produce,
  startListenerApp,
  until,
  headersOf,
} from '../../../test/support/listener-app';

/** A handler failure that is not a NonRetryableError: retried like any unknown error. */
class ChartServiceUnavailable extends Error {}

/** Listed in `retry.nonRetryable`: retrying cannot bring consent back. */
class ConsentWithdrawn extends Error {}

class PainReport {
  @IsString()
  @IsNotEmpty()
  patientId!: string;

  @IsInt()
  @Min(0)
  @Max(10)
  level!: number;
}

describe('retries and dead letters (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  // Observers of dead-letter topics, disconnected after each test whatever its outcome.
  const observers: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(observers.splice(0).map((o) => o.stop()));
  });
  const observe = async (topic: string) => {
    const observer = await collect(topic);
    observers.push(observer);
    return observer.messages;
  };

  const committed = async (groupId: string, topic: string) => committedOffsets(admin, groupId, topic);

  it('retries a failing record after 200 ms, then 400 ms, and commits it once the third attempt succeeds', async () => {
    const topic = await createTopic(admin, 'retry-then-ok', 1);
    const groupId = uniqueName('g-retry');
    const calls: { n: number; attempt: number; at: number }[] = [];

    @Injectable()
    class FlakyListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        retry: { attempts: 3, initialDelayMs: 200, multiplier: 2, jitter: 0 },
      })
      handle(@Payload() payload: { n: number }, @Ctx() ctx: KafkaContext) {
        calls.push({ n: payload.n, attempt: ctx.attempt, at: Date.now() });
        if (payload.n === 0 && ctx.attempt < 3) throw new ChartServiceUnavailable('chart service down');
      }
    }

    await produce(topic, [{ value: JSON.stringify({ n: 0 }) }, { value: JSON.stringify({ n: 1 }) }]);
    const app = await startListenerApp([FlakyListener]);
    try {
      await until(async () => (await committed(groupId, topic))[0] === 2);
      const status = app.app.get(KafkaListenerRegistry).list()[0];
      expect(status.counters).toMatchObject({ processed: 2, retried: 2, deadLettered: 0, failed: 0 });
    } finally {
      await app.close();
    }

    // The record behind the failing one waits for it: order inside the partition is kept.
    expect(calls.map((c) => [c.n, c.attempt])).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 1],
    ]);
    // Timers may fire a millisecond early; everything else only adds delay.
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(195);
    expect(calls[2].at - calls[1].at).toBeGreaterThanOrEqual(395);
    expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(0);
  });

  it('dead-letters an always-failing record once, after all attempts, with its bytes, headers and full provenance', async () => {
    const topic = await createTopic(admin, 'always-fails', 3);
    const groupId = uniqueName('g-dlq');
    const deliveries: number[] = [];
    const value = JSON.stringify({ patientId: 'p-7', note: 'Schmerz stärker – seit gestern' });
    const timestamp = '1700000000123';
    // A newline could forge an extra log line or header; the tail is far longer than a header may be.
    const message = `chart write rejected\nsecond line\r\n${'x'.repeat(2000)}`;

    @Injectable()
    class AlwaysFailingListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        retry: { attempts: 3, initialDelayMs: 100, multiplier: 2, jitter: 0 },
      })
      handle(@Ctx() ctx: KafkaContext) {
        deliveries.push(ctx.attempt);
        throw new ChartServiceUnavailable(message);
      }
    }

    const producer = rawKafka().producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: 'patient-7',
          value,
          partition: 2,
          timestamp,
          headers: { 'event-type': 'pain.reported', 'x-trace': 'trace-1' },
        },
      ],
    });
    await producer.disconnect();

    // The dead-letter topic exists once the application has provisioned it.
    const app = await startListenerApp([AlwaysFailingListener]);
    let dead: KafkaMessage[] = [];
    try {
      dead = await observe(`${topic}-dlq`);
      await until(() => dead.length >= 1);
      await until(async () => (await committed(groupId, topic))[2] === 1);
    } finally {
      await app.close();
    }

    // Closed: no further delivery or dead letter can follow, so these counts are final.
    expect(deliveries).toEqual([1, 2, 3]);
    expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(1);
    expect(dead).toHaveLength(1);
    const [deadLetter] = dead;
    const [dlqMeta] = await admin
      .fetchTopicOffsets(`${topic}-dlq`)
      .then((ps) => ps.filter((p) => p.high !== '0'));
    expect(dlqMeta.partition).toBe(2);
    expect(deadLetter.key?.toString('utf8')).toBe('patient-7');
    expect(deadLetter.value?.equals(Buffer.from(value, 'utf8'))).toBe(true);

    const headers = headersOf(deadLetter);
    expect(headers['event-type']).toBe('pain.reported');
    expect(headers['x-trace']).toBe('trace-1');
    expect(headers[DLT_HEADERS.originalTopic]).toBe(topic);
    expect(headers[DLT_HEADERS.originalPartition]).toBe('2');
    expect(headers[DLT_HEADERS.originalOffset]).toBe('0');
    expect(headers[DLT_HEADERS.originalTimestamp]).toBe(timestamp);
    expect(headers[DLT_HEADERS.group]).toBe(groupId);
    expect(headers[DLT_HEADERS.listener]).toBe('AlwaysFailingListener.handle');
    expect(headers[DLT_HEADERS.attempts]).toBe('3');
    const first = headers[DLT_HEADERS.firstFailureAt];
    const last = headers[DLT_HEADERS.lastFailureAt];
    expect(new Date(first).toISOString()).toBe(first);
    expect(new Date(last).toISOString()).toBe(last);
    // The first failure is the first attempt's: at least both backoffs (100 + 200 ms) before the last.
    expect(Date.parse(last) - Date.parse(first)).toBeGreaterThanOrEqual(290);
    expect(headers[DLT_HEADERS.errorClass]).toBe('ChartServiceUnavailable');
    const errorMessage = headers[DLT_HEADERS.errorMessage];
    expect(errorMessage).not.toMatch(/[\r\n]/);
    expect(errorMessage).toHaveLength(512);
    expect(errorMessage.startsWith('chart write rejected second line xxx')).toBe(true);
    expect(headers[DLT_HEADERS.stackTrace]).toBeUndefined();
    expect(headers[DLT_HEADERS.validationErrors]).toBeUndefined();
  });

  it('adds a single-line stack trace header when the module asks for it', async () => {
    const topic = await createTopic(admin, 'stack', 1);
    const groupId = uniqueName('g-stack');

    @Injectable()
    class StackListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true })
      handle() {
        throw new NonRetryableError('consent missing');
      }
    }

    await produce(topic, [{ value: '{}' }]);
    // The dead-letter topic exists once the application has provisioned it.
    const app = await startListenerApp([StackListener], { deadLetter: { includeStackTrace: true } });
    let dead: KafkaMessage[] = [];
    try {
      dead = await observe(`${topic}-dlq`);
      await until(() => dead.length >= 1);
    } finally {
      await app.close();
    }
    const stack = headersOf(dead[0])[DLT_HEADERS.stackTrace];
    expect(stack).toMatch(/^NonRetryableError: consent missing +at /);
    expect(stack).not.toMatch(/[\r\n]/);
    expect(stack.length).toBeLessThanOrEqual(512);
  });

  it('dead-letters NonRetryableError and retry.nonRetryable classes after one delivery (dlt-attempts 1)', async () => {
    const topic = await createTopic(admin, 'non-retryable', 1);
    const groupId = uniqueName('g-nonretry');
    const deliveries = new Map<string, number>();

    @Injectable()
    class StrictListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        // A long backoff: a second delivery would be visible long before the test gives up waiting.
        retry: { attempts: 5, initialDelayMs: 1_000, jitter: 0, nonRetryable: [ConsentWithdrawn] },
      })
      handle(@Payload() payload: { kind: string }) {
        deliveries.set(payload.kind, (deliveries.get(payload.kind) ?? 0) + 1);
        if (payload.kind === 'marker') return;
        if (payload.kind === 'custom') throw new ConsentWithdrawn('consent withdrawn');
        if (payload.kind === 'wrapped')
          throw new Error('saving failed', { cause: new ConsentWithdrawn('nested') });
        throw new NonRetryableError('never valid');
      }
    }

    await produce(topic, [
      { value: JSON.stringify({ kind: 'custom' }) },
      { value: JSON.stringify({ kind: 'library' }) },
      { value: JSON.stringify({ kind: 'wrapped' }) },
    ]);
    // The dead-letter topic exists once the application has provisioned it.
    const app = await startListenerApp([StrictListener]);
    let dead: KafkaMessage[] = [];
    try {
      dead = await observe(`${topic}-dlq`);
      await until(() => dead.length >= 3);
      await until(async () => (await committed(groupId, topic))[0] === 3);
      // A marker behind them: handled in partition order only once the three are done for good,
      // so a retry of any of them (1 s backoff) would show up before it.
      await produce(topic, [{ value: JSON.stringify({ kind: 'marker' }) }]);
      await until(() => deliveries.has('marker'));
    } finally {
      await app.close();
    }
    expect(Object.fromEntries(deliveries)).toEqual({ custom: 1, library: 1, wrapped: 1, marker: 1 });
    expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(3);
    expect(dead.map((m) => headersOf(m)[DLT_HEADERS.attempts])).toEqual(['1', '1', '1']);
    expect(dead.map((m) => headersOf(m)[DLT_HEADERS.errorClass])).toEqual([
      'ConsentWithdrawn',
      'NonRetryableError',
      'Error',
    ]);
  });

  it('dead-letters poison records (not JSON, invalid payload) once each, and every good record behind them is processed', async () => {
    const topic = await createTopic(admin, 'poison', 1);
    const groupId = uniqueName('g-poison');
    const handled: unknown[] = [];

    @Injectable()
    class ReportListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, payload: PainReport })
      handle(@Payload() report: PainReport) {
        handled.push(report);
      }
    }

    await produce(topic, [
      { value: JSON.stringify({ patientId: 'p1', level: 3 }) },
      { value: '{"patientId": "p2", "level": ' },
      { value: JSON.stringify({ patientId: 'p3', level: 4 }) },
      { value: JSON.stringify({ patientId: '', level: 11 }) },
      { value: JSON.stringify({ patientId: 'p5', level: 0 }) },
      { value: JSON.stringify({ patientId: 'p6', level: 10 }) },
    ]);
    // The dead-letter topic exists once the application has provisioned it.
    const app = await startListenerApp([ReportListener]);
    let dead: KafkaMessage[] = [];
    try {
      dead = await observe(`${topic}-dlq`);
      await until(async () => (await committed(groupId, topic))[0] === 6);
      await until(() => dead.length >= 2);
    } finally {
      await app.close();
    }

    // Closed: no further dead letter can follow.
    expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(2);
    expect(handled.every((r) => r instanceof PainReport)).toBe(true);
    expect(handled.map((r) => (r as PainReport).patientId)).toEqual(['p1', 'p3', 'p5', 'p6']);
    expect(dead).toHaveLength(2);
    const [notJson, invalid] = dead.map(headersOf);
    expect(notJson[DLT_HEADERS.originalOffset]).toBe('1');
    expect(notJson[DLT_HEADERS.errorClass]).toBe('DeserializationError');
    expect(notJson[DLT_HEADERS.attempts]).toBe('1');
    expect(dead[0].value?.toString('utf8')).toBe('{"patientId": "p2", "level": ');
    expect(invalid[DLT_HEADERS.originalOffset]).toBe('3');
    expect(invalid[DLT_HEADERS.errorClass]).toBe('PayloadValidationError');
    expect(invalid[DLT_HEADERS.attempts]).toBe('1');
    expect(JSON.parse(invalid[DLT_HEADERS.validationErrors])).toEqual([
      { field: 'patientId', constraints: ['isNotEmpty'] },
      { field: 'level', constraints: ['max'] },
    ]);
    // Constraint names only: the rejected value itself must not leak into headers.
    expect(invalid[DLT_HEADERS.validationErrors]).not.toContain('11');
  });

  it('deadLetter: false logs and skips a record that keeps failing, and the partition moves on', async () => {
    const topic = await createTopic(admin, 'no-dlq', 1);
    const groupId = uniqueName('g-nodlq');
    const handled: number[] = [];
    let failedDeliveries = 0;
    const errorLog = jest.spyOn(Logger.prototype, 'error');

    @Injectable()
    class SkippingListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        deadLetter: false,
        retry: { attempts: 2, initialDelayMs: 50, jitter: 0 },
      })
      handle(@Payload() payload: { n: number }) {
        if (payload.n === 1) {
          failedDeliveries++;
          throw new ChartServiceUnavailable('still down');
        }
        handled.push(payload.n);
      }
    }

    await produce(
      topic,
      [0, 1, 2, 3].map((n) => ({ value: JSON.stringify({ n }) })),
    );
    const app = await startListenerApp([SkippingListener]);
    let logged: string[] = [];
    try {
      await until(async () => (await committed(groupId, topic))[0] === 4);
      const status = app.app.get(KafkaListenerRegistry).list()[0];
      expect(status.counters).toMatchObject({ processed: 3, failed: 1, skipped: 1, deadLettered: 0 });
    } finally {
      await app.close();
      logged = errorLog.mock.calls.map((args) => String(args[0]));
      errorLog.mockRestore();
    }
    expect(handled).toEqual([0, 2, 3]);
    expect(failedDeliveries).toBe(2);
    expect(logged.some((line) => line.includes(`${topic}/0@1`) && line.includes('skipped'))).toBe(true);
    // No dead-letter topic is provisioned for a listener without one.
    expect(await admin.listTopics()).not.toContain(`${topic}-dlq`);
  });

  it('does not commit past a record whose dead letter cannot be written, and commits it once the write succeeds', async () => {
    const topic = await createTopic(admin, 'dlq-down', 1);
    const deadLetterTopic = uniqueName('dlq-down-target');
    // The dead-letter record carries provenance headers (~1 KB), so a 300-byte limit rejects it
    // (MESSAGE_TOO_LARGE, not retriable): the publish fails instead of being retried in the producer.
    await admin.createTopics({
      topics: [
        {
          topic: deadLetterTopic,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: '300' }],
        },
      ],
      waitForLeaders: true,
    });
    const groupId = uniqueName('g-dlqdown');
    const handled: number[] = [];
    let poisonDeliveries = 0;

    @Injectable()
    class DlqDownListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        deadLetter: deadLetterTopic,
        retry: false,
        commitIntervalMs: 100,
      })
      handle(@Payload() payload: { n: number }) {
        if (payload.n === 0) {
          poisonDeliveries++;
          throw new NonRetryableError('cannot be processed');
        }
        handled.push(payload.n);
      }
    }

    await produce(
      topic,
      [0, 1].map((n) => ({ value: JSON.stringify({ n }) })),
    );
    const app = await startListenerApp([DlqDownListener], { shutdownTimeoutMs: 2_000 });
    try {
      // The container tries again (every second) while the dead letter cannot be written.
      await until(() => poisonDeliveries >= 3);
      expect((await committed(groupId, topic))[0]).toBe(-1);
      expect(handled).toEqual([]);
      expect(await endOffsetSum(admin, deadLetterTopic)).toBe(0);

      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: deadLetterTopic,
            configEntries: [{ name: 'max.message.bytes', value: '1048588' }],
          },
        ],
      });
      await until(async () => (await committed(groupId, topic))[0] === 2);
    } finally {
      await app.close();
    }
    expect(handled).toEqual([1]);
    expect(await endOffsetSum(admin, deadLetterTopic)).toBe(1);
  });

  it('a partition waiting out a 3 s backoff does not hold up the other partition (concurrency 2)', async () => {
    const topic = await createTopic(admin, 'backoff-isolation', 2);
    const groupId = uniqueName('g-isolation');
    const events: { partition: number; n: number; attempt: number; at: number; failed: boolean }[] = [];

    @Injectable()
    class IsolationListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        concurrency: 2,
        retry: { attempts: 2, initialDelayMs: 3_000, jitter: 0 },
      })
      handle(@Payload() payload: { n: number }, @Ctx() ctx: KafkaContext) {
        const failed = ctx.partition === 0 && ctx.attempt === 1;
        events.push({ partition: ctx.partition, n: payload.n, attempt: ctx.attempt, at: Date.now(), failed });
        if (failed) throw new ChartServiceUnavailable('slow dependency');
      }
    }

    await produce(topic, [{ value: JSON.stringify({ n: 0 }), partition: 0 }]);
    const app = await startListenerApp([IsolationListener]);
    try {
      await until(() => events.some((e) => e.failed));
      await produce(
        topic,
        [1, 2, 3, 4, 5].map((n) => ({ value: JSON.stringify({ n }), partition: 1 })),
      );
      await until(async () => {
        const offsets = await committed(groupId, topic);
        return offsets[0] === 1 && offsets[1] === 5;
      });
    } finally {
      await app.close();
    }

    const failure = events.find((e) => e.failed)!;
    const retry = events.find((e) => e.partition === 0 && e.attempt === 2)!;
    const other = events.filter((e) => e.partition === 1);
    expect(other.map((e) => e.n)).toEqual([1, 2, 3, 4, 5]);
    expect(retry.at - failure.at).toBeGreaterThanOrEqual(2_995);
    // All of partition 1 was handled while partition 0 was still waiting for its retry.
    expect(Math.max(...other.map((e) => e.at))).toBeLessThan(retry.at);
  });
});
