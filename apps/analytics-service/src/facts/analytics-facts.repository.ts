import { Injectable } from '@nestjs/common';
import { SqlExecutor } from '@app/database';
import { AnalyticsFactEvent } from '@app/contracts';

/** Tumbling windows the counters are kept for. */
export const GRANULARITIES = ['minute', 'hour'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

@Injectable()
export class AnalyticsFactsRepository {
  /**
   * Stores one fact and counts it in its minute and hour buckets (UTC), in `tx`. A fact already
   * stored under this event id, or derived from the same operation log, changes nothing, so a
   * redelivery that got past the inbox (say, after the inbox row was pruned) or a log derived again
   * never counts twice. Resolves whether the fact was new.
   */
  async record(tx: SqlExecutor, eventId: string, fact: AnalyticsFactEvent): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO analytics_facts (event_id, event_type, service, source_event_id, occurred_at, duration_ms,
                                    patient_id, ward, pain_score)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT DO NOTHING`,
      [
        eventId,
        fact.eventType,
        fact.service,
        fact.sourceEventId,
        fact.occurredAt,
        fact.durationMs ?? null,
        fact.patientId ?? null,
        fact.ward ?? null,
        fact.painScore ?? null,
      ],
    );
    if (rowCount === 0) return false;
    // Always minute before hour, so concurrent writers lock the counter rows in the same order.
    await tx.query(
      `INSERT INTO event_counts (granularity, bucket_start, event_type, count)
       VALUES ('minute', date_trunc('minute', $1::timestamptz, 'UTC'), $2, 1),
              ('hour', date_trunc('hour', $1::timestamptz, 'UTC'), $2, 1)
       ON CONFLICT (granularity, bucket_start, event_type) DO UPDATE SET count = event_counts.count + 1`,
      [fact.occurredAt, fact.eventType],
    );
    return true;
  }
}
