import { CompressionTypes, ICustomPartitioner, Message, Partitioners, Producer } from 'kafkajs';
import { asAuthorizationFailure } from '../../errors/kafka-access.errors';
import { KafkaProducerPort, ProduceError, RecordMetadata, TopicRecords } from '../kafka-client.port';

/**
 * Remembers the partition kafkajs chose for each message, so the per-partition base offsets of the
 * response can be turned into one offset per record. A message keeps its first partition when a
 * request is retried, so a keyless record cannot move to another partition between attempts.
 */
export function recordingPartitioner(chosen: WeakMap<Message, number>): ICustomPartitioner {
  return () => {
    const partition = Partitioners.DefaultPartitioner();
    return (args) => {
      const known = chosen.get(args.message);
      if (known !== undefined) return known;
      const value = partition(args);
      chosen.set(args.message, value);
      return value;
    };
  };
}

/**
 * kafkajs retries retriable errors itself and then reports "retries exceeded", which it flags as not
 * retriable; for the caller that still means the broker was unreachable, so try again later.
 */
function produceError(
  error: Error & { retriable?: boolean; originalError?: Error },
  principal: string,
  topics: string[],
): ProduceError {
  const refused = asAuthorizationFailure(error, principal, 'Write', { topics });
  if (refused !== error) return new ProduceError((refused as Error).message, false, { cause: refused });
  const cause = error.originalError ?? error;
  const retriable =
    error.retriable === true ||
    error.name === 'KafkaJSNumberOfRetriesExceeded' ||
    (cause as { retriable?: boolean }).retriable === true;
  return new ProduceError(`${cause.name}: ${cause.message}`, retriable, { cause: error });
}

/** Idempotent produce requests (acks=all) returning each record's offset. */
export class KafkajsProducer implements KafkaProducerPort {
  constructor(
    private readonly producer: Producer,
    private readonly chosen: WeakMap<Message, number>,
    private readonly compression: CompressionTypes,
    private readonly principal = 'ANONYMOUS',
  ) {}

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(batches: TopicRecords[]): Promise<RecordMetadata[][]> {
    const topicMessages = batches.map(({ topic, records }) => ({
      topic,
      messages: records.map((r): Message => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        partition: r.partition,
      })),
    }));
    let written: Awaited<ReturnType<Producer['sendBatch']>>;
    try {
      written = await this.producer.sendBatch({ acks: -1, compression: this.compression, topicMessages });
    } catch (error) {
      const topics = [...new Set(topicMessages.map((t) => t.topic))];
      const failure = produceError(error as Error, this.principal, topics);
      if (failure.retriable) throw failure;
      throw new ProduceError(failure.message, false, {
        cause: failure.cause ?? error,
        written: await this.writtenDespite(topicMessages),
      });
    }
    return this.offsets(topicMessages, written);
  }

  /**
   * kafkajs reports one partition's refusal for the whole request, though the broker wrote the other
   * partitions, and rolls the sequence numbers of all of them back. Sending each partition's records
   * again, alone and at once, with the same producer: a batch the broker already has comes back as a
   * duplicate with its original offsets (the idempotent producer's sequence check); the refused one
   * is refused again. So each record is known written or not, and the sequences are in step again.
   */
  private async writtenDespite(topicMessages: { topic: string; messages: Message[] }[]) {
    const result = topicMessages.map(({ messages }) =>
      messages.map((): RecordMetadata | undefined => undefined),
    );
    for (const [t, { topic, messages }] of topicMessages.entries()) {
      const byPartition = new Map<number, number[]>();
      messages.forEach((message, i) => {
        const partition = message.partition ?? this.chosen.get(message);
        if (partition === undefined) return;
        byPartition.set(partition, [...(byPartition.get(partition) ?? []), i]);
      });
      for (const indexes of byPartition.values()) {
        const alone = [{ topic, messages: indexes.map((i) => messages[i]) }];
        try {
          const sent = await this.producer.sendBatch({
            acks: -1,
            compression: this.compression,
            topicMessages: alone,
          });
          this.offsets(alone, sent)[0].forEach((metadata, j) => (result[t][indexes[j]] = metadata));
        } catch {
          // Refused (or unreachable) again: not written.
        }
      }
    }
    return result;
  }

  /** Records of one partition are written in the order given, so each gets the next offset. */
  private offsets(
    topicMessages: { topic: string; messages: Message[] }[],
    written: Awaited<ReturnType<Producer['sendBatch']>>,
  ): RecordMetadata[][] {
    const base = new Map<string, bigint>();
    for (const w of written) base.set(`${w.topicName}:${w.partition}`, BigInt(w.baseOffset ?? '-1'));
    const next = new Map<string, bigint>();
    return topicMessages.map(({ topic, messages }) =>
      messages.map((message) => {
        const partition = message.partition ?? this.chosen.get(message) ?? -1;
        const key = `${topic}:${partition}`;
        const offset = next.get(key) ?? base.get(key) ?? -1n;
        next.set(key, offset + 1n);
        return { topic, partition, offset: offset.toString() };
      }),
    );
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}
