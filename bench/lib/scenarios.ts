import { OUTBOX_RELAY_DEFAULTS } from '@app/kafka-core';
import { businessTransactions, TransactionRateResult } from '../arms/business-transactions';
import { javaConsumerPerf } from '../arms/java-consumer-perf';
import { javaProducerPerf, ProducerResult } from '../arms/java-producer-perf';
import { kafkaCoreLatency } from '../arms/kafka-core-latency';
import { kafkaCoreOutboxLatency, OutboxLatencyResult } from '../arms/kafka-core-outbox-latency';
import { kafkaCorePublisher, PublisherLoad } from '../arms/kafka-core-publisher';
import {
  FailureInjection,
  kafkaCoreListener,
  KafkaCoreListenerOptions,
  KafkaCoreThroughputResult,
} from '../arms/kafka-core-listener';
import { nestTransport } from '../arms/nest-transport';
import { OutboxRelayResult, outboxRelayArm, RelayProfile } from '../arms/outbox-relay';
import { rawEachBatch, ThroughputResult } from '../arms/raw-each-batch';
import { rawEachMessageLatency } from '../arms/raw-each-message-latency';
import { rawProducer } from '../arms/raw-producer';
import { rawIdempotentProducerArm, rawRecordBatches } from '../arms/raw-idempotent-producer';
import { benchDatabase, fillOutbox, outboxRecords, resetTables } from './database';
import type { MemoryReport } from './child';
import { ConnectionEnv, overKafka, uniqueName } from './kafka';
import { LatencyRunOptions, LatencyRunResult, produceSteadily } from './latency';
import type { SendRateResult } from './publish-load';
import { createTopic, seedJson } from './seed';
import { spawnArm } from './spawn-arm';
import { median, percentiles, round } from './stats';

/** One benchmark's entry in latest.json: the fields of the results format plus what explains them. */
export interface BenchResult {
  title: string;
  /** Whether a higher or a lower ratio is better. */
  better: 'higher' | 'lower';
  unit: string;
  /**
   * ours ÷ theirs, from the arms' medians; null when there is no target (B0). A benchmark with a single
   * arm (B8) reports that arm's median itself, in `unit`.
   */
  ratio: number | null;
  target: number | null;
  floor: number | null;
  /**
   * Absolute bounds that hold besides the ratio (e.g. p99 ≤ 10 ms); an upper bound unless `better`
   * is 'higher' (e.g. ≥ 10k rows/s).
   */
  absolute?: {
    label: string;
    value: number | null;
    target: number;
    floor: number;
    better?: 'higher' | 'lower';
  };
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
  /**
   * The SASL_SSL broker bench/run.js started for B1s/B4s: its connection variables (the admin
   * principal, the password as a file) and a sentence on how it compares with the plaintext broker.
   */
  secure?: { env: ConnectionEnv; note: string };
}

type Scenario = (ctx: ScenarioContext) => Promise<BenchResult>;

const RECORD_BYTES = 256;

// ---------------------------------------------------------------------------------------------------
// Shared pieces

/** The B1/B2/B9/B10 data set: 3 partitions, 100k JSON records of ~256 B, seeded once per bench run. */
const B1_DATA = { partitions: 3, count: 100_000, valueBytes: RECORD_BYTES };
/** One data set per broker (the plaintext one and, for B1s, the secure one), keyed by bootstrap. */
const b1Topics = new Map<string, Promise<string>>();
function b1DataSet(ctx: ScenarioContext): Promise<string> {
  const broker = process.env.KAFKA_BROKERS ?? '';
  let b1Topic = b1Topics.get(broker);
  b1Topic ??= (async () => {
    const topic = await createTopic('bench-b1', B1_DATA.partitions);
    const started = performance.now();
    await seedJson(topic, B1_DATA);
    ctx.log(
      `seeded ${topic}: ${B1_DATA.count} records in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return topic;
  })();
  b1Topics.set(broker, b1Topic);
  return b1Topic;
}

/** Runs each arm `reps` times in alternation (A B A B …) and collects one number per run. */
interface Arm<T> {
  name: string;
  run: () => Promise<T>;
  value: (result: T) => number;
  show?: (result: T) => string;
}

async function alternate<T>(
  ctx: ScenarioContext,
  id: string,
  reps: number,
  arms: Arm<T>[],
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
  const single = names.length === 1;
  const theirs = single ? 1 : median(partial.samples[names[1]]);
  const exact = partial.target === null || !ours || !theirs ? null : ours / theirs;
  const ratio = round(exact);
  // Bounds are checked on the unrounded ratio: 1.1504 does not meet "≤ 1.15".
  const meets = (bound: number | null, absolute?: number) => {
    if (bound === null || exact === null) return null;
    const ratioOk = partial.better === 'higher' ? exact >= bound : exact <= bound;
    if (absolute === undefined) return ratioOk;
    const value = partial.absolute?.value;
    const absoluteOk =
      value !== null &&
      value !== undefined &&
      (partial.absolute?.better === 'higher' ? value >= absolute : value <= absolute);
    return ratioOk && absoluteOk;
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

/** B1's two arms on the current broker's data set, after one unmeasured round of each. */
async function listenerArms(
  ctx: ScenarioContext,
  id: string,
  ackMode: 'auto' | 'manual',
  names: [string, string],
): Promise<Arm<ThroughputResult>[]> {
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
  return [
    { name: names[0], run: ours, value: rate, show: showRate },
    { name: names[1], run: raw, value: rate, show: showRate },
  ];
}

async function listenerVsRaw(
  ctx: ScenarioContext,
  id: string,
  ackMode: 'auto' | 'manual',
): Promise<{
  samples: Record<string, number[]>;
  results: Record<string, ThroughputResult[]>;
  names: [string, string];
}> {
  const names: [string, string] =
    ackMode === 'auto'
      ? ['kafka-core', 'raw-eachBatch']
      : ['kafka-core manual ack', 'raw-eachBatch batch commit'];
  const arms = await listenerArms(ctx, id, ackMode, names);
  const { samples, results } = await alternate<ThroughputResult>(ctx, id, Math.max(ctx.reps, 7), arms);
  return { samples, results, names };
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
// B4 / B4b: the publisher against a raw kafkajs producer configured the same way

const showSendRate = (r: SendRateResult) =>
  `${Math.round(r.recordsPerSec).toLocaleString('en')} records/s (${r.records} in ${r.seconds.toFixed(2)} s, ${r.requests ?? '?'} requests)`;

const PUBLISHER_SETUP =
  'Topic with 3 partitions, unkeyed JSON events of ~256 B, acks=all. kafka-core: new KafkaPublisher(new KafkajsClient({ brokers, clientId }), { brokers, clientId }) without Nest, module defaults (lingerMs 1, maxBatchRecords 1000). Raw: kafkajs producer as kafka-core configures its own (idempotent, maxInFlightRequests 1, murmur2 partitioner), carrying headers of the same names and sizes as the envelope (made once), so both send the same bytes per record; both JSON.stringify each event.';

const B4_CALLERS = 64;
const B4_LOAD: Extract<PublisherLoad, { kind: 'concurrent' }> = {
  kind: 'concurrent',
  callers: B4_CALLERS,
  durationMs: 5_000,
  warmupMs: 1_000,
};
const B4_NAMES = ['kafka-core KafkaPublisher.send', 'raw kafkajs producer.send'] as const;

/** B4's two arms on a new topic of the current broker. */
async function publisherArms(): Promise<Arm<SendRateResult>[]> {
  const topic = await createTopic('bench-b4', 3);
  const load = B4_LOAD;
  return [
    {
      name: B4_NAMES[0],
      run: () => kafkaCorePublisher({ topic, valueBytes: RECORD_BYTES, load }),
      value: rate,
      show: showSendRate,
    },
    {
      name: B4_NAMES[1],
      run: () =>
        rawIdempotentProducerArm({ topic, valueBytes: RECORD_BYTES, load, headers: 'envelope-sized' }),
      value: rate,
      show: showSendRate,
    },
  ];
}

const B4: Scenario = async (ctx) => {
  const callers = B4_CALLERS;
  const load = B4_LOAD;
  const [oursName, rawName] = B4_NAMES;
  const { samples, results } = await alternate<SendRateResult>(ctx, 'B4', ctx.reps, await publisherArms());
  const perRequest = (name: string) =>
    round(median(results[name].map((r) => r.records / Math.max(1, r.requests ?? r.records))));
  return summarize({
    title: `publisher, ${callers} concurrent single sends, acks=all`,
    better: 'higher',
    unit: 'records/s',
    target: 3,
    floor: 1,
    samples,
    details: {
      callers,
      durationMs: load.durationMs,
      recordsPerProduceRequest: { [oursName]: perRequest(oursName), [rawName]: perRequest(rawName) },
    },
    notes: [
      PUBLISHER_SETUP,
      `${callers} concurrent callers, each awaiting one send at a time, for ${load.durationMs / 1000} s after ${load.warmupMs / 1000} s unmeasured; records/s = acknowledged sends ÷ time to the last acknowledgement. kafka-core: publisher.send(topic, event); raw: producer.send({ topic, acks: -1, messages: [one] }).`,
      'recordsPerProduceRequest: kafka-core from publisher.stats(); raw sends one request per send (kafkajs queues them behind the one in flight).',
    ],
  });
};

const B4b: Scenario = async (ctx) => {
  const topic = await createTopic('bench-b4b', 3);
  const batchSize = 500;
  const load: PublisherLoad = { kind: 'batches', total: 100_000, batchSize, warmupBatches: 10 };
  const oursName = `kafka-core sendBatch(${batchSize})`;
  const rawName = `raw kafkajs producer.send(${batchSize})`;
  const oursNoLingerName = `kafka-core sendBatch(${batchSize}), lingerMs 0`;
  const rawBareName = `raw kafkajs producer.send(${batchSize}), value only (no headers)`;
  const { samples } = await alternate<SendRateResult>(ctx, 'B4b', Math.max(ctx.reps, 5), [
    {
      name: oursName,
      run: () => kafkaCorePublisher({ topic, valueBytes: RECORD_BYTES, load }),
      value: rate,
      show: showSendRate,
    },
    {
      name: rawName,
      run: () =>
        rawIdempotentProducerArm({ topic, valueBytes: RECORD_BYTES, load, headers: 'envelope-sized' }),
      value: rate,
      show: showSendRate,
    },
    {
      name: oursNoLingerName,
      run: () => kafkaCorePublisher({ topic, valueBytes: RECORD_BYTES, load, producer: { lingerMs: 0 } }),
      value: rate,
      show: showSendRate,
    },
    {
      name: rawBareName,
      run: () => rawIdempotentProducerArm({ topic, valueBytes: RECORD_BYTES, load, headers: 'none' }),
      value: rate,
      show: showSendRate,
    },
  ]);
  const m = (name: string) => median(samples[name]) as number;
  return summarize({
    title: `publisher sendBatch of ${batchSize}`,
    better: 'higher',
    unit: 'records/s',
    target: 0.95,
    floor: 0.85,
    samples,
    details: {
      records: load.total,
      batchSize,
      ratioLingerMs0: round(m(oursNoLingerName) / m(rawName)),
      envelopeHeaderCost: round(m(rawName) / m(rawBareName)),
    },
    notes: [
      PUBLISHER_SETUP,
      `${load.total / 1000}k records in batches of ${batchSize}, one batch awaited at a time, after ${load.warmupBatches} unmeasured batches. kafka-core: publisher.sendBatch(topic, ${batchSize} entries); raw: producer.send({ topic, acks: -1, messages: ${batchSize} }).`,
      'Diagnostic arms: kafka-core with lingerMs 0 (ratioLingerMs0 against the raw arm with headers), and raw without any headers (envelopeHeaderCost = raw with envelope-sized headers ÷ raw without).',
    ],
  });
};

// ---------------------------------------------------------------------------------------------------
// B5: outbox relay draining a pre-filled backlog

const B5_ROWS = 100_000;
const B5_CUSTOMERS = 1_000;
const B5_POLL_MS = 10;
const B5_BACKOFF_INDEX =
  'CREATE INDEX IF NOT EXISTS bench_outbox_backoff ON kafka_outbox (available_at) WHERE published_at IS NULL AND aggregateid IS NOT NULL';

const B5: Scenario = async (ctx) => {
  const topic = await createTopic('bench-b5', 3);
  const database = await benchDatabase('bench_b5');
  const fill = async (count: number) => {
    await resetTables(database.db);
    const started = performance.now();
    await fillOutbox(database.db, { topic, count, valueBytes: RECORD_BYTES, customers: B5_CUSTOMERS });
    return performance.now() - started;
  };
  let records: Awaited<ReturnType<typeof outboxRecords>> = [];
  try {
    // The raw arm sends exactly what the relay sends for such a backlog (keys, payloads, headers).
    ctx.log(`B5 filled kafka_outbox with ${B5_ROWS} rows in ${((await fill(B5_ROWS)) / 1000).toFixed(1)} s`);
    records = await outboxRecords(database.db);
    const relay =
      (batchSize: number, count = B5_ROWS) =>
      async () => {
        await fill(count);
        return outboxRelayArm({
          url: database.url,
          topic,
          expected: count,
          batchSize,
          pollIntervalMs: B5_POLL_MS,
        });
      };
    const raw =
      (batchSize: number, count = B5_ROWS) =>
      () =>
        rawRecordBatches({ topic, records: records.slice(0, count), batchSize });
    // Unmeasured: JIT, connections, metadata.
    await relay(500, 5_000)();
    await raw(500, 5_000)();
    const showRelay = (r: SendRateResult) => {
      const { profile } = r as OutboxRelayResult;
      const per = (ms: number) => (ms / Math.max(1, profile.rounds)).toFixed(1);
      return `${showSendRate(r)}; per round: claim ${per(profile.ms.claim)} ms, publish ${per(profile.ms.publish)} ms (produce ${per(profile.ms.produce)}), delete ${per(profile.ms.delete)} ms; claim first/last 10 rounds ${profile.claimMsFirst10.toFixed(1)}/${profile.claimMsLast10.toFixed(1)} ms`;
    };
    const sizes = [500, 1000];
    // Diagnostic: the claim's NOT EXISTS looks for earlier rows of the key that are backing off
    // (available_at > now()); without an index on available_at PostgreSQL answers it with a scan of
    // the whole backlog on every claim. The same relay, with such an index added to this database only.
    const indexedName = 'kafka-core OutboxRelay, batchSize 500, + index on available_at (diagnostic)';
    const withBackoffIndex = (run: () => Promise<SendRateResult>) => async (): Promise<SendRateResult> => {
      await database.db.exec(B5_BACKOFF_INDEX);
      try {
        return await run();
      } finally {
        await database.db.exec('DROP INDEX IF EXISTS bench_outbox_backoff');
      }
    };
    const name = (arm: 'relay' | 'raw', size: number) =>
      arm === 'relay' ? `kafka-core OutboxRelay, batchSize ${size}` : `raw kafkajs batches of ${size}`;
    const { samples, results } = await alternate<SendRateResult>(ctx, 'B5', ctx.reps, [
      ...sizes.flatMap((size) => [
        { name: name('relay', size), run: relay(size), value: rate, show: showRelay },
        { name: name('raw', size), run: raw(size), value: rate, show: showSendRate },
      ]),
      { name: indexedName, run: withBackoffIndex(relay(500)), value: rate, show: showRelay },
    ]);
    const m = (n: string) => median(samples[n]) as number;
    const ratioBySize = Object.fromEntries(
      sizes.map((size) => [size, round(m(name('relay', size)) / m(name('raw', size)))]),
    );
    // Better = more rows/s relayed; each size's ratio is against raw batches of the same size.
    const best = sizes.reduce((a, b) => (m(name('relay', b)) > m(name('relay', a)) ? b : a));
    const profiles = Object.fromEntries(
      [...sizes.map((size) => [String(size), name('relay', size)]), ['500 + index', indexedName]].map(
        ([label, armName]) => {
          const runs = results[armName] as OutboxRelayResult[];
          const perRound = (pick: (p: RelayProfile) => number) =>
            round(median(runs.map((r) => pick(r.profile) / Math.max(1, r.profile.rounds))));
          const share = (pick: (p: RelayProfile) => number) =>
            round(median(runs.map((r) => pick(r.profile) / (r.seconds * 1000))));
          return [
            label,
            {
              rounds: median(runs.map((r) => r.profile.rounds)),
              msPerRound: {
                claim: perRound((p) => p.ms.claim),
                publish: perRound((p) => p.ms.publish),
                produce: perRound((p) => p.ms.produce),
                delete: perRound((p) => p.ms.delete),
                other: perRound((p) => p.ms.other),
              },
              shareOfRun: {
                claim: share((p) => p.ms.claim),
                publish: share((p) => p.ms.publish),
                delete: share((p) => p.ms.delete),
                other: share((p) => p.ms.other),
              },
              claimMsFirst10Rounds: round(median(runs.map((r) => r.profile.claimMsFirst10))),
              claimMsLast10Rounds: round(median(runs.map((r) => r.profile.claimMsLast10))),
              rowsLeft: runs.map((r) => r.left),
            },
          ];
        },
      ),
    );
    const oursRate = round(m(name('relay', 500)));
    return summarize({
      title: 'outbox relay draining a pre-filled backlog (batchSize 500, the default)',
      better: 'higher',
      unit: 'rows/s',
      target: 0.35,
      floor: 0.2,
      absolute: { label: 'relay rows/s', value: oursRate, target: 10_000, floor: 5_000, better: 'higher' },
      samples,
      details: {
        rows: B5_ROWS,
        keys: B5_CUSTOMERS,
        pollIntervalMs: B5_POLL_MS,
        ratioByBatchSize: ratioBySize,
        ratioWithAvailableAtIndex: round(m(indexedName) / m(name('raw', 500))),
        relayRowsPerSecByBatchSize: Object.fromEntries(sizes.map((s) => [s, round(m(name('relay', s)))])),
        betterBatchSize: best,
        profileByBatchSize: profiles,
      },
      notes: [
        `Per run, kafka_outbox on the real PostgreSQL (a database created for this run) is emptied and refilled with ${B5_ROWS / 1000}k rows written by KafkaOutbox.enqueueAll (~256 B JSON payloads, ${B5_CUSTOMERS} keys, the envelope headers), then ANALYZEd; the refill is not timed. Topic with 3 partitions, acks=all.`,
        `kafka-core: new OutboxRelay(db, (topic, records) => publisher.sendRecords(topic, records), { ...OUTBOX_RELAY_DEFAULTS, batchSize, pollIntervalMs: ${B5_POLL_MS} }) with a Nest-less KafkaPublisher (module defaults), connected beforehand; rows/s from relay.start() until the delete of the last row returned.`,
        "Raw: the same records (key, payload, headers plus event id and type, as the relay sends them) read from the table beforehand, sent by a kafkajs producer configured as kafka-core's (idempotent, maxInFlightRequests 1) in batches of the relay's batch size, one awaited at a time.",
        `The ratio and "relay rows/s" are for batchSize 500 (the default); batchSize 1000 is measured beside it. The better one in this run: batchSize ${best}, ${Math.round(m(name('relay', best))).toLocaleString('en')} rows/s, ratio ${ratioBySize[best]} against raw batches of ${best} (ratioByBatchSize, relayRowsPerSecByBatchSize).`,
        `Diagnostic arm: batchSize 500 with one index added to this run's kafka_outbox only (${B5_BACKOFF_INDEX.replace('CREATE INDEX IF NOT EXISTS bench_outbox_backoff', 'CREATE INDEX')}), which lets PostgreSQL answer the claim's "earlier row of the key still backing off" check without scanning the backlog; ratioWithAvailableAtIndex is that arm ÷ raw batches of 500.`,
        "Profile (per round = one claim, one send, one delete): claim and delete are the relay's statements timed through a wrapper around its Database; publish is its send callback (KafkaPublisher.sendRecords, accumulator linger included); produce is the request itself, timed at the client port; other is the rest of the run (leader election, row-to-record mapping, scheduling). claimMsFirst10Rounds/claimMsLast10Rounds show how the claim query's cost depends on the backlog still waiting.",
      ],
    });
  } finally {
    records = [];
    await database.drop();
  }
};

// ---------------------------------------------------------------------------------------------------
// B6: what the outbox insert costs a business transaction

const B6: Scenario = async (ctx) => {
  const database = await benchDatabase('bench_b6');
  const workers = 8;
  const base = {
    url: database.url,
    topic: 'bench.orders',
    workers,
    durationMs: 5_000,
    warmupMs: 1_000,
    valueBytes: RECORD_BYTES,
    customers: 1_000,
  };
  const TRIGGER = 'ALTER TABLE kafka_outbox %s TRIGGER kafka_outbox_notify';
  const run =
    (withOutbox: boolean, notify = true) =>
    async () => {
      await resetTables(database.db);
      if (!notify) await database.db.exec(TRIGGER.replace('%s', 'DISABLE'));
      try {
        return await businessTransactions({ ...base, withOutbox });
      } finally {
        if (!notify) await database.db.exec(TRIGGER.replace('%s', 'ENABLE'));
      }
    };
  const oursName = 'with outbox.enqueue';
  const plainName = 'without outbox';
  const silentName = 'with outbox.enqueue, NOTIFY trigger disabled (diagnostic)';
  const txRate = (r: TransactionRateResult) => r.transactionsPerSec;
  const show = (r: TransactionRateResult) =>
    `${Math.round(r.transactionsPerSec).toLocaleString('en')} tx/s (${r.transactions} in ${r.seconds.toFixed(2)} s); per tx: begin ${r.stepsMs.begin.toFixed(2)} ms, order insert ${r.stepsMs.businessInsert.toFixed(2)} ms, outbox insert ${r.stepsMs.outboxInsert.toFixed(2)} ms, commit ${r.stepsMs.commit.toFixed(2)} ms`;
  try {
    const { samples, results } = await alternate<TransactionRateResult>(ctx, 'B6', Math.max(ctx.reps, 5), [
      { name: oursName, run: run(true), value: txRate, show },
      { name: plainName, run: run(false), value: txRate, show },
      { name: silentName, run: run(true, false), value: txRate, show },
    ]);
    const m = (name: string) => median(samples[name]) as number;
    const steps = (name: string) => {
      const runs = results[name];
      const pick = (key: keyof TransactionRateResult['stepsMs']) =>
        round(median(runs.map((r) => r.stepsMs[key])));
      return {
        begin: pick('begin'),
        businessInsert: pick('businessInsert'),
        outboxInsert: pick('outboxInsert'),
        commit: pick('commit'),
      };
    };
    return summarize({
      title: `outbox write cost: business transactions/s, ${workers} concurrent workers`,
      better: 'higher',
      unit: 'transactions/s',
      target: 0.93,
      floor: 0.85,
      samples,
      details: {
        workers,
        durationMs: base.durationMs,
        ratioWithoutNotifyTrigger: round(m(silentName) / m(plainName)),
        stepsMsPerTransaction: {
          [oursName]: steps(oursName),
          [plainName]: steps(plainName),
          [silentName]: steps(silentName),
        },
      },
      notes: [
        `The real PostgreSQL (a database created for this run; synchronous_commit as the server has it), a pg pool of ${workers} through kafka-core's Database port; ${workers} workers each loop db.transaction(tx => INSERT an order row (~256 B JSON) [; KafkaOutbox.enqueue(tx, its ~256 B event, { topic, key })]) for ${base.durationMs / 1000} s after ${base.warmupMs / 1000} s unmeasured. Tables are emptied before each run; the relay is not running.`,
        "Diagnostic arm: the same with kafka_outbox's statement trigger (pg_notify to wake the relay) disabled, to show what the notification costs; ratioWithoutNotifyTrigger is that arm ÷ without outbox.",
        "stepsMsPerTransaction: a worker's wall time per step (pool checkout + BEGIN, each INSERT, COMMIT + release), waits for other sessions included.",
      ],
    });
  } finally {
    await database.drop();
  }
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
// B8: outbox latency, business COMMIT → @KafkaListener handler

const B8: Scenario = async (ctx) => {
  const partitions = 3;
  const topic = await createTopic('bench-b8', partitions);
  const database = await benchDatabase('bench_b8');
  const ratePerSec = 300;
  const durationMs = 10_000;
  const warmupTransactions = 300;
  const pollIntervalMs = OUTBOX_RELAY_DEFAULTS.pollIntervalMs;
  const run = async (prefix: string, ms: number) => {
    await resetTables(database.db);
    return kafkaCoreOutboxLatency({
      url: database.url,
      topic,
      partitions,
      groupId: uniqueName(prefix),
      rate: ratePerSec,
      durationMs: ms,
      warmupTransactions: Math.min(warmupTransactions, (ratePerSec * ms) / 2000),
      valueBytes: RECORD_BYTES,
      customers: 1_000,
    });
  };
  const q = (xs: number[]) => percentiles(xs);
  const show = (r: OutboxLatencyResult) => {
    const all = q(r.latenciesMs);
    return `p50 ${all.p50?.toFixed(2)} ms, p99 ${all.p99?.toFixed(2)} ms, max ${all.max?.toFixed(1)} ms (${r.received} of ${r.committed - warmupTransactions} measured; COMMIT p99 ${q(r.commitMs).p99?.toFixed(1)} ms, to claim p99 ${q(r.toClaimMs).p99?.toFixed(1)} ms, claim→handler p99 ${q(r.claimToHandlerMs).p99?.toFixed(1)} ms, of which claim→broker ack p99 ${q(r.claimToAckMs).p99?.toFixed(1)} ms)`;
  };
  const name = 'kafka-core outbox, relay in the app';
  try {
    // Unmeasured: JIT, connections, the dead-letter topic.
    await run('b8-warm', 3_000);
    const { samples, results } = await alternate<OutboxLatencyResult>(ctx, 'B8', ctx.reps, [
      { name, run: () => run('b8', durationMs), value: (r) => q(r.latenciesMs).p99 as number, show },
    ]);
    const runs = results[name];
    const med = (pick: (r: OutboxLatencyResult) => number[], key: 'p50' | 'p99') =>
      round(median(runs.map((r) => q(pick(r))[key] as number)));
    const both = (pick: (r: OutboxLatencyResult) => number[]) => ({
      p50: med(pick, 'p50'),
      p99: med(pick, 'p99'),
    });
    const pooled = q(runs.flatMap((r) => r.latenciesMs));
    return summarize({
      title: 'outbox latency: business COMMIT → @KafkaListener handler (single arm)',
      better: 'lower',
      unit: 'ms (p99 COMMIT→handler)',
      target: 25,
      floor: pollIntervalMs + 50,
      samples,
      details: {
        ratePerSec,
        durationMs,
        warmupTransactionsPerRun: warmupTransactions,
        pollIntervalMs,
        commitSentToHandlerMs: both((r) => r.latenciesMs),
        commitAcknowledgedToHandlerMs: both((r) => r.fromAckMs),
        commitMs: both((r) => r.commitMs),
        commitSentToClaimMs: both((r) => r.toClaimMs),
        claimToHandlerMs: both((r) => r.claimToHandlerMs),
        claimToBrokerAckMs: both((r) => r.claimToAckMs),
        brokerAckToHandlerMs: both((r) => r.ackToHandlerMs),
        pooledMs: {
          p50: round(pooled.p50),
          p90: round(pooled.p90),
          p99: round(pooled.p99),
          p999: round(pooled.p999),
          max: round(pooled.max),
          count: pooled.count,
        },
        eventsNotReceived: runs.reduce((n, r) => n + (r.committed - warmupTransactions - r.received), 0),
        duplicates: runs.reduce((n, r) => n + r.duplicates, 0),
      },
      notes: [
        `One Nest application per run: KafkaCoreModule.forRoot({ brokers, clientId, database }) (relay options at their defaults, pollIntervalMs ${pollIntervalMs}; the relay is woken by the outbox trigger's NOTIFY) and a @KafkaListener (auto ack, defaults) on a 3-partition topic, joined before writing starts; the database is the real PostgreSQL (a database created for this run).`,
        `Business code in the same application commits ${ratePerSec} transactions/s for ${durationMs / 1000} s (INSERT an order row; KafkaOutbox.enqueue its ~256 B event keyed by customer; COMMIT); the first ${warmupTransactions} of each run are warm-up. Latency is from the moment COMMIT is sent (the transaction's work is done) to the handler; commitAcknowledgedToHandlerMs starts when the application saw COMMIT succeed instead.`,
        "Single arm: the ratio column is the p99 in ms (median of the runs' p99). The floor is the relay's poll interval + 50 ms. commitSentToClaimMs ends when the relay's claim query returned the row (timed through a wrapper around the Database it is given); claimToHandlerMs is publish + broker + fetch + listener, split at the moment the relay starts deleting the row (the broker has acknowledged it): claimToBrokerAckMs and brokerAckToHandlerMs (negative when the handler ran before the relay's send callback returned).",
      ],
    });
  } finally {
    await database.drop();
  }
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

// ---------------------------------------------------------------------------------------------------
// B1s / B4s: what TLS + SCRAM cost, B1 and B4 over SASL_SSL next to plaintext

/**
 * Runs each arm over SASL_SSL and over plaintext in alternation (ours SASL_SSL, ours plaintext, theirs
 * SASL_SSL, theirs plaintext, …), so drift on the shared machine hits both sides alike. `setup` builds
 * the arms once per broker (topics, data, warm-up); the secure ones run with the secure connection.
 */
async function overBothBrokers<T>(
  ctx: ScenarioContext,
  id: string,
  reps: number,
  setup: () => Promise<Arm<T>[]>,
): Promise<{ samples: Record<string, number[]>; details: Record<string, unknown>; notes: string[] }> {
  const secure = ctx.secure;
  if (!secure) throw new Error(`${id} needs the SASL_SSL broker that bench/run.js starts for it`);
  const plainArms = await setup();
  const secureArms = await overKafka(secure.env, setup);
  const over = (name: string, protocol: 'SASL_SSL' | 'plaintext') => `${name}, ${protocol}`;
  const arms = plainArms.flatMap((plain, i): Arm<T>[] => [
    {
      ...secureArms[i],
      name: over(plain.name, 'SASL_SSL'),
      run: () => overKafka(secure.env, secureArms[i].run),
    },
    { ...plain, name: over(plain.name, 'plaintext') },
  ]);
  const { samples } = await alternate<T>(ctx, id, reps, arms);
  const med = (name: string) => median(samples[name]) ?? Number.NaN;
  const [ours, theirs] = plainArms.map((arm) => arm.name);
  const secureOverPlaintext = Object.fromEntries(
    plainArms.map(({ name }) => [name, round(med(over(name, 'SASL_SSL')) / med(over(name, 'plaintext')))]),
  );
  const oursOverTheirs = {
    SASL_SSL: round(med(over(ours, 'SASL_SSL')) / med(over(theirs, 'SASL_SSL'))),
    plaintext: round(med(over(ours, 'plaintext')) / med(over(theirs, 'plaintext'))),
  };
  const list = Object.entries(secureOverPlaintext)
    .map(([name, ratio]) => `${name} ${ratio}`)
    .join(', ');
  return {
    samples,
    details: { secureOverPlaintext, oursOverTheirs },
    notes: [
      `SASL_SSL ÷ plaintext per arm (the price of TLS + SCRAM-SHA-512): ${list}. The ratio column is ${ours}'s.`,
      `${ours} ÷ ${theirs}: ${oursOverTheirs.SASL_SSL} over SASL_SSL, ${oursOverTheirs.plaintext} over plaintext.`,
      "Security: SASL_SSL with SCRAM-SHA-512 as the broker's super user (so ACL checks pass at once), the certificate verified against the local CA; kafka-core gets it as the module option `security`, raw kafkajs the same `ssl`/`sasl` through kafkajsSecurity(). Every arm reads it from the KAFKA_* variables (kafkaSecurityFromEnv).",
      secure.note,
    ],
  };
}

const B1s: Scenario = async (ctx) => {
  const { samples, details, notes } = await overBothBrokers(ctx, 'B1s', Math.max(ctx.reps, 7), () =>
    listenerArms(ctx, 'B1s', 'auto', ['kafka-core', 'raw-eachBatch']),
  );
  return summarize({
    title: 'B1 over SASL_SSL: kafka-core SASL_SSL ÷ plaintext (price of TLS + SCRAM)',
    better: 'higher',
    unit: 'records/s',
    target: 0.8,
    floor: null,
    samples,
    details,
    notes: [
      ...notes,
      `${SHARED_SETUP} Each broker holds its own copy of the data set.`,
      'Arms as in B1: @KafkaListener auto ack, concurrency 3; raw eachBatch, partitionsConsumedConcurrently 3, JSON.parse, one commit per batch. One unmeasured round per arm and broker first.',
    ],
  });
};

const B4s: Scenario = async (ctx) => {
  const { samples, details, notes } = await overBothBrokers(ctx, 'B4s', Math.max(ctx.reps, 5), publisherArms);
  return summarize({
    title: `B4 over SASL_SSL: KafkaPublisher.send SASL_SSL ÷ plaintext (price of TLS + SCRAM)`,
    better: 'higher',
    unit: 'records/s',
    target: 0.8,
    floor: null,
    samples,
    details,
    notes: [
      ...notes,
      `${PUBLISHER_SETUP} A topic of its own on each broker.`,
      `As in B4: ${B4_CALLERS} concurrent callers, each awaiting one send at a time, for ${B4_LOAD.durationMs / 1000} s after ${B4_LOAD.warmupMs / 1000} s unmeasured (connection and SASL handshake included in that warm-up).`,
    ],
  });
};

export const SCENARIOS: Record<string, Scenario> = {
  B0,
  B1,
  B1s,
  B2,
  B3,
  B4,
  B4s,
  B4b,
  B5,
  B6,
  B7,
  B8,
  B9,
  B10,
};
