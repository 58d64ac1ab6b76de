import { randomBytes, randomUUID } from 'node:crypto';
import { Consumer, KafkaMessage, Producer } from 'kafkajs';
import { TOPICS } from '@app/contracts';
import { Database, DATABASE } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { LoggingServiceModule } from '../../apps/logging-service/src/logging-service.module';
import type { LogEntry } from '../../apps/logging-service/src/log-entries/log-entries.repository';
import { AuditStore, StoredAuditEvent } from '../../apps/logging-service/src/audit/audit-store';
import { rawKafka, testBrokers, uniqueName } from '../support/kafka';
import { headersOf } from '../support/listener-app';
import { eventually, RunningService, startService } from '../support/service-app';

/** An audit event as the REST API shows it (dates as JSON strings). */
type AuditItem = Omit<StoredAuditEvent, 'occurredAt'> & { occurredAt: string };

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

interface LogSeed {
  eventId?: string;
  service: string;
  level?: string;
  operation?: string;
  message?: string;
  context?: Record<string, unknown>;
  durationMs?: number;
  occurredAt: Date;
  correlationId?: string;
}

interface AuditSeed {
  eventId?: string;
  streamId: string;
  eventType: string;
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  actor: string;
  patientId?: string;
  data: Record<string, unknown>;
  occurredAt: Date;
}

const day = (n: number, hour = 0) => new Date(Date.UTC(2026, 0, n, hour));

/**
 * The logging-service on its own, through the real broker and PostgreSQL: operation logs and audit
 * events are produced to its topics the way any service publishes them (envelope headers included),
 * and read back through its HTTP API.
 */
describe('logging-service: log search, audit trail API and analytics facts', () => {
  const token = `audit-${randomBytes(16).toString('hex')}`;
  const ACCESS_STREAM = 'AuditAccess/auditor';
  let database: TestDatabase;
  let logging: RunningService;
  let db: Database;
  let store: AuditStore;
  let producer: Producer;
  let factConsumer: Consumer;
  const facts: KafkaMessage[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('kc_logging');
    logging = await startService('logging-service', LoggingServiceModule, {
      KAFKA_BROKERS: testBrokers().join(','),
      DATABASE_URL: database.url,
      AUDIT_READER_TOKENS: `auditor:${token}`,
    });
    db = logging.app.get<Database>(DATABASE);
    store = logging.app.get(AuditStore);
    producer = rawKafka().producer();
    await producer.connect();
    factConsumer = rawKafka().consumer({ groupId: uniqueName('facts-observer'), maxWaitTimeInMs: 100 });
    await factConsumer.connect();
    await factConsumer.subscribe({ topic: TOPICS.analyticsEvents, fromBeginning: true });
    await factConsumer.run({ eachMessage: async ({ message }) => void facts.push(message) });
  });

  afterAll(async () => {
    await factConsumer?.disconnect();
    await producer?.disconnect();
    await logging?.close();
    await database?.drop();
  });

  /** Publishes operation logs with the envelope a KafkaPublisher puts on them; resolves to their ids. */
  async function produceLogs(logs: LogSeed[]): Promise<string[]> {
    const ids = logs.map((l) => l.eventId ?? randomUUID());
    await producer.send({
      topic: TOPICS.loggingEvents,
      acks: -1,
      messages: logs.map(({ eventId: _, correlationId, ...log }, i) => {
        const operation = log.operation ?? 'test.op';
        return {
          key: operation,
          value: JSON.stringify({ level: 'info', message: 'done', ...log, operation }),
          headers: {
            'event-id': ids[i],
            'event-type': 'operation-log.recorded',
            'schema-version': '1',
            'correlation-id': correlationId ?? ids[i],
            source: 'test',
          },
        };
      }),
    });
    return ids;
  }

  async function produceAudit(events: AuditSeed[]): Promise<string[]> {
    const ids = events.map((e) => e.eventId ?? randomUUID());
    await producer.send({
      topic: TOPICS.auditEvents,
      acks: -1,
      messages: events.map(({ eventId: _, ...event }, i) => ({
        key: event.streamId,
        value: JSON.stringify({
          outcome: 'success',
          sourceService: 'monolith',
          purpose: 'treatment',
          ...event,
        }),
        headers: {
          'event-id': ids[i],
          'event-type': 'audit.recorded',
          'schema-version': '1',
          'correlation-id': ids[i],
          source: 'test',
        },
      })),
    });
    return ids;
  }

  async function get<T = Record<string, unknown>>(
    path: string,
    options: { token?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const bearer = options.token === undefined ? token : options.token;
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    const response = await fetch(`${logging.url}${path}`, { headers });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** GET that must answer 200; shows the body when it does not. */
  async function ok<T>(path: string, headers?: Record<string, string>): Promise<T> {
    const answer = await get<T>(path, { headers });
    expect({ path, status: answer.status, body: answer.status === 200 ? 'ok' : answer.body }).toEqual({
      path,
      status: 200,
      body: 'ok',
    });
    return answer.body;
  }

  const stream = (streamId: string) => `/audit/streams/${encodeURIComponent(streamId)}`;
  const logsOf = async (query: string) =>
    (await ok<{ items: LogEntry[]; nextCursor: string | null }>(`/logs?${query}`)).items;
  const accessVersion = async () => (await store.streamSummary(ACCESS_STREAM))?.version ?? 0;
  const factsFor = (sourceEventId: string) =>
    facts
      .map((m) => ({
        value: JSON.parse(m.value!.toString()) as Record<string, unknown>,
        headers: headersOf(m),
      }))
      .filter((f) => f.value.sourceEventId === sourceEventId);

  /** Waits until the service stored `count` audit events of the actor. */
  const auditStored = (actor: string, count: number) =>
    eventually(
      async () => ((await store.search({ actor, limit: 500 })).items.length >= count ? true : undefined),
      60_000,
    );

  describe('GET /logs', () => {
    const service = uniqueName('svc');
    const [corrA, corrB] = [uniqueName('corr'), uniqueName('corr')];
    let ids: string[];

    beforeAll(async () => {
      ids = await produceLogs([
        { service, level: 'info', operation: 'patient.created', occurredAt: day(1, 8), correlationId: corrA },
        { service, level: 'warn', operation: 'patient.updated', occurredAt: day(1, 9), correlationId: corrA },
        {
          service,
          level: 'error',
          operation: 'assessment.recorded',
          occurredAt: day(2, 8),
          correlationId: corrB,
        },
        {
          service,
          level: 'info',
          operation: 'assessment.recorded',
          occurredAt: day(2, 9),
          correlationId: corrB,
        },
        { service, level: 'debug', operation: 'patient.updated', occurredAt: day(3, 8) },
      ]);
      await eventually(
        async () => ((await logsOf(`service=${service}`)).length === 5 ? true : undefined),
        60_000,
      );
    });

    it('finds entries by correlation id, service, level, operation and time range, newest first', async () => {
      const pick = (...indexes: number[]) => indexes.map((i) => ids[i]);
      const idsOf = async (query: string) =>
        (await logsOf(`service=${service}&${query}`)).map((e) => e.eventId);

      expect((await logsOf(`service=${service}`)).map((e) => e.eventId)).toEqual(pick(4, 3, 2, 1, 0));
      expect((await logsOf(`correlationId=${corrA}`)).map((e) => e.eventId)).toEqual(pick(1, 0));
      expect(await idsOf('level=info')).toEqual(pick(3, 0));
      expect(await idsOf('operation=patient.updated')).toEqual(pick(4, 1));
      expect(await idsOf('operation=assessment.recorded&level=error')).toEqual(pick(2));
      // Both ends inclusive.
      expect(await idsOf(`from=${day(1, 9).toISOString()}&to=${day(2, 9).toISOString()}`)).toEqual(
        pick(3, 2, 1),
      );
      expect(await idsOf(`from=${day(3).toISOString()}`)).toEqual(pick(4));
      expect(await idsOf(`to=${day(1, 8).toISOString()}`)).toEqual(pick(0));

      const [entry] = await logsOf(`correlationId=${corrB}&level=error`);
      expect(entry).toEqual({
        eventId: ids[2],
        service,
        level: 'error',
        operation: 'assessment.recorded',
        message: 'done',
        context: null,
        correlationId: corrB,
        occurredAt: day(2, 8).toISOString(),
      });
    });

    it('pages newest first without gaps or duplicates, also while newer entries arrive', async () => {
      const paged = uniqueName('paged');
      // Three entries share one instant: the event id orders them.
      const times = [1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9].map((m) => new Date(Date.UTC(2026, 1, 1, 0, m)));
      const seeded = await produceLogs(times.map((occurredAt) => ({ service: paged, occurredAt })));
      const all = await eventually(async () => {
        const items = await logsOf(`service=${paged}&limit=500`);
        return items.length === seeded.length ? items : undefined;
      }, 60_000);
      expect(new Set(all.map((e) => e.eventId))).toEqual(new Set(seeded));

      type Page = { items: LogEntry[]; nextCursor: string | null };
      const first = await ok<Page>(`/logs?service=${paged}&limit=4`);
      expect(first.items).toHaveLength(4);
      expect(first.nextCursor).toEqual(expect.any(String));

      // Newer entries arrive between pages: they belong before the first page, not in later ones.
      const newer = await produceLogs(
        [1, 2, 3].map((d) => ({ service: paged, occurredAt: new Date(Date.UTC(2026, 1, 2, d)) })),
      );
      await eventually(
        async () => ((await logsOf(`service=${paged}&limit=500`)).length === 14 ? true : undefined),
        60_000,
      );

      const collected = [...first.items];
      let cursor = first.nextCursor;
      const pageSizes = [first.items.length];
      while (cursor) {
        const page = await ok<Page>(`/logs?service=${paged}&limit=4&cursor=${cursor}`);
        collected.push(...page.items);
        pageSizes.push(page.items.length);
        cursor = page.nextCursor;
      }
      expect(pageSizes).toEqual([4, 4, 3]);
      // Exactly the entries of one complete search at the start, in its order.
      expect(collected.map((e) => e.eventId)).toEqual(all.map((e) => e.eventId));
      expect(collected.some((e) => newer.includes(e.eventId))).toBe(false);
      const instants = collected.map((e) => Date.parse(e.occurredAt));
      expect(instants.every((t, i) => i === 0 || t <= instants[i - 1])).toBe(true);
    });

    it('answers bad queries with 400 naming the fields', async () => {
      const bad = await get<{ message: string; fields: { field: string }[] }>(
        '/logs?level=loud&limit=0&from=yesterday&cursor=abc&operation=&sort=asc',
        { token: null },
      );
      expect(bad.status).toBe(400);
      expect(bad.body.fields.map((f) => f.field).sort()).toEqual([
        'cursor',
        'from',
        'level',
        'limit',
        'sort',
      ]);

      const reversed = await get<{ message: string; fields: { field: string; errors: string[] }[] }>(
        `/logs?from=${day(2).toISOString()}&to=${day(1).toISOString()}`,
      );
      expect(reversed.status).toBe(400);
      expect(reversed.body.message).toBe('Invalid fields: to');
      expect(reversed.body.fields).toEqual([{ field: 'to', errors: ['to must not be before from'] }]);

      const tooMany = await get<{ fields: { field: string }[] }>('/logs?limit=501');
      expect(tooMany.body.fields.map((f) => f.field)).toEqual(['limit']);
    });
  });

  describe('audit API', () => {
    const patientId = randomUUID();
    const patientStream = `Patient/${patientId}`;
    const clinician = `Practitioner/${uniqueName('doc')}`;

    beforeAll(async () => {
      await produceAudit([
        {
          streamId: patientStream,
          eventType: 'patient.created',
          action: 'C',
          actor: clinician,
          patientId,
          data: { name: 'Ada', ward: 'A' },
          occurredAt: day(1),
        },
        {
          streamId: patientStream,
          eventType: 'patient.updated',
          action: 'U',
          actor: clinician,
          patientId,
          data: { ward: 'B' },
          occurredAt: day(2),
        },
        {
          streamId: patientStream,
          eventType: 'patient.read',
          action: 'R',
          actor: clinician,
          patientId,
          data: { fields: ['ward'] },
          occurredAt: day(3),
        },
        {
          streamId: patientStream,
          eventType: 'patient.updated',
          action: 'U',
          actor: clinician,
          patientId,
          data: { ward: 'C', bed: 4 },
          occurredAt: day(4),
        },
        {
          streamId: patientStream,
          eventType: 'patient.updated',
          action: 'U',
          actor: clinician,
          patientId,
          data: { name: 'Ada L.' },
          occurredAt: day(5),
        },
      ]);
      await auditStored(clinician, 5);
    });

    it('refuses every route without a token or with a wrong one (401) and records nothing', async () => {
      const before = await accessVersion();
      const routes = [
        `${stream(patientStream)}/events`,
        `${stream(patientStream)}/state?version=1`,
        `${stream(patientStream)}/verify`,
        `/audit/events?actor=${encodeURIComponent(clinician)}`,
      ];
      for (const route of routes) {
        for (const credential of [null, `${token}x`, 'auditor', '']) {
          const answer = await get<{ message: string }>(route, { token: credential });
          expect({ route, credential, status: answer.status }).toEqual({ route, credential, status: 401 });
          expect(answer.body.message).toMatch(/valid audit reader token is required/);
        }
        // The token in another scheme is no bearer credential.
        const basic = await get(route, { token: null, headers: { authorization: `Basic ${token}` } });
        expect(basic.status).toBe(401);
      }
      expect(await accessVersion()).toBe(before);
    });

    it('pages a stream by version; the URL-encoded stream id arrives decoded', async () => {
      type History = { streamId: string; events: AuditItem[]; nextVersion: number | null };
      const first = await ok<History>(`${stream(patientStream)}/events?limit=2`);
      expect(first.streamId).toBe(patientStream);
      expect(first.events.map((e) => e.version)).toEqual([1, 2]);
      expect(first.nextVersion).toBe(3);
      expect(first.events[0]).toMatchObject({
        streamId: patientStream,
        eventType: 'patient.created',
        action: 'C',
        actor: clinician,
        patientId,
        data: { name: 'Ada', ward: 'A' },
        occurredAt: day(1).toISOString(),
        prevHash: null,
      });
      const second = await ok<History>(`${stream(patientStream)}/events?fromVersion=3&limit=2`);
      expect(second.events.map((e) => e.version)).toEqual([3, 4]);
      expect(second.nextVersion).toBe(5);
      const last = await ok<History>(`${stream(patientStream)}/events?fromVersion=5&limit=2`);
      expect(last.events.map((e) => e.version)).toEqual([5]);
      expect(last.nextVersion).toBeNull();
      const all = await ok<History>(`${stream(patientStream)}/events`);
      expect(all.events.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      expect(all.nextVersion).toBeNull();

      const unknown = await get<{ message: string }>(`${stream(`Patient/${randomUUID()}`)}/events`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.message).toMatch(/No audit stream Patient\//);
    });

    it('rebuilds the state as of an earlier version and as of an earlier time', async () => {
      type State = { streamId: string; version: number; asOf: string; state: Record<string, unknown> | null };
      expect(await ok<State>(`${stream(patientStream)}/state?version=1`)).toEqual({
        streamId: patientStream,
        version: 1,
        asOf: day(1).toISOString(),
        state: { name: 'Ada', ward: 'A' },
      });
      // A read (version 3) changes nothing.
      expect(await ok<State>(`${stream(patientStream)}/state?version=3`)).toMatchObject({
        version: 3,
        state: { name: 'Ada', ward: 'B' },
      });
      expect(await ok<State>(`${stream(patientStream)}/state?at=${day(4, 12).toISOString()}`)).toEqual({
        streamId: patientStream,
        version: 4,
        asOf: day(4, 12).toISOString(),
        state: { name: 'Ada', ward: 'C', bed: 4 },
      });
      expect(await ok<State>(`${stream(patientStream)}/state?at=${day(2).toISOString()}`)).toMatchObject({
        version: 2,
        state: { name: 'Ada', ward: 'B' },
      });
      // Before the entity existed.
      expect(await ok<State>(`${stream(patientStream)}/state?at=2025-12-31T00:00:00.000Z`)).toMatchObject({
        version: 0,
        state: null,
      });
      const beyond = await get<{ message: string }>(`${stream(patientStream)}/state?version=6`);
      expect(beyond.status).toBe(404);
      expect(beyond.body.message).toContain('latest is 5');
    });

    it('verifies a stream, and names the first broken version once a row is tampered with', async () => {
      const streamId = `Patient/${randomUUID()}`;
      const actor = `Practitioner/${uniqueName('tamper')}`;
      await produceAudit(
        [1, 2, 3, 4].map((n) => ({
          streamId,
          eventType: n === 1 ? 'patient.created' : 'patient.updated',
          action: n === 1 ? ('C' as const) : ('U' as const),
          actor,
          data: { ward: `W${n}` },
          occurredAt: day(n),
        })),
      );
      await auditStored(actor, 4);
      expect(await ok(`${stream(streamId)}/verify`)).toEqual({ streamId, valid: true, checked: 4 });

      // What a superuser could do: switch the append-only triggers off and rewrite history.
      await db.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query(
          `UPDATE audit_events SET data = '{"ward":"forged"}' WHERE stream_id = $1 AND version = 3`,
          [streamId],
        );
      });
      expect(await ok(`${stream(streamId)}/verify`)).toEqual({
        streamId,
        valid: false,
        checked: 4,
        firstBrokenVersion: 3,
      });
      expect((await get(`${stream(`Patient/${randomUUID()}`)}/verify`)).status).toBe(404);
    });

    it('searches by actor, event type, patient and time window in position order, page by page', async () => {
      const [alice, bob] = [`Practitioner/${uniqueName('alice')}`, `Practitioner/${uniqueName('bob')}`];
      const [p1, p2] = [randomUUID(), randomUUID()];
      const assessment = `PainAssessment/${randomUUID()}`;
      const ids = await produceAudit([
        {
          streamId: `Patient/${p1}`,
          eventType: 'patient.created',
          action: 'C',
          actor: alice,
          patientId: p1,
          data: { name: 'P1' },
          occurredAt: day(10),
        },
        {
          streamId: `Patient/${p1}`,
          eventType: 'patient.updated',
          action: 'U',
          actor: bob,
          patientId: p1,
          data: { ward: 'X' },
          occurredAt: day(11),
        },
        {
          streamId: assessment,
          eventType: 'assessment.recorded',
          action: 'C',
          actor: alice,
          patientId: p1,
          data: { score: 8 },
          occurredAt: day(12),
        },
        {
          streamId: `Patient/${p2}`,
          eventType: 'patient.created',
          action: 'C',
          actor: alice,
          patientId: p2,
          data: { name: 'P2' },
          occurredAt: day(13),
        },
      ]);
      await auditStored(alice, 3);
      await auditStored(bob, 1);

      type Page = { items: AuditItem[]; nextCursor: string | null };
      const search = (query: string) => ok<Page>(`/audit/events?${query}`);
      const idsOf = async (query: string) => (await search(query)).items.map((e) => e.eventId).sort();
      const byActor = await search(`actor=${encodeURIComponent(alice)}`);
      expect(byActor.items.map((e) => e.eventId).sort()).toEqual([ids[0], ids[2], ids[3]].sort());
      const positions = byActor.items.map((e) => BigInt(e.position));
      expect(positions.every((p, i) => i === 0 || p > positions[i - 1])).toBe(true);
      expect(byActor.nextCursor).toBeNull();

      expect(await idsOf(`patientId=${p1}`)).toEqual([ids[0], ids[1], ids[2]].sort());
      expect(await idsOf(`patientId=${p1}&eventType=assessment.recorded`)).toEqual([ids[2]]);
      expect(await idsOf(`actor=${encodeURIComponent(alice)}&eventType=patient.created`)).toEqual(
        [ids[0], ids[3]].sort(),
      );
      expect(
        await idsOf(`patientId=${p1}&from=${day(11).toISOString()}&to=${day(12).toISOString()}`),
      ).toEqual([ids[1], ids[2]].sort());

      // Reads of a patient's trail are audited under that patient too: who looked, when, why.
      const looked = await search(`patientId=${p1}&eventType=audit.read`);
      expect(looked.items.length).toBeGreaterThanOrEqual(3);
      expect(looked.items.every((e) => e.actor === 'auditor' && e.streamId === ACCESS_STREAM)).toBe(true);

      // One per page (the window leaves out those reads): the cursor is the last position, and
      // the last page says so.
      const walked: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const window = `patientId=${p1}&to=${day(12).toISOString()}`;
        const page: Page = await search(`${window}&limit=1${after ? `&after=${after}` : ''}`);
        walked.push(...page.items.map((e) => e.eventId));
        if (page.items.length > 0)
          expect(page.nextCursor ?? page.items[0].position).toBe(page.items[0].position);
        after = page.nextCursor;
        if (!after) break;
      }
      expect(walked).toHaveLength(3);
      expect([...walked].sort()).toEqual([ids[0], ids[1], ids[2]].sort());
    });

    it('pages search results while events are appended concurrently: no gaps, no duplicates', async () => {
      const tag = uniqueName('busy');
      const actor = `Practitioner/${tag}`;
      const expected: string[] = [];
      let writing = true;
      // Through the broker, as the services publish them...
      const viaKafka = (async () => {
        for (let batch = 0; batch < 6; batch++) {
          const events = Array.from({ length: 5 }, (_, i) => {
            const streamId = `Patient/${tag}-${batch % 3}`;
            return {
              streamId,
              eventType: 'patient.updated',
              action: 'U' as const,
              actor,
              data: { n: batch * 5 + i },
              occurredAt: new Date(),
            };
          });
          expected.push(...(await produceAudit(events)));
        }
      })();
      // ...and straight into the store from several transactions at once, each held open a little.
      const direct = Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let n = 0; n < 10; n++) {
            const eventId = `${tag}-direct-${w}-${n}`;
            await db.transaction(async (tx) => {
              await store.append(tx, {
                eventId,
                streamId: `PainAssessment/${tag}-${w}`,
                eventType: 'assessment.recorded',
                action: 'C',
                actor,
                outcome: 'success',
                sourceService: 'monolith',
                data: { n },
                occurredAt: new Date(),
              });
              await tx.query('SELECT pg_sleep($1)', [Math.random() * 0.02]);
            });
            expected.push(eventId);
          }
        }),
      );
      const writers = Promise.all([viaKafka, direct]).finally(() => (writing = false));

      type Page = { items: AuditItem[]; nextCursor: string | null };
      const seen: AuditItem[] = [];
      let after: string | undefined;
      const readPage = async () => {
        const query = `actor=${encodeURIComponent(actor)}&limit=4${after ? `&after=${after}` : ''}`;
        const page = await ok<Page>(`/audit/events?${query}`);
        seen.push(...page.items);
        // The last position seen, also after a final page, to follow what arrives later.
        if (page.items.length > 0) after = page.items[page.items.length - 1].position;
        return page;
      };
      while (writing) await readPage();
      await writers;
      await auditStored(actor, 70);
      while ((await readPage()).nextCursor !== null);

      const ids = seen.map((e) => e.eventId);
      expect(ids).toHaveLength(70);
      expect(new Set(ids).size).toBe(70);
      expect([...ids].sort()).toEqual([...expected].sort());
      const positions = seen.map((e) => BigInt(e.position));
      expect(positions.every((p, i) => i === 0 || p > positions[i - 1])).toBe(true);
    });

    it('audits every answered read in AuditAccess/<reader>', async () => {
      const before = await accessVersion();
      const correlationId = uniqueName('read');
      const headers = { 'x-purpose': 'legal-hold', 'x-correlation-id': correlationId };
      await ok(`${stream(patientStream)}/events?fromVersion=2&limit=2`, headers);
      await ok(`${stream(patientStream)}/state?at=${day(2).toISOString()}`, headers);
      await ok(`${stream(patientStream)}/verify`);
      await ok(`/audit/events?patientId=${patientId}&from=${day(1).toISOString()}&limit=10`);
      // A 404 is no answered read.
      expect((await get(`${stream(`Patient/${randomUUID()}`)}/verify`)).status).toBe(404);

      const reads = (await store.history(ACCESS_STREAM, before + 1)).map((e) => ({
        ...e,
        occurredAt: e.occurredAt.toISOString(),
      }));
      const common = {
        streamId: ACCESS_STREAM,
        eventType: 'audit.read',
        action: 'R',
        actor: 'auditor',
        outcome: 'success',
        sourceService: 'logging-service',
        patientId,
      };
      expect(reads).toEqual([
        expect.objectContaining({
          ...common,
          version: before + 1,
          purpose: 'legal-hold',
          correlationId,
          data: {
            route: 'GET /audit/streams/:streamId/events',
            streamId: patientStream,
            query: { fromVersion: 2, limit: 2 },
          },
        }),
        expect.objectContaining({
          ...common,
          purpose: 'legal-hold',
          correlationId,
          data: {
            route: 'GET /audit/streams/:streamId/state',
            streamId: patientStream,
            query: { at: day(2).toISOString() },
          },
        }),
        expect.objectContaining({
          ...common,
          purpose: 'audit',
          correlationId: null,
          data: { route: 'GET /audit/streams/:streamId/verify', streamId: patientStream, query: {} },
        }),
        expect.objectContaining({
          ...common,
          purpose: 'audit',
          data: {
            route: 'GET /audit/events',
            query: { patientId, from: day(1).toISOString(), limit: 10 },
          },
        }),
      ]);
      // The access trail is itself a chained stream, readable through the API.
      expect(await ok(`${stream(ACCESS_STREAM)}/verify`)).toMatchObject({ valid: true });
      // Reading the access trail concerns the reader, not the last patient it names.
      const [selfRead] = await store.history(ACCESS_STREAM, await accessVersion());
      expect(selfRead).toMatchObject({
        patientId: null,
        data: { route: 'GET /audit/streams/:streamId/verify', streamId: ACCESS_STREAM, query: {} },
      });
    });

    it('answers bad input on every route with 400 naming the fields, and records no read', async () => {
      const before = await accessVersion();
      type Bad = { message: string; fields: { field: string; errors: string[] }[] };
      const cases: [string, string[], Record<string, string>?][] = [
        [`/audit/streams/not-a-stream/events`, ['streamId']],
        [
          `${stream(patientStream)}/events?fromVersion=0&limit=501&extra=1`,
          ['extra', 'fromVersion', 'limit'],
        ],
        [`${stream(patientStream)}/events?fromVersion=two`, ['fromVersion']],
        [`${stream(patientStream)}/state`, ['at', 'version']],
        [`${stream(patientStream)}/state?version=1&at=${day(1).toISOString()}`, ['at', 'version']],
        [`${stream(patientStream)}/state?version=0`, ['version']],
        [`${stream(patientStream)}/state?at=someday`, ['at']],
        [`${stream('patient/lowercase')}/verify`, ['streamId']],
        [`/audit/events?after=-1&limit=0`, ['after', 'limit']],
        [`/audit/events?from=${day(2).toISOString()}&to=${day(1).toISOString()}`, ['to']],
        [`/audit/events?actor=&eventType=${'e'.repeat(101)}&page=2`, ['actor', 'eventType', 'page']],
        [`/audit/events`, ['x-purpose'], { 'x-purpose': 'p'.repeat(201) }],
        [`${stream(patientStream)}/verify`, ['x-correlation-id'], { 'x-correlation-id': 'c'.repeat(129) }],
      ];
      for (const [path, fields, headers] of cases) {
        const answer = await get<Bad>(path, { headers });
        expect({
          path,
          status: answer.status,
          fields: answer.body.fields?.map((f) => f.field).sort(),
        }).toEqual({
          path,
          status: 400,
          fields,
        });
        expect(answer.body.message).toBe(
          `Invalid fields: ${answer.body.fields.map((f) => f.field).join(', ')}`,
        );
      }
      const exactlyOne = await get<Bad>(`${stream(patientStream)}/state`);
      expect(exactlyOne.body.fields[0].errors).toEqual(['give exactly one of version and at']);
      expect(await accessVersion()).toBe(before);
    });
  });

  describe('analytics facts', () => {
    it('derives one fact per stored log, with the typed context dimensions, despite redelivery', async () => {
      const operation = uniqueName('assessment.recorded');
      const service = uniqueName('facts');
      const patientId = randomUUID();
      const correlationId = uniqueName('corr');
      const [stored, good, malformed, marker] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];

      // Already stored under its event id by another path, so the inbox has not seen it: the entry
      // is not new, and neither may its fact be.
      await db.query(
        `INSERT INTO log_entries (event_id, service, level, operation, message, occurred_at,
                                  source_topic, source_partition, source_offset)
         VALUES ($1, $2, 'info', $3, 'done', $4, 'elsewhere', 0, 0)`,
        [stored, service, operation, day(21)],
      );

      // One key, so one partition and one relay order: once the marker's fact is out, the rest is too.
      const log = (eventId: string, extra: Partial<LogSeed>): LogSeed => ({
        eventId,
        service,
        operation,
        occurredAt: day(21),
        ...extra,
      });
      await produceLogs([
        log(stored, {}),
        log(good, {
          durationMs: 42.5,
          correlationId,
          context: { patientId, ward: '3B', painScore: 7, note: 'ignored' },
        }),
        log(good, {
          durationMs: 42.5,
          correlationId,
          context: { patientId, ward: '3B', painScore: 7, note: 'ignored' },
        }),
        log(malformed, { context: { patientId: 17, ward: 'W'.repeat(51), painScore: '9' } }),
        log(marker, { context: { painScore: 0 } }),
      ]);
      await eventually(async () => (factsFor(marker).length > 0 ? true : undefined), 60_000);

      expect(factsFor(stored)).toHaveLength(0);
      const [fact, ...duplicates] = factsFor(good);
      expect(duplicates).toHaveLength(0);
      expect(fact.value).toEqual({
        eventType: operation,
        service,
        sourceEventId: good,
        durationMs: 42.5,
        patientId,
        ward: '3B',
        painScore: 7,
        occurredAt: day(21).toISOString(),
      });
      // Published from the log's handling: same correlation, caused by the log.
      expect(fact.headers).toMatchObject({
        'event-type': 'analytics.fact',
        'correlation-id': correlationId,
        'causation-id': good,
      });
      expect(factsFor(malformed).map((f) => f.value)).toEqual([
        { eventType: operation, service, sourceEventId: malformed, occurredAt: day(21).toISOString() },
      ]);
      expect(factsFor(marker).map((f) => f.value.painScore)).toEqual([0]);
      // The log itself is stored once with its full context.
      expect((await logsOf(`service=${service}&limit=10`)).map((e) => e.eventId).sort()).toEqual(
        [stored, good, malformed, marker].sort(),
      );
    });
  });
});
