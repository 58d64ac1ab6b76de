import { randomUUID } from 'node:crypto';
import { Admin, Consumer } from 'kafkajs';
import { TOPICS } from '@app/contracts';
import { DLT_HEADERS } from '@app/kafka-core';
import { Database, DATABASE } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { ConfigError, loadServiceConfig } from '@app/platform';
import { MonolithModule } from '../../apps/monolith/src/monolith.module';
import { endOffsetSum, rawKafka, testBrokers, uniqueName } from '../support/kafka';
import { collect, committedOffsets, headersOf } from '../support/listener-app';
import { eventually, RunningService, startService } from '../support/service-app';

/** A record the observer read from one of the monolith's topics. */
interface Observed {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  value: any;
  headers: Record<string, string>;
}

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

const OBSERVED_TOPICS = [
  TOPICS.auditEvents,
  TOPICS.loggingEvents,
  TOPICS.escalationEvents,
  TOPICS.emrSyncEvents,
];
const TABLES = ['patients', 'pain_assessments', 'escalations', 'treatment_protocols', 'protocol_versions'];

/**
 * The monolith against the real broker and PostgreSQL: every change answers over HTTP and leaves its
 * audit and operation log events (and escalations) on Kafka, read back here by a plain consumer.
 */
describe('monolith: patients, pain assessments, protocols and EMR sync', () => {
  let database: TestDatabase;
  let service: RunningService;
  let db: Database;
  let admin: Admin;
  let observer: Consumer;
  const observed: Observed[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('kc_monolith');
    service = await startService('monolith', MonolithModule, {
      KAFKA_BROKERS: testBrokers().join(','),
      DATABASE_URL: database.url,
      PAIN_ESCALATION_THRESHOLD: '7',
      PAIN_ESCALATION_RISE: '3',
    });
    db = service.app.get<Database>(DATABASE);
    admin = rawKafka().admin();
    await admin.connect();
    observer = rawKafka().consumer({ groupId: uniqueName('monolith-observer'), maxWaitTimeInMs: 100 });
    await observer.connect();
    await observer.subscribe({ topics: OBSERVED_TOPICS, fromBeginning: true });
    await observer.run({
      eachMessage: async ({ topic, partition, message }) => {
        let value: unknown = null;
        try {
          value = JSON.parse(message.value?.toString() ?? 'null');
        } catch {
          // Other suites share the broker and may send anything.
        }
        observed.push({
          topic,
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value,
          headers: headersOf(message),
        });
      },
    });
  }, 120_000);

  afterAll(async () => {
    await observer?.disconnect();
    await admin?.disconnect();
    await service?.close();
    await database?.drop();
  });

  async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  }

  /** Waits until at least `count` observed records of `topic` match, and returns them. */
  function published(topic: string, match: (record: Observed) => boolean, count = 1): Promise<Observed[]> {
    return eventually(async () => {
      const found = observed.filter((record) => record.topic === topic && match(record));
      return found.length >= count ? found : undefined;
    }, 30_000);
  }

  // The monolith's own records: a notification-service running in another suite may react to its
  // escalations under the same correlation id.
  const byCorrelation = (correlationId: string) => (record: Observed) =>
    record.headers['correlation-id'] === correlationId && record.headers['source'] === 'monolith';

  let mrnCounter = 0;
  const newMrn = () => `${uniqueName('MRN')}-${++mrnCounter}`;

  async function createPatient(
    overrides: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    const reply = await call(
      'POST',
      '/patients',
      {
        mrn: newMrn(),
        givenName: 'Ada',
        familyName: 'Lovelace',
        birthDate: '1961-04-12',
        ward: '3B',
        ...overrides,
      },
      headers,
    );
    expect(reply.status).toBe(201);
    return reply.body as { id: string; mrn: string; ward: string | null };
  }

  async function assess(patientId: string, score: number, extra: Record<string, unknown> = {}, headers = {}) {
    const reply = await call(
      'POST',
      `/patients/${patientId}/assessments`,
      { score, location: 'lower back', recordedBy: 'Practitioner/7', ...extra },
      headers,
    );
    expect(reply.status).toBe(201);
    return reply.body as {
      assessment: { id: string; score: number };
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      escalation: any;
    };
  }

  async function rowCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of [...TABLES, 'kafka_outbox']) {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      counts[table] = Number(rows[0].n);
    }
    return counts;
  }

  async function endOffsets(): Promise<Record<string, number>> {
    const sums: Record<string, number> = {};
    for (const topic of OBSERVED_TOPICS) sums[topic] = await endOffsetSum(admin, topic);
    return sums;
  }

  /** The monolith's outbox is empty: everything enqueued so far has reached the broker. */
  const outboxDrained = () =>
    eventually(async () => {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM kafka_outbox');
      return Number(rows[0].n) === 0 ? true : undefined;
    }, 30_000);

  /**
   * Runs `work` and checks it wrote no row (nor outbox row) and published nothing. Other suites may
   * publish to these topics meanwhile, so when an end offset moved, the new records are read and
   * must all come from another producer than the monolith (only one monolith runs at a time).
   */
  async function expectNothingWrittenOrPublished(work: () => Promise<void>): Promise<void> {
    await outboxDrained();
    const partitionEnds = async () => {
      const ends: Record<string, { partition: number; low: number; high: number }[]> = {};
      for (const topic of OBSERVED_TOPICS) {
        ends[topic] = (await admin.fetchTopicOffsets(topic)).map((p) => ({
          partition: p.partition,
          low: 0,
          high: Number(p.high),
        }));
      }
      return ends;
    };
    const before = await partitionEnds();
    const offsetsBefore = await endOffsets();
    const countsBefore = await rowCounts();
    await work();
    expect(await rowCounts()).toEqual(countsBefore);
    const offsetsAfter = await endOffsets();
    if (JSON.stringify(offsetsAfter) === JSON.stringify(offsetsBefore)) return;
    const after = await partitionEnds();
    const fresh = (record: Observed) => {
      const start = before[record.topic]?.find((p) => p.partition === record.partition)?.high ?? 0;
      const end = after[record.topic]?.find((p) => p.partition === record.partition)?.high ?? 0;
      return record.offset >= start && record.offset < end;
    };
    const expected = OBSERVED_TOPICS.reduce((n, t) => n + offsetsAfter[t] - offsetsBefore[t], 0);
    const newRecords = await eventually(async () => {
      const found = observed.filter(fresh);
      return found.length >= expected ? found : undefined;
    }, 30_000);
    expect(newRecords.filter((record) => record.headers.source === 'monolith')).toEqual([]);
  }

  function expectInvalid(reply: Reply, fields: string[]): void {
    expect(reply.status).toBe(400);
    const named = (reply.body.fields as { field: string }[]).map((f) => f.field).sort();
    expect(named).toEqual([...fields].sort());
    expect(reply.body.message).toBe(
      `Invalid fields: ${reply.body.fields.map((f: { field: string }) => f.field).join(', ')}`,
    );
  }

  describe('patients', () => {
    it('creates a patient and publishes its audit and operation log events under the correlation id', async () => {
      const correlationId = uniqueName('corr-create');
      const mrn = newMrn();
      const reply = await call(
        'POST',
        '/patients',
        { mrn, givenName: 'Ada', familyName: 'Lovelace', birthDate: '1961-04-12', sex: 'female', ward: '3B' },
        { 'x-actor': 'Practitioner/7', 'x-correlation-id': correlationId },
      );
      expect(reply.status).toBe(201);
      expect(reply.headers.get('x-correlation-id')).toBe(correlationId);
      const patient = reply.body;
      expect(patient).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        mrn,
        givenName: 'Ada',
        familyName: 'Lovelace',
        birthDate: '1961-04-12',
        sex: 'female',
        ward: '3B',
        allergies: [],
        medications: [],
        emrVersion: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect((await call('GET', `/patients/${patient.id}`)).body).toEqual(patient);

      const [audit] = await published(TOPICS.auditEvents, byCorrelation(correlationId));
      expect(audit.key).toBe(`Patient/${patient.id}`);
      expect(audit.headers['event-type']).toBe('audit.recorded');
      expect(audit.value).toEqual({
        streamId: `Patient/${patient.id}`,
        eventType: 'patient.created',
        action: 'C',
        actor: 'Practitioner/7',
        outcome: 'success',
        sourceService: 'monolith',
        purpose: 'treatment',
        patientId: patient.id,
        data: {
          id: patient.id,
          mrn,
          givenName: 'Ada',
          familyName: 'Lovelace',
          birthDate: '1961-04-12',
          sex: 'female',
          ward: '3B',
          allergies: [],
          medications: [],
          emrVersion: null,
        },
        occurredAt: expect.any(String),
      });

      const [log] = await published(TOPICS.loggingEvents, byCorrelation(correlationId));
      expect(log.value).toEqual({
        service: 'monolith',
        level: 'info',
        operation: 'patient.created',
        message: expect.any(String),
        context: { patientId: patient.id, ward: '3B' },
        durationMs: expect.any(Number),
        occurredAt: expect.any(String),
      });
      expect(log.value.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('updates a patient: only the changed fields are audited, as U', async () => {
      const patient = await createPatient();
      const correlationId = uniqueName('corr-update');
      const reply = await call(
        'PATCH',
        `/patients/${patient.id}`,
        { ward: '4C', givenName: 'Ada', familyName: 'King' },
        { 'x-actor': 'Practitioner/9', 'x-correlation-id': correlationId },
      );
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ id: patient.id, givenName: 'Ada', familyName: 'King', ward: '4C' });

      const [audit] = await published(TOPICS.auditEvents, byCorrelation(correlationId));
      expect(audit.value).toMatchObject({
        streamId: `Patient/${patient.id}`,
        eventType: 'patient.updated',
        action: 'U',
        actor: 'Practitioner/9',
        patientId: patient.id,
        data: { ward: '4C', familyName: 'King' },
      });
      expect(Object.keys(audit.value.data).sort()).toEqual(['familyName', 'ward']);
      const [log] = await published(TOPICS.loggingEvents, byCorrelation(correlationId));
      expect(log.value).toMatchObject({
        operation: 'patient.updated',
        context: { patientId: patient.id, ward: '4C' },
      });

      const listed = await call('GET', '/patients?ward=4C&limit=500');
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((p: { id: string }) => p.id)).toContain(patient.id);
      expect(listed.body.items.every((p: { ward: string }) => p.ward === '4C')).toBe(true);
      const limited = await call('GET', '/patients?limit=1');
      expect(limited.body.items).toHaveLength(1);
    });

    it('answers 409 for a duplicate MRN, and writes and publishes nothing', async () => {
      const patient = await createPatient();
      await expectNothingWrittenOrPublished(async () => {
        const reply = await call('POST', '/patients', {
          mrn: patient.mrn,
          givenName: 'Other',
          familyName: 'Person',
          birthDate: '1970-01-01',
        });
        expect(reply.status).toBe(409);
      });
    });

    it('uses anonymous without x-actor and makes up a correlation id shared by the request events', async () => {
      const reply = await call('POST', '/patients', {
        mrn: newMrn(),
        givenName: 'Grace',
        familyName: 'Hopper',
        birthDate: '1906-12-09',
      });
      expect(reply.status).toBe(201);
      const correlationId = reply.headers.get('x-correlation-id')!;
      expect(correlationId).toBeTruthy();
      const [audit] = await published(TOPICS.auditEvents, byCorrelation(correlationId));
      expect(audit.value).toMatchObject({ actor: 'anonymous', patientId: reply.body.id });
      await published(TOPICS.loggingEvents, byCorrelation(correlationId));
    });
  });

  describe('pain assessments and escalations', () => {
    it('escalates a score above the threshold once, as high, stored and published with its audit and log', async () => {
      const patient = await createPatient({ ward: '5A' });
      const correlationId = uniqueName('corr-assess');
      const { assessment, escalation } = await assess(
        patient.id,
        8,
        { notes: 'sharp' },
        { 'x-actor': 'Practitioner/3', 'x-correlation-id': correlationId },
      );
      expect(assessment).toEqual({
        id: expect.any(String),
        patientId: patient.id,
        score: 8,
        location: 'lower back',
        notes: 'sharp',
        recordedBy: 'Practitioner/7',
        recordedAt: expect.any(String),
      });
      expect(escalation).toEqual({
        id: expect.any(String),
        patientId: patient.id,
        severity: 'high',
        reasons: ['threshold'],
        score: 8,
        previousScore: null,
        assessmentIds: [assessment.id],
        raisedAt: expect.any(String),
      });

      const [event] = await published(TOPICS.escalationEvents, byCorrelation(correlationId));
      expect(event.key).toBe(patient.id);
      expect(event.headers['event-type']).toBe('pain.escalated');
      expect(event.value).toEqual({
        escalationId: escalation.id,
        patientId: patient.id,
        ward: '5A',
        severity: 'high',
        reasons: ['threshold'],
        score: 8,
        assessmentIds: [assessment.id],
        raisedAt: escalation.raisedAt,
      });

      const audits = await published(TOPICS.auditEvents, byCorrelation(correlationId), 2);
      expect(audits.map((a) => a.value.streamId).sort()).toEqual(
        [`Escalation/${escalation.id}`, `PainAssessment/${assessment.id}`].sort(),
      );
      const escalationAudit = audits.find((a) => a.value.streamId.startsWith('Escalation/'))!;
      expect(escalationAudit.value).toMatchObject({
        eventType: 'pain.escalated',
        action: 'C',
        actor: 'Practitioner/3',
        patientId: patient.id,
        data: { severity: 'high', score: 8, assessmentIds: [assessment.id] },
      });
      const assessmentAudit = audits.find((a) => a.value.streamId.startsWith('PainAssessment/'))!;
      expect(assessmentAudit.value).toMatchObject({
        eventType: 'assessment.recorded',
        action: 'C',
        data: { id: assessment.id, score: 8, location: 'lower back', notes: 'sharp' },
      });

      const logs = await published(TOPICS.loggingEvents, byCorrelation(correlationId), 2);
      const byOperation = Object.fromEntries(logs.map((l) => [l.value.operation, l.value]));
      expect(byOperation['assessment.recorded'].context).toEqual({
        patientId: patient.id,
        ward: '5A',
        painScore: 8,
      });
      expect(byOperation['pain.escalated'].context).toEqual({
        patientId: patient.id,
        ward: '5A',
        painScore: 8,
        severity: 'high',
      });

      // A later assessment's events come after; still exactly one escalation for this patient.
      const later = uniqueName('corr-later');
      await assess(patient.id, 7, {}, { 'x-correlation-id': later });
      await published(TOPICS.loggingEvents, byCorrelation(later), 2);
      const stored = await call('GET', `/patients/${patient.id}/escalations`);
      expect(stored.body.items).toHaveLength(2);
      expect(stored.body.items[1]).toEqual(escalation);
      const forPatient = observed.filter(
        (r) => r.topic === TOPICS.escalationEvents && r.value?.patientId === patient.id,
      );
      expect(forPatient.map((r) => r.value.score)).toEqual([8, 7]);
    });

    it('escalates a rise below the threshold as moderate, and a small change not at all', async () => {
      const patient = await createPatient();
      const first = await assess(patient.id, 2);
      expect(first.escalation).toBeNull();
      const risen = await assess(patient.id, 5);
      expect(risen.escalation).toMatchObject({
        severity: 'moderate',
        reasons: ['rise'],
        score: 5,
        previousScore: 2,
        assessmentIds: [risen.assessment.id, first.assessment.id],
      });
      const small = uniqueName('corr-small');
      const steady = await assess(patient.id, 6, {}, { 'x-correlation-id': small });
      expect(steady.escalation).toBeNull();
      const [log] = await published(TOPICS.loggingEvents, byCorrelation(small));
      expect(log.value).toMatchObject({ operation: 'assessment.recorded', context: { painScore: 6 } });

      const [event] = await published(TOPICS.escalationEvents, (r) => r.value?.patientId === patient.id);
      expect(event.value).toMatchObject({
        escalationId: risen.escalation.id,
        severity: 'moderate',
        reasons: ['rise'],
        score: 5,
        previousScore: 2,
        assessmentIds: [risen.assessment.id, first.assessment.id],
      });
      await outboxDrained();
      expect(
        observed.filter((r) => r.topic === TOPICS.escalationEvents && r.value?.patientId === patient.id),
      ).toHaveLength(1);
      expect((await call('GET', `/patients/${patient.id}/escalations`)).body.items).toEqual([
        risen.escalation,
      ]);

      const listed = await call('GET', `/patients/${patient.id}/assessments?limit=2`);
      expect(listed.body.items.map((a: { score: number }) => a.score)).toEqual([6, 5]);
    });

    it('calls 9 and above critical, naming threshold and rise', async () => {
      const patient = await createPatient();
      await assess(patient.id, 2);
      const { escalation } = await assess(patient.id, 9);
      expect(escalation).toMatchObject({
        severity: 'critical',
        reasons: ['threshold', 'rise'],
        previousScore: 2,
      });
      const [event] = await published(
        TOPICS.escalationEvents,
        (r) => r.value?.escalationId === escalation.id,
      );
      expect(event.value).toMatchObject({ severity: 'critical', reasons: ['threshold', 'rise'], score: 9 });
    });

    it('compares against the previous assessment by recorded time, not by arrival', async () => {
      const patient = await createPatient();
      const now = Date.now();
      const late = await assess(patient.id, 1, { recordedAt: new Date(now - 60_000).toISOString() });
      // Posted second but taken first: nothing was recorded before it, so there is nothing to compare.
      const early = await assess(patient.id, 5, { recordedAt: new Date(now - 3_600_000).toISOString() });
      expect(early.escalation).toBeNull();
      const listed = await call('GET', `/patients/${patient.id}/assessments`);
      expect(listed.body.items.map((a: { id: string }) => a.id)).toEqual([
        late.assessment.id,
        early.assessment.id,
      ]);
      const next = await assess(patient.id, 4);
      expect(next.escalation).toMatchObject({ reasons: ['rise'], previousScore: 1 });
    });

    it('serialises concurrent assessments of one patient: each compares against the one before', async () => {
      const patient = await createPatient();
      await assess(patient.id, 0);
      // The test holds the patient row, so the four requests are all in flight before any proceeds.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      const holder = db.transaction(async (tx) => {
        await tx.query('SELECT 1 FROM patients WHERE id = $1 FOR UPDATE', [patient.id]);
        holding();
        await released;
      });
      await held;
      // Each rises by 3 from 0, but only the first committed may: the others compare against it.
      const requests = Promise.all(Array.from({ length: 4 }, () => assess(patient.id, 3)));
      try {
        await eventually(async () => {
          const { rows } = await db.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          return Number(rows[0].n) >= 4 ? true : undefined;
        });
      } finally {
        release();
        await holder;
      }
      const results = await requests;
      const escalated = results.filter((r) => r.escalation !== null);
      expect(escalated).toHaveLength(1);
      expect(escalated[0].escalation).toMatchObject({ previousScore: 0, reasons: ['rise'] });
      expect((await call('GET', `/patients/${patient.id}/escalations`)).body.items).toHaveLength(1);
    });
  });

  describe('treatment protocols', () => {
    it('revises into version 2 and keeps version 1 as it was', async () => {
      const patient = await createPatient({ ward: '2A' });
      const content = {
        name: 'Post-op analgesia',
        steps: ['Assess hourly', 'Paracetamol 1 g'],
        notes: 'day 1',
      };
      const created = await call('POST', `/patients/${patient.id}/protocols`, content, {
        'x-actor': 'Practitioner/4',
        'x-correlation-id': uniqueName('corr-protocol'),
      });
      expect(created.status).toBe(201);
      const protocolId = created.body.id;
      expect(created.body).toEqual({
        id: expect.any(String),
        patientId: patient.id,
        version: 1,
        name: 'Post-op analgesia',
        steps: ['Assess hourly', 'Paracetamol 1 g'],
        medications: [],
        notes: 'day 1',
        revisedBy: 'Practitioner/4',
        revisedAt: expect.any(String),
        createdBy: 'Practitioner/4',
        createdAt: expect.any(String),
      });

      const correlationId = uniqueName('corr-revise');
      const revised = await call(
        'POST',
        `/protocols/${protocolId}/revisions`,
        { ...content, steps: ['Assess every 2 h', 'Paracetamol 1 g'], medications: ['paracetamol'] },
        { 'x-actor': 'Practitioner/5', 'x-correlation-id': correlationId },
      );
      expect(revised.status).toBe(201);
      expect(revised.body).toMatchObject({ id: protocolId, version: 2, revisedBy: 'Practitioner/5' });

      const latest = await call('GET', `/protocols/${protocolId}`);
      expect(latest.body).toMatchObject({ version: 2, steps: ['Assess every 2 h', 'Paracetamol 1 g'] });
      const versions = await call('GET', `/protocols/${protocolId}/versions`);
      expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([1, 2]);
      expect(versions.body.items[0]).toEqual(created.body);

      const [audit] = await published(TOPICS.auditEvents, byCorrelation(correlationId));
      expect(audit.value).toMatchObject({
        streamId: `TreatmentProtocol/${protocolId}`,
        eventType: 'protocol.revised',
        action: 'U',
        actor: 'Practitioner/5',
        patientId: patient.id,
        data: { version: 2, steps: ['Assess every 2 h', 'Paracetamol 1 g'], medications: ['paracetamol'] },
      });
      expect(Object.keys(audit.value.data).sort()).toEqual(['medications', 'steps', 'version']);
      const [log] = await published(TOPICS.loggingEvents, byCorrelation(correlationId));
      expect(log.value).toMatchObject({
        operation: 'protocol.revised',
        context: { patientId: patient.id, ward: '2A', protocolId, version: 2 },
      });
    });
  });

  describe('EMR sync', () => {
    const emrUpdate = (mrn: string, emrVersion: number, givenName: string) => ({
      mrn,
      emrVersion,
      demographics: { givenName, familyName: 'Curie', birthDate: '1967-11-07', sex: 'female' },
      allergies: [{ substance: `penicillin-v${emrVersion}`, reaction: 'rash' }],
      medications: [{ name: 'morphine', dose: `${emrVersion} mg` }],
    });

    async function patientByMrn(mrn: string) {
      const { rows } = await db.query<{ id: string; emr_version: number | null }>(
        'SELECT id, emr_version FROM patients WHERE mrn = $1',
        [mrn],
      );
      return rows[0];
    }

    it('applies versions in order once: out-of-order and duplicate updates leave the newest state', async () => {
      const mrn = newMrn();
      const correlations = [2, 1, 2].map((v) => uniqueName(`corr-emr-v${v}`));
      const accepted: Reply[] = [];
      for (const [i, version] of [2, 1, 2].entries()) {
        accepted.push(
          await call('POST', '/emr/patient-updates', emrUpdate(mrn, version, `Marie-v${version}`), {
            'x-correlation-id': correlations[i],
          }),
        );
      }
      for (const reply of accepted) {
        expect(reply.status).toBe(202);
        expect(reply.body).toEqual({
          eventId: expect.any(String),
          partition: expect.any(Number),
          offset: expect.any(String),
        });
      }
      const [posted] = await published(
        TOPICS.emrSyncEvents,
        (r) => r.headers['event-id'] === accepted[0].body.eventId,
      );
      expect(posted.key).toBe(mrn);
      expect(posted.value).toMatchObject({
        ...emrUpdate(mrn, 2, 'Marie-v2'),
        receivedAt: expect.any(String),
      });

      // Version 1 and the second version 2 are ignored: logged with both versions, not audited.
      const ignored = await Promise.all(
        [1, 2].map((i) => published(TOPICS.loggingEvents, byCorrelation(correlations[i]))),
      );
      const patient = await patientByMrn(mrn);
      expect(ignored.map(([log]) => log.value)).toEqual(
        [1, 2].map((receivedEmrVersion) => ({
          service: 'monolith',
          level: 'info',
          operation: 'emr.update-ignored',
          message: expect.any(String),
          context: { patientId: patient.id, ward: null, receivedEmrVersion, storedEmrVersion: 2 },
          durationMs: expect.any(Number),
          occurredAt: expect.any(String),
        })),
      );

      // Version 3 straight from the EMR, delivered twice with one event id.
      const producer = rawKafka().producer({ idempotent: false });
      await producer.connect();
      const v3Correlation = uniqueName('corr-emr-v3');
      const record = {
        key: mrn,
        value: JSON.stringify({ ...emrUpdate(mrn, 3, 'Marie-v3'), receivedAt: new Date().toISOString() }),
        headers: {
          'event-id': randomUUID(),
          'event-type': 'emr.patient-updated',
          'correlation-id': v3Correlation,
        },
      };
      let last: { partition: number; baseOffset?: string } | undefined;
      try {
        await producer.send({ topic: TOPICS.emrSyncEvents, acks: -1, messages: [record] });
        [last] = await producer.send({ topic: TOPICS.emrSyncEvents, acks: -1, messages: [record] });
      } finally {
        await producer.disconnect();
      }
      // Handled (skipped by the inbox) once the group committed past the duplicate.
      await eventually(async () => {
        const committed = await committedOffsets(admin, 'monolith-emr-sync', TOPICS.emrSyncEvents);
        return committed[last!.partition] > Number(last!.baseOffset) ? true : undefined;
      }, 30_000);
      await outboxDrained();

      const state = await call('GET', `/patients/${patient.id}`);
      expect(state.body).toMatchObject({
        mrn,
        givenName: 'Marie-v3',
        familyName: 'Curie',
        birthDate: '1967-11-07',
        sex: 'female',
        allergies: [{ substance: 'penicillin-v3', reaction: 'rash' }],
        medications: [{ name: 'morphine', dose: '3 mg' }],
        emrVersion: 3,
      });

      const audits = await published(
        TOPICS.auditEvents,
        (r) => r.value?.streamId === `Patient/${patient.id}` && r.value?.eventType === 'patient.emr-synced',
        2,
      );
      expect(
        audits.map((a) => [a.value.action, a.value.data.emrVersion, a.headers['correlation-id']]),
      ).toEqual([
        ['C', 2, correlations[0]],
        ['U', 3, v3Correlation],
      ]);
      expect(audits.every((a) => a.value.actor === 'emr' && a.value.purpose === 'emr-sync')).toBe(true);
      expect(audits[0].value.data).toMatchObject({ mrn, givenName: 'Marie-v2', emrVersion: 2 });
      expect(audits[1].value.data).toEqual({
        emrVersion: 3,
        givenName: 'Marie-v3',
        allergies: [{ substance: 'penicillin-v3', reaction: 'rash' }],
        medications: [{ name: 'morphine', dose: '3 mg' }],
      });
      // The applied versions are logged too; the duplicate of version 3 left no trace at all.
      const v3Logs = await published(TOPICS.loggingEvents, byCorrelation(v3Correlation));
      expect(v3Logs.map((r) => r.value.operation)).toEqual(['patient.emr-synced']);
      expect(v3Logs[0].value.context).toEqual({
        patientId: patient.id,
        ward: null,
        emrVersion: 3,
        created: false,
      });
    });

    it('dead-letters at once EMR records that break the contract (no demographics, a week date) and keeps the partition flowing', async () => {
      const dlq = await collect(`${TOPICS.emrSyncEvents}-dlq`);
      const good = newMrn();
      const bad = [
        { mrn: newMrn(), emrVersion: 1, allergies: [], medications: [] },
        {
          ...emrUpdate(newMrn(), 1, 'Week'),
          demographics: { givenName: 'W', familyName: 'D', birthDate: '1961-W15' },
        },
      ];
      const ids: string[] = bad.map(() => randomUUID());
      const producer = rawKafka().producer();
      await producer.connect();
      try {
        // One partition, the bad records first: the good one is applied only if they did not block it.
        await producer.send({
          topic: TOPICS.emrSyncEvents,
          acks: -1,
          messages: [
            ...bad.map((value, i) => ({
              key: value.mrn,
              partition: 0,
              value: JSON.stringify({ ...value, receivedAt: new Date().toISOString() }),
              headers: { 'event-id': ids[i], 'event-type': 'emr.patient-updated' },
            })),
            {
              key: good,
              partition: 0,
              value: JSON.stringify({ ...emrUpdate(good, 1, 'Good'), receivedAt: new Date().toISOString() }),
              headers: { 'event-id': randomUUID(), 'event-type': 'emr.patient-updated' },
            },
          ],
        });
        await eventually(
          async () => ((await patientByMrn(good))?.emr_version === 1 ? true : undefined),
          30_000,
        );
        const dead = await eventually(async () => {
          const found = dlq.messages.filter((m) => ids.includes(headersOf(m)['event-id']));
          return found.length === 2 ? found : undefined;
        }, 30_000);
        for (const message of dead) {
          expect(headersOf(message)[DLT_HEADERS.errorClass]).toBe('PayloadValidationError');
          expect(headersOf(message)[DLT_HEADERS.attempts]).toBe('1');
        }
        for (const { mrn } of bad) expect(await patientByMrn(mrn)).toBeUndefined();
      } finally {
        await producer.disconnect();
        await dlq.stop();
      }
    });

    it('applies the first EMR version to a patient created here, keeping the ward', async () => {
      const local = await createPatient({ ward: '7D', givenName: 'Maria' });
      const correlationId = uniqueName('corr-emr-local');
      const reply = await call('POST', '/emr/patient-updates', emrUpdate(local.mrn, 1, 'Marie'), {
        'x-correlation-id': correlationId,
      });
      expect(reply.status).toBe(202);
      const [audit] = await published(TOPICS.auditEvents, byCorrelation(correlationId));
      expect(audit.value).toMatchObject({
        streamId: `Patient/${local.id}`,
        eventType: 'patient.emr-synced',
        action: 'U',
        actor: 'emr',
        purpose: 'emr-sync',
        data: { emrVersion: 1, givenName: 'Marie', familyName: 'Curie', birthDate: '1967-11-07' },
      });
      expect((await call('GET', `/patients/${local.id}`)).body).toMatchObject({
        givenName: 'Marie',
        ward: '7D',
        emrVersion: 1,
      });
    });
  });

  describe('bad input', () => {
    const unknownId = randomUUID();
    let patientId: string;
    let protocolId: string;

    beforeAll(async () => {
      patientId = (await createPatient()).id;
      const protocol = await call('POST', `/patients/${patientId}/protocols`, { name: 'P', steps: ['a'] });
      protocolId = protocol.body.id;
    });

    const future = new Date(Date.now() + 24 * 3_600_000).toISOString();
    const cases: [string, () => [string, string, unknown?, Record<string, string>?], string[]][] = [
      [
        'POST /patients with wrong and unknown fields',
        () => [
          'POST',
          '/patients',
          { mrn: '', givenName: 5, birthDate: '1990-02-30', sex: 'x', species: 'cat' },
        ],
        ['mrn', 'givenName', 'familyName', 'birthDate', 'sex', 'species'],
      ],
      [
        'POST /patients with a timestamp as birth date',
        () => [
          'POST',
          '/patients',
          { mrn: 'M', givenName: 'A', familyName: 'B', birthDate: '1990-01-01T00:00:00Z' },
        ],
        ['birthDate'],
      ],
      [
        'POST /patients with a birth date in the future',
        () => ['POST', '/patients', { mrn: 'M', givenName: 'A', familyName: 'B', birthDate: '2999-01-01' }],
        ['birthDate'],
      ],
      [
        'POST /patients with an oversized x-actor',
        () => [
          'POST',
          '/patients',
          { mrn: 'M', givenName: 'A', familyName: 'B', birthDate: '1990-01-01' },
          { 'x-actor': 'a'.repeat(201), 'x-correlation-id': 'c'.repeat(129) },
        ],
        ['x-actor', 'x-correlation-id'],
      ],
      [
        'PATCH /patients/:id with an empty body',
        () => ['PATCH', `/patients/${patientId}`, {}],
        ['givenName', 'familyName', 'ward', 'sex'],
      ],
      [
        'PATCH /patients/:id with null names and a field that cannot change',
        () => ['PATCH', `/patients/${patientId}`, { givenName: null, familyName: '', mrn: 'NEW' }],
        ['givenName', 'familyName', 'mrn'],
      ],
      ['PATCH /patients/:id with a malformed id', () => ['PATCH', '/patients/42', { ward: 'A' }], ['id']],
      [
        'GET /patients with a bad query',
        () => ['GET', '/patients?limit=0&ward=&sort=name'],
        ['limit', 'ward', 'sort'],
      ],
      ['GET /patients with a limit that is no number', () => ['GET', '/patients?limit=ten'], ['limit']],
      ['GET /patients/:id with a malformed id', () => ['GET', '/patients/not-a-uuid'], ['id']],
      [
        'POST assessments with a score out of range and bad fields',
        () => [
          'POST',
          `/patients/${patientId}/assessments`,
          { score: 11, location: '', recordedAt: 'yesterday', mood: 'sad' },
        ],
        ['score', 'location', 'recordedBy', 'recordedAt', 'mood'],
      ],
      [
        'POST assessments with a fractional score and a future time',
        () => [
          'POST',
          `/patients/${patientId}/assessments`,
          { score: 3.5, location: 'knee', recordedBy: 'x', recordedAt: future },
        ],
        ['score', 'recordedAt'],
      ],
      [
        'POST assessments with a score as text',
        () => [
          'POST',
          `/patients/${patientId}/assessments`,
          { score: '5', location: 'knee', recordedBy: 'x' },
        ],
        ['score'],
      ],
      [
        'POST assessments with a malformed patient id',
        () => ['POST', '/patients/x/assessments', { score: 5, location: 'knee', recordedBy: 'x' }],
        ['id'],
      ],
      [
        'GET assessments with a bad limit',
        () => ['GET', `/patients/${patientId}/assessments?limit=501`],
        ['limit'],
      ],
      [
        'GET assessments with an unknown query field',
        () => ['GET', `/patients/${patientId}/assessments?from=1`],
        ['from'],
      ],
      [
        'GET escalations with a bad limit',
        () => ['GET', `/patients/${patientId}/escalations?limit=-1`],
        ['limit'],
      ],
      ['GET escalations with a malformed id', () => ['GET', '/patients/1/escalations'], ['id']],
      [
        'POST protocols with empty steps and bad medications',
        () => [
          'POST',
          `/patients/${patientId}/protocols`,
          { name: '', steps: [], medications: [1], extra: true },
        ],
        ['name', 'steps', 'medications', 'extra'],
      ],
      [
        'POST protocols with an empty step and no name',
        () => ['POST', `/patients/${patientId}/protocols`, { steps: ['ok', ''] }],
        ['name', 'steps'],
      ],
      [
        'POST revisions with steps that are no list',
        () => ['POST', `/protocols/${protocolId}/revisions`, { name: 'P', steps: 'all of them' }],
        ['steps'],
      ],
      [
        'POST revisions with a malformed id',
        () => ['POST', '/protocols/p1/revisions', { name: 'P', steps: ['a'] }],
        ['id'],
      ],
      ['GET /protocols/:id with a malformed id', () => ['GET', '/protocols/p1'], ['id']],
      ['GET /protocols/:id/versions with a malformed id', () => ['GET', '/protocols/p1/versions'], ['id']],
      [
        'POST /emr/patient-updates with nested errors',
        () => [
          'POST',
          '/emr/patient-updates',
          {
            mrn: 'M-1',
            emrVersion: 0,
            demographics: {
              givenName: '',
              familyName: 'C',
              birthDate: '1990-13-01',
              sex: 'robot',
              nick: 'x',
            },
            allergies: [{ substance: 'latex' }, { reaction: 'rash' }],
            medications: [{ name: 'ibuprofen', dose: 5 }],
            receivedAt: new Date().toISOString(),
          },
        ],
        [
          'emrVersion',
          'demographics.givenName',
          'demographics.birthDate',
          'demographics.sex',
          'demographics.nick',
          'allergies.1.substance',
          'medications.0.dose',
          'receivedAt',
        ],
      ],
      [
        'POST /emr/patient-updates with a week date as birth date',
        () => [
          'POST',
          '/emr/patient-updates',
          {
            mrn: 'M-1',
            emrVersion: 1,
            demographics: { givenName: 'A', familyName: 'B', birthDate: '1961-W15' },
            allergies: [],
            medications: [],
          },
        ],
        ['demographics.birthDate'],
      ],
      [
        'POST /emr/patient-updates without demographics and lists',
        () => ['POST', '/emr/patient-updates', { mrn: 'M-1', emrVersion: 2, allergies: 'none' }],
        ['demographics', 'allergies', 'medications'],
      ],
    ];

    it.each(cases)(
      '%s: 400 naming the fields, nothing written or published',
      async (_name, request, fields) => {
        await expectNothingWrittenOrPublished(async () => {
          const [method, path, body, headers] = request();
          expectInvalid(await call(method, path, body, headers), fields);
        });
      },
    );

    it('answers 404 for an unknown patient or protocol, writing and publishing nothing', async () => {
      await expectNothingWrittenOrPublished(async () => {
        const requests: [string, string, unknown?][] = [
          ['GET', `/patients/${unknownId}`],
          ['PATCH', `/patients/${unknownId}`, { ward: 'A' }],
          ['POST', `/patients/${unknownId}/assessments`, { score: 9, location: 'knee', recordedBy: 'x' }],
          ['GET', `/patients/${unknownId}/assessments`],
          ['GET', `/patients/${unknownId}/escalations`],
          ['POST', `/patients/${unknownId}/protocols`, { name: 'P', steps: ['a'] }],
          ['POST', `/protocols/${unknownId}/revisions`, { name: 'P', steps: ['a'] }],
          ['GET', `/protocols/${unknownId}`],
          ['GET', `/protocols/${unknownId}/versions`],
        ];
        for (const [method, path, body] of requests) {
          const reply = await call(method, path, body);
          expect([method, path, reply.status]).toEqual([method, path, 404]);
        }
      });
    });
  });

  it('refuses to start with an escalation setting out of range, naming it', () => {
    const config = loadServiceConfig('monolith', {
      PAIN_ESCALATION_THRESHOLD: '11',
      PAIN_ESCALATION_RISE: '0',
    });
    let error: unknown;
    try {
      MonolithModule.register(config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'PAIN_ESCALATION_THRESHOLD must be an integer from 0 to 10, got "11"',
      'PAIN_ESCALATION_RISE must be an integer from 1 to 10, got "0"',
    ]);
  });
});
