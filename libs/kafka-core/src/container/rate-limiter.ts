const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Token bucket for a listener's `rateLimit` (records per second): up to `burst` records pass at
 * once after a quiet spell, then one every 1/perSecond seconds. Acquirers are served one at a
 * time in call order, so a waiting record cannot be overtaken by a later one.
 */
export class RateLimiter {
  private tokens: number;
  private lastRefill: number;
  /** Settles when the previous acquirer got its token; never rejects. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number = perSecond,
    private readonly clock: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = defaultSleep,
  ) {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) {
      throw new RangeError(`perSecond must be a finite number > 0 (got ${perSecond})`);
    }
    // Below one token the bucket never holds a whole token, and every acquirer would wait forever.
    if (!(burst >= 1) || !Number.isFinite(burst)) {
      throw new RangeError(`burst must be a finite number >= 1 (got ${burst})`);
    }
    this.tokens = burst;
    this.lastRefill = clock();
  }

  /** Resolves as soon as a token is available, waiting just long enough when none is. */
  acquire(): Promise<void> {
    const turn = this.tail.then(() => this.take());
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async take(): Promise<void> {
    this.refill();
    while (this.tokens < 1) {
      await this.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
      this.refill();
    }
    this.tokens -= 1;
  }

  private refill(): void {
    const now = this.clock();
    // A clock stepping backwards adds nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - this.lastRefill);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000);
    this.lastRefill = now;
  }
}
