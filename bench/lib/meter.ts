/**
 * Counts handled records and times first to last, the throughput definition every arm shares.
 * `done` resolves when `expected` records were seen, or when `windowMs` after the first record has
 * passed (throughput then covers the window only), and rejects when records stop arriving.
 */
export interface MeterResult {
  records: number;
  expected: number;
  seconds: number;
  recordsPerSec: number;
  /** True when the window closed before every expected record was handled. */
  windowed: boolean;
}

export interface MeterOptions {
  windowMs?: number;
  /** Fails the run when nothing arrives for this long (before the first record: startup included). */
  stallMs?: number;
  /** Called once, synchronously, with the first record (e.g. to sample memory at the start of load). */
  onFirst?: () => void;
}

export class Meter {
  count = 0;
  private first = 0;
  private last = 0;
  private lastProgressAt = performance.now();
  private finished = false;
  private resolveDone!: (result: MeterResult) => void;
  private rejectDone!: (error: Error) => void;
  readonly done: Promise<MeterResult>;
  private readonly watchdog: NodeJS.Timeout;
  private windowTimer?: NodeJS.Timeout;

  constructor(
    readonly expected: number,
    private readonly options: MeterOptions = {},
  ) {
    this.done = new Promise<MeterResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A stall during startup rejects before anyone awaits `done`; that is not an unhandled error.
    this.done.catch(() => undefined);
    const stallMs = options.stallMs ?? 60_000;
    this.watchdog = setInterval(() => {
      if (performance.now() - this.lastProgressAt > stallMs) {
        this.fail(new Error(`no progress for ${stallMs} ms (${this.count}/${expected} records)`));
      }
    }, 1_000);
  }

  hit(n = 1): void {
    if (this.finished) return;
    const now = performance.now();
    if (this.count === 0) {
      this.first = now;
      this.options.onFirst?.();
      if (this.options.windowMs)
        this.windowTimer = setTimeout(() => this.finish(true), this.options.windowMs);
    }
    this.count += n;
    this.last = now;
    this.lastProgressAt = now;
    if (this.count >= this.expected) this.finish(false);
  }

  fail(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.stopTimers();
    this.rejectDone(error);
  }

  private finish(windowed: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.stopTimers();
    const seconds = (this.last - this.first) / 1000;
    this.resolveDone({
      records: this.count,
      expected: this.expected,
      seconds,
      // One record has no duration; that only happens with misconfigured runs.
      recordsPerSec: seconds > 0 ? (this.count - 1) / seconds : 0,
      windowed,
    });
  }

  private stopTimers(): void {
    clearInterval(this.watchdog);
    clearTimeout(this.windowTimer);
  }
}
