import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Ack,
  Acknowledgment,
  AckMode,
  KafkaCoreModule,
  KafkaListener,
  KafkaListenerOptions,
  KafkaListenerRegistry,
  Payload,
} from '@app/kafka-core';
import { runAsChild, RssSampler } from '../lib/child';
import { brokersFromEnv, groupActivity, observeConsumers, sleep } from '../lib/kafka';
import { Meter, MeterResult } from '../lib/meter';
import type { ThroughputResult } from './raw-each-batch';

/** A `@KafkaListener` in a Nest application context, as a service runs it (B1, B2, B3, B10). */
export interface KafkaCoreListenerOptions {
  topic: string;
  groupId: string;
  expected: number;
  ackMode: AckMode;
  concurrency: KafkaListenerOptions['concurrency'];
  /** The handler awaits this long (an I/O-bound handler); 0 or absent: it returns at once. */
  handlerDelayMs?: number;
  windowMs?: number;
}

export interface KafkaCoreThroughputResult extends ThroughputResult {
  /** The listener's own counters from `KafkaListenerRegistry`. */
  counters: { processed: number; commits: number };
}

export async function kafkaCoreListener(
  options: KafkaCoreListenerOptions,
  sampler?: RssSampler,
): Promise<KafkaCoreThroughputResult> {
  observeConsumers();
  const { topic, groupId, ackMode, handlerDelayMs } = options;
  const meter = new Meter(options.expected, {
    windowMs: options.windowMs,
    onFirst: () => sampler?.markFirstRecord(),
  });
  const manual = ackMode !== 'auto';
  const done = (ack: Acknowledgment) => {
    if (manual) ack.acknowledge();
    meter.hit();
  };

  @Injectable()
  class BenchListener {
    @KafkaListener({
      topics: [topic],
      groupId,
      fromBeginning: true,
      ackMode,
      concurrency: options.concurrency,
    })
    handle(@Payload() payload: unknown, @Ack() ack: Acknowledgment): Promise<void> | void {
      if (payload === undefined) throw new Error('no payload');
      // A no-op handler stays synchronous, so the arm measures the listener, not an extra await.
      if (handlerDelayMs) return sleep(handlerDelayMs).then(() => done(ack));
      done(ack);
    }
  }

  @Module({
    imports: [KafkaCoreModule.forRoot({ brokers: brokersFromEnv(), clientId: `bench-${groupId}` })],
    providers: [BenchListener],
  })
  class BenchModule {}

  const app = await NestFactory.createApplicationContext(BenchModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  let result: MeterResult;
  try {
    result = await meter.done;
    sampler?.markLastRecord();
  } finally {
    await app.close();
  }
  const { counters } = app.get(KafkaListenerRegistry).list()[0];
  return {
    ...result,
    ...groupActivity(groupId),
    counters: { processed: counters.processed, commits: counters.commits },
  };
}

runAsChild(module, kafkaCoreListener);
