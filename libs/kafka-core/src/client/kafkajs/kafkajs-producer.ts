import { CompressionTypes, ICustomPartitioner, Message, Partitioners, Producer } from 'kafkajs';
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
function produceError(error: Error & { retriable?: boolean; originalError?: Error }): ProduceError {
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
      throw produceError(error as Error);
    }
    const base = new Map<string, bigint>();
    for (const w of written) base.set(`${w.topicName}:${w.partition}`, BigInt(w.baseOffset ?? '-1'));
    // Records of one partition are written in the order given, so each gets the next offset.
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
