import { ConsumedRecord } from '@app/kafka-core/client/kafka-client.port';
import { ContainerSettings, ListenerContainer } from '@app/kafka-core/container/listener-container';
import { KafkaListenerOptions } from '@app/kafka-core/decorators/kafka-listener.decorator';
import { defineListener, Invoker, ListenerRoute } from '@app/kafka-core/discovery/listener-definition';
import { Handler, InboundMessage, Outcome } from '@app/kafka-core/pipeline/pipeline';
import { FakeKafkaClient } from './fake-kafka-client';

/** One pipeline call as a test sees it: which record, which attempt, when it started and ended. */
export interface Call {
  /** The record's value (tests write short unique strings). */
  value: string;
  key: string | null;
  partition: number;
  offset: string;
  attempt: number;
  /** Which container made the call (the listener id). */
  by: string;
  at: number;
  end?: number;
  message: InboundMessage;
}

export interface DeadLetterCall {
  value: string;
  offset: string;
  attempt: number;
  error: string;
}

/** A promise the test resolves: a handler that is "still working" until released. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

export const valueOf = (record: ConsumedRecord) => record.value?.toString() ?? '';

/**
 * The real ListenerContainer on the fake client with a scripted pipeline: every call is logged
 * (start and end), dead letters are logged, and every container built is stopped by `stopAll`.
 */
export class ContainerHarness {
  readonly calls: Call[] = [];
  readonly deadLetters: DeadLetterCall[] = [];
  /** Batch listeners on code without `batchPipeline`: calls of the route itself. */
  readonly routeCalls: unknown[] = [];
  readonly containers: ListenerContainer[] = [];

  constructor(readonly fake: FakeKafkaClient) {}

  /** Wraps `decide` so that each call is logged; `decide` returns or throws the outcome. */
  pipeline(by: string, decide: (message: InboundMessage, call: Call) => Promise<Outcome> | Outcome): Handler {
    return async (message) => {
      const record = message.record;
      const call: Call = {
        value: valueOf(record),
        key: record.key?.toString() ?? null,
        partition: record.partition,
        offset: record.offset,
        attempt: message.attempt,
        by,
        at: Date.now(),
        message,
      };
      this.calls.push(call);
      try {
        return await decide(message, call);
      } finally {
        call.end = Date.now();
      }
    };
  }

  container(
    options: KafkaListenerOptions & { id: string },
    pipeline: Handler,
    settings: Partial<ContainerSettings> = {},
    /** The user's method, for pipelines ending in the real invokeHandler. */
    invoke?: Invoker,
  ): ListenerContainer {
    const route: ListenerRoute = {
      methodName: 'handle',
      isDefault: true,
      invoke: invoke ?? (async (payload) => void this.routeCalls.push(payload)),
    };
    const definition = defineListener(
      { topics: ['t'], groupId: 'g', fromBeginning: true, commitIntervalMs: 50, ...options },
      {},
      'Test.handle',
      [route],
      false,
    );
    const container = new ListenerContainer(definition, this.fake, pipeline, {
      shutdownTimeoutMs: 1_000,
      recoveryDelayMs: 100,
      deadLetter: async (message, error) => {
        this.deadLetters.push({
          value: valueOf(message.record),
          offset: message.record.offset,
          attempt: message.attempt,
          error: error.message,
        });
        return { status: 'dead-lettered', error, topic: 't-dlq' };
      },
      ...settings,
    });
    this.containers.push(container);
    return container;
  }

  /** Calls of the records with this value, as attempt numbers. */
  attempts(value: string): number[] {
    return this.calls.filter((c) => c.value === value).map((c) => c.attempt);
  }

  handled(value: string): boolean {
    return this.calls.some((c) => c.value === value);
  }

  /** Values in call order, of one key. */
  sequence(key: string): string[] {
    return this.calls.filter((c) => c.key === key).map((c) => `${c.value}@${c.attempt}`);
  }

  committed(partition: number, topic = 't', groupId = 'g'): string | undefined {
    return this.fake.committed(groupId, topic, partition);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.containers.map((c) => c.stop()));
  }
}

/** Appends records with values `v` and keys `k` to one partition. */
export function append(fake: FakeKafkaClient, partition: number, records: [key: string, value: string][]) {
  return fake.append(
    't',
    partition,
    records.map(([key, value]) => ({ key, value })),
  );
}
