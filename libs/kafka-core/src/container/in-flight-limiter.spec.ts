import { InFlightLimiter } from './in-flight-limiter';

/** Lets every pending promise callback run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('InFlightLimiter', () => {
  it('grants slots up to the maximum, then makes callers wait', async () => {
    const limiter = new InFlightLimiter(2);
    await limiter.acquire();
    await limiter.acquire();
    expect(limiter.inFlight).toBe(2);
    let granted = false;
    void limiter.acquire().then(() => {
      granted = true;
    });
    await flush();
    expect(granted).toBe(false);
    expect(limiter.waiting).toBe(1);
  });

  it('hands released slots to waiters in FIFO order', async () => {
    const limiter = new InFlightLimiter(1);
    const releaseFirst = await limiter.acquire();
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const waiters = [1, 2, 3].map((i) =>
      limiter.acquire().then((release) => {
        order.push(i);
        releases.push(release);
      }),
    );
    await flush();
    expect(limiter.waiting).toBe(3);

    releaseFirst();
    await flush();
    expect(order).toEqual([1]);
    expect(limiter.inFlight).toBe(1);
    expect(limiter.waiting).toBe(2);

    releases[0]();
    await flush();
    releases[1]();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(limiter.inFlight).toBe(1);
    releases[2]();
    expect(limiter.inFlight).toBe(0);
  });

  it('does not let a newcomer barge past a waiter', async () => {
    const limiter = new InFlightLimiter(1);
    const release = await limiter.acquire();
    const order: string[] = [];
    const waiter = limiter.acquire().then((r) => {
      order.push('waiter');
      r();
    });
    release();
    // The slot already belongs to the waiter, even though its promise has not resolved yet.
    const newcomer = limiter.acquire().then((r) => {
      order.push('newcomer');
      r();
    });
    await Promise.all([waiter, newcomer]);
    expect(order).toEqual(['waiter', 'newcomer']);
  });

  it('frees exactly one slot however often a release function is called', async () => {
    const limiter = new InFlightLimiter(2);
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    a();
    a();
    a();
    expect(limiter.inFlight).toBe(1);
    const c = await limiter.acquire();
    expect(limiter.inFlight).toBe(2);

    let waiterGranted = false;
    void limiter.acquire().then(() => {
      waiterGranted = true;
    });
    a();
    await flush();
    expect(waiterGranted).toBe(false);
    b();
    await flush();
    expect(waiterGranted).toBe(true);
    c();
    c();
    expect(limiter.inFlight).toBe(1);
  });

  it('frees the slot when a waiter releases what it was handed', async () => {
    const limiter = new InFlightLimiter(1);
    const first = await limiter.acquire();
    const second = limiter.acquire();
    first();
    (await second)();
    expect(limiter.inFlight).toBe(0);
    expect(limiter.waiting).toBe(0);
  });

  it.each([0, -1, 2.5, Number.NaN])('refuses max %p', (max) => {
    expect(() => new InFlightLimiter(max)).toThrow(RangeError);
  });
});
