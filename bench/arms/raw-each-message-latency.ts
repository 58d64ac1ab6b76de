import { FETCH, groupActivity, observeConsumers, rawKafka } from '../lib/kafka';
import { LatencyRecorder, LatencyRunOptions, LatencyRunResult, measureLatency } from '../lib/latency';

/** B7 baseline: a raw kafkajs `eachMessage` consumer with kafkajs' defaults and the shared fetch settings. */
export async function rawEachMessageLatency(options: LatencyRunOptions): Promise<LatencyRunResult> {
  observeConsumers();
  const recorder = new LatencyRecorder(options.warmupRecords);
  const consumer = rawKafka(`raw-${options.groupId}`).consumer({ groupId: options.groupId, ...FETCH });
  let joined!: () => void;
  const ready = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.connect();
  let result: LatencyRunResult;
  try {
    await consumer.subscribe({ topics: [options.topic] });
    await consumer.run({
      eachMessage: async ({ message }) => {
        recorder.record(JSON.parse(message.value?.toString('utf8') ?? 'null'));
      },
    });
    await ready;
    result = await measureLatency(options, recorder);
  } finally {
    await consumer.disconnect();
  }
  return { ...result, commits: groupActivity(options.groupId).commits };
}
