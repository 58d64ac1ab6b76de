import { Inject, Injectable } from '@nestjs/common';
import { SqlExecutor } from '@app/database';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KafkaCoreModuleOptions } from '../kafka-core.options';
import { EventOptions, prepareEvent } from '../producer/envelope';

export interface OutboxEntry<T extends object = object> {
  event: T;
  options?: EventOptions;
}

const COLUMNS = 6;

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
  async enqueue<T extends object>(tx: SqlExecutor, event: T, options: EventOptions = {}): Promise<string> {
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
      const prepared = prepareEvent(event, options ?? {}, this.options.clientId);
      const type = prepared.headers['event-type'];
      params.push(
        prepared.eventId,
        prepared.topic,
        prepared.key,
        type,
        prepared.value,
        JSON.stringify(prepared.headers),
      );
      const base = i * COLUMNS;
      rows.push(`($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6})`);
      ids.push(prepared.eventId);
    });
    await tx.query(
      `INSERT INTO kafka_outbox (id, aggregatetype, aggregateid, type, payload, headers) VALUES ${rows.join(', ')}`,
      params,
    );
    return ids;
  }
}
