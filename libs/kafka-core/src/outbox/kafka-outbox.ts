import { Inject, Injectable } from '@nestjs/common';
import { SqlExecutor } from '@app/database';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KafkaCoreModuleOptions } from '../kafka-core.options';
import { EventOptions, prepareEvent } from '../producer/envelope';

/** Outbox events may also be scheduled: published once due, not before. */
export interface OutboxEventOptions extends EventOptions {
  /**
   * Publish no earlier than this many ms after commit. A scheduled event is durable (it survives
   * restarts and moves to whichever instance leads the relay) and, unlike immediate events, is not
   * ordered behind or ahead of its key's other events. Due events go out within the relay's poll
   * interval.
   */
  delayMs?: number;
}

export interface OutboxEntry<T extends object = object> {
  event: T;
  options?: OutboxEventOptions;
}

const COLUMNS = 7;
/** A year: longer schedules belong in a scheduler, not an outbox. */
const MAX_DELAY_MS = 24 * 60 * 60 * 1000 * 365;

/**
 * The transactional outbox: `enqueue` writes the event in the caller's transaction, so the event is
 * published if and only if that transaction commits. The relay publishes it afterwards.
 */
@Injectable()
export class KafkaOutbox {
  constructor(@Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions) {}

  /**
   * Adds one event to the outbox inside `tx`; resolves to its event id. Events of one key are
   * published in the order they were enqueued; enqueue after locking the aggregate they describe, so
   * concurrent transactions on it commit in the order of their rows.
   */
  async enqueue<T extends object>(
    tx: SqlExecutor,
    event: T,
    options: OutboxEventOptions = {},
  ): Promise<string> {
    const [id] = await this.enqueueAll(tx, [{ event, options }]);
    return id;
  }

  /** Adds several events in one statement; resolves to their event ids, in order. */
  async enqueueAll(tx: SqlExecutor, entries: readonly OutboxEntry[]): Promise<string[]> {
    if (entries.length === 0) return [];
    const params: unknown[] = [];
    const rows: string[] = [];
    const ids: string[] = [];
    entries.forEach(({ event, options }, i) => {
      const { delayMs = 0, ...eventOptions } = options ?? {};
      if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
        throw new RangeError(`delayMs must be a number of ms from 0 to ${MAX_DELAY_MS}, got ${delayMs}`);
      }
      const prepared = prepareEvent(event, eventOptions, this.options.clientId);
      const type = prepared.headers['event-type'];
      params.push(
        prepared.eventId,
        prepared.topic,
        prepared.key,
        type,
        prepared.value,
        JSON.stringify(prepared.headers),
        delayMs,
      );
      const base = i * COLUMNS;
      rows.push(
        `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6}, ` +
          `now() + make_interval(secs => $${base + 7}::double precision / 1000))`,
      );
      ids.push(prepared.eventId);
    });
    await tx.query(
      `INSERT INTO kafka_outbox (id, aggregatetype, aggregateid, type, payload, headers, available_at)
       VALUES ${rows.join(', ')}`,
      params,
    );
    return ids;
  }
}
