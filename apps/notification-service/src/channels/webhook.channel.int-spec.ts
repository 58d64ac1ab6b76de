import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { classify } from '@app/kafka-core/errors/error-classifier';
import { OutgoingNotification } from './notification-channel';
import { WebhookChannel, WebhookDeliveryError } from './webhook.channel';

interface Received {
  method?: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

describe('webhook channel (real HTTP server)', () => {
  let server: Server;
  let url: string;
  const received: Received[] = [];
  let answer: { status: number; delayMs?: number } = { status: 204 };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          method: req.method,
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        });
        setTimeout(() => res.writeHead(answer.status).end(), answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    received.length = 0;
    answer = { status: 204 };
  });

  const notification: OutgoingNotification = {
    id: '2f1c9a52-0f6e-5a3d-8b1e-4c2d7e9f0a11',
    kind: 'escalation',
    escalationId: 'esc-1',
    level: 1,
    recipient: 'ward-nurse',
    subject: 'Pain escalation',
    body: 'Pain score 9/10',
    priority: 'critical',
    patientId: 'patient-1',
    sentAt: new Date('2026-01-02T03:04:05.000Z'),
  };

  it('POSTs the notification as JSON with its id as the Idempotency-Key', async () => {
    await new WebhookChannel(url).send(notification);
    expect(received).toHaveLength(1);
    expect(received[0].method).toBe('POST');
    expect(received[0].headers['idempotency-key']).toBe(notification.id);
    expect(received[0].headers['content-type']).toBe('application/json');
    expect(received[0].body).toEqual({ ...notification, sentAt: '2026-01-02T03:04:05.000Z' });
  });

  it.each([400, 500, 503])('fails on a %p answer with a retryable delivery error', async (status) => {
    answer = { status };
    const error = await new WebhookChannel(url).send(notification).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    expect((error as Error).message).toBe(`Webhook answered ${status} to notification ${notification.id}`);
    expect(classify(error, { retryable: [WebhookDeliveryError] })).toBe('retry');
  });

  it('gives up on a receiver slower than its timeout', async () => {
    answer = { status: 204, delayMs: 1_000 };
    const started = Date.now();
    const error = await new WebhookChannel(url, 200).send(notification).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(900);
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    expect((error as Error).message).toContain('no answer within 200 ms');
  });

  it('fails on an unreachable receiver with a delivery error that is retried despite its TypeError cause', async () => {
    const error = await new WebhookChannel('http://127.0.0.1:1/hook')
      .send(notification)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    // fetch's own realm: compared by name, as jest runs tests in a separate one.
    expect(((error as Error).cause as Error).name).toBe('TypeError');
    expect(classify(error, { retryable: [WebhookDeliveryError] })).toBe('retry');
  });
});
