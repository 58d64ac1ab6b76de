import { randomInt } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { TOPICS } from '@app/contracts';
import { Database, DATABASE } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { DLT_HEADERS } from '@app/kafka-core';
import { envelopeHeaders } from '@app/kafka-core/producer/envelope';
import { AnalyticsServiceModule } from '../../apps/analytics-service/src/analytics-service.module';
import { testBrokers, uniqueName } from '../support/kafka';
import { collect, headersOf, produce, TestRecord } from '../support/listener-app';
import { eventually, RunningService, startService } from '../support/service-app';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** PostgreSQL's percentile_cont, computed here independently: interpolation between closest ranks. */
function percentileCont(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lower = Math.floor(rank);
  return sorted[lower] + (sorted[Math.ceil(rank)] - sorted[lower]) * (rank - lower);
}

interface FactInput {
  eventType: string;
  occurredAt: Date;
  service?: string;
  durationMs?: number;
  patientId?: string;
  ward?: string;
  painScore?: number;
}

interface Bucket {
  bucketStart: string;
  eventType: string;
  count: number;
}

/**
 * Analytic facts on analytics-events, through the real broker, into the analytics-service's
 * PostgreSQL, and back out of its query endpoints. Every fact of this run lies on one random day of
 * 2020 (each case in its own hours), so other suites' facts on the shared topic never enter a window
 * asserted here.
 */
describe('analytics-service: facts from analytics-events to counts and statistics', () => {
  let database: TestDatabase;
  let service: RunningService;
  let db: Database;

  const day = Date.UTC(2020, 0, 1) + randomInt(0, 365) * DAY;
  const at = (hours: number, minutes = 0, seconds = 0, ms = 0) =>
    new Date(day + hours * HOUR + minutes * MINUTE + seconds * 1000 + ms);
  const iso = (date: Date) => date.toISOString();
  const run = uniqueName('an');
  // Facts go to one partition, so the sentinel produced after them is handled after all of them.
  const PARTITION = 0;

  beforeAll(async () => {
    database = await createTestDatabase('kc_analytics_e2e');
    service = await startService('analytics-service', AnalyticsServiceModule, {
      KAFKA_BROKERS: testBrokers().join(','),
      DATABASE_URL: database.url,
    });
    db = service.app.get<Database>(DATABASE);
  });

  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  function factRecord(fact: FactInput, eventId: string = uuidv7()): TestRecord {
    const value = { service: 'monolith', sourceEventId: uuidv7(), ...fact };
    return {
      key: value.eventType,
      partition: PARTITION,
      value: JSON.stringify(value),
      headers: envelopeHeaders({ eventType: 'analytics.fact', source: 'logging-service', eventId }),
    };
  }

  /** Produces the records, then waits until a sentinel fact produced after them is stored. */
  async function ingest(records: TestRecord[]): Promise<void> {
    const sentinelId = uuidv7();
    // The day after the run's day: outside every window asserted here.
    const sentinel = factRecord(
      { eventType: `${run}.sentinel`, occurredAt: new Date(day + DAY + HOUR) },
      sentinelId,
    );
    await produce(TOPICS.analyticsEvents, [...records, sentinel]);
    await eventually(
      async () =>
        (await db.query('SELECT 1 FROM analytics_facts WHERE event_id = $1', [sentinelId])).rowCount > 0
          ? true
          : undefined,
      45_000,
    );
  }

  async function get<T>(path: string, query: Record<string, string | Date>): Promise<T> {
    const params = new URLSearchParams(
      Object.entries(query).map(([k, v]): [string, string] => [k, v instanceof Date ? v.toISOString() : v]),
    );
    const response = await fetch(`${service.url}${path}?${params.toString()}`);
    const body = (await response.json()) as T;
    expect({ status: response.status, body }).toEqual({ status: 200, body: expect.anything() });
    return body;
  }

  async function badRequest(pathAndQuery: string): Promise<string[]> {
    const response = await fetch(`${service.url}${pathAndQuery}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { message: string; fields: { field: string }[] };
    const fields = body.fields.map((f) => f.field).sort();
    expect(body.message).toBe(`Invalid fields: ${body.fields.map((f) => f.field).join(', ')}`);
    return fields;
  }

  it('counts facts in exact minute and hour buckets, bucket edges included', async () => {
    const a = `${run}.counted`;
    const b = `${run}.other`;
    await ingest([
      factRecord({ eventType: a, occurredAt: at(10, 0, 0, 0) }),
      factRecord({ eventType: a, occurredAt: at(10, 0, 59, 999) }),
      factRecord({ eventType: b, occurredAt: at(10, 0, 30) }),
      factRecord({ eventType: a, occurredAt: at(10, 1, 0, 0) }),
      factRecord({ eventType: a, occurredAt: at(10, 59, 59, 999) }),
      factRecord({ eventType: a, occurredAt: at(11, 0, 0, 0) }),
      factRecord({ eventType: a, occurredAt: at(11, 59, 59, 999) }),
    ]);

    const window = { from: at(10), to: at(12) };
    const minutes = await get<{ granularity: string; buckets: Bucket[] }>('/analytics/counts', {
      granularity: 'minute',
      ...window,
    });
    expect(minutes).toEqual({
      granularity: 'minute',
      from: iso(window.from),
      to: iso(window.to),
      buckets: [
        { bucketStart: iso(at(10, 0)), eventType: a, count: 2 },
        { bucketStart: iso(at(10, 0)), eventType: b, count: 1 },
        { bucketStart: iso(at(10, 1)), eventType: a, count: 1 },
        { bucketStart: iso(at(10, 59)), eventType: a, count: 1 },
        { bucketStart: iso(at(11, 0)), eventType: a, count: 1 },
        { bucketStart: iso(at(11, 59)), eventType: a, count: 1 },
      ],
    });

    const hours = await get<{ buckets: Bucket[] }>('/analytics/counts', { granularity: 'hour', ...window });
    expect(hours.buckets).toEqual([
      { bucketStart: iso(at(10)), eventType: a, count: 4 },
      { bucketStart: iso(at(10)), eventType: b, count: 1 },
      { bucketStart: iso(at(11)), eventType: a, count: 2 },
    ]);

    // One event type; only buckets that start within [from, to).
    const filtered = await get<{ buckets: Bucket[] }>('/analytics/counts', {
      granularity: 'minute',
      eventType: a,
      from: at(10, 0, 30),
      to: at(11, 59),
    });
    expect(filtered.buckets).toEqual([
      { bucketStart: iso(at(10, 1)), eventType: a, count: 1 },
      { bucketStart: iso(at(10, 59)), eventType: a, count: 1 },
      { bucketStart: iso(at(11, 0)), eventType: a, count: 1 },
    ]);
  });

  it('counts a record delivered twice (same event id) once', async () => {
    const type = `${run}.duplicated`;
    const eventId = uuidv7();
    const fact = { eventType: type, occurredAt: at(12, 30, 15), patientId: `${run}-dup`, painScore: 5 };
    await ingest([
      factRecord(fact, eventId),
      factRecord(fact, eventId),
      factRecord({ ...fact, occurredAt: at(12, 30, 45) }),
    ]);

    const window = { from: at(12), to: at(13), eventType: type };
    const minutes = await get<{ buckets: Bucket[] }>('/analytics/counts', {
      granularity: 'minute',
      ...window,
    });
    expect(minutes.buckets).toEqual([{ bucketStart: iso(at(12, 30)), eventType: type, count: 2 }]);
    const hours = await get<{ buckets: Bucket[] }>('/analytics/counts', { granularity: 'hour', ...window });
    expect(hours.buckets).toEqual([{ bucketStart: iso(at(12)), eventType: type, count: 2 }]);
    const { rows } = await db.query('SELECT event_id FROM analytics_facts WHERE event_id = $1', [eventId]);
    expect(rows).toHaveLength(1);
  });

  it('summarises pain scores per patient and per ward: count, mean, min, max, stddev, last', async () => {
    const [p1, p2, p3] = ['p1', 'p2', 'p3'].map((p) => `${run}-${p}`);
    const [w1, w2] = ['w1', 'w2'].map((w) => `${run}-${w}`);
    // [patient, ward, score, minute of hour 13], produced out of time order on purpose.
    const scores: [string, string | undefined, number, number][] = [
      [p1, w1, 7, 40],
      [p1, w1, 3, 5],
      [p1, w2, 9, 20],
      [p1, w1, 4, 55],
      [p2, w2, 2, 10],
      [p2, w2, 6, 50],
      [p3, undefined, 8, 30],
    ];
    await ingest([
      ...scores.map(([patientId, ward, painScore, minute]) =>
        factRecord({
          eventType: 'assessment.recorded',
          occurredAt: at(13, minute),
          patientId,
          ward,
          painScore,
        }),
      ),
      // No pain score: not part of any statistic.
      factRecord({ eventType: 'patient.updated', occurredAt: at(13, 59), patientId: p1, ward: w1 }),
      // A score an escalation repeats is no new measurement.
      factRecord({
        eventType: 'pain.escalated',
        occurredAt: at(13, 58),
        patientId: p1,
        ward: w1,
        painScore: 10,
      }),
    ]);

    const expected = (key: string, rows: typeof scores) => {
      const values = rows.map((r) => r[2]);
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      const latest = [...rows].sort((x, y) => y[3] - x[3])[0];
      return {
        key,
        count: values.length,
        mean,
        min: Math.min(...values),
        max: Math.max(...values),
        stddev: Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length),
        last: latest[2],
        lastAt: iso(at(13, latest[3])),
      };
    };
    const window = { from: at(13), to: at(14) };

    const byPatient = await get<{ by: string; groups: ReturnType<typeof expected>[] }>(
      '/analytics/pain-scores',
      { by: 'patient', ...window },
    );
    expect(byPatient.by).toBe('patient');
    const patients = [p1, p2, p3].map((p) =>
      expected(
        p,
        scores.filter((s) => s[0] === p),
      ),
    );
    expect(byPatient.groups).toEqual(patients.map((g) => ({ ...g, stddev: expect.closeTo(g.stddev, 10) })));
    // Concrete numbers, so the reference computation above cannot drift along with the service.
    expect(byPatient.groups[0]).toMatchObject({ count: 4, mean: 5.75, min: 3, max: 9, last: 4 });
    expect(byPatient.groups[0].stddev).toBeCloseTo(Math.sqrt(5.6875), 10);

    const byWard = await get<{ groups: ReturnType<typeof expected>[] }>('/analytics/pain-scores', {
      by: 'ward',
      ...window,
    });
    const wards = [w1, w2].map((w) =>
      expected(
        w,
        scores.filter((s) => s[1] === w),
      ),
    );
    expect(byWard.groups).toEqual(wards.map((g) => ({ ...g, stddev: expect.closeTo(g.stddev, 10) })));
    expect(byWard.groups.map((g) => [g.key, g.count, g.mean, g.last])).toEqual([
      [w1, 3, 14 / 3, 4],
      [w2, 3, 17 / 3, 6],
    ]);

    // Filters narrow the facts before grouping.
    const p1ByWard = await get<{ groups: ReturnType<typeof expected>[] }>('/analytics/pain-scores', {
      by: 'ward',
      patientId: p1,
      ...window,
    });
    expect(p1ByWard.groups.map((g) => [g.key, g.count, g.last])).toEqual([
      [w1, 3, 4],
      [w2, 1, 9],
    ]);
    const w2ByPatient = await get<{ groups: ReturnType<typeof expected>[] }>('/analytics/pain-scores', {
      by: 'patient',
      ward: w2,
      ...window,
    });
    expect(w2ByPatient.groups.map((g) => [g.key, g.count, g.mean])).toEqual([
      [p1, 1, 9],
      [p2, 2, 4],
    ]);
  });

  it('computes the escalation rate: pain.escalated facts per assessment.recorded fact', async () => {
    const [w3, w4] = ['w3', 'w4'].map((w) => `${run}-${w}`);
    const fact = (eventType: string, ward: string, minute: number) =>
      factRecord({ eventType, ward, occurredAt: at(15, minute), patientId: `${run}-p9`, painScore: 8 });
    await ingest([
      ...[1, 2, 3, 4, 5].map((m) => fact('assessment.recorded', w3, m)),
      fact('pain.escalated', w3, 6),
      fact('pain.escalated', w3, 7),
      fact('assessment.recorded', w4, 8),
      fact('notification.sent', w3, 9),
      // Outside the window asked for below.
      factRecord({ eventType: 'pain.escalated', ward: w3, occurredAt: at(16, 0) }),
    ]);

    const window = { from: at(15), to: at(16) };
    expect(await get('/analytics/escalation-rate', { ward: w3, ...window })).toEqual({
      from: iso(window.from),
      to: iso(window.to),
      ward: w3,
      assessments: 5,
      escalations: 2,
      rate: 0.4,
    });
    expect(await get('/analytics/escalation-rate', window)).toMatchObject({
      assessments: 6,
      escalations: 2,
      rate: 2 / 6,
    });
    expect(await get('/analytics/escalation-rate', { ward: w4, ...window })).toMatchObject({
      assessments: 1,
      escalations: 0,
      rate: 0,
    });
    expect(await get('/analytics/escalation-rate', { from: at(14), to: at(15) })).toMatchObject({
      assessments: 0,
      escalations: 0,
      rate: 0,
    });
  });

  it('reports latency percentiles over durationMs per event type', async () => {
    const slow = `${run}.latency-a`;
    const fast = `${run}.latency-b`;
    const slowDurations = Array.from({ length: 37 }, (_, i) => Math.round(((i * 7919) % 997) * 1.5 + i) / 2);
    const fastDurations = [3, 1, 2];
    await ingest([
      ...slowDurations.map((durationMs, i) =>
        factRecord({ eventType: slow, durationMs, occurredAt: at(17, 0, i) }),
      ),
      ...fastDurations.map((durationMs, i) =>
        factRecord({ eventType: fast, durationMs, occurredAt: at(17, 1, i) }),
      ),
      // Without a duration: not part of the latency.
      factRecord({ eventType: fast, occurredAt: at(17, 2) }),
    ]);

    const reference = (eventType: string, values: number[]) => ({
      eventType,
      count: values.length,
      p50: expect.closeTo(percentileCont(values, 0.5), 9),
      p90: expect.closeTo(percentileCont(values, 0.9), 9),
      p95: expect.closeTo(percentileCont(values, 0.95), 9),
      p99: expect.closeTo(percentileCont(values, 0.99), 9),
      max: Math.max(...values),
    });
    const window = { from: at(17), to: at(18) };

    expect(await get('/analytics/latency', { eventType: slow, ...window })).toEqual({
      from: iso(window.from),
      to: iso(window.to),
      ...reference(slow, slowDurations),
    });
    // Interpolated: p50 of 1, 2, 3 is 2, p90 is 2.8.
    expect(await get('/analytics/latency', { eventType: fast, ...window })).toMatchObject({
      count: 3,
      p50: 2,
      p90: expect.closeTo(2.8, 9),
      max: 3,
    });
    expect(await get('/analytics/latency', window)).toEqual({
      from: iso(window.from),
      to: iso(window.to),
      groups: [reference(slow, slowDurations), reference(fast, fastDurations)],
    });
    expect(await get('/analytics/latency', { eventType: `${run}.never`, ...window })).toEqual({
      from: iso(window.from),
      to: iso(window.to),
      eventType: `${run}.never`,
      count: 0,
      p50: null,
      p90: null,
      p95: null,
      p99: null,
      max: null,
    });
  });

  it('dead-letters a malformed fact (pain score 11) and keeps the partition flowing', async () => {
    const dlq = await collect(`${TOPICS.analyticsEvents}-dlq`);
    try {
      const type = `${run}.after-poison`;
      const poisonId = uuidv7();
      await ingest([
        factRecord(
          { eventType: type, occurredAt: at(19, 0, 10), patientId: `${run}-p5`, painScore: 11 },
          poisonId,
        ),
        factRecord({ eventType: type, occurredAt: at(19, 0, 20), patientId: `${run}-p5`, painScore: 6 }),
      ]);

      const counts = await get<{ buckets: Bucket[] }>('/analytics/counts', {
        granularity: 'minute',
        eventType: type,
        from: at(19),
        to: at(20),
      });
      expect(counts.buckets).toEqual([{ bucketStart: iso(at(19, 0)), eventType: type, count: 1 }]);
      expect((await db.query('SELECT 1 FROM analytics_facts WHERE event_id = $1', [poisonId])).rowCount).toBe(
        0,
      );

      const dead = await eventually(async () =>
        dlq.messages.find((m) => headersOf(m)['event-id'] === poisonId),
      );
      const headers = headersOf(dead);
      expect(JSON.parse(String(dead.value)).painScore).toBe(11);
      expect(headers[DLT_HEADERS.originalTopic]).toBe(TOPICS.analyticsEvents);
      expect(headers[DLT_HEADERS.originalPartition]).toBe(String(PARTITION));
      expect(headers[DLT_HEADERS.group]).toBe('analytics-service');
      expect(headers[DLT_HEADERS.listener]).toBe('analytics-facts');
      expect(headers[DLT_HEADERS.errorClass]).toBe('PayloadValidationError');
      expect(JSON.parse(headers[DLT_HEADERS.validationErrors])).toEqual([
        { field: 'painScore', constraints: ['max'] },
      ]);
    } finally {
      await dlq.stop();
    }
  });

  it('answers bad query parameters with 400 naming every field at fault', async () => {
    expect(await badRequest('/analytics/counts?granularity=day&from=yesterday&limit=3')).toEqual([
      'from',
      'granularity',
      'limit',
    ]);
    expect(await badRequest(`/analytics/counts?from=${iso(at(12))}&to=${iso(at(11))}`)).toEqual(['from']);
    // An open end is now, so a future start is after it.
    expect(await badRequest(`/analytics/latency?from=${iso(new Date(Date.now() + DAY))}`)).toEqual(['from']);
    expect(await badRequest('/analytics/pain-scores?ward=&to=2020-13-45')).toEqual(['by', 'to', 'ward']);
    expect(await badRequest('/analytics/pain-scores?by=bed')).toEqual(['by']);
    expect(await badRequest('/analytics/escalation-rate?from=&ward=x&patientId=p')).toEqual([
      'from',
      'patientId',
    ]);
    expect(await badRequest(`/analytics/latency?eventType=${'x'.repeat(201)}`)).toEqual(['eventType']);
  });

  it('covers the last 24 hours when the window is left open, and from = to is allowed', async () => {
    const before = Date.now();
    const body = await get<{ granularity: string; from: string; to: string; buckets: Bucket[] }>(
      '/analytics/counts',
      {},
    );
    const to = Date.parse(body.to);
    expect(body.granularity).toBe('hour');
    expect(to).toBeGreaterThanOrEqual(before);
    expect(to).toBeLessThanOrEqual(Date.now());
    expect(to - Date.parse(body.from)).toBe(DAY);
    expect(body.buckets.every((b) => Date.parse(b.bucketStart) >= Date.parse(body.from))).toBe(true);

    const onlyTo = await get<{ from: string; to: string }>('/analytics/escalation-rate', { to: at(16) });
    expect(onlyTo).toMatchObject({ from: iso(at(-8)), to: iso(at(16)) });

    expect(await get('/analytics/pain-scores', { by: 'ward', from: at(13), to: at(13) })).toEqual({
      by: 'ward',
      from: iso(at(13)),
      to: iso(at(13)),
      groups: [],
    });
  });
});
