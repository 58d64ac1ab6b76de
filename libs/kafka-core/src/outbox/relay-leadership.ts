import { Logger } from '@nestjs/common';
import { Database, SqlExecutor } from '@app/database';
import { LeadershipLostError, outboxStore } from './outbox.store';
import { RelayWakeUp } from './relay-wake-up';

/** A run of the relay; a stop marks it, and everything of that run checks it. */
export interface RelayRun {
  stopped: boolean;
}

/** Longest pause between two sessions while the database cannot be reached. */
const MAX_SESSION_BACKOFF_MS = 5_000;

/**
 * Leader election: the relay holding the schema's advisory lock leads. The lock lives on one session
 * (a dedicated connection), so a crashed leader's lock goes with its connection. A follower keeps its
 * session and tries the lock again on it every `retryMs`, instead of opening a new backend for every
 * try; a lost session is replaced after a backoff.
 */
export class RelayLeadership {
  private sessionFailures = 0;

  constructor(
    private readonly db: Database,
    private readonly wakeUp: RelayWakeUp,
    private readonly logger: Logger,
    private readonly retryMs: number,
    private readonly onLeading: (leading: boolean) => void,
  ) {}

  /**
   * Until the run stops: waits for the lock, then calls `lead` on the lock's connection. `lead`
   * returns when the run stops; it throws LeadershipLostError when it found the lock gone, and any
   * other error (a broken connection) ends the session.
   */
  async run(run: RelayRun, lead: (connection: SqlExecutor) => Promise<void>): Promise<void> {
    while (!run.stopped) {
      try {
        await this.db.session((connection) => this.campaign(run, connection, lead));
      } catch (error) {
        this.sessionFailed(error as Error);
      }
      if (run.stopped) break;
      const delay = Math.min(
        MAX_SESSION_BACKOFF_MS,
        this.retryMs * 2 ** Math.max(0, this.sessionFailures - 1),
      );
      await this.wakeUp.idle(delay, false);
    }
  }

  private async campaign(
    run: RelayRun,
    connection: SqlExecutor,
    lead: (connection: SqlExecutor) => Promise<void>,
  ): Promise<void> {
    while (!run.stopped) {
      if (await outboxStore.tryLock(connection)) {
        this.sessionFailures = 0;
        await this.leadOnce(connection, lead);
      } else {
        this.sessionFailures = 0;
      }
      // Notifications are for the leader; a follower only retries the lock on its own schedule.
      if (!run.stopped) await this.wakeUp.idle(this.retryMs, false);
    }
  }

  private async leadOnce(connection: SqlExecutor, lead: (connection: SqlExecutor) => Promise<void>) {
    // The leader's own writes (deletes, its sleep flag) need not wait for the WAL flush: one lost in
    // a server crash only means rows published again. The session ends with the connection, and the
    // embedded database's single connection is the application's too, so it is left alone there.
    if (this.db.kind === 'postgres') await connection.query('SET synchronous_commit = off');
    this.onLeading(true);
    this.logger.log('Leading the outbox relay');
    try {
      await lead(connection);
    } catch (error) {
      if (!(error instanceof LeadershipLostError)) throw error;
      this.logger.warn('Outbox relay lost its leader lock; following again');
    } finally {
      this.onLeading(false);
      await outboxStore.unlock(connection).catch(() => undefined);
    }
  }

  private sessionFailed(error: Error): void {
    this.sessionFailures++;
    // A database that is away fails every try; say it once, then now and then.
    if (this.sessionFailures === 1 || this.sessionFailures % 10 === 0) {
      this.logger.warn(`Outbox relay: ${error.message}`);
    }
  }
}
