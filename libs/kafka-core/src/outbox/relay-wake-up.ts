import { Logger } from '@nestjs/common';
import { Database } from '@app/database';
import { outboxChannel } from './kafka-core.migrations';

/** Delay before subscribing again when the first LISTEN failed (the database was away at start). */
const LISTEN_RETRY_MS = 5_000;

/**
 * How the relay leaves an idle wait: a NOTIFY on the schema's outbox channel (the driver re-LISTENs
 * by itself after a lost connection), a caller's `wake()`, its poll interval, or a stop.
 */
export class RelayWakeUp {
  private woken = false;
  private interrupted = false;
  private wakeUp?: (force: boolean) => void;
  private unlisten?: () => Promise<void>;
  private retry?: NodeJS.Timeout;
  private closed = true;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to notifications; without them the relay polls, and subscribing is tried again. */
  async open(): Promise<void> {
    this.closed = false;
    this.interrupted = false;
    try {
      const unlisten = await this.db.listen(outboxChannel(this.db.schema), () => this.wake());
      if (this.closed) await unlisten().catch(() => undefined);
      else this.unlisten = unlisten;
    } catch (error) {
      if (this.closed) return;
      this.logger.warn(`No outbox notifications yet (${(error as Error).message}); polling meanwhile`);
      this.retry = setTimeout(() => void this.open(), LISTEN_RETRY_MS);
    }
  }

  /** Unsubscribes and ends every wait, now and later (the relay is stopping). */
  async close(): Promise<void> {
    this.closed = true;
    this.interrupt();
    clearTimeout(this.retry);
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.().catch(() => undefined);
  }

  /** Ends every wait from now on, including the follower's (the relay is stopping). */
  interrupt(): void {
    this.interrupted = true;
    this.wakeUp?.(true);
  }

  /** Cuts the idle wait short (a notification arrived, or a caller knows rows are waiting). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.(false);
  }

  /** Forgets wake-ups that came while busy: the round about to start looks for rows anyway. */
  clear(): void {
    this.woken = false;
  }

  /**
   * Waits `ms`, or less when woken (only a stop ends a wait that is not `wakeable`); a wake-up that
   * came while busy ends the next wakeable wait at once.
   */
  idle(ms: number, wakeable = true): Promise<void> {
    if (this.interrupted || (wakeable && this.woken)) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(true), ms);
      const done = (force: boolean) => {
        if (!force && !wakeable) return;
        clearTimeout(timer);
        this.wakeUp = undefined;
        if (wakeable) this.woken = false;
        resolve();
      };
      this.wakeUp = done;
    });
  }
}
