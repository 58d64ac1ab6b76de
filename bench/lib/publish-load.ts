import { Logger } from '@nestjs/common';
import { Partitioners, Producer } from 'kafkajs';
import { prepareEvent } from '@app/kafka-core/producer/envelope';
import { rawKafka } from './kafka';

/** Nest-less arms log as the bench's Nest applications do (logger: ['error', 'warn']). */
export function quietNestLogger(): void {
  Logger.overrideLogger(['error', 'warn']);
}

/** What a producer arm reports: records acknowledged and the rate over the measured span. */
export interface SendRateResult {
  records: number;
  seconds: number;
  recordsPerSec: number;
  /** Produce requests the arm made for those records, where the arm can tell. */
  requests?: number;
}

/** A JSON event of ~`valueBytes`; the class name is its event type. */
export class BenchEvent {
  constructor(
    readonly seq: number,
    readonly pad: string,
  ) {}
}

/** Builds events of ~`valueBytes` of JSON; the padding string is made once and shared. */
export function benchEvents(valueBytes: number): (seq: number) => BenchEvent {
  const bare = JSON.stringify(new BenchEvent(1_000_000, '')).length;
  const pad = 'x'.repeat(Math.max(0, valueBytes - bare));
  return (seq) => new BenchEvent(seq, pad);
}

/**
 * Headers of the same names and sizes as kafka-core's envelope, made once: the raw arms carry the
 * same bytes per record as the publisher, so the ratio measures the client and not the header size.
 */
export function envelopeSizedHeaders(clientId: string): Record<string, string> {
  return prepareEvent(new BenchEvent(0, ''), { topic: 'bench' }, clientId).headers;
}

/** The raw baseline producer: idempotent, one request in flight, murmur2 partitioning (as kafka-core's). */
export async function rawIdempotentProducer(clientId: string): Promise<Producer> {
  const producer = rawKafka(clientId).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return producer;
}

/**
 * `callers` concurrent loops, each awaiting one send at a time, for `durationMs`; the rate counts
 * acknowledged sends from the start to the last acknowledgement.
 */
export async function concurrentSends(
  callers: number,
  durationMs: number,
  sendOne: (seq: number) => Promise<unknown>,
): Promise<SendRateResult> {
  let seq = 0;
  let acknowledged = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        await sendOne(seq++);
        acknowledged++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { records: acknowledged, seconds, recordsPerSec: acknowledged / seconds };
}

/** Sends `total` records in batches of `batchSize`, one batch awaited at a time. */
export async function sequentialBatches(
  total: number,
  batchSize: number,
  sendBatch: (start: number, size: number) => Promise<unknown>,
): Promise<SendRateResult> {
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const size = Math.min(batchSize, total - sent);
    await sendBatch(sent, size);
    sent += size;
  }
  const seconds = (performance.now() - started) / 1000;
  return { records: sent, seconds, recordsPerSec: sent / seconds, requests: Math.ceil(total / batchSize) };
}
