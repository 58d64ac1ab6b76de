import { KafkaPublisher, OUTBOX_RELAY_DEFAULTS, OutboxRelay } from '@app/kafka-core';
import { KafkaClientPort, KafkaProducerPort } from '@app/kafka-core/client/kafka-client.port';
import { KafkajsClient } from '@app/kafka-core/client/kafkajs.client';
import { runAsChild } from '../lib/child';
import {
  openBenchDatabase,
  outboxCount,
  relayStatementKind,
  StatementTimes,
  timedDatabase,
} from '../lib/database';
import { kafkaConnection } from '../lib/kafka';
import { quietNestLogger, SendRateResult } from '../lib/publish-load';

/**
 * B5: kafka-core's OutboxRelay (without Nest, as OutboxRelayService builds it) draining a pre-filled
 * kafka_outbox. Rows/s from `start()` until the last row is deleted.
 */
export interface OutboxRelayArmOptions {
  url: string;
  topic: string;
  /** Rows waiting in kafka_outbox when the relay starts. */
  expected: number;
  batchSize: number;
  pollIntervalMs: number;
}

export interface RelayProfile {
  /** Rounds that published rows (one claim, one send, one delete each). */
  rounds: number;
  /** Wall time per part of a round, summed over the run, ms. */
  ms: {
    claim: number;
    /** OutboxRelay's send callback: KafkaPublisher.sendRecords (accumulator, linger, produce). */
    publish: number;
    /** Of which the produce request itself (kafkajs sendBatch through the client port). */
    produce: number;
    delete: number;
    /** Leader election, housekeeping, row-to-record mapping, scheduling: the rest of the run. */
    other: number;
  };
  statements: StatementTimes;
  /** Mean claim time of the first and the last ten rounds: how the claim scales with the backlog. */
  claimMsFirst10: number;
  claimMsLast10: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export interface OutboxRelayResult extends SendRateResult {
  profile: RelayProfile;
  /** Rows still in kafka_outbox afterwards (0 when the relay drained it). */
  left: number;
}

/** Times the produce requests a client's producers make, leaving them otherwise as they are. */
function timedClient(client: KafkaClientPort, onProduce: (ms: number) => void): KafkaClientPort {
  return {
    admin: () => client.admin(),
    consumer: (config) => client.consumer(config),
    producer: (config) => {
      const producer = client.producer(config);
      const timed: KafkaProducerPort = {
        connect: () => producer.connect(),
        disconnect: () => producer.disconnect(),
        send: async (batches) => {
          const started = performance.now();
          try {
            return await producer.send(batches);
          } finally {
            onProduce(performance.now() - started);
          }
        },
      };
      return timed;
    },
  };
}

export async function outboxRelayArm(options: OutboxRelayArmOptions): Promise<OutboxRelayResult> {
  quietNestLogger();
  const { brokers, security } = kafkaConnection();
  const clientId = 'bench-outbox-relay';
  let produceMs = 0;
  const client = timedClient(new KafkajsClient({ brokers, clientId, security }), (ms) => (produceMs += ms));
  const publisher = new KafkaPublisher(client, { brokers, clientId, security });
  const db = await openBenchDatabase(options.url);
  let deleted = 0;
  let finishedAt = 0;
  let publishMs = 0;
  let finished!: () => void;
  const drained = new Promise<void>((resolve) => (finished = resolve));
  // Taken when the last row is deleted: the idle polls that follow are not part of the drain.
  let snapshot: { statements: StatementTimes; publishMs: number; produceMs: number } | undefined;
  const claimMs: number[] = [];
  const timed = timedDatabase(db, relayStatementKind, (kind, result, endedAt, ms) => {
    if (kind === 'claim' && result.rowCount > 0) claimMs.push(ms);
    if (kind !== 'delete') return;
    deleted += result.rowCount;
    if (deleted >= options.expected && finishedAt === 0) {
      finishedAt = endedAt;
      snapshot = { statements: structuredClone(timed.times), publishMs, produceMs };
      finished();
    }
  });
  const relay = new OutboxRelay(
    timed.db,
    async (topic, records) => {
      const started = performance.now();
      try {
        return await publisher.sendRecords(topic, records);
      } finally {
        publishMs += performance.now() - started;
      }
    },
    { ...OUTBOX_RELAY_DEFAULTS, batchSize: options.batchSize, pollIntervalMs: options.pollIntervalMs },
  );
  try {
    // Unmeasured: the producer connects and learns the topic's metadata, as a running service's has.
    await publisher.sendRecords(options.topic, [{ key: null, value: '{"warmup":true}' }]);
    produceMs = 0;
    const stall = setTimeout(() => finished(), 120_000);
    const started = performance.now();
    relay.start();
    await drained;
    clearTimeout(stall);
    if (!snapshot) throw new Error(`relay stalled: ${deleted}/${options.expected} rows published`);
    const { statements } = snapshot;
    const ms = (kind: string) => statements[kind]?.ms ?? 0;
    const total = finishedAt - started;
    const profile: RelayProfile = {
      rounds: statements.delete?.count ?? 0,
      ms: {
        claim: ms('claim'),
        publish: snapshot.publishMs,
        produce: snapshot.produceMs,
        delete: ms('delete'),
        other: total - ms('claim') - snapshot.publishMs - ms('delete'),
      },
      statements,
      claimMsFirst10: mean(claimMs.slice(0, 10)),
      claimMsLast10: mean(claimMs.slice(-10)),
    };
    return {
      records: deleted,
      seconds: total / 1000,
      recordsPerSec: deleted / (total / 1000),
      left: await outboxCount(db),
      profile,
    };
  } finally {
    await relay.stop();
    await publisher.onApplicationShutdown();
    await db.close();
  }
}

runAsChild(module, outboxRelayArm);
