import { NotificationChannel, OutgoingNotification } from './notification-channel';

/** The receiver did not take the notification (refused, unreachable or too slow): worth retrying. */
export class WebhookDeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookDeliveryError';
  }
}

export const WEBHOOK_TIMEOUT_MS = 5_000;

/**
 * POSTs the notification as JSON. The `Idempotency-Key` header is the notification id, which stays
 * the same when a delivery is repeated, so the receiver can drop the repeat.
 */
export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly timeoutMs = WEBHOOK_TIMEOUT_MS,
  ) {}

  async send(notification: OutgoingNotification): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': notification.id },
        body: JSON.stringify(notification),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      // fetch reports network failures as TypeError, which would otherwise read as a bug.
      const reason =
        (error as Error).name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs} ms`
          : (error as Error).message;
      throw new WebhookDeliveryError(`Webhook delivery of ${notification.id} failed: ${reason}`, {
        cause: error,
      });
    }
    // The body is not needed; reading it frees the connection.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) {
      throw new WebhookDeliveryError(
        `Webhook answered ${response.status} to notification ${notification.id}`,
      );
    }
  }
}
