import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Admin, Consumer } from 'kafkajs';
import { NotificationRequestedEvent, PainEscalationEvent, TOPICS } from '@app/contracts';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { DLT_HEADERS, KafkaPublisher, SendResult } from '@app/kafka-core';
import { KafkajsClient } from '@app/kafka-core/client/kafkajs.client';
import { NotificationServiceModule } from '../../apps/notification-service/src/notification-service.module';
import { escalationNotificationId } from '../../apps/notification-service/src/notifications/notification-ids';
import type {
  Escalation,
  Notification,
} from '../../apps/notification-service/src/notifications/notifications.repository';
import { rawKafka, testBrokers, uniqueName } from '../support/kafka';
import { committedOffsets } from '../support/listener-app';
import { eventually, RunningService, startService } from '../support/service-app';

const CHAIN = ['ward-nurse', 'charge-nurse', 'on-call-physician'];
const ACK_TIMEOUT_MS = 1_500;

/** What the webhook received: one entry per request, failed ones included. */
interface WebhookCall {
  idempotencyKey: string;
  body: {
    id: string;
    kind: string;
    escalationId: string | null;
    level: number | null;
    recipient: string;
    subject: string;
    priority: string;
    patientId: string | null;
  };
  status: number;
}

/**
 * The receiving system: records every request, and answers 500 to the next `n` requests about a
 * given escalation (or patient, for requests) when told to.
 */
class Webhook {
  readonly calls: WebhookCall[] = [];
  private readonly failures = new Map<string, number>();
  private server: Server;
  url: string;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as WebhookCall['body'];
        const subject = body.escalationId ?? body.patientId ?? '';
        const left = this.failures.get(subject) ?? 0;
        const status = left > 0 ? 500 : 204;
        if (left > 0) this.failures.set(subject, left - 1);
        this.calls.push({ idempotencyKey: String(req.headers['idempotency-key']), body, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/notify`;
  }

  failNext(subject: string, times: number): void {
    this.failures.set(subject, times);
  }

  callsAbout(escalationId: string): WebhookCall[] {
    return this.calls.filter((c) => c.body.escalationId === escalationId);
  }

  delivered(escalationId: string): WebhookCall[] {
    return this.callsAbout(escalationId).filter((c) => c.status < 300);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

interface Observed {
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  value: Record<string, unknown>;
}

/** Everything arriving on a topic, from the beginning, with its position. */
async function observe(topic: string): Promise<{ records: Observed[]; stop(): Promise<void> }> {
  const records: Observed[] = [];
  const consumer: Consumer = rawKafka().consumer({ groupId: uniqueName('observer'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      let value: Record<string, unknown> = {};
      try {
        value = JSON.parse(String(message.value)) as Record<string, unknown>;
      } catch {
        // Not JSON: kept with an empty value.
      }
      records.push({
        partition,
        offset: Number(message.offset),
        key: String(message.key),
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        value,
      });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

describe('notification-service: escalations, re-escalation and acknowledgments (real broker and PostgreSQL)', () => {
  let database: TestDatabase;
  let service: RunningService;
  let admin: Admin;
  let publisher: KafkaPublisher;
  const webhook = new Webhook();
  const observers: { stop(): Promise<void> }[] = [];
  let audit: Observed[];
  let logs: Observed[];
  let notificationEvents: Observed[];
  let escalationDlq: Observed[];
  let notificationDlq: Observed[];

  beforeAll(async () => {
    database = await createTestDatabase('kc_notification');
    await webhook.start();
    service = await startService('notification-service', NotificationServiceModule, {
      KAFKA_BROKERS: testBrokers().join(','),
      DATABASE_URL: database.url,
      NOTIFICATION_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      NOTIFICATION_WEBHOOK_URL: webhook.url,
      NOTIFICATION_ESCALATION_CHAIN: CHAIN.join(','),
    });
    admin = rawKafka().admin();
    await admin.connect();
    const clientId = uniqueName('monolith-stand-in');
    publisher = new KafkaPublisher(new KafkajsClient({ brokers: testBrokers(), clientId }), {
      brokers: testBrokers(),
      clientId,
    });
    // The service provisioned these topics at startup.
    const watch = async (topic: string) => {
      const observer = await observe(topic);
      observers.push(observer);
      return observer.records;
    };
    audit = await watch(TOPICS.auditEvents);
    logs = await watch(TOPICS.loggingEvents);
    notificationEvents = await watch(TOPICS.notificationEvents);
    escalationDlq = await watch(`${TOPICS.escalationEvents}-dlq`);
    notificationDlq = await watch(`${TOPICS.notificationEvents}-dlq`);
  });

  afterAll(async () => {
    await Promise.all(observers.map((o) => o.stop()));
    await publisher?.onApplicationShutdown();
    await admin?.disconnect();
    await service?.close();
    await webhook.stop();
    await database?.drop();
  });

  const escalation = (overrides: Partial<PainEscalationEvent> = {}): PainEscalationEvent =>
    Object.assign(new PainEscalationEvent(), {
      escalationId: randomUUID(),
      patientId: `patient-${uniqueName('p')}`,
      ward: '3B',
      severity: 'critical',
      reasons: ['threshold', 'rise'],
      score: 9,
      previousScore: 5,
      assessmentIds: [randomUUID(), randomUUID()],
      raisedAt: new Date(),
      ...overrides,
    });

  async function get<T>(path: string): Promise<{ status: number; body: T }> {
    const response = await fetch(`${service.url}${path}`);
    return { status: response.status, body: (await response.json()) as T };
  }

  async function acknowledge(
    id: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${service.url}/notifications/${id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** The notification once its transaction committed (the webhook hears of it just before). */
  const stored = (id: string) =>
    eventually(async () => {
      const { status, body } = await get<Notification>(`/notifications/${id}`);
      return status === 200 ? body : undefined;
    });

  const escalationView = (id: string) =>
    get<Escalation & { notifications: Notification[] }>(`/escalations/${id}`);

  /** Waits until the group has handled the record at that position (its committed offset is past it). */
  const handled = (groupId: string, topic: string, at: Pick<SendResult, 'partition' | 'offset'>) =>
    eventually(
      async () =>
        (await committedOffsets(admin, groupId, topic))[at.partition] > Number(at.offset) ? true : undefined,
      30_000,
    );

  it('notifies level 1 once per escalation, keyed by the notification id, even when the event arrives twice', async () => {
    const event = escalation();
    const eventId = randomUUID();
    await publisher.publish(event, { eventId });
    // The same event redelivered, and the same escalation re-published under a new event id.
    await publisher.publish(event, { eventId });
    const last = await publisher.publish(event);
    await handled('notification-service', TOPICS.escalationEvents, last);

    const id = escalationNotificationId(event.escalationId, 1);
    const notification = await stored(id);
    expect(webhook.callsAbout(event.escalationId)).toEqual([
      {
        idempotencyKey: id,
        status: 204,
        body: expect.objectContaining({
          id,
          kind: 'escalation',
          escalationId: event.escalationId,
          level: 1,
          recipient: 'ward-nurse',
          priority: 'critical',
          patientId: event.patientId,
        }),
      },
    ]);
    expect(notification).toMatchObject({
      id,
      kind: 'escalation',
      escalationId: event.escalationId,
      level: 1,
      recipient: 'ward-nurse',
      channel: 'webhook',
      status: 'sent',
      patientId: event.patientId,
    });
    const listed = await get<{ items: Notification[] }>(`/notifications?escalationId=${event.escalationId}`);
    expect(listed.body.items.map((n) => n.id)).toEqual([id]);
    const { body: opened } = await escalationView(event.escalationId);
    expect(opened).toMatchObject({
      status: 'open',
      currentLevel: 1,
      patientId: event.patientId,
      severity: 'critical',
    });

    // Acknowledged, so it does not go on escalating behind the other cases.
    expect((await acknowledge(id, { acknowledgedBy: 'nurse-ada' })).status).toBe(200);
  });

  it('re-escalates to the next recipient when nobody acknowledges in time: level 2, level 3, then exhausted', async () => {
    const event = escalation({ severity: 'moderate' });
    await publisher.publish(event);

    const { body: exhausted } = await eventually(async () => {
      const view = await escalationView(event.escalationId);
      return view.body.status === 'exhausted' ? view : undefined;
    }, 45_000);

    const delivered = webhook.delivered(event.escalationId);
    expect(delivered.map((c) => [c.body.level, c.body.recipient, c.idempotencyKey])).toEqual(
      [1, 2, 3].map((level) => [
        level,
        CHAIN[level - 1],
        escalationNotificationId(event.escalationId, level),
      ]),
    );
    // Each level more urgent than the one before.
    expect(delivered.map((c) => c.body.priority)).toEqual(['normal', 'high', 'critical']);
    expect(exhausted).toMatchObject({
      currentLevel: 3,
      status: 'exhausted',
      exhaustedAt: expect.any(String),
    });
    expect(exhausted.notifications.map((n) => [n.level, n.recipient, n.status])).toEqual([
      [1, 'ward-nurse', 'superseded'],
      [2, 'charge-nurse', 'superseded'],
      [3, 'on-call-physician', 'exhausted'],
    ]);
    // Every level waited out its acknowledgment time before the next one was notified.
    const sentAt = exhausted.notifications.map((n) => new Date(n.sentAt).getTime());
    expect(sentAt[1] - sentAt[0]).toBeGreaterThanOrEqual(ACK_TIMEOUT_MS);
    expect(sentAt[2] - sentAt[1]).toBeGreaterThanOrEqual(ACK_TIMEOUT_MS);

    const reEscalations = await eventually(async () => {
      const found = audit.filter(
        (r) =>
          r.value.streamId === `Escalation/${event.escalationId}` &&
          r.value.eventType === 'escalation.re-escalated',
      );
      return found.length === 2 ? found : undefined;
    });
    expect(reEscalations.map((r) => [r.value.action, (r.value.data as { toLevel: number }).toLevel])).toEqual(
      [
        ['E', 2],
        ['E', 3],
      ],
    );
    await eventually(async () =>
      audit.some(
        (r) =>
          r.value.streamId === `Escalation/${event.escalationId}` &&
          r.value.eventType === 'escalation.exhausted',
      )
        ? true
        : undefined,
    );
  });

  it('does not re-escalate an escalation acknowledged in time, and answers a repeated acknowledgment idempotently', async () => {
    const event = escalation();
    await publisher.publish(event);
    const id = escalationNotificationId(event.escalationId, 1);
    await stored(id);

    const first = await acknowledge(id, { acknowledgedBy: 'nurse-grace', note: 'on my way' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      notification: { id, status: 'acknowledged', acknowledgedBy: 'nurse-grace', ackNote: 'on my way' },
      escalation: { escalationId: event.escalationId, status: 'acknowledged', acknowledgedBy: 'nurse-grace' },
    });
    const acknowledgedAt = (first.body.notification as Notification).acknowledgedAt;

    const again = await acknowledge(id, { acknowledgedBy: 'nurse-grace' });
    expect(again.status).toBe(200);
    expect((again.body.notification as Notification).acknowledgedAt).toBe(acknowledgedAt);
    const other = await acknowledge(id, { acknowledgedBy: 'dr-who' });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ acknowledgedBy: 'nurse-grace' });

    // The deadline still fires; wait until the service has handled it.
    const deadline = await eventually(async () =>
      notificationEvents.find(
        (r) => r.key === event.escalationId && r.headers['event-type'] === 'escalation.acknowledgement-due',
      ),
    );
    expect(deadline.value).toMatchObject({ escalationId: event.escalationId, level: 1, notificationId: id });
    await handled('notification-service-requests', TOPICS.notificationEvents, {
      partition: deadline.partition,
      offset: String(deadline.offset),
    });

    expect(webhook.callsAbout(event.escalationId).map((c) => c.body.level)).toEqual([1]);
    const { body: view } = await escalationView(event.escalationId);
    expect(view).toMatchObject({ status: 'acknowledged', currentLevel: 1 });
    expect(view.notifications.map((n) => [n.level, n.status])).toEqual([[1, 'acknowledged']]);
  });

  it('retries a failing webhook and delivers the notification once it recovers', async () => {
    const event = escalation();
    webhook.failNext(event.escalationId, 2);
    await publisher.publish(event);
    const id = escalationNotificationId(event.escalationId, 1);
    await stored(id);

    const calls = webhook.callsAbout(event.escalationId);
    expect(calls.map((c) => [c.status, c.idempotencyKey])).toEqual([
      [500, id],
      [500, id],
      [204, id],
    ]);
    const listed = await get<{ items: Notification[] }>(`/notifications?escalationId=${event.escalationId}`);
    expect(listed.body.items).toHaveLength(1);
    await acknowledge(id, { acknowledgedBy: 'nurse-ada' });
  });

  it('dead-letters an escalation whose webhook keeps failing, and the partition keeps flowing', async () => {
    const patientId = `patient-${uniqueName('p')}`;
    // Same patient, same key, same partition: the second only arrives if the first stops blocking.
    const failing = escalation({ patientId });
    const later = escalation({ patientId });
    webhook.failNext(failing.escalationId, Number.POSITIVE_INFINITY);
    const sent = await publisher.publish(failing);
    await publisher.publish(later);

    const laterId = escalationNotificationId(later.escalationId, 1);
    await stored(laterId);
    expect(webhook.delivered(later.escalationId)).toHaveLength(1);

    const dead = await eventually(async () =>
      escalationDlq.find((r) => r.value.escalationId === failing.escalationId),
    );
    expect(dead.key).toBe(patientId);
    expect(dead.partition).toBe(sent.partition);
    expect(dead.headers).toMatchObject({
      [DLT_HEADERS.originalTopic]: TOPICS.escalationEvents,
      [DLT_HEADERS.originalPartition]: String(sent.partition),
      [DLT_HEADERS.originalOffset]: sent.offset,
      [DLT_HEADERS.group]: 'notification-service',
      [DLT_HEADERS.listener]: 'escalation-events',
      [DLT_HEADERS.attempts]: '3',
      [DLT_HEADERS.errorClass]: 'WebhookDeliveryError',
      'event-id': sent.eventId,
    });
    expect(dead.headers[DLT_HEADERS.errorMessage]).toContain('Webhook answered 500');
    expect(webhook.callsAbout(failing.escalationId).map((c) => c.status)).toEqual([500, 500, 500]);
    // Nothing of the failed escalation was kept.
    expect((await escalationView(failing.escalationId)).status).toBe(404);
    expect((await get(`/notifications/${escalationNotificationId(failing.escalationId, 1)}`)).status).toBe(
      404,
    );
    await acknowledge(laterId, { acknowledgedBy: 'nurse-ada' });
  });

  it('publishes audit and operation log events for sent and acknowledged notifications', async () => {
    const event = escalation();
    const correlationId = uniqueName('corr');
    await publisher.publish(event, { correlationId });
    const id = escalationNotificationId(event.escalationId, 1);
    await stored(id);
    const ackCorrelation = uniqueName('ack');
    const ack = await acknowledge(
      id,
      { acknowledgedBy: 'nurse-grace' },
      { 'x-actor': 'Practitioner/42', 'x-correlation-id': ackCorrelation },
    );
    expect(ack.status).toBe(200);

    const auditOf = (streamId: string, eventType: string) =>
      eventually(async () =>
        audit.find((r) => r.value.streamId === streamId && r.value.eventType === eventType),
      );
    const sent = await auditOf(`Notification/${id}`, 'notification.sent');
    expect(sent.value).toMatchObject({
      action: 'C',
      actor: 'notification-service',
      outcome: 'success',
      sourceService: 'notification-service',
      purpose: 'notification',
      patientId: event.patientId,
      data: {
        level: 1,
        recipient: 'ward-nurse',
        channel: 'webhook',
        status: 'sent',
        escalationId: event.escalationId,
      },
    });
    expect(sent.headers['correlation-id']).toBe(correlationId);

    const acknowledged = await auditOf(`Notification/${id}`, 'notification.acknowledged');
    expect(acknowledged.value).toMatchObject({
      action: 'U',
      actor: 'Practitioner/42',
      purpose: 'notification',
      patientId: event.patientId,
      data: { status: 'acknowledged', acknowledgedBy: 'nurse-grace' },
    });
    expect(acknowledged.headers['correlation-id']).toBe(ackCorrelation);
    const escalationAck = await auditOf(`Escalation/${event.escalationId}`, 'escalation.acknowledged');
    expect(escalationAck.value).toMatchObject({ action: 'U', data: { status: 'acknowledged' } });
    const opened = await auditOf(`Escalation/${event.escalationId}`, 'escalation.opened');
    expect(opened.value).toMatchObject({ action: 'C', data: { status: 'open', currentLevel: 1, score: 9 } });

    const sentLog = await eventually(async () =>
      logs.find(
        (r) =>
          r.value.operation === 'notification.sent' &&
          (r.value.context as Record<string, unknown>).notificationId === id,
      ),
    );
    expect(sentLog.value).toMatchObject({
      service: 'notification-service',
      level: 'info',
      context: {
        patientId: event.patientId,
        ward: '3B',
        painScore: 9,
        escalationId: event.escalationId,
        level: 1,
      },
      durationMs: expect.any(Number),
    });
    const ackLog = await eventually(async () =>
      logs.find(
        (r) =>
          r.value.operation === 'notification.acknowledged' &&
          (r.value.context as Record<string, unknown>).notificationId === id,
      ),
    );
    expect(ackLog.headers['correlation-id']).toBe(ackCorrelation);
  });

  it('sends a requested notification on its channel (the webhook by default, or the log) and dead-letters an unknown channel', async () => {
    const patientId = `patient-${uniqueName('p')}`;
    const request = (overrides: Partial<NotificationRequestedEvent>) =>
      Object.assign(new NotificationRequestedEvent(), {
        recipient: 'ward-3B-charge-nurse',
        subject: 'Protocol review due',
        body: 'The treatment protocol needs a review today.',
        priority: 'normal',
        patientId,
        ...overrides,
      });

    const byWebhook = await publisher.publish(request({}));
    const call = await eventually(async () =>
      webhook.calls.find((c) => c.body.kind === 'request' && c.body.patientId === patientId),
    );
    expect(call.body).toMatchObject({
      recipient: 'ward-3B-charge-nurse',
      subject: 'Protocol review due',
      level: null,
    });
    const viaWebhook = await stored(call.idempotencyKey);
    expect(viaWebhook).toMatchObject({
      kind: 'request',
      channel: 'webhook',
      status: 'sent',
      escalationId: null,
    });

    const byLog = await publisher.publish(request({ channel: 'log', subject: 'Logged only' }));
    const unknown = await publisher.publish(request({ channel: 'pager', subject: 'Nowhere' }));
    await handled('notification-service-requests', TOPICS.notificationEvents, byLog);
    const listed = await eventually(async () => {
      const { body } = await get<{ items: Notification[] }>(`/notifications?patientId=${patientId}`);
      return body.items.length === 2 ? body.items : undefined;
    });
    expect(listed.map((n) => [n.subject, n.channel]).sort()).toEqual([
      ['Logged only', 'log'],
      ['Protocol review due', 'webhook'],
    ]);
    expect(webhook.calls.filter((c) => c.body.patientId === patientId)).toHaveLength(1);

    const dead = await eventually(async () =>
      notificationDlq.find((r) => r.headers['event-id'] === unknown.eventId),
    );
    expect(dead.headers).toMatchObject({
      [DLT_HEADERS.errorClass]: 'UnknownChannelError',
      [DLT_HEADERS.attempts]: '1',
      [DLT_HEADERS.group]: 'notification-service-requests',
    });
    // The message keeps its shape; the quoted channel (part of the record's value) is redacted.
    expect(dead.headers[DLT_HEADERS.errorMessage]).toContain('"…"');
    expect(dead.headers[DLT_HEADERS.errorMessage]).not.toContain('pager');
    expect(byWebhook.eventId).not.toBe(unknown.eventId);
  });

  it('refuses bad acknowledgments: 400 naming the fields, 400 for a malformed id, 404 for an unknown one', async () => {
    const event = escalation();
    await publisher.publish(event);
    const id = escalationNotificationId(event.escalationId, 1);
    await stored(id);

    const missing = await acknowledge(id, {});
    expect(missing.status).toBe(400);
    expect((missing.body.fields as { field: string }[]).map((f) => f.field)).toEqual(['acknowledgedBy']);
    const wrong = await acknowledge(id, { acknowledgedBy: '', note: 42, signature: 'x' });
    expect(wrong.status).toBe(400);
    expect((wrong.body.fields as { field: string }[]).map((f) => f.field).sort()).toEqual([
      'acknowledgedBy',
      'note',
      'signature',
    ]);
    const longActor = await acknowledge(id, { acknowledgedBy: 'nurse-ada' }, { 'x-actor': 'x'.repeat(201) });
    expect(longActor.status).toBe(400);
    expect(longActor.body.message).toBe('Invalid fields: x-actor');
    // None of that acknowledged anything.
    expect((await stored(id)).status).toBe('sent');

    expect((await acknowledge('not-a-uuid', { acknowledgedBy: 'nurse-ada' })).status).toBe(400);
    const unknown = await acknowledge(randomUUID(), { acknowledgedBy: 'nurse-ada' });
    expect(unknown.status).toBe(404);
    expect((await get(`/notifications/${randomUUID()}`)).status).toBe(404);
    expect((await get(`/escalations/${randomUUID()}`)).status).toBe(404);

    const badQuery = await get<{ fields: { field: string }[] }>('/notifications?status=lost&limit=0');
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.fields.map((f) => f.field).sort()).toEqual(['limit', 'status']);

    expect((await acknowledge(id, { acknowledgedBy: 'nurse-ada' })).status).toBe(200);
  });
});
