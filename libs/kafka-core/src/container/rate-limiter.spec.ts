import { RateLimiter } from './rate-limiter';

/** A clock that only moves when the limiter sleeps, or when the test says so. */
function fakeTime(start = 1_000_000) {
  const time = {
    now: start,
    sleeps: [] as number[],
    clock: () => time.now,
    sleep: async (ms: number) => {
      time.sleeps.push(ms);
      time.now += ms;
    },
  };
  return time;
}

/** Lets every pending promise callback run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RateLimiter', () => {
  it('lets a full burst through without waiting', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter(10, 3, time.clock, time.sleep);
    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    expect(time.sleeps).toEqual([]);
  });

  it('resolves without sleeping when a token is available', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter(5, 1, time.clock, time.sleep);
    let acquired = false;
    void limiter.acquire().then(() => {
      acquired = true;
    });
    await flush();
    expect(acquired).toBe(true);
    expect(time.sleeps).toEqual([]);
  });

  it('waits exactly one token interval once the bucket is empty', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter(10, 2, time.clock, time.sleep);
    await limiter.acquire();
    await limiter.acquire();
    const before = time.now;
    await limiter.acquire();
    expect(time.sleeps).toEqual([100]);
    expect(time.now - before).toBe(100);
  });

  it('waits only for the missing part of a token', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter(4, 1, time.clock, time.sleep);
    await limiter.acquire();
    time.now += 100; // 0.4 of a token at 4 per second
    await limiter.acquire();
    expect(time.sleeps).toEqual([150]);
  });

  it('refills up to the burst size only', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter(10, 2, time.clock, time.sleep);
    await limiter.acquire();
    await limiter.acquire();
    time.now += 60_000;
    await limiter.acquire();
    await limiter.acquire();
    expect(time.sleeps).toEqual([]);
    await limiter.acquire();
    expect(time.sleeps).toEqual([100]);
  });

  it('defaults the burst to one second of tokens', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter(5, undefined, time.clock, time.sleep);
    for (let i = 0; i < 5; i++) await limiter.acquire();
    expect(time.sleeps).toEqual([]);
    await limiter.acquire();
    expect(time.sleeps).toEqual([200]);
  });

  it('serves concurrent acquirers one at a time in call order, at the configured rate', async () => {
    const time = fakeTime(0);
    const limiter = new RateLimiter(2, 1, time.clock, time.sleep);
    const grantedAt: [number, number][] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) => limiter.acquire().then(() => grantedAt.push([i, time.now]))),
    );
    expect(grantedAt).toEqual([
      [0, 0],
      [1, 500],
      [2, 1000],
      [3, 1500],
      [4, 2000],
    ]);
  });

  it('does not let a later caller overtake one that is waiting', async () => {
    const time = fakeTime(0);
    const wakeups: (() => void)[] = [];
    const manualSleep = (ms: number) =>
      new Promise<void>((resolve) =>
        wakeups.push(() => {
          time.now += ms;
          resolve();
        }),
      );
    const limiter = new RateLimiter(1, 1, time.clock, manualSleep);
    const order: string[] = [];
    await limiter.acquire();
    const waiting = limiter.acquire().then(() => order.push('first waiter'));
    await flush();
    expect(wakeups).toHaveLength(1);
    // A token becomes due while the first waiter still sleeps; the newcomer must queue anyway.
    time.now += 1000;
    const later = limiter.acquire().then(() => order.push('later caller'));
    await flush();
    expect(order).toEqual([]);
    wakeups[0]();
    await waiting;
    await flush();
    expect(order).toEqual(['first waiter']);
    // The bucket holds one token at most, so the later caller waits a full interval after it.
    expect(wakeups).toHaveLength(2);
    wakeups[1]();
    await later;
    expect(order).toEqual(['first waiter', 'later caller']);
  });

  it('gains no tokens when the clock steps backwards', async () => {
    const time = fakeTime(10_000);
    const limiter = new RateLimiter(10, 1, time.clock, time.sleep);
    await limiter.acquire();
    time.now -= 5000;
    await limiter.acquire();
    expect(time.sleeps).toEqual([100]);
  });

  it('uses real time and timers by default', async () => {
    jest.useFakeTimers();
    try {
      const limiter = new RateLimiter(10, 1);
      await limiter.acquire();
      let acquired = false;
      void limiter.acquire().then(() => {
        acquired = true;
      });
      await jest.advanceTimersByTimeAsync(99);
      expect(acquired).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(acquired).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it.each([
    [0, 1],
    [-1, 1],
    [Infinity, 1],
    [Number.NaN, 1],
    [10, 0.5],
    [10, Infinity],
  ])('refuses perSecond %p with burst %p', (perSecond, burst) => {
    expect(() => new RateLimiter(perSecond, burst)).toThrow(RangeError);
  });
});
