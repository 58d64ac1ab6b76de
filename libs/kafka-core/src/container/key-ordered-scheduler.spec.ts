import { KeyOrderedScheduler } from './key-ordered-scheduler';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Deterministic pseudo-random numbers (mulberry32), so a failure reproduces. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('KeyOrderedScheduler', () => {
  it('runs the tasks of one key strictly in submission order, never overlapping, under random delays', async () => {
    const scheduler = new KeyOrderedScheduler(4);
    const random = seeded(7);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const started = new Map<string, number[]>();
    const runningPerKey = new Map<string, number>();
    let overlapped = false;
    const results: Promise<string>[] = [];
    const submitted = new Map<string, number[]>();
    const expected: string[] = [];

    for (let i = 0; i < 150; i++) {
      const key = keys[Math.floor(random() * keys.length)];
      const delay = Math.floor(random() * 4);
      submitted.set(key, [...(submitted.get(key) ?? []), i]);
      expected.push(`${key}${i}`);
      results.push(
        scheduler.submit(key, async () => {
          if ((runningPerKey.get(key) ?? 0) > 0) overlapped = true;
          runningPerKey.set(key, (runningPerKey.get(key) ?? 0) + 1);
          started.set(key, [...(started.get(key) ?? []), i]);
          await sleep(delay);
          runningPerKey.set(key, (runningPerKey.get(key) ?? 0) - 1);
          return `${key}${i}`;
        }),
      );
    }

    const values = await Promise.all(results);
    expect(values).toEqual(expected);
    expect(overlapped).toBe(false);
    expect(started).toEqual(submitted);
  });

  it('runs different keys concurrently up to maxInFlight, and queues the rest', async () => {
    const scheduler = new KeyOrderedScheduler(4);
    const gates = Array.from({ length: 10 }, () => deferred());
    let concurrent = 0;
    let maxConcurrent = 0;
    const done = gates.map((gate, i) =>
      scheduler.submit(`key-${i}`, async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await gate.promise;
        concurrent--;
      }),
    );

    expect(scheduler.running).toBe(4);
    expect(scheduler.queued).toBe(6);
    gates[0].resolve();
    await flush();
    expect(scheduler.running).toBe(4);
    expect(scheduler.queued).toBe(5);
    gates.forEach((gate) => gate.resolve());
    await Promise.all(done);
    expect(maxConcurrent).toBe(4);
    expect(scheduler.running).toBe(0);
    expect(scheduler.queued).toBe(0);
  });

  it('never exceeds maxInFlight under a random mix of keyed and null-key tasks', async () => {
    const scheduler = new KeyOrderedScheduler(3);
    const random = seeded(42);
    let concurrent = 0;
    let maxConcurrent = 0;
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 120; i++) {
      const key = random() < 0.3 ? null : `k${Math.floor(random() * 8)}`;
      const delay = Math.floor(random() * 3);
      all.push(
        scheduler.submit(key, async () => {
          concurrent++;
          maxConcurrent = Math.max(maxConcurrent, concurrent);
          expect(scheduler.running).toBeLessThanOrEqual(3);
          await sleep(delay);
          concurrent--;
        }),
      );
    }
    await Promise.all(all);
    expect(maxConcurrent).toBe(3);
  });

  it('keeps one key ordered while its tasks wait behind a full scheduler', async () => {
    const scheduler = new KeyOrderedScheduler(1);
    const order: string[] = [];
    const gate = deferred();
    const all = [
      scheduler.submit('a', async () => {
        order.push('a1');
        await gate.promise;
      }),
      scheduler.submit('a', async () => {
        order.push('a2');
      }),
      scheduler.submit('b', async () => {
        order.push('b1');
      }),
      scheduler.submit('a', async () => {
        order.push('a3');
      }),
    ];
    gate.resolve();
    await Promise.all(all);
    // b1 was eligible while a1 ran; a2 only became eligible when a1 finished.
    expect(order).toEqual(['a1', 'b1', 'a2', 'a3']);
  });

  it('hands free slots to tasks in the order they became eligible', async () => {
    const scheduler = new KeyOrderedScheduler(2);
    const order: string[] = [];
    const gates = { a1: deferred(), b1: deferred() };
    const task = (name: string, gate?: Deferred<void>) => async () => {
      order.push(name);
      await gate?.promise;
    };
    const all = [
      scheduler.submit('a', task('a1', gates.a1)),
      scheduler.submit('b', task('b1', gates.b1)),
      scheduler.submit('a', task('a2')),
      scheduler.submit('c', task('c1')),
      scheduler.submit('d', task('d1')),
    ];
    expect(order).toEqual(['a1', 'b1']);
    gates.b1.resolve();
    await flush();
    // c1 queued before d1; a2 still waits for a1.
    expect(order).toEqual(['a1', 'b1', 'c1', 'd1']);
    gates.a1.resolve();
    await Promise.all(all);
    expect(order).toEqual(['a1', 'b1', 'c1', 'd1', 'a2']);
  });

  it('does not let a failing task block its key, and rejects only its own submitter', async () => {
    const scheduler = new KeyOrderedScheduler(2);
    const order: string[] = [];
    const first = scheduler.submit('k', async () => {
      order.push('first');
      throw new Error('first failed');
    });
    const second = scheduler.submit('k', () => {
      order.push('second');
      throw new Error('second threw synchronously');
    });
    const third = scheduler.submit('k', async () => {
      order.push('third');
      return 3;
    });
    await expect(first).rejects.toThrow('first failed');
    await expect(second).rejects.toThrow('second threw synchronously');
    await expect(third).resolves.toBe(3);
    expect(order).toEqual(['first', 'second', 'third']);
    await scheduler.idle();
    expect(scheduler.running).toBe(0);
  });

  it('leaves no unhandled rejection behind a failed task', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const scheduler = new KeyOrderedScheduler(1);
      const failed = scheduler.submit('k', async () => {
        throw new Error('boom');
      });
      await expect(failed).rejects.toThrow('boom');
      await scheduler.submit('k', async () => undefined);
      await scheduler.idle();
      await flush();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('runs null-key tasks in parallel, without ordering among them', async () => {
    const scheduler = new KeyOrderedScheduler(3);
    const gates = [deferred(), deferred(), deferred()];
    const finished: number[] = [];
    const all = gates.map((gate, i) =>
      scheduler.submit(null, async () => {
        await gate.promise;
        finished.push(i);
      }),
    );
    expect(scheduler.running).toBe(3);
    gates[2].resolve();
    await flush();
    expect(finished).toEqual([2]);
    gates[0].resolve();
    gates[1].resolve();
    await Promise.all(all);
    expect(finished).toEqual([2, 0, 1]);
  });

  it('idle() resolves at once when empty, else once everything ran', async () => {
    const scheduler = new KeyOrderedScheduler(1);
    await expect(scheduler.idle()).resolves.toBeUndefined();

    const gate = deferred();
    const ran: string[] = [];
    void scheduler.submit('a', async () => {
      await gate.promise;
      ran.push('a');
    });
    void scheduler.submit('b', async () => {
      ran.push('b');
    });
    let idle = false;
    const waiting = scheduler.idle().then(() => {
      idle = true;
    });
    await flush();
    expect(idle).toBe(false);
    expect(scheduler.queued).toBe(1);
    gate.resolve();
    await waiting;
    expect(ran).toEqual(['a', 'b']);
    expect(scheduler.running).toBe(0);
    expect(scheduler.queued).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxInFlight %p', (max) => {
    expect(() => new KeyOrderedScheduler(max)).toThrow(RangeError);
  });
});
