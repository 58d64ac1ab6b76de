import {
  ArgumentsHost,
  CallHandler,
  CanActivate,
  Catch,
  ExceptionFilter,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  PipeTransform,
  Provider,
  Type,
  UseFilters,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IsInt, IsNotEmpty, IsString, Max, Min } from 'class-validator';
import { Admin, KafkaMessage } from 'kafkajs';
import { Observable, tap } from 'rxjs';
import {
  Ack,
  AckMode,
  Acknowledgment,
  Ctx,
  DLT_HEADERS,
  KafkaContext,
  KafkaCoreModule,
  KafkaHandler,
  KafkaHeaders,
  KafkaListener,
  KafkaListenerRegistry,
  Key,
  ListenerConfigurationError,
  Payload,
} from '@app/kafka-core';
import { endOffsetSum, rawKafka, testBrokers, uniqueName } from '../../../test/support/kafka';
import {
  collect,
  committedOffsets,
  createTopic,
  produce,
  startListenerApp,
  until,
  headersOf,
} from '../../../test/support/listener-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const event = (eventType: string | undefined, body: object) => ({
  value: JSON.stringify(body),
  headers: eventType === undefined ? {} : { 'event-type': eventType },
});

class PainReported {
  @IsString()
  @IsNotEmpty()
  patientId!: string;

  @IsInt()
  @Min(0)
  @Max(10)
  level!: number;
}

class MedicationTaken {
  @IsString()
  @IsNotEmpty()
  patientId!: string;

  @IsString()
  @IsNotEmpty()
  drug!: string;
}

describe('event-type routing, Nest enhancers, registry and bootstrap validation (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  const observers: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(observers.splice(0).map((o) => o.stop()));
  });
  /** Everything arriving on a topic; call once the application has provisioned it. */
  const observe = async (topic: string) => {
    const observer = await collect(topic);
    observers.push(observer);
    return observer.messages;
  };
  const committed = (groupId: string, topic: string) => committedOffsets(admin, groupId, topic);

  describe('event-type routing', () => {
    it('routes by the event-type header to the method of that type with its payload class; other types go to the default', async () => {
      const topic = await createTopic(admin, 'care-events', 1);
      const groupId = uniqueName('g-route');
      const got: [string, unknown, string | undefined][] = [];

      @Injectable()
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true })
      class CareEventsListener {
        @KafkaHandler({ eventType: 'pain.reported', payload: PainReported })
        onPain(@Payload() report: PainReported) {
          got.push(['pain', report, undefined]);
        }

        @KafkaHandler({ eventType: 'medication.taken', payload: MedicationTaken })
        onMedication(@Payload() taken: MedicationTaken) {
          got.push(['medication', taken, undefined]);
        }

        @KafkaHandler({ isDefault: true })
        onOther(@Payload() body: unknown, @KafkaHeaders('event-type') type: string | undefined) {
          got.push(['default', body, type]);
        }
      }

      await produce(topic, [
        event('pain.reported', { patientId: 'p1', level: 7 }),
        event('medication.taken', { patientId: 'p1', drug: 'ibuprofen' }),
        event('appointment.booked', { patientId: 'p1', at: '2030-01-01' }),
        event(undefined, { legacy: true }),
        // Valid for MedicationTaken, not for PainReported: the route's own class decides.
        event('pain.reported', { patientId: 'p2', drug: 'ibuprofen' }),
      ]);
      const app = await startListenerApp([CareEventsListener]);
      let dead: KafkaMessage[] = [];
      try {
        dead = await observe(`${topic}-dlq`);
        await until(async () => (await committed(groupId, topic))[0] === 5);
        await until(() => dead.length >= 1);
      } finally {
        await app.close();
      }

      expect(got.map(([route]) => route)).toEqual(['pain', 'medication', 'default', 'default']);
      expect(got[0][1]).toBeInstanceOf(PainReported);
      expect(got[0][1]).toEqual({ patientId: 'p1', level: 7 });
      expect(got[1][1]).toBeInstanceOf(MedicationTaken);
      expect(got[2][1]).toEqual({ patientId: 'p1', at: '2030-01-01' });
      expect(got[2][2]).toBe('appointment.booked');
      expect(got[3][1]).toEqual({ legacy: true });
      expect(got[3][2]).toBeUndefined();
      expect(dead).toHaveLength(1);
      expect(headersOf(dead[0])[DLT_HEADERS.errorClass]).toBe('PayloadValidationError');
      expect(headersOf(dead[0])[DLT_HEADERS.originalOffset]).toBe('4');
    });

    it('without a default handler, an unknown event type is dead-lettered (UnknownEventTypeError) and the rest flows', async () => {
      const topic = await createTopic(admin, 'no-default', 1);
      const groupId = uniqueName('g-nodefault');
      const handled: string[] = [];

      @Injectable()
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true })
      class PainOnlyListener {
        @KafkaHandler({ eventType: 'pain.reported', payload: PainReported })
        onPain(@Payload() report: PainReported) {
          handled.push(report.patientId);
        }
      }

      await produce(topic, [
        event('pain.reported', { patientId: 'p1', level: 1 }),
        event('appointment.booked', { patientId: 'p2' }),
        event(undefined, { patientId: 'p3' }),
        event('pain.reported', { patientId: 'p4', level: 2 }),
      ]);
      const app = await startListenerApp([PainOnlyListener]);
      let dead: KafkaMessage[] = [];
      try {
        dead = await observe(`${topic}-dlq`);
        await until(async () => (await committed(groupId, topic))[0] === 4);
        await until(() => dead.length >= 2);
      } finally {
        await app.close();
      }

      expect(handled).toEqual(['p1', 'p4']);
      // Closed: no further dead letter can follow.
      expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(2);
      expect(dead).toHaveLength(2);
      const [unknown, untyped] = dead.map(headersOf);
      expect(unknown[DLT_HEADERS.errorClass]).toBe('UnknownEventTypeError');
      // Quoted text in error messages is redacted by the one rule for dead-letter headers (item 10).
      expect(unknown[DLT_HEADERS.errorMessage]).toBe('Unknown event type "…"');
      expect(unknown[DLT_HEADERS.attempts]).toBe('1');
      expect(unknown['event-type']).toBe('appointment.booked');
      expect(untyped[DLT_HEADERS.errorClass]).toBe('UnknownEventTypeError');
      expect(untyped[DLT_HEADERS.errorMessage]).toBe('Record carries no event type');
    });

    it("unknownEventType: 'skip' skips unknown types without dead-lettering and commits past them", async () => {
      const topic = await createTopic(admin, 'skip-unknown', 1);
      const groupId = uniqueName('g-skip');
      const handled: string[] = [];

      @Injectable()
      @KafkaListener({
        id: 'pain-only-skipping',
        topics: [topic],
        groupId,
        fromBeginning: true,
        unknownEventType: 'skip',
      })
      class SkippingRouter {
        @KafkaHandler({ eventType: 'pain.reported', payload: PainReported })
        onPain(@Payload() report: PainReported) {
          handled.push(report.patientId);
        }
      }

      await produce(topic, [
        event('appointment.booked', { patientId: 'p0' }),
        event('pain.reported', { patientId: 'p1', level: 1 }),
        event('appointment.cancelled', { patientId: 'p2' }),
      ]);
      const app = await startListenerApp([SkippingRouter]);
      try {
        await until(async () => (await committed(groupId, topic))[0] === 3);
        expect(app.app.get(KafkaListenerRegistry).status('pain-only-skipping').counters).toMatchObject({
          processed: 1,
          skipped: 2,
          failed: 0,
          deadLettered: 0,
        });
      } finally {
        await app.close();
      }
      expect(handled).toEqual(['p1']);
      expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(0);
    });
  });

  describe('Nest enhancers on listener methods', () => {
    it('a guard that rejects a record (403 ForbiddenException) keeps it from the handler and dead-letters it after one delivery', async () => {
      const topic = await createTopic(admin, 'guarded', 1);
      const groupId = uniqueName('g-guard');
      const handled: number[] = [];
      const guardSaw: unknown[] = [];

      @Injectable()
      class DenyFlaggedGuard implements CanActivate {
        canActivate(context: ExecutionContext): boolean {
          const kafka = context.switchToRpc().getContext<KafkaContext>();
          guardSaw.push(context.switchToRpc().getData());
          return kafka.headers['x-deny'] === undefined;
        }
      }

      @Injectable()
      class GuardedListener {
        @KafkaListener({
          topics: [topic],
          groupId,
          fromBeginning: true,
          retry: { attempts: 3, initialDelayMs: 50 },
        })
        @UseGuards(DenyFlaggedGuard)
        handle(@Payload() payload: { n: number }) {
          handled.push(payload.n);
        }
      }

      await produce(topic, [
        { value: JSON.stringify({ n: 0 }) },
        { value: JSON.stringify({ n: 1 }), headers: { 'x-deny': 'consent-missing' } },
        { value: JSON.stringify({ n: 2 }) },
      ]);
      const app = await startListenerApp([GuardedListener]);
      let dead: KafkaMessage[] = [];
      try {
        dead = await observe(`${topic}-dlq`);
        await until(async () => (await committed(groupId, topic))[0] === 3);
        await until(() => dead.length >= 1);
      } finally {
        await app.close();
      }

      expect(handled).toEqual([0, 2]);
      // The guard ran once per record: the rejection was not retried.
      expect(guardSaw).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
      const headers = headersOf(dead[0]);
      expect(headers[DLT_HEADERS.errorClass]).toBe('ForbiddenException');
      expect(headers[DLT_HEADERS.attempts]).toBe('1');
      expect(headers[DLT_HEADERS.originalOffset]).toBe('1');
    });

    it('an interceptor sees the kafka context type, the payload and the KafkaContext, and wraps the handler', async () => {
      const topic = await createTopic(admin, 'intercepted', 1);
      const groupId = uniqueName('g-intercept');
      const seen: {
        type: string;
        data: unknown;
        offset: string;
        isKafkaContext: boolean;
        tookMs?: number;
      }[] = [];

      @Injectable()
      class TimingInterceptor implements NestInterceptor {
        intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
          const rpc = context.switchToRpc();
          const kafka = rpc.getContext();
          const entry = {
            type: context.getType<string>(),
            data: rpc.getData(),
            offset: (kafka as KafkaContext).offset,
            isKafkaContext: kafka instanceof KafkaContext,
            tookMs: undefined as number | undefined,
          };
          seen.push(entry);
          const started = Date.now();
          return next.handle().pipe(tap(() => (entry.tookMs = Date.now() - started)));
        }
      }

      @Injectable()
      class InterceptedListener {
        @KafkaListener({ topics: [topic], groupId, fromBeginning: true })
        @UseInterceptors(TimingInterceptor)
        async handle() {
          await sleep(50);
        }
      }

      await produce(topic, [{ value: JSON.stringify({ n: 0 }) }, { value: JSON.stringify({ n: 1 }) }]);
      const app = await startListenerApp([InterceptedListener]);
      try {
        await until(async () => (await committed(groupId, topic))[0] === 2);
      } finally {
        await app.close();
      }

      expect(
        seen.map(({ type, data, offset, isKafkaContext }) => ({ type, data, offset, isKafkaContext })),
      ).toEqual([
        { type: 'kafka', data: { n: 0 }, offset: '0', isKafkaContext: true },
        { type: 'kafka', data: { n: 1 }, offset: '1', isKafkaContext: true },
      ]);
      // The measurement spans the handler's own 50 ms.
      expect(seen.every((s) => (s.tookMs ?? 0) >= 45)).toBe(true);
    });

    class NormalizeDrugPipe implements PipeTransform {
      transform(value: MedicationTaken) {
        return { ...value, drug: value.drug.trim().toUpperCase() };
      }
    }

    /** Runs a listener whose @Payload() carries the given pipe and returns what its handler received. */
    async function payloadThroughPipe(pipe: Type<PipeTransform> | PipeTransform): Promise<unknown[]> {
      const topic = await createTopic(admin, 'piped', 1);
      const groupId = uniqueName('g-pipe');
      const handled: unknown[] = [];

      @Injectable()
      class PipedListener {
        @KafkaListener({ topics: [topic], groupId, fromBeginning: true })
        handle(@Payload(pipe) taken: MedicationTaken) {
          handled.push(taken);
        }
      }

      await produce(topic, [{ value: JSON.stringify({ patientId: 'p1', drug: '  ibuprofen ' }) }]);
      const app = await startListenerApp([PipedListener]);
      try {
        await until(async () => (await committed(groupId, topic))[0] === 1);
      } finally {
        await app.close();
      }
      return handled;
    }

    it('a pipe instance on @Payload(new Pipe()) transforms the payload before the handler gets it', async () => {
      expect(await payloadThroughPipe(new NormalizeDrugPipe())).toEqual([
        { patientId: 'p1', drug: 'IBUPROFEN' },
      ]);
    });

    it('a pipe class on @Payload(PipeClass) transforms the payload before the handler gets it', async () => {
      expect(await payloadThroughPipe(NormalizeDrugPipe)).toEqual([{ patientId: 'p1', drug: 'IBUPROFEN' }]);
    });

    it('an exception filter that catches a custom error and returns a value swallows it: the record counts as processed, nothing is dead-lettered', async () => {
      const topic = await createTopic(admin, 'filtered', 1);
      const groupId = uniqueName('g-filter');
      const caught: string[] = [];
      let deliveries = 0;

      class DuplicateReading extends Error {}

      @Catch(DuplicateReading)
      class IgnoreDuplicatesFilter implements ExceptionFilter {
        catch(error: DuplicateReading, host: ArgumentsHost) {
          caught.push(`${error.message}@${host.switchToRpc().getContext<KafkaContext>().offset}`);
          // Nest's external contexts treat a falsy return as "not handled" and rethrow the error.
          return { ignored: true };
        }
      }

      @Injectable()
      class FilteredListener {
        @KafkaListener({ id: 'filtered', topics: [topic], groupId, fromBeginning: true })
        @UseFilters(IgnoreDuplicatesFilter)
        handle(@Payload() payload: { n: number }) {
          deliveries++;
          if (payload.n === 1) throw new DuplicateReading('already recorded');
        }
      }

      await produce(
        topic,
        [0, 1, 2].map((n) => ({ value: JSON.stringify({ n }) })),
      );
      const app = await startListenerApp([FilteredListener]);
      try {
        await until(async () => (await committed(groupId, topic))[0] === 3);
        expect(app.app.get(KafkaListenerRegistry).status('filtered').counters).toMatchObject({
          processed: 3,
          retried: 0,
          failed: 0,
          deadLettered: 0,
        });
      } finally {
        await app.close();
      }
      expect(caught).toEqual(['already recorded@1']);
      expect(deliveries).toBe(3);
      expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(0);
    });

    describe('with a global ValidationPipe', () => {
      interface Handled {
        taken: unknown;
        ctx: unknown;
        ack: unknown;
        key: string | null;
      }

      /**
       * Boots the listener the way main.ts would with app.useGlobalPipes(...) before init (when
       * listener methods are wrapped), feeds it a valid record (key p1), one missing a field (p2)
       * and one with a field outside the class (p3), and returns what reached the handler and the
       * dead-letter topic once all three are committed.
       */
      async function runWithGlobalValidation(): Promise<{ handled: Handled[]; dead: KafkaMessage[] }> {
        const topic = await createTopic(admin, 'global-pipe', 1);
        const groupId = uniqueName('g-globalpipe');
        const handled: Handled[] = [];

        @Injectable()
        class ValidatedListener {
          @KafkaListener({ topics: [topic], groupId, fromBeginning: true })
          handle(
            @Payload() taken: MedicationTaken,
            @Ctx() ctx: KafkaContext,
            @Ack() ack: Acknowledgment,
            @Key() key: string | null,
          ) {
            handled.push({ taken, ctx, ack, key });
          }
        }

        const moduleRef = await Test.createTestingModule({
          imports: [KafkaCoreModule.forRoot({ brokers: testBrokers(), clientId: uniqueName('app') })],
          providers: [ValidatedListener],
        }).compile();
        const app = moduleRef.createNestApplication({ logger: ['error'] });
        app.useGlobalPipes(
          new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
        );

        await produce(topic, [
          { key: 'p1', value: JSON.stringify({ patientId: 'p1', drug: 'ibuprofen' }) },
          { key: 'p2', value: JSON.stringify({ patientId: 'p2' }) },
          { key: 'p3', value: JSON.stringify({ patientId: 'p3', drug: 'paracetamol', ssn: '123' }) },
        ]);
        let dead: KafkaMessage[] = [];
        try {
          await app.init();
          dead = await observe(`${topic}-dlq`);
          await until(async () => (await committed(groupId, topic))[0] === 3);
          // Dead letters are written before their offsets are committed; wait until the observer has them.
          await until(() => dead.length >= 2);
        } finally {
          await app.close();
        }
        expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(2);
        return { handled, dead };
      }

      it('@Ctx(), @Ack() and @Key() are passed through untouched and the handler runs for a valid payload', async () => {
        const { handled } = await runWithGlobalValidation();
        const valid = handled.find((h) => h.key === 'p1');
        expect(valid).toBeDefined();
        // Had the pipe treated the context as input it would have rejected the record (no metadata).
        expect(valid?.ctx).toBeInstanceOf(KafkaContext);
        expect((valid?.ctx as KafkaContext).offset).toBe('0');
        expect(typeof (valid?.ack as Acknowledgment).acknowledge).toBe('function');
      });

      it('the @Payload() class is validated: invalid payloads are dead-lettered (400) and valid ones arrive as class instances', async () => {
        const { handled, dead } = await runWithGlobalValidation();
        expect(handled.map((h) => h.key)).toEqual(['p1']);
        expect(handled[0].taken).toBeInstanceOf(MedicationTaken);
        expect(handled[0].taken).toEqual({ patientId: 'p1', drug: 'ibuprofen' });
        // Missing field, then a field outside the class: both are 400s, not retried.
        expect(dead.map((m) => m.key?.toString())).toEqual(['p2', 'p3']);
        expect(dead.map((m) => headersOf(m)[DLT_HEADERS.errorClass])).toEqual([
          'BadRequestException',
          'BadRequestException',
        ]);
        expect(dead.map((m) => headersOf(m)[DLT_HEADERS.attempts])).toEqual(['1', '1']);
      });
    });
  });

  describe('listener registry', () => {
    it('lists status, pauses and resumes consumption, and stop/start continues from the committed offset without duplicates', async () => {
      const topic = await createTopic(admin, 'registry', 2);
      const groupId = uniqueName('g-registry');
      const seen: number[] = [];
      const seenAt = new Map<number, number>();
      const batch = (from: number) =>
        [0, 1, 2, 3].map((i) => ({ value: JSON.stringify({ n: from + i }), partition: i % 2 }));

      @Injectable()
      class VitalsListener {
        @KafkaListener({ id: 'vitals', topics: [topic], groupId, fromBeginning: true, concurrency: 2 })
        handle(@Payload() payload: { n: number }) {
          seen.push(payload.n);
          seenAt.set(payload.n, Date.now());
        }
      }

      await produce(topic, batch(0));
      const app = await startListenerApp([VitalsListener]);
      const registry = app.app.get(KafkaListenerRegistry);
      const committedBoth = async (each: number) => {
        const offsets = await committed(groupId, topic);
        return offsets[0] === each && offsets[1] === each;
      };
      try {
        await until(() => committedBoth(2));
        const [status] = registry.list();
        expect(status).toMatchObject({
          id: 'vitals',
          groupId,
          topics: [topic],
          state: 'running',
          inFlight: 0,
        });
        expect(Object.keys(status.assignment)).toEqual([topic]);
        expect([...status.assignment[topic]].sort()).toEqual([0, 1]);
        expect(status.counters).toMatchObject({
          processed: 4,
          failed: 0,
          retried: 0,
          deadLettered: 0,
          skipped: 0,
        });
        expect(status.counters.commits).toBeGreaterThan(0);

        registry.pause('vitals');
        expect(registry.status('vitals').state).toBe('paused');
        await produce(topic, batch(4));
        // Fetch cycles in which a pause that did not hold would hand these records over.
        await sleep(2_000);
        const pausedState = registry.status('vitals').state;

        const resumedAt = Date.now();
        registry.resume('vitals');
        expect(registry.status('vitals').state).toBe('running');
        await until(() => committedBoth(4));
        expect(pausedState).toBe('paused');
        // Handled, and only after the resume: none of them while paused.
        expect([4, 5, 6, 7].filter((n) => (seenAt.get(n) ?? 0) < resumedAt)).toEqual([]);
        expect(seen).toHaveLength(8);

        await registry.stop('vitals');
        expect(registry.status('vitals')).toMatchObject({ state: 'stopped', assignment: {} });
        await produce(topic, batch(8));

        const startedAt = Date.now();
        await registry.start('vitals');
        expect(registry.status('vitals').state).toBe('running');
        await until(() => committedBoth(6));
        expect([8, 9, 10, 11].filter((n) => (seenAt.get(n) ?? 0) < startedAt)).toEqual([]);
      } finally {
        await app.close();
      }
      // Each exactly once: stop/start continued from the committed offsets.
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, n) => n));
    });

    it('autoStartup: false does not consume until the registry starts the listener', async () => {
      const topic = await createTopic(admin, 'lazy', 1);
      const groupId = uniqueName('g-lazy');
      const eagerTopic = await createTopic(admin, 'eager', 1);
      const seen: { n: number; at: number }[] = [];
      const eagerSeen: number[] = [];

      @Injectable()
      class LazyListener {
        @KafkaListener({ id: 'lazy', topics: [topic], groupId, fromBeginning: true, autoStartup: false })
        handle(@Payload() payload: { n: number }) {
          seen.push({ n: payload.n, at: Date.now() });
        }

        // Started with the application: once it has handled its record, a lazy listener started by
        // mistake would have had the same time to consume.
        @KafkaListener({
          id: 'eager',
          topics: [eagerTopic],
          groupId: uniqueName('g-eager'),
          fromBeginning: true,
        })
        eager(@Payload() payload: { n: number }) {
          eagerSeen.push(payload.n);
        }
      }

      await produce(
        topic,
        [0, 1, 2].map((n) => ({ value: JSON.stringify({ n }) })),
      );
      await produce(eagerTopic, [{ value: JSON.stringify({ n: 0 }) }]);
      const app = await startListenerApp([LazyListener]);
      const registry = app.app.get(KafkaListenerRegistry);
      let startedAt = 0;
      try {
        expect(registry.status('lazy').state).toBe('stopped');
        await until(() => eagerSeen.length === 1);
        expect(registry.status('lazy').state).toBe('stopped');

        startedAt = Date.now();
        await registry.start('lazy');
        expect(registry.status('lazy').state).toBe('running');
        await until(async () => (await committed(groupId, topic))[0] === 3);
      } finally {
        await app.close();
      }
      expect(seen.map((s) => s.n)).toEqual([0, 1, 2]);
      // None before the registry started it.
      expect(seen.filter((s) => s.at < startedAt)).toEqual([]);
    });
  });

  describe('bootstrap validation', () => {
    /** The error the application's start fails with (the test fails if it starts). */
    async function startupError(providers: Provider[]): Promise<Error> {
      let app: Awaited<ReturnType<typeof startListenerApp>>;
      try {
        app = await startListenerApp(providers);
      } catch (error) {
        return error as Error;
      }
      await app.close();
      throw new Error('the application started despite an invalid listener');
    }

    // Validation runs before the broker is contacted, so these topics never need to exist.
    const topic = 'never-created';

    it('a listener without topics fails startup, named by its default id Class.method', async () => {
      @Injectable()
      class NoTopicsListener {
        @KafkaListener({ topics: [], groupId: 'g' })
        handle() {}
      }
      const error = await startupError([NoTopicsListener]);
      expect(error).toBeInstanceOf(ListenerConfigurationError);
      expect(error.message).toContain('@KafkaListener NoTopicsListener.handle:');
      expect(error.message).toContain('topics');
    });

    it('an unknown ackMode fails startup, naming the listener', async () => {
      @Injectable()
      class BadAckListener {
        @KafkaListener({ id: 'bad-ack', topics: [topic], groupId: 'g', ackMode: 'eventually' as AckMode })
        handle() {}
      }
      const error = await startupError([BadAckListener]);
      expect(error).toBeInstanceOf(ListenerConfigurationError);
      expect(error.message).toContain('@KafkaListener bad-ack:');
      expect(error.message).toContain('unknown ackMode "eventually"');
    });

    it.each([
      ['an arrow function', (() => ({})) as unknown as new () => object],
      ['a plain object', {} as unknown as new () => object],
    ])('a payload that is %s instead of a class fails startup, naming the listener', async (_, payload) => {
      @Injectable()
      class BadPayloadListener {
        @KafkaListener({ id: 'bad-payload', topics: [topic], groupId: 'g', payload })
        handle() {}
      }
      const error = await startupError([BadPayloadListener]);
      expect(error).toBeInstanceOf(ListenerConfigurationError);
      expect(error.message).toContain('@KafkaListener bad-payload:');
      expect(error.message).toContain('"payload" must be a class');
    });

    it('a batch listener with manual acknowledgment fails startup, naming the listener', async () => {
      @Injectable()
      class ManualBatchListener {
        @KafkaListener({ id: 'manual-batch', topics: [topic], groupId: 'g', batch: true, ackMode: 'manual' })
        handle() {}
      }
      const error = await startupError([ManualBatchListener]);
      expect(error).toBeInstanceOf(ListenerConfigurationError);
      expect(error.message).toContain('@KafkaListener manual-batch:');
      expect(error.message).toContain('"batch"');
    });

    it('a class-level @KafkaListener without @KafkaHandler methods fails startup, naming the listener', async () => {
      @Injectable()
      @KafkaListener({ id: 'empty-router', topics: [topic], groupId: 'g' })
      class EmptyRouter {
        handle() {}
      }
      const error = await startupError([EmptyRouter]);
      expect(error).toBeInstanceOf(ListenerConfigurationError);
      expect(error.message).toContain('@KafkaListener empty-router:');
      expect(error.message).toContain('@KafkaHandler');
    });
  });
});
