import { Database } from '@app/database';
import { eventIdOf } from '../ctx-host/kafka.context';
import { Middleware, Outcome } from '../pipeline/pipeline';

/** Carries a non-success outcome out of the transaction, rolling back the inbox row with it. */
class RollBack extends Error {
  constructor(readonly outcome: Outcome) {
    super('roll back');
  }
}

/**
 * The idempotent inbox: records (group, event id) in the same transaction as the handler's writes
 * and hands the handler that transaction. A redelivered event finds its row and is skipped (and so
 * acknowledged); a failed or nacked attempt rolls back both, so the retry is not mistaken for a duplicate. A
 * concurrent duplicate waits on the row's key until the first commits, then skips.
 */
export function inboxMiddleware(db: Database): Middleware {
  return (next) => async (message) => {
    const { record, listener } = message;
    const eventId = eventIdOf(record);
    try {
      return await db.transaction(async (tx) => {
        const claimed = await tx.query(
          `INSERT INTO kafka_inbox (group_id, event_id, topic, partition, "offset")
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
          [listener.groupId, eventId, record.topic, record.partition, record.offset],
        );
        if (claimed.rowCount === 0) return { status: 'skipped' } as Outcome;
        message.transaction = tx;
        const outcome = await next(message);
        if (outcome.status !== 'success') throw new RollBack(outcome);
        return outcome;
      });
    } catch (error) {
      if (error instanceof RollBack) return error.outcome;
      throw error;
    } finally {
      message.transaction = undefined;
    }
  };
}
