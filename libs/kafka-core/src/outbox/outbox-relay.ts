import { Logger } from '@nestjs/common';
import { Database, SqlExecutor } from '@app/database';
import { isRetriable, ProduceError, OutgoingRecord, RecordMetadata } from '../client/kafka-client.port';
import { nextDelay } from '../errors/backoff';
import { pruneInbox } from '../inbox/inbox-pruner';
import { ENVELOPE_HEADERS } from '../kafka-core.constants';
import { PublishTimeoutError } from '../producer/record-accumulator';
import {
  OUTBOX_RELAY_DEFAULTS,
  OutboxBacklog,
  OutboxRelayCounters,
  OutboxRelayOptions,
  SendRecords,
} from './outbox-relay.options';
import { OutboxRow, outboxStore } from './outbox.store';
import { RelayLeadership, RelayRun } from './relay-leadership';
import { RelayWakeUp } from './relay-wake-up';

/** A send that failed because the broker could not be reached, not because it refused the rows. */
function isTransient(error: unknown): boolean {
  return error instanceof PublishTimeoutError || isRetriable(error);
}

/** What one request did: the rows the broker acknowledged, and the error that kept the others out. */
interface SendOutcome {
  acknowledged: OutboxRow[];
  failed: OutboxRow[];
  error?: unknown;
}

/** The records of a rejected send the broker wrote anyway, when the error says (see SendRecords). */
function writtenDespite(error: unknown, count: number): (RecordMetadata | undefined)[] {
  // One topic per send, so one batch.
  const written = error instanceof ProduceError ? error.written?.[0] : undefined;
  return written && written.length === count ? written : [];
}

const keyOf = (row: OutboxRow) =>
  row.aggregateid === null ? undefined : `${row.aggregatetype}\u0000${row.aggregateid}`;

/**
 * Publishes the outbox. Every instance runs one; the one holding the schema's advisory lock leads
 * (RelayLeadership). The leader claims due rows in order, publishes them in one request, and deletes
 * them only after the broker acknowledged, checking in that statement that it still leads: a crash in
 * between publishes them again (at least once; the inbox dedupes), a lost lock stops it.
 */
export class OutboxRelay {
  private readonly logger = new Logger('OutboxRelay');
  private current?: { run: RelayRun; wakeUp: RelayWakeUp; done: Promise<void> };
  private brokerFailures = 0;
  private nextHousekeeping = 0;
  readonly counters: OutboxRelayCounters = { published: 0, failed: 0, parked: 0, leader: false };

  constructor(
    private readonly db: Database,
    private readonly send: SendRecords,
    private readonly options: OutboxRelayOptions = OUTBOX_RELAY_DEFAULTS,
  ) {}

  start(): void {
    if (this.current && !this.current.run.stopped) return;
    // A run a timed-out stop left behind finishes on its own; this one waits for it, so two runs of
    // one relay never lead at once.
    const previous = this.current?.done ?? Promise.resolve();
    const run: RelayRun = { stopped: false };
    const wakeUp = new RelayWakeUp(this.db, this.logger);
    const done = previous.then(() => this.run(run, wakeUp));
    this.current = { run, wakeUp, done };
  }

  /** Finishes the round in progress, releases leadership and stops; within `stopTimeoutMs`. */
  async stop(): Promise<void> {
    const current = this.current;
    if (!current || current.run.stopped) return;
    current.run.stopped = true;
    current.wakeUp.interrupt();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(
        () => resolve(true),
        this.options.stopTimeoutMs ?? OUTBOX_RELAY_DEFAULTS.stopTimeoutMs,
      );
    });
    const late = await Promise.race([current.done.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late)
      this.logger.warn('Outbox relay stopped without finishing its round (database or broker not answering)');
  }

  /** Cuts the idle wait short (a notification arrived, or a caller knows rows are waiting). */
  wake(): void {
    this.current?.wakeUp.wake();
  }

  backlog(): Promise<OutboxBacklog> {
    return outboxStore.backlog(this.db);
  }

  private async run(run: RelayRun, wakeUp: RelayWakeUp): Promise<void> {
    if (run.stopped) return;
    await wakeUp.open();
    const leadership = new RelayLeadership(
      this.db,
      wakeUp,
      this.logger,
      this.options.leaderRetryMs,
      (leading) => (this.counters.leader = leading),
    );
    try {
      await leadership.run(run, (connection) => this.lead(run, wakeUp, connection));
    } finally {
      await wakeUp.close();
    }
  }

  /**
   * Claims and publishes until stopped; a database error ends leadership (the caller re-elects). The
   * next batch is claimed while the current one is on its way to the broker, and is dropped if the
   * current one does not go through cleanly (it could hold later rows of a failed key).
   */
  private async lead(run: RelayRun, wakeUp: RelayWakeUp, connection: SqlExecutor): Promise<void> {
    let next: Promise<OutboxRow[]> | undefined;
    const discard = async () => {
      await next?.catch(() => undefined);
      next = undefined;
    };
    try {
      while (!run.stopped) {
        if (Date.now() >= this.nextHousekeeping) {
          await discard();
          await this.housekeeping(connection);
        }
        wakeUp.clear();
        const rows = next ? await next : await outboxStore.claim(connection, '0', this.options.batchSize);
        next = undefined;
        if (rows.length === 0) {
          await this.sleep(connection, wakeUp);
          continue;
        }
        if (rows.length === this.options.batchSize) {
          next = outboxStore.claim(connection, rows[rows.length - 1].seq, this.options.batchSize);
        }
        const { pause, clean } = await this.publish(connection, rows);
        if (!clean) await discard();
        if (pause > 0) await wakeUp.idle(pause);
      }
    } finally {
      await discard();
      await outboxStore.setIdle(connection, false).catch(() => undefined);
    }
  }

  /**
   * Tells writers to notify, claims once more (a row committed just before the flag was set would
   * otherwise wait for the poll), then sleeps until a notification or the poll interval.
   */
  private async sleep(connection: SqlExecutor, wakeUp: RelayWakeUp): Promise<void> {
    await outboxStore.setIdle(connection, true);
    try {
      if (await outboxStore.hasDue(connection)) return;
      await wakeUp.idle(this.options.pollIntervalMs);
    } finally {
      await outboxStore.setIdle(connection, false);
    }
  }

  /** Publishes claimed rows: how long to pause before the next round, and whether all went out. */
  private async publish(
    connection: SqlExecutor,
    rows: OutboxRow[],
  ): Promise<{ pause: number; clean: boolean }> {
    const { acknowledged, failed, error } = await this.sendRows(rows);
    // What the broker wrote is done whatever happened to the rest: sent again, it would land behind
    // newer rows of its key.
    if (acknowledged.length > 0) await this.published(connection, acknowledged);
    if (failed.length === 0) {
      this.brokerFailures = 0;
      return { pause: 0, clean: true };
    }
    this.counters.failed += failed.length;
    if (isTransient(error)) return { pause: this.brokerUnavailable(error), clean: false };
    // The broker refused something: find which rows, one by one, and keep the others flowing.
    return { pause: await this.isolate(connection, failed), clean: false };
  }

  /** Rows not acknowledged, in order, one request each; a key whose row fails holds its later rows. */
  private async isolate(connection: SqlExecutor, rows: OutboxRow[]): Promise<number> {
    const blockedKeys = new Set<string>();
    for (const row of rows) {
      const key = keyOf(row);
      if (key && blockedKeys.has(key)) continue;
      const { failed, error } = await this.sendRows([row]);
      if (failed.length === 0) {
        await this.published(connection, [row]);
        continue;
      }
      if (isTransient(error)) return this.brokerUnavailable(error);
      if (key) blockedKeys.add(key);
      await this.rowFailed(connection, row, error as Error);
    }
    return 0;
  }

  private brokerUnavailable(error: unknown): number {
    this.brokerFailures++;
    const backoff = { ...this.options.brokerBackoff, attempts: Number.MAX_SAFE_INTEGER };
    const delay = nextDelay(backoff, this.brokerFailures) as number;
    if (this.brokerFailures === 1 || this.brokerFailures % 10 === 0) {
      this.logger.warn(`Outbox relay cannot publish (${(error as Error).message}); retrying in ${delay} ms`);
    }
    return delay;
  }

  private async rowFailed(connection: SqlExecutor, row: OutboxRow, error: Error): Promise<void> {
    const attempts = Number(row.attempts) + 1;
    const reason = `${error.name}: ${error.message}`.slice(0, 1_000);
    const delay = nextDelay(this.options.rowBackoff, attempts);
    if (delay === undefined) {
      await outboxStore.park(connection, row, attempts, reason);
      this.counters.parked++;
      this.logger.error(`Outbox row ${row.id} (${row.type} to ${row.aggregatetype}) parked: ${reason}`);
      return;
    }
    await outboxStore.retryLater(connection, row, attempts, reason, delay);
  }

  /** One request for every topic of `rows` (appended in the same turn); what each topic's send says. */
  private async sendRows(rows: OutboxRow[]): Promise<SendOutcome> {
    const byTopic = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const list = byTopic.get(row.aggregatetype) ?? [];
      byTopic.set(row.aggregatetype, list);
      list.push(row);
    }
    const topics = [...byTopic];
    const settled = await Promise.allSettled(
      topics.map(([topic, topicRows]) => this.send(topic, topicRows.map(toRecord))),
    );
    const outcome: SendOutcome = { acknowledged: [], failed: [] };
    settled.forEach((result, i) => {
      const topicRows = topics[i][1];
      if (result.status === 'fulfilled') {
        outcome.acknowledged.push(...topicRows);
        return;
      }
      outcome.error ??= result.reason;
      const written = writtenDespite(result.reason, topicRows.length);
      topicRows.forEach((row, j) => (written[j] ? outcome.acknowledged : outcome.failed).push(row));
    });
    // Keep claim order: the one-by-one retry walks the failed rows oldest first.
    outcome.failed.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
    return outcome;
  }

  private async published(connection: SqlExecutor, rows: OutboxRow[]): Promise<void> {
    await outboxStore.published(connection, rows, this.options.onPublished);
    this.counters.published += rows.length;
  }

  private async housekeeping(connection: SqlExecutor): Promise<void> {
    this.nextHousekeeping = Date.now() + this.options.housekeepingIntervalMs;
    // Infinity keeps rows forever (an inbox in front of a topic that never expires records).
    if (Number.isFinite(this.options.publishedRetentionMs)) {
      await outboxStore.prunePublished(connection, new Date(Date.now() - this.options.publishedRetentionMs));
    }
    await pruneInbox(connection, this.options.inboxRetentionMs);
  }
}

function toRecord(row: OutboxRow): OutgoingRecord {
  const headers = typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers;
  return {
    key: row.aggregateid,
    value: row.payload,
    headers: { ...headers, [ENVELOPE_HEADERS.eventId]: row.id, [ENVELOPE_HEADERS.eventType]: row.type },
  };
}
