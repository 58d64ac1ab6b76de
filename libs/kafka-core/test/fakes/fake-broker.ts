import { OutgoingRecord, ProduceError, RecordMetadata } from '@app/kafka-core/client/kafka-client.port';

export interface Request {
  topic: string;
  ids: string[];
  ok: boolean;
}

/**
 * A scripted stand-in for the relay's send function that keeps what a broker would hold: per
 * partition, the event ids in the order they were written. Like Kafka, a request writes each
 * partition's records as one batch, all or nothing; a refused record spoils its partition's batch
 * only, and the other partitions of the request are written.
 */
export class FakeBroker {
  readonly logs = new Map<string, string[]>();
  readonly requests: Request[] = [];
  /** Event ids the broker refuses (say, too large). */
  readonly refuse = new Set<string>();
  /** Whether a partly refused request says which records were written (ProduceError.written). */
  reportWritten = true;
  /** A broker that cannot be reached: every request fails as retriable, nothing written. */
  unreachable = false;
  /** Requests that never answer. */
  hanging = false;
  /** Runs before each request is answered (a test's fault injection). */
  beforeAnswer?: (request: Request) => void | Promise<void>;

  constructor(private readonly partitionOf: (topic: string, key: string | null) => number = () => 0) {}

  readonly send = async (topic: string, records: OutgoingRecord[]): Promise<RecordMetadata[]> => {
    const ids = records.map((r) => r.headers?.['event-id'] ?? '');
    const request: Request = { topic, ids, ok: false };
    this.requests.push(request);
    await new Promise((resolve) => setImmediate(resolve));
    if (this.hanging) await new Promise<never>(() => undefined);
    await this.beforeAnswer?.(request);
    if (this.unreachable) throw new ProduceError('KafkaJSConnectionError: Connection error', true);
    const partitions = records.map((r) => this.partitionOf(topic, r.key == null ? null : String(r.key)));
    const refused = new Set(partitions.filter((_, i) => this.refuse.has(ids[i])));
    const written = records.map((_, i): RecordMetadata | undefined => {
      if (refused.has(partitions[i])) return undefined;
      const log = this.log(topic, partitions[i]);
      log.push(ids[i]);
      return { topic, partition: partitions[i], offset: String(log.length - 1) };
    });
    if (refused.size === 0) {
      request.ok = true;
      return written as RecordMetadata[];
    }
    throw new ProduceError(
      'KafkaJSProtocolError: The request included a message larger than the max message size the server will accept',
      false,
      this.reportWritten ? { written: [written] } : undefined,
    );
  };

  log(topic: string, partition: number): string[] {
    const name = `${topic}:${partition}`;
    if (!this.logs.has(name)) this.logs.set(name, []);
    return this.logs.get(name) as string[];
  }
}
