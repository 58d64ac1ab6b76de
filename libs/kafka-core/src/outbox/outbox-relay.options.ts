import { OutgoingRecord, RecordMetadata } from '../client/kafka-client.port';
import { BackoffOptions } from '../errors/backoff';

export interface OutboxRelayOptions {
  /** Rows claimed and published per round. Default 500. */
  batchSize: number;
  /** Fallback polling when no notification arrives (or the driver has none), in ms. Default 1000. */
  pollIntervalMs: number;
  /**
   * How often a relay that is not the leader tries to become it, in ms. Default 1000. The tries run
   * on one held connection, not a new one each time.
   */
  leaderRetryMs: number;
  /** Per-row backoff for rows the broker refuses; after `attempts` the row is parked. */
  rowBackoff: BackoffOptions;
  /** Backoff of the whole relay while the broker is unreachable (attempts are not counted). */
  brokerBackoff: Omit<BackoffOptions, 'attempts'>;
  /** `delete` published rows (default), or `mark` them and delete them after `publishedRetentionMs`. */
  onPublished: 'delete' | 'mark';
  publishedRetentionMs: number;
  /** Inbox rows older than this are deleted; keep it longer than the topics' retention. */
  inboxRetentionMs: number;
  /** How often the leader prunes marked rows and old inbox rows, in ms. */
  housekeepingIntervalMs: number;
  /**
   * How long `stop()` waits for the round in progress (a send to an unreachable broker, a statement
   * on a database that does not answer) before it returns anyway, in ms. Default 5000.
   */
  stopTimeoutMs: number;
}

export const OUTBOX_RELAY_DEFAULTS: OutboxRelayOptions = {
  batchSize: 500,
  pollIntervalMs: 1_000,
  leaderRetryMs: 1_000,
  rowBackoff: { attempts: 5, initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 60_000, jitter: 0.2 },
  brokerBackoff: { initialDelayMs: 100, multiplier: 2, maxDelayMs: 5_000, jitter: 0.2 },
  onPublished: 'delete',
  publishedRetentionMs: 7 * 24 * 3_600_000,
  inboxRetentionMs: 14 * 24 * 3_600_000,
  housekeepingIntervalMs: 60_000,
  stopTimeoutMs: 5_000,
};

/** What the relay did since it started, and whether it leads (metrics read this). */
export interface OutboxRelayCounters {
  published: number;
  failed: number;
  parked: number;
  leader: boolean;
}

export interface OutboxBacklog {
  /** Rows due and waiting to be published (scheduled rows not yet due are not counted). */
  pending: number;
  /** How long the longest-waiting due row has been due, in ms (0 when none). */
  oldestAgeMs: number;
  /** Rows scheduled for later (`delayMs`), not yet due. */
  scheduled: number;
  /** Rows parked in kafka_outbox_dead. */
  parked: number;
}

/**
 * Publishes records to one topic; resolves to where each was written. A rejection may say which of
 * the records the broker acknowledged anyway (a request to several partitions can be refused for one
 * and written for the others): a ProduceError's `written[0]` then holds each record's metadata, or
 * nothing for the ones not written. Without it, none of the records counts as acknowledged.
 */
export type SendRecords = (topic: string, records: OutgoingRecord[]) => Promise<RecordMetadata[]>;
