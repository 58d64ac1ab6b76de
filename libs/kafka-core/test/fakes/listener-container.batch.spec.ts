import { Handler, InboundMessage, Outcome } from '@app/kafka-core/pipeline/pipeline';
import { FakeKafkaClient } from './fake-kafka-client';
import { append, ContainerHarness, valueOf } from './listener-container.harness';

/** Loaded when first used, so that each test names what it misses on code without it. */
function batchFailed(index: number, cause: Error): Error {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { BatchListenerFailedError } = require('@app/kafka-core/errors/batch-listener-failed.error');
  return new BatchListenerFailedError(index, cause);
}

/**
 * Item 5: a batch listener's batch goes through one pipeline (settings.batchPipeline, the runtime's
 * pipeline without the dead-letter step); a failure naming its record commits what precedes it,
 * retries or dead-letters that record alone and redelivers the rest. A stop during the backoff
 * stops; a dead-letter write failure resumes at the attempt the record had.
 */
describe('ListenerContainer batch listener', () => {
  let h: ContainerHarness;
  /** Each call of the batch pipeline: its records' values and the attempt. */
  let batches: string[];
  afterEach(async () => {
    await h.stopAll();
    expect(h.fake.batchErrors).toEqual([]);
  });

  function setup(count: number) {
    const fake = new FakeKafkaClient({ maxBatchSize: 5 }).createTopic('t', 1);
    h = new ContainerHarness(fake);
    batches = [];
    append(
      fake,
      0,
      Array.from({ length: count }, (_, i): [string, string] => [`k${i}`, `v${i}`]),
    );
    return fake;
  }

  /** The batch pipeline: logs the call, then `decide` answers for the records' values. */
  const batchPipeline =
    (decide: (values: string[], message: InboundMessage) => Outcome): Handler =>
    async (message) => {
      const values = (message.records ?? [message.record]).map(valueOf);
      batches.push(`${values.join(',')}@${message.attempt}`);
      return decide(values, message);
    };
  // The record pipeline a batch listener must not use.
  const unused = () => h.pipeline('record pipeline', async () => ({ status: 'success' }));
  const committedOffsets = () =>
    h.fake.commits.filter((c) => c.outcome === 'committed').flatMap((c) => c.offsets.map((o) => o.offset));

  it('commits the records before a named failure, retries then dead-letters that record alone, redelivers the rest', async () => {
    const fake = setup(5);
    const cause = new Error('v2 is bad');
    const container = h.container({ id: 'batch', batch: true }, unused(), {
      batchPipeline: batchPipeline((values, message) => {
        const index = values.indexOf('v2');
        if (index < 0) return { status: 'success' };
        if (message.attempt === 1) return { status: 'retry', delayMs: 100, error: batchFailed(index, cause) };
        throw batchFailed(index, cause);
      }),
    });
    await container.start();

    await fake.waitFor(() => h.committed(0) === '5', { what: 'the batch committed to its end' });
    expect(batches).toEqual(['v0,v1,v2,v3,v4@1', 'v2,v3,v4@2', 'v3,v4@1']);
    expect(h.deadLetters).toEqual([{ value: 'v2', offset: '2', attempt: 2, error: 'v2 is bad' }]);
    // v0 and v1 committed before v2's retry; v2 once dead-lettered; the rest after their own delivery.
    expect(committedOffsets()).toEqual(['2', '3', '5']);
    expect(h.calls).toEqual([]);
    expect(container.status().counters).toMatchObject({ processed: 4, deadLettered: 1, retried: 1 });
  });

  it('stops promptly during a backoff: nothing dead-lettered, the failing record uncommitted for the next owner', async () => {
    const fake = setup(5);
    const cause = new Error('v1 is bad');
    const failing = batchPipeline((values) =>
      values.includes('v1')
        ? { status: 'retry', delayMs: 3_000, error: batchFailed(values.indexOf('v1'), cause) }
        : { status: 'success' },
    );
    const container = h.container({ id: 'batch', batch: true }, unused(), { batchPipeline: failing });
    await container.start();
    await fake.waitFor(() => h.committed(0) === '1', { what: 'v0 committed before the backoff' });

    const started = Date.now();
    await container.stop();
    expect(Date.now() - started).toBeLessThan(300);
    expect(batches).toEqual(['v0,v1,v2,v3,v4@1']);
    expect(h.deadLetters).toEqual([]);
    expect(h.committed(0)).toBe('1');

    // The next owner reads from v1, at its first attempt.
    const next = h.container({ id: 'next', batch: true }, unused(), {
      batchPipeline: batchPipeline(() => ({ status: 'success' })),
    });
    await next.start();
    await fake.waitFor(() => h.committed(0) === '5', { what: 'the next owner to commit the rest' });
    expect(batches).toEqual(['v0,v1,v2,v3,v4@1', 'v1,v2,v3,v4@1']);
    expect(h.deadLetters).toEqual([]);
  });

  it('after a dead-letter write failure, tries the record again at the attempt it had', async () => {
    const fake = setup(3);
    const cause = new Error('v1 is bad');
    let deadLetterCalls = 0;
    const container = h.container({ id: 'batch', batch: true }, unused(), {
      recoveryDelayMs: 100,
      batchPipeline: batchPipeline((values, message) => {
        const index = values.indexOf('v1');
        if (index < 0) return { status: 'success' };
        if (message.attempt === 1) return { status: 'retry', delayMs: 50, error: batchFailed(index, cause) };
        throw batchFailed(index, cause);
      }),
      deadLetter: async (message, error) => {
        h.deadLetters.push({
          value: valueOf(message.record),
          offset: message.record.offset,
          attempt: message.attempt,
          error: error.message,
        });
        if (++deadLetterCalls === 1) throw new Error('dead-letter topic unavailable');
        return { status: 'dead-lettered', error, topic: 't-dlq' };
      },
    });
    await container.start();

    await fake.waitFor(() => h.committed(0) === '3', { what: 'every record done' });
    expect(batches).toEqual(['v0,v1,v2@1', 'v1,v2@2', 'v1,v2@2', 'v2@1']);
    expect(h.deadLetters).toEqual([
      { value: 'v1', offset: '1', attempt: 2, error: 'v1 is bad' },
      { value: 'v1', offset: '1', attempt: 2, error: 'v1 is bad' },
    ]);
    expect(committedOffsets()).toEqual(['1', '2', '3']);
  });
});
