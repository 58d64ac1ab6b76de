import { runAsChild, RssSampler } from '../lib/child';
import { FETCH, groupActivity, observeConsumers, rawKafka, sleep } from '../lib/kafka';
import { Meter, MeterResult } from '../lib/meter';

/** Plain kafkajs `eachBatch`: what a careful hand-written consumer does, the baseline for B0–B2 and B10. */
export interface RawEachBatchOptions {
  topic: string;
  groupId: string;
  expected: number;
  partitionsConcurrently: number;
  /** Parse each value as JSON, as any handler that wants the payload must (B1, B2); B0 only counts. */
  parseJson: boolean;
  /** `per-batch`: resolve each record, commit once at batch end. `auto`: kafkajs' own auto-commit. */
  commit: 'per-batch' | 'auto';
  handlerDelayMs?: number;
  windowMs?: number;
}

export interface ThroughputResult extends MeterResult {
  /** OffsetCommit requests, batches and their records, counted from kafkajs' instrumentation. */
  commits: number;
  batches: number;
  batchRecords: number;
}

export async function rawEachBatch(
  options: RawEachBatchOptions,
  sampler?: RssSampler,
): Promise<ThroughputResult> {
  observeConsumers();
  const { topic, groupId, expected, parseJson, handlerDelayMs } = options;
  const meter = new Meter(expected, {
    windowMs: options.windowMs,
    onFirst: () => sampler?.markFirstRecord(),
  });
  const handle = (payload: unknown) => {
    if (payload === undefined) throw new Error('no payload');
    meter.hit();
  };
  const consumer = rawKafka(`raw-${groupId}`).consumer({ groupId, ...FETCH });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const perBatch = options.commit === 'per-batch';
  await consumer.run({
    autoCommit: !perBatch,
    eachBatchAutoResolve: !perBatch,
    partitionsConsumedConcurrently: options.partitionsConcurrently,
    eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
      let last: string | undefined;
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        if (handlerDelayMs) await sleep(handlerDelayMs);
        handle(parseJson ? JSON.parse(message.value?.toString('utf8') ?? 'null') : message.value);
        if (perBatch) resolveOffset(message.offset);
        last = message.offset;
      }
      if (perBatch && last !== undefined) {
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
        ]);
      }
    },
  });
  let result: MeterResult;
  try {
    result = await meter.done;
    sampler?.markLastRecord();
  } finally {
    // Waits for the batch in hand, so its commit is counted below.
    await consumer.disconnect();
  }
  return { ...result, ...groupActivity(groupId) };
}

runAsChild(module, rawEachBatch);
