import { KafkaProducerPort, OutgoingRecord, RecordMetadata, TopicRecords } from '../client/kafka-client.port';
import { AccumulatorOptions, PublishTimeoutError, RecordAccumulator } from './record-accumulator';

interface Request {
  batches: TopicRecords[];
  /** Acknowledges the request: every record gets the next offset of its topic's log. */
  succeed(): void;
  fail(error: Error): void;
}

/**
 * A producer that keeps one log per topic (partition 0) and answers each request only when the test
 * says so (or at once with `autoAck`), so the accumulator's request boundaries can be observed.
 */
class FakeProducer implements KafkaProducerPort {
  readonly requests: Request[] = [];
  readonly logs = new Map<string, OutgoingRecord[]>();
  autoAck = false;

  connect(): Promise<void> {
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    return Promise.resolve();
  }

  send(batches: TopicRecords[]): Promise<RecordMetadata[][]> {
    return new Promise((resolve, reject) => {
      const request: Request = {
        batches,
        succeed: () =>
          resolve(
            batches.map(({ topic, records }) => {
              const log = this.logs.get(topic) ?? [];
              this.logs.set(topic, log);
              return records.map((record) => {
                log.push(record);
                return { topic, partition: 0, offset: String(log.length - 1) };
              });
            }),
          ),
        fail: reject,
      };
      this.requests.push(request);
      if (this.autoAck) request.succeed();
    });
  }

  /** The records each request carried, as their values, topic by topic. */
  requestValues(): string[][] {
    return this.requests.map((r) => r.batches.flatMap((b) => b.records.map((rec) => String(rec.value))));
  }

  /** The record the broker would return at this position. */
  at(metadata: RecordMetadata): OutgoingRecord | undefined {
    return this.logs.get(metadata.topic)?.[Number(metadata.offset)];
  }
}

const records = (...values: string[]): OutgoingRecord[] => values.map((value) => ({ key: null, value }));

/** Lets timers of 0 ms, immediates and promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

const until = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !condition(); i++) await settle();
  if (!condition()) throw new Error('condition not met');
};

describe('RecordAccumulator', () => {
  let producer: FakeProducer;
  const accumulator = (options: Partial<AccumulatorOptions> = {}) =>
    new RecordAccumulator(() => Promise.resolve(producer), {
      lingerMs: 0,
      maxBatchRecords: 1_000,
      requestTimeoutMs: 10_000,
      ...options,
    });

  beforeEach(() => {
    producer = new FakeProducer();
  });

  it.each([0, 5])(
    'sends appends made in one turn as one request, in call order (lingerMs %i)',
    async (lingerMs) => {
      producer.autoAck = true;
      const acc = accumulator({ lingerMs });
      const sends = Array.from({ length: 10 }, (_, i) => acc.append('t', records(`v${i}`)));
      const results = await Promise.all(sends);
      expect(producer.requestValues()).toEqual([Array.from({ length: 10 }, (_, i) => `v${i}`)]);
      expect(acc.stats).toEqual({ requests: 1, records: 10 });
      results.forEach(([metadata], i) => expect(producer.at(metadata)?.value).toBe(`v${i}`));
    },
  );

  it('holds appends made while a request is in flight and sends them together in the next one', async () => {
    const acc = accumulator();
    const first = acc.append('t', records('a'));
    await until(() => producer.requests.length === 1);
    // Several turns pass while the first request is unanswered: nothing else may leave.
    const later = [acc.append('t', records('b'))];
    await settle();
    later.push(acc.append('t', records('c', 'd')));
    await settle();
    later.push(acc.append('u', records('e')));
    await settle();
    expect(producer.requests).toHaveLength(1);

    producer.requests[0].succeed();
    await expect(first).resolves.toEqual([{ topic: 't', partition: 0, offset: '0' }]);
    await until(() => producer.requests.length === 2);
    expect(producer.requestValues()[1]).toEqual(['b', 'c', 'd', 'e']);
    producer.requests[1].succeed();
    await expect(Promise.all(later)).resolves.toEqual([
      [{ topic: 't', partition: 0, offset: '1' }],
      [
        { topic: 't', partition: 0, offset: '2' },
        { topic: 't', partition: 0, offset: '3' },
      ],
      [{ topic: 'u', partition: 0, offset: '0' }],
    ]);
    expect(acc.stats).toEqual({ requests: 2, records: 5 });
  });

  it('gives each caller the metadata of exactly its own records when callers of several topics share a request', async () => {
    producer.autoAck = true;
    const acc = accumulator();
    const calls: [string, string[]][] = [
      ['orders', ['o1', 'o2']],
      ['payments', ['p1']],
      ['orders', ['o3']],
      ['audit', ['a1', 'a2', 'a3']],
      ['payments', ['p2', 'p3']],
      ['orders', ['o4', 'o5', 'o6']],
    ];
    const results = await Promise.all(calls.map(([topic, values]) => acc.append(topic, records(...values))));

    expect(producer.requests).toHaveLength(1);
    // One list per topic, records in the order of the calls.
    expect(producer.requests[0].batches.map((b) => [b.topic, b.records.map((r) => r.value)])).toEqual([
      ['orders', ['o1', 'o2', 'o3', 'o4', 'o5', 'o6']],
      ['payments', ['p1', 'p2', 'p3']],
      ['audit', ['a1', 'a2', 'a3']],
    ]);
    results.forEach((metadata, i) => {
      const [topic, values] = calls[i];
      expect(metadata).toHaveLength(values.length);
      expect(metadata.map((m) => m.topic)).toEqual(values.map(() => topic));
      expect(metadata.map((m) => producer.at(m)?.value)).toEqual(values);
    });
  });

  it('never splits one append larger than maxBatchRecords, but caps how many appends share a request', async () => {
    producer.autoAck = true;
    const acc = accumulator({ maxBatchRecords: 5 });
    const big = Array.from({ length: 12 }, (_, i) => `big${i}`);

    const [bigResult] = await Promise.all([acc.append('t', records(...big))]);
    expect(producer.requestValues()).toEqual([big]);
    expect(bigResult.map((m) => producer.at(m)?.value)).toEqual(big);

    const singles = Array.from({ length: 12 }, (_, i) => `s${i}`);
    await Promise.all(singles.map((value) => acc.append('t', records(value))));
    expect(producer.requestValues().slice(1)).toEqual([
      singles.slice(0, 5),
      singles.slice(5, 10),
      singles.slice(10),
    ]);

    // Queued singles leave first; the large append that would overflow their request goes alone.
    await Promise.all([
      acc.append('t', records('x0')),
      acc.append('t', records('x1')),
      acc.append('t', records(...big)),
      acc.append('t', records('y0')),
    ]);
    expect(producer.requestValues().slice(4)).toEqual([['x0', 'x1'], big, ['y0']]);
    expect(acc.stats).toEqual({ requests: 7, records: 12 + 12 + 15 });
  });

  it('rejects exactly the callers of a failed request; the next request still succeeds', async () => {
    const acc = accumulator();
    const failed = [acc.append('t', records('a')), acc.append('u', records('b', 'c'))];
    await until(() => producer.requests.length === 1);
    const next = [acc.append('t', records('d')), acc.append('t', records('e'))];
    await settle();

    const error = new Error('broker said no');
    producer.requests[0].fail(error);
    for (const send of failed) await expect(send).rejects.toBe(error);

    await until(() => producer.requests.length === 2);
    expect(producer.requestValues()[1]).toEqual(['d', 'e']);
    producer.requests[1].succeed();
    const [[d], [e]] = await Promise.all(next);
    expect(producer.at(d)?.value).toBe('d');
    expect(producer.at(e)?.value).toBe('e');

    producer.autoAck = true;
    const [f] = await acc.append('t', records('f'));
    expect(producer.at(f)?.value).toBe('f');
  });

  it('rejects a request with PublishTimeoutError when the broker does not answer within requestTimeoutMs', async () => {
    const acc = accumulator({ requestTimeoutMs: 50 });
    const sends = [acc.append('t', records('a', 'b')), acc.append('t', records('c'))];
    for (const send of sends) {
      const error = await send.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishTimeoutError);
      // Each caller learns about its own records.
      expect((error as Error).message).toMatch(/^[12] record\(s\) not acknowledged within 50 ms/);
    }
    // The unanswered request still counts as in flight: a second one now could overtake it.
    const later = acc.append('t', records('d'));
    await settle();
    expect(producer.requests).toHaveLength(1);
    producer.autoAck = true;
    producer.requests[0].succeed();
    const [d] = await later;
    expect(producer.requests).toHaveLength(2);
    expect(producer.at(d)?.value).toBe('d');
  });

  it('reports a failed request, so the producer can be replaced', async () => {
    const failures: string[] = [];
    const acc = new RecordAccumulator(
      () => Promise.resolve(producer),
      { lingerMs: 0, maxBatchRecords: 10, requestTimeoutMs: 1_000 },
      (error) => failures.push(error.message),
    );
    const sent = acc.append('t', records('a'));
    await settle();
    producer.requests[0].fail(new Error('MESSAGE_TOO_LARGE'));
    await expect(sent).rejects.toThrow('MESSAGE_TOO_LARGE');
    expect(failures).toEqual(['MESSAGE_TOO_LARGE']);
  });

  it('sends a full batch at once instead of waiting out a pending linger', async () => {
    producer.autoAck = true;
    const acc = accumulator({ lingerMs: 60_000, maxBatchRecords: 3 });
    const sends = [
      acc.append('t', records('a')),
      acc.append('t', records('b')),
      acc.append('t', records('c')),
    ];
    await settle();
    expect(producer.requestValues()).toEqual([['a', 'b', 'c']]);
    await Promise.all(sends);
  });

  it('counts connecting against requestTimeoutMs', async () => {
    const acc = new RecordAccumulator(() => new Promise<KafkaProducerPort>(() => undefined), {
      lingerMs: 0,
      maxBatchRecords: 10,
      requestTimeoutMs: 50,
    });
    await expect(acc.append('t', records('a'))).rejects.toBeInstanceOf(PublishTimeoutError);
  });

  it('rejects the callers when the producer cannot be obtained, and tries again on the next append', async () => {
    let connects = 0;
    const acc = new RecordAccumulator(
      () => (++connects === 1 ? Promise.reject(new Error('cannot connect')) : Promise.resolve(producer)),
      { lingerMs: 0, maxBatchRecords: 10, requestTimeoutMs: 1_000 },
    );
    producer.autoAck = true;
    await expect(acc.append('t', records('a'))).rejects.toThrow('cannot connect');
    const [b] = await acc.append('t', records('b'));
    expect(producer.at(b)?.value).toBe('b');
    expect(connects).toBe(2);
  });

  it('drain() sends what is lingering at once and waits until every queued record is acknowledged', async () => {
    // A linger far longer than the test: only drain() can make these records leave in time.
    const acc = accumulator({ lingerMs: 60_000 });
    const settled: string[] = [];
    const track = (name: string, send: Promise<RecordMetadata[]>) =>
      send.then(
        () => settled.push(name),
        () => settled.push(`${name} failed`),
      );

    const first = track('first', acc.append('t', records('a', 'b')));
    let drained = false;
    const draining = acc.drain().then(() => (drained = true));
    await until(() => producer.requests.length === 1);
    // Arrives during the drain, while the first request is in flight.
    const second = track('second', acc.append('t', records('c')));
    await settle();
    expect(drained).toBe(false);

    producer.requests[0].succeed();
    await until(() => producer.requests.length === 2);
    expect(drained).toBe(false);
    producer.requests[1].succeed();
    await draining;
    await Promise.all([first, second]);
    expect(settled).toEqual(['first', 'second']);
    expect(producer.requestValues()).toEqual([['a', 'b'], ['c']]);
  });

  it('drain() resolves at once when nothing is queued, and after a failed request', async () => {
    const acc = accumulator();
    await acc.drain();
    const failing = acc.append('t', records('a'));
    const draining = acc.drain();
    await until(() => producer.requests.length === 1);
    producer.requests[0].fail(new Error('down'));
    await expect(failing).rejects.toThrow('down');
    await draining;
  });
});
