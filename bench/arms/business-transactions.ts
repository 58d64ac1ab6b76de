import { runAsChild } from '../lib/child';
import { openBenchDatabase, orderEvent, standaloneOutbox } from '../lib/database';

/**
 * B6: business transactions on the real PostgreSQL, `workers` concurrent loops of
 * BEGIN; INSERT an order; [KafkaOutbox.enqueue of its event]; COMMIT — with or without the outbox.
 */
export interface BusinessTransactionsOptions {
  url: string;
  topic: string;
  workers: number;
  durationMs: number;
  warmupMs: number;
  valueBytes: number;
  customers: number;
  withOutbox: boolean;
}

export interface TransactionRateResult {
  transactions: number;
  seconds: number;
  transactionsPerSec: number;
  /** Mean wall time per transaction of each step, ms (a worker's view, waits included). */
  stepsMs: { begin: number; businessInsert: number; outboxInsert: number; commit: number };
}

export async function businessTransactions(
  options: BusinessTransactionsOptions,
): Promise<TransactionRateResult> {
  // One connection per worker, as a service's pool under this load.
  const db = await openBenchDatabase(options.url, options.workers);
  const outbox = standaloneOutbox('bench-business');
  let seq = 0;
  const run = async (durationMs: number): Promise<TransactionRateResult> => {
    let committed = 0;
    const steps = { begin: 0, businessInsert: 0, outboxInsert: 0, commit: 0 };
    const started = performance.now();
    const deadline = started + durationMs;
    await Promise.all(
      Array.from({ length: options.workers }, async () => {
        while (performance.now() < deadline) {
          const event = orderEvent(seq++, options.customers, options.valueBytes);
          const t0 = performance.now();
          let t1 = 0;
          let t2 = 0;
          let t3 = 0;
          await db.transaction(async (tx) => {
            t1 = performance.now();
            await tx.query('INSERT INTO bench_orders (customer_id, status, payload) VALUES ($1, $2, $3)', [
              event.customerId,
              'placed',
              JSON.stringify(event),
            ]);
            t2 = performance.now();
            if (options.withOutbox) {
              await outbox.enqueue(tx, event, { topic: options.topic, key: event.customerId });
            }
            t3 = performance.now();
          });
          const t4 = performance.now();
          steps.begin += t1 - t0;
          steps.businessInsert += t2 - t1;
          steps.outboxInsert += t3 - t2;
          steps.commit += t4 - t3;
          committed++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const per = (ms: number) => ms / Math.max(1, committed);
    return {
      transactions: committed,
      seconds,
      transactionsPerSec: committed / seconds,
      stepsMs: {
        begin: per(steps.begin),
        businessInsert: per(steps.businessInsert),
        outboxInsert: per(steps.outboxInsert),
        commit: per(steps.commit),
      },
    };
  };
  try {
    // Unmeasured: the pool's connections open, statements and JIT warm up.
    await run(options.warmupMs);
    return await run(options.durationMs);
  } finally {
    await db.close();
  }
}

runAsChild(module, businessTransactions);
