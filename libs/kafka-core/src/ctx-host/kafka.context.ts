import type { SqlExecutor } from '@app/database';
import { ConsumedRecord, Headers } from '../client/kafka-client.port';
import { ENVELOPE_HEADERS } from '../kafka-core.constants';

/**
 * A record's event id: its `event-id` header, or, for producers without the envelope, its position
 * (topic-partition-offset). The inbox keys on it; handlers that store events key on it too.
 */
export function eventIdOf(record: ConsumedRecord): string {
  return record.headers[ENVELOPE_HEADERS.eventId] ?? `${record.topic}-${record.partition}-${record.offset}`;
}

/** The manual acknowledgment of one record (Spring's `Acknowledgment`). */
export interface Acknowledgment {
  /** The record is done; its offset may be committed once every earlier record is done too. */
  acknowledge(): void;
  /** Re-deliver this record after `delayMs`, without counting a failed attempt. */
  nack(delayMs?: number): void;
}

/**
 * What a context reads. The InboundMessage of a delivery is one (the context is a view of it), so the
 * record, attempt and transaction live in one place.
 */
export interface KafkaContextFields {
  readonly record: ConsumedRecord;
  readonly listener: { readonly id: string; readonly groupId: string };
  readonly attempt: number;
  readonly heartbeat: () => Promise<void>;
  /** Set by the inbox for the duration of one attempt. */
  readonly transaction?: SqlExecutor;
  /** Set by the timeout: fires when the handler runs past `handlerTimeoutMs`. */
  readonly signal?: AbortSignal;
}

const NEVER_ABORTED = new AbortController().signal;

/** What a handler may know about the record it is handling; one getter per field. */
export class KafkaContext {
  constructor(private readonly fields: KafkaContextFields) {}

  get topic(): string {
    return this.fields.record.topic;
  }
  get partition(): number {
    return this.fields.record.partition;
  }
  get offset(): string {
    return this.fields.record.offset;
  }
  get timestamp(): string {
    return this.fields.record.timestamp;
  }
  get key(): string | null {
    return this.fields.record.key?.toString('utf8') ?? null;
  }
  get headers(): Headers {
    return this.fields.record.headers;
  }
  /** The event id the inbox keys on (see `eventIdOf`). */
  get eventId(): string {
    return eventIdOf(this.fields.record);
  }
  /** 1 on first delivery, 2 on the first retry, … */
  get attempt(): number {
    return this.fields.attempt;
  }
  get groupId(): string {
    return this.fields.listener.groupId;
  }
  get listenerId(): string {
    return this.fields.listener.id;
  }
  get record(): ConsumedRecord {
    return this.fields.record;
  }
  /**
   * The inbox transaction of this delivery (listeners with `inbox: true`): write the handler's
   * effects, and enqueue outbox events, through it so they commit with the inbox row.
   */
  get transaction(): SqlExecutor | undefined {
    return this.fields.transaction;
  }
  /**
   * Aborted when the handler runs past the listener's `handlerTimeoutMs`: pass it to fetch, database
   * drivers and timers so a timed-out call stops instead of running on beside its retry.
   */
  get signal(): AbortSignal {
    return this.fields.signal ?? NEVER_ABORTED;
  }
  /** Keeps the group membership alive during long work. */
  heartbeat(): Promise<void> {
    return this.fields.heartbeat();
  }
}
