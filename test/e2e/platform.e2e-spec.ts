import { Database, DATABASE } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { AnalyticsServiceModule } from '../../apps/analytics-service/src/analytics-service.module';
import { LoggingServiceModule } from '../../apps/logging-service/src/logging-service.module';
import { MonolithModule } from '../../apps/monolith/src/monolith.module';
import { NotificationServiceModule } from '../../apps/notification-service/src/notification-service.module';
import { testBrokers, uniqueName } from '../support/kafka';
import { eventually, RunningService, startService } from '../support/service-app';

const AUDIT_TOKEN = 'platform-e2e-audit-token';

interface AuditItem {
  position: string;
  streamId: string;
  version: number;
  eventType: string;
  action: string;
  actor: string;
  sourceService: string;
  correlationId: string | null;
  patientId: string | null;
}

/**
 * The system the framework exists for, end to end: the four services, each in its own schema, talking
 * only through the real broker. One nurse's day with one patient: admitted, renamed, assessed twice,
 * the second assessment escalates; then every service's view of it is checked from the outside.
 */
describe('the platform: an escalating pain assessment across the four services', () => {
  let database: TestDatabase;
  let monolith: RunningService;
  let logging: RunningService;
  let analytics: RunningService;
  let notification: RunningService;

  beforeAll(async () => {
    database = await createTestDatabase('kc_platform');
    const env = { KAFKA_BROKERS: testBrokers().join(','), DATABASE_URL: database.url };
    logging = await startService('logging-service', LoggingServiceModule, {
      ...env,
      AUDIT_READER_TOKENS: `platform-auditor:${AUDIT_TOKEN}`,
    });
    analytics = await startService('analytics-service', AnalyticsServiceModule, env);
    // Long enough that nothing re-escalates while the test looks (re-escalation has its own suite).
    notification = await startService('notification-service', NotificationServiceModule, {
      ...env,
      NOTIFICATION_ACK_TIMEOUT_MS: '600000',
    });
    monolith = await startService('monolith', MonolithModule, env);
  }, 120_000);

  afterAll(async () => {
    await monolith?.close();
    await notification?.close();
    await analytics?.close();
    await logging?.close();
    await database?.drop();
  });

  async function call<T = Record<string, unknown>>(
    service: RunningService,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  const audit = <T = Record<string, unknown>>(path: string) =>
    call<T>(logging, 'GET', path, undefined, { authorization: `Bearer ${AUDIT_TOKEN}` });

  /** Every audit event about a patient, read page by page through the keyset cursor. */
  async function auditTrailOf(patientId: string): Promise<AuditItem[]> {
    const items: AuditItem[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: AuditItem[]; nextCursor: string | null } } = await audit(
        `/audit/events?patientId=${patientId}&limit=3${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      // Our own reads of the trail are in it too (audit.read); they are checked separately.
      items.push(...page.body.items.filter((e) => e.eventType !== 'audit.read'));
      cursor = page.body.nextCursor;
    } while (cursor);
    return items;
  }

  it('escalates once, notifies once, audits the whole history, logs by correlation id and counts it', async () => {
    const ward = uniqueName('w');
    const nurse = { 'x-actor': 'nurse-joy' };
    const admitted = await call<{ id: string }>(
      monolith,
      'POST',
      '/patients',
      { mrn: uniqueName('mrn'), givenName: 'Maria', familyName: 'Lopez', birthDate: '1961-04-12', ward },
      { ...nurse, 'x-correlation-id': uniqueName('admit') },
    );
    expect(admitted.status).toBe(201);
    const patientId = admitted.body.id;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const beforeRename = new Date();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const renamed = await call(
      monolith,
      'PATCH',
      `/patients/${patientId}`,
      { familyName: 'Lopez-Garcia' },
      nurse,
    );
    expect(renamed.status).toBe(200);

    const first = await call<{ escalation: unknown }>(
      monolith,
      'POST',
      `/patients/${patientId}/assessments`,
      { score: 3, location: 'lower back', recordedBy: 'nurse-joy' },
      { ...nurse, 'x-correlation-id': uniqueName('assess') },
    );
    expect(first.status).toBe(201);
    expect(first.body.escalation).toBeNull();

    const correlationId = uniqueName('escalating');
    const second = await call<{ escalation: { id: string; severity: string; reasons: string[] } }>(
      monolith,
      'POST',
      `/patients/${patientId}/assessments`,
      { score: 8, location: 'lower back', recordedBy: 'nurse-joy' },
      { ...nurse, 'x-correlation-id': correlationId },
    );
    expect(second.status).toBe(201);
    const escalation = second.body.escalation;
    expect(escalation).toMatchObject({ severity: 'high', reasons: ['threshold', 'rise'] });

    // notification-service: the escalation arrived and produced exactly one notification.
    type Notification = {
      id: string;
      level: number;
      status: string;
      recipient: string;
      escalationId: string;
    };
    const notifications = async () =>
      (await call<{ items: Notification[] }>(notification, 'GET', `/notifications?patientId=${patientId}`))
        .body.items;
    const [notice] = await eventually(async () => {
      const items = await notifications();
      return items.length > 0 ? items : undefined;
    }, 30_000);
    expect(notice).toMatchObject({
      escalationId: escalation.id,
      level: 1,
      status: 'sent',
      recipient: 'ward-nurse',
    });

    // logging-service: the request's logs across services, found by its correlation id; the
    // notification-service's log carries it because the escalation event did.
    type Log = { service: string; operation: string; correlationId: string };
    const logs = await eventually(async () => {
      const { body } = await call<{ items: Log[] }>(logging, 'GET', `/logs?correlationId=${correlationId}`);
      const operations = body.items.map((l) => `${l.service}:${l.operation}`);
      return operations.includes('notification-service:notification.sent') ? body.items : undefined;
    }, 30_000);
    expect(logs.map((l) => `${l.service}:${l.operation}`).sort()).toEqual(
      [
        'monolith:assessment.recorded',
        'monolith:pain.escalated',
        'notification-service:notification.sent',
      ].sort(),
    );
    expect(logs.every((l) => l.correlationId === correlationId)).toBe(true);
    // Its log is stored, so the escalation was handled: still one notification, none twice.
    expect(await notifications()).toHaveLength(1);

    const acknowledged = await call<{ escalation: { status: string } }>(
      notification,
      'POST',
      `/notifications/${notice.id}/acknowledge`,
      { acknowledgedBy: 'dr-grey', note: 'oxycodone given' },
      { 'x-actor': 'dr-grey' },
    );
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body.escalation.status).toBe('acknowledged');

    // logging-service: the patient's full history, from both services, through keyset pages.
    const expectedTrail = [
      'monolith:patient.created',
      'monolith:patient.updated',
      'monolith:assessment.recorded',
      'monolith:assessment.recorded',
      'monolith:pain.escalated',
      'notification-service:escalation.opened',
      'notification-service:notification.sent',
      'notification-service:notification.acknowledged',
      'notification-service:escalation.acknowledged',
    ].sort();
    const trail = await eventually(async () => {
      const items = await auditTrailOf(patientId);
      return items.length >= expectedTrail.length ? items : undefined;
    }, 30_000);
    expect(trail.map((e) => `${e.sourceService}:${e.eventType}`).sort()).toEqual(expectedTrail);
    const positions = trail.map((e) => BigInt(e.position));
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    expect(new Set(positions).size).toBe(positions.length);
    expect(trail.find((e) => e.eventType === 'notification.acknowledged')?.actor).toBe('dr-grey');
    expect(trail.find((e) => e.eventType === 'pain.escalated')?.correlationId).toBe(correlationId);
    const reads = await audit<{ items: AuditItem[] }>(
      `/audit/events?patientId=${patientId}&eventType=audit.read`,
    );
    expect(reads.body.items.length).toBeGreaterThan(0);
    expect(reads.body.items.every((e) => e.actor === 'platform-auditor' && e.action === 'R')).toBe(true);

    // Every stream's hash chain holds.
    for (const streamId of new Set(trail.map((e) => e.streamId))) {
      const verified = await audit<{ valid: boolean; checked: number }>(
        `/audit/streams/${encodeURIComponent(streamId)}/verify`,
      );
      expect({ streamId, ...verified.body }).toMatchObject({ streamId, valid: true });
    }

    // The patient as of a time before the rename, and now.
    const stream = encodeURIComponent(`Patient/${patientId}`);
    const then = await audit<{ version: number; state: Record<string, unknown> }>(
      `/audit/streams/${stream}/state?at=${encodeURIComponent(beforeRename.toISOString())}`,
    );
    expect(then.status).toBe(200);
    expect(then.body).toMatchObject({ version: 1, state: { familyName: 'Lopez', ward } });
    const current = await audit<{ version: number; state: Record<string, unknown> }>(
      `/audit/streams/${stream}/state?version=2`,
    );
    expect(current.body).toMatchObject({
      version: 2,
      state: { familyName: 'Lopez-Garcia', givenName: 'Maria' },
    });

    // analytics-service: the ward's assessments, escalations and scores, derived from the logs.
    const from = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString());
    const rate = await eventually(async () => {
      const { body } = await call<{ assessments: number; escalations: number; rate: number }>(
        analytics,
        'GET',
        `/analytics/escalation-rate?from=${from}&ward=${ward}`,
      );
      return body.assessments === 2 && body.escalations === 1 ? body : undefined;
    }, 30_000);
    expect(rate.rate).toBe(0.5);
    const scores = await call<{
      groups: { key: string; count: number; mean: number; max: number; last: number }[];
    }>(analytics, 'GET', `/analytics/pain-scores?by=patient&from=${from}&patientId=${patientId}`);
    expect(scores.body.groups).toEqual([
      expect.objectContaining({ key: patientId, count: 2, mean: 5.5, max: 8, last: 8 }),
    ]);
    const counts = await call<{ buckets: { eventType: string; count: number }[] }>(
      analytics,
      'GET',
      `/analytics/counts?granularity=minute&from=${from}&eventType=pain.escalated`,
    );
    expect(counts.body.buckets.reduce((sum, b) => sum + b.count, 0)).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('verify names the first tampered version of a patient stream', async () => {
    const admitted = await call<{ id: string }>(monolith, 'POST', '/patients', {
      mrn: uniqueName('mrn'),
      givenName: 'Tom',
      familyName: 'Becker',
      birthDate: '1978-09-30',
    });
    const patientId = admitted.body.id;
    for (const ward of ['1A', '2B', '3C']) {
      expect((await call(monolith, 'PATCH', `/patients/${patientId}`, { ward })).status).toBe(200);
    }
    const stream = encodeURIComponent(`Patient/${patientId}`);
    await eventually(async () => {
      const { body } = await audit<{ valid: boolean; checked: number }>(`/audit/streams/${stream}/verify`);
      return body.valid && body.checked === 4 ? true : undefined;
    }, 30_000);

    // Someone with database access rewrites history, bypassing the append-only trigger.
    const db = logging.app.get<Database>(DATABASE);
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(
        `UPDATE audit_events SET data = jsonb_set(data, '{ward}', '"9Z"') WHERE stream_id = $1 AND version = 3`,
        [`Patient/${patientId}`],
      );
    });
    const verified = await audit(`/audit/streams/${stream}/verify`);
    expect(verified.body).toMatchObject({ valid: false, checked: 4, firstBrokenVersion: 3 });
  }, 60_000);
});
