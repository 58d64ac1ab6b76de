import { Client } from 'pg';
import { AnalyticsFactEvent } from '@app/contracts';
import { Database, migrate, openDatabase } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { AnalyticsFactsRepository } from './facts/analytics-facts.repository';
import { ANALYTICS_MIGRATIONS } from './migrations';
import { AnalyticsQueries } from './queries/analytics-queries';

/** PostgreSQL's percentile_cont: linear interpolation between the closest ranks. */
function percentileCont(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}

const at = (iso: string) => new Date(iso);

/**
 * The writes and queries of the analytics store on both adapters (the service runs on either), in a
 * session whose time zone is not UTC: buckets must still be UTC minutes and hours.
 */
describe.each(['postgres', 'pglite'] as const)('analytics store on %s', (kind) => {
  let server: TestDatabase | undefined;
  let db: Database;
  const facts = new AnalyticsFactsRepository();
  let queries: AnalyticsQueries;

  beforeAll(async () => {
    if (kind === 'postgres') {
      server = await createTestDatabase('kc_analytics');
      const admin = new Client({ connectionString: server.url });
      await admin.connect();
      // A half-hour offset moves hour boundaries, so truncating in the session's zone would show.
      await admin.query(`ALTER DATABASE ${server.name} SET TimeZone = 'Asia/Kolkata'`);
      await admin.end();
      db = await openDatabase({ url: server.url, schema: 'analytics' });
    } else {
      db = await openDatabase({ schema: 'analytics' });
      await db.query(`SET TimeZone = 'Asia/Kolkata'`);
    }
    expect((await db.query<{ tz: string }>(`SELECT current_setting('TimeZone') AS tz`)).rows[0].tz).toBe(
      'Asia/Kolkata',
    );
    await migrate(db, ANALYTICS_MIGRATIONS);
    queries = new AnalyticsQueries(db);
  });

  afterAll(async () => {
    await db?.close();
    await server?.drop();
  });

  const fact = (overrides: Partial<AnalyticsFactEvent>): AnalyticsFactEvent =>
    Object.assign(new AnalyticsFactEvent(), {
      eventType: 'assessment.recorded',
      service: 'monolith',
      sourceEventId: `log-${Math.random().toString(36).slice(2)}`,
      occurredAt: at('2020-01-01T00:00:00Z'),
      ...overrides,
    });

  const record = (eventId: string, f: AnalyticsFactEvent) =>
    db.transaction((tx) => facts.record(tx, eventId, f));

  it('counts each fact in its UTC minute and hour, edges included', async () => {
    const times = [
      '2020-02-03T10:00:00.000Z',
      '2020-02-03T10:00:59.999Z',
      '2020-02-03T10:01:00.000Z',
      '2020-02-03T10:29:59.999Z',
      '2020-02-03T10:30:00.000Z',
      '2020-02-03T10:59:59.999Z',
      '2020-02-03T11:00:00.000Z',
    ];
    for (const [i, time] of times.entries()) {
      expect(await record(`edge-${i}`, fact({ eventType: 'edge.probe', occurredAt: at(time) }))).toBe(true);
    }
    const window = { from: at('2020-02-03T00:00:00Z'), to: at('2020-02-04T00:00:00Z') };
    expect(await queries.counts('minute', window, 'edge.probe')).toEqual([
      { bucketStart: '2020-02-03T10:00:00.000Z', eventType: 'edge.probe', count: 2 },
      { bucketStart: '2020-02-03T10:01:00.000Z', eventType: 'edge.probe', count: 1 },
      { bucketStart: '2020-02-03T10:29:00.000Z', eventType: 'edge.probe', count: 1 },
      { bucketStart: '2020-02-03T10:30:00.000Z', eventType: 'edge.probe', count: 1 },
      { bucketStart: '2020-02-03T10:59:00.000Z', eventType: 'edge.probe', count: 1 },
      { bucketStart: '2020-02-03T11:00:00.000Z', eventType: 'edge.probe', count: 1 },
    ]);
    expect(await queries.counts('hour', window, 'edge.probe')).toEqual([
      { bucketStart: '2020-02-03T10:00:00.000Z', eventType: 'edge.probe', count: 6 },
      { bucketStart: '2020-02-03T11:00:00.000Z', eventType: 'edge.probe', count: 1 },
    ]);
    // Buckets that start within [from, to): the 11:00 hour is outside a window ending at 11:00.
    expect(
      await queries.counts('hour', { from: at('2020-02-03T10:00:00Z'), to: at('2020-02-03T11:00:00Z') }),
    ).toEqual([{ bucketStart: '2020-02-03T10:00:00.000Z', eventType: 'edge.probe', count: 6 }]);
  });

  it('stores and counts a fact recorded twice, under one event id or from one operation log, once', async () => {
    const f = fact({ eventType: 'dup.probe', occurredAt: at('2020-03-04T05:06:07Z') });
    expect(await record('dup-1', f)).toBe(true);
    expect(await record('dup-1', f)).toBe(false);
    // The same operation log's fact again under a new event id (a log derived twice).
    expect(await record('dup-2', f)).toBe(false);
    const window = { from: at('2020-03-04T00:00:00Z'), to: at('2020-03-05T00:00:00Z') };
    expect((await queries.counts('minute', window, 'dup.probe')).map((b) => b.count)).toEqual([1]);
    expect((await queries.counts('hour', window, 'dup.probe')).map((b) => b.count)).toEqual([1]);
  });

  it('counts nothing when the transaction the fact was written in rolls back', async () => {
    const f = fact({ eventType: 'rollback.probe', occurredAt: at('2020-03-05T05:06:07Z') });
    await expect(
      db.transaction(async (tx) => {
        await facts.record(tx, 'rollback-1', f);
        throw new Error('handler failed after recording');
      }),
    ).rejects.toThrow('handler failed');
    const window = { from: at('2020-03-05T00:00:00Z'), to: at('2020-03-06T00:00:00Z') };
    expect(await queries.counts('minute', window, 'rollback.probe')).toEqual([]);
    // The retry of that record is not mistaken for a duplicate.
    expect(await record('rollback-1', f)).toBe(true);
    expect((await queries.counts('minute', window, 'rollback.probe')).map((b) => b.count)).toEqual([1]);
  });

  it('computes latency percentiles as percentile_cont does, per event type', async () => {
    const durations = [12, 3, 250.5, 40, 7, 7, 99, 1000, 18, 64, 5];
    for (const [i, durationMs] of durations.entries()) {
      await record(
        `lat-${i}`,
        fact({ eventType: 'latency.probe', durationMs, occurredAt: at(`2020-04-05T06:07:${10 + i}Z`) }),
      );
    }
    await record('lat-none', fact({ eventType: 'latency.probe', occurredAt: at('2020-04-05T06:08:00Z') }));
    await record(
      'lat-other',
      fact({ eventType: 'latency.other', durationMs: 42, occurredAt: at('2020-04-05T06:08:00Z') }),
    );
    const window = { from: at('2020-04-05T00:00:00Z'), to: at('2020-04-06T00:00:00Z') };
    const [probe, other] = [
      ...(await queries.latency(window, 'latency.probe')),
      ...(await queries.latency(window, 'latency.other')),
    ];
    expect(probe.count).toBe(durations.length);
    expect(probe.max).toBe(1000);
    for (const [name, p] of [
      ['p50', 0.5],
      ['p90', 0.9],
      ['p95', 0.95],
      ['p99', 0.99],
    ] as const) {
      expect(probe[name]).toBeCloseTo(percentileCont(durations, p), 9);
    }
    expect(other).toEqual({
      eventType: 'latency.other',
      count: 1,
      p50: 42,
      p90: 42,
      p95: 42,
      p99: 42,
      max: 42,
    });
    expect(await queries.latency(window)).toEqual([other, probe]);
  });

  it('summarises pain scores per patient and per ward, latest score last', async () => {
    const scores: [string, string, number, string][] = [
      ['p1', 'W1', 4, '2020-06-01T08:00:00Z'],
      ['p1', 'W1', 8, '2020-06-01T09:00:00Z'],
      ['p1', 'W2', 6, '2020-06-01T10:00:00Z'],
      ['p2', 'W2', 2, '2020-06-01T07:00:00Z'],
    ];
    for (const [i, [patientId, ward, painScore, time]] of scores.entries()) {
      await record(`pain-${i}`, fact({ patientId, ward, painScore, occurredAt: at(time) }));
    }
    await record('pain-none', fact({ patientId: 'p1', ward: 'W1', occurredAt: at('2020-06-01T11:00:00Z') }));
    const window = { from: at('2020-06-01T00:00:00Z'), to: at('2020-06-02T00:00:00Z') };
    expect(await queries.painScores('patient', window)).toEqual([
      {
        key: 'p1',
        count: 3,
        mean: 6,
        min: 4,
        max: 8,
        stddev: Math.sqrt(8 / 3),
        last: 6,
        lastAt: '2020-06-01T10:00:00.000Z',
      },
      {
        key: 'p2',
        count: 1,
        mean: 2,
        min: 2,
        max: 2,
        stddev: 0,
        last: 2,
        lastAt: '2020-06-01T07:00:00.000Z',
      },
    ]);
    const byWard = await queries.painScores('ward', window, { patientId: 'p1' });
    expect(byWard.map((g) => [g.key, g.count, g.mean, g.last])).toEqual([
      ['W1', 2, 6, 8],
      ['W2', 1, 6, 6],
    ]);
  });
});
