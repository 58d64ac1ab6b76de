import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MicroserviceOptions, Payload, Transport } from '@nestjs/microservices';
import { logLevel } from 'kafkajs';
import { runAsChild, RssSampler } from '../lib/child';
import { kafkajsSecurity } from '@app/kafka-core/client/kafkajs/kafkajs-security';
import { FETCH, groupActivity, kafkaConnection, observeConsumers, sleep } from '../lib/kafka';
import { Meter, MeterResult } from '../lib/meter';
import type { ThroughputResult } from './raw-each-batch';

/**
 * NestJS' built-in Kafka transport: a microservice with an `@EventPattern(topic)` handler. Its
 * options are Nest's defaults apart from the shared fetch settings and starting from the beginning.
 */
export interface NestTransportOptions {
  topic: string;
  /** Nest appends `-server` to it; the result is reported as `groupId`. */
  groupId: string;
  expected: number;
  handlerDelayMs?: number;
  windowMs?: number;
  /** kafkajs' `partitionsConsumedConcurrently` through Nest's `run` options; Nest's default is 1. */
  partitionsConsumedConcurrently?: number;
}

export async function nestTransport(
  options: NestTransportOptions,
  sampler?: RssSampler,
): Promise<ThroughputResult & { groupId: string }> {
  observeConsumers();
  const { topic, handlerDelayMs } = options;
  const meter = new Meter(options.expected, {
    windowMs: options.windowMs,
    onFirst: () => sampler?.markFirstRecord(),
  });

  @Controller()
  class BenchController {
    @EventPattern(topic)
    async handle(@Payload() payload: unknown): Promise<void> {
      if (payload === undefined) throw new Error('no payload');
      if (handlerDelayMs) await sleep(handlerDelayMs);
      meter.hit();
    }
  }

  @Module({ controllers: [BenchController] })
  class NestBenchModule {}

  const connection = kafkaConnection();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(NestBenchModule, {
    transport: Transport.KAFKA,
    options: {
      client: {
        clientId: `bench-${options.groupId}`,
        brokers: connection.brokers,
        ...kafkajsSecurity(connection.security),
        logLevel: logLevel.NOTHING,
      },
      consumer: { groupId: options.groupId, ...FETCH },
      subscribe: { fromBeginning: true },
      run: options.partitionsConsumedConcurrently
        ? { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently }
        : undefined,
    },
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  let result: MeterResult;
  try {
    await app.listen();
    result = await meter.done;
    sampler?.markLastRecord();
  } finally {
    await app.close();
  }
  const groupId = `${options.groupId}-server`;
  return { ...result, ...groupActivity(groupId), groupId };
}

runAsChild(module, nestTransport);
