import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Database, DATABASE, InjectDatabase } from '@app/database';
import {
  KafkaCoreModule,
  KafkaListener,
  KafkaListenerRegistry,
  KafkaOutbox,
  OutboxRelayOptions,
  OutboxRelayService,
  Payload,
} from '@app/kafka-core';
import { runAsChild } from '../lib/child';
import { openBenchDatabase, orderEvent, relayStatementKind, timedDatabase } from '../lib/database';
import { kafkaConnection, sleep } from '../lib/kafka';

/**
 * B8: a Nest application with kafka-core's outbox relay running inside it (module option `database`)
 * and a `@KafkaListener` on the outbox's topic. Business transactions commit at a steady rate; the
 * latency is from each COMMIT to the handler seeing the event.
 */
export interface OutboxLatencyOptions {
  url: string;
  topic: string;
  partitions: number;
  groupId: string;
  /** Transactions per second. */
  rate: number;
  durationMs: number;
  /** Transactions started before this sequence number are warm-up and not counted. */
  warmupTransactions: number;
  valueBytes: number;
  customers: number;
  /** Relay options beyond kafka-core's defaults. */
  outbox?: Partial<OutboxRelayOptions>;
}

export interface OutboxLatencyResult {
  committed: number;
  /** Measured transactions whose event reached the handler. */
  received: number;
  /** From the moment COMMIT was sent (the transaction's work done) to the handler, ms. */
  latenciesMs: number[];
  /** From the moment the application saw COMMIT succeed to the handler, ms. */
  fromAckMs: number[];
  /** How long COMMIT itself took (sent → acknowledged), ms. */
  commitMs: number[];
  /** COMMIT sent → the relay's claim query returned the row, ms. */
  toClaimMs: number[];
  /** Claim returned → handler (publish, broker, fetch, listener), ms. */
  claimToHandlerMs: number[];
  /** Claim returned → the broker acknowledged the row (the relay starts deleting it), ms. */
  claimToAckMs: number[];
  /** Broker acknowledged → handler (fetch, listener; the relay's publish completing), ms. */
  ackToHandlerMs: number[];
  /** Records the relay published (the module's counters). */
  relayed: number;
  /** Events handled more than once (the relay is at least once). */
  duplicates: number;
}

interface Stamp {
  commitSent: number;
  committed?: number;
  claimed?: number;
  acknowledged?: number;
  handled?: number;
}

export async function kafkaCoreOutboxLatency(options: OutboxLatencyOptions): Promise<OutboxLatencyResult> {
  const db = await openBenchDatabase(options.url);
  const stamps = new Map<number, Stamp>();
  // The relay gets the database through a wrapper that notes when its claim returned each row, and
  // when it started deleting it: the broker has acknowledged the row by then.
  const byOutboxSeq = new Map<string, Stamp>();
  const relayDb = timedDatabase(db, relayStatementKind, (kind, result, endedAt, ms, params) => {
    if (kind === 'claim') {
      for (const row of result.rows as { seq: string; payload: string }[]) {
        const stamp = stamps.get((JSON.parse(row.payload) as { seq: number }).seq);
        if (!stamp || stamp.claimed !== undefined) continue;
        stamp.claimed = endedAt;
        byOutboxSeq.set(String(row.seq), stamp);
      }
    } else if (kind === 'delete') {
      for (const seq of (params?.[0] as string[] | undefined) ?? []) {
        const stamp = byOutboxSeq.get(seq);
        if (stamp && stamp.acknowledged === undefined) stamp.acknowledged = endedAt - ms;
        byOutboxSeq.delete(seq);
      }
    }
  }).db;
  let duplicates = 0;
  let maxHandled = -1;

  @Injectable()
  class OrderListener {
    @KafkaListener({ topics: [options.topic], groupId: options.groupId })
    handle(@Payload() payload: { seq: number }): void {
      const now = performance.now();
      const stamp = stamps.get(payload.seq);
      if (!stamp) return;
      if (stamp.handled !== undefined) duplicates++;
      else stamp.handled = now;
      if (payload.seq > maxHandled) maxHandled = payload.seq;
    }
  }

  /** The business code: an order row and its event, in one transaction. */
  @Injectable()
  class OrderService {
    constructor(
      @InjectDatabase() private readonly database: Database,
      private readonly outbox: KafkaOutbox,
    ) {}

    async place(seq: number): Promise<void> {
      const event = orderEvent(seq, options.customers, options.valueBytes);
      const stamp: Stamp = { commitSent: 0 };
      stamps.set(seq, stamp);
      await this.database.transaction(async (tx) => {
        await tx.query('INSERT INTO bench_orders (customer_id, status, payload) VALUES ($1, $2, $3)', [
          event.customerId,
          'placed',
          JSON.stringify(event),
        ]);
        await this.outbox.enqueue(tx, event, { topic: options.topic, key: event.customerId });
        // The transaction's work is done: what follows is COMMIT.
        stamp.commitSent = performance.now();
      });
      stamp.committed = performance.now();
    }
  }

  @Module({
    imports: [
      KafkaCoreModule.forRoot({
        ...kafkaConnection(),
        clientId: `bench-${options.groupId}`,
        database: relayDb,
        outbox: options.outbox,
      }),
    ],
    providers: [OrderListener, OrderService, { provide: DATABASE, useValue: db }],
  })
  class OutboxLatencyModule {}

  const app = await NestFactory.createApplicationContext(OutboxLatencyModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  const service = app.get(OrderService);
  let committed = 0;
  try {
    // Transactions start only once every partition is assigned, so the run measures a steady service.
    const registry = app.get(KafkaListenerRegistry);
    const assigned = () =>
      Object.values(registry.list()[0].assignment).reduce((n, partitions) => n + partitions.length, 0);
    for (let waited = 0; assigned() < options.partitions; waited += 20) {
      if (waited > 30_000) throw new Error('listener got no assignment within 30 s');
      await sleep(20);
    }
    const total = Math.round((options.rate * options.durationMs) / 1000);
    const pending = new Set<Promise<void>>();
    let failed = 0;
    const started = performance.now();
    let issued = 0;
    await new Promise<void>((resolve) => {
      // Each tick starts what is due by now, so the average rate holds even when timers fire late.
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - started) * options.rate) / 1000));
        for (; issued < due; issued++) {
          const work = service
            .place(issued)
            .then(() => void committed++)
            .catch(() => void failed++)
            .finally(() => pending.delete(work));
          pending.add(work);
        }
        if (issued >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    await Promise.all(pending);
    if (failed > 0) throw new Error(`${failed} business transactions failed`);
    // Every committed event should arrive; a lost one shows up as received < committed.
    for (let waited = 0; maxHandled < total - 1 && waited < 15_000; waited += 20) await sleep(20);
    await sleep(200);
  } finally {
    await app.close();
  }
  const relayed = app.get(OutboxRelayService).counters()?.published ?? 0;
  await db.close();
  const measured = [...stamps.entries()]
    .filter(([seq]) => seq >= options.warmupTransactions)
    .map(([, s]) => s);
  const arrived = measured.filter(
    (s) =>
      s.handled !== undefined &&
      s.committed !== undefined &&
      s.claimed !== undefined &&
      s.acknowledged !== undefined,
  );
  return {
    committed,
    received: arrived.length,
    latenciesMs: arrived.map((s) => (s.handled as number) - s.commitSent),
    fromAckMs: arrived.map((s) => (s.handled as number) - (s.committed as number)),
    commitMs: arrived.map((s) => (s.committed as number) - s.commitSent),
    toClaimMs: arrived.map((s) => (s.claimed as number) - s.commitSent),
    claimToHandlerMs: arrived.map((s) => (s.handled as number) - (s.claimed as number)),
    claimToAckMs: arrived.map((s) => (s.acknowledged as number) - (s.claimed as number)),
    ackToHandlerMs: arrived.map((s) => (s.handled as number) - (s.acknowledged as number)),
    relayed,
    duplicates,
  };
}

runAsChild(module, kafkaCoreOutboxLatency);
