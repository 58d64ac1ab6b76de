import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Ack,
  Acknowledgment,
  AckMode,
  Ctx,
  KafkaContext,
  KafkaCoreModule,
  KafkaListener,
  KafkaListenerOptions,
  KafkaListenerRegistry,
  Payload,
} from '@app/kafka-core';
import { runAsChild, RssSampler } from '../lib/child';
import { groupActivity, kafkaConnection, observeConsumers, sleep } from '../lib/kafka';
import { Meter, MeterResult } from '../lib/meter';
import type { ThroughputResult } from './raw-each-batch';

/** A `@KafkaListener` in a Nest application context, as a service runs it (B1, B2, B3, B9, B10). */
export interface KafkaCoreListenerOptions {
  topic: string;
  groupId: string;
  expected: number;
  ackMode: AckMode;
  concurrency: KafkaListenerOptions['concurrency'];
  /** The handler awaits this long (an I/O-bound handler); 0 or absent: it returns at once. */
  handlerDelayMs?: number;
  windowMs?: number;
  /** Blocking retries; absent: the module defaults. */
  retry?: KafkaListenerOptions['retry'];
  retryTopics?: KafkaListenerOptions['retryTopics'];
  sessionTimeoutMs?: number;
  /** Makes chosen records fail once (B9); absent: the plain handler of the other benchmarks. */
  failures?: FailureInjection;
}

/**
 * Records are chosen by the payload's `seq`, so every run fails the same records whatever the
 * partitioning. A handler given `failFirstAttempt: () => false` does the same work and fails none.
 */
export interface FailureInjection {
  failFirstAttempt(seq: number): boolean;
  /** Sees every attempt, failed or not. */
  onAttempt?(seq: number, attempt: number, failed: boolean): void;
}

export interface KafkaCoreThroughputResult extends ThroughputResult {
  /** The listener's own counters from `KafkaListenerRegistry`. */
  counters: { processed: number; commits: number; retried: number; failed: number };
  /** Group joins of the listener's consumer (kafkajs GROUP_JOIN events). */
  joins: number;
}

export async function kafkaCoreListener(
  options: KafkaCoreListenerOptions,
  sampler?: RssSampler,
): Promise<KafkaCoreThroughputResult> {
  observeConsumers();
  const { topic, groupId, ackMode, handlerDelayMs, failures } = options;
  const meter = new Meter(options.expected, {
    windowMs: options.windowMs,
    onFirst: () => sampler?.markFirstRecord(),
  });
  const manual = ackMode !== 'auto';
  const done = (ack: Acknowledgment) => {
    if (manual) ack.acknowledge();
    meter.hit();
  };

  const listenerOptions: KafkaListenerOptions = {
    topics: [topic],
    groupId,
    fromBeginning: true,
    ackMode,
    concurrency: options.concurrency,
    ...(options.retry !== undefined && { retry: options.retry }),
    ...(options.retryTopics !== undefined && { retryTopics: options.retryTopics }),
    ...(options.sessionTimeoutMs !== undefined && { sessionTimeoutMs: options.sessionTimeoutMs }),
  };

  @Injectable()
  class BenchListener {
    @KafkaListener(listenerOptions)
    handle(@Payload() payload: unknown, @Ack() ack: Acknowledgment): Promise<void> | void {
      if (payload === undefined) throw new Error('no payload');
      // A no-op handler stays synchronous, so the arm measures the listener, not an extra await.
      if (handlerDelayMs) return sleep(handlerDelayMs).then(() => done(ack));
      done(ack);
    }
  }

  // A separate class, so the other benchmarks' handler does not pay for the context parameter.
  @Injectable()
  class FailingOnceListener {
    @KafkaListener(listenerOptions)
    handle(@Payload() payload: { seq: number }, @Ack() ack: Acknowledgment, @Ctx() ctx: KafkaContext): void {
      const injection = failures as FailureInjection;
      const fail = ctx.attempt === 1 && injection.failFirstAttempt(payload.seq);
      injection.onAttempt?.(payload.seq, ctx.attempt, fail);
      if (fail) throw new Error(`injected failure of record ${payload.seq}`);
      done(ack);
    }
  }

  @Module({
    imports: [KafkaCoreModule.forRoot({ ...kafkaConnection(), clientId: `bench-${groupId}` })],
    providers: [failures ? FailingOnceListener : BenchListener],
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
    counters: {
      processed: counters.processed,
      commits: counters.commits,
      retried: counters.retried,
      failed: counters.failed,
    },
  };
}

runAsChild(module, kafkaCoreListener);
