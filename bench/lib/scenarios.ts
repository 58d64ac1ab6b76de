import { javaConsumerPerf } from '../arms/java-consumer-perf';
import { javaProducerPerf, ProducerResult } from '../arms/java-producer-perf';
import { kafkaCoreLatency } from '../arms/kafka-core-latency';
import {
  FailureInjection,
  kafkaCoreListener,
  KafkaCoreListenerOptions,
  KafkaCoreThroughputResult,
} from '../arms/kafka-core-listener';
import { nestTransport } from '../arms/nest-transport';
import { rawEachBatch, ThroughputResult } from '../arms/raw-each-batch';
import { rawEachMessageLatency } from '../arms/raw-each-message-latency';
import { rawProducer } from '../arms/raw-producer';
import type { MemoryReport } from './child';
import { uniqueName } from './kafka';
import { LatencyRunOptions, LatencyRunResult, produceSteadily } from './latency';
import { createTopic, seedJson } from './seed';
import { spawnArm } from './spawn-arm';
import { median, percentiles, round } from './stats';

/** One benchmark's entry in latest.json: the fields of the results format plus what explains them. */
export interface BenchResult {
  title: string;
  /** Whether a higher or a lower ratio is better. */
  better: 'higher' | 'lower';
  unit: string;
  /** ours ÷ theirs, from the arms' medians; null when there is no target (B0). */
  ratio: number | null;
  target: number | null;
  floor: number | null;
  /** Absolute bounds that hold besides the ratio (e.g. p99 ≤ 10 ms). */
  absolute?: { label: string; value: number | null; target: number; floor: number };
  met: { target: boolean | null; floor: boolean | null };
  /** Median per arm; the first arm is ours, the second theirs. */
  arms: Record<string, number | null>;
  runs: number;
  /** Every run's value per arm, in the order they ran. */
  samples: Record<string, (number | null)[]>;
  details?: Record<string, unknown>;
  notes: string[];
}

export interface ScenarioContext {
  log(message: string): void;
  /** Repetitions per arm (≥ 3); each benchmark may use more where runs are short. */
  reps: number;
}

type Scenario = (ctx: ScenarioContext) => Promise<BenchResult>;

const RECORD_BYTES = 256;

// ---------------------------------------------------------------------------------------------------
// Shared pieces

/** The B1/B2/B9/B10 data set: 3 partitions, 100k JSON records of ~256 B, seeded once per bench run. */
const B1_DATA = { partitions: 3, count: 100_000, valueBytes: RECORD_BYTES };
let b1Topic: Promise<string> | undefined;
function b1DataSet(ctx: ScenarioContext): Promise<string> {
  b1Topic ??= (async () => {
    const topic = await createTopic('bench-b1', B1_DATA.partitions);
    const started = performance.now();
    await seedJson(topic, B1_DATA);
    ctx.log(
      `seeded ${topic}: ${B1_DATA.count} records in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return topic;
  })();
  return b1Topic;
}

/** Runs each arm `reps` times in alternation (A B A B …) and collects one number per run. */
async function alternate<T>(
  ctx: ScenarioContext,
  id: string,
  reps: number,
  arms: { name: string; run: () => Promise<T>; value: (result: T) => number; show?: (result: T) => string }[],
): Promise<{ samples: Record<string, number[]>; results: Record<string, T[]> }> {
  const samples: Record<string, number[]> = {};
  const results: Record<string, T[]> = {};
  for (const arm of arms) {
    samples[arm.name] = [];
    results[arm.name] = [];
  }
  for (let rep = 1; rep <= reps; rep++) {
    for (const arm of arms) {
      const result = await arm.run();
      samples[arm.name].push(arm.value(result));
      results[arm.name].push(result);
      ctx.log(`${id} ${rep}/${reps} ${arm.name}: ${arm.show ? arm.show(result) : round(arm.value(result))}`);
    }
  }
  return { samples, results };
}

/** Medians, the ratio of the first arm to the second, and which bounds it meets. */
function summarize(
  partial: Omit<BenchResult, 'ratio' | 'met' | 'arms' | 'runs' | 'samples'> & {
    samples: Record<string, number[]>;
    runs?: number;
  },
): BenchResult {
  const names = Object.keys(partial.samples);
  const arms = Object.fromEntries(names.map((name) => [name, round(median(partial.samples[name]))]));
  const ours = median(partial.samples[names[0]]);
  const theirs = median(partial.samples[names[1]]);
  const exact = partial.target === null || !ours || !theirs ? null : ours / theirs;
  const ratio = round(exact);
  // Bounds are checked on the unrounded ratio: 1.1504 does not meet "≤ 1.15".
  const meets = (bound: number | null, absolute?: number) => {
    if (bound === null || exact === null) return null;
    const ratioOk = partial.better === 'higher' ? exact >= bound : exact <= bound;
    return ratioOk && (absolute === undefined || (partial.absolute?.value ?? Infinity) <= absolute);
  };
  return {
    ...partial,
    samples: Object.fromEntries(names.map((name) => [name, partial.samples[name].map((v) => round(v, 4))])),
    ratio,
    met: {
      target: meets(partial.target, partial.absolute?.target),
      floor: meets(partial.floor, partial.absolute?.floor),
    },
    arms,
    runs: partial.runs ?? Math.min(...names.map((name) => partial.samples[name].length)),
  };
}

const rate = (r: { recordsPerSec: number }) => r.recordsPerSec;
const showRate = (r: ThroughputResult) =>
  `${Math.round(r.recordsPerSec).toLocaleString('en')} records/s (${r.records} in ${r.seconds.toFixed(2)} s${r.windowed ? ', window' : ''})`;
const perThousand = (count: number, records: number) => (count * 1000) / records;

// ---------------------------------------------------------------------------------------------------
// B0: broker ceiling

/** Batches about as large as kafkajs' sends of 1000 records, so the Java producer shows the broker's limit. */
const JAVA_BATCHING = ['batch.size=262144', 'linger.ms=5'];

const B0: Scenario = async (ctx) => {
  const records = 200_000;
  const topic = await createTopic('bench-b0', 3);
  const produced = await alternate<ProducerResult>(ctx, 'B0 produce', ctx.reps, [
    {
      name: 'ProducerPerformance (Java, defaults)',
      run: () => javaProducerPerf({ topic, records, recordBytes: RECORD_BYTES }),
      value: rate,
    },
    {
      name: 'ProducerPerformance (Java, batch.size 256 KiB, linger.ms 5)',
      run: () =>
        javaProducerPerf({ topic, records, recordBytes: RECORD_BYTES, producerProps: JAVA_BATCHING }),
      value: rate,
    },
    {
      name: 'kafkajs producer (batches of 1000)',
      run: () => rawProducer({ topic, records, recordBytes: RECORD_BYTES, batchSize: 1000 }),
      value: rate,
    },
  ]);
  const consumed = await alternate<{ recordsPerSec: number }>(ctx, 'B0 consume', ctx.reps, [
    {
      name: 'ConsumerPerformance (Java)',
      run: () => javaConsumerPerf({ topic, groupId: uniqueName('b0-java'), records }),
      value: rate,
    },
    {
      name: 'kafkajs eachBatch consumer',
      run: () =>
        rawEachBatch({
          topic,
          groupId: uniqueName('b0-kafkajs'),
          expected: records,
          partitionsConcurrently: 3,
          parseJson: false,
          commit: 'auto',
        }),
      value: rate,
    },
  ]);
  const samples = { ...produced.samples, ...consumed.samples };
  const m = (name: string) => median(samples[name]) as number;
  return summarize({
    title: 'broker ceiling (recorded, no target)',
    better: 'higher',
    unit: 'records/s',
    target: null,
    floor: null,
    samples,
    details: {
      records,
      recordBytes: RECORD_BYTES,
      partitions: 3,
      kafkajsProduceShareOfJava: round(
        m('kafkajs producer (batches of 1000)') /
          m('ProducerPerformance (Java, batch.size 256 KiB, linger.ms 5)'),
      ),
      kafkajsConsumeShareOfJava: round(m('kafkajs eachBatch consumer') / m('ConsumerPerformance (Java)')),
    },
    notes: [
      'Producers: acks=all, no compression, 256 B records; ProducerPerformance with --throughput -1, once with the Java defaults (16 KiB batches, linger.ms 0) and once with batches comparable to kafkajs sending 1000 records per request; kafkajs awaits one send of 1000 records at a time.',
      'kafkajsProduceShareOfJava compares kafkajs with the batching Java producer; kafkajsConsumeShareOfJava with ConsumerPerformance.',
      "Consumers read the first 200k records with a fresh group; ConsumerPerformance's fetch-phase rate (group join excluded), kafkajs first to last record (eachBatch, 3 partitions concurrently, counting only).",
    ],
  });
};

// ---------------------------------------------------------------------------------------------------
// B1 / B2: listener overhead and manual-ack cost on the shared data set

async function listenerVsRaw(
  ctx: ScenarioContext,
  id: string,
  ackMode: 'auto' | 'manual',
): Promise<{
  topic: string;
  samples: Record<string, number[]>;
  results: Record<string, ThroughputResult[]>;
  names: [string, string];
}> {
  const topic = await b1DataSet(ctx);
  const expected = B1_DATA.count;
  const ours = () =>
    kafkaCoreListener({
      topic,
      groupId: uniqueName(`${id}-ours`),
      expected,
      ackMode,
      concurrency: B1_DATA.partitions,
    });
  const raw = () =>
    rawEachBatch({
      topic,
      groupId: uniqueName(`${id}-raw`),
      expected,
      partitionsConcurrently: B1_DATA.partitions,
      parseJson: true,
      commit: 'per-batch',
    });
  // One unmeasured round first: JIT warm-up and the dead-letter topic's creation stay out of the numbers.
  await ours();
  await raw();
  const names: [string, string] =
    ackMode === 'auto'
      ? ['kafka-core', 'raw-eachBatch']
      : ['kafka-core manual ack', 'raw-eachBatch batch commit'];
  const { samples, results } = await alternate<ThroughputResult>(ctx, id, Math.max(ctx.reps, 7), [
    { name: names[0], run: ours, value: rate, show: showRate },
    { name: names[1], run: raw, value: rate, show: showRate },
  ]);
  return { topic, samples, results, names };
}

const SHARED_SETUP =
  'Same pre-seeded topic (3 partitions, 100k JSON records of ~256 B), a fresh group from the beginning per run; fetch maxWaitTimeInMs 100, minBytes 1, maxBytesPerPartition 1 MiB in both arms; throughput from first to last record.';

const B1: Scenario = async (ctx) => {
  const { samples } = await listenerVsRaw(ctx, 'B1', 'auto');
  return summarize({
    title: 'listener overhead, no-op handler',
    better: 'higher',
    unit: 'records/s',
    target: 0.9,
    floor: 0.75,
    samples,
    notes: [
      SHARED_SETUP,
      '@KafkaListener: ackMode auto, concurrency 3 (= partitions), module defaults otherwise. Raw: eachBatch, partitionsConsumedConcurrently 3, JSON.parse per record (as the listener deserializes), resolveOffset per record, one commitOffsets per batch.',
    ],
  });
};

const B2: Scenario = async (ctx) => {
  const { samples, results, names } = await listenerVsRaw(ctx, 'B2', 'manual');
  const ours = results[names[0]] as KafkaCoreThroughputResult[];
  const raw = results[names[1]];
  const oursCommitsPer1k = median(ours.map((r) => perThousand(r.counters.commits, r.records))) as number;
  const rawCommitsPer1k = median(raw.map((r) => perThousand(r.commits, r.records))) as number;
  const oursPerBatch = median(ours.map((r) => r.counters.commits / r.batches)) as number;
  const rawPerBatch = median(raw.map((r) => r.commits / r.batches)) as number;
  const result = summarize({
    title: 'manual ack per record',
    better: 'higher',
    unit: 'records/s',
    target: 0.95,
    floor: 0.85,
    absolute: {
      label: 'commits per fetched batch per partition',
      value: round(oursPerBatch),
      target: 1,
      floor: 1,
    },
    samples,
    details: {
      commitsPer1kRecords: { [names[0]]: round(oursCommitsPer1k), [names[1]]: round(rawCommitsPer1k) },
      commitsPerFetchedBatchPerPartition: { [names[0]]: round(oursPerBatch), [names[1]]: round(rawPerBatch) },
      fetchedBatches: {
        [names[0]]: median(ours.map((r) => r.batches)),
        [names[1]]: median(raw.map((r) => r.batches)),
      },
      commitsSeenByKafkajs: { [names[0]]: median(ours.map((r) => r.commits)) },
    },
    notes: [
      SHARED_SETUP,
      "@KafkaListener: ackMode 'manual', the handler calls ack.acknowledge(); commits are KafkaListenerRegistry counters.commits. Raw: one commitOffsets per batch. Batches (one partition each) and commit requests are also counted from kafkajs' instrumentation events.",
    ],
  });
  return result;
};

// ---------------------------------------------------------------------------------------------------
// B3: I/O-bound handler, key-ordered concurrency vs Nest's Kafka transport

const B3: Scenario = async (ctx) => {
  const partitions = 6;
  const count = 12_000;
  const handlerDelayMs = 5;
  const windowMs = 10_000;
  const topic = await createTopic('bench-b3', partitions);
  await seedJson(topic, { count, valueBytes: RECORD_BYTES, partitions, keys: 1_000 });
  const oursName = 'kafka-core keyOrdered maxInFlight 64';
  const nestName = 'nest-transport @EventPattern';
  const nestTunedName = 'nest-transport, partitionsConsumedConcurrently 6';
  const { samples, results } = await alternate<ThroughputResult>(ctx, 'B3', ctx.reps, [
    {
      name: oursName,
      run: () =>
        kafkaCoreListener({
          topic,
          groupId: uniqueName('b3-ours'),
          expected: count,
          ackMode: 'auto',
          concurrency: { keyOrdered: true, maxInFlight: 64 },
          handlerDelayMs,
          windowMs,
        }),
      value: rate,
      show: showRate,
    },
    {
      name: nestName,
      run: () =>
        nestTransport({ topic, groupId: uniqueName('b3-nest'), expected: count, handlerDelayMs, windowMs }),
      value: rate,
      show: showRate,
    },
    {
      name: nestTunedName,
      run: () =>
        nestTransport({
          topic,
          groupId: uniqueName('b3-nest6'),
          expected: count,
          handlerDelayMs,
          windowMs,
          partitionsConsumedConcurrently: partitions,
        }),
      value: rate,
      show: showRate,
    },
  ]);
  const windowed = Object.entries(results)
    .filter(([, runs]) => runs.some((r) => r.windowed))
    .map(([name]) => name);
  const m = (name: string) => median(samples[name]) as number;
  return summarize({
    title: 'I/O-bound handler (awaits 5 ms), 6 partitions',
    better: 'higher',
    unit: 'records/s',
    target: 10,
    floor: 3,
    samples,
    details: {
      records: count,
      keys: 1_000,
      partitions,
      handlerDelayMs,
      windowMs,
      windowedArms: windowed,
      ratioVsTunedNest: round(m(oursName) / m(nestTunedName)),
      idealKeyOrdered: round((64 * 1000) / handlerDelayMs),
    },
    notes: [
      `${count} records over 1000 keys on 6 partitions. Nest: NestFactory.createMicroservice with Transport.KAFKA, Nest's defaults plus the shared fetch settings and fromBeginning; its consumer group is '<groupId>-server'.`,
      windowed.length > 0
        ? `Arms that could not finish ${count} records within ${windowMs / 1000} s of their first record are counted over that window (records handled ÷ first to last record in the window): ${windowed.join('; ')}.`
        : 'Every arm finished all records.',
      "The ratio is against Nest's default transport; ratioVsTunedNest compares with Nest given kafkajs' partitionsConsumedConcurrently = 6 (one record at a time per partition either way).",
    ],
  });
};

// ---------------------------------------------------------------------------------------------------
// B7: end-to-end latency at 1k records/s

const B7: Scenario = async (ctx) => {
  const partitions = 3;
  const topic = await createTopic('bench-b7', partitions);
  const base = { topic, partitions, rate: 1000, valueBytes: 1024 };
  const warmupRecords = 1500;
  const run = (fn: (o: LatencyRunOptions) => Promise<LatencyRunResult>, prefix: string, durationMs: number) =>
    fn({
      ...base,
      groupId: uniqueName(prefix),
      durationMs,
      warmupRecords: Math.min(warmupRecords, durationMs / 2),
    });
  // Unmeasured warm-up of both arms (JIT, connections, the dead-letter topic).
  await run(kafkaCoreLatency, 'b7-warm-ours', 3000);
  await run(rawEachMessageLatency, 'b7-warm-raw', 3000);
  const durationMs = 15_000;
  const p = (r: LatencyRunResult) => percentiles(r.latenciesMs);
  const show = (r: LatencyRunResult) => {
    const q = p(r);
    return `p50 ${q.p50?.toFixed(2)} ms, p99 ${q.p99?.toFixed(2)} ms, max ${q.max?.toFixed(1)} ms (${r.received} of ${r.sent - warmupRecords} measured records)`;
  };
  const oursName = 'kafka-core';
  const rawName = 'raw-eachMessage';
  const { samples, results } = await alternate<LatencyRunResult>(ctx, 'B7', Math.max(ctx.reps, 5), [
    {
      name: oursName,
      run: () => run(kafkaCoreLatency, 'b7-ours', durationMs),
      value: (r) => p(r).p99 as number,
      show,
    },
    {
      name: rawName,
      run: () => run(rawEachMessageLatency, 'b7-raw', durationMs),
      value: (r) => p(r).p99 as number,
      show,
    },
  ]);
  const pooled = (name: string) => {
    const q = percentiles(results[name].flatMap((r) => r.latenciesMs));
    return {
      p50: round(q.p50),
      p90: round(q.p90),
      p99: round(q.p99),
      p999: round(q.p999),
      max: round(q.max),
      count: q.count,
    };
  };
  const medianOf = (name: string, key: 'p50' | 'p99') =>
    round(median(results[name].map((r) => p(r)[key] as number)));
  const lost = Object.fromEntries(
    Object.entries(results).map(([name, runs]) => [
      name,
      runs.reduce((n, r) => n + (r.sent - warmupRecords - r.received), 0),
    ]),
  );
  return summarize({
    title: 'end-to-end latency at 1k records/s, 1 KB',
    better: 'lower',
    unit: 'ms (p99 produce→handler)',
    target: 1.15,
    floor: 1.5,
    absolute: {
      label: 'kafka-core p99 ms',
      value: medianOf(oursName, 'p99') as number,
      target: 10,
      floor: 25,
    },
    samples,
    details: {
      p50Ms: { [oursName]: medianOf(oursName, 'p50'), [rawName]: medianOf(rawName, 'p50') },
      p99Ms: { [oursName]: medianOf(oursName, 'p99'), [rawName]: medianOf(rawName, 'p99') },
      pooledMs: { [oursName]: pooled(oursName), [rawName]: pooled(rawName) },
      recordsNotReceived: lost,
      commitsPer1kRecords: Object.fromEntries(
        Object.entries(results).map(([name, runs]) => [
          name,
          round(median(runs.map((r) => perThousand(r.commits ?? 0, r.sent)))),
        ]),
      ),
      durationMs,
      warmupRecordsPerRun: warmupRecords,
    },
    notes: [
      'A separate producer process sends 1 KB JSON records at a steady 1000/s to 3 partitions (acks=all) for 15 s, stamping each with CLOCK_MONOTONIC; the handler subtracts it from its own reading. The first 1.5 s of each run is warm-up and not counted.',
      'Each run is a fresh group that joins (latest offsets) before producing starts; arms alternate on the same topic. @KafkaListener: auto ack, default concurrency 1; raw: kafkajs eachMessage with its defaults (auto-commit) and JSON.parse; both with the shared fetch settings.',
      "Per-run p99, median of runs; 'pooled' percentiles merge every run's records.",
    ],
  });
};

// ---------------------------------------------------------------------------------------------------
// B9: blocking retries under load

const B9_FAIL_EVERY = 100;
const B9_RETRY = { attempts: 3, initialDelayMs: 50, multiplier: 2, jitter: 0 };
/** Backoff longer than the session timeout: only a listener that keeps heartbeating stays in the group. */
const B9_LONG = {
  sessionTimeoutMs: 6_000,
  retry: { attempts: 2, initialDelayMs: 8_000, multiplier: 2, jitter: 0 },
  rate: 2_000,
  durationMs: 10_000,
  failingSeq: 1_000,
};

interface LongBackoffResult {
  rebalances: number;
  joins: number;
  sent: number;
  handled: number;
  retried: number;
  backoffMs: number | null;
  handledDuringBackoff: number;
}

/** One record fails once and waits out B9_LONG's backoff while the steady flow goes on. */
async function longBackoff(ctx: ScenarioContext): Promise<LongBackoffResult> {
  const partitions = 3;
  const topic = await createTopic('bench-b9-long', partitions);
  const groupId = uniqueName('b9-long');
  const { rate, durationMs, failingSeq } = B9_LONG;
  let failedAt: number | undefined;
  let retriedAt: number | undefined;
  let handledDuringBackoff = 0;
  const failures: FailureInjection = {
    failFirstAttempt: (seq) => seq === failingSeq,
    onAttempt: (seq, attempt, failed) => {
      if (failed) failedAt = performance.now();
      else if (seq === failingSeq && attempt > 1) retriedAt = performance.now();
      else if (failedAt !== undefined && retriedAt === undefined) handledDuringBackoff++;
    },
  };
  const [result, sent] = await Promise.all([
    kafkaCoreListener({
      topic,
      groupId,
      expected: Math.round((rate * durationMs) / 1000),
      ackMode: 'auto',
      concurrency: partitions,
      retry: B9_LONG.retry,
      sessionTimeoutMs: B9_LONG.sessionTimeoutMs,
      failures,
    }),
    produceSteadily({
      topic,
      groupId,
      partitions,
      rate,
      durationMs,
      valueBytes: RECORD_BYTES,
      warmupRecords: 0,
    }),
  ]);
  const long: LongBackoffResult = {
    // The first join is the member's own start; any later one is a rebalance it went through.
    rebalances: Math.max(0, result.joins - 1),
    joins: result.joins,
    sent,
    handled: result.records,
    retried: result.counters.retried,
    backoffMs: failedAt !== undefined && retriedAt !== undefined ? Math.round(retriedAt - failedAt) : null,
    handledDuringBackoff,
  };
  ctx.log(`B9 long backoff: ${JSON.stringify(long)}`);
  return long;
}

const B9: Scenario = async (ctx) => {
  const topic = await b1DataSet(ctx);
  const expected = B1_DATA.count;
  // Failing records need far longer than the others to get through 100k records; both arms stop
  // counting after this window, which the arm without failures never reaches.
  const windowMs = 4_000;
  const keyOrdered = { keyOrdered: true as const, maxInFlight: 64 };
  const run = (
    prefix: string,
    failEvery: number,
    concurrency: KafkaCoreListenerOptions['concurrency'] = B1_DATA.partitions,
    retryTopics?: KafkaCoreListenerOptions['retryTopics'],
  ) =>
    kafkaCoreListener({
      topic,
      groupId: uniqueName(prefix),
      expected,
      ackMode: 'auto',
      concurrency,
      retry: B9_RETRY,
      retryTopics,
      windowMs,
      failures: { failFirstAttempt: (seq) => failEvery > 0 && seq % failEvery === 0 },
    });
  // Unmeasured: JIT warm-up and the dead-letter topic's creation stay out of the numbers.
  await run('b9-warm', 0);
  // Headline: non-blocking retries (the option meant for throughput under failures) ÷ no failures.
  // Blocking retries keep per-partition order and pay for it: their ratios are reported beside it.
  const retryTopics = { delaysMs: [B9_RETRY.initialDelayMs] };
  await run('b9-warm-rt', B9_FAIL_EVERY, B1_DATA.partitions, retryTopics);
  const topicName = 'kafka-core retryTopics [50 ms], 1% fail once';
  const failingName = 'kafka-core, 1% fail once';
  const cleanName = 'kafka-core, no failures';
  const keyFailingName = 'kafka-core keyOrdered maxInFlight 64, 1% fail once';
  const keyCleanName = 'kafka-core keyOrdered maxInFlight 64, no failures';
  const show = (r: KafkaCoreThroughputResult) =>
    `${showRate(r)}, ${r.counters.retried} retried, ${r.joins} join(s)`;
  const { samples, results } = await alternate<KafkaCoreThroughputResult>(ctx, 'B9', ctx.reps, [
    {
      name: topicName,
      run: () => run('b9-topic', B9_FAIL_EVERY, B1_DATA.partitions, retryTopics),
      value: rate,
      show,
    },
    { name: cleanName, run: () => run('b9-clean', 0), value: rate, show },
    { name: failingName, run: () => run('b9-fail', B9_FAIL_EVERY), value: rate, show },
    // Key-ordered retries wait in their own slot instead of holding up the partition: how much of the
    // throughput that keeps (the records are unkeyed, so any of them may run side by side).
    { name: keyFailingName, run: () => run('b9-key-fail', B9_FAIL_EVERY, keyOrdered), value: rate, show },
    { name: keyCleanName, run: () => run('b9-key-clean', 0, keyOrdered), value: rate, show },
  ]);
  const runs = Object.values(results).flat();
  const m = (name: string) => median(samples[name]) as number;

  let long: LongBackoffResult | { error: string };
  try {
    long = await longBackoff(ctx);
  } catch (error) {
    long = { error: (error as Error).message };
  }
  const rebalances = 'rebalances' in long ? long.rebalances : null;
  const failing = results[failingName];
  const cleanSeconds = median(results[cleanName].map((r) => r.seconds)) as number;
  const failuresPerPartition = expected / B9_FAIL_EVERY / B1_DATA.partitions;
  return summarize({
    title: 'retries under load: 1% of records fail once (retry topics; blocking ratios in details)',
    better: 'higher',
    unit: 'records/s',
    target: 0.95,
    floor: 0.85,
    absolute: {
      label: 'rebalances while a backoff exceeds the session timeout',
      value: rebalances,
      target: 0,
      floor: 0,
    },
    samples,
    details: {
      rebalances,
      longBackoff: { ...B9_LONG, ...long },
      retry: B9_RETRY,
      failingRecords: `payload seq % ${B9_FAIL_EVERY} === 0 (${expected / B9_FAIL_EVERY} of ${expected}, one every ${B9_FAIL_EVERY} offsets of each partition)`,
      windowMs,
      windowedArms: Object.entries(results)
        .filter(([, armRuns]) => armRuns.some((r) => r.windowed))
        .map(([name]) => name),
      retriedPerRun: { [failingName]: failing.map((r) => r.counters.retried) },
      recordsPerRun: Object.fromEntries(
        Object.entries(results).map(([name, armRuns]) => [name, armRuns.map((r) => r.records)]),
      ),
      rebalancesInThroughputRuns: runs.reduce((n, r) => n + Math.max(0, r.joins - 1), 0),
      // The best an in-order partition can do when it stands still for every backoff: the clean run's
      // time plus each partition's share of the backoffs.
      inOrderCeiling: round(
        cleanSeconds / (cleanSeconds + failuresPerPartition * (B9_RETRY.initialDelayMs / 1000)),
      ),
      blockingInOrderRatio: round(m(failingName) / m(cleanName)),
      keyOrderedRatio: round(m(keyFailingName) / m(keyCleanName)),
      // How long a partition stands still per failed record in the in-order arm (backoff included).
      msPerRetryPerPartition: round(
        median(failing.map((r) => (r.seconds * 1000 * B1_DATA.partitions) / Math.max(1, r.counters.retried))),
      ),
    },
    notes: [
      `B1's data set (3 partitions, 100k JSON records of ~256 B), a fresh group from the beginning per run, the B1 fetch settings. @KafkaListener: ackMode auto, concurrency 3, retry ${JSON.stringify(B9_RETRY)}; the same handler in both arms, throwing on the first attempt of every record whose seq is a multiple of ${B9_FAIL_EVERY}.`,
      `Throughput from first to last record, counted over at most ${windowMs / 1000} s after the first record (an arm that has not finished by then is rated over that window).`,
      "The ratio is the in-order listener's (B1's configuration). Blocking retries pause the failed record's partition, seek back to it and resume after the backoff, so that partition stands still meanwhile while the others keep flowing; inOrderCeiling is what that allows at best here. msPerRetryPerPartition is what a failure actually cost: when every partition a broker serves is paused, kafkajs' fetch loop sleeps maxWaitTimeInMs (100 ms) before looking again, so a partition often resumes later than its backoff.",
      'The keyOrdered arms use concurrency { keyOrdered: true, maxInFlight: 64 } (as B3), otherwise the same: a retried record waits in its own slot while other records run, but a fetched batch ends (and the partition fetches again) only once its retries are done. keyOrderedRatio is their ratio.',
      `Rebalances: a separate topic (3 partitions) gets ${B9_LONG.rate} records/s for ${B9_LONG.durationMs / 1000} s from a separate process; the listener (sessionTimeoutMs ${B9_LONG.sessionTimeoutMs}, retry ${JSON.stringify(B9_LONG.retry)}) fails record ${B9_LONG.failingSeq} once. Rebalances are the kafkajs GROUP_JOIN events of its consumer after the first join; handledDuringBackoff counts the records the other partitions handled meanwhile.`,
    ],
  });
};

// ---------------------------------------------------------------------------------------------------
// B10: memory of a service under B1 load

const B10: Scenario = async (ctx) => {
  const topic = await b1DataSet(ctx);
  const expected = B1_DATA.count;
  const oursName = 'kafka-core';
  const rawName = 'raw-eachBatch';
  type Report = { result: ThroughputResult; memory: MemoryReport };
  const ours = () =>
    spawnArm<KafkaCoreThroughputResult>('kafka-core-listener', {
      topic,
      groupId: uniqueName('b10-ours'),
      expected,
      ackMode: 'auto',
      concurrency: B1_DATA.partitions,
    });
  const raw = () =>
    spawnArm<ThroughputResult>('raw-each-batch', {
      topic,
      groupId: uniqueName('b10-raw'),
      expected,
      partitionsConcurrently: B1_DATA.partitions,
      parseJson: true,
      commit: 'per-batch',
    });
  const growth = (r: Report) => r.memory.peakUnderLoadMb! - r.memory.atFirstRecordMb!;
  const show = (r: Report) =>
    `RSS ${r.memory.startMb.toFixed(0)} MB at start, ${r.memory.atFirstRecordMb?.toFixed(0)} MB at first record, peak ${r.memory.peakMb.toFixed(0)} MB, +${growth(r).toFixed(1)} MB under load (${Math.round(r.result.recordsPerSec).toLocaleString('en')} records/s)`;
  const { samples, results } = await alternate<Report>(ctx, 'B10', ctx.reps, [
    { name: oursName, run: ours, value: growth, show },
    { name: rawName, run: raw, value: growth, show },
  ]);
  const med = (name: string, pick: (m: MemoryReport) => number) =>
    round(median(results[name].map((r) => pick(r.memory)))) ?? Number.NaN;
  const peak = { [oursName]: med(oursName, (m) => m.peakMb), [rawName]: med(rawName, (m) => m.peakMb) };
  const typescriptLoaded = Object.values(results).some((runs) => runs.some((r) => r.memory.typescriptLoaded));
  return summarize({
    title: 'memory under B1 load (RSS)',
    better: 'lower',
    unit: 'MB RSS growth under load',
    target: 1.15,
    floor: 1.5,
    absolute: { label: 'kafka-core peak RSS MB', value: peak[oursName], target: 150, floor: 512 },
    samples,
    details: {
      peakRssMb: peak,
      peakRatio: round(peak[oursName] / peak[rawName]),
      rssAtStartMb: {
        [oursName]: med(oursName, (m) => m.startMb),
        [rawName]: med(rawName, (m) => m.startMb),
      },
      rssAtFirstRecordMb: {
        [oursName]: med(oursName, (m) => m.atFirstRecordMb!),
        [rawName]: med(rawName, (m) => m.atFirstRecordMb!),
      },
      heapUsedPeakMb: {
        [oursName]: med(oursName, (m) => m.heapUsedPeakMb),
        [rawName]: med(rawName, (m) => m.heapUsedPeakMb),
      },
      typescriptCompilerLoaded: typescriptLoaded,
    },
    notes: [
      'Each run is a fresh Node process (node -r ./bench/register.js bench/arms/<arm>.ts) consuming the B1 data set as in B1; RSS sampled every 20 ms.',
      'Growth under load = highest RSS between the first and the last record minus RSS at the first record (the service is up, connected and joined). Peak RSS covers the whole process lifetime and is what the 150 MB bound applies to.',
      typescriptLoaded
        ? 'Warning: the TypeScript compiler was loaded in a measured process, which inflates its RSS.'
        : 'Sources are pre-transpiled (disk cache), so the measured processes never load the TypeScript compiler.',
    ],
  });
};

export const SCENARIOS: Record<string, Scenario> = { B0, B1, B2, B3, B7, B9, B10 };
