import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KafkaCoreModule, KafkaListener, KafkaListenerRegistry, Payload } from '@app/kafka-core';
import { groupActivity, kafkaConnection, observeConsumers, sleep } from '../lib/kafka';
import { LatencyRecorder, LatencyRunOptions, LatencyRunResult, measureLatency } from '../lib/latency';

/** B7: a `@KafkaListener` (auto ack, defaults) joins, then records produce→handler latency. */
export async function kafkaCoreLatency(options: LatencyRunOptions): Promise<LatencyRunResult> {
  observeConsumers();
  const recorder = new LatencyRecorder(options.warmupRecords);

  @Injectable()
  class LatencyListener {
    @KafkaListener({ topics: [options.topic], groupId: options.groupId })
    handle(@Payload() payload: { seq: number; sentAt: number }): void {
      recorder.record(payload);
    }
  }

  @Module({
    imports: [KafkaCoreModule.forRoot({ ...kafkaConnection(), clientId: `bench-${options.groupId}` })],
    providers: [LatencyListener],
  })
  class LatencyModule {}

  const app = await NestFactory.createApplicationContext(LatencyModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  let result: LatencyRunResult;
  try {
    // Produce only once every partition is assigned, so the run measures steady consumption.
    const registry = app.get(KafkaListenerRegistry);
    const assigned = () =>
      Object.values(registry.list()[0].assignment).reduce((n, partitions) => n + partitions.length, 0);
    for (let waited = 0; assigned() < options.partitions; waited += 20) {
      if (waited > 30_000) throw new Error('listener got no assignment within 30 s');
      await sleep(20);
    }
    result = await measureLatency(options, recorder);
  } finally {
    await app.close();
  }
  return { ...result, commits: groupActivity(options.groupId).commits };
}
