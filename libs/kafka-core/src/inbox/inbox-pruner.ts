import { SqlExecutor } from '@app/database';

/**
 * Housekeeping of kafka_inbox: event ids handled longer ago than `retentionMs` are forgotten. Records
 * can only come back while their topic keeps them, so the retention must outlast the topics'.
 * Infinity keeps every row (an inbox in front of a topic that never expires records).
 */
export async function pruneInbox(
  connection: SqlExecutor,
  retentionMs: number,
  now = Date.now(),
): Promise<void> {
  if (!Number.isFinite(retentionMs)) return;
  await connection.query('DELETE FROM kafka_inbox WHERE processed_at < $1', [new Date(now - retentionMs)]);
}
