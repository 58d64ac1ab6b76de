import { Pool } from 'pg';
import { HeldClient } from './pg-held-client';

export interface ListenBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Re-LISTEN after a lost connection: quickly at first, then every few seconds while the server is away. */
export const LISTEN_BACKOFF: ListenBackoff = { initialDelayMs: 100, maxDelayMs: 5_000 };

/** How long unsubscribing waits for the server to confirm UNLISTEN before dropping the connection. */
const UNLISTEN_TIMEOUT_MS = 1_000;

/**
 * LISTEN on one channel for as long as the subscriber wants, across lost connections. LISTEN is per
 * connection, so a client stays out of the pool; when the server ends it (restart, failover,
 * `pg_terminate_backend`) the listener connects and LISTENs again with capped exponential backoff.
 * Notifications sent while it was away are gone, so after every re-LISTEN the subscriber is called
 * once with an empty payload: it should look for itself.
 */
export class PgChannelListener {
  private held?: HeldClient;
  private closed = false;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private readonly onNotification = (msg: { channel: string; payload?: string }) => {
    if (msg.channel === this.channel) this.onNotify(msg.payload ?? '');
  };

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly onNotify: (payload: string) => void,
    private readonly backoff: ListenBackoff = LISTEN_BACKOFF,
  ) {}

  /** The first LISTEN; its failure is the caller's to see (nothing retries it). */
  async start(): Promise<void> {
    await this.subscribe();
  }

  /** Stops listening; bounded, even while the server does not answer. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const held = this.held;
    this.held = undefined;
    if (!held) return;
    held.client.off('notification', this.onNotification);
    let timer: NodeJS.Timeout | undefined;
    const unlisten = held.client.query(`UNLISTEN ${this.channel}`).then(
      () => false,
      () => true,
    );
    const timedOut = new Promise<boolean>(
      (resolve) => (timer = setTimeout(() => resolve(true), UNLISTEN_TIMEOUT_MS)),
    );
    const destroy = await Promise.race([unlisten, timedOut]);
    clearTimeout(timer);
    held.release(destroy);
  }

  private async subscribe(): Promise<void> {
    const held = await HeldClient.checkout(this.pool, () => this.lost(held));
    try {
      held.client.on('notification', this.onNotification);
      await held.client.query(`LISTEN ${this.channel}`);
    } catch (error) {
      held.client.off('notification', this.onNotification);
      held.markBroken(error as Error);
      held.release();
      throw error;
    }
    if (this.closed) {
      held.client.off('notification', this.onNotification);
      held.release(true);
      return;
    }
    // The connection may have broken since LISTEN returned; `lost` has released it already.
    if (held.broken) throw held.broken;
    this.held = held;
    this.failures = 0;
  }

  private lost(held: HeldClient): void {
    held.client.off('notification', this.onNotification);
    held.release();
    if (this.held !== held) return;
    this.held = undefined;
    this.retry();
  }

  private retry(): void {
    if (this.closed) return;
    const delay = Math.min(this.backoff.maxDelayMs, this.backoff.initialDelayMs * 2 ** this.failures);
    this.failures++;
    this.timer = setTimeout(() => {
      this.subscribe().then(
        () => {
          // Whatever was notified while the connection was down is lost: tell the subscriber to look.
          if (this.held && !this.closed) this.onNotify('');
        },
        () => this.retry(),
      );
    }, delay);
  }
}
