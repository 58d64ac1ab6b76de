/**
 * Counting semaphore for a listener's `maxInFlight`: the fetch loop acquires a slot per record and
 * stops pulling while all are taken, which is the container's backpressure. Waiters are served in
 * FIFO order, and a freed slot passes straight to the oldest waiter so a newcomer cannot barge in.
 */
export class InFlightLimiter {
  private held = 0;
  private readonly waiters: ((release: () => void) => void)[] = [];

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`max must be an integer >= 1 (got ${max})`);
    }
  }

  /** Resolves with a release function once a slot is free; calling it more than once frees one slot. */
  acquire(): Promise<() => void> {
    if (this.held < this.max && this.waiters.length === 0) {
      this.held++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get inFlight(): number {
    return this.held;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot changes hands without being freed, so `held` stays as it is.
      if (next) next(this.releaser());
      else this.held--;
    };
  }
}
